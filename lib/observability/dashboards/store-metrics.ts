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
  threadsConnected: 'mysql_global_status_threads_connected',
  threadsRunning: 'mysql_global_status_threads_running',
  maxConnections: 'mysql_global_variables_max_connections',
  /** Counter (no `_total`: the status variable's own name). */
  queries: 'mysql_global_status_queries',
  slowQueries: 'mysql_global_status_slow_queries',
  abortedConnects: 'mysql_global_status_aborted_connects',
  /** Replicas only. */
  secondsBehindMaster: 'mysql_slave_status_seconds_behind_master',
  slaveIoRunning: 'mysql_slave_status_slave_io_running',
  slaveSqlRunning: 'mysql_slave_status_slave_sql_running',
} as const;

/** quay.io/prometheuscommunity/postgres-exporter 0.15 (default collectors). */
export const POSTGRES_EXPORTER_METRICS = {
  up: 'pg_up',
  /** Connections per database (`datname`). */
  backends: 'pg_stat_database_numbackends',
  maxConnections: 'pg_settings_max_connections',
  commits: 'pg_stat_database_xact_commit',
  rollbacks: 'pg_stat_database_xact_rollback',
  deadlocks: 'pg_stat_database_deadlocks',
  blocksHit: 'pg_stat_database_blks_hit',
  blocksRead: 'pg_stat_database_blks_read',
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
  up: 'redis_up',
  connectedClients: 'redis_connected_clients',
  memoryUsedBytes: 'redis_memory_used_bytes',
  /** `maxmemory`; 0 when unlimited. */
  memoryMaxBytes: 'redis_memory_max_bytes',
  commandsProcessed: 'redis_commands_processed_total',
  keyspaceHits: 'redis_keyspace_hits_total',
  keyspaceMisses: 'redis_keyspace_misses_total',
  evictedKeys: 'redis_evicted_keys_total',
  connectedSlaves: 'redis_connected_slaves',
  /** Replicas only: 1 while the link to the master is up. */
  masterLinkUp: 'redis_master_link_up',
  /** Cluster members only: 1 when the cluster state is ok. */
  clusterState: 'redis_cluster_state',
  clusterSlotsOk: 'redis_cluster_slots_ok',
  clusterKnownNodes: 'redis_cluster_known_nodes',
} as const;

/** etcd 3.5's own `/metrics`. */
export const ETCD_METRICS = {
  hasLeader: 'etcd_server_has_leader',
  leaderChanges: 'etcd_server_leader_changes_seen_total',
  proposalsFailed: 'etcd_server_proposals_failed_total',
  dbSizeBytes: 'etcd_mvcc_db_total_size_in_bytes',
  quotaBackendBytes: 'etcd_server_quota_backend_bytes',
  walFsyncSecondsBucket: 'etcd_disk_wal_fsync_duration_seconds_bucket',
} as const;

/** MinIO's v2 cluster metrics (`/minio/v2/metrics/cluster`). */
export const MINIO_METRICS = {
  nodesOnline: 'minio_cluster_nodes_online_total',
  nodesOffline: 'minio_cluster_nodes_offline_total',
  capacityUsableFreeBytes: 'minio_cluster_capacity_usable_free_bytes',
  capacityUsableTotalBytes: 'minio_cluster_capacity_usable_total_bytes',
} as const;

/** danielqsj/kafka-exporter 1.8. */
export const KAFKA_EXPORTER_METRICS = {
  brokers: 'kafka_brokers',
  underReplicatedPartitions: 'kafka_topic_partition_under_replicated_partition',
  consumerGroupLag: 'kafka_consumergroup_lag',
} as const;

/** Milvus 2.3's own `/metrics` (port 9091), served by the proxy (and the standalone process). */
export const MILVUS_METRICS = {
  /** Counter of requests, labels `function_name`, `status` (`success`, `fail`, `total`, ...). */
  proxyRequests: 'milvus_proxy_req_count',
  /** Histogram of request latency in milliseconds, label `function_name`. */
  proxyRequestLatencyBucket: 'milvus_proxy_req_latency_bucket',
  proxySearchVectors: 'milvus_proxy_search_vectors_count',
  proxyInsertVectors: 'milvus_proxy_insert_vectors_count',
} as const;

/** Every store metric name the dashboards may use. */
export const STORE_METRIC_NAMES: readonly string[] = [
  MYSQLD_EXPORTER_METRICS, POSTGRES_EXPORTER_METRICS, REDIS_EXPORTER_METRICS, ETCD_METRICS, MINIO_METRICS, KAFKA_EXPORTER_METRICS, MILVUS_METRICS,
].flatMap((m) => Object.values(m));
