/**
 * The metric names the store dashboards read, one constant per exporter (or per server that serves
 * its own metrics), as each names them in the version the stores run with: a renamed metric is
 * changed here once, and the tests check every name a dashboard query uses is one of these, the
 * app contract, a recording rule or a Kubernetes metric.
 */

/** prom/mysqld-exporter 0.15 (global status, global variables, SHOW SLAVE STATUS). */
export const MYSQLD_EXPORTER_METRICS = {
  /** 1 when the exporter's last query of the server succeeded. */
  up: 'mysql_up',
  /** Gauge: client connections open now (`Threads_connected`). */
  threadsConnected: 'mysql_global_status_threads_connected',
  /** Gauge: threads executing a statement now, not sleeping (`Threads_running`). */
  threadsRunning: 'mysql_global_status_threads_running',
  /** Gauge: the `max_connections` variable; connections beyond it are refused. */
  maxConnections: 'mysql_global_variables_max_connections',
  /** Counter (no `_total`: the status variable's own name). */
  queries: 'mysql_global_status_queries',
  /** Counter: queries that took longer than `long_query_time` (`Slow_queries`). */
  slowQueries: 'mysql_global_status_slow_queries',
  /** Counter: failed connection attempts: bad password, no privilege, handshake timeout (`Aborted_connects`). */
  abortedConnects: 'mysql_global_status_aborted_connects',
  /** Replicas only. */
  secondsBehindMaster: 'mysql_slave_status_seconds_behind_master',
  /** Replicas only: 1 while the I/O thread that fetches the source's binary log runs (`Slave_IO_Running: Yes`). */
  slaveIoRunning: 'mysql_slave_status_slave_io_running',
  /** Replicas only: 1 while the SQL thread that applies the relay log runs (`Slave_SQL_Running: Yes`). */
  slaveSqlRunning: 'mysql_slave_status_slave_sql_running',
} as const;

/** quay.io/prometheuscommunity/postgres-exporter 0.15 (default collectors). */
export const POSTGRES_EXPORTER_METRICS = {
  /** 1 when the exporter's last connection to the server succeeded. */
  up: 'pg_up',
  /** Connections per database (`datname`). */
  backends: 'pg_stat_database_numbackends',
  /** The server's `max_connections` setting; connections beyond it are refused. */
  maxConnections: 'pg_settings_max_connections',
  /** Counter per database (`datname`): transactions committed. */
  commits: 'pg_stat_database_xact_commit',
  /** Counter per database (`datname`): transactions rolled back. */
  rollbacks: 'pg_stat_database_xact_rollback',
  /** Counter per database (`datname`): deadlocks detected (one transaction of each was aborted). */
  deadlocks: 'pg_stat_database_deadlocks',
  /** Counter per database (`datname`): blocks found in shared buffers (cache hits). */
  blocksHit: 'pg_stat_database_blks_hit',
  /** Counter per database (`datname`): blocks read from disk or the OS cache (cache misses). */
  blocksRead: 'pg_stat_database_blks_read',
  /** Gauge per database (`datname`): its size on disk, in bytes. */
  databaseSizeBytes: 'pg_database_size_bytes',
  /** 1 on a standby. */
  isReplica: 'pg_replication_is_replica',
  /** On a standby: seconds since the last replayed transaction (0 when in sync). */
  replicationLagSeconds: 'pg_replication_lag_seconds',
  /** On the primary, per standby (`application_name`, `state`): bytes of WAL it has not replayed. */
  walLsnDiffBytes: 'pg_stat_replication_pg_wal_lsn_diff',
} as const;

/** oliver006/redis_exporter 1.62 (INFO, and CLUSTER INFO on cluster members). */
export const REDIS_EXPORTER_METRICS = {
  /** 1 when the exporter's last connection to the server succeeded. */
  up: 'redis_up',
  /** Gauge: client connections, replicas not counted. */
  connectedClients: 'redis_connected_clients',
  /** Gauge: bytes Redis has allocated (`used_memory`), what `maxmemory` is compared with. */
  memoryUsedBytes: 'redis_memory_used_bytes',
  /** `maxmemory`; 0 when unlimited. */
  memoryMaxBytes: 'redis_memory_max_bytes',
  /** Counter: commands the server processed. */
  commandsProcessed: 'redis_commands_processed_total',
  /** Counter: key lookups that found the key. */
  keyspaceHits: 'redis_keyspace_hits_total',
  /** Counter: key lookups that did not find the key. */
  keyspaceMisses: 'redis_keyspace_misses_total',
  /** Counter: keys removed to stay under `maxmemory` (per the eviction policy). */
  evictedKeys: 'redis_evicted_keys_total',
  /** Gauge: replicas connected to this server (0 on a replica). */
  connectedSlaves: 'redis_connected_slaves',
  /** Replicas only: 1 while the link to the master is up. */
  masterLinkUp: 'redis_master_link_up',
  /** Cluster members only: 1 when the cluster state is ok. */
  clusterState: 'redis_cluster_state',
  /** Cluster members only: hash slots (of 16384) served by a reachable node. */
  clusterSlotsOk: 'redis_cluster_slots_ok',
  /** Cluster members only: nodes this member knows, itself and failed ones included. */
  clusterKnownNodes: 'redis_cluster_known_nodes',
} as const;

