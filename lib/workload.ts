import { Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { PodMonitor } from '../imports/podmonitor-monitoring.coreos.com';
import { LABEL_NAME, StandardLabels } from './labels';
import { AlertRules } from './observability/alert-rules';
import { monitoringOf } from './observability/monitoring-settings';
import { RuleGroup } from './observability/rules';
import { Validator } from './validation';

/** Where a workload is reached: a Service of the same namespace, and the pods behind it. */
export interface ServiceEndpoint {
  /** The Service name, which is also its DNS name inside the namespace. */
  readonly host: string;
  /** The Service port clients use. */
  readonly port: number;
  /** The container port behind the Service (what a NetworkPolicy must open). */
  readonly targetPort: number;
  /** The workload whose pods serve the endpoint. */
  readonly workload: Workload;
}

/** The address NodeLocal DNSCache listens on unless the cluster chose another. */
export const NODE_LOCAL_DNS_ADDRESS = '169.254.20.10';

/** A peer outside the workload graph: another namespace, or addresses outside the cluster. */
export class NetworkPeer {
  /**
   * Pods of an ingress controller.
   * @param namespace namespace the controller runs in
   */
  public static ingressController(namespace = 'ingress-nginx'): NetworkPeer {
    return new NetworkPeer(`ingress controller (namespace ${namespace})`, {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
    });
  }

  /** Alertmanager in its namespace, posting notifications to webhook receivers. */
  public static alertmanager(namespace = 'monitoring'): NetworkPeer {
    return new NetworkPeer(`alertmanager (namespace ${namespace})`, {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'alertmanager' } },
    });
  }

  /** Prometheus scraping from its namespace. */
  public static prometheus(namespace = 'monitoring'): NetworkPeer {
    return new NetworkPeer(`prometheus (namespace ${namespace})`, {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
    });
  }

  /** Any address: clients of a LoadBalancer Service, or an external service reached by egress. */
  public static anywhere(): NetworkPeer {
    return new NetworkPeer('anywhere', { ipBlock: { cidr: '0.0.0.0/0' } });
  }

  /** An address range, e.g. an object-storage endpoint outside the cluster. */
  public static cidr(cidr: string): NetworkPeer {
    return new NetworkPeer(`cidr ${cidr}`, { ipBlock: { cidr } });
  }

  /**
   * The cluster DNS pods (CoreDNS or kube-dns; both carry `k8s-app: kube-dns`).
   * @param namespace namespace they run in
   */
  public static kubeDns(namespace = 'kube-system'): NetworkPeer {
    return new NetworkPeer(`kube-dns (namespace ${namespace})`, {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
      podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
    });
  }

  /**
   * NodeLocal DNSCache: a cache on every node that pods reach at a link-local address, which no
   * pod selector matches.
   * @param address the address the cache listens on
   */
  public static nodeLocalDnsCache(address = NODE_LOCAL_DNS_ADDRESS): NetworkPeer {
    return NetworkPeer.cidr(`${address}/32`);
  }

  /**
   * @param description - The peer in words (`prometheus (namespace monitoring)`), for errors and the README.
   * @param peer - The NetworkPolicy `from`/`to` entry that matches it: selectors or an `ipBlock`.
   */
  private constructor(
    /** The peer in words (`prometheus (namespace monitoring)`), for errors and the README. */
    public readonly description: string,
    /** The NetworkPolicy `from`/`to` entry that matches it: selectors or an `ipBlock`. */
    public readonly peer: k8s.NetworkPolicyPeer,
  ) {}
}

/**
 * Where pods resolve names unless told otherwise: the kube-dns pods, and NodeLocal DNSCache for
 * clusters that run it (the kubelet then points pods at 169.254.20.10, and queries to the
 * kube-dns pods alone would be dropped).
 */
export const DEFAULT_DNS_PEERS: readonly NetworkPeer[] = [NetworkPeer.kubeDns(), NetworkPeer.nodeLocalDnsCache()];

