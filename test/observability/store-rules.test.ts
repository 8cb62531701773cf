/**
 * The stores' alert rules with Prometheus' own tool: `promtool check rules` on the store rules of
 * every environment, and `promtool test rules` proving each store alert fires above its threshold
 * once its `for:` has passed, not before, and stays silent below it. Also the monitoring surface
 * of every environment's stores: each PodMonitor names a container port of the pods it selects,
 * carries the discovery labels, and every exporter sidecar is pinned, probed, limited and reads
 * its credentials from Secrets only.
 */
import { Chart, Testing } from 'cdk8s';
import { MilvusCluster } from '../../lib/data/milvus';
import { MySql } from '../../lib/data/mysql/mysql';
import { Redis } from '../../lib/data/redis/redis';
import { RedisCluster } from '../../lib/data/redis/redis-cluster';
import { AlertRules } from '../../lib/observability/alert-rules';
import { DEFAULT_POSTGRES_REPLICATION_LAG_BYTES, postgresRuleGroups } from '../../lib/observability/store-rules/postgres';
import { StoreSeries } from '../../lib/observability/store-rules/store-selector';
import { checkRules, PROMETHEUS_BINARIES, RuleFileGroup, RuleUnitTest, testRules } from '../support/prometheus';
import { describeWithBinaries } from '../support/real-servers';
import { env, MATRIX } from '../support/solution-objects';

type Obj = any;

const NS = 'ns';
/** Store PrometheusRules by solution (real estate's postgres-rules come with the Postgres construct's wiring). */
const STORE_RULES: Record<string, string[]> = {
  'logistics': ['milvus-rules', 'mysql-rules', 'redis-rules'],
  'real-estate': ['milvus-rules', 'postgres-rules', 'redis-rules'],
};
const EXPORTER_CONTAINERS = ['mysqld-exporter', 'postgres-exporter', 'redis-exporter', 'kafka-exporter'];

function storeRulesOf(objects: Obj[]): Obj[] {
  return objects.filter((o) => o.kind === 'PrometheusRule' && o.metadata.name !== `${o.metadata.namespace}-alerts`);
}

function podTemplates(objects: Obj[]): Obj[] {
  return objects.filter((o) => ['StatefulSet', 'Deployment', 'Rollout'].includes(o.kind));
}

describe('store monitoring objects of every environment', () => {
  test.each(MATRIX)('%s/%s: every store has its rules, and every monitor and rule carries the discovery labels', (solution, environment) => {
    const { objects } = env(solution, environment);
    const names = storeRulesOf(objects).map((o) => o.metadata.name).sort();
    expect(names).toEqual(expect.arrayContaining(STORE_RULES[solution]));
    for (const o of objects.filter((x) => ['PodMonitor', 'PrometheusRule'].includes(x.kind))) {
      expect({ object: `${o.kind}/${o.metadata.name}`, release: o.metadata.labels?.release }).toEqual({ object: `${o.kind}/${o.metadata.name}`, release: 'kube-prometheus-stack' });
    }
  });

  test.each(MATRIX)('%s/%s: every PodMonitor scrapes a container port of the pods it selects', (solution, environment) => {
    const { objects } = env(solution, environment);
    const monitors = objects.filter((o) => o.kind === 'PodMonitor');
    expect(monitors.length).toBeGreaterThan(0);
    for (const monitor of monitors) {
      const selected = podTemplates(objects).filter((w) => w.metadata.namespace === monitor.metadata.namespace
        && Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => w.spec.template.metadata.labels[k] === v));
      expect({ monitor: monitor.metadata.name, workloads: selected.length }).toEqual({ monitor: monitor.metadata.name, workloads: 1 });
      const portNames = selected[0].spec.template.spec.containers.flatMap((c: Obj) => (c.ports ?? []).map((p: Obj) => p.name));
      for (const endpoint of monitor.spec.podMetricsEndpoints) expect({ monitor: monitor.metadata.name, port: endpoint.port, declared: portNames.includes(endpoint.port) }).toEqual({ monitor: monitor.metadata.name, port: endpoint.port, declared: true });
    }
  });

  test.each(MATRIX)('%s/%s: exporter sidecars are pinned, probed, limited, restricted, and read credentials from Secrets only', (solution, environment) => {
    const { objects } = env(solution, environment);
    const sidecars = podTemplates(objects).flatMap((w) => w.spec.template.spec.containers).filter((c: Obj) => EXPORTER_CONTAINERS.includes(c.name));
    expect(sidecars.length).toBeGreaterThan(0);
    for (const c of sidecars) {
      expect(c.image).toMatch(/:v\d+\.\d+\.\d+$/);
      expect(c.ports).toEqual([expect.objectContaining({ name: 'metrics' })]);
      expect(c.livenessProbe.httpGet.port).toBe('metrics');
      expect(c.readinessProbe.httpGet.port).toBe('metrics');
      expect(c.resources.requests && c.resources.limits).toBeTruthy();
      expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true });
      for (const e of c.env ?? []) {
        if (/PASS|PASSWORD/.test(e.name)) expect({ container: c.name, env: e.name, fromSecret: Boolean(e.valueFrom?.secretKeyRef) }).toEqual({ container: c.name, env: e.name, fromSecret: true });
        expect(e.name).not.toBe('DATA_SOURCE_NAME');
      }
    }
  });
});

