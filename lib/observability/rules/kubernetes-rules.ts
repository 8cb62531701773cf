import { percent, ResolvedAlertThresholds } from '../alert-thresholds';
import { RuleGroup } from '../rules';
import { Severity } from '../severity';
import { KUBERNETES_METRICS as K } from './kubernetes-metrics';
import { DocumentedAlertRule, namespaceMatcher, oneOfMatcher, selector } from './promql';

/** What the cluster tells about an environment's namespace, for {@link kubernetesRuleGroups}. */
export interface KubernetesRulesOptions {
  readonly namespace: string;
  readonly thresholds: ResolvedAlertThresholds;
  /** `job` of every workload Prometheus scrapes in the namespace (its PodMonitors' job label). */
  readonly scrapedJobs: readonly string[];
}

/** Labels a container's CPU and memory are matched on with its limits. */
const CONTAINER = 'namespace, pod, container';
/** cAdvisor also reports pod-level cgroups (`container=""`) and the pause container. */
const REAL_CONTAINERS = ['container!=""', 'container!="POD"'];

/**
 * Alerts on the environment's namespace from kube-state-metrics, cAdvisor, the kubelet and `up`:
 * saturation (CPU, memory, volumes over their thresholds), workloads without ready pods, crash
 * loops, and scrape targets that fail or disappear. Every selector is limited to the namespace.
 */
