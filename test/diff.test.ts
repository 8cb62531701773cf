/**
 * `npm run diff` (scripts/diff.ts): the pairing and the lines as a pure function (objects in, lines
 * out), and the script as a user runs it against a baseline folder (DIFF_BASELINE_DIR) made by a
 * fresh synth: unchanged it prints "no changes" and exits 0; with one replica count edited it
 * prints exactly that one line and exits 1; a bad command line exits 2 naming what is valid.
 */
import { spawn } from 'child_process';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { parseAllDocuments } from 'yaml';
import { diffManifests, formatChange, formatPath, ManifestObject, parseArguments, readManifests, UsageError } from '../scripts/diff';
import { run, tempDir } from './support/real-servers';

const ROOT = join(__dirname, '..');
const TS_NODE = require.resolve('ts-node/dist/bin.js');

const deployment = (replicas: number, extra: ManifestObject = {}): ManifestObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'api', namespace: 'logistics-dev', labels: { 'app.kubernetes.io/name': 'api' } },
  spec: { replicas, template: { spec: { containers: [{ name: 'api', image: 'api:1.0.0', env: [{ name: 'A', value: '1' }] }] } } },
  ...extra,
});
const service: ManifestObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'api', namespace: 'logistics-dev' }, spec: { ports: [{ port: 80 }] } };
const namespace: ManifestObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'logistics-dev' } };