describeWithBinaries('store rules checked by promtool', PROMETHEUS_BINARIES, 'prometheus', () => {
  test.each(MATRIX)('%s/%s: promtool check rules accepts every store rule group', (solution, environment) => {
    const rules = storeRulesOf(env(solution, environment).objects);
    const result = checkRules({ groups: rules.flatMap((r) => r.spec.groups) });
    expect({ status: result.status, output: result.output }).toEqual({ status: 0, output: expect.stringContaining('SUCCESS') });
  });
});

// ---- promtool test rules: every store alert, above and below its threshold, before and after for: ----

/** The rule groups of every store, built in a chart of namespace `ns`. */
function allStoreGroups(): RuleFileGroup[] {
  const chart = new Chart(Testing.app(), 'data', { namespace: NS });
  const secret = { name: 's', key: 'k' };
  new MySql(chart, 'mysql', { replicas: 2, database: 'db', storage: { size: '10Gi' }, rootPasswordSecret: secret, replicationPasswordSecret: { name: 's', key: 'r' } });
  new AlertRules(chart, 'postgres', {
    name: 'postgres-rules',
    groups: postgresRuleGroups({ series: new StoreSeries(NS), primaryJob: 'postgres', standby: { job: 'postgres-standby', replicas: 1 }, replicationLagBytes: DEFAULT_POSTGRES_REPLICATION_LAG_BYTES }),
  });
  new RedisCluster(chart, 'redis', { storage: { size: '1Gi' }, passwordSecret: secret, replicasPerMaster: 1 });
  new Redis(chart, 'cache', { name: 'cache', storage: { size: '1Gi' }, passwordSecret: secret, replicas: 1 });
  new MilvusCluster(chart, 'milvus', { objectStorage: { minio: { accessKeySecret: secret, secretKeySecret: secret } }, messageQueue: { kafka: {} } });
  const rules = Testing.synth(chart).filter((o) => o.kind === 'PrometheusRule');
  // Group names must be unique in one rule file. Annotations are left out: promtool would compare
  // them too, and what is tested here is when each alert fires (promtool check rules parses them).
  return rules.flatMap((r) => r.spec.groups.map((g: Obj) => ({
    name: `${r.metadata.name}/${g.name}`,
    rules: g.rules.map(({ annotations, ...rule }: Obj) => rule),
  })));
}

const MINUTES = 40;
const series = (s: string, value: number | string): { series: string; values: string } => ({ series: s, values: `${value}x${MINUTES}` });
const other = series(`unrelated{namespace="${NS}"}`, 1);

/** The alert fires with `labels` one minute after `forMinutes`, and not one minute before. */
function fires(alert: string, input: { series: string; values: string }[], forMinutes: number, labels: Record<string, string>, severity: string): RuleUnitTest {
  return {
    interval: '1m',
    input_series: [other, ...input],
    alert_rule_test: [
      { eval_time: `${forMinutes - 1}m`, alertname: alert, exp_alerts: [] },
      { eval_time: `${forMinutes + 1}m`, alertname: alert, exp_alerts: [{ exp_labels: { severity, namespace: NS, ...labels } }] },
    ],
  };
}

/** The alert stays silent for the whole input. */
function silent(alert: string, input: { series: string; values: string }[]): RuleUnitTest {
  return { interval: '1m', input_series: [other, ...input], alert_rule_test: [{ eval_time: `${MINUTES - 5}m`, alertname: alert, exp_alerts: [] }] };
}

const at = (job: string, extra = '') => `{namespace="${NS}", job="${job}", instance="i1"${extra}}`;
const I = (job: string, extra: Record<string, string> = {}) => ({ job, instance: 'i1', ...extra });

