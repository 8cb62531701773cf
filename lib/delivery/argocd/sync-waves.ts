import { ApiObject, App, Chart } from 'cdk8s';
import { RestoreChart } from '../../backup/restore-chart';
import { groupOf } from '../../policy/manifest';

/** The annotation Argo CD orders a sync by: lower waves are applied, and must be healthy, before higher ones. */
export const SYNC_WAVE_ANNOTATION = 'argocd.argoproj.io/sync-wave';

/** The annotation of Argo CD hooks (lib/argocd-hooks.ts). */
export const HOOK_ANNOTATION = 'argocd.argoproj.io/hook';

/**
 * The waves of an environment, in the order R21 asks for. Argo CD waits for every object of a
 * wave to be healthy before it applies the next (and prunes in reverse order).
 */
export enum SyncWave {
  /** The namespace, and what governs the pods before any starts: NetworkPolicies, quotas, RBAC, the Secrets' ExternalSecrets. */
  NAMESPACE_AND_POLICIES = -2,
  /** The data tier (chart `data`): databases, caches, vector stores, their Services and bootstrap Jobs. */
  DATA = -1,
  /** The app tier (chart `app`): API, web, AI services and their Services and ConfigMaps. */
  APP = 0,
  /** What watches or exposes a running tier: monitors, rules, alert routing, Ingresses, autoscalers. */
  MONITORS_AND_INGRESS = 1,
}

/** The charts of an environment (lib/solutions/environment-app.ts). */
export type EnvironmentChart = 'namespace' | 'data' | 'app';

const POLICY_KINDS: ReadonlySet<string> = new Set([
  'networking.k8s.io/NetworkPolicy', '/ResourceQuota', '/LimitRange',
  'rbac.authorization.k8s.io/Role', 'rbac.authorization.k8s.io/RoleBinding',
  // The Secrets the tiers read are materialized by these: ready before any pod mounts them.
  'external-secrets.io/ExternalSecret',
]);

const EDGE_KINDS: ReadonlySet<string> = new Set([
  'monitoring.coreos.com/PodMonitor', 'monitoring.coreos.com/ServiceMonitor', 'monitoring.coreos.com/PrometheusRule',
  'monitoring.coreos.com/AlertmanagerConfig', 'networking.k8s.io/Ingress', 'autoscaling/HorizontalPodAutoscaler',
  'autoscaling.k8s.io/VerticalPodAutoscaler',
]);

const CHART_WAVES: Readonly<Record<EnvironmentChart, SyncWave>> = {
  namespace: SyncWave.NAMESPACE_AND_POLICIES,
  data: SyncWave.DATA,
  app: SyncWave.APP,
};

/**
 * The sync wave of an object of an environment: namespace and policies, then the data tier, then
 * the app tier, then monitors and ingress. Traffic reaches a tier only once it is healthy, and its
 * pods start with their NetworkPolicies in place (the namespace denies everything by default).
 *
 * Argo CD hooks (`argocd.argoproj.io/hook`) keep their hook semantics: the wave only orders a hook
 * within its phase, so a Sync hook (the Redis cluster bootstrap) runs with its tier and the next
 * tier waits until it has completed.
 */
export function syncWaveOf(object: { readonly apiVersion: string; readonly kind: string; readonly metadata?: unknown }, chart: EnvironmentChart): number {
  const key = `${groupOf(object.apiVersion)}/${object.kind}`;
  if (!(chart in CHART_WAVES)) throw new Error(`syncWaveOf: chart must be one of ${Object.keys(CHART_WAVES).join(', ')} but ${JSON.stringify(chart)} was provided`);
  if (chart === 'namespace' || POLICY_KINDS.has(key)) return SyncWave.NAMESPACE_AND_POLICIES;
  if (EDGE_KINDS.has(key)) return SyncWave.MONITORS_AND_INGRESS;
  return CHART_WAVES[chart];
}

/**
 * Annotates every object of an environment's App with its {@link syncWaveOf}, keeping a wave an
 * object sets itself. Restore charts are skipped: they are written to `restore/`, which Argo CD
 * never reads. Any other chart than namespace, data and app is refused, so a new chart is placed
 * in the order on purpose.
 */
export function stampSyncWaves(app: App): void {
  for (const chart of app.charts) {
    if (RestoreChart.isRestoreChart(chart)) continue;
    const id = chart.node.id;
    if (!(id in CHART_WAVES)) throw new Error(`stampSyncWaves: chart must be one of ${Object.keys(CHART_WAVES).join(', ')} or a restore chart but ${JSON.stringify(id)} was provided`);
    for (const object of chart.node.findAll().filter((c): c is ApiObject => ApiObject.isApiObject(c) && Chart.of(c) === chart)) {
      if (object.metadata.toJson().annotations?.[SYNC_WAVE_ANNOTATION] !== undefined) continue;
      object.metadata.addAnnotation(SYNC_WAVE_ANNOTATION, String(syncWaveOf(object, id as EnvironmentChart)));
    }
  }
}
