/**
 * The PostgreSQL store's alerts against a real exporter and a real Prometheus: a primary and a
 * streaming hot standby (pg_basebackup) on loopback ports, Debian's postgres_exporter beside each
 * with DATA_SOURCE_URI/USER/PASS as the sidecar gets them, and Prometheus scraping them with the
 * store's rule groups (`for:` shortened to 3s). Every metric the alerts read must be served; a
 * stopped standby must fire the standby-not-streaming alert on the primary's exporter, a stopped
 * primary the primary-down alert.
 */
import { Chart, Testing } from 'cdk8s';
import { spawnSync } from 'child_process';
import { existsSync, mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { WAL_ARCHIVE_FAILURES_METRIC } from '../../lib/backup/backup-rules';
import { AlertRules } from '../../lib/observability/alert-rules';
import { DEFAULT_POSTGRES_REPLICATION_LAG_BYTES, postgresRuleGroups } from '../../lib/observability/store-rules/postgres';
import { StoreSeries } from '../../lib/observability/store-rules/store-selector';
import { PROMETHEUS_BINARIES, PrometheusServer, RuleFileGroup, ruleGroupsOf } from '../support/prometheus';
import { describeWithBinaries, findBinary, freePort, postgresServerUser, ServerProcess, tempDir, versionOf, waitFor } from '../support/real-servers';
import { POSTGRES_EXPORTER_METRICS } from '../../lib/observability/dashboards/store-metrics';
import { metricsOfRules } from '../support/promql';

const BIN_DIR = ['17', '16', '15', '14'].map((v) => `/usr/lib/postgresql/${v}/bin`).find((d) => existsSync(join(d, 'postgres')));
const binary = (name: string): string | undefined => (BIN_DIR && existsSync(join(BIN_DIR, name)) ? join(BIN_DIR, name) : undefined);
const BINARIES = {
  ...PROMETHEUS_BINARIES,
  initdb: binary('initdb'),
  postgres: binary('postgres'),
  pg_ctl: binary('pg_ctl'),
  pg_basebackup: binary('pg_basebackup'),
  psql: binary('psql'),
  'prometheus-postgres-exporter': findBinary('prometheus-postgres-exporter'),
  setpriv: process.getuid?.() === 0 ? ['/usr/bin/setpriv', '/bin/setpriv'].find(existsSync) : 'not needed',
};
const NAMESPACE = 'store-test';
// postgres_exporter 0.11 builds a key/value DSN that it then refuses ("malformed dsn") when the
// password holds a space: none here (see the README); quotes and `$` pass.
const PASSWORD = 'app-pw$\'"x';
const REPLICATION_PASSWORD = 'repl pw';

describeWithBinaries('PostgreSQL alerts on a real postgres_exporter and Prometheus', BINARIES, 'postgresql prometheus prometheus-postgres-exporter', () => {
  const user = postgresServerUser();
  let dir: { path: string; remove: () => void };
  const ports = { primary: 0, standby: 0 };
  const servers: Record<'primary' | 'standby', ServerProcess | undefined> = { primary: undefined, standby: undefined };
  const exporters: ServerProcess[] = [];
  let prometheus: PrometheusServer | undefined;
  let groups: RuleFileGroup[];

  const dataOf = (name: string) => join(dir.path, name, 'data');

  function asUser(command: string, args: string[]): [string, string[]] {
    if (!user) return [command, args];
    return [BINARIES.setpriv!, ['--reuid', String(user.uid), '--regid', String(user.gid), '--clear-groups', command, ...args]];
  }

  function exec(command: string, args: string[], env: Record<string, string> = {}): string {
    const [cmd, argv] = asUser(command, args);
    const result = spawnSync(cmd, argv, { env: { ...process.env, LC_ALL: 'C.UTF-8', ...env }, encoding: 'utf8', timeout: 60_000, cwd: dir.path });
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}\n${result.stdout}${result.stderr}`);
    return result.stdout;
  }

  async function startServer(name: 'primary' | 'standby'): Promise<void> {
    const run = join(dir.path, name, 'run');
    mkdirSync(run, { recursive: true });
    if (user) spawnSync('chown', ['-R', `${user.uid}:${user.gid}`, join(dir.path, name)]);
    const [cmd, argv] = asUser(BINARIES.postgres!, ['-D', dataOf(name), '-c', `port=${ports[name]}`, '-c', 'listen_addresses=127.0.0.1',
      '-c', `unix_socket_directories=${run}`, '-c', 'shared_buffers=16MB', '-c', 'max_connections=20']);
    // The walreceiver's libpq reads the replication password from the environment, as in the pod.
    const server = new ServerProcess(cmd, argv, { env: { PGPASSWORD: REPLICATION_PASSWORD, LC_ALL: 'C.UTF-8' }, cwd: run });
    servers[name] = server;
    await waitFor(`${name} to accept connections`, () => {
      server.assertRunning(name);
      return spawnSync(BINARIES.psql!, ['-h', '127.0.0.1', '-p', String(ports[name]), '-U', 'app', '-d', 'postgres', '-Atc', 'SELECT 1'],
        { env: { ...process.env, PGPASSWORD: PASSWORD }, encoding: 'utf8' }).status === 0;
    }, 30_000, 200);
  }

  async function stopServer(name: 'primary' | 'standby'): Promise<void> {
    const server = servers[name];
    if (!server || server.exited) return;
    // Fast: the exporter's open connection would hold a smart shutdown (SIGTERM) back.
    exec(BINARIES.pg_ctl!, ['stop', '-D', dataOf(name), '-m', 'fast', '-w', '-t', '20']);
    await server.stop();
  }

  /** Debian's postgres_exporter beside a server, configured as the sidecar is. */
  async function startExporter(name: 'primary' | 'standby'): Promise<number> {
    const port = await freePort();
    const exporter = new ServerProcess(BINARIES['prometheus-postgres-exporter']!, [`--web.listen-address=127.0.0.1:${port}`], {
      cwd: dir.path,
      env: { DATA_SOURCE_URI: `127.0.0.1:${ports[name]}/postgres?sslmode=disable`, DATA_SOURCE_USER: 'app', DATA_SOURCE_PASS: PASSWORD },
    });
    exporters.push(exporter);
    await waitFor(`postgres_exporter of the ${name}`, async () => {
      exporter.assertRunning('postgres_exporter');
      return /^pg_up 1$/m.test(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    }, 20_000);
    return port;
  }

  beforeAll(async () => {
    // eslint-disable-next-line no-console
    console.log(`proven with: ${versionOf(BINARIES['prometheus-postgres-exporter']!)}; ${versionOf(BINARIES.postgres!)}; ${versionOf(BINARIES.prometheus!)}`);
    dir = tempDir('store-postgres');
    // The job names of the Postgres construct: its primary `postgres`, its standbys `postgres-standby`.
    const chart = new Chart(Testing.app(), 'data', { namespace: NAMESPACE });
    new AlertRules(chart, 'rules', {
      name: 'postgres-rules',
      groups: postgresRuleGroups({
        series: new StoreSeries(NAMESPACE), primaryJob: 'postgres', standby: { job: 'postgres-standby', replicas: 1 }, replicationLagBytes: DEFAULT_POSTGRES_REPLICATION_LAG_BYTES,
      }),
    });
    groups = ruleGroupsOf(Testing.synth(chart), 'postgres-rules');

    ports.primary = await freePort();
    ports.standby = await freePort();
    mkdirSync(join(dir.path, 'primary'), { recursive: true });
    writeFileSync(join(dir.path, 'pwfile'), `${PASSWORD}\n`);
    if (user) spawnSync('chown', ['-R', `${user.uid}:${user.gid}`, dir.path]);
    exec(BINARIES.initdb!, ['-D', dataOf('primary'), '-U', 'app', `--pwfile=${join(dir.path, 'pwfile')}`, '--auth-host=scram-sha-256', '--auth-local=scram-sha-256']);
    await startServer('primary');
    spawnSync(BINARIES.psql!, ['-h', '127.0.0.1', '-p', String(ports.primary), '-U', 'app', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1',
      '-c', `CREATE ROLE replicator LOGIN REPLICATION PASSWORD '${REPLICATION_PASSWORD}'`], { env: { ...process.env, PGPASSWORD: PASSWORD } });
    mkdirSync(join(dir.path, 'standby'), { recursive: true });
    if (user) spawnSync('chown', ['-R', `${user.uid}:${user.gid}`, join(dir.path, 'standby')]);
    exec(BINARIES.pg_basebackup!, ['-h', '127.0.0.1', '-p', String(ports.primary), '-U', 'replicator', '-D', dataOf('standby'), '-R', '-X', 'stream'], { PGPASSWORD: REPLICATION_PASSWORD });
    await startServer('standby');

    const [primaryExporter, standbyExporter] = await Promise.all([startExporter('primary'), startExporter('standby')]);
    prometheus = await PrometheusServer.start({
      jobs: [
        { job: 'postgres', targets: [`127.0.0.1:${primaryExporter}`], labels: { namespace: NAMESPACE } },
        { job: 'postgres-standby', targets: [`127.0.0.1:${standbyExporter}`], labels: { namespace: NAMESPACE } },
      ],
      rules: { groups },
      // With its server down, postgres_exporter answers after about 1s (its connection attempt):
      // a 1s scrape timeout would fail the scrape instead of reading pg_up 0.
      scrapeIntervalSeconds: 2,
    });
    await waitFor('the standby streaming, seen by the primary\'s exporter', async () => (await prometheus!.query('pg_stat_replication_pg_wal_lsn_diff{state="streaming"}')).length === 1, 30_000);
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    for (const exporter of exporters) await exporter.stop();
    await stopServer('standby');
    await stopServer('primary');
    dir?.remove();
  }, 60_000);

  test('every metric the alerts select is served by the real exporter', async () => {
    const metrics = metricsOfRules(groups);
    expect(metrics).toEqual(['pg_stat_replication_pg_wal_lsn_diff', 'pg_up']);
    const served = new Set([...await prometheus!.metricNames('postgres'), ...await prometheus!.metricNames('postgres-standby')]);
    expect(metrics.filter((m) => !served.has(m))).toEqual([]);
  });

  test('the metric of the WAL shipping alert (backup rules) is served by the real exporter', async () => {
    const served = new Set(await prometheus!.metricNames('postgres'));
    expect(served.has(WAL_ARCHIVE_FAILURES_METRIC)).toBe(true);
  });

  test('every metric the PostgreSQL dashboard queries is served by the real exporter', async () => {
    const served = new Set([...await prometheus!.metricNames('postgres'), ...await prometheus!.metricNames('postgres-standby')]);
    // The `replication` collector of newer postgres_exporter releases (the image's 0.15.0) serves
    // pg_replication_lag_seconds and pg_replication_is_replica; Debian's 0.11.1 serves neither. Only
    // these two may be missing, and only from an exporter that lacks that collector.
    const replicationCollector = ['pg_replication_is_replica', 'pg_replication_lag_seconds'];
    expect(Object.values(POSTGRES_EXPORTER_METRICS).filter((m) => !served.has(m))).toEqual(served.has('pg_replication_lag_seconds') ? [] : replicationCollector);
  });

  test('a primary with its standby streaming: no alert fires after the for: of every alert', async () => {
    await new Promise((r) => setTimeout(r, 5_000));
    expect((await prometheus!.alerts()).map((a) => `${a.labels.alertname} ${a.state}`)).toEqual([]);
  }, 20_000);

  test('the standby stops: PostgresStandbyNotStreaming fires on the primary\'s exporter, PostgresStandbyDown on its own', async () => {
    await stopServer('standby');
    await prometheus!.waitFiring('PostgresStandbyNotStreaming', 30_000, { job: 'postgres', namespace: NAMESPACE });
    await prometheus!.waitFiring('PostgresStandbyDown', 30_000, { job: 'postgres-standby', namespace: NAMESPACE });
  }, 70_000);

  test('the primary stops while its exporter keeps running: PostgresPrimaryDown fires from pg_up == 0', async () => {
    await stopServer('primary');
    await prometheus!.waitFiring('PostgresPrimaryDown', 30_000, { job: 'postgres', namespace: NAMESPACE });
    expect((await prometheus!.query('up{job="postgres"}')).map((r) => r.value[1])).toEqual(['1']);
  }, 40_000);
});