const UNIT_TESTS: Record<string, RuleUnitTest[]> = {
  MysqlPrimaryDown: [
    fires('MysqlPrimaryDown', [series(`mysql_up${at('mysql-primary')}`, 0)], 2, I('mysql-primary'), 'P0'),
    fires('MysqlPrimaryDown', [], 2, { job: 'mysql-primary' }, 'P0'),
    silent('MysqlPrimaryDown', [series(`mysql_up${at('mysql-primary')}`, 1)]),
  ],
  MysqlReplicaDown: [
    fires('MysqlReplicaDown', [series(`mysql_up${at('mysql-replica')}`, 0)], 2, I('mysql-replica'), 'P1'),
    silent('MysqlReplicaDown', [series(`mysql_up${at('mysql-replica')}`, 1)]),
  ],
  MysqlReplicationStopped: [
    fires('MysqlReplicationStopped', [series(`mysql_up${at('mysql-replica')}`, 1), series(`mysql_slave_status_slave_io_running${at('mysql-replica')}`, 0),
      series(`mysql_slave_status_slave_sql_running${at('mysql-replica')}`, 1)], 2, I('mysql-replica'), 'P1'),
    fires('MysqlReplicationStopped', [series(`mysql_up${at('mysql-replica')}`, 1), series(`mysql_slave_status_slave_io_running${at('mysql-replica')}`, 1),
      series(`mysql_slave_status_slave_sql_running${at('mysql-replica')}`, 0)], 2, I('mysql-replica'), 'P1'),
    // No replication at all on a replica whose server answers.
    fires('MysqlReplicationStopped', [series(`mysql_up${at('mysql-replica')}`, 1)], 2, I('mysql-replica'), 'P1'),
    silent('MysqlReplicationStopped', [series(`mysql_up${at('mysql-replica')}`, 1), series(`mysql_slave_status_slave_io_running${at('mysql-replica')}`, 1),
      series(`mysql_slave_status_slave_sql_running${at('mysql-replica')}`, 1)]),
  ],
  MysqlReplicationLagging: [
    fires('MysqlReplicationLagging', [series(`mysql_slave_status_seconds_behind_master${at('mysql-replica')}`, 301)], 5, I('mysql-replica'), 'P2'),
    silent('MysqlReplicationLagging', [series(`mysql_slave_status_seconds_behind_master${at('mysql-replica')}`, 300)]),
  ],
  PostgresPrimaryDown: [
    fires('PostgresPrimaryDown', [series(`pg_up${at('postgres')}`, 0)], 2, I('postgres'), 'P0'),
    fires('PostgresPrimaryDown', [], 2, { job: 'postgres' }, 'P0'),
    silent('PostgresPrimaryDown', [series(`pg_up${at('postgres')}`, 1)]),
  ],
  PostgresStandbyDown: [
    fires('PostgresStandbyDown', [series(`pg_up${at('postgres-standby')}`, 0)], 2, I('postgres-standby'), 'P1'),
    silent('PostgresStandbyDown', [series(`pg_up${at('postgres-standby')}`, 1)]),
  ],
  PostgresStandbyNotStreaming: [
    fires('PostgresStandbyNotStreaming', [series(`pg_up${at('postgres')}`, 1)], 2, { job: 'postgres' }, 'P1'),
    fires('PostgresStandbyNotStreaming', [series(`pg_up${at('postgres')}`, 1), series(`pg_stat_replication_pg_wal_lsn_diff${at('postgres', ', state="catchup"')}`, 0)], 2, { job: 'postgres' }, 'P1'),
    silent('PostgresStandbyNotStreaming', [series(`pg_up${at('postgres')}`, 1), series(`pg_stat_replication_pg_wal_lsn_diff${at('postgres', ', state="streaming"')}`, 0)]),
  ],
  PostgresReplicationLagging: [
    fires('PostgresReplicationLagging', [series(`pg_stat_replication_pg_wal_lsn_diff${at('postgres', ', state="streaming"')}`, DEFAULT_POSTGRES_REPLICATION_LAG_BYTES + 1)], 5,
      I('postgres', { state: 'streaming' }), 'P2'),
    silent('PostgresReplicationLagging', [series(`pg_stat_replication_pg_wal_lsn_diff${at('postgres', ', state="streaming"')}`, DEFAULT_POSTGRES_REPLICATION_LAG_BYTES)]),
  ],
  RedisDown: [
    fires('RedisDown', [series(`redis_up${at('redis')}`, 0)], 2, I('redis'), 'P1'),
    fires('RedisDown', [], 2, { job: 'redis' }, 'P1'),
    silent('RedisDown', [series(`redis_up${at('redis')}`, 1)]),
  ],
  RedisClusterNotOk: [
    fires('RedisClusterNotOk', [series(`redis_cluster_state${at('redis')}`, 0), series(`redis_cluster_slots_ok${at('redis')}`, 16384)], 1, I('redis'), 'P1'),
    fires('RedisClusterNotOk', [series(`redis_cluster_state${at('redis')}`, 1), series(`redis_cluster_slots_ok${at('redis')}`, 16383)], 1, I('redis'), 'P1'),
    silent('RedisClusterNotOk', [series(`redis_cluster_state${at('redis')}`, 1), series(`redis_cluster_slots_ok${at('redis')}`, 16384)]),
  ],
  RedisMasterWithoutReplica: [
    fires('RedisMasterWithoutReplica', [series(`redis_connected_slaves${at('redis')}`, 0), series(`redis_instance_info${at('redis', ', role="master"')}`, 1)], 5, I('redis'), 'P2'),
    silent('RedisMasterWithoutReplica', [series(`redis_connected_slaves${at('redis')}`, 1), series(`redis_instance_info${at('redis', ', role="master"')}`, 1)]),
    // A replica has no replicas of its own.
    silent('RedisMasterWithoutReplica', [series(`redis_connected_slaves${at('redis')}`, 0), series(`redis_instance_info${at('redis', ', role="slave"')}`, 1)]),
  ],
  RedisPrimaryDown: [
    fires('RedisPrimaryDown', [series(`redis_up${at('cache')}`, 0)], 2, I('cache'), 'P1'),
    silent('RedisPrimaryDown', [series(`redis_up${at('cache')}`, 1)]),
  ],
  RedisReplicaDown: [
    fires('RedisReplicaDown', [series(`redis_up${at('cache-replica')}`, 0)], 2, I('cache-replica'), 'P2'),
    silent('RedisReplicaDown', [series(`redis_up${at('cache-replica')}`, 1)]),
  ],
  RedisReplicaMissing: [
    fires('RedisReplicaMissing', [series(`redis_connected_slaves${at('cache')}`, 0)], 5, I('cache'), 'P2'),
    silent('RedisReplicaMissing', [series(`redis_connected_slaves${at('cache')}`, 1)]),
  ],
  MilvusUnavailable: [
    fires('MilvusUnavailable', [series(`up${at('milvus')}`, 0)], 2, { job: 'milvus' }, 'P1'),
    fires('MilvusUnavailable', [], 2, { job: 'milvus' }, 'P1'),
    silent('MilvusUnavailable', [series(`up${at('milvus')}`, 1), series(`up${at('milvus', '').replace('i1', 'i2')}`, 0)]),
  ],
  EtcdNoLeader: [
    fires('EtcdNoLeader', [series(`etcd_server_has_leader${at('milvus-etcd')}`, 0)], 2, I('milvus-etcd'), 'P1'),
    silent('EtcdNoLeader', [series(`etcd_server_has_leader${at('milvus-etcd')}`, 1)]),
  ],
  MinioNodesOffline: [
    fires('MinioNodesOffline', [series(`minio_cluster_nodes_offline_total${at('milvus-minio')}`, 1)], 5, I('milvus-minio'), 'P2'),
    silent('MinioNodesOffline', [series(`minio_cluster_nodes_offline_total${at('milvus-minio')}`, 0)]),
  ],
  KafkaBrokersMissing: [
    fires('KafkaBrokersMissing', [series(`kafka_brokers${at('milvus-kafka')}`, 2)], 5, { job: 'milvus-kafka' }, 'P2'),
    fires('KafkaBrokersMissing', [], 5, { job: 'milvus-kafka' }, 'P2'),
    silent('KafkaBrokersMissing', [series(`kafka_brokers${at('milvus-kafka')}`, 3)]),
  ],
};

describeWithBinaries('store alerts under promtool test rules', PROMETHEUS_BINARIES, 'prometheus', () => {
  const groups = allStoreGroups();
  const alerts = groups.flatMap((g) => g.rules.map((r) => r.alert)).filter((a): a is string => typeof a === 'string');

  test('every store alert has unit tests', () => {
    expect(Object.keys(UNIT_TESTS).sort()).toEqual([...alerts].sort());
  });

  test.each(Object.keys(UNIT_TESTS))('%s fires above its threshold after for:, not before, and stays silent below', (alert) => {
    const result = testRules({ groups }, UNIT_TESTS[alert]);
    expect({ status: result.status, output: result.output }).toEqual({ status: 0, output: expect.stringContaining('SUCCESS') });
  });
});
