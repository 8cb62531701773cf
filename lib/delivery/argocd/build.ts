import { join } from 'path';
import { App, Chart } from 'cdk8s';
import { GitOpsSettings } from '../../config/gitops';
import { SynthResult, synthesizeApp } from '../../synth-app';
import { ConfigError, ProblemCollector } from '../../validation';
import { GitOpsEnvironment } from './application-spec';
import { ArgoCdCustomizations } from './argocd-customizations';
import { EnvironmentApplication } from './environment-application';
import { GITOPS_LOCATION, missingRolloutProblem, resolveGitOps } from './gitops-settings';
import { RegionalRollout } from './regional-rollout';
import { RootApplication } from './root-application';
import { SolutionProject } from './solution-project';

/** The output folder of the Argo CD objects: `<outdir>/argocd/`. */
export const ARGOCD_FOLDER = 'argocd';

/** What {@link buildArgoCd} writes the Argo CD objects from. */
export interface BuildArgoCdOptions {
  /** The synth's output folder (`dist`): written to `<outdir>/argocd/`. */
  readonly outdir: string;
  /** The repository's GitOps settings; defaults are applied and every value checked ({@link resolveGitOps}). */
  readonly gitops: GitOpsSettings;
  /** Every environment of every solution, in configuration order, with what it ships (`shippedIn(<outdir>/<solution>/<environment>)`). */
  readonly environments: readonly GitOpsEnvironment[];
}

/**
 * Writes the Argo CD objects of every solution:
 *
 * - `<outdir>/argocd/*.yaml`, the bootstrap, which `kubectl apply --server-side -f dist/argocd/`
 *   applies (not recursive, so not the folders below): the Application health check and
 *   Progressive Syncs keys (`0000-argocd-config`), each solution's AppProject (`0001-projects`), and
 *   each solution's root project and root Application (`0002-roots`).
 * - `<outdir>/argocd/<solution>/*.yaml`, which the solution's root Application syncs from Git: an
 *   Application per non-production environment (automated, self-healing) and an ApplicationSet per
 *   production environment (region by region, synced by the rollout or by hand).
 *
 * The AppProjects are in the bootstrap, not below a root: what a solution may deploy changes only
 * when someone with rights on Argo CD's namespace applies it, never by a commit alone.
 * @throws ConfigError with every problem of the settings and environments; nothing is written
 */
export function buildArgoCd(options: BuildArgoCdOptions): SynthResult {
  const solutions = [...new Set(options.environments.map((e) => e.solution))];
  const gitops = resolveGitOps(options.gitops, solutions);
  const problems = new ProblemCollector();
  for (const solution of solutions.filter((s) => s === ARGOCD_FOLDER)) {
    problems.add(`${solution}: solution name must not be "${ARGOCD_FOLDER}", which dist/${ARGOCD_FOLDER}/ holds`);
  }
  for (const e of options.environments.filter((env) => env.namespace === gitops.namespace)) {
    problems.add(`${e.solution}/${e.environment}: namespace must not be Argo CD's namespace but ${JSON.stringify(e.namespace)} was provided (${GITOPS_LOCATION}.namespace)`);
  }

  const folder = join(options.outdir, ARGOCD_FOLDER);
  const bootstrap = new App({ outdir: folder });
  const config = new Chart(bootstrap, 'argocd-config', { namespace: gitops.namespace });
  const projects = new Chart(bootstrap, 'projects', { namespace: gitops.namespace });
  const roots = new Chart(bootstrap, 'roots', { namespace: gitops.namespace });
  projects.addDependency(config);
  roots.addDependency(projects);
  new ArgoCdCustomizations(config, 'customizations', { namespace: gitops.namespace });

  const apps: App[] = [bootstrap];
  for (const solution of solutions) {
    const environments = options.environments.filter((e) => e.solution === solution);
    const rollout = gitops.solutions[solution];
    problems.check(() => new SolutionProject(projects, solution, { gitops, solution, environments, rollout }));
    problems.check(() => new RootApplication(roots, solution, { gitops, solution }));
    const app = new App({ outdir: join(folder, solution) });
    const chart = new Chart(app, 'applications', { namespace: gitops.namespace });
    // Configuration order is promotion order (dev, test, then production): each waits for the one before to be Healthy.
    environments.forEach((environment, wave) => problems.check(() => (environment.production
      ? new RegionalRollout(chart, environment.environment, { gitops, environment, rollout: rolloutOf(solution, environment), wave })
      : new EnvironmentApplication(chart, environment.environment, { gitops, environment, wave }))));
    apps.push(app);
  }
  problems.throwIfAny();

  const results = apps.map((app) => synthesizeApp(app));
  return {
    outdir: folder,
    files: results.reduce((n, r) => n + r.files, 0),
    objects: results.reduce((n, r) => n + r.objects, 0),
    applied: results.flatMap((r) => r.applied),
  };

  function rolloutOf(solution: string, environment: GitOpsEnvironment) {
    const rollout = gitops.solutions[solution];
    if (!rollout) throw new ConfigError(missingRolloutProblem(solution, environment.environment));
    return rollout;
  }
}
