import {
  DEFAULT_ARGOCD_NAMESPACE, DEFAULT_PATH_PREFIX, DEFAULT_REGION_LABEL, DEFAULT_REVISION_HISTORY_LIMIT, DEFAULT_SYNC_RETRY,
  DEFAULT_TARGET_REVISION, defaultClusterLabel, GitOpsSettings, RegionalRolloutSettings, RegionSettings, SyncRetrySettings,
} from '../../config/gitops';
import { ProblemCollector, Validator } from '../../validation';

/** Where GitOps settings problems are reported: `gitops: <field> must be ...`. */
export const GITOPS_LOCATION = 'gitops';

/** {@link GitOpsSettings} with every default applied and checked. */
export interface ResolvedGitOps {
  /** Git repository the Applications' `source.repoURL` names: https or SSH (plain http is refused). */
  readonly repoURL: string;
  /** Branch, tag or commit the Applications follow (`source.targetRevision`). */
  readonly targetRevision: string;
  /** Folder of the repository holding the manifests: sources are `<pathPrefix>/<solution>/<environment>`. */
  readonly pathPrefix: string;
  /** Namespace of Argo CD, where the Applications, ApplicationSets and AppProjects are created. */
  readonly namespace: string;
  /** Every Application's `syncPolicy.retry`; limit 1-100, waits in seconds, maxBackoffSeconds >= backoffSeconds. */
  readonly retry: Required<SyncRetrySettings>;
  /** Past syncs kept in each Application's history (`revisionHistoryLimit`), 1-100. */
  readonly revisionHistoryLimit: number;
  /** Solution name -> its production rollout; only solutions of the repository are accepted. */
  readonly solutions: Readonly<Record<string, ResolvedRegionalRollout>>;
}

/** {@link RegionalRolloutSettings} with every default applied and checked. */
export interface ResolvedRegionalRollout {
  /** Label key naming a cluster's region, on the cluster Secrets and the generated Applications. */
  readonly regionLabel: string;
  /** Label key whose value (the production environment) selects the solution's clusters; not the region label. */
  readonly clusterLabel: string;
  /** The regions in rollout order, at least one; no region or cluster twice. */
  readonly regions: readonly ResolvedRegion[];
}

/** {@link RegionSettings} checked: one RollingSync step of a production rollout. */
export interface ResolvedRegion {
  /** The region label's value on its clusters: a label value, unique among the regions. */
  readonly name: string;
  /** Clusters synced at once: an integer >= 0 (0 holds the rollout for a manual sync) or a percentage `0%`-`100%`. */
  readonly maxUpdate: number | string;
  /** The region's cluster names as registered in Argo CD: DNS labels of at most 40 characters, at least one. */
  readonly clusters: readonly string[];
}

// https or SSH (ssh://... or scp-like git@host:path): Argo CD's repository URL forms; plain http is refused (no cleartext).
const REPO_URL = /^(https:\/\/[A-Za-z0-9.-]+(:\d+)?\/\S+|ssh:\/\/\S+@[A-Za-z0-9.-]+(:\d+)?\/\S+|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s/]\S*)$/;
const GIT_REF = /^(?![-/.])(?!.*\.\.)(?!.*\/\/)[A-Za-z0-9._/-]+(?<![/.])$/;
const PATH_PREFIX = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const PERCENT = /^(0|[1-9]\d?|100)%$/;

/** The problem of a production environment whose solution has no regional rollout configured. */
export function missingRolloutProblem(solution: string, environment: string): string {
  return `${solution}/${environment}: ${GITOPS_LOCATION}.solutions.${solution} must give the regions the production environment rolls out to ({ regions: [{ name, maxUpdate, clusters }] }) but undefined was provided`;
}

