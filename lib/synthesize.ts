import { cpSync, existsSync, readdirSync, renameSync, rmSync, statSync } from 'fs';
import { join, relative, sep } from 'path';
import { AppTierSettings } from './config/app-tier-settings';
import { gitops, GitOpsSettings } from './config/gitops';
import { platform, PlatformSettings, platformNamespaces, platformProblems } from './config/platform';
import { environmentsOf, ingressHostsOf, namespaceOf, ResolvedEnvironment, resolveEnvironment } from './config/solution-definition';
import { buildArgoCd, ShippedManifest, shippedOf } from './delivery/argocd';
import { buildPlatform, PLATFORM_FOLDER } from './logging';
import { PolicyViolationError } from './policy/policy-violation-error';
import { SOLUTIONS } from './solutions';
import { buildEnvironment, Solution } from './solutions/solution';
import { ConfigError } from './validation';

/** One environment written by {@link synthesize}. */
export interface WrittenEnvironment {
  /** Its folder relative to the output folder: `logistics/prod`. */
  readonly path: string;
  readonly files: number;
  readonly objects: number;
}

/** What {@link synthesize} wrote and removed. */
export interface SynthReport {
  /** One entry per environment, in configuration order. */
  readonly written: readonly WrittenEnvironment[];
  /**
   * Paths (relative to the output folder, `/`-separated) that were there before and are gone now:
   * a whole environment folder (`logistics/prdo/`) when its environment left the configuration,
   * otherwise single files.
   */
  readonly removed: readonly string[];
}

/**
 * A synth that found problems: every configuration error of every environment and every policy
 * violation, one line each. Nothing was written.
 */
export class SynthFailure extends Error {
  constructor(public readonly problems: readonly string[]) {
    super(`${problems.length} problem${problems.length === 1 ? '' : 's'}:\n  ${problems.join('\n  ')}`);
    this.name = 'SynthFailure';
  }
}

export interface SynthesizeOptions {
  /** The solutions to write. @default SOLUTIONS, every solution of this repository */
  readonly solutions?: readonly Solution<AppTierSettings>[];
  /** The cluster-level platform (log shipping), written to `<outdir>/platform/`. @default platform (lib/config/platform.ts); null: none */
  readonly platform?: PlatformSettings | null;
  /**
   * Argo CD's objects (projects, the app of apps per solution, Applications, the regional
   * ApplicationSet), written to `<outdir>/argocd/`. @default gitops (lib/config/gitops.ts); null: none
   */
  readonly gitops?: GitOpsSettings | null;
}

/**
 * Builds and writes every environment of every solution into `<outdir>/<solution>/<environment>/`.
 * Everything is written to a staging folder first and swapped in at the end, so a failed synth
 * leaves the last good output untouched, and files of removed objects do not linger (they are
 * listed in the report). Problems are collected over the whole matrix before failing.
 * @throws SynthFailure listing every problem; `outdir` is left as it was
 */
