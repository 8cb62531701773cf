/**
 * One-command deploy of one environment:
 *
 *   npm run deploy -- <solution> <environment> [--dry-run] [--timeout <seconds>] [--context <kube-context>]
 *
 * Steps, each named in the message of a failure (`deploy: step "apply" failed: ...`):
 *   synth   `node scripts/synth.js` (what `npm run synth` runs): writes dist/ and runs every check
 *           (configuration, policies); nothing is applied when it fails.
 *   apply   `kubectl apply --server-side --field-manager=ai-platform -f dist/<solution>/<env>/`,
 *           the folder only: not recursive, so `restore/` (restore Jobs, run by hand) is left out.
 *   wait    every Deployment, StatefulSet and Argo Rollouts Rollout of that folder, in file order,
 *           each given `--timeout` seconds to become ready.
 *   status  `kubectl get pods,services -n <namespace>`.
 * `--dry-run` synthesizes (so the checks run), then prints the commands, one per line, and runs
 * no kubectl. SYNTH_OUTDIR (as for `npm run synth`) moves the output folder away from dist/.
 *
 * Exit codes: 0 deployed (or dry run printed), 1 a step failed, 2 bad arguments.
 */
import { spawnSync } from 'child_process';
import { existsSync, readdirSync, readFileSync } from 'fs';
import { join, resolve } from 'path';
import { parseAllDocuments } from 'yaml';
import { AppTierSettings } from '../lib/config/app-tier-settings';
import { environmentsOf, namespaceOf, resolveEnvironment } from '../lib/config/solution-definition';
import { SOLUTIONS } from '../lib/solutions';
import { Solution } from '../lib/solutions/solution';

export const EXIT_OK = 0;
export const EXIT_STEP_FAILED = 1;
export const EXIT_BAD_ARGUMENTS = 2;

export const DEFAULT_TIMEOUT_SECONDS = 600;
/** The field manager of every apply, so `kubectl get -o yaml --show-managed-fields` names this tool. */
export const FIELD_MANAGER = 'ai-platform';
const ROOT = resolve(__dirname, '..');

export const USAGE = 'usage: npm run deploy -- <solution> <environment> [--dry-run] [--timeout <seconds>] [--context <kube-context>]';

/** The command line, parsed. */
export interface DeployArguments {
  readonly solution: string;
  readonly environment: string;
  /** Print the commands instead of running kubectl. @default false */
  readonly dryRun: boolean;
  /** Seconds each workload may take to become ready. @default 600 */
  readonly timeoutSeconds: number;
  /** The kubeconfig context every kubectl call uses. @default - kubectl's current context */
  readonly context?: string;
}

/** A command line that cannot be run; exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A step that failed; exit code 1. */
export class StepFailure extends Error {
  constructor(public readonly step: string, detail: string) {
    super(`deploy: step "${step}" failed: ${detail}`);
    this.name = 'StepFailure';
  }
}

