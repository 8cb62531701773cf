import { ResolvedAlertThresholds } from '../alert-thresholds';
import { BusinessMonitoring } from '../business-metrics';
import { BusinessMetric, HTTP_METRICS } from '../http-metrics';
import { appRequestMatchers, LATENCY_P95_RECORD, SERVER_ERROR_RATIO_RECORD } from '../rules/app-http-rules';
import { KUBERNETES_METRICS } from '../rules/kubernetes-metrics';
import { namespaceMatcher, selector } from '../rules/promql';
import { PanelSpec, RowSpec } from './dashboard-builder';

/**
 * The cluster metrics the dashboards read: those of the alert rules, plus the restart counter
 * (kube-state-metrics), which no alert reads (crash loops are alerted from the waiting reason).
 */
export const KUBERNETES_DASHBOARD_METRICS = {
  ...KUBERNETES_METRICS,
  /** kube-state-metrics: restarts of a container. */
  containerRestarts: 'kube_pod_container_status_restarts_total',
} as const;

const K = KUBERNETES_DASHBOARD_METRICS;
const RATE = '$__rate_interval';
const CONTAINER = 'namespace, pod, container';
/** cAdvisor also reports pod-level cgroups (`container=""`) and the pause container. */
const REAL_CONTAINERS = ['container!=""', 'container!="POD"'];

/** What {@link overviewRows} draws an environment's overview from. */
export interface OverviewOptions {
  /** The environment's namespace: every query is limited to it. */
  readonly namespace: string;
  /** The alert thresholds in force, drawn on the panels that have an alert. */
  readonly thresholds: ResolvedAlertThresholds;
  /** `job` -> p95 latency threshold (seconds) of each service serving the app metrics contract. */
  readonly latencyP95Seconds: Readonly<Record<string, number>>;
  /**
   * The solution's business metrics: one panel each in a `Business (<solution>)` row after the
   * system and application rows.
   * @default - no business row
   */
  readonly business?: BusinessMonitoring;
}

