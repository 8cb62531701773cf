/**
 * `npm run deploy` (scripts/deploy.ts) as a user runs it, with a fake `kubectl` on PATH that logs
 * its arguments: the exact commands in order, --dry-run running none, exit codes 2 for a bad
 * command line and 1 for a failed step (and nothing after it), restore/ never applied, and the
 * wait on Argo Rollouts `Rollout`s. The command-line runs start together in beforeAll, each
 * synthesizing into its own SYNTH_OUTDIR, so the suite costs about one run.
 */
import { spawn } from 'child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { loadAll } from 'js-yaml';
import { environmentsOf } from '../lib/config/solution-definition';
import { SOLUTIONS } from '../lib/solutions';
import { deploy, parseArguments, rolloutPhase, shellLine, UsageError } from '../scripts/deploy';
import { RepoCopy } from './support/repo-copy';
import { run, tempDir } from './support/real-servers';

const ROOT = join(__dirname, '..');
const TS_NODE = require.resolve('ts-node/dist/bin.js');

/**
 * A kubectl that appends its arguments to $KUBECTL_LOG (one call a line); fails with
 * $FAKE_KUBECTL_FAIL_MESSAGE and exit code 1 when its arguments contain $FAKE_KUBECTL_FAIL_ON;
 * answers `get rollout/... -o json` with $FAKE_KUBECTL_STATE/<n>.json on its n-th call (last.json
 * once those run out).
 */
const FAKE_KUBECTL = `#!/bin/sh
printf '%s\\n' "$*" >> "$KUBECTL_LOG"
if [ -n "\${FAKE_KUBECTL_FAIL_ON:-}" ]; then
  case " $* " in
    *"$FAKE_KUBECTL_FAIL_ON"*) echo "\${FAKE_KUBECTL_FAIL_MESSAGE:-error}" >&2; exit 1 ;;
  esac
fi
case "$*" in
  *"get rollout/"*"-o json"*)
    n=$(cat "$FAKE_KUBECTL_STATE/count" 2>/dev/null || echo 0)
    n=$((n + 1))
    echo "$n" > "$FAKE_KUBECTL_STATE/count"
    f="$FAKE_KUBECTL_STATE/$n.json"
    [ -f "$f" ] || f="$FAKE_KUBECTL_STATE/last.json"
    cat "$f" ;;
  *) echo "fake kubectl: $*" ;;
esac
`;

interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** kubectl's calls, arguments joined by spaces. */
  readonly calls: string[];
  /** The run's SYNTH_OUTDIR. */
  readonly outdir: string;
}

const workspace = tempDir('deploy-test');
const bin = join(workspace.path, 'bin');
const PATH_WITH_FAKE = `${bin}:${process.env.PATH}`;

function callsIn(log: string): string[] {
  return existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
}

/** `npm run deploy -- <args>` (what package.json's script runs), in `cwd`, with the fake kubectl. */
function cli(name: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): Promise<CliResult> {
  const dir = join(workspace.path, name);
  mkdirSync(dir, { recursive: true });
  const outdir = join(dir, 'dist');
  const log = join(dir, 'kubectl.log');
  const childEnv: NodeJS.ProcessEnv = { ...process.env, PATH: PATH_WITH_FAKE, KUBECTL_LOG: log, FAKE_KUBECTL_STATE: dir, SYNTH_OUTDIR: outdir, ...env };
  delete childEnv.CDK8S_OUTDIR;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TS_NODE, '--transpile-only', 'scripts/deploy.ts', ...args], { cwd, env: childEnv });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr, calls: callsIn(log), outdir }));
  });
}

/**
 * The workloads of an environment folder read independently of the script (js-yaml, not yaml):
 * files directly in the folder in name order, then document order.
 */
function expectedWaits(folder: string, timeoutSeconds: number): string[] {
  const waits: string[] = [];
  for (const file of readdirSync(folder).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const o of loadAll(readFileSync(join(folder, file), 'utf8')) as Array<{ kind?: string; metadata?: { name: string; namespace: string } } | null>) {
      if (o?.kind === 'Deployment' || o?.kind === 'StatefulSet') waits.push(`rollout status ${o.kind.toLowerCase()}/${o.metadata!.name} -n ${o.metadata!.namespace} --timeout=${timeoutSeconds}s`);
      if (o?.kind === 'Rollout') waits.push(`get rollout/${o.metadata!.name} -n ${o.metadata!.namespace} -o json`);
    }
  }
  return waits;
}

