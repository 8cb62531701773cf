import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { BackupRepository, StoreBackup } from '../../backup';
import { addEtcdBackup } from './etcd-backup';
import { secureContainer } from '../../container';
import { ResourceRequirements } from '../../resources';
import { METRICS_PORT_NAME } from '../../observability/exporters/exporter';
import { httpProbe } from '../../probes';
import { ServiceEndpoint } from '../../workload';
import { StatefulWorkload } from '../stateful-workload';
import { StorageOptions } from '../storage';
import { tagOf } from './defaults';
import { ETCD_PORTS } from './ports';

/** The etcd of one Milvus, as the Milvus constructs resolve it from `MilvusCommonProps` (`etcd*` fields). */
export interface MilvusEtcdProps {
  /** Name of the StatefulSet and of the client Service; the headless Service is `<name>-headless`. */
  readonly name: string;
  /** Pinned etcd image, 3.5.11 or later (the /livez and /readyz probes). */
  readonly image: string;
  /** Members, odd (checked by the Milvus construct). */
  readonly replicas: number;
  /**
   * Each member's volume (claim template `data`, mounted at /var/lib/etcd); at least 5Gi, checked by
   * the Milvus construct. Also the scratch size of the backup and restore-test Jobs.
   */
  readonly storage: StorageOptions;
  /** Requests and limits of each member's `etcd` container. */
  readonly resources: ResourceRequirements;
}

const DATA_DIR = '/var/lib/etcd';

/**
 * The etcd cluster that holds Milvus's metadata and service sessions: a StatefulSet whose members
 * find each other through a headless Service, each with its own volume. The official image is
 * distroless (no shell), so each member's identity comes from `$(POD_NAME)` expansion, not a script.
 *
 * The member list is fixed at bootstrap (`--initial-cluster`); a member that restarts keeps its
 * identity from its data directory. Changing the member count of a running cluster also needs
 * `etcdctl member add/remove`.
 */
export class MilvusEtcd extends StatefulWorkload {
  /** `<name>:2379`, the client Service Milvus's `etcd.endpoints` names. */
  public readonly endpoint: ServiceEndpoint;
  /** Members' peer URLs, the value of `--initial-cluster`. */
  public readonly initialCluster: string;
  /** The members' StatefulSet `<name>`: parallel start, claims retained and never pruned by Argo CD. */
  public readonly statefulSet: k8s.KubeStatefulSet;
  /** `<name>-headless`: gives each member its peer DNS name `<name>-<i>.<name>-headless`, ready or not. */
  public readonly headlessServiceName: string;
  /** Milvus' metadata backups: undefined where the environment has no backup settings. */
  public readonly backup?: StoreBackup;

  constructor(scope: Construct, id: string, props: MilvusEtcdProps) {
    super(scope, id, { name: props.name, component: 'metadata-store', version: tagOf(props.image) });
    this.headlessServiceName = `${this.name}-headless`;
    const peerUrl = (member: string) => `http://${member}.${this.headlessServiceName}:${ETCD_PORTS.peer}`;
    this.initialCluster = Array.from({ length: props.replicas }, (_, i) => `${this.name}-${i}=${peerUrl(`${this.name}-${i}`)}`).join(',');

    const container = secureContainer({
      name: 'etcd',
      image: props.image,
      resources: props.resources,
      command: ['/usr/local/bin/etcd'],
      args: [
        '--name=$(POD_NAME)',
        `--data-dir=${DATA_DIR}/data`,
        `--listen-client-urls=http://0.0.0.0:${ETCD_PORTS.client}`,
        `--advertise-client-urls=http://$(POD_NAME).${this.headlessServiceName}:${ETCD_PORTS.client}`,
        `--listen-peer-urls=http://0.0.0.0:${ETCD_PORTS.peer}`,
        `--initial-advertise-peer-urls=${peerUrl('$(POD_NAME)')}`,
        `--listen-metrics-urls=http://0.0.0.0:${ETCD_PORTS.metrics}`,
        `--initial-cluster=${this.initialCluster}`,
        '--initial-cluster-state=new',
        `--initial-cluster-token=${this.name}`,
        // Milvus's recommended settings (milvus-helm, docker-compose): compact old revisions,
        // a 4 GiB backend quota, and timings that tolerate slow cloud disks.
        '--auto-compaction-mode=revision',
        '--auto-compaction-retention=1000',
        '--quota-backend-bytes=4294967296',
        '--snapshot-count=50000',
        '--heartbeat-interval=500',
        '--election-timeout=2500',
      ],
      env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
      ports: [
        { name: 'client', containerPort: ETCD_PORTS.client },
        { name: 'peer', containerPort: ETCD_PORTS.peer },
        { name: METRICS_PORT_NAME, containerPort: ETCD_PORTS.metrics },
      ],
      // etcd >= 3.5.11 probes (as kubeadm uses them): /livez asks only the member itself, since
      // restarting a member never brings back a lost leader; /readyz needs the quorum, so a member
      // cut off from the majority stops receiving clients but is not restarted.
      startupProbe: httpProbe('/livez', METRICS_PORT_NAME, { initialDelaySeconds: 0, periodSeconds: 10, failureThreshold: 30 }),
      livenessProbe: httpProbe('/livez', METRICS_PORT_NAME, { initialDelaySeconds: 0, periodSeconds: 10, failureThreshold: 6 }),
      readinessProbe: httpProbe('/readyz', METRICS_PORT_NAME, { initialDelaySeconds: 0, periodSeconds: 10, failureThreshold: 3 }),
      volumeMounts: [{ name: 'data', mountPath: DATA_DIR }],
    });

    this.addHeadlessService(this.headlessServiceName, [
      { name: 'client', port: ETCD_PORTS.client },
      { name: 'peer', port: ETCD_PORTS.peer },
    ], {
      // Members must resolve each other before they are ready: readiness needs the quorum they form.
      publishNotReadyAddresses: true,
    });
    this.addClientService(this.name, [
      { name: 'client', port: ETCD_PORTS.client },
      { name: METRICS_PORT_NAME, port: ETCD_PORTS.metrics },
    ]);

    this.statefulSet = this.addStatefulSet({
      serviceName: this.headlessServiceName,
      replicas: props.replicas,
      // All members start together: a majority must be up before any of them is ready.
      podManagementPolicy: 'Parallel',
      storage: props.storage,
      podSpec: this.podSpec({ containers: [container], spread: props.replicas > 1 }),
    });

    this.endpoint = { host: this.name, port: ETCD_PORTS.client, targetPort: ETCD_PORTS.client, workload: this };
    // etcd serves its own metrics (etcd_server_has_leader, ...) on the metrics listener.
    this.addMetricsEndpoint({ portName: METRICS_PORT_NAME, port: ETCD_PORTS.metrics });
    if (props.replicas > 1) {
      this.allowPeers(ETCD_PORTS.peer);
      this.addDisruptionBudget(1);
    }
    const repository = BackupRepository.of(this);
    if (repository) {
      this.backup = addEtcdBackup({
        repository, etcd: this, image: props.image, version: tagOf(props.image), replicas: props.replicas,
        clientPort: ETCD_PORTS.client, peerPort: ETCD_PORTS.peer, dataDir: DATA_DIR, storageSize: props.storage.size,
      });
    }
  }
}