/** Rows of an environment's overview: system, application, and the solution's business metrics. */
export function overviewRows(o: OverviewOptions): RowSpec[] {
  const ns = namespaceMatcher(o.namespace);
  const t = o.thresholds;
  const limitRatio = (usage: string, resource: string): string =>
    `sum by (${CONTAINER}) (${usage})\n  / on (${CONTAINER}) sum by (${CONTAINER}) (${selector(K.containerResourceLimits, ns, `resource="${resource}"`)})`;
  const system: RowSpec = {
    title: 'System',
    panels: [
      {
        title: 'CPU used / limit', description: `CPU used per container over its limit; throttled at 100%. Dashed: the ContainerCpuNearLimit threshold.`,
        unit: 'percentunit', min: 0, threshold: t.cpuLimitRatio,
        queries: [{ expr: limitRatio(`rate(${selector(K.containerCpuUsageSeconds, ns, ...REAL_CONTAINERS)}[${RATE}])`, 'cpu'), legend: '{{pod}} {{container}}' }],
      },
      {
        title: 'Memory used / limit', description: 'Working set per container over its limit; OOM-killed at 100%. Dashed: the ContainerMemoryNearLimit threshold.',
        unit: 'percentunit', min: 0, threshold: t.memoryLimitRatio,
        queries: [{ expr: limitRatio(selector(K.containerMemoryWorkingSetBytes, ns, ...REAL_CONTAINERS), 'memory'), legend: '{{pod}} {{container}}' }],
      },
      {
        title: 'Container restarts (last hour)', description: 'Restarts per container over the past hour; containers that did not restart are left out.', unit: 'short', min: 0,
        queries: [{ expr: `sum by (pod, container) (increase(${selector(K.containerRestarts, ns)}[1h])) > 0`, legend: '{{pod}} {{container}}' }],
      },
      {
        title: 'Ready replicas', description: 'Ready (available) and desired replicas of each Deployment and StatefulSet: ready below desired for long means pods fail to start or to get ready.',
        unit: 'short', min: 0,
        queries: [
          { expr: selector(K.deploymentAvailableReplicas, ns), legend: '{{deployment}} ready' },
          { expr: selector(K.deploymentSpecReplicas, ns), legend: '{{deployment}} desired' },
          { expr: selector(K.statefulSetReadyReplicas, ns), legend: '{{statefulset}} ready' },
          { expr: selector(K.statefulSetReplicas, ns), legend: '{{statefulset}} desired' },
        ],
      },
      {
        title: 'Volume used / capacity', description: 'Used bytes over capacity of each PersistentVolumeClaim. Dashed: the VolumeNearlyFull threshold.',
        unit: 'percentunit', min: 0, max: 1, threshold: t.volumeUsageRatio,
        queries: [{
          expr: `max by (persistentvolumeclaim) (${selector(K.volumeUsedBytes, ns)})\n  / max by (persistentvolumeclaim) (${selector(K.volumeCapacityBytes, ns)})`,
          legend: '{{persistentvolumeclaim}}',
        }],
      },
      {
        title: 'Scrape targets up', description: 'Targets answering Prometheus, and all targets, per job: a gap means a service is down or its metrics are not scraped.',
        unit: 'short', min: 0,
        queries: [
          { expr: `sum by (job) (${selector(K.up, ns)})`, legend: '{{job}} up' },
          { expr: `count by (job) (${selector(K.up, ns)})`, legend: '{{job}} targets' },
        ],
      },
    ],
  };

  const jobs = Object.keys(o.latencyP95Seconds).sort();
  const application: RowSpec[] = jobs.length === 0 ? [] : [{
    title: 'Application',
    panels: [
      {
        title: 'Requests per second', description: 'Requests each service answered (probes and scrapes left out), from the app metrics contract.', unit: 'reqps', min: 0,
        queries: [{ expr: `sum by (job) (rate(${selector(HTTP_METRICS.requestsTotal, ...appRequestMatchers(o.namespace, jobs))}[${RATE}]))`, legend: '{{job}}' }],
      },
      {
        title: '5xx ratio', description: 'Server errors over all requests per service, over 5m (recording rule). Dashed: the HttpServerErrorRatioHigh threshold.',
        unit: 'percentunit', min: 0, threshold: t.serverErrorRatio,
        queries: [{ expr: selector(SERVER_ERROR_RATIO_RECORD, ns), legend: '{{job}}' }],
      },
      {
        title: 'p95 latency', description: '95th percentile of request durations per service, over 5m (recording rule). Dashed: each service\'s HttpLatencyP95High threshold.',
        unit: 's', min: 0, seriesThresholds: o.latencyP95Seconds,
        queries: [{ expr: selector(LATENCY_P95_RECORD, ns), legend: '{{job}}' }],
      },
    ],
  }];

  const metrics = o.business?.metrics ?? [];
  const business: RowSpec[] = metrics.length === 0 ? [] : [{
    title: `Business (${o.business!.solution})`,
    panels: metrics.map((m) => businessPanel(m, ns)),
  }];
  return [system, ...application, ...business];
}

/**
 * A business metric as its declaration says: a counter as its rate per minute summed over the
 * pods, by its labels; a gauge as each pod reports it. The unit follows Prometheus' base-unit
 * suffixes (`_ratio`, `_seconds`, `_bytes`).
 */
export function businessPanel(m: BusinessMetric, namespaceMatcherText: string): PanelSpec {
  const labels = m.labels.map((l) => `{{${l}}}`).join(' ');
  if (m.type === 'counter') {
    return {
      title: m.name, description: `${m.help} Per minute, all pods.`, unit: 'cpm', min: 0,
      queries: [{ expr: `sum by (${['namespace', ...m.labels].join(', ')}) (rate(${selector(m.name, namespaceMatcherText)}[${RATE}])) * 60`, legend: labels || m.name }],
    };
  }
  const unit = m.name.endsWith('_ratio') ? 'percentunit' : m.name.endsWith('_seconds') ? 's' : m.name.endsWith('_bytes') ? 'bytes' : 'short';
  return {
    title: m.name, description: `${m.help} As each pod reports it.`, unit,
    ...(unit === 'percentunit' ? { min: 0, max: 1 } : {}),
    queries: [{ expr: selector(m.name, namespaceMatcherText), legend: ['{{pod}}', labels].filter((s) => s).join(' ') }],
  };
}