const results: Record<string, CliResult> = {};
let badConfig: RepoCopy;

beforeAll(async () => {
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'kubectl'), FAKE_KUBECTL);
  chmodSync(join(bin, 'kubectl'), 0o755);
  // One synth first, alone: it brings .build/main.js up to date, so the runs below (each
  // synthesizing) find it fresh instead of all rebuilding it at once.
  run(process.execPath, ['scripts/synth.js'], { cwd: ROOT, env: { SYNTH_OUTDIR: join(workspace.path, 'reference', 'dist') } });
  badConfig = RepoCopy.create('deploy-bad-config');
  badConfig.edit('lib/config/logistics.ts', /tag: RELEASE/, "tag: 'latest'");
  const runs: Record<string, Promise<CliResult>> = {
    full: cli('full', ['logistics', 'dev', '--context', 'kind-ci', '--timeout', '30']),
    dryRun: cli('dry-run', ['logistics', 'dev', '--dry-run']),
    failedWait: cli('failed-wait', ['logistics', 'dev', '--timeout=5'], { FAKE_KUBECTL_FAIL_ON: ' deployment/api ', FAKE_KUBECTL_FAIL_MESSAGE: 'error: timed out waiting for the condition' }),
    unknownEnvironment: cli('unknown-environment', ['real-estate', 'prd', '--dry-run']),
    badConfig: cli('bad-config', ['logistics', 'dev'], { SYNTH_OUTDIR: '' }, badConfig.dir),
  };
  for (const [name, result] of Object.entries(runs)) results[name] = await result;
}, 240_000);

afterAll(() => {
  badConfig?.remove();
  workspace.remove();
});

describe('npm run deploy (command line, fake kubectl)', () => {
  test('runs apply, a readiness wait per workload in file order, then get, each with --context', () => {
    const r = results.full;
    expect(r.stderr).not.toMatch(/failed/);
    expect(r.status).toBe(0);
    const folder = join(r.outdir, 'logistics', 'dev');
    const waits = expectedWaits(folder, 30);
    // The data tier comes first (0001-data before 0002-app), the API among the app tier.
    expect(waits[0]).toBe('rollout status statefulset/mysql-primary -n logistics-dev --timeout=30s');
    expect(waits).toContain('rollout status deployment/api -n logistics-dev --timeout=30s');
    expect(r.calls).toEqual([
      `apply --server-side --field-manager=ai-platform -f ${folder}/`,
      ...waits,
      'get pods,services -n logistics-dev',
    ].map((c) => `--context kind-ci ${c}`));
    // kubectl's own output reaches the user.
    expect(r.stdout).toContain('fake kubectl: --context kind-ci get pods,services -n logistics-dev');
  });

  test('never applies restore/: the folder is applied without recursion', () => {
    const r = results.full;
    // The environment does have restore Jobs, so leaving them out is a real choice.
    expect(readdirSync(join(r.outdir, 'logistics', 'dev', 'restore')).length).toBeGreaterThan(0);
    for (const call of r.calls) {
      expect(call).not.toMatch(/restore/);
      expect(call).not.toMatch(/(^| )(-R|--recursive)( |=|$)/);
    }
  });

  test('--dry-run synthesizes, prints the exact commands one per line, and calls kubectl zero times', () => {
    const r = results.dryRun;
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([]);
    expect(r.stderr).toMatch(/^wrote .*\/logistics\/dev: \d+ files/m);
    const folder = join(r.outdir, 'logistics', 'dev');
    expect(r.stdout.trimEnd().split('\n')).toEqual([
      'node scripts/synth.js',
      `kubectl apply --server-side --field-manager=ai-platform -f ${folder}/`,
      ...expectedWaits(folder, 600).map((w) => `kubectl ${w}`),
      'kubectl get pods,services -n logistics-dev',
    ]);
  });

  test('an unknown environment exits 2 naming the valid ones, before synth and kubectl', () => {
    const r = results.unknownEnvironment;
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('deploy: real-estate has no environment "prd"; environments: dev, test, prod');
    expect(r.stderr).toContain('usage: npm run deploy -- <solution> <environment>');
    expect(r.calls).toEqual([]);
    expect(existsSync(r.outdir)).toBe(false);
  });

  test('a rollout wait that times out exits 1 naming the workload; later waits and get do not run', () => {
    const r = results.failedWait;
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('deploy: step "wait" failed: deployment/api in logistics-dev not ready within 5s: kubectl exited with 1: error: timed out waiting for the condition');
    const waits = expectedWaits(join(r.outdir, 'logistics', 'dev'), 5);
    const api = waits.indexOf('rollout status deployment/api -n logistics-dev --timeout=5s');
    expect(api).toBeGreaterThan(0);
    expect(api).toBeLessThan(waits.length - 1); // something was left to skip
    expect(r.calls.slice(1)).toEqual(waits.slice(0, api + 1));
  });

  test('a configuration the checks refuse fails step "synth" and applies nothing', () => {
    const r = results.badConfig;
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/synth failed: .*\n.*logistics\/\w+: [\w.-]+\.tag must be a semantic version/);
    expect(r.stderr).toContain('deploy: step "synth" failed: node scripts/synth.js exited with 1; nothing was applied');
    expect(r.calls).toEqual([]);
  });
});

