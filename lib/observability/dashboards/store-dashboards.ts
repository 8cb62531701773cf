import { MilvusComponent } from '../../data/milvus/milvus-component';
import { MilvusEtcd } from '../../data/milvus/etcd';
import { MilvusKafka } from '../../data/milvus/kafka';
import { MilvusMinio } from '../../data/milvus/minio';
import { MySqlServer } from '../../data/mysql/mysql-server';
import { PostgresServer } from '../../data/postgres/postgres-server';
import { RedisServers } from '../../data/redis/redis-servers';
import { Workload } from '../../workload';
import { KUBERNETES_METRICS as K } from '../rules/kubernetes-metrics';
import { namespaceMatcher, oneOfMatcher, selector } from '../rules/promql';
import { PanelSpec, RowSpec } from './dashboard-builder';
import {
  ETCD_METRICS as E, KAFKA_EXPORTER_METRICS as KF, MILVUS_METRICS as MV, MINIO_METRICS as MN,
  MYSQLD_EXPORTER_METRICS as M, POSTGRES_EXPORTER_METRICS as P, REDIS_EXPORTER_METRICS as R,
} from './store-metrics';

/** What a store dashboard reads: its namespace and the `job` of each of its components' workloads. */
export interface StoreDashboardContext {
  /** The environment's namespace: every query is limited to it. */
  readonly namespace: string;
  /** Component -> jobs of its workloads present in the environment. */
  readonly jobs: Readonly<Record<string, readonly string[]>>;
}

/** A kind of store: the workloads that make it, and its dashboard's rows. */
export interface StoreKind {
  /** Dashboard name suffix and uid part: `mysql`. */
  readonly id: string;
  /** Name of the store as the dashboard title and description say it: `MySQL`, `Milvus`. */
  readonly title: string;
  /** Component -> test of a workload; the first component present makes the store present. */
  readonly components: Readonly<Record<string, (w: Workload) => boolean>>;
  /** The dashboard's rows, with queries limited to the context's namespace and the jobs of the components present. */
  rows(c: StoreDashboardContext): RowSpec[];
}

const RATE = '$__rate_interval';

/** `metric{namespace="<ns>", job=~"<jobs>"}` plus `extra` matchers. */
function sel(c: StoreDashboardContext, component: string, metric: string, ...extra: string[]): string {
  return selector(metric, namespaceMatcher(c.namespace), oneOfMatcher('job', c.jobs[component]), ...extra);
}

function targetsUp(c: StoreDashboardContext, component: string, what: string): PanelSpec {
  return {
    title: `${what}: scrape targets up`,
    description: `Prometheus' up per pod: 0 (or no data) when the metrics endpoint of ${what} does not answer, and every other panel of it is blind.`,
    kind: 'stat', unit: 'short', upDown: true,
    queries: [{ expr: sel(c, component, K.up), legend: '{{pod}}' }],
  };
}

const MYSQL: StoreKind = {
  id: 'mysql',
  title: 'MySQL',
  components: { mysql: (w) => w instanceof MySqlServer },
  rows: (c) => [
    {
      title: 'Availability',
      panels: [
        targetsUp(c, 'mysql', 'mysqld_exporter'),
        { title: 'Server up (mysql_up)', description: 'The exporter reached its server: 0 while mysqld is down or refuses the exporter\'s login.', kind: 'stat', unit: 'short', upDown: true, queries: [{ expr: sel(c, 'mysql', M.up), legend: '{{pod}}' }] },
        {
          title: 'Connections / max_connections', description: 'Threads connected over max_connections: new connections are refused at 100%.', unit: 'percentunit', min: 0, max: 1,
          queries: [{ expr: `${sel(c, 'mysql', M.threadsConnected)}\n  / on (namespace, pod) ${sel(c, 'mysql', M.maxConnections)}`, legend: '{{pod}}' }],
        },
      ],
    },
    {
      title: 'Load',
      panels: [
        { title: 'Queries per second', description: 'Statements the server ran (Queries status variable), per pod.', unit: 'ops', queries: [{ expr: `rate(${sel(c, 'mysql', M.queries)}[${RATE}])`, legend: '{{pod}}' }] },
        { title: 'Threads running', description: 'Statements executing now: a lasting rise means queries pile up (locks, slow disk).', unit: 'short', queries: [{ expr: sel(c, 'mysql', M.threadsRunning), legend: '{{pod}}' }] },
        {
          title: 'Slow queries and aborted connects', description: 'Queries over long_query_time, and failed connection attempts (wrong password, network), per second.', unit: 'ops',
          queries: [
            { expr: `rate(${sel(c, 'mysql', M.slowQueries)}[${RATE}])`, legend: '{{pod}} slow' },
            { expr: `rate(${sel(c, 'mysql', M.abortedConnects)}[${RATE}])`, legend: '{{pod}} aborted connects' },
          ],
        },
      ],
    },
    {
      title: 'Replication',
      panels: [
        { title: 'Replication lag', description: 'Seconds_Behind_Master of each replica: reads from the read endpoint are this stale.', unit: 's', queries: [{ expr: sel(c, 'mysql', M.secondsBehindMaster), legend: '{{pod}}' }] },
        {
          title: 'Replication threads running', description: 'Replica IO and SQL threads: 0 means replication has stopped (see the replica\'s SHOW REPLICA STATUS).', kind: 'stat', unit: 'short', upDown: true,
          queries: [
            { expr: sel(c, 'mysql', M.slaveIoRunning), legend: '{{pod}} IO' },
            { expr: sel(c, 'mysql', M.slaveSqlRunning), legend: '{{pod}} SQL' },
          ],
        },
      ],
    },
  ],
};

