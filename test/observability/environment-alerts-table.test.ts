/** The README's alert table is the one rendered from every environment's rules, and the renderer's rules. */
import { readFileSync } from 'fs';
import { join } from 'path';
import { environmentsOf } from '../../lib/config/solution-definition';
import { ALERT_TABLE_HEADER, alertsBelow, EnvironmentAlertList, renderAlertTable } from '../../lib/observability/alert-table';
import { AlertRule } from '../../lib/observability/rules';
import { Severity } from '../../lib/observability/severity';
import { SOLUTIONS } from '../../lib/solutions';
import { buildEnvironment } from '../../lib/solutions/solution';
import { outdir } from '../support/solution-objects';

function matrixAlerts(): EnvironmentAlertList[] {
  return SOLUTIONS.flatMap((s) => environmentsOf(s.definition).map((environment) => ({
    solution: s.definition.name, environment, alerts: alertsBelow(buildEnvironment(s, environment, outdir)),
  })));
}

const alert = (name: string, threshold: string): AlertRule & { expressionSummary: string } => ({
  alert: name, expr: 'up == 0', forDuration: '5m', severity: Severity.P2, summary: 's', description: 'd', threshold, expressionSummary: 'a | b',
});

describe('alert table', () => {
  test('README.md contains exactly the table rendered from the rules of every environment', () => {
    const table = renderAlertTable(matrixAlerts());
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8').split('\n');
    const start = readme.indexOf(ALERT_TABLE_HEADER);
    const inReadme = start < 0 ? [] : readme.slice(start, readme.findIndex((l, i) => i > start && !l.startsWith('|')));
    expect(inReadme.join('\n')).toEqual(table);
  });

  test('one row per alert; a value that differs between environments says where each holds; pipes escaped', () => {
    const table = renderAlertTable([
      { solution: 'a', environment: 'dev', alerts: [alert('X', '> 90%'), alert('OnlyA', '1')] },
      { solution: 'a', environment: 'prod', alerts: [alert('X', '> 80%')] },
      { solution: 'b', environment: 'dev', alerts: [alert('X', '> 90%')] },
    ]).split('\n');
    expect(table[0]).toBe(ALERT_TABLE_HEADER);
    expect(table.slice(2)).toEqual([
      '| X | P2 | a \\| b | > 90% (a/dev, b); > 80% (a/prod) | 5m | all | `#x` |',
      '| OnlyA | P2 | a \\| b | 1 | 5m | a | `#onlya` |',
    ]);
  });
});
