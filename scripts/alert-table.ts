/** Prints the README alert table rendered from every environment's rules: `npm run -s alert-table`. */
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { environmentsOf } from '../lib/config/solution-definition';
import { alertsBelow, renderAlertTable } from '../lib/observability/alert-table';
import { SOLUTIONS } from '../lib/solutions';
import { buildEnvironment } from '../lib/solutions/solution';
const outdir = mkdtempSync(join(tmpdir(), 't-'));
const table = renderAlertTable(SOLUTIONS.flatMap((s) => environmentsOf(s.definition).map((environment) => ({
  solution: s.definition.name, environment, alerts: alertsBelow(buildEnvironment(s, environment, outdir)),
}))));
process.stdout.write(table + '\n');
