import { createHash } from 'crypto';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { readAsset } from '../assets';
import { BasicCredentials } from '../config/platform';
import { secureContainer } from '../container';
import { ResourceRequirements } from '../resources';
import { envFromSecret, SecretKeyRef } from '../secret-ref';
import { Policies } from '../policy';
import { httpProbe } from '../probes';
import { NetworkPeer, Workload } from '../workload';
import { FLUENT_BIT_HTTP_PORT, FLUENT_BIT_PATHS, fluentBitConfig } from './fluent-bit-config';
import { LogStore } from './log-store';

/** Props of {@link FluentBit}, from the resolved logging settings. */
export interface FluentBitProps {
  /** Fluent Bit image with a pinned release tag. */
  readonly image: string;
  /** curl image of the init container that waits for the index template. */
  readonly waitImage: string;
  /** CPU and memory of the fluent-bit container (the init container has its own small fixed size). */
  readonly resources: ResourceRequirements;
  /** The Elasticsearch written to: host, port and URL of the output and of the wait for the index template. */
  readonly store: LogStore;
  /** Its Elasticsearch user; the Secret is in the shipper's namespace. */
  readonly credentials: BasicCredentials;
  /** CA of Elasticsearch's certificate, in the shipper's namespace. @default - the image's public CAs */
  readonly caSecret?: SecretKeyRef;
  /** The data stream written. */
  readonly index: string;
  /** Disk buffer per node while Elasticsearch does not take logs, in MiB (`storage.total_limit_size`). */
  readonly bufferLimitMiB: number;
  /** The shipper's namespace, for the ClusterRoleBinding's subject. */
  readonly namespace: string;
  /** The Kubernetes API server's endpoints as pods reach them (kubernetes filter). */
  readonly apiServer: {
    /** IPv4 CIDRs of the API server endpoints: the DaemonSet's egress NetworkPolicy opens them. */
    readonly cidrs: readonly string[];
    /** Their port (6443 on most clusters), opened with the CIDRs. */
    readonly port: number;
  };
  /** A scope without namespace for the ClusterRole and its binding. */
  readonly clusterScope: Construct;
  /**
   * Name of the DaemonSet, its ConfigMap and ServiceAccount (the ClusterRole and its binding are
   * `<namespace>-<name>`): a Service name of at most 52 characters.
   * @default 'fluent-bit'
   */
  readonly name?: string;
}

/** Why the DaemonSet may mount hostPath volumes: the text of its `no-host-access` exemption. */
export const HOST_ACCESS_REASON = 'A log shipper reads the container log files of its node: /var/log read-only, and '
  + '/var/lib/fluent-bit (its read offsets and disk buffer) read-write, so a replaced pod neither loses nor repeats lines. '
  + 'No host network, PID, IPC or port.';

/** Why its fluent-bit container runs as root: the text of its `pod-security-restricted` exemption. */
export const RUN_AS_ROOT_REASON = 'The fluent-bit container runs as uid 0 because the node\'s container log files belong to '
  + 'root with mode 0640 (containerd) or 0600 (CRI-O); it keeps no capability (drop ALL), no privilege escalation, '
  + 'seccomp RuntimeDefault and a read-only root file system, and its init container runs as non-root.';

const WAIT_RESOURCES: ResourceRequirements = {
  requests: { cpu: '10m', memory: '16Mi' },
  limits: { cpu: '100m', memory: '32Mi' },
};
const SCRIPTS_DIR = '/scripts';

/**
 * Fluent Bit on every node (a DaemonSet tolerating every taint): tails the containers' log files,
 * adds pod metadata from the API server (the only workload of the product that calls the
 * Kubernetes API: get, list and watch pods and namespaces, through a ClusterRole), merges JSON log
 * lines and writes them to the log data stream in Elasticsearch. An init container holds it back
 * until the data stream's index template exists. Health and Prometheus metrics on port 2020.
 *
 * The exceptions it needs are exempted here, with their reasons, and nothing else: hostPath
 * volumes (`no-host-access`) and uid 0 for the fluent-bit container (`pod-security-restricted`).
 */
export class FluentBit extends Workload {
  /** The DaemonSet `<name>`: one pod on every node, tolerating every taint, rolled one node at a time. */
  public readonly daemonSet: k8s.KubeDaemonSet;
  /** ConfigMap `<name>`: fluent-bit.conf and the wait script; a change rolls the pods (checksum annotation). */
  public readonly configMap: k8s.KubeConfigMap;
  /** ClusterRole `<namespace>-<name>`: get, list and watch pods and namespaces, for the kubernetes filter. */
  public readonly clusterRole: k8s.KubeClusterRole;

