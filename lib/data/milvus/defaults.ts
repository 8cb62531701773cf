import { ResourceRequirements } from '../../resources';

/** Milvus 2.3, the release R13 names; user.yaml and the process arguments here are 2.3's. */
export const DEFAULT_MILVUS_IMAGE = 'milvusdb/milvus:v2.3.21';
/** etcd 3.5, the line Milvus 2.3 is tested with (its docker-compose files use quay.io/coreos/etcd v3.5). */
export const DEFAULT_ETCD_IMAGE = 'quay.io/coreos/etcd:v3.5.16';
/** The MinIO release Milvus 2.3's docker-compose and milvus-helm pin. */
export const DEFAULT_MINIO_IMAGE = 'minio/minio:RELEASE.2023-03-20T20-16-18Z';
/** The Apache Kafka project's own image (KRaft, configured through KAFKA_* variables). */
export const DEFAULT_KAFKA_IMAGE = 'apache/kafka:3.8.0';

/** The tag of a pinned image reference (`v2.3.21` of `milvusdb/milvus:v2.3.21`), for version labels. */
export function tagOf(image: string): string {
  return image.slice(image.lastIndexOf(':') + 1);
}

/** Each etcd member's container when `etcdResources` is not set; etcd's backend is capped at 4 GiB. */
export const DEFAULT_ETCD_RESOURCES: ResourceRequirements = {
  requests: { cpu: '250m', memory: '512Mi' },
  limits: { cpu: '1', memory: '2Gi' },
};

/** Each MinIO pod's container when `objectStorage.minio.resources` is not set. */
export const DEFAULT_MINIO_RESOURCES: ResourceRequirements = {
  requests: { cpu: '250m', memory: '1Gi' },
  limits: { cpu: '2', memory: '4Gi' },
};

/**
 * Each Kafka node's container when `messageQueue.kafka.resources` is not set; half the memory limit
 * is the JVM heap, the rest page cache.
 */
export const DEFAULT_KAFKA_RESOURCES: ResourceRequirements = {
  requests: { cpu: '500m', memory: '2Gi' },
  limits: { cpu: '2', memory: '4Gi' },
};

/** The standalone Milvus container (every role in one process) when `resources` is not set. */
export const DEFAULT_STANDALONE_RESOURCES: ResourceRequirements = {
  requests: { cpu: '1', memory: '4Gi' },
  limits: { cpu: '4', memory: '8Gi' },
};

/** One container size per Milvus cluster role (the fields of {@link ResourceRequirements} each). */
export interface MilvusComponentResources {
  /** The `<name>-mixcoord` pods: root, query, data and index coordinators in one process. */
  readonly mixCoord: ResourceRequirements;
  /** The `<name>` proxy pods clients connect to on 19530. */
  readonly proxy: ResourceRequirements;
  /** The `<name>-querynode` pods, which hold loaded segments and indexes in memory for searches. */
  readonly queryNode: ResourceRequirements;
  /** The `<name>-datanode` pods, which consume inserts from Kafka and flush segments to object storage. */
  readonly dataNode: ResourceRequirements;
  /** The `<name>-indexnode` pods, which build indexes in memory. */
  readonly indexNode: ResourceRequirements;
}

/**
 * Per cluster component, when its `resources` is not set: coordinators are light, query and index nodes
 * hold vectors in memory.
 */
export const DEFAULT_COMPONENT_RESOURCES: MilvusComponentResources = {
  mixCoord: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '4Gi' } },
  proxy: { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '2', memory: '2Gi' } },
  queryNode: { requests: { cpu: '1', memory: '4Gi' }, limits: { cpu: '4', memory: '8Gi' } },
  dataNode: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '4Gi' } },
  indexNode: { requests: { cpu: '1', memory: '2Gi' }, limits: { cpu: '4', memory: '8Gi' } },
};
