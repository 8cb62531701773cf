/**
 * The Redis store's alerts against a real exporter and a real Prometheus: a primary with a
 * replica (real estate's shape) and a three-master cluster (logistics dev's shape) on loopback
 * ports, Debian's redis_exporter beside every server with REDIS_ADDR and REDIS_PASSWORD as the
 * sidecars get them, and Prometheus scraping them with the rule groups of the synthesized
 * PrometheusRules (`for:` shortened to 3s). Every metric the alerts read must be served; a killed
 * replica fires the replica-missing alert on its primary, a killed cluster master the
 * cluster-not-ok alert on the others and the down alert on its own exporter.
 */
import { Chart, Testing } from 'cdk8s';
import { spawnSync } from 'child_process';
import { mkdirSync } from 'fs';
import { join } from 'path';
import { Redis } from '../../lib/data/redis/redis';
import { RedisCluster } from '../../lib/data/redis/redis-cluster';
import { PROMETHEUS_BINARIES, PrometheusServer, RuleFileGroup, ruleGroupsOf, ScrapeJob } from '../support/prometheus';
import { describeWithBinaries, findBinary, freePort, run, ServerProcess, tempDir, versionOf, waitFor } from '../support/real-servers';
import { REDIS_EXPORTER_METRICS } from '../../lib/observability/dashboards/store-metrics';
import { metricsOfRules } from '../support/promql';

const BINARIES = {
  ...PROMETHEUS_BINARIES,
  'redis-server': findBinary('redis-server'),
  'redis-cli': findBinary('redis-cli'),
  'prometheus-redis-exporter': findBinary('prometheus-redis-exporter'),
};
const PASSWORD = 'redis pw $\'"';
const SINGLE = 'cache-single';
const CLUSTER = 'cache-cluster';

interface Server {
  readonly name: string;
  readonly port: number;
  readonly process: ServerProcess;
  exporterPort?: number;
}

