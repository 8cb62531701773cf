/**
 * The dashboards as written (the JSON in the ConfigMaps, not the builder's objects) against
 * Grafana's own dashboard model: each is type-checked by the TypeScript compiler as a value of
 * the model types of @grafana/grafana-foundation-sdk (lib/observability/dashboards/grafana-model.ts),
 * so an unknown field, a misspelled panel type or enum value, or a missing required field fails.
 */
import { writeFileSync } from 'fs';
import { join, resolve } from 'path';
import * as ts from 'typescript';
import { GRAFANA_DEFAULTS } from '../../lib/observability/dashboards/grafana-dashboard';
import { tempDir } from '../support/real-servers';
import { all, env, MATRIX } from '../support/solution-objects';

const MODEL = resolve(__dirname, '../../lib/observability/dashboards/grafana-model');
const SIDECAR_KEY = Object.keys(GRAFANA_DEFAULTS.sidecarLabel)[0];

/** Compiler errors of `dashboards` (JSON texts) typed as the model's Dashboard. */
function modelErrors(dashboards: Record<string, string>): string[] {
  const dir = tempDir('dashboard-model');
  try {
    const file = join(dir.path, 'dashboards.ts');
    const body = Object.entries(dashboards).map(([name, json], i) => `/* ${name} */\nexport const d${i}: Dashboard = ${json.trim()};\n`).join('\n');
    writeFileSync(file, `import type { Dashboard } from ${JSON.stringify(MODEL)};\n${body}`);
    const program = ts.createProgram([file], {
      strict: true, noEmit: true, skipLibCheck: true, target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10, types: [],
    });
    return ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file && d.start !== undefined ? `${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: ` : '';
      return `${where}${ts.flattenDiagnosticMessageText(d.messageText, '\n').split('\n')[0]}`;
    });
  } finally {
    dir.remove();
  }
}

/** Every dashboard JSON of the matrix, by ConfigMap. */
function matrixDashboards(): Record<string, string> {
  return Object.fromEntries(MATRIX.flatMap(([s, e]) => all(env(s, e).app, 'ConfigMap')
    .filter((c) => c.metadata.labels?.[SIDECAR_KEY] !== undefined)
    .map((c) => [c.metadata.name, Object.values(c.data as Record<string, string>)[0]])));
}

describe('dashboards against Grafana\'s dashboard model', () => {
  test('every dashboard of the matrix is a Dashboard of the model', () => {
    const dashboards = matrixDashboards();
    expect(Object.keys(dashboards).length).toBeGreaterThanOrEqual(MATRIX.length * 4);
    expect(modelErrors(dashboards)).toEqual([]);
  });

  test('a field the model does not have, a wrong panel type, a wrong enum value and a missing required field are each refused', () => {
    const [name, json] = Object.entries(matrixDashboards())[0];
    const broken = {
      unknownField: json.replace('"graphTooltip"', '"graphTooltipp"'),
      panelType: json.replace('"type": "timeseries"', '"type": "timeserie"'),
      enumValue: json.replace('"displayMode": "list"', '"displayMode": "lst"'),
      missingRequired: json.replace('"schemaVersion"', '"schemaVersionX"'),
    };
    const refused = Object.entries(broken).map(([what, text]) => {
      expect(text).not.toBe(json);
      return [what, modelErrors({ [`${name} ${what}`]: text }).length > 0];
    });
    expect(refused).toEqual(Object.keys(broken).map((what) => [what, true]));
  });
});