const POSTGRES: StoreKind = {
  id: 'postgresql',
  title: 'PostgreSQL',
  components: { postgres: (w) => w instanceof PostgresServer },
  rows: (c) => [
    {
      title: 'Availability',
      panels: [
        targetsUp(c, 'postgres', 'postgres_exporter'),
        { title: 'Server up (pg_up)', description: 'The exporter reached its server: 0 while PostgreSQL is down or refuses the exporter.', kind: 'stat', unit: 'short', upDown: true, queries: [{ expr: sel(c, 'postgres', P.up), legend: '{{pod}}' }] },
        {
          title: 'Connections / max_connections', description: 'Backends of all databases over max_connections: new connections are refused at 100%.', unit: 'percentunit', min: 0, max: 1,
          queries: [{ expr: `sum by (namespace, pod) (${sel(c, 'postgres', P.backends)})\n  / on (namespace, pod) ${sel(c, 'postgres', P.maxConnections)}`, legend: '{{pod}}' }],
        },
      ],
    },
    {
      title: 'Load',
      panels: [
        {
          title: 'Transactions per second', description: 'Commits and rollbacks of all databases, per pod.', unit: 'ops',
          queries: [
            { expr: `sum by (pod) (rate(${sel(c, 'postgres', P.commits)}[${RATE}]))`, legend: '{{pod}} commits' },
            { expr: `sum by (pod) (rate(${sel(c, 'postgres', P.rollbacks)}[${RATE}]))`, legend: '{{pod}} rollbacks' },
          ],
        },
        {
          title: 'Buffer cache hit ratio', description: 'Blocks found in shared buffers over all blocks read: a drop means the working set outgrew memory.', unit: 'percentunit', min: 0, max: 1,
          queries: [{
            expr: `sum by (pod) (rate(${sel(c, 'postgres', P.blocksHit)}[${RATE}]))\n  / (sum by (pod) (rate(${sel(c, 'postgres', P.blocksHit)}[${RATE}])) + sum by (pod) (rate(${sel(c, 'postgres', P.blocksRead)}[${RATE}])) > 0)`,
            legend: '{{pod}}',
          }],
        },
        { title: 'Deadlocks', description: 'Deadlocks detected per second, all databases.', unit: 'ops', queries: [{ expr: `sum by (pod) (rate(${sel(c, 'postgres', P.deadlocks)}[${RATE}]))`, legend: '{{pod}}' }] },
        { title: 'Database size', description: 'Size of each database on the primary.', unit: 'bytes', queries: [{ expr: sel(c, 'postgres', P.databaseSizeBytes, 'datname!~"template0|template1"'), legend: '{{pod}} {{datname}}' }] },
      ],
    },
    {
      title: 'Replication',
      panels: [
        { title: 'Standby replay lag (seconds)', description: 'On a standby: time since the last replayed transaction (grows also when the primary is idle).', unit: 's', queries: [{ expr: `${sel(c, 'postgres', P.replicationLagSeconds)}\n  and on (namespace, pod) ${sel(c, 'postgres', P.isReplica)} == 1`, legend: '{{pod}}' }] },
        { title: 'Standby lag (bytes of WAL)', description: 'On the primary, per standby connection (pg_stat_replication): WAL not yet replayed by it.', unit: 'bytes', queries: [{ expr: sel(c, 'postgres', P.walLsnDiffBytes), legend: '{{application_name}} {{state}}' }] },
      ],
    },
  ],
};

