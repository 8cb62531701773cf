/**
 * The MySQL store's alerts against a real exporter and a real Prometheus: a MariaDB primary and a
 * replica replicating by GTID on loopback ports, Debian's mysqld_exporter beside each (as the
 * sidecars are), and Prometheus scraping them with the rule groups of the synthesized
 * PrometheusRule (`for:` shortened to 3s). Every metric the alerts read must be served; a stopped
 * replication and a stopped primary must turn the matching alerts to firing.
 *
 * Debian ships mysqld_exporter 0.14, which has no `--mysqld.username` flag: it reads the
 * credentials from a my.cnf file here, the image (0.15) from `--mysqld.username` and
 * `MYSQLD_EXPORTER_PASSWORD` (checked in test/data/mysql.test.ts). The metric names the alerts read
 * come from the slave_status collector and `mysql_up`, the same in both versions.
 */
import { Chart, Testing } from 'cdk8s';
import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { MySql } from '../../lib/data/mysql/mysql';
import { PROMETHEUS_BINARIES, PrometheusServer, RuleFileGroup, ruleGroupsOf } from '../support/prometheus';
import { describeWithBinaries, findBinary, freePort, run, ServerProcess, tempDir, versionOf, waitFor } from '../support/real-servers';
import { MYSQLD_EXPORTER_METRICS } from '../../lib/observability/dashboards/store-metrics';
import { metricsOfRules } from '../support/promql';

const BINARIES = {
  ...PROMETHEUS_BINARIES,
  mariadbd: findBinary('mariadbd'),
  'mariadb-install-db': findBinary('mariadb-install-db'),
  mysql: findBinary('mysql'),
  'prometheus-mysqld-exporter': findBinary('prometheus-mysqld-exporter'),
};
const NAMESPACE = 'store-test';
const ROOT_PASSWORD = 'r00t pw$!';
const runningAsRoot = process.getuid?.() === 0;

interface Server {
  readonly name: string;
  readonly dir: string;
  readonly port: number;
  process?: ServerProcess;
}

