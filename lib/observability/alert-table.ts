import { IConstruct } from 'constructs';
import { AlertRules } from './alert-rules';
import { runbookAnchor } from './monitoring-settings';
import { AlertRule } from './rules';

/** The alerts of one environment of a solution. */
export interface EnvironmentAlertList {
  /** Solution name (`logistics`, `real-estate`): the table's "Solutions" column. */
  readonly solution: string;
  /** Environment name (`dev`, `test`, `prod`): where a cell's value holds when environments differ. */
  readonly environment: string;
  /** The environment's alerts, in declaration order (e.g. from {@link alertsBelow}). */
  readonly alerts: readonly AlertRule[];
}

/** Every alert of every PrometheusRule (AlertRules) below `scope`: an environment's App. */
export function alertsBelow(scope: IConstruct): AlertRule[] {
  return scope.node.findAll().filter((c): c is AlertRules => c instanceof AlertRules).flatMap((r) => r.alerts);
}

/** Header of the README's alert table; the README test finds the table by it. */
export const ALERT_TABLE_HEADER = '| Alert | Severity | Expression | Threshold | For | Solutions | Runbook |';

/**
 * The README's alert table: one row per alert name over every environment of every solution, in
 * the order the rules declare them. A cell that differs between environments (a threshold set in
 * one environment's configuration) lists each value with where it holds.
 */
export function renderAlertTable(lists: readonly EnvironmentAlertList[]): string {
  const rows = new Map<string, { solution: string; environment: string; alert: AlertRule }[]>();
  for (const list of lists) {
    for (const alert of list.alerts) {
      if (!rows.has(alert.alert)) rows.set(alert.alert, []);
      rows.get(alert.alert)!.push({ solution: list.solution, environment: list.environment, alert });
    }
  }
  const environmentsOf = (solution: string) => lists.filter((l) => l.solution === solution).map((l) => l.environment);
  const lines = [ALERT_TABLE_HEADER, '|---|---|---|---|---|---|---|'];
  for (const [name, uses] of rows) {
    const cell = (value: (a: AlertRule) => string): string => {
      const where = new Map<string, string[]>();
      for (const u of uses) {
        const v = value(u.alert);
        if (!where.has(v)) where.set(v, []);
        where.get(v)!.push(`${u.solution}/${u.environment}`);
      }
      if (where.size === 1) return escape([...where.keys()][0]);
      return [...where].map(([v, places]) => `${escape(v)} (${compress(places, environmentsOf)})`).join('; ');
    };
    const solutions = [...new Set(uses.map((u) => u.solution))];
    lines.push(`| ${[
      name,
      cell((a) => a.severity),
      cell((a) => (a as { expressionSummary?: string }).expressionSummary ?? a.summary),
      cell((a) => a.threshold),
      cell((a) => a.forDuration),
      solutions.length === new Set(lists.map((l) => l.solution)).size ? 'all' : solutions.join(', '),
      `\`#${runbookAnchor(name)}\``,
    ].join(' | ')} |`);
  }
  return lines.join('\n');
}

/** `logistics/dev, logistics/test, logistics/prod` -> `logistics` when that is every environment of it. */
function compress(places: readonly string[], environmentsOf: (solution: string) => string[]): string {
  const bySolution = new Map<string, string[]>();
  for (const p of places) {
    const [solution, environment] = p.split('/');
    if (!bySolution.has(solution)) bySolution.set(solution, []);
    bySolution.get(solution)!.push(environment);
  }
  return [...bySolution].map(([solution, envs]) => (envs.length === environmentsOf(solution).length ? solution : envs.map((e) => `${solution}/${e}`).join(', '))).join(', ');
}

/** A Markdown table cell: pipes escaped, one line. */
function escape(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}
