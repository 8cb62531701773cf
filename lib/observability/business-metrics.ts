import { Validator } from '../validation';
import { BusinessMetric } from './http-metrics';
import { DocumentedAlertRule } from './rules/promql';

/**
 * Business metrics (R22) and the alerts on them (R23). Each solution declares its own in its
 * solution file (lib/solutions/<solution>.ts) as a {@link BusinessMonitoring}; the shared rules
 * know nothing of their names. The apps expose them at `GET /metrics` beside the HTTP metrics.
 */

/** A threshold of a business alert, configurable under `monitoring.thresholds.business.<name>`. */
export interface BusinessThreshold {
  /** Value in force when the environment configures none; within [`min`, `max`]. */
  readonly defaultValue: number;
  /** Smallest value accepted from the configuration (inclusive); a smaller one is refused at synth. */
  readonly min: number;
  /** Largest value accepted from the configuration (inclusive); a larger one is refused at synth. */
  readonly max: number;
  /** What it is, with its unit. */
  readonly description: string;
}

/** What a solution's business alerts are built from. */
export interface BusinessAlertContext {
  /** The environment's namespace; every selector is limited to it. */
  readonly namespace: string;
  /** `namespace="<ns>"` */
  readonly namespaceMatcher: string;
  /** Matchers of the API's own requests (its job, probes and scrapes left out), for "traffic flows". */
  readonly apiRequestMatchers: readonly string[];
  /** Each threshold of the solution, configured or default. */
  readonly thresholds: Readonly<Record<string, number>>;
}

/** A solution's business metrics contract and its alerts. */
export interface BusinessMonitoring {
  /** The solution's name: its metric names start with it (`real-estate` -> `real_estate_`). */
  readonly solution: string;
  /** The metrics the solution's apps expose, for the README and the rule checks. */
  readonly metrics: readonly BusinessMetric[];
  /** Threshold name -> its default and range. */
  readonly thresholds: Readonly<Record<string, BusinessThreshold>>;
  /** The alerts, from the environment's context. */
  alerts(context: BusinessAlertContext): readonly DocumentedAlertRule[];
}

/** A counter (name ends in `_total`). */
export function businessCounter(name: string, help: string, labels: readonly string[] = []): BusinessMetric {
  return { name, type: 'counter', labels, help };
}

/** A gauge. */
export function businessGauge(name: string, help: string, labels: readonly string[] = []): BusinessMetric {
  return { name, type: 'gauge', labels, help };
}

const METRIC_NAME = /^[a-z][a-z0-9_]*$/;
/** Labels Prometheus or the alert routing set themselves: an app label of the same name is overwritten or confusing. */
const RESERVED_LABELS = ['job', 'instance', 'namespace', 'pod', 'container', 'endpoint', 'service', 'severity', 'le', 'quantile'];

/**
 * Checks a solution's business metrics: Prometheus names prefixed with the solution
 * (`real_estate_`), counters ending in `_total` and gauges not, no reserved label, each name once.
 */
export function validateBusinessMetrics(v: Validator, solution: string, metrics: readonly BusinessMetric[]): void {
  const prefix = `${solution.replace(/-/g, '_')}_`;
  const seen = new Set<string>();
  metrics.forEach((metric, i) => {
    const field = `businessMetrics[${i}]`;
    if (!METRIC_NAME.test(metric.name) || !metric.name.startsWith(prefix)) v.fail(`${field}.name`, `a snake_case metric name starting with ${prefix}`, metric.name);
    if (metric.type === 'counter' && !metric.name.endsWith('_total')) v.fail(`${field}.name`, 'a counter name ending in _total', metric.name);
    if (metric.type === 'gauge' && metric.name.endsWith('_total')) v.fail(`${field}.name`, 'a gauge name not ending in _total (a counter suffix)', metric.name);
    if (seen.has(metric.name)) v.fail(`${field}.name`, 'a metric name declared once', metric.name);
    seen.add(metric.name);
    for (const label of metric.labels) {
      if (RESERVED_LABELS.includes(label)) v.fail(`${field}.labels`, `labels other than ${RESERVED_LABELS.join(', ')}`, label);
    }
  });
}

/**
 * The business thresholds in force: configured values over the solution's defaults, each in its
 * range; a configured name the solution does not declare is refused (a typo would otherwise be
 * silently ignored).
 */
export function resolveBusinessThresholds(
  v: Validator, declared: Readonly<Record<string, BusinessThreshold>>, configured: Readonly<Record<string, number>> = {},
): Record<string, number> {
  for (const name of Object.keys(configured)) {
    if (!(name in declared)) {
      const known = Object.keys(declared);
      v.fail(`business.${name}`, known.length > 0 ? `one of the solution's business thresholds (${known.join(', ')})` : 'absent: the solution has no business thresholds', name);
    }
  }
  return Object.fromEntries(Object.entries(declared).map(([name, t]) => {
    const value = configured[name] ?? t.defaultValue;
    return [name, v.number(`business.${name}`, value, t.min, t.max)];
  }));
}
