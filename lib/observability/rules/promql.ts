import { AlertRule } from '../rules';

/**
 * An alert as the environment's rules declare it: an {@link AlertRule} plus what its expression
 * computes, in words, for the README's alert table.
 */
export interface DocumentedAlertRule extends AlertRule {
  /** e.g. `5xx responses / all responses, per service, over 5m`. */
  readonly expressionSummary: string;
}

/** `metric{m1, m2}`: a vector selector from label matchers (each `name="value"`, `name!~"re"`, ...). */
export function selector(metric: string, ...matchers: readonly string[]): string {
  return `${metric}{${matchers.filter((m) => m.length > 0).join(', ')}}`;
}

/** `namespace="<ns>"`: the matcher every selector of an environment's rules starts with. */
export function namespaceMatcher(namespace: string): string {
  return `namespace="${namespace}"`;
}

/** A label matcher for one of `values`: `job="api"` for one, `job=~"a|b"` (escaped) for several. */
export function oneOfMatcher(label: string, values: readonly string[]): string {
  if (values.length === 1) return `${label}="${values[0]}"`;
  return `${label}=~"${values.map(escapeRegex).join('|')}"`;
}

/** `label!~"a|b"`: none of `values`. */
export function noneOfMatcher(label: string, values: readonly string[]): string {
  return `${label}!~"${values.map(escapeRegex).join('|')}"`;
}

/** RE2 metacharacters escaped, and backslashes doubled for the PromQL string literal. */
function escapeRegex(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\\\$&');
}
