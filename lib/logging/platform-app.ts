import { join } from 'path';
import { App, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { LoggingSettings, platform, PlatformSettings, ResolvedLogging, resolveLogging } from '../config/platform';
import { AppNamespace } from '../namespace';
import { MONITORING_CONTEXT_KEY } from '../observability/monitoring-settings';
import { Policies } from '../policy';
import { dnsPeersOf } from '../dns-peers';
import { SynthResult, synthesizeApp } from '../synth-app';
import { ENVIRONMENT_CONTEXT_KEY, PRODUCTION_CONTEXT_KEY, SOLUTION_CONTEXT_KEY, VERSION_CONTEXT_KEY } from '../validation';
import { DNS_PEERS_CONTEXT_KEY, NetworkPeer, Workload } from '../workload';
import { EckElasticsearch } from './eck-elasticsearch';
import { FluentBit } from './fluent-bit';
import { HostAccessNamespace } from './host-access-namespace';
import { LogRetention } from './log-retention';
import { LogStore, podsIn } from './log-store';

/** The folder of the platform below the output folder, and the names in its labels and messages. */
export const PLATFORM_FOLDER = 'platform';
/** The logging part's folder below `platform/` (`<outdir>/platform/logging`), and its name in labels and messages. */
export const LOGGING_PART = 'logging';

/** Why the shipper's namespace enforces "privileged": its Namespace annotation. */
export const LOGGING_NAMESPACE_REASON = 'Fluent Bit reads the nodes\' container log files through hostPath volumes, which '
  + 'Pod Security "baseline" and "restricted" refuse; "restricted" is still audited and warned. Nothing else runs here.';

/** Props of {@link PlatformApp}. */
export interface PlatformAppProps {
  /** The logging settings with every default applied and checked ({@link resolveLogging}). */
  readonly settings: ResolvedLogging;
  /** Folder written: `<outdir>/platform/logging`. */
  readonly outdir: string;
}

/**
 * The cluster's logging platform, written to its own folder as files that `kubectl apply -f`
 * applies in order: `0000-namespace` (the two namespaces, their default-deny policies, the
 * shipper's ClusterRole), `0001-store` (Elasticsearch and Kibana or nothing for an external
 * endpoint, and the retention Job), `0002-shipper` (Fluent Bit).
 */
export class PlatformApp extends App {
  /** The resolved settings it was built from. */
  public readonly settings: ResolvedLogging;
  /** Chart `0000-namespace`: the two namespaces, their default-deny policies, the shipper's ClusterRole and binding. */
  public readonly namespaceChart: Chart;
  /** Chart `0001-store`, in the store namespace: ECK's Elasticsearch and Kibana (if any) and the retention Job. */
  public readonly storeChart: Chart;
  /** Chart `0002-shipper`, in the shipper's namespace: Fluent Bit. */
  public readonly shipperChart: Chart;
  /** The Elasticsearch the shipper and the retention Job reach: ECK's, or the external endpoint. */
  public readonly store: LogStore;
  /** Elasticsearch and Kibana by ECK; undefined for an external Elasticsearch. */
  public readonly eck?: EckElasticsearch;
  /** The Job installing the ILM policy, index template and writer role. */
  public readonly retention: LogRetention;
  /** The log shipper DaemonSet. */
  public readonly fluentBit: FluentBit;

  constructor(props: PlatformAppProps) {
    super({ outdir: props.outdir });
    const s = props.settings;
    this.settings = s;
    this.node.setContext(SOLUTION_CONTEXT_KEY, PLATFORM_FOLDER);
    this.node.setContext(ENVIRONMENT_CONTEXT_KEY, LOGGING_PART);
    this.node.setContext(VERSION_CONTEXT_KEY, s.shipper.image.split(':').pop()!);
    // It serves every environment, production ones included.
    this.node.setContext(PRODUCTION_CONTEXT_KEY, true);
    const dnsPeers = dnsPeersOf(s.dns);
    if (dnsPeers) this.node.setContext(DNS_PEERS_CONTEXT_KEY, dnsPeers);
    if (s.monitoring) this.node.setContext(MONITORING_CONTEXT_KEY, s.monitoring);

    this.namespaceChart = new Chart(this, 'namespace');
    const shipperNamespace = new HostAccessNamespace(this.namespaceChart, 'shipperNamespace', { name: s.namespace, reason: LOGGING_NAMESPACE_REASON });
    const storeNamespace = new AppNamespace(this.namespaceChart, 'storeNamespace', { name: s.storeNamespace });
    this.storeChart = new Chart(this, 'store', { namespace: storeNamespace.name });
    this.shipperChart = new Chart(this, 'shipper', { namespace: shipperNamespace.name });
    this.storeChart.addDependency(this.namespaceChart);
    this.shipperChart.addDependency(this.storeChart);

    if (s.eck) {
      this.eck = new EckElasticsearch(this.storeChart, 'elasticsearch', { settings: s.eck, namespace: s.storeNamespace });
      this.store = this.eck.store;
    } else {
      const external = s.external!;
      const url = new URL(external.url);
      const port = Number(url.port || 443);
      this.store = {
        host: url.hostname,
        port,
        url: `https://${url.hostname}:${port}`,
        peers: external.cidrs.map((cidr) => NetworkPeer.cidr(cidr).peer),
        setupCredentials: external.setupCredentials,
        setupCaSecret: external.caSecret,
      };
    }

    this.retention = new LogRetention(this.storeChart, 'retention', {
      store: this.store,
      image: s.setupImage,
      indexName: s.indexName,
      retentionDays: s.retentionDays,
      replicas: (this.store.dataNodes ?? 2) > 1 ? 1 : 0,
    });
    this.fluentBit = new FluentBit(this.shipperChart, 'fluentBit', {
      image: s.shipper.image,
      waitImage: s.setupImage,
      resources: s.shipper.resources,
      store: this.store,
      credentials: s.shipper.credentials,
      caSecret: s.shipper.caSecret,
      index: s.indexName,
      bufferLimitMiB: s.shipper.bufferLimitMiB,
      namespace: s.namespace,
      apiServer: s.apiServer,
      clusterScope: this.namespaceChart,
    });

    for (const [workload, namespace] of [[this.retention, s.storeNamespace], [this.fluentBit, s.namespace]] as const) {
      allowEgressToStore(workload, this.store);
      this.eck?.allowClient(podsIn(namespace, workload.labels.selectorLabels));
    }
    Policies.enforce(this);
  }

  /**
   * Validates once, renders each object once and writes one file per chart, as the environments'
   * apps do (see synthesizeApp).
   * @throws PolicyViolationError when a policy rule or another validation fails; nothing is written
   */
  public override synth(): SynthResult {
    return synthesizeApp(this);
  }
}

/**
 * The cluster's platform as the coordinator's synth calls it: settings checked (every problem at
 * once, as a ConfigError of `platform/logging: ...` lines), then built to write
 * `<outdir>/platform/logging/` on `synth()`.
 * @throws ConfigError when a setting is wrong
 */
export function buildPlatform(outdir: string, settings: PlatformSettings = platform): PlatformApp {
  return buildLogging(outdir, settings.logging);
}

/** {@link buildPlatform} for the logging part alone. */
export function buildLogging(outdir: string, logging: LoggingSettings): PlatformApp {
  const resolved = resolveLogging(logging);
  return new PlatformApp({ settings: resolved, outdir: join(outdir, PLATFORM_FOLDER, LOGGING_PART) });
}

/**
 * Egress from the workload to Elasticsearch, as a second policy of its pods (NetworkPolicies add
 * up): the ECK pods live in another namespace or are not a Workload, which a Workload's own
 * connections cannot name.
 */
function allowEgressToStore(workload: Workload, store: LogStore): void {
  new k8s.KubeNetworkPolicy(workload, 'ElasticsearchEgress', {
    metadata: { name: `${workload.name}-to-elasticsearch`, labels: { ...workload.labels.labels } },
    spec: {
      podSelector: { matchLabels: { ...workload.labels.selectorLabels } },
      policyTypes: ['Egress'],
      egress: [{ to: [...store.peers], ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(store.port) }] }],
    },
  });
}

