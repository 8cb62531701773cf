import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { ContainerPortSpec, secureContainer } from '../../container';
import { ResourceRequirements } from '../../resources';
import { envFromSecret, SecretKeyRef } from '../../secret-ref';
import { METRICS_PORT_NAME } from '../../observability/exporters/exporter';
import { httpProbe } from '../../probes';
import { ServiceEndpoint } from '../../workload';
import { StatefulWorkload } from '../stateful-workload';
import { StorageOptions } from '../storage';
import { tagOf } from './defaults';
import { MILVUS_DATA_DIR, MilvusConfig } from './milvus-config';
import { MILVUS_PORTS } from './ports';

/** The process roles of Milvus 2.3 this library runs. */
export enum MilvusRole {
  /** Every role in one process, RocksMQ as the message queue. */
  STANDALONE = 'standalone',
  /**
   * Root, query, data and index coordinators in one process (milvus-helm's default). In 2.3 the
   * index coordinator runs inside the data coordinator and listens on no port of its own.
   */
  MIX_COORD = 'mixcoord',
  /** The access layer clients connect to. */
  PROXY = 'proxy',
  /** Loads sealed segments and indexes into memory and runs searches and queries on them. */
  QUERY_NODE = 'querynode',
  /** Consumes inserts and deletes from the message queue and flushes them as segments to object storage. */
  DATA_NODE = 'datanode',
  /** Builds vector indexes from segments in object storage and writes them back there. */
  INDEX_NODE = 'indexnode',
}

interface RoleSpec {
  /** Arguments after the image's tini entrypoint. */
  readonly args: string[];
  /** gRPC ports (the metrics port is added to all). */
  readonly ports: ContainerPortSpec[];
  /** Names of the ports the role's Service exposes besides `metrics`. */
  readonly servicePorts: string[];
}

const ROLES: Record<MilvusRole, RoleSpec> = {
  [MilvusRole.STANDALONE]: {
    args: ['milvus', 'run', 'standalone'],
    ports: [{ name: 'milvus', containerPort: MILVUS_PORTS.proxy }],
    servicePorts: ['milvus'],
  },
  [MilvusRole.MIX_COORD]: {
    args: ['milvus', 'run', 'mixture', '-rootcoord', '-querycoord', '-datacoord', '-indexcoord'],
    ports: [
      { name: 'rootcoord', containerPort: MILVUS_PORTS.rootCoord },
      { name: 'querycoord', containerPort: MILVUS_PORTS.queryCoord },
      { name: 'datacoord', containerPort: MILVUS_PORTS.dataCoord },
    ],
    servicePorts: ['rootcoord', 'querycoord', 'datacoord'],
  },
  [MilvusRole.PROXY]: {
    args: ['milvus', 'run', 'proxy'],
    ports: [
      { name: 'milvus', containerPort: MILVUS_PORTS.proxy },
      { name: 'internal', containerPort: MILVUS_PORTS.proxyInternal },
    ],
    servicePorts: ['milvus'],
  },
  [MilvusRole.QUERY_NODE]: {
    args: ['milvus', 'run', 'querynode'],
    ports: [{ name: 'querynode', containerPort: MILVUS_PORTS.queryNode }],
    servicePorts: ['querynode'],
  },
  [MilvusRole.DATA_NODE]: {
    args: ['milvus', 'run', 'datanode'],
    ports: [{ name: 'datanode', containerPort: MILVUS_PORTS.dataNode }],
    servicePorts: ['datanode'],
  },
  [MilvusRole.INDEX_NODE]: {
    args: ['milvus', 'run', 'indexnode'],
    ports: [{ name: 'indexnode', containerPort: MILVUS_PORTS.indexNode }],
    servicePorts: ['indexnode'],
  },
};

/** One Milvus role's workload, as MilvusStandalone and MilvusCluster resolve it. */
export interface MilvusComponentProps {
  /** Name of the workload, its Service and ServiceAccount. */
  readonly name: string;
  /** Process role: its `milvus run` arguments, container name, ports and Service ports. */
  readonly role: MilvusRole;
  /** Pinned Milvus 2.3 image. */
  readonly image: string;
  /** Pods; more than 1 spreads them over nodes and zones and adds a PodDisruptionBudget (1 unavailable at most). */
  readonly replicas: number;
  /** Requests and limits of the role's container. */
  readonly resources: ResourceRequirements;
  /** The shared `user.yaml`. */
  readonly config: MilvusConfig;
  /** Object-storage access key id, as `MINIO_ACCESS_KEY_ID`. */
  readonly accessKeySecret: SecretKeyRef;
  /** Object-storage secret key, as `MINIO_SECRET_ACCESS_KEY`. */
  readonly secretKeySecret: SecretKeyRef;
  /**
   * A persistent volume at /var/lib/milvus: standalone keeps RocksMQ there, so it runs as a
   * StatefulSet with this claim template.
   * @default - a Deployment with an emptyDir of `scratchSize` there (segment and index cache)
   */
  readonly storage?: StorageOptions;
  /**
   * Size limit of the emptyDir at /var/lib/milvus when there is no `storage`.
   * @default '10Gi'
   */
  readonly scratchSize?: string;
}

/**
 * One Milvus 2.3 process role as a workload: the image's `milvus run <role>` with `user.yaml`
 * mounted beside the image's `milvus.yaml`, object-storage credentials from Secrets, `/healthz`
 * probes on the metrics port 9091, and writable paths as volumes under a read-only root.
 *
 * The image runs as root by default, but Milvus writes only /var/lib/milvus (data and cache),
 * /run/milvus (its pid file; /tmp/milvus if that fails) and /tmp, so it runs as an unprivileged
 * user with those mounted. Milvus's docker-compose files set `seccomp:unconfined` only to work
 * around old Docker seccomp profiles that lack newer glibc syscalls; the RuntimeDefault profile
 * of containerd and CRI-O allows them.
 */
