import { App, Chart } from 'cdk8s';
import { BACKUP_CONTEXT_KEY, BackupSettings } from '../backup/backup-settings';
import { AppNamespace } from '../namespace';
import { renderEnvironmentReadme } from '../ops/environment-readme';
import { SynthResult, synthesizeApp } from '../synth-app';
import { EnvironmentMonitoringSettings } from '../observability/environment-monitoring-settings';
import { MONITORING_CONTEXT_KEY } from '../observability/monitoring-settings';
import { ENVIRONMENT_CONTEXT_KEY, PRODUCTION_CONTEXT_KEY, SOLUTION_CONTEXT_KEY, VERSION_CONTEXT_KEY } from '../validation';
import { DNS_PEERS_CONTEXT_KEY, NetworkPeer } from '../workload';

export type { SynthResult } from '../synth-app';

/** Props of {@link EnvironmentApp}: one environment's resolved settings, as {@link buildEnvironment} gives them. */
export interface EnvironmentAppProps {
  /** The solution's name, a DNS label: the App's `ai-platform/solution` context (backup prefix, dashboards, errors). */
  readonly solution: string;
  /** The environment's name (`prod`), a DNS label: the App's `ai-platform/environment` context. */
  readonly environment: string;
  /** Namespace every namespaced object goes into. */
  readonly namespace: string;
  /** Release version, for the version label of objects that are not one workload's. */
  readonly version: string;
  /** A production environment (`production` in its settings): production-only policy rules apply. */
  readonly production: boolean;
  /**
   * Where every workload's pods send DNS queries.
   * @default - each workload's default (DEFAULT_DNS_PEERS: kube-dns pods, NodeLocal DNSCache)
   */
  readonly dnsPeers?: readonly NetworkPeer[];
  /**
   * The environment's monitoring settings, set as the App's monitoring context: every PodMonitor,
   * PrometheusRule and AlertmanagerConfig takes its discovery labels from it, the alerts their thresholds.
   * @default - the monitoring defaults (see MonitoringSettings)
   */
  readonly monitoring?: EnvironmentMonitoringSettings;
  /**
   * Where the stores' backups go; every store backs up when set.
   * @default - no backups
   */
  readonly backup?: BackupSettings;
  /** Folder the YAML files are written to: dist/<solution>/<environment>. */
  readonly outdir: string;
}

/**
 * One solution in one environment, synthesized into its own folder as three files that
 * `kubectl apply -f <folder>` applies in order: `0000-namespace` (the Namespace and its
 * default-deny policy), `0001-data` (stores and their backups), `0002-app` (application tier); and
 * the stores' restore Jobs in `restore/`, which that command does not read.
 */
export class EnvironmentApp extends App {
  /** The solution's name, as given in the props. */
  public readonly solution: string;
  /** The environment's name, as given in the props. */
  public readonly environment: string;
  /** The environment's Namespace (restricted Pod Security, default-deny NetworkPolicy), in `0000-namespace`. */
  public readonly namespace: AppNamespace;
  /** Chart of the data tier. */
  public readonly dataChart: Chart;
  /** Chart of the application tier. */
  public readonly appChart: Chart;

  constructor(props: EnvironmentAppProps) {
    super({ outdir: props.outdir });
    this.solution = props.solution;
    this.environment = props.environment;
    this.node.setContext(SOLUTION_CONTEXT_KEY, props.solution);
    this.node.setContext(ENVIRONMENT_CONTEXT_KEY, props.environment);
    this.node.setContext(VERSION_CONTEXT_KEY, props.version);
    this.node.setContext(PRODUCTION_CONTEXT_KEY, props.production);
    if (props.dnsPeers) this.node.setContext(DNS_PEERS_CONTEXT_KEY, props.dnsPeers);
    if (props.monitoring) this.node.setContext(MONITORING_CONTEXT_KEY, props.monitoring);
    if (props.backup) this.node.setContext(BACKUP_CONTEXT_KEY, props.backup);

    const namespaceChart = new Chart(this, 'namespace');
    this.namespace = new AppNamespace(namespaceChart, 'namespace', { name: props.namespace });
    this.dataChart = new Chart(this, 'data', { namespace: this.namespace.name });
    this.appChart = new Chart(this, 'app', { namespace: this.namespace.name });
    // Dependencies order the files (0000-, 0001-, 0002-) so one `kubectl apply -f` creates the namespace first.
    this.dataChart.addDependency(namespaceChart);
    this.appChart.addDependency(this.dataChart);
  }

  /**
   * Validates once, renders each object once and writes one file per chart (see synthesizeApp).
   * @throws PolicyViolationError when a policy rule or another validation fails; nothing is written
   */
  public override synth(): SynthResult {
    // README.md: the topology, capacity, runbook links and restore commands of this environment;
    // kubectl and Argo CD read only .yaml/.yml/.json, so it is never applied.
    return synthesizeApp(this, (objects) => ({ 'README.md': renderEnvironmentReadme(this, objects) }));
  }
}
