import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { ApiObject, App, Chart, DependencyGraph } from 'cdk8s';
import { manifestYamlDocuments } from '../manifest-yaml';
import { AppNamespace } from '../namespace';
import { EnvironmentMonitoringSettings } from '../observability/environment-monitoring-settings';
import { MONITORING_CONTEXT_KEY } from '../observability/monitoring-settings';
import { PolicyViolationError } from '../policy/policy-violation-error';
import { renderOnce, withRenderCache } from '../render-cache';
import { ENVIRONMENT_CONTEXT_KEY, PRODUCTION_CONTEXT_KEY, SOLUTION_CONTEXT_KEY, VERSION_CONTEXT_KEY } from '../validation';
import { DNS_PEERS_CONTEXT_KEY, NetworkPeer } from '../workload';

/** What one environment's synth wrote. */
export interface SynthResult {
  /** The folder written: `<outdir>/<solution>/<environment>`. */
  readonly outdir: string;
  /** YAML files written. */
  readonly files: number;
  /** Kubernetes objects in them. */
  readonly objects: number;
}

export interface EnvironmentAppProps {
  readonly solution: string;
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
  /** @default - the monitoring defaults (see MonitoringSettings) */
  readonly monitoring?: EnvironmentMonitoringSettings;
  /** Folder the YAML files are written to: dist/<solution>/<environment>. */
  readonly outdir: string;
}

/**
 * One solution in one environment, synthesized into its own folder as three files that
 * `kubectl apply -f <folder>` applies in order: `0000-namespace` (the Namespace and its
 * default-deny policy), `0001-data` (stores), `0002-app` (application tier).
 */
export class EnvironmentApp extends App {
  public readonly solution: string;
  public readonly environment: string;
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

    const namespaceChart = new Chart(this, 'namespace');
    this.namespace = new AppNamespace(namespaceChart, 'namespace', { name: props.namespace });
    this.dataChart = new Chart(this, 'data', { namespace: this.namespace.name });
    this.appChart = new Chart(this, 'app', { namespace: this.namespace.name });
    // Dependencies order the files (0000-, 0001-, 0002-) so one `kubectl apply -f` creates the namespace first.
    this.dataChart.addDependency(namespaceChart);
    this.appChart.addDependency(this.dataChart);
  }

  /**
   * Writes what cdk8s' FILE_PER_CHART output writes (`0000-<chart>.k8s.yaml`, charts in dependency
   * order, objects in construct-dependency order), but validates the App once (cdk8s' own synth
   * runs every validation, the policy engine's included, again for each chart), renders each object
   * once, and writes it with the manifest YAML writer (lib/manifest-yaml.ts).
   * @throws PolicyViolationError when a policy rule or another validation fails; nothing is written
   */
  public override synth(): SynthResult {
    // One rendering of every object, shared by the policy check (a validation) and the writer.
    return withRenderCache(this, () => this.validateAndWrite());
  }

  private validateAndWrite(): SynthResult {
    const errors = this.node.findAll().flatMap((c) => c.node.validate().map((e) => `[${c.node.path}] ${e}`));
    if (errors.length > 0) throw new PolicyViolationError(errors);
    mkdirSync(this.outdir, { recursive: true });
    let objectCount = 0;
    this.charts.forEach((chart, index) => {
      const objects = new DependencyGraph(chart.node).topology()
        .filter((c): c is ApiObject => ApiObject.isApiObject(c) && Chart.of(c) === chart)
        .map(renderOnce);
      objectCount += objects.length;
      writeFileSync(join(this.outdir, `${String(index).padStart(4, '0')}-${chart.node.id}.k8s.yaml`), manifestYamlDocuments(objects));
    });
    return { outdir: this.outdir, files: this.charts.length, objects: objectCount };
  }
}
