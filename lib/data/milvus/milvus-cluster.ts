import { Construct } from 'constructs';
import { BackupRepository, StoreBackup } from '../../backup';
import { ResourceRequirements, validateResources } from '../../resources';
import { StandardLabels } from '../../labels';
import { AlertRules } from '../../observability/alert-rules';
import { milvusRuleGroups } from '../../observability/store-rules/milvus';
import { StoreSeries } from '../../observability/store-rules/store-selector';
import { locationOf, Validator } from '../../validation';
import { ServiceEndpoint } from '../../workload';
import { StorageOptions, validateStorage } from '../storage';
import { DEFAULT_COMPONENT_RESOURCES, DEFAULT_KAFKA_IMAGE, DEFAULT_KAFKA_RESOURCES, tagOf } from './defaults';
import { MilvusEtcd } from './etcd';
import { kafkaClusterId, MilvusKafka, MilvusKafkaProps } from './kafka';
import { MilvusComponent, MilvusRole } from './milvus-component';
import { addMilvusBackup } from './milvus-backup';
import { MilvusConfig } from './milvus-config';
import { MilvusMinio } from './minio';
import { resolveObjectStorage } from './object-storage';
import { MilvusCommonProps, resolveCommon } from './options';
import { MILVUS_PORTS } from './ports';

/** Pods and resources of one Milvus role. */
export interface MilvusComponentOptions {
  /**
   * Pods of the role's Deployment: 1 to 3 for mixCoord (active-standby beyond 1), 1 to 100 for
   * the others.
   * @default 1 (proxy: 2)
   */
  readonly replicas?: number;
  /**
   * CPU and memory requests and limits of each pod of the role.
   * @default - the role's entry of {@link DEFAULT_COMPONENT_RESOURCES}
   */
  readonly resources?: ResourceRequirements;
}

/** Kafka in KRaft mode, run here. */
export interface KafkaOptions {
  /**
   * Nodes, each broker and controller: odd, so that the controllers keep a majority.
   * @default 3
   */
  readonly replicas?: number;
  /**
   * Volume of each Kafka node, which holds the message log for `retentionHours`; size in binary
   * units (`50Gi`).
   * @default { size: '50Gi' }
   */
  readonly storage?: StorageOptions;
  /**
   * CPU and memory requests and limits of each Kafka node's container.
   * @default requests 500m / 2Gi, limits 2 CPU / 4Gi
   */
  readonly resources?: ResourceRequirements;
  /** An `apache/kafka` image 3.7 to 3.9. @default 'apache/kafka:3.8.0' */
  readonly image?: string;
  /**
   * Hours messages are kept: long enough for data nodes to flush them and for recovery to replay.
   * @default 168
   */
  readonly retentionHours?: number;
}

/** The message queue of a Milvus cluster (the write-ahead log between proxies and nodes). */
export interface MessageQueueOptions {
  /** Kafka (KRaft) run here as `<name>-kafka`; the only queue supported (no Pulsar). */
  readonly kafka: KafkaOptions;
}

/** Props of {@link MilvusCluster}: what it shares with standalone, the message queue, pods and resources per role. */
export interface MilvusClusterProps extends MilvusCommonProps {
  /** Required: a cluster's proxies, data and query nodes exchange every insert through it. */
  readonly messageQueue: MessageQueueOptions;
  /**
   * Root, query, data and index coordinators in one process; more than one pod runs them
   * active-standby.
   * @default { replicas: 1 }
   */
  readonly mixCoord?: MilvusComponentOptions;
  /**
   * Proxies: they serve clients on 19530 behind the Service `<name>`; two keep it up through the
   * loss of a pod.
   * @default { replicas: 2 }
   */
  readonly proxy?: MilvusComponentOptions;
  /**
   * Query nodes: they load segments and indexes (cached under /var/lib/milvus) and run searches.
   * @default { replicas: 1 }
   */
  readonly queryNode?: MilvusComponentOptions;
  /**
   * Data nodes: they consume inserts from Kafka and flush them as segments to object storage.
   * @default { replicas: 1 }
   */
  readonly dataNode?: MilvusComponentOptions;
  /**
   * Index nodes: they build the indexes of flushed segments (in their local cache).
   * @default { replicas: 1 }
   */
  readonly indexNode?: MilvusComponentOptions;
  /**
   * Size limit of the local cache (emptyDir at /var/lib/milvus) of query and index nodes, which
   * load and build indexes there.
   * @default '50Gi'
   */
  readonly nodeCacheSize?: string;
}

