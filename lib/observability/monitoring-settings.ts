import { Construct } from 'constructs';

/**
 * How an environment's monitoring objects are found by the Prometheus Operator of the cluster
 * (kube-prometheus-stack) and where its alerts point. Configuration (`monitoring` in the settings);
 * set on each environment's App as context so every construct stamps the same labels.
 */
export interface MonitoringSettings {
  /**
   * Labels the Prometheus and Alertmanager resources select monitors, rules and routing by:
   * kube-prometheus-stack selects `release: <its Helm release name>` unless told otherwise.
   * Stamped on every PodMonitor, PrometheusRule and AlertmanagerConfig.
   * @default { release: 'kube-prometheus-stack' }
   */
  readonly discoveryLabels?: Record<string, string>;
  /**
   * Namespace Prometheus runs in: its pods (`app.kubernetes.io/name: prometheus`) may scrape the
   * metrics ports, and nothing else may.
   * @default 'monitoring'
   */
  readonly namespace?: string;
  /**
   * Where each alert's runbook lives: `runbook_url` is `<runbookBaseUrl>#<alert name in lower case>`,
   * a heading of the runbook document.
   * @default 'https://git.example.com/platform/ai-platform-k8s/blob/main/docs/runbooks.md'
   */
  readonly runbookBaseUrl?: string;
  /**
   * Where Argo Rollouts' analyses query Prometheus (the controller calls it, not the pods).
   * @default 'http://kube-prometheus-stack-prometheus.monitoring.svc:9090'
   */
  readonly prometheusUrl?: string;
}

/** {@link MonitoringSettings} with every default applied. */
export interface ResolvedMonitoring {
  /** Labels stamped on every PodMonitor, PrometheusRule and AlertmanagerConfig, for the operator to select them by. */
  readonly discoveryLabels: Readonly<Record<string, string>>;
  /** Namespace Prometheus runs in: the only one NetworkPolicies let reach the metrics ports. */
  readonly namespace: string;
  /** Runbook document URL; each alert's `runbook_url` is `<runbookBaseUrl>#<alert name in lower case>`. */
  readonly runbookBaseUrl: string;
  /** Prometheus URL Argo Rollouts' analyses query (from the controller, not from the pods). */
  readonly prometheusUrl: string;
}

/** Context key on an environment's App holding its {@link MonitoringSettings}. */
export const MONITORING_CONTEXT_KEY = 'ai-platform/monitoring';

/** What {@link monitoringOf} returns for each setting the App's context leaves out (kube-prometheus-stack defaults). */
export const DEFAULT_MONITORING: ResolvedMonitoring = {
  discoveryLabels: { release: 'kube-prometheus-stack' },
  namespace: 'monitoring',
  runbookBaseUrl: 'https://git.example.com/platform/ai-platform-k8s/blob/main/docs/runbooks.md',
  prometheusUrl: 'http://kube-prometheus-stack-prometheus.monitoring.svc:9090',
};

/** The monitoring settings in force at `scope`: its App's context over the defaults. */
export function monitoringOf(scope: Construct): ResolvedMonitoring {
  const settings: MonitoringSettings = scope.node.tryGetContext(MONITORING_CONTEXT_KEY) ?? {};
  return {
    discoveryLabels: settings.discoveryLabels ?? DEFAULT_MONITORING.discoveryLabels,
    namespace: settings.namespace ?? DEFAULT_MONITORING.namespace,
    runbookBaseUrl: settings.runbookBaseUrl ?? DEFAULT_MONITORING.runbookBaseUrl,
    prometheusUrl: settings.prometheusUrl ?? DEFAULT_MONITORING.prometheusUrl,
  };
}

/** The anchor of an alert's runbook heading: its name in lower case (`### MysqlReplicationStopped`). */
export function runbookAnchor(alert: string): string {
  return alert.toLowerCase();
}

/** `runbook_url` of an alert. */
export function runbookUrl(monitoring: ResolvedMonitoring, alert: string): string {
  return `${monitoring.runbookBaseUrl}#${runbookAnchor(alert)}`;
}