/**
 * Construct context key holding the DNS peers (`NetworkPeer[]`) of every workload below the scope
 * it is set on: `app.node.setContext(DNS_PEERS_CONTEXT_KEY, [...])` before the charts are created.
 */
export const DNS_PEERS_CONTEXT_KEY = 'ai-platform/dns-peers';

/** One allowed connection, kept on both ends so each NetworkPolicy can be derived from the graph. */
export interface Connection {
  /** The other end: a workload of this namespace, or an outside peer. */
  readonly peer: Workload | NetworkPeer;
  /** TCP port on the receiving pods. */
  readonly port: number;
}

/** What every pod-running construct passes to {@link Workload}: its name, labels, pod user and DNS peers. */
export interface WorkloadProps {
  /**
   * Name of the workload's objects (Deployment or StatefulSet, Service, ServiceAccount, PDB,
   * NetworkPolicy): a Service name (RFC 1035 label) of at most 52 characters.
   * @default - the construct id
   */
  readonly name?: string;
  /** The tier, for the `app.kubernetes.io/component` label (`api`, `web`, `ai`, `database`, ...). */
  readonly component: string;
  /** The version that runs, for the `app.kubernetes.io/version` label: usually the image tag. */
  readonly version: string;
  /**
   * User id the pods run as. Images with a fixed user (mysql, postgres, redis: 999) pass theirs.
   * @default 10001
   */
  readonly runAsUser?: number;
  /**
   * Mount the ServiceAccount token: only for workloads that call the Kubernetes API.
   * @default false
   */
  readonly automountServiceAccountToken?: boolean;
  /**
   * Where the pods send DNS queries (UDP and TCP 53): the peers of the DNS rule that heads every
   * egress policy. Add a peer for a managed DNS service, e.g. `NetworkPeer.cidr('169.254.169.254/32')`.
   * @default - the context value {@link DNS_PEERS_CONTEXT_KEY} if set, else {@link DEFAULT_DNS_PEERS}
   *   (the kube-dns pods in kube-system and NodeLocal DNSCache at 169.254.20.10)
   */
  readonly dnsPeers?: readonly NetworkPeer[];
}

/** A metrics endpoint of a workload's pods (see {@link Workload.addMetricsEndpoint}). */
export interface MetricsEndpointOptions {
  /** Name of the container port serving metrics (`metrics`, or `http` for the app tier). */
  readonly portName: string;
  /** Its number, for the NetworkPolicy. */
  readonly port: number;
  /**
   * HTTP path Prometheus scrapes: the PodMonitor endpoint's `path`.
   * @default '/metrics'
   */
  readonly path?: string;
  /** Scrape interval in seconds. @default - Prometheus' own (30s in kube-prometheus-stack) */
  readonly intervalSeconds?: number;
  /** Name of the PodMonitor. @default - the workload's name */
  readonly name?: string;
  /** Pod labels copied onto every scraped series (`rollouts-pod-template-hash`). @default - none */
  readonly podTargetLabels?: string[];
}

/** What {@link Workload.podSpec} assembles into a restricted pod. */
export interface PodSpecOptions {
  /** The pod's containers, usually from `secureContainer()`; their `secretKeyRef`s are recorded in `secretKeyRefs`. */
  readonly containers: k8s.Container[];
  /**
   * Containers run to completion, in order, before `containers` start; their `secretKeyRef`s are
   * recorded too.
   * @default - none
   */
  readonly initContainers?: k8s.Container[];
  /**
   * The pod's volumes, which the containers mount by name through their `volumeMounts`.
   * @default - none
   */
  readonly volumes?: k8s.Volume[];
  /**
   * Spread the pods over nodes and zones (replicated workloads).
   * @default true
   */
  readonly spread?: boolean;
  /**
   * Seconds a pod has between SIGTERM and SIGKILL to finish its work (`terminationGracePeriodSeconds`).
   * @default 30
   */
  readonly terminationGracePeriodSeconds?: number;
  /**
   * The pod's `restartPolicy`: `Always`, `OnFailure` or `Never` (Jobs must not use `Always`).
   * @default 'Always'
   */
  readonly restartPolicy?: string;
}

