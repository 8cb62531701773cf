import { Severity } from './severity';

/**
 * An alerting rule as the constructs declare it. `expr` is PromQL; `forDuration` how long it must
 * hold (at least as long as the longest range in `expr`: a shorter `for` adds nothing).
 */
export interface AlertRule {
  /** PascalCase, unique in the environment: also the runbook heading. */
  readonly alert: string;
  /**
   * PromQL expression; the alert fires for each series it returns, for `forDuration`. Written to the
   * PrometheusRule's `expr`. Must not be empty.
   */
  readonly expr: string;
  /** Prometheus duration, e.g. `5m`. */
  readonly forDuration: string;
  /**
   * How bad it is; set as the alert's `severity` label, by which the AlertmanagerConfig routes it
   * (see {@link SEVERITY_POLICIES}).
   */
  readonly severity: Severity;
  /** One line for the notification, may use `{{ $labels.x }}` and `{{ $value }}`. */
  readonly summary: string;
  /** What it means and what to look at. */
  readonly description: string;
  /** What the threshold in `expr` is, in words, for the README's alert table. */
  readonly threshold: string;
}

/** A recording rule: `record` named `level:metric:operations` (Prometheus' naming practice). */
export interface RecordingRule {
  /** Name of the series the rule writes, `level:metric:operations` (e.g. `job:http_requests:rate5m`). */
  readonly record: string;
  /** PromQL expression whose result is stored under `record` at every evaluation. Must not be empty. */
  readonly expr: string;
}

/** A group of a PrometheusRule: its rules are evaluated together, in order, at the same interval. */
export interface RuleGroup {
  /** Group name in the PrometheusRule's `spec.groups`; prefixes the rule's field in validation errors. */
  readonly name: string;
  /** Alerting and recording rules, in evaluation order. */
  readonly rules: readonly (AlertRule | RecordingRule)[];
}

/** True when `rule` is an alerting rule (it has `alert`), false for a recording rule. */
export function isAlertRule(rule: AlertRule | RecordingRule): rule is AlertRule {
  return 'alert' in rule;
}

const DURATION = /^(\d+)(ms|s|m|h|d|w|y)$/;
const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };

/** Seconds of a simple Prometheus duration (`30s`, `5m`, `1h`), or undefined when it is not one. */
export function durationSeconds(duration: string): number | undefined {
  const match = DURATION.exec(duration);
  return match ? Number(match[1]) * UNIT_SECONDS[match[2]] : undefined;
}

/** The longest range selector (`[5m]`, `[1h:5m]`) in a PromQL expression, in seconds; 0 when none. */
export function longestRangeSeconds(expr: string): number {
  let longest = 0;
  for (const match of expr.matchAll(/\[(\d+(?:ms|s|m|h|d|w|y))(?::\d+(?:ms|s|m|h|d|w|y)?)?\]/g)) {
    longest = Math.max(longest, durationSeconds(match[1]) ?? 0);
  }
  return longest;
}