type ComponentKey = 'mixCoord' | 'proxy' | 'queryNode' | 'dataNode' | 'indexNode';
const COMPONENTS: readonly { key: ComponentKey; role: MilvusRole; suffix: string; defaultReplicas: number; maxReplicas: number }[] = [
  { key: 'mixCoord', role: MilvusRole.MIX_COORD, suffix: 'mixcoord', defaultReplicas: 1, maxReplicas: 3 },
  { key: 'proxy', role: MilvusRole.PROXY, suffix: '', defaultReplicas: 2, maxReplicas: 100 },
  { key: 'queryNode', role: MilvusRole.QUERY_NODE, suffix: 'querynode', defaultReplicas: 1, maxReplicas: 100 },
  { key: 'dataNode', role: MilvusRole.DATA_NODE, suffix: 'datanode', defaultReplicas: 1, maxReplicas: 100 },
  { key: 'indexNode', role: MilvusRole.INDEX_NODE, suffix: 'indexnode', defaultReplicas: 1, maxReplicas: 100 },
];

/**
 * Milvus 2.3 cluster as milvus-helm installs it, with Kafka instead of Pulsar: etcd (3 members by
 * default) for metadata, MinIO or an external bucket for segments and indexes, Kafka (KRaft) as
 * the message queue, and the Milvus roles as separate Deployments: mixcoord (all coordinators),
 * proxy (Service `<name>`:19530, default `milvus`), query, data and index nodes. Each pair that
 * talks gets a NetworkPolicy opening for exactly its port.
 */
export class MilvusCluster extends Construct {
  /** `milvus:19530`: the proxies. */
  public readonly endpoint: ServiceEndpoint;
  /** The metadata store `<name>-etcd` (3 members unless `etcdReplicas` says otherwise). */
  public readonly etcd: MilvusEtcd;
  /** The MinIO run here; undefined with an external bucket. */
  public readonly minio?: MilvusMinio;
  /**
   * Milvus' collections (milvus-backup), attached to the MinIO run here: undefined where the
   * environment has no backup settings, or the bucket is external.
   */
  public readonly backup?: StoreBackup;
  /** The message queue `<name>-kafka` (KRaft StatefulSet); `user.yaml`'s `kafka.brokerList`. */
  public readonly kafka: MilvusKafka;
  /** Deployment `<name>-mixcoord`: all coordinators in one process; more than one pod runs them active-standby. */
  public readonly mixCoord: MilvusComponent;
  /** Deployment `<name>` behind Service `<name>:19530`, which clients use. */
  public readonly proxy: MilvusComponent;
  /** Deployment `<name>-querynode`: loads segments and serves searches, with a `nodeCacheSize` local cache. */
  public readonly queryNode: MilvusComponent;
  /** Deployment `<name>-datanode`: consumes inserts from Kafka and flushes segments to object storage. */
  public readonly dataNode: MilvusComponent;
  /** Deployment `<name>-indexnode`: builds indexes, with a `nodeCacheSize` local cache. */
  public readonly indexNode: MilvusComponent;
  /** ConfigMap `<name>-config` with the `user.yaml` every role mounts (a change rolls all pods). */
  public readonly config: MilvusConfig;
  /** The store's alerts (Milvus unavailable, etcd without leader, MinIO nodes offline, Kafka brokers missing). */
  public readonly alertRules: AlertRules;

  constructor(scope: Construct, id: string, props: MilvusClusterProps) {
    super(scope, id);
    const v = Validator.of(this, id);
    const common = resolveCommon(v, props, 3);
    const kafka = resolveKafka(v, props.messageQueue);
    const components = COMPONENTS.map((c) => {
      const options = props[c.key] ?? {};
      const replicas = v.integer(`${c.key}.replicas`, options.replicas ?? c.defaultReplicas, 1, c.maxReplicas);
      const resources = options.resources ?? DEFAULT_COMPONENT_RESOURCES[c.key];
      validateResources(v, `${c.key}.resources`, resources);
      return { ...c, replicas, resources };
    });
    const cacheSize = v.storage('nodeCacheSize', props.nodeCacheSize ?? '50Gi');

    this.etcd = new MilvusEtcd(this, 'Etcd', { name: `${common.name}-etcd`, ...common.etcd });
    const objectStorage = resolveObjectStorage(this, v, props.objectStorage, common.name);
    this.minio = objectStorage.minio;
    const kafkaName = `${common.name}-kafka`;
    this.kafka = new MilvusKafka(this, 'Kafka', { name: kafkaName, ...kafka, clusterId: kafkaClusterId(locationOf(this), kafkaName) });

    const mixCoordReplicas = components[0].replicas;
    this.config = new MilvusConfig(this, 'Config', {
      name: `${common.name}-config`,
      labels: new StandardLabels(this, { name: `${common.name}-config`, component: 'vector-database', version: tagOf(common.image) }).labels,
      settings: {
        mode: 'cluster',
        etcdEndpoints: [`${this.etcd.endpoint.host}:${this.etcd.endpoint.port}`],
        objectStorage: objectStorage.settings,
        kafkaBrokerList: `${this.kafka.endpoint.host}:${this.kafka.endpoint.port}`,
        activeStandby: mixCoordReplicas > 1,
      },
    });

    const built: Record<ComponentKey, MilvusComponent> = {} as Record<ComponentKey, MilvusComponent>;
    for (const c of components) {
      built[c.key] = new MilvusComponent(this, c.key[0].toUpperCase() + c.key.slice(1), {
        name: c.suffix ? `${common.name}-${c.suffix}` : common.name,
        role: c.role,
        image: common.image,
        replicas: c.replicas,
        resources: c.resources,
        config: this.config,
        accessKeySecret: objectStorage.accessKeySecret,
        secretKeySecret: objectStorage.secretKeySecret,
        scratchSize: c.role === MilvusRole.QUERY_NODE || c.role === MilvusRole.INDEX_NODE ? cacheSize : '10Gi',
      });
    }
    this.mixCoord = built.mixCoord;
    this.proxy = built.proxy;
    this.queryNode = built.queryNode;
    this.dataNode = built.dataNode;
    this.indexNode = built.indexNode;
    this.connect(objectStorage.connect);
    this.endpoint = this.proxy.clientEndpoint as ServiceEndpoint;
    const repository = BackupRepository.of(this);
    if (repository && objectStorage.minio) {
      this.backup = addMilvusBackup({
        repository, minio: objectStorage.minio, bucket: objectStorage.settings.bucket, milvus: this.proxy, fileBuckets: objectStorage.fileBuckets,
        accessKeySecret: objectStorage.accessKeySecret, secretKeySecret: objectStorage.secretKeySecret,
      });
    }
    this.alertRules = this.proxy.addAlertRules(milvusRuleGroups({
      series: StoreSeries.of(this),
      accessJob: this.proxy.name,
      etcdJob: this.etcd.name,
      minioJob: this.minio?.name,
      kafka: { job: this.kafka.name, brokers: kafka.replicas },
    }), { name: `${common.name}-rules` });
  }

