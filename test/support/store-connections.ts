/**
 * Connections inside the data tier that the stores need besides those the API opens, per solution
 * and environment: replication, cluster buses, metadata and object stores, bootstrap jobs. Written
 * out by hand from each store's documented topology, so that the NetworkPolicy test compares the
 * policies with an independent statement of what must flow.
 */
const sts = (name: string) => `StatefulSet/${name}`;
const link = (from: string, to: string, ...ports: number[]) => ports.map((port) => `${from} -> ${to}:${port}`);

/** Milvus standalone: metadata in etcd (2379), segments in MinIO (9000). */
function milvusStandalone(): string[] {
  return [...link(sts('milvus'), sts('milvus-etcd'), 2379), ...link(sts('milvus'), sts('milvus-minio'), 9000)];
}

const deploy = (name: string) => `Deployment/${name}`;

/**
 * Milvus 2.3 cluster (milvus-helm's call graph): every role keeps metadata in etcd and data in
 * MinIO and registers with the coordinators; all but index nodes read and write the message
 * queue; the coordinators call the proxy's internal port and every node; the proxy searches
 * through query nodes, whose shard delegators call each other. Members of etcd, Kafka and a
 * distributed MinIO talk to their peers.
 */
function milvusCluster(peers: { etcd: boolean; minio: boolean }): string[] {
  const [proxy, coord, query, data, index] = ['milvus', 'milvus-mixcoord', 'milvus-querynode', 'milvus-datanode', 'milvus-indexnode'].map(deploy);
  const roles = [proxy, coord, query, data, index];
  // Root, query and data coordinators; 2.3's index coordinator works inside the data coordinator.
  const coordinatorPorts = [53100, 19531, 13333];
  return [
    ...roles.flatMap((role) => [...link(role, sts('milvus-etcd'), 2379), ...link(role, sts('milvus-minio'), 9000)]),
    ...roles.filter((role) => role !== coord).flatMap((role) => link(role, coord, ...coordinatorPorts)),
    ...roles.filter((role) => role !== index).flatMap((role) => link(role, sts('milvus-kafka'), 9092)),
    ...link(coord, proxy, 19529), ...link(coord, query, 21123), ...link(coord, data, 21124), ...link(coord, index, 21121),
    ...link(proxy, query, 21123), ...link(query, query, 21123),
    ...link(sts('milvus-kafka'), sts('milvus-kafka'), 9092, 9093),
    ...(peers.etcd ? link(sts('milvus-etcd'), sts('milvus-etcd'), 2380) : []),
    ...(peers.minio ? link(sts('milvus-minio'), sts('milvus-minio'), 9000) : []),
  ];
}

/** MySQL: replicas copy from and replicate from the primary. */
function mysql(): string[] {
  return link(sts('mysql-replica'), sts('mysql-primary'), 3306);
}

/** Redis cluster: members replicate and gossip (6379, bus 16379); the bootstrap Job forms the cluster. */
function redisCluster(): string[] {
  return [...link(sts('redis'), sts('redis'), 6379, 16379), ...link('Job/redis-cluster-bootstrap', sts('redis'), 6379)];
}

/** Redis primary/replica: replicas replicate from the primary. */
function redisReplicas(replicas: boolean): string[] {
  return replicas ? link(sts('redis-replica'), sts('redis'), 6379) : [];
}

/** PostgreSQL: each standby streams from the primary; the primary's init asks the standbys for their timeline (the split-brain fence). */
function postgres(standby: boolean): string[] {
  return standby ? [...link(sts('postgres-standby'), sts('postgres'), 5432), ...link(sts('postgres'), sts('postgres-standby'), 5432)] : [];
}

/**
 * The store connections an environment's settings declare: which stores it has and their topology
 * (replicas, standby, cluster mode), read from the settings, so a new environment or solution
 * needs no edit here as long as it uses these stores.
 */
export function expectedStoreConnections(settings: Readonly<Record<string, any>>): string[] {
  const needed: string[] = [];
  if (settings.mysql && (settings.mysql.replicas ?? 0) > 0) needed.push(...mysql());
  if (settings.redis) {
    const cluster = 'masters' in settings.redis || 'replicasPerMaster' in settings.redis;
    needed.push(...(cluster ? redisCluster() : redisReplicas((settings.redis.replicas ?? 0) > 0)));
  }
  if (settings.postgres) needed.push(...postgres(settings.postgres.standby === true));
  if (settings.milvus) {
    const milvus = settings.milvus;
    needed.push(...(milvus.mode === 'cluster'
      ? milvusCluster({ etcd: (milvus.etcdReplicas ?? 1) > 1, minio: (milvus.objectStorage?.minio?.replicas ?? 1) > 1 })
      : milvusStandalone()));
  }
  return needed;
}