describe('diffManifests', () => {
  test('equal sides print nothing, whatever the order of the objects', () => {
    expect(diffManifests([deployment(2), service, namespace], [namespace, service, deployment(2)])).toEqual([]);
  });

  test('a one-field change is exactly one line with the path and both values', () => {
    expect(diffManifests([deployment(2), service], [deployment(3), service])).toEqual([
      '~ Deployment logistics-dev/api spec.replicas: 2 -> 3',
    ]);
  });

  test('added and removed objects, a cluster-scoped one without a namespace', () => {
    expect(diffManifests([deployment(1), namespace], [deployment(1), service])).toEqual([
      '- Namespace logistics-dev',
      '+ Service logistics-dev/api',
    ]);
  });

  test('list indexes in brackets, added and removed fields as (absent), values as compact JSON', () => {
    const before = deployment(1);
    const after = deployment(1);
    after.spec.template.spec.containers[0].env = [{ name: 'A', value: '2' }, { name: 'B', value: 'x' }];
    after.spec.template.spec.containers[0].resources = { limits: { cpu: '1' } };
    delete after.metadata.labels;
    expect(diffManifests([before], [after])).toEqual([
      '~ Deployment logistics-dev/api metadata.labels: {"app.kubernetes.io/name":"api"} -> (absent)',
      '~ Deployment logistics-dev/api spec.template.spec.containers[0].env[0].value: "1" -> "2"',
      '~ Deployment logistics-dev/api spec.template.spec.containers[0].env[1]: (absent) -> {"name":"B","value":"x"}',
      '~ Deployment logistics-dev/api spec.template.spec.containers[0].resources: (absent) -> {"limits":{"cpu":"1"}}',
    ]);
  });

  test('objects pair by apiVersion, kind, namespace and name: another namespace or apiVersion is another object', () => {
    const moved = { ...service, metadata: { ...service.metadata, namespace: 'logistics-test' } };
    const hpaV1 = { apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', metadata: { name: 'api', namespace: 'n' } };
    const hpaV2 = { ...hpaV1, apiVersion: 'autoscaling/v2' };
    expect(diffManifests([service, hpaV1], [moved, hpaV2])).toEqual([
      '- HorizontalPodAutoscaler n/api',
      '+ HorizontalPodAutoscaler n/api',
      '- Service logistics-dev/api',
      '+ Service logistics-test/api',
    ]);
  });

  test('two objects with one identity on a side cannot be paired', () => {
    expect(() => diffManifests([service, service], [])).toThrow(/committed: two objects are v1 Service logistics-dev\/api/);
  });

  test('keys that are not plain words are quoted in the path', () => {
    expect(formatPath(['metadata', 'labels', 'app.kubernetes.io/name'])).toBe('metadata.labels["app.kubernetes.io/name"]');
    expect(formatPath(['data', 'redis-start.sh'])).toBe('data["redis-start.sh"]');
    expect(formatPath(['spec', 'ports', 0, 'targetPort'])).toBe('spec.ports[0].targetPort');
  });

  test('a change inside a multi-line text prints its line counts and the lines that differ, not the texts', () => {
    expect(formatChange('a\nb\nc\nd\n', 'a\nB\nB2\nc\nd\n')).toBe('text of 5 lines -> text of 6 lines (line 2 -> lines 2-3)');
    expect(formatChange('a\nc\n', 'a\nb\nc\n')).toBe('text of 3 lines -> text of 4 lines (no line -> line 2)');
    expect(formatChange('x', 'y')).toBe('"x" -> "y"');
  });
});

describe('parseArguments', () => {
  const matrix = new Map([['logistics', ['dev', 'prod']], ['real-estate', ['dev']]]);
  test('a configured solution and environment', () => {
    expect(parseArguments(['real-estate', 'dev'], matrix)).toEqual({ solution: 'real-estate', environment: 'dev' });
  });
  test.each([
    [[], /expected <solution> <environment> but 0 arguments were given/],
    [['logistics'], /but 1 argument was given/],
    [['logistics', 'dev', 'x'], /but 3 arguments were given/],
    [['logistics', '--full'], /unknown option --full/],
    [['logistic', 'dev'], /unknown solution "logistic": the solutions are logistics, real-estate/],
    [['logistics', 'test'], /unknown environment "test" of logistics: its environments are dev, prod/],
  ])('%j is refused', (argv, message) => {
    expect(() => parseArguments(argv, matrix)).toThrow(UsageError);
    expect(() => parseArguments(argv, matrix)).toThrow(message);
  });
});

interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runDiff(args: string[], baseline: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TS_NODE, '--transpile-only', 'scripts/diff.ts', ...args], {
      cwd: ROOT, env: { ...process.env, DIFF_BASELINE_DIR: baseline },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Sets spec.replicas of the first object in `folder` whose replicas is `from`; returns the line the diff must print. */
function editReplicas(folder: string, from: number, to: number): string {
  for (const file of readdirSync(folder).filter((f) => f.endsWith('.yaml')).sort()) {
    const path = join(folder, file);
    const docs = parseAllDocuments(readFileSync(path, 'utf8'));
    const doc = docs.find((d) => d.getIn(['spec', 'replicas']) === from);
    if (!doc) continue;
    doc.setIn(['spec', 'replicas'], to);
    writeFileSync(path, docs.map((d) => d.toString()).join(''));
    const o = doc.toJSON();
    // The committed side says `to`, the fresh synth says `from`.
    return `~ ${o.kind} ${o.metadata.namespace}/${o.metadata.name} spec.replicas: ${to} -> ${from}`;
  }
  throw new Error(`no object in ${folder} has spec.replicas ${from}`);
}

describe('npm run diff', () => {
  const workspace = tempDir('diff-test');
  const fresh = join(workspace.path, 'fresh');
  const edited = join(workspace.path, 'edited');
  let expectedLine: string;
  let equal: CliResult;
  let changed: CliResult;
  let unknownEnvironment: CliResult;
  let noArguments: CliResult;

  beforeAll(async () => {
    // The baseline: what `npm run synth` writes now, into a folder of the test's own.
    run(process.execPath, ['scripts/synth.js'], { cwd: ROOT, env: { SYNTH_OUTDIR: fresh, CDK8S_OUTDIR: '' } });
    cpSync(fresh, edited, { recursive: true });
    // A committed dist/ whose logistics/prod had one replica fewer somewhere than the configuration now asks.
    expectedLine = editReplicas(join(edited, 'logistics', 'prod'), 2, 1);
    [equal, changed, unknownEnvironment, noArguments] = await Promise.all([
      runDiff(['logistics', 'prod'], fresh),
      runDiff(['logistics', 'prod'], edited),
      runDiff(['logistics', 'staging'], fresh),
      runDiff([], fresh),
    ]);
  }, 300_000);
  afterAll(() => workspace.remove());

  test('the baseline has the restore Jobs of restore/ among its objects', () => {
    const objects = readManifests(join(fresh, 'logistics', 'prod'));
    expect(objects.filter((o) => o.kind === 'Job' && o.metadata.name === 'mysql-restore')).toHaveLength(1);
  });

  test('unchanged: "no changes", exit 0', () => {
    expect(equal).toMatchObject({ status: 0, stdout: 'no changes\n' });
  });

  test('one replica count changed: exactly one line, exit 1', () => {
    expect(expectedLine).toMatch(/^~ \S+ logistics-prod\/\S+ spec\.replicas: 1 -> 2$/);
    expect(changed.stdout).toBe(`${expectedLine}\n`);
    expect(changed.status).toBe(1);
  });

  test('an unknown environment: exit 2 naming the environments, nothing printed on stdout', () => {
    expect(unknownEnvironment.status).toBe(2);
    expect(unknownEnvironment.stdout).toBe('');
    expect(unknownEnvironment.stderr).toContain('unknown environment "staging" of logistics: its environments are dev, test, prod');
    expect(unknownEnvironment.stderr).toContain('usage: npm run diff -- <solution> <environment>');
  });

  test('no arguments: exit 2 with the usage line', () => {
    expect(noArguments.status).toBe(2);
    expect(noArguments.stderr).toContain('usage: npm run diff -- <solution> <environment>');
  });
});