const REDIS: StoreKind = {
  id: 'redis',
  title: 'Redis',
  components: { redis: (w) => w instanceof RedisServers },
  rows: (c) => [
    {
      title: 'Availability',
      panels: [
        targetsUp(c, 'redis', 'redis_exporter'),
        { title: 'Server up (redis_up)', description: 'The exporter reached its server: 0 while Redis is down or refuses the exporter\'s password.', kind: 'stat', unit: 'short', upDown: true, queries: [{ expr: sel(c, 'redis', R.up), legend: '{{pod}}' }] },
        {
          title: 'Cluster state and slots', description: 'Cluster members only: cluster_state ok (1) and slots served ok (16384 when every slot has a master).', unit: 'short',
          queries: [
            { expr: sel(c, 'redis', R.clusterState), legend: '{{pod}} state ok' },
            { expr: sel(c, 'redis', R.clusterSlotsOk), legend: '{{pod}} slots ok' },
          ],
        },
        {
          title: 'Replication', description: 'Replicas connected to each master, and each replica\'s link to its master (1 up).', unit: 'short',
          queries: [
            { expr: sel(c, 'redis', R.connectedSlaves), legend: '{{pod}} replicas connected' },
            { expr: sel(c, 'redis', R.masterLinkUp), legend: '{{pod}} master link up' },
          ],
        },
      ],
    },
    {
      title: 'Load and memory',
      panels: [
        { title: 'Commands per second', description: 'Commands processed, per pod.', unit: 'ops', queries: [{ expr: `rate(${sel(c, 'redis', R.commandsProcessed)}[${RATE}])`, legend: '{{pod}}' }] },
        { title: 'Connected clients', description: 'Client connections, per pod.', unit: 'short', queries: [{ expr: sel(c, 'redis', R.connectedClients), legend: '{{pod}}' }] },
        {
          title: 'Keyspace hit ratio', description: 'Lookups that found their key: a low ratio means the cache misses (cold, evicting or wrong keys).', unit: 'percentunit', min: 0, max: 1,
          queries: [{
            expr: `rate(${sel(c, 'redis', R.keyspaceHits)}[${RATE}])\n  / (rate(${sel(c, 'redis', R.keyspaceHits)}[${RATE}]) + rate(${sel(c, 'redis', R.keyspaceMisses)}[${RATE}]) > 0)`,
            legend: '{{pod}}',
          }],
        },
        {
          title: 'Memory used / maxmemory', description: 'Used memory over maxmemory (pods without maxmemory left out): keys are evicted, or writes refused, at 100%.', unit: 'percentunit', min: 0, max: 1,
          queries: [{ expr: `${sel(c, 'redis', R.memoryUsedBytes)}\n  / on (namespace, pod) (${sel(c, 'redis', R.memoryMaxBytes)} > 0)`, legend: '{{pod}}' }],
        },
        { title: 'Evicted keys', description: 'Keys evicted per second to stay under maxmemory.', unit: 'ops', queries: [{ expr: `rate(${sel(c, 'redis', R.evictedKeys)}[${RATE}])`, legend: '{{pod}}' }] },
      ],
    },
  ],
};