  constructor(scope: Construct, id: string, props: FluentBitProps) {
    const tag = props.image.split(':').pop()!;
    super(scope, id, { name: props.name ?? 'fluent-bit', component: 'logging', version: tag, automountServiceAccountToken: true });

    const caFile = props.caSecret ? `${FLUENT_BIT_PATHS.elasticsearchCa}/ca.crt` : undefined;
    const config = fluentBitConfig({ host: props.store.host, port: props.store.port, index: props.index, caFile, bufferLimitMiB: props.bufferLimitMiB });
    this.configMap = new k8s.KubeConfigMap(this, 'ConfigMap', {
      metadata: { name: this.name, labels: { ...this.labels.labels } },
      data: {
        'fluent-bit.conf': config,
        'wait-for-index-template.sh': readAsset('lib/logging/wait-for-index-template.sh'),
      },
    });

    this.clusterRole = new k8s.KubeClusterRole(props.clusterScope, `${id}-ClusterRole`, {
      metadata: { name: `${props.namespace}-${this.name}`, labels: { ...this.labels.labels } },
      rules: [{ apiGroups: [''], resources: ['pods', 'namespaces'], verbs: ['get', 'list', 'watch'] }],
    });
    new k8s.KubeClusterRoleBinding(props.clusterScope, `${id}-ClusterRoleBinding`, {
      metadata: { name: `${props.namespace}-${this.name}`, labels: { ...this.labels.labels } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: this.clusterRole.name },
      subjects: [{ kind: 'ServiceAccount', name: this.serviceAccountName, namespace: props.namespace }],
    });

    const esEnv: k8s.EnvVar[] = [
      { name: 'ES_USERNAME', value: props.credentials.username },
      envFromSecret('ES_PASSWORD', props.credentials.passwordSecret),
    ];
    const caMount = props.caSecret ? [{ name: 'elasticsearch-ca', mountPath: FLUENT_BIT_PATHS.elasticsearchCa, readOnly: true }] : [];

    const wait = secureContainer({
      name: 'wait-for-index-template',
      image: props.waitImage,
      resources: WAIT_RESOURCES,
      command: ['sh', `${SCRIPTS_DIR}/wait-for-index-template.sh`],
      env: [
        { name: 'ES_URL', value: props.store.url },
        ...esEnv,
        { name: 'ES_INDEX_TEMPLATE', value: props.index },
        ...(caFile ? [{ name: 'ES_CA_FILE', value: caFile }] : []),
      ],
      volumeMounts: [{ name: 'config', mountPath: SCRIPTS_DIR, readOnly: true }, ...caMount],
    });

    const base = secureContainer({
      name: 'fluent-bit',
      image: props.image,
      resources: props.resources,
      command: ['/fluent-bit/bin/fluent-bit'],
      args: ['-c', `${FLUENT_BIT_PATHS.config}/fluent-bit.conf`],
      ports: [{ name: 'http', containerPort: FLUENT_BIT_HTTP_PORT }],
      env: esEnv,
      // Alive while its HTTP server answers; ready only while it delivers (no run of output errors).
      livenessProbe: httpProbe('/', 'http', { initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 6 }),
      readinessProbe: httpProbe('/api/v1/health', 'http', { periodSeconds: 10, failureThreshold: 3 }),
      volumeMounts: [
        { name: 'config', mountPath: FLUENT_BIT_PATHS.config, readOnly: true },
        { name: 'node-logs', mountPath: FLUENT_BIT_PATHS.nodeLogs, readOnly: true },
        { name: 'state', mountPath: FLUENT_BIT_PATHS.state },
        ...caMount,
      ],
    });
    // The one departure from "restricted": uid 0 to read root-owned log files (RUN_AS_ROOT_REASON).
    const fluentBit: k8s.Container = { ...base, securityContext: { ...base.securityContext, runAsNonRoot: false, runAsUser: 0, runAsGroup: 0 } };

    const podSpec = this.podSpec({
      initContainers: [wait],
      containers: [fluentBit],
      volumes: [
        { name: 'config', configMap: { name: this.configMap.name, defaultMode: 0o444 } },
        { name: 'node-logs', hostPath: { path: '/var/log', type: 'Directory' } },
        { name: 'state', hostPath: { path: FLUENT_BIT_PATHS.state, type: 'DirectoryOrCreate' } },
        ...(props.caSecret ? [{ name: 'elasticsearch-ca', secret: { secretName: props.caSecret.name, defaultMode: 0o444, items: [{ key: props.caSecret.key, path: 'ca.crt' }] } }] : []),
      ],
      spread: false,
    });

    this.daemonSet = new k8s.KubeDaemonSet(this, 'DaemonSet', {
      metadata: { name: this.name, labels: { ...this.labels.labels } },
      spec: {
        selector: { matchLabels: { ...this.labels.selectorLabels } },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(1) } },
        template: {
          // A changed configuration rolls the pods: Fluent Bit reads it only at start.
          metadata: this.podMetadata({ 'checksum/config': createHash('sha256').update(config).digest('hex').slice(0, 16) }),
          // Every node, control plane and tainted nodes included: their pods log too.
          spec: { ...podSpec, tolerations: [{ operator: 'Exists' }] },
        },
      },
    });
    Policies.exempt(this.daemonSet, 'no-host-access', HOST_ACCESS_REASON);
    Policies.exempt(this.daemonSet, 'pod-security-restricted', RUN_AS_ROOT_REASON);

    for (const cidr of props.apiServer.cidrs) this.allowEgressTo(NetworkPeer.cidr(cidr), props.apiServer.port);
    this.addMetricsEndpoint({ portName: 'http', port: FLUENT_BIT_HTTP_PORT, path: '/api/v1/metrics/prometheus' });
  }
}