describe('deploy(): every environment, and Rollouts', () => {
  const captured = () => {
    const io = { stdout: '', stderr: '' };
    return { io, sinks: { out: (t: string) => { io.stdout += t; }, err: (t: string) => { io.stderr += t; } } };
  };

  test('--dry-run works for every solution and environment, waiting on each of its workloads', () => {
    const outdir = reference();
    for (const solution of SOLUTIONS) {
      for (const environment of environmentsOf(solution.definition)) {
        const { io, sinks } = captured();
        const code = deploy([solution.definition.name, environment, '--dry-run'], { ...sinks, env: { PATH: PATH_WITH_FAKE, SYNTH_OUTDIR: outdir }, inheritStdout: false, synthesize: () => 0 });
        const folder = join(outdir, solution.definition.name, environment);
        expect([folder, code, io.stderr.match(/failed.*/)?.[0]]).toEqual([folder, 0, undefined]);
        const lines = io.stdout.trimEnd().split('\n').map((l) => l.replace(/ {2}#.*$/, ''));
        expect(lines[1]).toBe(`kubectl apply --server-side --field-manager=ai-platform -f ${folder}/`);
        expect(lines.slice(2, -1)).toEqual(expectedWaits(folder, 600).map((w) => `kubectl ${w}`));
        expect(lines.length).toBeGreaterThan(4);
      }
    }
  });

  const reference = () => join(workspace.path, 'reference', 'dist');

  test('an unknown solution returns 2 naming the solutions, before synth and kubectl', () => {
    const { io, sinks } = captured();
    const code = deploy(['logistic', 'dev'], { ...sinks, env: { PATH: PATH_WITH_FAKE }, inheritStdout: false, synthesize: () => { throw new Error('must not synthesize'); } });
    expect(code).toBe(2);
    expect(io.stderr).toContain('deploy: unknown solution "logistic"; solutions: logistics, real-estate');
    expect(io.stderr).toContain('solutions (environments): logistics (dev, test, prod), real-estate (dev, test, prod)');
  });

  test('a failing kubectl apply returns 1 naming the step, and nothing runs after it', () => {
    const log = join(workspace.path, 'failed-apply.log');
    const { io, sinks } = captured();
    const env = { PATH: PATH_WITH_FAKE, SYNTH_OUTDIR: reference(), KUBECTL_LOG: log, FAKE_KUBECTL_FAIL_ON: ' apply ', FAKE_KUBECTL_FAIL_MESSAGE: 'error: the server could not find the requested resource' };
    const code = deploy(['logistics', 'dev'], { ...sinks, env, inheritStdout: false, synthesize: () => 0 });
    expect(code).toBe(1);
    expect(io.stderr).toMatch(/deploy: step "apply" failed: .*\/logistics\/dev\/: kubectl exited with 1: error: the server could not find the requested resource/);
    expect(callsIn(log)).toEqual([`apply --server-side --field-manager=ai-platform -f ${join(reference(), 'logistics', 'dev')}/`]);
  });

  test('kubectl missing from PATH fails step "apply" saying so', () => {
    const { io, sinks } = captured();
    const code = deploy(['logistics', 'dev'], { ...sinks, env: { PATH: join(workspace.path, 'empty'), SYNTH_OUTDIR: reference() }, inheritStdout: false, synthesize: () => 0 });
    expect(code).toBe(1);
    expect(io.stderr).toMatch(/deploy: step "apply" failed: .*: kubectl was not found on PATH/);
  });

  /** An environment folder holding a Deployment and a Rollout, for logistics/prod. */
  function rolloutFixture(name: string, responses: Record<string, object>): { outdir: string; state: string; log: string } {
    const dir = join(workspace.path, name);
    const folder = join(dir, 'dist', 'logistics', 'prod');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, '0002-app.k8s.yaml'), [
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: logistics-prod\n',
      'apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n  name: api\n  namespace: logistics-prod\n',
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  namespace: logistics-prod\n',
    ].join('---\n'));
    for (const [file, body] of Object.entries(responses)) writeFileSync(join(dir, file), JSON.stringify(body));
    return { outdir: join(dir, 'dist'), state: dir, log: join(dir, 'kubectl.log') };
  }
  const rollout = (generation: number, observedGeneration: string, phase: string, message = '') => ({
    apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'api', generation },
    status: { observedGeneration, phase, message },
  });
  function deployFixture(fixture: { outdir: string; state: string; log: string }, args: string[]) {
    const { io, sinks } = captured();
    const env = { PATH: PATH_WITH_FAKE, SYNTH_OUTDIR: fixture.outdir, KUBECTL_LOG: fixture.log, FAKE_KUBECTL_STATE: fixture.state };
    const code = deploy(['logistics', 'prod', ...args], { ...sinks, env, inheritStdout: false, synthesize: () => 0, pollIntervalMs: 20 });
    return { code, ...io, calls: callsIn(fixture.log) };
  }

  test('a Rollout is waited for until Healthy for its current generation, not a stale Healthy', () => {
    const fixture = rolloutFixture('rollout-healthy', {
      '1.json': rollout(2, '1', 'Healthy'), // the previous revision's status, right after the apply
      '2.json': rollout(2, '2', 'Progressing', 'more replicas need to be updated'),
      'last.json': rollout(2, '2', 'Healthy'),
    });
    const r = deployFixture(fixture, []);
    expect(r.stderr).not.toMatch(/failed/);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('waiting for rollout "api": Progressing: waiting for rollout spec update to be observed');
    expect(r.stderr).toContain('waiting for rollout "api": Progressing: more replicas need to be updated');
    expect(r.calls).toEqual([
      `apply --server-side --field-manager=ai-platform -f ${fixture.outdir}/logistics/prod/`,
      'rollout status deployment/web -n logistics-prod --timeout=600s',
      'get rollout/api -n logistics-prod -o json',
      'get rollout/api -n logistics-prod -o json',
      'get rollout/api -n logistics-prod -o json',
      'get pods,services -n logistics-prod',
    ]);
  });

  test('a Degraded Rollout (aborted by its analysis) fails the wait at once, naming it', () => {
    const fixture = rolloutFixture('rollout-degraded', {
      'last.json': rollout(3, '3', 'Degraded', 'RolloutAborted: Rollout aborted update to revision 3: Metric "error-rate" assessed Failed'),
    });
    const r = deployFixture(fixture, []);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('deploy: step "wait" failed: rollout/api in logistics-prod is Degraded: RolloutAborted: Rollout aborted update to revision 3');
    expect(r.calls.filter((c) => c.startsWith('get rollout/api'))).toHaveLength(1);
    expect(r.calls).not.toContain('get pods,services -n logistics-prod');
  });

  test('a Rollout still Paused at the timeout fails the wait, saying where it stopped', () => {
    const fixture = rolloutFixture('rollout-paused', { 'last.json': rollout(2, '2', 'Paused', 'CanaryPauseStep') });
    const started = Date.now();
    const r = deployFixture(fixture, ['--timeout', '1']);
    expect(r.code).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(r.stderr).toContain('deploy: step "wait" failed: rollout/api in logistics-prod not Healthy within 1s; last seen Paused: CanaryPauseStep');
    expect(r.calls).not.toContain('get pods,services -n logistics-prod');
  });

  test('--dry-run prints the Rollout poll with what it waits for', () => {
    const fixture = rolloutFixture('rollout-dry-run', {});
    const r = deployFixture(fixture, ['--dry-run', '--context', 'prod east']);
    expect(r.code).toBe(0);
    expect(r.calls).toEqual([]);
    expect(r.stdout).toContain("kubectl --context 'prod east' get rollout/api -n logistics-prod -o json  # every 0.02s until status.phase is Healthy for metadata.generation, at most 600s\n");
  });
});

