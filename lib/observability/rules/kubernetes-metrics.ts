/**
 * The cluster metrics the environment's alerts read, all from what kube-prometheus-stack scrapes
 * out of the box: kube-state-metrics (objects), the kubelet's cAdvisor (containers) and the
 * kubelet (volumes), plus Prometheus' own `up`; and the Argo Rollouts controller's metrics for
 * Rollouts (its ServiceMonitor is part of the argo-rollouts chart: `controller.metrics.serviceMonitor.enabled`). The rules use these names and no others, so a
 * renamed metric is changed here once (and the tests check every name an expression uses).
 */
export const KUBERNETES_METRICS = {
  /** Prometheus: 1 when the last scrape of a target succeeded, 0 when it failed. */
  up: 'up',
  /** cAdvisor counter of CPU seconds, labels `namespace`, `pod`, `container`. */
  containerCpuUsageSeconds: 'container_cpu_usage_seconds_total',
  /** cAdvisor gauge of memory the kernel cannot reclaim: what the OOM killer compares with the limit. */
  containerMemoryWorkingSetBytes: 'container_memory_working_set_bytes',
  /** kube-state-metrics: a container's limits, label `resource` (`cpu` in cores, `memory` in bytes). */
  containerResourceLimits: 'kube_pod_container_resource_limits',
  /** kube-state-metrics: 1 while a container waits for `reason` (`CrashLoopBackOff`). */
  containerWaitingReason: 'kube_pod_container_status_waiting_reason',
  /** kubelet: bytes used on a mounted PersistentVolumeClaim, label `persistentvolumeclaim`. */
  volumeUsedBytes: 'kubelet_volume_stats_used_bytes',
  /** kubelet: capacity of a mounted PersistentVolumeClaim. */
  volumeCapacityBytes: 'kubelet_volume_stats_capacity_bytes',
  /** kube-state-metrics: desired replicas of a Deployment (the HPA's count when autoscaled). */
  deploymentSpecReplicas: 'kube_deployment_spec_replicas',
  /** kube-state-metrics: replicas of a Deployment that are ready for minReadySeconds. */
  deploymentAvailableReplicas: 'kube_deployment_status_replicas_available',
  /** kube-state-metrics: desired replicas of a StatefulSet. */
  statefulSetReplicas: 'kube_statefulset_replicas',
  /** kube-state-metrics: ready replicas of a StatefulSet. */
  statefulSetReadyReplicas: 'kube_statefulset_status_replicas_ready',
  /** Argo Rollouts controller: available replicas of a Rollout, labels `namespace`, `name`. */
  rolloutAvailableReplicas: 'rollout_info_replicas_available',
  /** Argo Rollouts controller: desired replicas of a Rollout (the HPA's count when autoscaled). */
  rolloutDesiredReplicas: 'rollout_info_replicas_desired',
} as const;