  /** The Milvus roles, coordinators first. */
  public get components(): MilvusComponent[] {
    return [this.mixCoord, this.proxy, this.queryNode, this.dataNode, this.indexNode];
  }

  /** Who calls whom in Milvus 2.3, as NetworkPolicy openings. */
  private connect(toObjectStorage: (workload: MilvusComponent) => void): void {
    const coordinators = Object.values(this.mixCoord.grpcEndpoints);
    for (const component of this.components) {
      component.connectTo(this.etcd.endpoint);
      toObjectStorage(component);
      // Every role reports to and asks the coordinators (sessions, ids, timestamps, segment info).
      if (component !== this.mixCoord) coordinators.forEach((endpoint) => component.connectTo(endpoint));
    }
    // Inserts and deletes flow through Kafka; index nodes read only object storage.
    for (const component of [this.mixCoord, this.proxy, this.queryNode, this.dataNode]) component.connectTo(this.kafka.endpoint);
    // Coordinators drive the nodes and invalidate the proxies' metadata caches.
    this.mixCoord.connectTo(this.proxy.grpcEndpoints.internal);
    this.mixCoord.connectTo(this.queryNode.grpcEndpoints.querynode);
    this.mixCoord.connectTo(this.dataNode.grpcEndpoints.datanode);
    this.mixCoord.connectTo(this.indexNode.grpcEndpoints.indexnode);
    // Searches go from proxies to shard-leader query nodes, and from leaders to the other query nodes.
    this.proxy.connectTo(this.queryNode.grpcEndpoints.querynode);
    this.queryNode.allowPeers(MILVUS_PORTS.queryNode);
  }
}

/** Checks `messageQueue` (errors read `milvus.messageQueue.kafka.<field>`) and applies defaults. */
function resolveKafka(v: Validator, queue: MessageQueueOptions | undefined): Omit<MilvusKafkaProps, 'name' | 'clusterId'> {
  if (!queue || typeof queue !== 'object' || !queue.kafka) {
    v.fail('messageQueue', 'a message queue for the Milvus cluster ({ kafka: { replicas, storage, ... } })', queue);
  }
  const k = v.nested('messageQueue.kafka');
  const options = queue.kafka;
  const replicas = k.integer('replicas', options.replicas ?? 3, 1, 9);
  if (replicas % 2 === 0) k.fail('replicas', 'an odd number (1, 3, 5, 7 or 9): every node is a KRaft controller and they need a majority', replicas);
  const storage = options.storage ?? { size: '50Gi' };
  validateStorage(k, 'storage', storage);
  const resources = options.resources ?? DEFAULT_KAFKA_RESOURCES;
  validateResources(k, 'resources', resources);
  const image = k.pinnedImage('image', options.image ?? DEFAULT_KAFKA_IMAGE);
  // 3.7 is the first image configured by KAFKA_* variables; 4.0 replaced log4j 1, whose
  // configuration the brokers and the readiness probe are given here.
  if (!/^apache\/kafka:3\.[7-9]\./.test(image)) {
    k.fail('image', 'an apache/kafka image 3.7 to 3.9 (its start script reads the KAFKA_* variables set here, and it logs with log4j 1)', image);
  }
  const retentionHours = k.integer('retentionHours', options.retentionHours ?? 168, 1, 24 * 365);
  return { replicas, storage, resources, image, retentionHours };
}
