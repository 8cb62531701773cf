import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { secureContainer } from '../../container';
import { ResourceRequirements } from '../../resources';
import { envFromSecret, SecretKeyRef } from '../../secret-ref';
import { httpProbe } from '../../probes';
import { ServiceEndpoint } from '../../workload';
import { StatefulWorkload } from '../stateful-workload';
import { StorageOptions } from '../storage';
import { tagOf } from './defaults';
import { MINIO_PORT } from './ports';

/** The in-cluster MinIO of one Milvus, as the Milvus constructs resolve it from `objectStorage.minio`. */
export interface MilvusMinioProps {
  /** Name of the StatefulSet and of the client Service; the headless Service is `<name>-headless`. */
  readonly name: string;
  /** Pinned MinIO image. */
  readonly image: string;
  /** 1 (single drive) or 4 to 16 (distributed), checked by the Milvus construct. */
  readonly replicas: number;
  /** Each pod's drive (claim template `data`, mounted at /data). */
  readonly storage: StorageOptions;
  /** Requests and limits of each pod's `minio` container. */
  readonly resources: ResourceRequirements;
  /** Root user (access key id) of MinIO, as `MINIO_ROOT_USER`; Milvus and the backup use the same. */
  readonly accessKeySecret: SecretKeyRef;
  /** Root password (secret access key) of MinIO, as `MINIO_ROOT_PASSWORD`. */
  readonly secretKeySecret: SecretKeyRef;
}

const DATA_DIR = '/data';
/** Cluster-wide metrics (nodes and drives online/offline, capacity) of MinIO's v2 metrics API. */
export const MINIO_METRICS_PATH = '/minio/v2/metrics/cluster';

/**
 * MinIO for Milvus's segments and indexes. One pod serves a single drive; 4 to 16 pods form one
 * distributed erasure set (`http://<name>-{0...N-1}.<headless>/data`) that keeps serving reads with
 * half the pods gone and writes with one more than half. The console is off: Milvus needs only the
 * S3 API.
 */
export class MilvusMinio extends StatefulWorkload {
  /** `<name>:9000`, the S3 API Milvus's `minio.address`/`minio.port` name. */
  public readonly endpoint: ServiceEndpoint;
  /** The pods' StatefulSet `<name>`: parallel start, claims retained and never pruned by Argo CD. */
  public readonly statefulSet: k8s.KubeStatefulSet;
  /** `<name>-headless`: each pod's DNS name `<name>-<i>.<name>-headless` in the distributed volumes argument. */
  public readonly headlessServiceName: string;
  /** The volumes argument of `minio server`. */
  public readonly volumesArgument: string;
  /** Pods, each with one drive. */
  public readonly replicas: number;
  /** Size of each pod's drive. */
  public readonly storageSize: string;

  constructor(scope: Construct, id: string, props: MilvusMinioProps) {
    super(scope, id, { name: props.name, component: 'object-storage', version: tagOf(props.image) });
    this.headlessServiceName = `${this.name}-headless`;
    this.replicas = props.replicas;
    this.storageSize = props.storage.size;
    const distributed = props.replicas > 1;
    this.volumesArgument = distributed
      ? `http://${this.name}-{0...${props.replicas - 1}}.${this.headlessServiceName}${DATA_DIR}`
      : DATA_DIR;

    const container = secureContainer({
      name: 'minio',
      image: props.image,
      resources: props.resources,
      // The binary itself, not the image's entrypoint script: nothing to switch users for.
      command: ['minio'],
      // The default certs dir is under $HOME, which the read-only root file system cannot hold.
      args: ['server', this.volumesArgument, `--address=:${MINIO_PORT}`, '--certs-dir=/tmp/certs'],
      env: [
        envFromSecret('MINIO_ROOT_USER', props.accessKeySecret),
        envFromSecret('MINIO_ROOT_PASSWORD', props.secretKeySecret),
        { name: 'MINIO_BROWSER', value: 'off' },
        // Metrics without a bearer token: the NetworkPolicy lets only Prometheus (and Milvus) reach the port.
        { name: 'MINIO_PROMETHEUS_AUTH_TYPE', value: 'public' },
      ],
      ports: [{ name: 'api', containerPort: MINIO_PORT }],
      startupProbe: httpProbe('/minio/health/live', 'api', { initialDelaySeconds: 0, periodSeconds: 10, failureThreshold: 60 }),
      livenessProbe: httpProbe('/minio/health/live', 'api', { initialDelaySeconds: 0, periodSeconds: 10, failureThreshold: 5 }),
      readinessProbe: httpProbe('/minio/health/ready', 'api', { initialDelaySeconds: 0, periodSeconds: 10, failureThreshold: 3 }),
      volumeMounts: [
        { name: 'data', mountPath: DATA_DIR },
        { name: 'tmp', mountPath: '/tmp' },
      ],
    });

    const ports = [{ name: 'api', port: MINIO_PORT }];
    this.addHeadlessService(this.headlessServiceName, ports, {
      // Distributed MinIO waits for every endpoint to resolve before any pod is ready.
      publishNotReadyAddresses: true,
    });
    this.addClientService(this.name, ports);

    this.statefulSet = this.addStatefulSet({
      serviceName: this.headlessServiceName,
      replicas: props.replicas,
      podManagementPolicy: 'Parallel',
      storage: props.storage,
      podSpec: this.podSpec({
        containers: [container],
        volumes: [{ name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } }],
        spread: distributed,
      }),
    });

    this.endpoint = { host: this.name, port: MINIO_PORT, targetPort: MINIO_PORT, workload: this };
    // MinIO has no metrics listener of its own: its cluster metrics are on the S3 API port.
    this.addMetricsEndpoint({ portName: 'api', port: MINIO_PORT, path: MINIO_METRICS_PATH });
    if (distributed) {
      this.allowPeers(MINIO_PORT);
      this.addDisruptionBudget(1);
    }
  }
}
