import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { envFromSecret, httpProbe, ResourceRequirements, SecretKeyRef, secureContainer } from '../../container';
import { ServiceEndpoint, Workload } from '../../workload';
import { KEEP_ON_PRUNE_ANNOTATIONS, RETAIN_CLAIMS, StorageOptions, volumeClaimTemplate } from '../storage';
import { tagOf } from './defaults';
import { MINIO_PORT } from './ports';

export interface MilvusMinioProps {
  /** Name of the StatefulSet and of the client Service; the headless Service is `<name>-headless`. */
  readonly name: string;
  /** Pinned MinIO image. */
  readonly image: string;
  /** 1 (single drive) or 4 to 16 (distributed), checked by the Milvus construct. */
  readonly replicas: number;
  readonly storage: StorageOptions;
  readonly resources: ResourceRequirements;
  readonly accessKeySecret: SecretKeyRef;
  readonly secretKeySecret: SecretKeyRef;
}

const DATA_DIR = '/data';

/**
 * MinIO for Milvus's segments and indexes. One pod serves a single drive; 4 to 16 pods form one
 * distributed erasure set (`http://<name>-{0...N-1}.<headless>/data`) that keeps serving reads with
 * half the pods gone and writes with one more than half. The console is off: Milvus needs only the
 * S3 API.
 */
export class MilvusMinio extends Workload {
  /** `<name>:9000`, the S3 API Milvus's `minio.address`/`minio.port` name. */
  public readonly endpoint: ServiceEndpoint;
  public readonly statefulSet: k8s.KubeStatefulSet;
  public readonly headlessServiceName: string;
  /** The volumes argument of `minio server`. */
  public readonly volumesArgument: string;

  constructor(scope: Construct, id: string, props: MilvusMinioProps) {
    super(scope, id, { name: props.name, component: 'object-storage', version: tagOf(props.image) });
    this.headlessServiceName = `${this.name}-headless`;
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
      ],
      ports: [{ name: 'api', containerPort: MINIO_PORT }],
      startupProbe: httpProbe('/minio/health/live', 'api', 0, 10, 60),
      livenessProbe: httpProbe('/minio/health/live', 'api', 0, 10, 5),
      readinessProbe: httpProbe('/minio/health/ready', 'api', 0, 10, 3),
      volumeMounts: [
        { name: 'data', mountPath: DATA_DIR },
        { name: 'tmp', mountPath: '/tmp' },
      ],
    });

    new k8s.KubeService(this, 'HeadlessService', {
      metadata: { name: this.headlessServiceName, labels: { ...this.labels.labels } },
      spec: {
        clusterIp: 'None',
        // Distributed MinIO waits for every endpoint to resolve before any pod is ready.
        publishNotReadyAddresses: true,
        selector: { ...this.labels.selectorLabels },
        ports: [{ name: 'api', port: MINIO_PORT, targetPort: k8s.IntOrString.fromString('api'), protocol: 'TCP' }],
      },
    });
    new k8s.KubeService(this, 'Service', {
      metadata: { name: this.name, labels: { ...this.labels.labels } },
      spec: {
        type: 'ClusterIP',
        selector: { ...this.labels.selectorLabels },
        ports: [{ name: 'api', port: MINIO_PORT, targetPort: k8s.IntOrString.fromString('api'), protocol: 'TCP' }],
      },
    });

    this.statefulSet = new k8s.KubeStatefulSet(this, 'StatefulSet', {
      metadata: { name: this.name, labels: { ...this.labels.labels }, annotations: { ...KEEP_ON_PRUNE_ANNOTATIONS } },
      spec: {
        serviceName: this.headlessServiceName,
        replicas: props.replicas,
        podManagementPolicy: 'Parallel',
        updateStrategy: { type: 'RollingUpdate' },
        persistentVolumeClaimRetentionPolicy: RETAIN_CLAIMS,
        selector: { matchLabels: { ...this.labels.selectorLabels } },
        template: {
          metadata: this.podMetadata(),
          spec: this.podSpec({
            containers: [container],
            volumes: [{ name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } }],
            spread: distributed,
          }),
        },
        volumeClaimTemplates: [volumeClaimTemplate('data', this.labels.selectorLabels, props.storage)],
      },
    });

    this.endpoint = { host: this.name, port: MINIO_PORT, targetPort: MINIO_PORT, workload: this };
    if (distributed) {
      this.allowPeers(MINIO_PORT);
      this.addDisruptionBudget(1);
    }
  }
}
