/**
 * Ports of Milvus 2.3 and its dependencies, in one place: the rendered user.yaml, the container
 * ports, the Services and the NetworkPolicies all read them here, so they cannot disagree.
 * Values are those of Milvus's configs/milvus.yaml and of milvus-helm.
 */
export const MILVUS_PORTS = {
  /** Proxy (and standalone) gRPC + REST port clients use. */
  proxy: 19530,
  /** Proxy gRPC port the coordinators call (registered in the etcd session). */
  proxyInternal: 19529,
  /** Metrics and `/healthz` of every Milvus process. */
  metrics: 9091,
  /** Root coordinator gRPC (ids, timestamps, collection metadata), served by the mixcoord pods. */
  rootCoord: 53100,
  /** Query coordinator gRPC (segment placement on query nodes), served by the mixcoord pods. */
  queryCoord: 19531,
  /** The data coordinator also does the index coordinator's work: Milvus 2.3 has no index-coordinator listener. */
  dataCoord: 13333,
  /** Query node gRPC: coordinators, proxies and other query nodes (shard leaders) call it. */
  queryNode: 21123,
  /** Data node gRPC the coordinators call (flushes, compactions). */
  dataNode: 21124,
  /** Index node gRPC the coordinators call to build indexes. */
  indexNode: 21121,
} as const;

/** Ports of the etcd members Milvus keeps its metadata in (etcd's own defaults). */
export const ETCD_PORTS = {
  /** Client API Milvus and the backup jobs use (`etcd.endpoints`), on the client and headless Services. */
  client: 2379,
  /** Member-to-member raft traffic (`--initial-cluster` peer URLs), opened between members only. */
  peer: 2380,
  /** `/health` and `/metrics`, separate from the client port so probes need no client TLS later. */
  metrics: 2381,
} as const;

/** MinIO's S3 API, which also serves its health checks and cluster metrics (the console is off). */
export const MINIO_PORT = 9000;

/** Listeners of the KRaft Kafka nodes of a Milvus cluster. */
export const KAFKA_PORTS = {
  /** Broker listener (PLAINTEXT) clients and inter-broker replication use. */
  broker: 9092,
  /** KRaft controller quorum listener. */
  controller: 9093,
} as const;