export class MilvusComponent extends StatefulWorkload {
  /** The process role this workload runs. */
  public readonly role: MilvusRole;
  /** ClusterIP Service `<name>`: the role's gRPC ports ({@link MilvusComponent.grpcEndpoints}) and `metrics` (9091). */
  public readonly service: k8s.KubeService;
  /**
   * The Deployment of every role but standalone (no `storage`); a single mixcoord pod is replaced with
   * `Recreate`, others roll one extra pod at a time.
   */
  public readonly deployment?: k8s.KubeDeployment;
  /** Standalone only. */
  public readonly statefulSet?: k8s.KubeStatefulSet;
  /** Pods of the Deployment or StatefulSet, as given in the props. */
  public readonly replicas: number;
  /**
   * Every gRPC port of the role by port name (`milvus`, `internal`, `rootcoord`, `querynode`, ...).
   * Milvus processes find each other's pod addresses in etcd sessions, so these open
   * NetworkPolicies between pods; `host` is the role's Service.
   */
  public readonly grpcEndpoints: Readonly<Record<string, ServiceEndpoint>>;

  constructor(scope: Construct, id: string, props: MilvusComponentProps) {
    super(scope, id, { name: props.name, component: 'vector-database', version: tagOf(props.image) });
    this.role = props.role;
    this.replicas = props.replicas;
    const spec = ROLES[props.role];

    const endpoints: Record<string, ServiceEndpoint> = {};
    for (const port of spec.ports) {
      endpoints[port.name] = { host: this.name, port: port.containerPort, targetPort: port.containerPort, workload: this };
    }
    this.grpcEndpoints = endpoints;

    const healthz = (periodSeconds: number, failureThreshold: number): k8s.Probe => ({
      ...httpProbe('/healthz', METRICS_PORT_NAME, { initialDelaySeconds: 0, periodSeconds, failureThreshold }),
      timeoutSeconds: 5,
    });
    const container = secureContainer({
      name: props.role,
      image: props.image,
      resources: props.resources,
      args: spec.args,
      env: [
        // Milvus reads environment variables over its YAML files: MINIO_ACCESS_KEY_ID is minio.accessKeyID.
        envFromSecret('MINIO_ACCESS_KEY_ID', props.accessKeySecret),
        envFromSecret('MINIO_SECRET_ACCESS_KEY', props.secretKeySecret),
      ],
      ports: [...spec.ports, { name: METRICS_PORT_NAME, containerPort: MILVUS_PORTS.metrics }],
      // Start-up loads segments and waits for etcd and the coordinators: up to 5 minutes.
      startupProbe: healthz(10, 30),
      livenessProbe: healthz(30, 5),
      readinessProbe: healthz(10, 5),
      volumeMounts: [
        props.config.mount(),
        { name: 'data', mountPath: MILVUS_DATA_DIR },
        { name: 'run', mountPath: '/run/milvus' },
        { name: 'tmp', mountPath: '/tmp' },
      ],
    });

    const emptyDir = (name: string, size: string): k8s.Volume => ({ name, emptyDir: { sizeLimit: k8s.Quantity.fromString(size) } });
    const podSpec = this.podSpec({
      containers: [container],
      volumes: [
        props.config.volume(),
        ...(props.storage ? [] : [emptyDir('data', props.scratchSize ?? '10Gi')]),
        emptyDir('run', '16Mi'),
        emptyDir('tmp', '1Gi'),
      ],
      spread: props.replicas > 1,
      // Query and data nodes hand over their segments and channels before they exit.
      terminationGracePeriodSeconds: 60,
    });
    const podAnnotations = { 'checksum/config': props.config.checksum };

    this.service = this.addClientService(this.name, [...spec.servicePorts, METRICS_PORT_NAME].map((name) => ({
      name,
      port: name === METRICS_PORT_NAME ? MILVUS_PORTS.metrics : endpoints[name].port,
    })));

    if (props.storage) {
      this.statefulSet = this.addStatefulSet({
        // The client Service: standalone needs no per-pod DNS names.
        serviceName: this.name,
        replicas: props.replicas,
        storage: props.storage,
        podAnnotations,
        podSpec,
      });
    } else {
      // A single coordinator must be gone before its successor starts; active-standby pods may overlap.
      const singleCoordinator = props.role === MilvusRole.MIX_COORD && props.replicas === 1;
      this.deployment = new k8s.KubeDeployment(this, 'Deployment', {
        metadata: { name: this.name, labels: { ...this.labels.labels } },
        spec: {
          replicas: props.replicas,
          revisionHistoryLimit: 5,
          selector: { matchLabels: { ...this.labels.selectorLabels } },
          strategy: singleCoordinator
            ? { type: 'Recreate' }
            : { type: 'RollingUpdate', rollingUpdate: { maxSurge: k8s.IntOrString.fromNumber(1), maxUnavailable: k8s.IntOrString.fromNumber(0) } },
          template: { metadata: this.podMetadata(podAnnotations), spec: podSpec },
        },
      });
    }

    if (props.replicas > 1) this.addDisruptionBudget(1);
    // Every Milvus process serves its own metrics on 9091 /metrics.
    this.addMetricsEndpoint({ portName: METRICS_PORT_NAME, port: MILVUS_PORTS.metrics });
  }

  /** The client endpoint (`milvus:19530`) of a proxy or standalone. */
  public get clientEndpoint(): ServiceEndpoint | undefined {
    return this.grpcEndpoints.milvus;
  }
}