describeWithBinaries('Redis alerts on a real redis_exporter and Prometheus', BINARIES, 'redis-server prometheus prometheus-redis-exporter', () => {
  let dir: { path: string; remove: () => void };
  const servers: Server[] = [];
  const exporters: ServerProcess[] = [];
  let prometheus: PrometheusServer | undefined;
  let groups: RuleFileGroup[];
  let primary: Server;
  let replica: Server;
  let masters: Server[];

  async function startServer(name: string, args: string[]): Promise<Server> {
    const port = await freePort();
    const data = join(dir.path, name);
    mkdirSync(data);
    const child = new ServerProcess(BINARIES['redis-server']!, ['--port', String(port), '--bind', '127.0.0.1', '--dir', data, '--save', '', '--appendonly', 'no',
      '--requirepass', PASSWORD, '--masterauth', PASSWORD, ...args], { cwd: data });
    const server = { name, port, process: child };
    servers.push(server);
    await waitFor(`redis ${name}`, () => {
      child.assertRunning(name);
      return spawnSync(BINARIES['redis-cli']!, ['-p', String(port), 'ping'], { env: { ...process.env, REDISCLI_AUTH: PASSWORD }, encoding: 'utf8' }).stdout.trim() === 'PONG';
    }, 10_000, 100);
    return server;
  }

  /** Debian's redis_exporter beside `server`, configured as the sidecar is. */
  async function startExporter(server: Server): Promise<void> {
    const port = await freePort();
    const exporter = new ServerProcess(BINARIES['prometheus-redis-exporter']!, [], {
      cwd: dir.path,
      env: { REDIS_ADDR: `redis://127.0.0.1:${server.port}`, REDIS_PASSWORD: PASSWORD, REDIS_EXPORTER_WEB_LISTEN_ADDRESS: `127.0.0.1:${port}` },
    });
    exporters.push(exporter);
    await waitFor(`redis_exporter of ${server.name}`, async () => {
      exporter.assertRunning('redis_exporter');
      return /^redis_up 1$/m.test(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    }, 20_000);
    server.exporterPort = port;
  }

  beforeAll(async () => {
    // eslint-disable-next-line no-console
    console.log(`proven with: ${versionOf(BINARIES['prometheus-redis-exporter']!)}; ${versionOf(BINARIES['redis-server']!)}; ${versionOf(BINARIES.prometheus!)}`);
    dir = tempDir('store-redis');
    const single = new Chart(Testing.app(), 'single', { namespace: SINGLE });
    new Redis(single, 'redis', { storage: { size: '1Gi' }, passwordSecret: { name: 'redis-secret', key: 'password' }, replicas: 1 });
    const cluster = new Chart(Testing.app(), 'cluster', { namespace: CLUSTER });
    new RedisCluster(cluster, 'redis', { storage: { size: '1Gi' }, passwordSecret: { name: 'redis-secret', key: 'password' }, masters: 3, replicasPerMaster: 0 });
    groups = [...ruleGroupsOf(Testing.synth(single), 'redis-rules', { prefix: 'single' }), ...ruleGroupsOf(Testing.synth(cluster), 'redis-rules', { prefix: 'cluster' })];

    primary = await startServer('primary', []);
    replica = await startServer('replica', ['--replicaof', '127.0.0.1', String(primary.port)]);
    const busPorts = await Promise.all([0, 1, 2].map(() => freePort()));
    masters = await Promise.all([0, 1, 2].map(async (i) => startServer(`member-${i}`, [
      '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '1000', '--cluster-port', String(busPorts[i]),
    ])));
    run(BINARIES['redis-cli']!, ['--cluster', 'create', ...masters.map((m) => `127.0.0.1:${m.port}`), '--cluster-yes'], { env: { REDISCLI_AUTH: PASSWORD } });
    await waitFor('the cluster to be ok and the replica in sync', () => masters.every((m) => /cluster_state:ok/.test(
      run(BINARIES['redis-cli']!, ['-p', String(m.port), 'cluster', 'info'], { env: { REDISCLI_AUTH: PASSWORD } })))
      && /master_link_status:up/.test(run(BINARIES['redis-cli']!, ['-p', String(replica.port), 'info', 'replication'], { env: { REDISCLI_AUTH: PASSWORD } })), 20_000);

    await Promise.all(servers.map((s) => startExporter(s)));
    const job = (name: string, namespace: string, members: Server[]): ScrapeJob => ({ job: name, targets: members.map((m) => `127.0.0.1:${m.exporterPort}`), labels: { namespace } });
    // Two scrape jobs of one Prometheus cannot share a name: the cluster's job "redis" is scraped as
    // "redis-cluster-members", and its rules select that name instead.
    prometheus = await PrometheusServer.start({
      jobs: [job('redis', SINGLE, [primary]), job('redis-replica', SINGLE, [replica]), job('redis-cluster-members', CLUSTER, masters)],
      rules: { groups: groups.map((g) => (g.name.startsWith('cluster') ? renameJob(g, 'redis', 'redis-cluster-members') : g)) },
    });
    await waitFor('every exporter scraped', async () => (await prometheus!.query('redis_up')).length === 5, 20_000);
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    for (const exporter of exporters) await exporter.stop();
    for (const server of servers) await server.process.stop();
    dir?.remove();
  }, 60_000);

  test('every metric the Redis dashboard queries is served by the real exporter', async () => {
    const served = new Set<string>();
    for (const job of ['redis', 'redis-replica', 'redis-cluster-members']) for (const m of await prometheus!.metricNames(job)) served.add(m);
    expect(Object.values(REDIS_EXPORTER_METRICS).filter((m) => !served.has(m))).toEqual([]);
  });

  test('every metric the alerts select is served by the real exporter', async () => {
    const metrics = metricsOfRules(groups);
    expect(metrics).toEqual(['redis_cluster_slots_ok', 'redis_cluster_state', 'redis_connected_slaves', 'redis_up']);
    const served = new Set<string>();
    for (const job of ['redis', 'redis-replica', 'redis-cluster-members']) for (const m of await prometheus!.metricNames(job)) served.add(m);
    expect(metrics.filter((m) => !served.has(m))).toEqual([]);
    // The cluster alert with replicas (prod) joins on redis_instance_info's role.
    expect((await prometheus!.query('redis_instance_info{role="master"}')).length).toBe(4);
  });

  test('a healthy primary with its replica and a healthy cluster: no alert fires after the for: of every alert', async () => {
    await new Promise((r) => setTimeout(r, 5_000));
    expect((await prometheus!.alerts()).map((a) => `${a.labels.alertname} ${a.state}`)).toEqual([]);
  }, 20_000);

  test('the replica is killed: RedisReplicaMissing fires on the primary, RedisReplicaDown on the replica', async () => {
    await replica.process.stop();
    await prometheus!.waitFiring('RedisReplicaMissing', 30_000, { namespace: SINGLE, job: 'redis' });
    await prometheus!.waitFiring('RedisReplicaDown', 30_000, { namespace: SINGLE, job: 'redis-replica' });
  }, 70_000);

  test('a master of the cluster is killed: RedisClusterNotOk fires from the other members, RedisDown from its own exporter', async () => {
    await masters[2].process.stop();
    await prometheus!.waitFiring('RedisClusterNotOk', 30_000, { namespace: CLUSTER });
    await prometheus!.waitFiring('RedisDown', 30_000, { namespace: CLUSTER });
    // Each surviving member sees the cluster fail once it agrees the master is gone.
    const survivors = masters.slice(0, 2).map((m) => `127.0.0.1:${m.exporterPort}`).sort();
    await waitFor('RedisClusterNotOk from both surviving members', async () => JSON.stringify((await prometheus!.alerts())
      .filter((a) => a.labels.alertname === 'RedisClusterNotOk' && a.state === 'firing').map((a) => a.labels.instance).sort()) === JSON.stringify(survivors), 20_000, 500);
  }, 70_000);
});

/** The same rules with `job="<from>"` selecting job `to` (two scrape jobs of one Prometheus cannot share a name). */
function renameJob(group: RuleFileGroup, from: string, to: string): RuleFileGroup {
  return { name: group.name, rules: group.rules.map((r) => ({ ...r, expr: String(r.expr).split(`job="${from}"`).join(`job="${to}"`) })) };
}