/**
 * Base of every construct that runs pods. It owns the workload's whole operational surface in one
 * place: labels, ServiceAccount, restricted pod security, topology spread, PodDisruptionBudget and
 * the NetworkPolicy derived from the connections other constructs declare with {@link Workload.connectTo}.
 * Monitoring and backup constructs attach here too.
 */
export abstract class Workload extends Construct {
  /** Name of the workload's objects. */
  public readonly name: string;
  /** The standard labels of its objects and pods, and the selector labels its Service, PDB and policies use. */
  public readonly labels: StandardLabels;
  /** The ServiceAccount its pods run as: one per workload, named like it, token not mounted unless asked for. */
  public readonly serviceAccountName: string;
  /** Connections this workload accepts (NetworkPolicy ingress). */
  public readonly ingress: Connection[] = [];
  /** Connections this workload opens (NetworkPolicy egress, besides DNS). */
  public readonly egress: Connection[] = [];
  /** Secret keys its pods read through `secretKeyRef`, recorded by {@link Workload.podSpec}. */
  public readonly secretKeyRefs: {
    /** Name of the Secret in the workload's namespace. */
    readonly name: string;
    /** Key inside the Secret. */
    readonly key: string;
  }[] = [];
  /** The metrics endpoints {@link Workload.addMetricsEndpoint} declared. */
  public readonly metricsEndpoints: MetricsEndpointOptions[] = [];
  /** Checks props and names them `<solution>/<env>: <id>.<field>` in errors. */
  protected readonly validator: Validator;
  private readonly runAsUser: number;
  private readonly automountToken: boolean;
  /** Peers of the DNS egress rule. */
  private readonly dnsPeers: readonly NetworkPeer[];
  private disruptionBudget?: k8s.KubePodDisruptionBudget;

