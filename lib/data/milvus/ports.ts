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
  rootCoord: 53100,
  queryCoord: 19531,
  /** The data coordinator also does the index coordinator's work: Milvus 2.3 has no index-coordinator listener. */
  dataCoord: 13333,
  queryNode: 21123,
  dataNode: 21124,
  indexNode: 21121,
} as const;

export const ETCD_PORTS = {
  client: 2379,
  peer: 2380,
  /** `/health` and `/metrics`, separate from the client port so probes need no client TLS later. */
  metrics: 2381,
} as const;

export const MINIO_PORT = 9000;

export const KAFKA_PORTS = {
  /** Broker listener (PLAINTEXT) clients and inter-broker replication use. */
  broker: 9092,
  /** KRaft controller quorum listener. */
  controller: 9093,
} as const;