/** @throws UsageError for a missing or extra argument, an unknown flag or a bad value */
export function parseArguments(argv: readonly string[]): DeployArguments {
  const positional: string[] = [];
  let dryRun = false;
  let timeoutSeconds = DEFAULT_TIMEOUT_SECONDS;
  let context: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${flag} needs a value`);
      return v;
    };
    if (flag === '--dry-run' && inline === undefined) dryRun = true;
    else if (flag === '--timeout') {
      const v = value();
      if (!/^[1-9][0-9]{0,5}$/.test(v)) throw new UsageError(`--timeout must be a whole number of seconds from 1 to 999999 but ${JSON.stringify(v)} was provided`);
      timeoutSeconds = Number(v);
    } else if (flag === '--context') context = value();
    else if (arg.startsWith('-')) throw new UsageError(`unknown option ${JSON.stringify(arg)}`);
    else positional.push(arg);
  }
  if (positional.length !== 2) {
    throw new UsageError(`expected a solution and an environment but ${positional.length === 0 ? 'nothing' : positional.map((p) => JSON.stringify(p)).join(' ')} was provided`);
  }
  return { solution: positional[0], environment: positional[1], dryRun, timeoutSeconds, ...(context === undefined ? {} : { context }) };
}

/**
 * The solution named on the command line, once its environment is known to exist.
 * @throws UsageError naming the valid solutions, or the solution's environments
 */
export function targetOf(args: DeployArguments, solutions: readonly Solution<AppTierSettings>[] = SOLUTIONS): Solution<AppTierSettings> {
  const solution = solutions.find((s) => s.definition.name === args.solution);
  if (!solution) {
    throw new UsageError(`unknown solution ${JSON.stringify(args.solution)}; solutions: ${solutions.map((s) => s.definition.name).join(', ')}`);
  }
  const environments = environmentsOf(solution.definition);
  if (!environments.includes(args.environment)) {
    throw new UsageError(`${args.solution} has no environment ${JSON.stringify(args.environment)}; environments: ${environments.join(', ')}`);
  }
  return solution;
}

/** A workload whose readiness the deploy waits for. */
export interface Workload {
  readonly kind: 'Deployment' | 'StatefulSet' | 'Rollout';
  readonly name: string;
  readonly namespace: string;
}

const WAITED_KINDS: Readonly<Record<string, Workload['kind']>> = {
  'apps/v1 Deployment': 'Deployment',
  'apps/v1 StatefulSet': 'StatefulSet',
  'argoproj.io/v1alpha1 Rollout': 'Rollout',
};

/**
 * The workloads of the files directly in `folder` (what `kubectl apply -f <folder>` reads: .yaml,
 * .yml and .json, not subfolders), in file-name order, then document order: data tier first.
 */
export function workloadsIn(folder: string, defaultNamespace: string): Workload[] {
  const files = readdirSync(folder, { withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ya?ml|json)$/.test(e.name))
    .map((e) => e.name)
    .sort();
  const workloads: Workload[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(join(folder, file), 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${join(folder, file)}: ${doc.errors[0].message}`);
      const object = doc.toJS() as { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string } } | null;
      const kind = object ? WAITED_KINDS[`${object.apiVersion} ${object.kind}`] : undefined;
      if (!kind || !object?.metadata?.name) continue;
      workloads.push({ kind, name: object.metadata.name, namespace: object.metadata.namespace ?? defaultNamespace });
    }
  }
  return workloads;
}

/** A Rollout's phase as Argo Rollouts' own clients compute it, and whether waiting can end. */
export interface RolloutPhase {
  readonly phase: string;
  readonly message: string;
}

/**
 * The phase of a Rollout read with `kubectl get rollout/<name> -o json`, computed as Argo Rollouts
 * v1.9's `GetRolloutPhase` does for its clients (argoproj/argo-rollouts v1.9.1,
 * utils/rollout/rolloututil.go; `kubectl argo rollouts status` waits on it until Healthy, and fails
 * on Degraded, pkg/kubectl-argo-rollouts/cmd/status/status.go). The controller writes
 * `status.phase` (Healthy, Progressing, Paused, Degraded) together with `status.observedGeneration`
 * (rollout/sync.go), so a phase is only current once observedGeneration equals
 * metadata.generation. `kubectl wait --for=condition=Healthy` is not enough: observedGeneration is
 * a string in the Rollout CRD, so kubectl's generation guard does not apply and right after an
 * apply it would accept the previous revision's Healthy condition.
 */
export function rolloutPhase(rollout: unknown): RolloutPhase {
  const r = (rollout ?? {}) as {
    metadata?: { generation?: number; annotations?: Record<string, string> };
    spec?: { workloadRef?: unknown };
    status?: { observedGeneration?: string; phase?: string; message?: string; controllerPause?: boolean; pauseConditions?: unknown[]; workloadObservedGeneration?: string };
  };
  const status = r.status ?? {};
  const generation = r.metadata?.generation ?? 0;
  // Upstream: a non-numeric observedGeneration (a pre-v0.10 spec hash) counts as observed.
  const observed = /^[0-9]+$/.test(status.observedGeneration ?? '') ? Number(status.observedGeneration) : undefined;
  if (observed !== undefined && observed < generation) return { phase: 'Progressing', message: 'waiting for rollout spec update to be observed' };
  if (status.controllerPause && (status.pauseConditions ?? []).length === 0) return { phase: 'Progressing', message: 'waiting for rollout to unpause' };
  const workloadGeneration = r.metadata?.annotations?.['rollout.argoproj.io/workload-generation'];
  if (r.spec?.workloadRef && workloadGeneration !== undefined && /^[0-9]+$/.test(status.workloadObservedGeneration ?? '')
    && Number(status.workloadObservedGeneration) !== Number(workloadGeneration)) {
    return { phase: 'Progressing', message: 'waiting for rollout spec update to be observed for the reference workload' };
  }
  if (!status.phase) return { phase: 'Progressing', message: 'no status from the Argo Rollouts controller yet (is it installed and running?)' };
  return { phase: status.phase, message: status.message ?? '' };
}