  constructor(scope: Construct, id: string, props: WorkloadProps) {
    super(scope, id);
    this.validator = Validator.of(this, id);
    this.name = this.validator.serviceName('name', props.name ?? id, 52);
    this.runAsUser = this.validator.integer('runAsUser', props.runAsUser ?? 10001, 1, 2147483647);
    this.automountToken = props.automountServiceAccountToken ?? false;
    this.dnsPeers = validateDnsPeers(this.validator, props.dnsPeers ?? this.node.tryGetContext(DNS_PEERS_CONTEXT_KEY) ?? DEFAULT_DNS_PEERS);
    this.labels = new StandardLabels(this, { name: this.name, component: props.component, version: props.version });
    this.serviceAccountName = this.name;

    new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: { name: this.name, labels: { ...this.labels.labels } },
      automountServiceAccountToken: this.automountToken,
    });

    new k8s.KubeNetworkPolicy(this, 'NetworkPolicy', {
      metadata: { name: this.name, labels: { ...this.labels.labels } },
      spec: Lazy.any({ produce: () => this.networkPolicySpec() }) as unknown as k8s.NetworkPolicySpec,
    });
  }

  /**
   * Declares that this workload connects to `endpoint`: opens egress here and ingress there.
   * @returns the endpoint, for chaining into configuration
   */
  public connectTo(endpoint: ServiceEndpoint): ServiceEndpoint {
    this.addEgress(endpoint.workload, endpoint.targetPort);
    endpoint.workload.addIngress(this, endpoint.targetPort);
    return endpoint;
  }

  /** Accepts connections from a peer outside the workload graph (ingress controller, Prometheus, clients). */
  public allowIngressFrom(peer: NetworkPeer, port: number): void {
    this.addIngress(peer, port);
  }

  /** Opens connections to a peer outside the workload graph (an external S3 endpoint). */
  public allowEgressTo(peer: NetworkPeer, port: number): void {
    this.addEgress(peer, port);
  }

  /** Pods of this workload talk to each other (cluster members: Redis, etcd, Kafka). */
  public allowPeers(port: number): void {
    this.addIngress(this, port);
    this.addEgress(this, port);
  }

  /**
   * Has Prometheus scrape every pod of this workload: a PodMonitor on the named container port (the
   * same name the container declares, so the endpoint can never point at a wrong port), with the
   * monitoring discovery labels and `job` = the workload's name, and an ingress rule that lets the
   * monitoring namespace's Prometheus, and only it, reach that port.
   */
  public addMetricsEndpoint(options: MetricsEndpointOptions): PodMonitor {
    const monitoring = monitoringOf(this);
    const name = options.name ?? this.name;
    this.allowIngressFrom(NetworkPeer.prometheus(monitoring.namespace), options.port);
    const monitor = new PodMonitor(this, `PodMonitor-${options.portName}`, {
      metadata: { name, labels: { ...this.labels.labels, ...monitoring.discoveryLabels } },
      spec: {
        jobLabel: LABEL_NAME,
        podTargetLabels: options.podTargetLabels,
        selector: { matchLabels: { ...this.labels.selectorLabels } },
        podMetricsEndpoints: [{
          port: options.portName,
          path: options.path ?? '/metrics',
          interval: options.intervalSeconds ? `${options.intervalSeconds}s` : undefined,
        }],
      },
    });
    this.metricsEndpoints.push({ ...options, name });
    return monitor;
  }

  /** The rules that watch this workload, as one PrometheusRule `<name>-rules` per call of a group set. */
  public addAlertRules(groups: readonly RuleGroup[], options: { readonly name?: string } = {}): AlertRules {
    return new AlertRules(this, `AlertRules-${options.name ?? 'rules'}`, { name: options.name ?? `${this.name}-rules`, groups, component: 'monitoring' });
  }

  /** The PodDisruptionBudget, if {@link Workload.addDisruptionBudget} made one. */
  public get podDisruptionBudget(): k8s.KubePodDisruptionBudget | undefined {
    return this.disruptionBudget;
  }

  /**
   * Keeps all but `maxUnavailable` pods running through voluntary disruptions (node drains).
   * Replicated workloads call it when they run more than one pod.
   */
  protected addDisruptionBudget(maxUnavailable = 1): k8s.KubePodDisruptionBudget {
    this.disruptionBudget = new k8s.KubePodDisruptionBudget(this, 'PodDisruptionBudget', {
      metadata: { name: this.name, labels: { ...this.labels.labels } },
      spec: {
        maxUnavailable: k8s.IntOrString.fromNumber(maxUnavailable),
        selector: { matchLabels: { ...this.labels.selectorLabels } },
      },
    });
    return this.disruptionBudget;
  }

  /** Pod template metadata: the standard labels plus extra annotations (config checksums). */
  protected podMetadata(annotations?: Record<string, string>): k8s.ObjectMeta {
    return { labels: { ...this.labels.labels }, annotations };
  }

  /** A pod spec that meets the Pod Security Standard "restricted" and spreads over nodes and zones. */
  protected podSpec(options: PodSpecOptions): k8s.PodSpec {
    const spread = options.spread ?? true;
    for (const container of [...(options.initContainers ?? []), ...options.containers]) {
      for (const env of container.env ?? []) {
        const ref = env.valueFrom?.secretKeyRef;
        if (ref?.name && !this.secretKeyRefs.some((r) => r.name === ref.name && r.key === ref.key)) {
          this.secretKeyRefs.push({ name: ref.name, key: ref.key });
        }
      }
    }
    return {
      serviceAccountName: this.serviceAccountName,
      automountServiceAccountToken: this.automountToken,
      enableServiceLinks: false,
      restartPolicy: options.restartPolicy,
      terminationGracePeriodSeconds: options.terminationGracePeriodSeconds ?? 30,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: this.runAsUser,
        runAsGroup: this.runAsUser,
        fsGroup: this.runAsUser,
        fsGroupChangePolicy: 'OnRootMismatch',
        seccompProfile: { type: 'RuntimeDefault' },
      },
      topologySpreadConstraints: spread ? this.topologySpread() : undefined,
      initContainers: options.initContainers,
      containers: options.containers,
      volumes: options.volumes,
    };
  }

  private topologySpread(): k8s.TopologySpreadConstraint[] {
    const labelSelector = { matchLabels: { ...this.labels.selectorLabels } };
    return [
      { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector },
      { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector },
    ];
  }

  private addIngress(peer: Workload | NetworkPeer, port: number): void {
    if (!this.ingress.some((c) => samePeer(c.peer, peer) && c.port === port)) this.ingress.push({ peer, port });
  }

  private addEgress(peer: Workload | NetworkPeer, port: number): void {
    if (!this.egress.some((c) => samePeer(c.peer, peer) && c.port === port)) this.egress.push({ peer, port });
  }

  private networkPolicySpec(): k8s.NetworkPolicySpec {
    const dns: k8s.NetworkPolicyEgressRule = {
      to: this.dnsPeers.map((peer) => peer.peer),
      ports: [
        { protocol: 'UDP', port: k8s.IntOrString.fromNumber(53) },
        { protocol: 'TCP', port: k8s.IntOrString.fromNumber(53) },
      ],
    };
    return {
      podSelector: { matchLabels: { ...this.labels.selectorLabels } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: groupByPeer(this.ingress).map(({ peer, ports }) => ({ from: [peerOf(peer)], ports: tcpPorts(ports) })),
      egress: [dns, ...groupByPeer(this.egress).map(({ peer, ports }) => ({ to: [peerOf(peer)], ports: tcpPorts(ports) }))],
    };
  }
}