/** A label key: `[prefix/]name`, the prefix a DNS subdomain of at most 253 characters. */
export function checkLabelKey(v: Validator, field: string, value: string): string {
  const [prefix, name, ...rest] = typeof value === 'string' ? (value.includes('/') ? value.split('/') : [undefined, value]) : [];
  const ok = rest.length === 0 && typeof name === 'string' && LABEL_NAME.test(name)
    && (prefix === undefined || (prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix)));
  if (!ok) v.fail(field, 'a label key such as ai-platform/region (an optional DNS prefix, \'/\', and a name of at most 63 letters, digits, \'-\', \'_\' or \'.\')', value);
  return value;
}

/** A label value that is not empty (what a selector can name). */
export function checkLabelValue(v: Validator, field: string, value: string): string {
  if (typeof value !== 'string' || !LABEL_NAME.test(value)) {
    v.fail(field, 'a label value (at most 63 letters, digits, \'-\', \'_\' or \'.\', starting and ending with a letter or digit)', value);
  }
  return value;
}

/** RollingSync's `maxUpdate`: a whole count or a whole percentage (0 holds the step for a manual sync). */
export function checkMaxUpdate(v: Validator, field: string, value: number | string): number | string {
  const ok = typeof value === 'number' ? Number.isInteger(value) && value >= 0 && value <= 10_000 : typeof value === 'string' && PERCENT.test(value);
  if (!ok) v.fail(field, 'a count of clusters (an integer >= 0, 0 holding the rollout for a manual sync) or a percentage between 0% and 100% such as 25%', value);
  return value;
}

/**
 * Applies the defaults and checks every value, reporting every problem at once.
 * @param solutions names of the solutions of the repository: a rollout for another name is a typo
 * @throws ConfigError with one line per problem: `gitops: <field> must be ... but <value> was provided`
 */
export function resolveGitOps(settings: GitOpsSettings, solutions: readonly string[]): ResolvedGitOps {
  const v = new Validator(GITOPS_LOCATION);
  const problems = new ProblemCollector();
  if (!settings || typeof settings !== 'object') v.fail('(settings)', 'an object of GitOps settings', settings);

  problems.check(() => {
    if (typeof settings.repoURL !== 'string' || !REPO_URL.test(settings.repoURL)) {
      v.fail('repoURL', 'a Git repository URL over https (https://host/org/repo.git) or SSH (git@host:org/repo.git)', settings.repoURL);
    }
  });
  const targetRevision = settings.targetRevision ?? DEFAULT_TARGET_REVISION;
  problems.check(() => {
    if (typeof targetRevision !== 'string' || !GIT_REF.test(targetRevision)) v.fail('targetRevision', 'a branch, tag or commit such as main', targetRevision);
  });
  const pathPrefix = settings.pathPrefix ?? DEFAULT_PATH_PREFIX;
  problems.check(() => {
    if (typeof pathPrefix !== 'string' || !PATH_PREFIX.test(pathPrefix) || pathPrefix.split('/').some((s) => s === '..' || s === '.')) {
      v.fail('pathPrefix', 'a folder of the repository relative to its root, without a leading or trailing \'/\' (such as dist)', pathPrefix);
    }
  });
  const namespace = settings.namespace ?? DEFAULT_ARGOCD_NAMESPACE;
  problems.check(() => v.namespace('namespace', namespace));

  const retry = { ...DEFAULT_SYNC_RETRY, ...settings.retry };
  problems.check(() => v.integer('retry.limit', retry.limit, 1, 100));
  problems.check(() => v.integer('retry.backoffSeconds', retry.backoffSeconds, 1, 3600));
  problems.check(() => v.integer('retry.factor', retry.factor, 1, 10));
  problems.check(() => v.integer('retry.maxBackoffSeconds', retry.maxBackoffSeconds, 1, 86_400));
  problems.check(() => {
    if (retry.maxBackoffSeconds < retry.backoffSeconds) v.fail('retry.maxBackoffSeconds', `at least retry.backoffSeconds (${retry.backoffSeconds})`, retry.maxBackoffSeconds);
  });
  const revisionHistoryLimit = settings.revisionHistoryLimit ?? DEFAULT_REVISION_HISTORY_LIMIT;
  problems.check(() => v.integer('revisionHistoryLimit', revisionHistoryLimit, 1, 100));

  const resolved: Record<string, ResolvedRegionalRollout> = {};
  const rollouts = settings.solutions ?? {};
  problems.check(() => {
    if (typeof rollouts !== 'object' || Array.isArray(rollouts)) v.fail('solutions', 'an object: solution name -> its regional rollout', rollouts);
  });
  for (const [solution, rollout] of Object.entries(rollouts)) {
    const sv = v.nested(`solutions.${solution}`);
    problems.check(() => {
      if (!solutions.includes(solution)) v.fail(`solutions.${solution}`, `keyed by a solution of this repository (${solutions.join(', ')})`, solution);
    });
    const result = resolveRollout(sv, solution, rollout, problems);
    if (result) resolved[solution] = result;
  }

  problems.throwIfAny();
  return { repoURL: settings.repoURL, targetRevision, pathPrefix, namespace, retry, revisionHistoryLimit, solutions: resolved };
}

