import { Construct } from 'constructs';
import {
  ApplicationSet, ApplicationSetSpecStrategyRollingSyncSteps, ApplicationSetSpecStrategyRollingSyncStepsMaxUpdate, ApplicationSetSpecTemplateSpec,
} from '../../../imports/applicationset-argoproj.io';
import { ConfigError, Validator } from '../../validation';
import {
  checkEnvironment, directorySource, environmentPath, GitOpsEnvironment, gitOpsLabels, ignoreDifferencesOf, syncPolicyOf,
} from './application-spec';
import { ResolvedGitOps, ResolvedRegionalRollout } from './gitops-settings';
import { SYNC_WAVE_ANNOTATION } from './sync-waves';

/** Props of {@link RegionalRollout}. */
export interface RegionalRolloutProps {
  /** The resolved GitOps settings: repository, revision, path prefix, retries and history. */
  readonly gitops: ResolvedGitOps;
  /** The production environment. */
  readonly environment: GitOpsEnvironment;
  /** The solution's regions in rollout order, their clusters, and the region and cluster labels. */
  readonly rollout: ResolvedRegionalRollout;
  /** Its wave in the root application. @default 0 */
  readonly wave?: number;
}

/** One step of a RollingSync: the Applications whose labels match every expression. */
export interface RollingSyncStep {
  /** Label requirements on the Applications, all of which must hold (here: the region label `In` one region). */
  readonly matchExpressions: readonly {
    /** The label key (the region label). */
    readonly key: string;
    /** `In` or `NotIn`: what RollingSync evaluates; any other is refused. */
    readonly operator: string;
    /** The label values the operator tests against. */
    readonly values: readonly string[];
  }[];
  /**
   * Applications of the step synced at once: a count (0 holds the step for a manual sync) or a percentage.
   * @default - every Application of the step at once (RollingSync's default)
   */
  readonly maxUpdate?: number | string;
}

/** An Application an ApplicationSet generates: its name and labels. */
export interface GeneratedApplication {
  /** `<solution>-<environment>-<cluster>`. */
  readonly name: string;
  /** Its labels as the template renders them for its cluster: the GitOps labels and the region label. */
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * Whether a RollingSync step selects an Application, as the ApplicationSet controller decides it
 * (Progressive Syncs docs): every expression must hold; `In` needs the label with one of the
 * values; `NotIn` fails only when the label is there with one of the values.
 */
export function stepMatches(step: RollingSyncStep, labels: Readonly<Record<string, string>>): boolean {
  return step.matchExpressions.every((e) => {
    const value = labels[e.key];
    if (e.operator === 'In') return value !== undefined && e.values.includes(value);
    if (e.operator === 'NotIn') return value === undefined || !e.values.includes(value);
    throw new ConfigError(`rolling-sync step: operator must be In or NotIn (what RollingSync evaluates) but ${JSON.stringify(e.operator)} was provided`);
  });
}

/**
 * Problems of a RollingSync against the Applications it will see: each Application must be
 * selected by exactly one step (an Application no step selects is never synced by the rollout,
 * argo-cd #19771; one selected twice belongs to the earlier step only, so the later step's
 * `maxUpdate` silently does not apply), and each step must select some Application (a step that
 * selects none is a misspelt region).
 */
export function rollingSyncProblems(where: string, steps: readonly RollingSyncStep[], applications: readonly GeneratedApplication[]): string[] {
  const problems: string[] = [];
  const used = new Set<number>();
  for (const app of applications) {
    const matching = steps.map((s, i) => (stepMatches(s, app.labels) ? i : -1)).filter((i) => i >= 0);
    matching.forEach((i) => used.add(i));
    if (matching.length !== 1) {
      const found = matching.length === 0 ? 'none' : `steps ${matching.map((i) => i + 1).join(' and ')}`;
      problems.push(`${where}: Application ${app.name} (labels ${JSON.stringify(app.labels)}) must be selected by exactly one rolling-sync step but ${found} selected it`);
    }
  }
  steps.forEach((s, i) => {
    if (!used.has(i)) problems.push(`${where}: rolling-sync step ${i + 1} (${JSON.stringify(s.matchExpressions)}) must select at least one Application but selects none`);
  });
  return problems;
}

/** `{{index .metadata.labels "<key>"}}`: the Go template reading a label of the generator's cluster Secret. */
export function clusterLabelTemplate(key: string): string {
  return `{{index .metadata.labels ${JSON.stringify(key)}}}`;
}

/** Template labels as the generator renders them for a cluster with `clusterLabels`; only literal values and {@link clusterLabelTemplate}s are understood. */
export function renderTemplateLabels(labels: Readonly<Record<string, string>>, clusterLabels: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).map(([key, value]) => {
    const match = /^\{\{index \.metadata\.labels ("(?:[^"\\]|\\.)*")\}\}$/.exec(value);
    if (match) {
      const label = clusterLabels[JSON.parse(match[1]) as string];
      // missingkey=error: the ApplicationSet controller refuses to generate the Application.
      if (label === undefined) throw new ConfigError(`template label ${key}: the cluster has no label ${match[1]}`);
      return [key, label];
    }
    if (value.includes('{{')) throw new ConfigError(`template label ${key}: only literal values and ${clusterLabelTemplate('<key>')} can be checked but ${JSON.stringify(value)} was provided`);
    return [key, value];
  }));
}