/** etcd 3.5's own `/metrics`. */
export const ETCD_METRICS = {
  /** 1 while the member has a leader; 0 means the cluster lost quorum and refuses requests. */
  hasLeader: 'etcd_server_has_leader',
  /** Counter: leader changes this member has seen; frequent ones mean an unstable network or disk. */
  leaderChanges: 'etcd_server_leader_changes_seen_total',
  /** Counter: proposals (writes) that failed, mostly during leader elections or without quorum. */
  proposalsFailed: 'etcd_server_proposals_failed_total',
  /** Gauge: size of the backend database file in bytes, free pages not yet defragmented included. */
  dbSizeBytes: 'etcd_mvcc_db_total_size_in_bytes',
  /** Gauge: the backend quota in bytes; at it etcd raises NOSPACE and refuses writes. */
  quotaBackendBytes: 'etcd_server_quota_backend_bytes',
  /** Histogram buckets of WAL fsync durations in seconds: the disk latency every write waits for. */
  walFsyncSecondsBucket: 'etcd_disk_wal_fsync_duration_seconds_bucket',
} as const;

/** MinIO's v2 cluster metrics (`/minio/v2/metrics/cluster`). */
export const MINIO_METRICS = {
  /** Gauge (despite `_total`): MinIO nodes online, as the reporting node sees them. */
  nodesOnline: 'minio_cluster_nodes_online_total',
  /** Gauge (despite `_total`): MinIO nodes offline, as the reporting node sees them. */
  nodesOffline: 'minio_cluster_nodes_offline_total',
  /** Gauge: usable free capacity of the cluster in bytes (after erasure-coding parity). */
  capacityUsableFreeBytes: 'minio_cluster_capacity_usable_free_bytes',
  /** Gauge: usable total capacity of the cluster in bytes (after erasure-coding parity). */
  capacityUsableTotalBytes: 'minio_cluster_capacity_usable_total_bytes',
} as const;

/** danielqsj/kafka-exporter 1.8. */
export const KAFKA_EXPORTER_METRICS = {
  /** Gauge: brokers in the cluster metadata, as the exporter sees them. */
  brokers: 'kafka_brokers',
  /** Per `topic` and `partition`: 1 when fewer replicas are in sync than the partition has. */
  underReplicatedPartitions: 'kafka_topic_partition_under_replicated_partition',
  /** Per `consumergroup`, `topic`, `partition`: messages the group has yet to consume. */
  consumerGroupLag: 'kafka_consumergroup_lag',
} as const;

/** Milvus 2.3's own `/metrics` (port 9091), served by the proxy (and the standalone process). */
export const MILVUS_METRICS = {
  /** Counter of requests, labels `function_name`, `status` (`success`, `fail`, `total`, ...). */
  proxyRequests: 'milvus_proxy_req_count',
  /** Histogram of request latency in milliseconds, label `function_name`. */
  proxyRequestLatencyBucket: 'milvus_proxy_req_latency_bucket',
  /** Counter: query vectors the proxy searched successfully. */
  proxySearchVectors: 'milvus_proxy_search_vectors_count',
  /** Counter: vectors the proxy inserted successfully. */
  proxyInsertVectors: 'milvus_proxy_insert_vectors_count',
} as const;

/** Every store metric name the dashboards may use. */
export const STORE_METRIC_NAMES: readonly string[] = [
  MYSQLD_EXPORTER_METRICS, POSTGRES_EXPORTER_METRICS, REDIS_EXPORTER_METRICS, ETCD_METRICS, MINIO_METRICS, KAFKA_EXPORTER_METRICS, MILVUS_METRICS,
].flatMap((m) => Object.values(m));
