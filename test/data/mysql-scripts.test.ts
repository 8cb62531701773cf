/**
 * The MySql construct's scripts (server.sh, replication.sh, probe.sh) against real servers: a
 * primary and three replicas on loopback ports, each started through server.sh exactly as the
 * container command does, with the environment of the synthesized StatefulSets (Secret references
 * replaced by test passwords, hosts and ports pointed at the loopback servers) and the server.cnf of
 * the config ConfigMap.
 *
 * Production runs MySQL 8.0; no MySQL server can be installed here, so the servers are MariaDB
 * 10.11. server.cnf's MySQL-only options (gtid_mode, enforce_gtid_consistency, mysqlx) are left
 * out, log_replica_updates is spelled log_slave_updates, and MariaDB's strict GTID mode is added.
 * The scripts pick their MariaDB functions (mariadb_*) where the statements differ; the mysql_*
 * functions are not exercised (see replication.sh).
 *
 * Each server is set up the way the official image's entrypoint does on first start: the test
 * plays the entrypoint's part (root's password, root@'%', time zones written to the binary log)
 * after server.sh has started the server, while the set-up waits for root's login.
 */
import { Testing } from 'cdk8s';
import { spawnSync } from 'child_process';
import { existsSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { MySql } from '../../lib/data/mysql/mysql';
import { describeWithBinaries, findBinary, freePort, run, ServerProcess, tempDir, waitFor } from '../support/real-servers';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = any;

const BINARIES = {
  mariadbd: findBinary('mariadbd'),
  'mariadb-install-db': findBinary('mariadb-install-db'),
  mysql: findBinary('mysql'),
  mysqldump: findBinary('mysqldump'),
  mysqladmin: findBinary('mysqladmin'),
};

const SCRIPTS = join(__dirname, '..', '..', 'lib', 'data', 'mysql');
// Quotes, backslashes, '#', '$' and spaces: the scripts must pass any password through intact.
const SECRETS: Record<string, string> = {
  'mysql-credentials/root-password': 'r"o\\o#t p$w\'d',
  'mysql-credentials/replication-password': 're\'pl "\\x" #1',
  'logistics-secret/db_password': 'app $pw\'s',
};
const ROTATED_REPLICATION_PASSWORD = 'rotated \'"\\ pw';
const ROOT_PASSWORD = SECRETS['mysql-credentials/root-password'];
const MYSQL_ONLY_OPTIONS = ['gtid_mode', 'enforce_gtid_consistency', 'mysqlx'];
const MARIADB_NAMES: Record<string, string> = { log_replica_updates: 'log_slave_updates' };
const runningAsRoot = process.getuid?.() === 0;

/** One loopback server: its pod name, role, port and files. */
interface Server {
  readonly pod: string;
  readonly role: 'primary' | 'replica';
  readonly port: number;
  readonly dir: string;
  process?: ServerProcess;
}

/** A SQL string literal. */
function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

describeWithBinaries('MySql scripts: GTID replication on real (MariaDB) servers', BINARIES, 'mariadb-server', () => {
  let dir: { path: string; remove: () => void };
  let cnf: string;
  let clientCnf: string;
  let podEnv: Record<'primary' | 'replica', Record<string, string>>;
  let primary: Server;
  let replica0: Server;
  let replica1: Server;
  let replica2: Server;
  const servers: Server[] = [];

  /** server.cnf of the ConfigMap, as MariaDB options. */
  function mariadbConfig(serverCnf: string): string {
    const lines = serverCnf.split('\n')
      .filter((line) => !MYSQL_ONLY_OPTIONS.includes(line.split('=')[0].trim()))
      .map((line) => {
        const key = line.split('=')[0].trim();
        return MARIADB_NAMES[key] ? line.replace(key, MARIADB_NAMES[key]) : line;
      });
    return [...lines, '# MariaDB: refuse out-of-order GTIDs, as MySQL does', 'gtid_strict_mode = ON', ''].join('\n');
  }

  /** The environment of the pod's container, Secrets resolved, pointed at the loopback servers. */
  function envFromStatefulSet(sts: Obj): Record<string, string> {
    const env: Record<string, string> = {};
    for (const e of sts.spec.template.spec.containers[0].env) {
      if (e.value !== undefined) env[e.name] = e.value;
      else env[e.name] = SECRETS[`${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`];
    }
    return env;
  }

  function envOf(server: Server, overrides: Record<string, string> = {}): Record<string, string> {
    const env: Record<string, string> = {
      ...podEnv[server.role],
      HOSTNAME: server.pod,
      HOME: server.dir,
      MYSQL_HOST: '127.0.0.1',
      MYSQL_PORT: String(server.port),
      MYSQL_RUN_DIR: server.dir,
      MYSQL_STATE_DIR: server.dir,
      MYSQL_ENTRYPOINT: BINARIES.mariadbd!,
      MYSQL_SETUP_RETRY_SECONDS: '1',
      MYSQL_WAIT_SECONDS: '30',
    };
    if (server.role === 'replica') {
      env.MYSQL_SOURCE_HOST = '127.0.0.1';
      env.MYSQL_SOURCE_PORT = String(primary.port);
    }
    return { ...env, ...overrides };
  }

  async function newServer(pod: string, role: 'primary' | 'replica'): Promise<Server> {
    const server: Server = { pod, role, port: await freePort(), dir: join(dir.path, pod) };
    run('mkdir', ['-p', join(server.dir, 'data')]);
    run(BINARIES['mariadb-install-db']!, ['--no-defaults', `--datadir=${join(server.dir, 'data')}`, '--auth-root-authentication-method=normal',
      ...(runningAsRoot ? ['--user=root'] : [])]);
    servers.push(server);
    return server;
  }

  /**
   * Starts the server as the container does: `server.sh` with the entry point's arguments. Returns
   * once server.sh has announced the server id, that is after it removed an earlier ready file.
   */
  async function start(server: Server, overrides: Record<string, string> = {}): Promise<ServerProcess> {
    const child = new ServerProcess('bash', [join(SCRIPTS, 'server.sh'),
      `--defaults-file=${cnf}`,
      `--datadir=${join(server.dir, 'data')}`,
      `--socket=${join(server.dir, 'mysqld.sock')}`,
      `--pid-file=${join(server.dir, 'mysqld.pid')}`,
      `--port=${server.port}`,
      '--bind-address=127.0.0.1',
      '--innodb-buffer-pool-size=64M',
      ...(runningAsRoot ? ['--user=root'] : []),
    ], { env: envOf(server, overrides) });
    server.process = child;
    await waitFor(`${server.pod}'s server.sh to start (log:\n${child.log})`, () => /\[server\] server id/.test(child.log), 10_000);
    return child;
  }

  async function stop(server: Server): Promise<void> {
    await server.process?.stop(30_000);
  }

  /** What the official entrypoint does on first start; `before` runs ahead of root@'%'. */
  async function initialise(server: Server, before = ''): Promise<void> {
    await waitFor(`${server.pod} to listen`, () => existsSync(join(server.dir, 'mysqld.sock')), 30_000);
    const sql = [
      // Logged, as the entrypoint's time zone load (mysql_tzinfo_to_sql) is: a fresh replica's
      // binary log holds transactions of its own.
      "INSERT INTO mysql.time_zone (Use_leap_seconds) VALUES ('N');",
      "INSERT INTO mysql.time_zone_name (Name, Time_zone_id) VALUES ('UTC', LAST_INSERT_ID());",
      'SET SESSION sql_log_bin = 0;',
      "DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host <> 'localhost');",
      'FLUSH PRIVILEGES;',
      `ALTER USER 'root'@'localhost' IDENTIFIED BY ${quote(ROOT_PASSWORD)};`,
      'DROP DATABASE IF EXISTS test;',
      'SET SESSION sql_log_bin = 1;',
      before,
      // Last: the set-up can log in only once everything above is done.
      `CREATE USER 'root'@'%' IDENTIFIED BY ${quote(ROOT_PASSWORD)};`,
      "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;",
    ].join('\n');
    run(BINARIES.mysql!, ['--no-defaults', '--protocol=SOCKET', `--socket=${join(server.dir, 'mysqld.sock')}`, '-uroot'], { input: sql });
  }

  /** Rows of a query as root over TCP, tab-separated lines. */
  function sql(server: Server, statement: string): string {
    return run(BINARIES.mysql!, [`--defaults-file=${clientCnf}`, '--protocol=TCP', '-h', '127.0.0.1', '-P', String(server.port), '-N', '-B', '-e', statement]).trim();
  }

  function sqlAs(server: Server, user: string, password: string, statement: string): string {
    const file = join(dir.path, `client-${user}.cnf`);
    writeFileSync(file, `[client]\nuser=${user}\npassword="${password.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"\n`, { mode: 0o600 });
    return run(BINARIES.mysql!, [`--defaults-file=${file}`, '--protocol=TCP', '-h', '127.0.0.1', '-P', String(server.port), '-N', '-B', '-e', statement]).trim();
  }

  function replicaStatus(server: Server): Record<string, string> {
    const out = run(BINARIES.mysql!, [`--defaults-file=${clientCnf}`, '--protocol=TCP', '-h', '127.0.0.1', '-P', String(server.port), '--vertical', '-e', 'SHOW REPLICA STATUS']);
    return Object.fromEntries(out.split('\n').map((l) => /^\s*(\w+): ?(.*)$/.exec(l)).filter((m): m is RegExpExecArray => m !== null).map((m) => [m[1], m[2]]));
  }

  const readyFile = (server: Server) => join(server.dir, 'setup-complete');

  async function waitReady(server: Server): Promise<void> {
    await waitFor(`${server.pod}'s set-up (log:\n${server.process?.log})`, () => existsSync(readyFile(server)), 45_000);
  }

  /** replication.sh run again, as the next container start would. */
  function setup(server: Server, overrides: Record<string, string> = {}): string {
    return run('bash', [join(SCRIPTS, 'replication.sh')], { env: envOf(server, overrides) });
  }

  function probe(server: Server, kind: 'live' | 'ready'): number | null {
    return spawnSync('bash', [join(SCRIPTS, 'probe.sh'), kind], { env: { ...process.env, ...envOf(server) }, encoding: 'utf8' }).status;
  }

  const items = (server: Server) => sql(server, 'SELECT id, label, HEX(payload) FROM logistics.items ORDER BY id');

  async function replicates(server: Server, id: number): Promise<void> {
    sql(primary, `INSERT INTO logistics.items VALUES (${id}, 'row ${id}', UNHEX('00FF${id}'))`);
    await waitFor(`row ${id} on ${server.pod}`, () => sql(server, `SELECT COUNT(*) FROM logistics.items WHERE id = ${id}`) === '1', 15_000);
  }

  beforeAll(async () => {
    dir = tempDir('mysql-scripts');
    const chart = Testing.chart();
    new MySql(chart, 'mysql', {
      replicas: 3,
      database: 'logistics',
      storage: { size: '10Gi' },
      resources: { requests: { cpu: '100m', memory: '512Mi' }, limits: { cpu: '1', memory: '512Mi' } },
      config: { innodbBufferPoolSize: '128Mi', maxConnections: 50 },
      rootPasswordSecret: { name: 'mysql-credentials', key: 'root-password' },
      replicationPasswordSecret: { name: 'mysql-credentials', key: 'replication-password' },
      appUser: { name: 'logistics', passwordSecret: { name: 'logistics-secret', key: 'db_password' } },
    });
    const objects: Obj[] = Testing.synth(chart);
    const byName = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
    cnf = join(dir.path, 'server.cnf');
    writeFileSync(cnf, mariadbConfig(byName('ConfigMap', 'mysql-config').data['server.cnf']));
    podEnv = { primary: envFromStatefulSet(byName('StatefulSet', 'mysql-primary')), replica: envFromStatefulSet(byName('StatefulSet', 'mysql-replica')) };
    clientCnf = join(dir.path, 'root.cnf');
    writeFileSync(clientCnf, `[client]\nuser=root\npassword="${ROOT_PASSWORD.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"\n`, { mode: 0o600 });

    primary = await newServer('mysql-primary-0', 'primary');
    replica0 = await newServer('mysql-replica-0', 'replica');
    replica1 = await newServer('mysql-replica-1', 'replica');
    replica2 = await newServer('mysql-replica-2', 'replica');
  });

  afterAll(async () => {
    for (const server of servers) await stop(server);
    dir?.remove();
  });

  test('the primary: server id 1, database and accounts created, a second run writes nothing', async () => {
    await start(primary);
    await initialise(primary);
    await waitReady(primary);
    expect(sql(primary, 'SELECT @@server_id, @@report_host')).toBe('1\tmysql-primary-0.mysql-primary-headless');
    expect(sql(primary, "SHOW DATABASES LIKE 'logistics'")).toBe('logistics');
    expect(sql(primary, "SHOW GRANTS FOR 'replicator'@'%'")).toContain('GRANT REPLICATION SLAVE ON *.*');
    expect(sqlAs(primary, 'logistics', SECRETS['logistics-secret/db_password'], 'SHOW GRANTS')).toContain('GRANT ALL PRIVILEGES ON `logistics`.*');
    expect(probe(primary, 'live')).toBe(0);
    expect(probe(primary, 'ready')).toBe(0);

    const position = sql(primary, 'SELECT @@gtid_binlog_pos');
    expect(setup(primary)).toMatch(/primary ready/);
    expect(sql(primary, 'SELECT @@gtid_binlog_pos')).toBe(position);

    sql(primary, 'CREATE TABLE logistics.items (id INT PRIMARY KEY, label VARCHAR(64), payload VARBINARY(64))');
    sql(primary, "INSERT INTO logistics.items VALUES (1, 'it''s \"quoted\"', UNHEX('00FF00')), (2, 'two', NULL)");
  });

  test('a replica copies the primary, then replicates with GTIDs and is read-only', async () => {
    await start(replica0);
    await waitFor('replica-0 to listen', () => existsSync(join(replica0.dir, 'mysqld.sock')), 30_000);
    // The server runs but is not set up: alive, not ready.
    expect(probe(replica0, 'ready')).not.toBe(0);
    await initialise(replica0);
    await waitReady(replica0);

    expect(sql(replica0, 'SELECT @@server_id, @@report_host, @@read_only')).toBe('100\tmysql-replica-0.mysql-replica-headless\t1');
    expect(items(replica0)).toBe(items(primary));
    const status = replicaStatus(replica0);
    expect(status).toMatchObject({ Master_Host: '127.0.0.1', Master_Port: String(primary.port), Master_User: 'replicator', Slave_IO_Running: 'Yes', Slave_SQL_Running: 'Yes', Using_Gtid: 'Slave_Pos' });
    await replicates(replica0, 3);
    // Its own writes from initialisation are gone from its binary log: only the primary's
    // transactions are there, so no errant transaction stands in the way of a failover.
    expect(sql(replica0, 'SELECT @@gtid_binlog_state')).toMatch(/^0-1-\d+$/);
    // The application's account works on the replica too (read-only there).
    expect(sqlAs(replica0, 'logistics', SECRETS['logistics-secret/db_password'], 'SELECT COUNT(*) FROM logistics.items')).toBe('3');
    expect(probe(replica0, 'ready')).toBe(0);
    expect(replica0.process!.log).toMatch(/\[replication\] copying logistics from 127\.0\.0\.1/);
  });

  test('a replica added after the primary purged its binary logs gets the data by copy, then replicates', async () => {
    sql(primary, "INSERT INTO logistics.items VALUES (4, 'four', NULL), (5, 'five', UNHEX('CAFE'))");
    await waitFor('replica-0 to catch up', () => sql(replica0, 'SELECT COUNT(*) FROM logistics.items') === '5');
    sql(primary, 'FLUSH BINARY LOGS');
    await waitFor('the old binary logs to be purged', () => {
      const current = sql(primary, 'SHOW MASTER STATUS').split('\t')[0];
      sql(primary, `PURGE BINARY LOGS TO '${current}'`);
      return sql(primary, 'SHOW BINARY LOGS').split('\n').length === 1;
    });
    // Replaying the binary log from the start is no longer possible: only a copy brings rows 1-5.
    expect(sql(primary, 'SELECT @@gtid_binlog_state')).not.toBe('');

    await start(replica1);
    await initialise(replica1);
    await waitReady(replica1);
    expect(sql(replica1, 'SELECT @@server_id')).toBe('101');
    expect(items(replica1)).toBe(items(primary));
    await replicates(replica1, 6);
    await waitFor('replica-0 to get row 6', () => sql(replica0, 'SELECT COUNT(*) FROM logistics.items WHERE id = 6') === '1');
  });

  test('running the set-up again on a replica changes nothing, and replication goes on', async () => {
    sql(replica1, 'SET SESSION sql_log_bin = 0; CREATE DATABASE only_here; CREATE TABLE only_here.t (a INT); INSERT INTO only_here.t VALUES (42)');
    const before = { status: replicaStatus(replica1), slavePos: sql(replica1, 'SELECT @@gtid_slave_pos'), binlog: sql(replica1, 'SELECT @@gtid_binlog_pos') };

    const output = setup(replica1);
    expect(output).not.toMatch(/copying|re-pointing|dropping/);
    expect(output).toMatch(/replica of 127\.0\.0\.1:\d+, read-only/);

    expect(sql(replica1, 'SELECT a FROM only_here.t')).toBe('42');
    expect(sql(replica1, 'SELECT @@gtid_slave_pos')).toBe(before.slavePos);
    expect(sql(replica1, 'SELECT @@gtid_binlog_pos')).toBe(before.binlog);
    expect(replicaStatus(replica1)).toMatchObject({ Master_Host: before.status.Master_Host, Master_Port: before.status.Master_Port, Slave_IO_Running: 'Yes', Slave_SQL_Running: 'Yes' });
    await replicates(replica1, 7);
  });

  test('a restarted replica resumes where it stopped, without copying again', async () => {
    await stop(replica1);
    expect(existsSync(join(replica1.dir, 'mysqld.sock'))).toBe(false);
    sql(primary, "INSERT INTO logistics.items VALUES (8, 'written while replica-1 was down', NULL)");

    // The ready file of the earlier run is still there (the pod's emptyDir outlives the container).
    expect(existsSync(readyFile(replica1))).toBe(true);
    const restarted = await start(replica1);
    expect(existsSync(readyFile(replica1))).toBe(false);
    await waitReady(replica1);
    await waitFor('row 8 on the restarted replica-1', () => sql(replica1, 'SELECT COUNT(*) FROM logistics.items WHERE id = 8') === '1');
    expect(items(replica1)).toBe(items(primary));
    expect(sql(replica1, 'SELECT a FROM only_here.t')).toBe('42');
    expect(sql(replica1, 'SELECT @@read_only')).toBe('1');
    expect(restarted.log).not.toMatch(/copying/);
    await replicates(replica1, 9);
  });

  test('a rotated replication password: the primary updates the account, a replica re-points', async () => {
    const rotated = { MYSQL_REPLICATION_PASSWORD: ROTATED_REPLICATION_PASSWORD };
    expect(setup(primary, rotated)).toMatch(/creating or updating account replicator/);
    // The running I/O thread keeps its session; a reconnect with the old password is refused.
    sql(replica0, 'STOP REPLICA; START REPLICA');
    await waitFor('replica-0 to be refused', () => replicaStatus(replica0).Last_IO_Errno === '1045', 20_000);

    expect(setup(replica0, rotated)).toMatch(/re-pointing replication/);
    await waitFor('replica-0 to reconnect', () => replicaStatus(replica0).Slave_IO_Running === 'Yes', 20_000);
    await replicates(replica0, 10);
    // The Secret holds the new password from now on.
    podEnv.primary.MYSQL_REPLICATION_PASSWORD = ROTATED_REPLICATION_PASSWORD;
    podEnv.replica.MYSQL_REPLICATION_PASSWORD = ROTATED_REPLICATION_PASSWORD;
  });

  test('a replica holding data of its own is refused; an interrupted copy is dropped and done again', async () => {
    // A long pause between attempts, so that the test can change the server between them.
    await start(replica2, { MYSQL_SETUP_RETRY_SECONDS: '3600' });
    await initialise(replica2, 'CREATE DATABASE precious; CREATE TABLE precious.t (a INT); INSERT INTO precious.t VALUES (1);');
    await waitFor('the refusal', () => /refusing to copy from the primary: this server holds schemas \(precious\)/.test(replica2.process!.log), 30_000);
    expect(existsSync(readyFile(replica2))).toBe(false);
    expect(probe(replica2, 'ready')).not.toBe(0);
    expect(sql(replica2, 'SELECT a FROM precious.t')).toBe('1');
    expect(replicaStatus(replica2)).toEqual({});

    // What a copy that died half-way leaves: the marker, a partial schema, and no `precious`.
    writeFileSync(join(replica2.dir, 'replica-copy.incomplete'), '');
    sql(replica2, "DROP DATABASE precious; CREATE DATABASE logistics; CREATE TABLE logistics.items (id INT PRIMARY KEY, label VARCHAR(64), payload VARBINARY(64)); INSERT INTO logistics.items VALUES (1, 'partial', NULL)");
    await stop(replica2);

    await start(replica2);
    await waitReady(replica2);
    expect(replica2.process!.log).toMatch(/did not finish: dropping the partial copy/);
    expect(existsSync(join(replica2.dir, 'replica-copy.incomplete'))).toBe(false);
    expect(sql(replica2, 'SELECT @@server_id, @@read_only')).toBe('102\t1');
    expect(items(replica2)).toBe(items(primary));
    await replicates(replica2, 11);
  });

  test('the container stops when the server dies', async () => {
    const pid = Number(readFileSync(join(replica0.dir, 'mysqld.pid'), 'utf8').trim());
    process.kill(pid, 'SIGKILL');
    await waitFor('server.sh to exit', () => replica0.process!.exited, 15_000);
    expect(replica0.process!.log).toMatch(/server exited with status 137/);
  });
});