describeWithBinaries('MySQL alerts on a real mysqld_exporter and Prometheus (MariaDB)', BINARIES, 'mariadb-server prometheus prometheus-mysqld-exporter', () => {
  let dir: { path: string; remove: () => void };
  let primary: Server;
  let replica: Server;
  const exporters: ServerProcess[] = [];
  let prometheus: PrometheusServer | undefined;
  let groups: RuleFileGroup[];

  function sql(server: Server, statements: string): string {
    return run(BINARIES.mysql!, ['--no-defaults', '-uroot', `-p${ROOT_PASSWORD}`, '-h127.0.0.1', `-P${server.port}`, '-N', '-B', '-e', statements]);
  }

  async function startServer(name: string, serverId: number): Promise<Server> {
    const server: Server = { name, dir: join(dir.path, name), port: await freePort() };
    mkdirSync(join(server.dir, 'data'), { recursive: true });
    mkdirSync(join(server.dir, 'tmp'));
    const files = [`--datadir=${join(server.dir, 'data')}`, `--tmpdir=${join(server.dir, 'tmp')}`, `--socket=${join(server.dir, 'mysqld.sock')}`, `--pid-file=${join(server.dir, 'mysqld.pid')}`];
    const asRoot = runningAsRoot ? ['--user=root'] : [];
    run(BINARIES['mariadb-install-db']!, ['--no-defaults', ...files, '--auth-root-authentication-method=normal', ...asRoot], { cwd: server.dir });
    server.process = new ServerProcess(BINARIES.mariadbd!, ['--no-defaults', ...files, ...asRoot, `--port=${server.port}`, '--bind-address=127.0.0.1',
      `--server-id=${serverId}`, '--log-bin=mysql-bin', '--log-slave-updates', '--gtid-strict-mode=ON', '--skip-name-resolve', '--innodb-buffer-pool-size=32M'], { cwd: server.dir });
    await waitFor(`${name} to accept connections`, () => {
      server.process!.assertRunning(name);
      run(BINARIES.mysql!, ['--no-defaults', '-uroot', `--socket=${join(server.dir, 'mysqld.sock')}`, '-e',
        // mariadb-install-db also makes root@127.0.0.1 and root@::1 without a password: drop them, as the image's entrypoint does.
        'SET SESSION sql_log_bin = 0; '
        + "DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host <> 'localhost'); FLUSH PRIVILEGES; "
        + `ALTER USER 'root'@'localhost' IDENTIFIED BY '${ROOT_PASSWORD}'; CREATE USER 'root'@'%' IDENTIFIED BY '${ROOT_PASSWORD}'; GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;`]);
      return true;
    }, 30_000, 300);
    return server;
  }

  /** Debian's mysqld_exporter beside `server`, logging in as root as the sidecar does. */
  async function startExporter(server: Server): Promise<number> {
    const port = await freePort();
    const cnf = join(server.dir, 'exporter.cnf');
    writeFileSync(cnf, `[client]\nuser=root\npassword=${ROOT_PASSWORD}\nhost=127.0.0.1\nport=${server.port}\n`, { mode: 0o600 });
    const exporter = new ServerProcess(BINARIES['prometheus-mysqld-exporter']!, [`--config.my-cnf=${cnf}`, `--web.listen-address=127.0.0.1:${port}`], { cwd: server.dir });
    exporters.push(exporter);
    await waitFor(`mysqld_exporter of ${server.name}`, async () => {
      exporter.assertRunning('mysqld_exporter');
      return (await fetch(`http://127.0.0.1:${port}/metrics`)).ok;
    }, 20_000);
    return port;
  }

  beforeAll(async () => {
    // eslint-disable-next-line no-console
    console.log(`proven with: ${versionOf(BINARIES['prometheus-mysqld-exporter']!)}; ${versionOf(BINARIES.mariadbd!)}; ${versionOf(BINARIES.prometheus!)}`);
    dir = tempDir('store-mysql');
    const app = Testing.app();
    const chart = new Chart(app, 'data', { namespace: NAMESPACE });
    new MySql(chart, 'mysql', {
      replicas: 1, database: 'logistics', storage: { size: '10Gi' },
      rootPasswordSecret: { name: 'mysql-secret', key: 'root-password' },
      replicationPasswordSecret: { name: 'mysql-secret', key: 'replication-password' },
    });
    groups = ruleGroupsOf(Testing.synth(chart), 'mysql-rules');

    [primary, replica] = await Promise.all([startServer('primary', 1), startServer('replica', 101)]);
    sql(primary, "CREATE USER 'replicator'@'%' IDENTIFIED BY 'repl'; GRANT REPLICATION SLAVE ON *.* TO 'replicator'@'%';");
    sql(replica, `CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${primary.port}, MASTER_USER='replicator', MASTER_PASSWORD='repl', MASTER_USE_GTID=slave_pos; START SLAVE;`);
    await waitFor('the replica to replicate', () => /Slave_IO_Running: Yes[\s\S]*Slave_SQL_Running: Yes/.test(
      run(BINARIES.mysql!, ['--no-defaults', '-uroot', `-p${ROOT_PASSWORD}`, '-h127.0.0.1', `-P${replica.port}`, '-e', 'SHOW SLAVE STATUS\\G'])), 20_000);

    const [primaryExporter, replicaExporter] = await Promise.all([startExporter(primary), startExporter(replica)]);
    prometheus = await PrometheusServer.start({
      jobs: [
        { job: 'mysql-primary', targets: [`127.0.0.1:${primaryExporter}`], labels: { namespace: NAMESPACE } },
        { job: 'mysql-replica', targets: [`127.0.0.1:${replicaExporter}`], labels: { namespace: NAMESPACE } },
      ],
      rules: { groups },
    });
    await waitFor('both exporters scraped', async () => (await prometheus!.query('mysql_up')).length === 2, 20_000);
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    for (const exporter of exporters) await exporter.stop();
    for (const server of [primary, replica]) await server?.process?.stop(30_000);
    dir?.remove();
  }, 60_000);

  test('every metric the alerts select is served by the real exporter', async () => {
    const metrics = metricsOfRules(groups);
    expect(metrics).toEqual(['mysql_slave_status_seconds_behind_master', 'mysql_slave_status_slave_io_running', 'mysql_slave_status_slave_sql_running', 'mysql_up']);
    const served = new Set([...await prometheus!.metricNames('mysql-primary'), ...await prometheus!.metricNames('mysql-replica')]);
    expect(metrics.filter((m) => !served.has(m))).toEqual([]);
  });

  test('every metric the MySQL dashboard queries is served by the real exporter', async () => {
    const served = new Set([...await prometheus!.metricNames('mysql-primary'), ...await prometheus!.metricNames('mysql-replica')]);
    expect(Object.values(MYSQLD_EXPORTER_METRICS).filter((m) => !served.has(m))).toEqual([]);
  });

  test('a healthy primary and replica: no alert fires after the for: of every alert', async () => {
    await new Promise((r) => setTimeout(r, 5_000));
    expect((await prometheus!.alerts()).map((a) => `${a.labels.alertname} ${a.state}`)).toEqual([]);
  }, 20_000);

  test('STOP SLAVE on the replica: MysqlReplicationStopped fires for it', async () => {
    sql(replica, 'STOP SLAVE;');
    await prometheus!.waitFiring('MysqlReplicationStopped', 30_000, { job: 'mysql-replica', namespace: NAMESPACE });
    expect((await prometheus!.alerts()).filter((a) => a.state === 'firing').map((a) => a.labels.alertname)).toEqual(['MysqlReplicationStopped']);
  }, 40_000);

  test('the primary stops while its exporter keeps running: MysqlPrimaryDown fires from mysql_up == 0', async () => {
    await primary.process!.stop(30_000);
    await prometheus!.waitFiring('MysqlPrimaryDown', 30_000, { job: 'mysql-primary', namespace: NAMESPACE });
    // The exporter answers: Prometheus' up stays 1, only mysql_up says the server is gone.
    expect((await prometheus!.query('up{job="mysql-primary"}')).map((r) => r.value[1])).toEqual(['1']);
    expect((await prometheus!.query('mysql_up{job="mysql-primary"}')).map((r) => r.value[1])).toEqual(['0']);
  }, 40_000);
});
