/**
 * Reading PromQL in tests: which metric names an expression reads, and with which label matchers,
 * so tests can check every name against what provides it (the metrics contract, a recording rule,
 * an exporter) and every selector against the environment's namespace.
 */

const PROMQL_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/** Metric names an expression reads: identifiers that are not functions, keywords, labels, strings or durations. */
export function metricNamesOf(expr: string): string[] {
  let s = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  s = s.replace(/\{[^}]*\}/g, ' ').replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of s.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    if (s.slice(m.index! + m[0].length).trimStart().startsWith('(')) continue;
    if (PROMQL_KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}

/** Every use of `metric` in `expr` with the label matchers it has (undefined: a bare name). */
export function selectorsOf(expr: string, metric: string): (string | undefined)[] {
  const pattern = new RegExp(`(?<![\\w:])${metric.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w:])(\\{[^}]*\\})?`, 'g');
  return [...expr.matchAll(pattern)].map((m) => m[1]);
}

/** Sorted metric names the rules of `groups` read (recording rules' own names excluded). */
export function metricsOfRules(groups: readonly { readonly rules: readonly Record<string, unknown>[] }[]): string[] {
  const recorded = new Set(groups.flatMap((g) => g.rules.map((r) => r.record).filter((r): r is string => typeof r === 'string')));
  const names = groups.flatMap((g) => g.rules.flatMap((r) => metricNamesOf(String(r.expr))));
  return [...new Set(names)].filter((n) => !recorded.has(n)).sort();
}