describe('rolloutPhase (Argo Rollouts v1.9 GetRolloutPhase)', () => {
  test.each([
    ['current and Healthy', { metadata: { generation: 4 }, status: { observedGeneration: '4', phase: 'Healthy' } }, 'Healthy'],
    ['Healthy of an older generation', { metadata: { generation: 5 }, status: { observedGeneration: '4', phase: 'Healthy' } }, 'Progressing'],
    ['unpausing: controllerPause without pause conditions', { metadata: { generation: 4 }, status: { observedGeneration: '4', phase: 'Paused', controllerPause: true, pauseConditions: [] } }, 'Progressing'],
    ['paused at a step', { metadata: { generation: 4 }, status: { observedGeneration: '4', phase: 'Paused', controllerPause: true, pauseConditions: [{ reason: 'CanaryPauseStep' }] } }, 'Paused'],
    ['no status yet (controller missing)', { metadata: { generation: 1 } }, 'Progressing'],
    ['a pre-v0.10 hash as observedGeneration', { metadata: { generation: 9 }, status: { observedGeneration: '5d4f8c7b9', phase: 'Healthy' } }, 'Healthy'],
    ['Degraded', { metadata: { generation: 2 }, status: { observedGeneration: '2', phase: 'Degraded', message: 'ProgressDeadlineExceeded' } }, 'Degraded'],
  ])('%s', (_what, object, phase) => {
    expect(rolloutPhase(object).phase).toBe(phase);
  });
});