function resolveRollout(v: Validator, solution: string, rollout: RegionalRolloutSettings, problems: ProblemCollector): ResolvedRegionalRollout | undefined {
  if (!rollout || typeof rollout !== 'object') {
    problems.check(() => v.fail('(rollout)', 'an object { regions, regionLabel?, clusterLabel? }', rollout));
    return undefined;
  }
  const regionLabel = rollout.regionLabel ?? DEFAULT_REGION_LABEL;
  const clusterLabel = rollout.clusterLabel ?? defaultClusterLabel(solution);
  problems.check(() => checkLabelKey(v, 'regionLabel', regionLabel));
  problems.check(() => checkLabelKey(v, 'clusterLabel', clusterLabel));
  problems.check(() => {
    if (regionLabel === clusterLabel) v.fail('clusterLabel', `a label other than regionLabel (${regionLabel})`, clusterLabel);
  });
  const regions: readonly RegionSettings[] = Array.isArray(rollout.regions) ? rollout.regions : [];
  problems.check(() => {
    if (regions.length === 0) v.fail('regions', 'a non-empty list of regions in rollout order ({ name, maxUpdate, clusters })', rollout.regions);
  });
  const seenRegions = new Map<string, number>();
  const seenClusters = new Map<string, string>();
  regions.forEach((region, i) => {
    const field = `regions[${i}]`;
    problems.check(() => checkLabelValue(v, `${field}.name`, region?.name));
    problems.check(() => {
      const first = seenRegions.get(region?.name);
      // Two steps selecting one region: its clusters would be matched twice (and the later step never reached).
      if (first !== undefined) v.fail(`${field}.name`, `unique among the regions (regions[${first}] is ${JSON.stringify(region.name)} already)`, region.name);
      seenRegions.set(region?.name, i);
    });
    problems.check(() => checkMaxUpdate(v, `${field}.maxUpdate`, region?.maxUpdate));
    const clusters: readonly string[] = Array.isArray(region?.clusters) ? region.clusters : [];
    problems.check(() => {
      if (clusters.length === 0) v.fail(`${field}.clusters`, 'a non-empty list of the region\'s cluster names as registered in Argo CD', region?.clusters);
    });
    clusters.forEach((cluster, j) => {
      // Cluster names end up in Application names (`<solution>-<environment>-<cluster>`).
      problems.check(() => v.dnsLabel(`${field}.clusters[${j}]`, cluster, 40));
      problems.check(() => {
        const owner = seenClusters.get(cluster);
        if (owner !== undefined) v.fail(`${field}.clusters[${j}]`, `in one region only (it is in ${owner} already)`, cluster);
        seenClusters.set(cluster, field);
      });
    });
  });
  return { regionLabel, clusterLabel, regions: regions.map((r) => ({ name: r.name, maxUpdate: r.maxUpdate, clusters: [...(r.clusters ?? [])] })) };
}