export function synthesize(outdir: string, options: SynthesizeOptions = {}): SynthReport {
  const solutions = options.solutions ?? SOLUTIONS;
  const problems: string[] = [];
  const resolved = resolveMatrix(solutions, problems);
  problems.push(...matrixConflicts(resolved.map((r) => r.environment)));
  const platformSettings = options.platform === null ? undefined : (options.platform ?? platform);
  if (platformSettings) problems.push(...platformConflicts(platformSettings, solutions, resolved));

  const staging = `${outdir}.staging`;
  rmSync(staging, { recursive: true, force: true });
  const written: WrittenEnvironment[] = [];
  try {
    if (problems.length === 0) {
      const applied = new Map<ResolvedEnvironment<AppTierSettings>, readonly ShippedManifest[]>();
      for (const { solution, environment } of resolved) {
        try {
          const result = buildEnvironment(solution, environment.environment, staging).synth();
          applied.set(environment, result.applied as ShippedManifest[]);
          written.push({ path: relative(staging, result.outdir).split(sep).join('/'), files: result.files, objects: result.objects });
        } catch (error) {
          if (error instanceof ConfigError) problems.push(...error.problems);
          else if (error instanceof PolicyViolationError) problems.push(...error.errors.map((e) => `${environment.solution}/${environment.environment}: ${e}`));
          else throw error;
        }
      }
      const configured = options.gitops === null ? undefined : (options.gitops ?? gitops);
      // Rollout settings of the solutions being written only (a synth of a subset, as the tests do).
      const names = new Set(solutions.map((s) => s.definition.name));
      const gitopsSettings = configured && {
        ...configured,
        solutions: Object.fromEntries(Object.entries(configured.solutions ?? {}).filter(([name]) => names.has(name))),
      };
      if (gitopsSettings && problems.length === 0) {
        try {
          // From what was just written (the rendered objects of each environment's folder, not
          // parsed back): the projects admit exactly the kinds the environments ship.
          const result = buildArgoCd({
            outdir: staging,
            gitops: gitopsSettings,
            environments: resolved.map(({ environment: e }) => ({
              solution: e.solution, environment: e.environment, namespace: namespaceOf(e), production: e.production,
              ...shippedOf(applied.get(e) ?? []),
            })),
          });
          written.push({ path: relative(staging, result.outdir).split(sep).join('/'), files: result.files, objects: result.objects });
        } catch (error) {
          if (error instanceof ConfigError) problems.push(...error.problems);
          else if (error instanceof PolicyViolationError) problems.push(...error.errors.map((e) => `argocd: ${e}`));
          else throw error;
        }
      }
      if (platformSettings) {
        try {
          const result = buildPlatform(staging, platformSettings).synth();
          written.push({ path: relative(staging, result.outdir).split(sep).join('/'), files: result.files, objects: result.objects });
        } catch (error) {
          if (error instanceof ConfigError) problems.push(...error.problems);
          else if (error instanceof PolicyViolationError) problems.push(...error.errors.map((e) => `${PLATFORM_FOLDER}: ${e}`));
          else throw error;
        }
      }
    }
    if (problems.length > 0) throw new SynthFailure(problems);
    const removed = removedPaths(outdir, staging);
    rmSync(outdir, { recursive: true, force: true });
    renameSync(staging, outdir);
    return { written, removed };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * The command line's synth (`npm run synth`, `cdk8s synth`): writes `outdir`, prints (on stderr) one line per
 * environment written and per path removed, and on failure prints every problem without a stack
 * trace and exits 1, leaving `outdir` as it was. With `mirrorTo` (the cdk8s CLI's own output
 * folder, which the CLI empties before it runs the app), the result is copied there too.
 */
export function synthesizeAll(outdir: string, mirrorTo?: string): void {
  let report: SynthReport;
  try {
    report = synthesize(outdir);
  } catch (error) {
    if (error instanceof SynthFailure) {
      process.stderr.write(`synth failed: ${error.message}\n${outdir}/ was left unchanged\n`);
      process.exit(1);
    }
    throw error;
  }
  const lines = [
    ...report.written.map((w) => `wrote ${outdir}/${w.path}: ${w.files} files, ${w.objects} objects`),
    ...report.removed.map((path) => `removed ${outdir}/${path}${path.endsWith('/') ? ' (its environment is no longer configured)' : ''}`),
  ];
  // On stderr: the cdk8s CLI swallows its app's stdout but passes stderr through.
  process.stderr.write(`${lines.join('\n')}\n`);
  if (mirrorTo && mirrorTo !== outdir) {
    rmSync(mirrorTo, { recursive: true, force: true });
    cpSync(outdir, mirrorTo, { recursive: true });
  }
}

interface MatrixEntry {
  readonly solution: Solution<AppTierSettings>;
  readonly environment: ResolvedEnvironment<AppTierSettings>;
}

/** Every environment's settings; a ConfigError of one environment does not stop the others. */
function resolveMatrix(solutions: readonly Solution<AppTierSettings>[], problems: string[]): MatrixEntry[] {
  const entries: MatrixEntry[] = [];
  const names = new Map<string, number>();
  for (const solution of solutions) {
    const name = solution.definition.name;
    names.set(name, (names.get(name) ?? 0) + 1);
    if (names.get(name) === 2) problems.push(`${name}: solution name must be unique, but ${solutions.filter((s) => s.definition.name === name).length} solutions are named ${JSON.stringify(name)} (each writes dist/${name}/)`);
    if (names.get(name)! > 1) continue;
    for (const environment of environmentsOf(solution.definition)) {
      try {
        entries.push({ solution, environment: resolveEnvironment(solution.definition, environment) });
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        problems.push(...error.problems);
      }
    }
  }
  return entries;
}

/** The platform's own problems, and names or namespaces an environment would share with it. */
function platformConflicts(settings: PlatformSettings, solutions: readonly Solution<AppTierSettings>[], resolved: readonly MatrixEntry[]): string[] {
  const problems = [...platformProblems(settings)];
  if (solutions.some((s) => s.definition.name === PLATFORM_FOLDER)) {
    problems.push(`${PLATFORM_FOLDER}: solution name must not be "${PLATFORM_FOLDER}", which dist/${PLATFORM_FOLDER}/ holds`);
  }
  const taken = new Set(platformNamespaces(settings));
  for (const { environment } of resolved) {
    const ns = namespaceOf(environment);
    if (taken.has(ns)) {
      problems.push(`${environment.solution}/${environment.environment}: namespace must be unique across environments and the platform but ${JSON.stringify(ns)} was provided, which the platform uses`);
    }
  }
  return problems;
}

/** Namespaces and Ingress hosts that two environments (of one solution or two) would share. */
function matrixConflicts(environments: readonly ResolvedEnvironment<AppTierSettings>[]): string[] {
  const problems: string[] = [];
  const claims = (what: string, valueOf: (e: ResolvedEnvironment<AppTierSettings>) => readonly string[]) => {
    const owners = new Map<string, string>();
    for (const environment of environments) {
      const where = `${environment.solution}/${environment.environment}`;
      for (const value of new Set(valueOf(environment))) {
        const owner = owners.get(value);
        if (owner === undefined) owners.set(value, where);
        else problems.push(`${where}: ${what} must be unique across environments and solutions but ${JSON.stringify(value)} was provided, which ${owner} uses already`);
      }
    }
  };
  claims('namespace', (e) => [namespaceOf(e)]);
  claims('ingress.hosts', (e) => ingressHostsOf(e));
  return problems;
}

/** Paths below `before` that `after` no longer has: whole folders where a folder went, else files. */
function removedPaths(before: string, after: string): string[] {
  if (!existsSync(before)) return [];
  const removed: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir).sort()) {
      const path = join(dir, entry);
      const rel = relative(before, path).split(sep).join('/');
      const isDir = statSync(path).isDirectory();
      if (!existsSync(join(after, rel))) removed.push(isDir ? `${rel}/` : rel);
      else if (isDir) walk(path);
    }
  };
  walk(before);
  return removed;
}