export function kubernetesRuleGroups(options: KubernetesRulesOptions): RuleGroup[] {
  const ns = namespaceMatcher(options.namespace);
  const t = options.thresholds;
  const resources: DocumentedAlertRule[] = [
    {
      alert: 'ContainerCpuNearLimit',
      expr: `sum by (${CONTAINER}) (rate(${selector(K.containerCpuUsageSeconds, ns, ...REAL_CONTAINERS)}[5m]))\n`
        + `  / on (${CONTAINER}) sum by (${CONTAINER}) (${selector(K.containerResourceLimits, ns, 'resource="cpu"')})\n  > ${t.cpuLimitRatio}`,
      forDuration: '15m',
      severity: Severity.P2,
      summary: 'Container {{ $labels.container }} of pod {{ $labels.pod }} uses over ' + `${percent(t.cpuLimitRatio)} of its CPU limit`,
      description: 'The container is being throttled or about to be: requests slow down. Check its load and the HPA (kubectl top pod, kubectl get hpa); raise the limit or scale out.',
      threshold: `> ${percent(t.cpuLimitRatio)} of the CPU limit`,
      expressionSummary: 'CPU used (rate over 5m) / CPU limit, per container',
    },
    {
      alert: 'ContainerMemoryNearLimit',
      expr: `sum by (${CONTAINER}) (${selector(K.containerMemoryWorkingSetBytes, ns, ...REAL_CONTAINERS)})\n`
        + `  / on (${CONTAINER}) sum by (${CONTAINER}) (${selector(K.containerResourceLimits, ns, 'resource="memory"')})\n  > ${t.memoryLimitRatio}`,
      forDuration: '15m',
      severity: Severity.P2,
      summary: 'Container {{ $labels.container }} of pod {{ $labels.pod }} uses over ' + `${percent(t.memoryLimitRatio)} of its memory limit`,
      description: 'The working set nears the limit: the kernel kills the container (OOMKilled) when it reaches it. Check for a leak or growth; raise the limit.',
      threshold: `> ${percent(t.memoryLimitRatio)} of the memory limit`,
      expressionSummary: 'memory working set / memory limit, per container',
    },
    {
      alert: 'VolumeNearlyFull',
      expr: `max by (namespace, persistentvolumeclaim) (${selector(K.volumeUsedBytes, ns)})\n`
        + `  / max by (namespace, persistentvolumeclaim) (${selector(K.volumeCapacityBytes, ns)})\n  > ${t.volumeUsageRatio}`,
      forDuration: '10m',
      severity: Severity.P2,
      summary: `Volume {{ $labels.persistentvolumeclaim }} is over ${percent(t.volumeUsageRatio)} full`,
      description: 'A store writing to a full volume stops (and a database may refuse writes or crash). Free space (logs, binlogs, WAL) or expand the PersistentVolumeClaim; it cannot shrink later.',
      threshold: `> ${percent(t.volumeUsageRatio)} of the capacity`,
      expressionSummary: 'used bytes / capacity, per PersistentVolumeClaim',
    },
  ];

  const workloads: DocumentedAlertRule[] = [
    {
      alert: 'WorkloadUnavailable',
      expr: `(${selector(K.deploymentAvailableReplicas, ns)} == 0 and on (namespace, deployment) ${selector(K.deploymentSpecReplicas, ns)} > 0)\n`
        + `or (${selector(K.statefulSetReadyReplicas, ns)} == 0 and on (namespace, statefulset) ${selector(K.statefulSetReplicas, ns)} > 0)\n`
        + `or label_replace(${selector(K.rolloutAvailableReplicas, ns)} == 0 and on (namespace, name) ${selector(K.rolloutDesiredReplicas, ns)} > 0, "rollout", "$1", "name", "(.*)")`,
      forDuration: '5m',
      severity: Severity.P1,
      summary: 'No ready pod: {{ $labels.deployment }}{{ $labels.statefulset }}{{ $labels.rollout }} is unavailable',
      description: 'Every pod of the workload is missing or not ready, so its Service answers nobody. Check kubectl describe and the pods\' events and logs.',
      threshold: '0 ready replicas while > 0 desired',
      expressionSummary: 'available replicas of each Deployment and Rollout, ready replicas of each StatefulSet',
    },
    {
      alert: 'PodCrashLooping',
      expr: `max_over_time(${selector(K.containerWaitingReason, ns, 'reason="CrashLoopBackOff"')}[5m]) >= 1`,
      forDuration: '15m',
      severity: Severity.P2,
      summary: 'Container {{ $labels.container }} of pod {{ $labels.pod }} is crash looping',
      description: 'The container keeps exiting and Kubernetes backs off restarting it. Read its last logs (kubectl logs --previous) and events.',
      threshold: 'in CrashLoopBackOff',
      expressionSummary: 'containers waiting in CrashLoopBackOff (kube-prometheus KubePodCrashLooping)',
    },
  ];

  const targets: DocumentedAlertRule[] = [
    {
      alert: 'ScrapeTargetDown',
      expr: `${selector(K.up, ns)} == 0`,
      forDuration: '5m',
      severity: Severity.P2,
      summary: 'Prometheus cannot scrape {{ $labels.job }} at {{ $labels.pod }}',
      description: 'The pod\'s metrics endpoint fails: the process hangs, the port is wrong, or a NetworkPolicy blocks Prometheus. Its metrics, and the alerts that read them, are blind meanwhile.',
      threshold: 'a scrape fails',
      expressionSummary: 'up == 0, per scrape target',
    },
  ];
  if (options.scrapedJobs.length > 0) {
    // `up == 0` never fires for a target that is gone (no pods, or its PodMonitor not selected): absent_over_time does.
    const absent = options.scrapedJobs.map((job) => `absent_over_time(${selector(K.up, ns, oneOfMatcher('job', [job]))}[5m])`).join('\nor ');
    targets.push({
      alert: 'ServiceDown',
      expr: `sum by (namespace, job) (${selector(K.up, ns)}) == 0\nor ${absent}`,
      forDuration: '5m',
      severity: Severity.P1,
      summary: 'No target of {{ $labels.job }} answers',
      description: 'Every target of the job fails its scrape, or the job has no target at all: no pod runs, or Prometheus does not select its PodMonitor (discovery labels). The service is down or invisible.',
      threshold: 'no target up, or none found for 5m',
      expressionSummary: 'targets up per job, and each scraped job\'s presence',
    });
  }

  return [
    { name: 'kubernetes-resources', rules: resources },
    { name: 'kubernetes-workloads', rules: workloads },
    { name: 'scrape-targets', rules: targets },
  ];
}