describe('parseArguments', () => {
  test('flags in both spellings, defaults', () => {
    expect(parseArguments(['logistics', 'dev'])).toEqual({ solution: 'logistics', environment: 'dev', dryRun: false, timeoutSeconds: 600 });
    expect(parseArguments(['--dry-run', 'logistics', '--timeout=90', 'prod', '--context', 'c1']))
      .toEqual({ solution: 'logistics', environment: 'prod', dryRun: true, timeoutSeconds: 90, context: 'c1' });
  });

  test.each([
    [[], /expected a solution and an environment but nothing was provided/],
    [['logistics'], /expected a solution and an environment but "logistics" was provided/],
    [['logistics', 'dev', 'extra'], /but "logistics" "dev" "extra" was provided/],
    [['logistics', 'dev', '--force'], /unknown option "--force"/],
    [['logistics', 'dev', '--timeout'], /--timeout needs a value/],
    [['logistics', 'dev', '--timeout', '0'], /--timeout must be a whole number of seconds from 1 to 999999 but "0" was provided/],
    [['logistics', 'dev', '--timeout', '10m'], /but "10m" was provided/],
    [['logistics', 'dev', '--context='], /--context needs a value/],
    [['logistics', 'dev', '--dry-run=yes'], /unknown option "--dry-run=yes"/],
  ])('%j is a usage error', (argv, message) => {
    expect(() => parseArguments(argv)).toThrow(UsageError);
    expect(() => parseArguments(argv)).toThrow(message);
  });

  test('deploy() returns 2 for a usage error and prints the solutions with their environments', () => {
    let stderr = '';
    const code = deploy(['logistics'], { out: () => undefined, err: (t) => { stderr += t; }, env: {}, inheritStdout: false, synthesize: () => { throw new Error('must not synthesize'); } });
    expect(code).toBe(2);
    expect(stderr).toContain('solutions (environments): logistics (dev, test, prod), real-estate (dev, test, prod)');
  });

  test('shellLine quotes what a shell would split or expand', () => {
    expect(shellLine(['kubectl', '--context', "it's prod", 'get', 'pods,services', '-o', 'jsonpath={.a}'])).toBe("kubectl --context 'it'\\''s prod' get pods,services -o 'jsonpath={.a}'");
  });
});