/** Where output goes, what runs the commands, and how long to wait between polls. */
export interface DeployIo {
  /** stdout: the dry run's commands, kubectl's output. */
  readonly out: (text: string) => void;
  /** stderr: progress and failures. */
  readonly err: (text: string) => void;
  /** Environment of every child process (PATH finds kubectl; SYNTH_OUTDIR moves dist/). */
  readonly env: NodeJS.ProcessEnv;
  /** Let kubectl write to this process's stdout as it goes (progress of `rollout status`), instead of through `out` when it ends. */
  readonly inheritStdout: boolean;
  /** Runs the synth step; a non-zero exit fails the deploy. @default node scripts/synth.js */
  readonly synthesize?: () => number;
  /** Milliseconds between two reads of a Rollout's status. @default 2000 */
  readonly pollIntervalMs?: number;
}

/** `command` as a shell would take it: arguments with special characters single-quoted. */
export function shellLine(command: readonly string[]): string {
  return command.map((a) => (/^[A-Za-z0-9_./:=,@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Deploys (or with --dry-run, plans) one environment; returns the exit code. Never throws for a
 * bad command line or a failed step: the message is written to `io.err`.
 */
export function deploy(argv: readonly string[], io: DeployIo): number {
  let args: DeployArguments;
  let solution: Solution<AppTierSettings>;
  try {
    args = parseArguments(argv);
    solution = targetOf(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const targets = SOLUTIONS.map((s) => `${s.definition.name} (${environmentsOf(s.definition).join(', ')})`).join(', ');
    io.err(`deploy: ${error.message}\n${USAGE}\n  solutions (environments): ${targets}\n`);
    return EXIT_BAD_ARGUMENTS;
  }

  // Every kubectl call goes through here, so --context reaches each one.
  const kubectl = (...rest: string[]): string[] => ['kubectl', ...(args.context === undefined ? [] : ['--context', args.context]), ...rest];
  const runKubectl = (step: string, what: string, command: string[], capture: boolean, timeoutMs?: number): string => {
    const result = spawnSync(command[0], command.slice(1), {
      cwd: ROOT, env: io.env, encoding: 'utf8', timeout: timeoutMs,
      stdio: ['ignore', !capture && io.inheritStdout ? 'inherit' : 'pipe', 'pipe'],
    });
    if (!capture && result.stdout) io.out(result.stdout);
    if (result.stderr) io.err(result.stderr);
    if (result.error) {
      const reason = (result.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'kubectl was not found on PATH' : result.error.message;
      throw new StepFailure(step, `${what}: ${reason}`);
    }
    if (result.status !== 0) {
      const lastLine = (result.stderr ?? '').trim().split('\n').pop();
      throw new StepFailure(step, `${what}: kubectl exited with ${result.status ?? result.signal}${lastLine ? `: ${lastLine}` : ''}`);
    }
    return result.stdout ?? '';
  };

  const outdir = io.env.SYNTH_OUTDIR || 'dist';
  const folder = `${join(outdir, args.solution, args.environment)}/`;
  const synthCommand = ['node', 'scripts/synth.js'];
  const pollMs = io.pollIntervalMs ?? 2000;
  let step = 'synth';
  try {
    io.err(`deploy: step "synth": ${shellLine(synthCommand)}\n`);
    const synthStatus = (io.synthesize ?? (() => {
      // Its report and problems go to stderr, so that a dry run's stdout holds only commands.
      const result = spawnSync(process.execPath, ['scripts/synth.js'], { cwd: ROOT, env: io.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      io.err(`${result.stdout ?? ''}${result.stderr ?? ''}`);
      return result.status ?? 1;
    }))();
    if (synthStatus !== 0) throw new StepFailure('synth', `${shellLine(synthCommand)} exited with ${synthStatus}; nothing was applied`);
    if (!existsSync(resolve(ROOT, folder))) throw new StepFailure('synth', `${folder} was not written`);

    // Synth succeeded, so the environment's settings are valid.
    const namespace = namespaceOf(resolveEnvironment(solution.definition, args.environment));
    const workloads = workloadsIn(resolve(ROOT, folder), namespace);
    const apply = kubectl('apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', folder);
    const waits = workloads.map((w) => ({
      workload: w,
      command: w.kind === 'Rollout'
        ? kubectl('get', `rollout/${w.name}`, '-n', w.namespace, '-o', 'json')
        : kubectl('rollout', 'status', `${w.kind.toLowerCase()}/${w.name}`, '-n', w.namespace, `--timeout=${args.timeoutSeconds}s`),
    }));
    const status = kubectl('get', 'pods,services', '-n', namespace);

    if (args.dryRun) {
      const lines = [
        shellLine(synthCommand),
        shellLine(apply),
        ...waits.map(({ workload, command }) => shellLine(command) + (workload.kind === 'Rollout'
          ? `  # every ${pollMs / 1000}s until status.phase is Healthy for metadata.generation, at most ${args.timeoutSeconds}s`
          : '')),
        shellLine(status),
      ];
      io.out(`${lines.join('\n')}\n`);
      return EXIT_OK;
    }

    step = 'apply';
    io.err(`deploy: step "apply": ${shellLine(apply)}\n`);
    runKubectl('apply', folder, apply, false);
    step = 'wait';
    for (const { workload, command } of waits) {
      const what = `${workload.kind.toLowerCase()}/${workload.name} in ${workload.namespace}`;
      io.err(`deploy: step "wait": ${shellLine(command)}\n`);
      if (workload.kind !== 'Rollout') {
        runKubectl('wait', `${what} not ready within ${args.timeoutSeconds}s`, command, false);
        continue;
      }
      const deadline = Date.now() + args.timeoutSeconds * 1000;
      let last = '';
      for (;;) {
        const json = runKubectl('wait', `${what}: reading its status`, command, true, Math.max(deadline - Date.now(), 1000));
        let parsed: unknown;
        try {
          parsed = JSON.parse(json);
        } catch {
          throw new StepFailure('wait', `${what}: kubectl printed no JSON: ${json.slice(0, 200)}`);
        }
        const { phase, message } = rolloutPhase(parsed);
        const now = `${phase}${message ? `: ${message}` : ''}`;
        if (phase === 'Healthy') {
          io.out(`rollout "${workload.name}" is Healthy\n`);
          break;
        }
        // Degraded: aborted (failed analysis), timed out (progressDeadlineSeconds) or invalid spec; waiting won't help.
        if (phase === 'Degraded') throw new StepFailure('wait', `${what} is ${now}`);
        if (now !== last) io.err(`deploy: waiting for rollout "${workload.name}": ${now}\n`);
        last = now;
        const left = deadline - Date.now();
        if (left <= 0) throw new StepFailure('wait', `${what} not Healthy within ${args.timeoutSeconds}s; last seen ${now}`);
        sleep(Math.min(pollMs, left));
      }
    }
    step = 'status';
    io.err(`deploy: step "status": ${shellLine(status)}\n`);
    runKubectl('status', `pods and services of ${namespace}`, status, false);
    return EXIT_OK;
  } catch (error) {
    // Anything else (an unreadable file in the folder, say) still names the step it broke.
    const failure = error instanceof StepFailure ? error : new StepFailure(step, error instanceof Error ? error.message : String(error));
    io.err(`${failure.message}\n`);
    return EXIT_STEP_FAILED;
  }
}

if (require.main === module) {
  process.exitCode = deploy(process.argv.slice(2), {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    env: process.env,
    inheritStdout: true,
  });
}