const MILVUS: StoreKind = {
  id: 'milvus',
  title: 'Milvus',
  components: {
    milvus: (w) => w instanceof MilvusComponent,
    etcd: (w) => w instanceof MilvusEtcd,
    minio: (w) => w instanceof MilvusMinio,
    kafka: (w) => w instanceof MilvusKafka,
  },
  rows: (c) => [
    {
      title: 'Milvus',
      panels: [
        targetsUp(c, 'milvus', 'Milvus'),
        {
          title: 'Requests per second', description: 'Requests the proxies (or the standalone) answered, by function and status.', unit: 'reqps',
          queries: [{ expr: `sum by (function_name, status) (rate(${sel(c, 'milvus', MV.proxyRequests, 'status!="total"')}[${RATE}]))`, legend: '{{function_name}} {{status}}' }],
        },
        {
          title: 'p95 request latency', description: 'Of the proxies (or the standalone), by function.', unit: 'ms',
          queries: [{ expr: `histogram_quantile(0.95, sum by (function_name, le) (rate(${sel(c, 'milvus', MV.proxyRequestLatencyBucket)}[${RATE}])))`, legend: '{{function_name}}' }],
        },
        {
          title: 'Vectors searched and inserted', description: 'Per second, through the proxies.', unit: 'ops',
          queries: [
            { expr: `sum(rate(${sel(c, 'milvus', MV.proxySearchVectors)}[${RATE}]))`, legend: 'searched' },
            { expr: `sum(rate(${sel(c, 'milvus', MV.proxyInsertVectors)}[${RATE}]))`, legend: 'inserted' },
          ],
        },
      ],
    },
    ...(c.jobs.etcd ? [{
      title: 'etcd (Milvus metadata)',
      panels: [
        targetsUp(c, 'etcd', 'etcd'),
        { title: 'Has leader', description: 'Each member sees a leader: without one Milvus cannot read or write its metadata.', kind: 'stat' as const, unit: 'short', upDown: true, queries: [{ expr: sel(c, 'etcd', E.hasLeader), legend: '{{pod}}' }] },
        {
          title: 'Leader changes and failed proposals', description: 'Per hour: frequent changes mean members lose each other (network, slow disk).', unit: 'short',
          queries: [
            { expr: `increase(${sel(c, 'etcd', E.leaderChanges)}[1h])`, legend: '{{pod}} leader changes' },
            { expr: `increase(${sel(c, 'etcd', E.proposalsFailed)}[1h])`, legend: '{{pod}} failed proposals' },
          ],
        },
        {
          title: 'Database size / quota', description: 'The backend database over its quota: etcd refuses writes (NOSPACE alarm) at 100%.', unit: 'percentunit', min: 0, max: 1,
          queries: [{ expr: `${sel(c, 'etcd', E.dbSizeBytes)}\n  / on (namespace, pod) ${sel(c, 'etcd', E.quotaBackendBytes)}`, legend: '{{pod}}' }],
        },
        {
          title: 'p99 WAL fsync', description: 'Disk latency of the write-ahead log: over ~10 ms the disk is too slow for etcd.', unit: 's',
          queries: [{ expr: `histogram_quantile(0.99, sum by (pod, le) (rate(${sel(c, 'etcd', E.walFsyncSecondsBucket)}[${RATE}])))`, legend: '{{pod}}' }],
        },
      ],
    }] : []),
    ...(c.jobs.minio ? [{
      title: 'MinIO (Milvus segments and indexes)',
      panels: [
        targetsUp(c, 'minio', 'MinIO'),
        {
          title: 'Nodes online and offline', description: 'MinIO\'s own view of its nodes: an offline node loses its drives\' share of every object.', unit: 'short',
          queries: [
            { expr: `max(${sel(c, 'minio', MN.nodesOnline)})`, legend: 'online' },
            { expr: `max(${sel(c, 'minio', MN.nodesOffline)})`, legend: 'offline' },
          ],
        },
        {
          title: 'Usable capacity used', description: 'Used over usable capacity of the deployment.', unit: 'percentunit', min: 0, max: 1,
          queries: [{ expr: `1 - max(${sel(c, 'minio', MN.capacityUsableFreeBytes)}) / max(${sel(c, 'minio', MN.capacityUsableTotalBytes)})`, legend: 'used' }],
        },
      ],
    }] : []),
    ...(c.jobs.kafka ? [{
      title: 'Kafka (Milvus message queue)',
      panels: [
        targetsUp(c, 'kafka', 'kafka_exporter'),
        { title: 'Brokers in the cluster', description: 'Brokers in the cluster metadata, as each exporter sees them.', unit: 'short', queries: [{ expr: sel(c, 'kafka', KF.brokers), legend: '{{pod}}' }] },
        {
          title: 'Under-replicated partitions', description: 'Partitions with a replica out of sync: a further broker loss can lose their data.', unit: 'short',
          queries: [{ expr: `sum(max by (topic, partition) (${sel(c, 'kafka', KF.underReplicatedPartitions)}))`, legend: 'under-replicated' }],
        },
        {
          title: 'Consumer group lag', description: 'Messages not yet consumed, per consumer group (the Milvus nodes reading the message streams).', unit: 'short',
          queries: [{ expr: `sum by (consumergroup) (max by (consumergroup, topic, partition) (${sel(c, 'kafka', KF.consumerGroupLag)}))`, legend: '{{consumergroup}}' }],
        },
      ],
    }] : []),
  ],
};

/** Every store kind that gets a dashboard when its workloads are in the environment. */
export const STORE_KINDS: readonly StoreKind[] = [MYSQL, POSTGRES, REDIS, MILVUS];

/** The jobs of each component of `kind` among `workloads`; undefined when the store is not there. */
export function storeJobs(kind: StoreKind, workloads: readonly Workload[]): Record<string, string[]> | undefined {
  const jobs: Record<string, string[]> = {};
  for (const [component, matches] of Object.entries(kind.components)) {
    const names = workloads.filter(matches).map((w) => w.name).sort();
    if (names.length > 0) jobs[component] = [...new Set(names)];
  }
  const main = Object.keys(kind.components)[0];
  return jobs[main] ? jobs : undefined;
}