/**
 * The production environment of a solution across regions: an ApplicationSet whose clusters
 * generator makes one Application per Argo CD cluster labelled `<clusterLabel>=<environment>` in
 * one of the configured regions, and whose RollingSync strategy syncs them region by region in
 * configuration order, each region's `maxUpdate` clusters at a time, waiting for every Application
 * of a step to be Healthy before the next step (seed 004 11.3: one region, then several, then
 * nationwide).
 *
 * - Needs Progressive Syncs enabled in the ApplicationSet controller (shipped in
 *   `argocd-cmd-params-cm` by {@link ArgoCdCustomizations}); without it the Applications are
 *   generated but none syncs by itself, which fails safe.
 * - RollingSync turns automated sync off on every generated Application (and warns about any
 *   template that sets it): the template has none, so production is synced by the rollout, or by
 *   hand where a region's `maxUpdate` is 0. The rollout does not prune (no `defaultPrune` in the
 *   CRD version vendored here): objects removed from Git are pruned by hand (`argocd app sync --prune`).
 * - RollingSync selects Applications by their own labels, which come from `template.metadata.labels`:
 *   the template copies the cluster's region label there.
 * - Only configured regions are generated (the selector names them), so no Application is left
 *   without a step; the constructor checks that each expected Application is selected by exactly one.
 * - `preserveResourcesOnDeletion`: deleting the ApplicationSet or a cluster's Application never
 *   deletes what runs in production (R14).
 */
export class RegionalRollout extends Construct {
  /** `<solution>-<environment>`. */
  public readonly name: string;
  /** The ApplicationSet `<solution>-<environment>` in Argo CD's namespace: clusters generator, RollingSync strategy. */
  public readonly applicationSet: ApplicationSet;
  /** The Applications it generates from the configured clusters (with the labels RollingSync matches). */
  public readonly applications: readonly GeneratedApplication[];
  /** The RollingSync steps, one per region in rollout order, with the region's `maxUpdate`. */
  public readonly steps: readonly RollingSyncStep[];

  constructor(scope: Construct, id: string, props: RegionalRolloutProps) {
    super(scope, id);
    const { gitops, environment, rollout } = props;
    const where = `${environment.solution}/${environment.environment}`;
    const v = new Validator(where, 'gitops');
    checkEnvironment(v, environment);
    if (!environment.production) v.fail('production', 'true (a regional rollout is for production environments)', environment.production);
    const wave = v.integer('wave', props.wave ?? 0, -100, 100);
    if (rollout.regions.length === 0) v.fail('regions', 'a non-empty list of regions', rollout.regions);

    this.name = `${environment.solution}-${environment.environment}`;
    const regionNames = rollout.regions.map((r) => r.name);
    this.steps = rollout.regions.map((region) => ({
      matchExpressions: [{ key: rollout.regionLabel, operator: 'In', values: [region.name] }],
      maxUpdate: region.maxUpdate,
    }));
    const templateLabels = { ...gitOpsLabels(environment.solution, environment.environment), [rollout.regionLabel]: clusterLabelTemplate(rollout.regionLabel) };
    const policy = syncPolicyOf(gitops, true);
    const templateSpec: ApplicationSetSpecTemplateSpec = {
      project: environment.solution,
      source: directorySource(gitops, environmentPath(gitops, environment)),
      destination: { name: '{{.name}}', namespace: environment.namespace },
      syncPolicy: { syncOptions: policy.syncOptions, retry: policy.retry },
      ignoreDifferences: ignoreDifferencesOf(environment.autoscaled),
      revisionHistoryLimit: gitops.revisionHistoryLimit,
    };

    this.applications = rollout.regions.flatMap((region) => region.clusters.map((cluster) => ({
      name: `${this.name}-${cluster}`,
      labels: renderTemplateLabels(templateLabels, { [rollout.clusterLabel]: environment.environment, [rollout.regionLabel]: region.name }),
    })));
    const problems = rollingSyncProblems(where, this.steps, this.applications);
    if (problems.length > 0) throw new ConfigError(problems);

    this.applicationSet = new ApplicationSet(this, 'Resource', {
      metadata: {
        name: this.name,
        labels: gitOpsLabels(environment.solution, environment.environment),
        annotations: { [SYNC_WAVE_ANNOTATION]: String(wave) },
      },
      spec: {
        goTemplate: true,
        goTemplateOptions: ['missingkey=error'],
        generators: [{
          clusters: {
            selector: {
              matchLabels: { [rollout.clusterLabel]: environment.environment },
              matchExpressions: [{ key: rollout.regionLabel, operator: 'In', values: regionNames }],
            },
          },
        }],
        strategy: {
          type: 'RollingSync',
          rollingSync: {
            steps: this.steps.map((s): ApplicationSetSpecStrategyRollingSyncSteps => ({
              matchExpressions: s.matchExpressions.map((e) => ({ key: e.key, operator: e.operator, values: [...e.values] })),
              maxUpdate: typeof s.maxUpdate === 'number'
                ? ApplicationSetSpecStrategyRollingSyncStepsMaxUpdate.fromNumber(s.maxUpdate)
                : ApplicationSetSpecStrategyRollingSyncStepsMaxUpdate.fromString(s.maxUpdate!),
            })),
          },
        },
        syncPolicy: { preserveResourcesOnDeletion: true },
        template: {
          metadata: { name: `${this.name}-{{.name}}`, labels: templateLabels },
          spec: templateSpec,
        },
      },
    });
  }
}
