import {
  ApplicationSpecIgnoreDifferences, ApplicationSpecSource, ApplicationSpecSyncPolicy,
} from '../../../imports/application-argoproj.io';
import { LABEL_COMPONENT, LABEL_MANAGED_BY, LABEL_PART_OF } from '../../labels';
import { Validator } from '../../validation';
import { ResolvedGitOps } from './gitops-settings';
import { AutoscaledTarget, ShippedObjects } from './shipped';

/** The cluster Argo CD runs in, as Argo CD names it: dev and test are deployed there. */
export const IN_CLUSTER_SERVER = 'https://kubernetes.default.svc';

/** Label of every Argo CD object here naming the environment it deploys. */
export const ENVIRONMENT_LABEL = 'ai-platform/environment';

/**
 * Sync options of every environment. Server-side apply: the objects carry no last-applied
 * annotation, and fields others own (the HPA's replicas) stay theirs. No CreateNamespace: the
 * environment ships its Namespace (labels for Pod Security included). PruneLast: removed objects go
 * only after everything else is healthy. RespectIgnoreDifferences: a sync leaves the ignored fields
 * (replicas an HPA owns) as they are live, instead of only hiding them from the diff.
 */
export const ENVIRONMENT_SYNC_OPTIONS: readonly string[] = [
  'ServerSideApply=true', 'CreateNamespace=false', 'PruneLast=true', 'RespectIgnoreDifferences=true',
];

/** One environment as Argo CD deploys it: which folder, where, and what it ships. */
export interface GitOpsEnvironment extends ShippedObjects {
  /** The solution's name, a DNS label of at most 40 characters: the AppProject and the names' prefix. */
  readonly solution: string;
  /** The environment's name, a DNS label of at most 20 characters: the Application is `<solution>-<environment>`. */
  readonly environment: string;
  /** Its namespace (`namespaceOf(resolved)`). */
  readonly namespace: string;
  /** `production: true`: synced by hand (region by region), never automatically. */
  readonly production: boolean;
}

/** `<prefix>/<solution>/<environment>`: the folder the synth writes the environment to. */
export function environmentPath(gitops: ResolvedGitOps, environment: Pick<GitOpsEnvironment, 'solution' | 'environment'>): string {
  return `${gitops.pathPrefix}/${environment.solution}/${environment.environment}`;
}

/**
 * A directory source reading the folder's files only: `recurse: false`, so `restore/` (restore
 * Jobs, run by hand) is never applied.
 */
export function directorySource(gitops: ResolvedGitOps, path: string): ApplicationSpecSource {
  return { repoUrl: gitops.repoURL, targetRevision: gitops.targetRevision, path, directory: { recurse: false } };
}

/**
 * Outside production: automated sync that prunes what left Git and reverts drift (selfHeal). In
 * production: no automated sync; a person (or the rolling sync, region by region) starts each sync.
 * Either way a failed sync is retried with backoff.
 */
export function syncPolicyOf(gitops: ResolvedGitOps, production: boolean): ApplicationSpecSyncPolicy {
  return {
    automated: production ? undefined : { prune: true, selfHeal: true },
    syncOptions: [...ENVIRONMENT_SYNC_OPTIONS],
    retry: {
      limit: gitops.retry.limit,
      backoff: { duration: `${gitops.retry.backoffSeconds}s`, factor: gitops.retry.factor, maxDuration: `${gitops.retry.maxBackoffSeconds}s` },
    },
  };
}

/**
 * `/spec/replicas` of each workload an HPA scales is not drift: without this, selfHeal would reset
 * it to the manifest's count (or the default) after every scale-up. Only the autoscaled workloads:
 * a replica change of any other workload is still drift and reverted.
 */
export function ignoreDifferencesOf(autoscaled: readonly AutoscaledTarget[]): ApplicationSpecIgnoreDifferences[] | undefined {
  if (autoscaled.length === 0) return undefined;
  return autoscaled.map((t) => ({ group: t.group, kind: t.kind, name: t.name, jsonPointers: ['/spec/replicas'] }));
}

/** Labels of the Argo CD objects of a solution. */
export function gitOpsLabels(solution: string, environment?: string): Record<string, string> {
  return {
    [LABEL_PART_OF]: solution,
    [LABEL_COMPONENT]: 'gitops',
    [LABEL_MANAGED_BY]: 'cdk8s',
    ...(environment ? { [ENVIRONMENT_LABEL]: environment } : {}),
  };
}

/** Checks the fields of an environment that end up in Argo CD objects. */
export function checkEnvironment(v: Validator, environment: GitOpsEnvironment): void {
  v.dnsLabel('solution', environment.solution, 40);
  v.dnsLabel('environment', environment.environment, 20);
  v.namespace('namespace', environment.namespace);
  if (typeof environment.production !== 'boolean') v.fail('production', 'true or false', environment.production);
  if (!Array.isArray(environment.kinds) || environment.kinds.length === 0) {
    v.fail('kinds', 'the non-empty list of kinds the environment ships ({ group, kind })', environment.kinds);
  }
}