/** DNS peers must be a non-empty list of {@link NetworkPeer}s with valid IPv4 CIDRs. */
function validateDnsPeers(v: Validator, peers: unknown): readonly NetworkPeer[] {
  if (!Array.isArray(peers) || peers.length === 0 || !peers.every((p) => p instanceof NetworkPeer)) {
    v.fail('dnsPeers', 'a non-empty list of NetworkPeer (NetworkPeer.kubeDns(), NetworkPeer.nodeLocalDnsCache(), NetworkPeer.cidr(...))', peers);
  }
  peers.forEach((peer: NetworkPeer, i) => {
    const cidr = peer.peer.ipBlock?.cidr;
    if (cidr !== undefined) v.ipv4Cidr(`dnsPeers[${i}]`, cidr);
  });
  return [...peers];
}

/** Workloads are the same peer when they are the same object; outside peers when they describe the same thing. */
function samePeer(a: Workload | NetworkPeer, b: Workload | NetworkPeer): boolean {
  if (a instanceof NetworkPeer && b instanceof NetworkPeer) return a.description === b.description;
  return a === b;
}

function peerOf(peer: Workload | NetworkPeer): k8s.NetworkPolicyPeer {
  return peer instanceof NetworkPeer ? peer.peer : { podSelector: { matchLabels: { ...peer.labels.selectorLabels } } };
}

function tcpPorts(ports: number[]): k8s.NetworkPolicyPort[] {
  return [...ports].sort((a, b) => a - b).map((port) => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) }));
}

function groupByPeer(connections: Connection[]): { peer: Workload | NetworkPeer; ports: number[] }[] {
  const groups: { peer: Workload | NetworkPeer; ports: number[] }[] = [];
  for (const c of connections) {
    const group = groups.find((g) => samePeer(g.peer, c.peer));
    if (group) group.ports.push(c.port);
    else groups.push({ peer: c.peer, ports: [c.port] });
  }
  return groups;
}
