/**
 * GitOps with Argo CD (R21): where Argo CD reads the synthesized manifests, how it syncs them, and
 * how a production release travels across regions (seed 004 11.3: one region, then several, then
 * nationwide). Read by lib/delivery/argocd, written to `dist/argocd/`.
 */
export interface GitOpsSettings {
  /** The Git repository Argo CD reads `dist/` from: `https://host/org/repo.git` or an SSH URL (`git@host:org/repo.git`). */
  readonly repoURL: string;
  /** Branch, tag or commit Argo CD follows. @default 'main' */
  readonly targetRevision?: string;
  /** Folder of the repository holding the synthesized manifests (`<prefix>/<solution>/<environment>/`). @default 'dist' */
  readonly pathPrefix?: string;
  /** Namespace Argo CD runs in, where its Applications, ApplicationSets and AppProjects live. @default 'argocd' */
  readonly namespace?: string;
  /** How a failed sync is retried. @default - 5 retries, 10s doubling up to 3 minutes */
  readonly retry?: SyncRetrySettings;
  /** Past syncs kept in each Application's history (what `argocd app rollback` can return to). @default 10 */
  readonly revisionHistoryLimit?: number;
  /**
   * Solution name -> how its production environments roll out across regions. Every solution
   * with a production environment (`production: true`) needs one.
   */
  readonly solutions: Readonly<Record<string, RegionalRolloutSettings>>;
}

/** Argo CD's `syncPolicy.retry`: a failed sync is retried after `backoffSeconds`, then `factor` times longer each time. */
export interface SyncRetrySettings {
  /** Retries after the first attempt. @default 5 */
  readonly limit?: number;
  /** Wait before the first retry. @default 10 */
  readonly backoffSeconds?: number;
  /** Each wait is this many times the previous one. @default 2 */
  readonly factor?: number;
  /** Longest wait between two retries. @default 180 */
  readonly maxBackoffSeconds?: number;
}

/**
 * The production rollout of one solution: one Argo CD Application per production cluster, generated
 * from the clusters registered in Argo CD that carry the labels below, and synced region by region
 * in the order given here (ApplicationSet RollingSync).
 */
export interface RegionalRolloutSettings {
  /** Regions in rollout order: the first receives a release first. */
  readonly regions: readonly RegionSettings[];
  /**
   * Label of the Argo CD cluster Secrets naming the cluster's region; the generated Applications
   * carry it too, which is what the rollout steps select.
   * @default 'ai-platform/region'
   */
  readonly regionLabel?: string;
  /**
   * Label a cluster Secret carries, with the production environment's name as value
   * (`ai-platform/logistics=prod`), to receive the solution's production environment.
   * @default 'ai-platform/<solution>'
   */
  readonly clusterLabel?: string;
}

/** One region of a production rollout. */
export interface RegionSettings {
  /** The region label's value on its clusters (`east`). */
  readonly name: string;
  /**
   * Clusters of the region synced at once: a count (`1`) or a share (`'25%'`, rounded down but at
   * least one). `0` holds the rollout at this region until someone syncs its Applications by hand.
   */
  readonly maxUpdate: number | string;
  /** Names of the region's clusters as registered in Argo CD (`argocd cluster add --name`); the project admits only these. */
  readonly clusters: readonly string[];
}

/** Branch Argo CD follows unless {@link GitOpsSettings.targetRevision} is set. */
export const DEFAULT_TARGET_REVISION = 'main';
/** Folder of the repository holding the manifests unless {@link GitOpsSettings.pathPrefix} is set. */
export const DEFAULT_PATH_PREFIX = 'dist';
/** Argo CD's namespace, where its Applications and AppProjects live, unless {@link GitOpsSettings."namespace"} is set. */
export const DEFAULT_ARGOCD_NAMESPACE = 'argocd';
/** Cluster Secret label naming a cluster's region unless {@link RegionalRolloutSettings.regionLabel} is set. */
export const DEFAULT_REGION_LABEL = 'ai-platform/region';
/** Past syncs kept per Application unless {@link GitOpsSettings.revisionHistoryLimit} is set. */
export const DEFAULT_REVISION_HISTORY_LIMIT = 10;
/** Sync retries unless configured: 5 retries, the first after 10 s, each wait doubled, at most 180 s. */
export const DEFAULT_SYNC_RETRY: Required<SyncRetrySettings> = { limit: 5, backoffSeconds: 10, factor: 2, maxBackoffSeconds: 180 };

/** `ai-platform/<solution>`: the cluster label selecting a solution's production clusters, unless configured. */
export function defaultClusterLabel(solution: string): string {
  return `ai-platform/${solution}`;
}

/**
 * This repository's GitOps settings: set `repoURL` to the repository this project is pushed to,
 * and the regions and clusters to those registered in Argo CD.
 */
export const gitops: GitOpsSettings = {
  repoURL: 'https://git.example.com/ai-platform/ai-platform.git',
  solutions: {
    logistics: {
      regions: [
        { name: 'east', maxUpdate: 1, clusters: ['prod-east-1'] },
        { name: 'central', maxUpdate: 1, clusters: ['prod-central-1', 'prod-central-2'] },
        { name: 'west', maxUpdate: '50%', clusters: ['prod-west-1', 'prod-west-2'] },
      ],
    },
    'real-estate': {
      regions: [
        { name: 'east', maxUpdate: 1, clusters: ['prod-east-1'] },
        { name: 'central', maxUpdate: 1, clusters: ['prod-central-1', 'prod-central-2'] },
        { name: 'west', maxUpdate: '50%', clusters: ['prod-west-1', 'prod-west-2'] },
      ],
    },
  },
};
