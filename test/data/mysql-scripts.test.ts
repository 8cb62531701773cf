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
 * functions are exercised at the end with recording stand-ins for the MySQL 8.0 clients.
 *
 * Each server is set up the way the official image's entrypoint does on first start: the test
 * plays the entrypoint's part (root's password, root@'%', time zones written to the binary log)
 * after server.sh has started the server, while the set-up waits for root's login. Every server
 * has a directory of its own (data, temporary files, socket, pid file) which is also its working
 * directory, so that test runs that overlap do not meet.
 *
 * The database name holds a `_`, a wildcard in grants that SHOW GRANTS prints escaped.
 * MYSQL_SCRIPTS_DIR points the tests at another copy of the scripts (to show that a test fails on
 * an earlier version of them).
 */
import { Testing } from 'cdk8s';
import { spawnSync } from 'child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
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

const SCRIPTS = process.env.MYSQL_SCRIPTS_DIR ?? join(__dirname, '..', '..', 'lib', 'data', 'mysql');
const DB = 'logistics_db';
// Quotes, backslashes, '#', '$' and spaces: the scripts must pass any password through intact.
const SECRETS: Record<string, string> = {
  'mysql-credentials/root-password': 'r"o\\o#t p$w\'d',
  'mysql-credentials/replication-password': 're\'pl "\\x" #1',
  'logistics-secret/db_password': 'app $pw\'s',
};
const ROTATED_REPLICATION_PASSWORD = 'rotated \'"\\ pw';
const ROOT_PASSWORD = SECRETS['mysql-credentials/root-password'];
const APP_PASSWORD = SECRETS['logistics-secret/db_password'];
const MYSQL_ONLY_OPTIONS = ['gtid_mode', 'enforce_gtid_consistency', 'mysqlx'];
const MARIADB_NAMES: Record<string, string> = { log_replica_updates: 'log_slave_updates' };
const runningAsRoot = process.getuid?.() === 0;
// Inherited by everything a set-up under test starts: how the test finds the copy's processes.
const MARKER_VARIABLE = 'MYSQL_TEST_COPY_MARKER';

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

/** Live processes (not zombies) whose environment holds MARKER_VARIABLE=marker: "pid command line". */
function markedProcesses(marker: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      if (!readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`${MARKER_VARIABLE}=${marker}`)) continue;
      if (/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))) continue;
      found.push(`${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim()}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
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
  // A slowed copy: its processes carry the marker; the flag file holds the dump back.
  const marker = `copy-${process.pid}-${Date.now()}`;
  let slowBin: string;
  let slowFlag: string;

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
      TMPDIR: join(server.dir, 'tmp'),
      MYSQL_HOST: '127.0.0.1',
      MYSQL_PORT: String(server.port),
      MYSQL_RUN_DIR: server.dir,
      MYSQL_STATE_DIR: server.dir,
      MYSQL_ENTRYPOINT: BINARIES.mariadbd!,
      MYSQL_SETUP_RETRY_SECONDS: '1',
      MYSQL_WAIT_SECONDS: '30',
      MYSQL_REPLICA_START_SECONDS: '20',
    };
    if (server.role === 'replica') {
      env.MYSQL_SOURCE_HOST = '127.0.0.1';
      env.MYSQL_SOURCE_PORT = String(primary.port);
      env.MYSQL_DATA_DIR = join(server.dir, 'data');
    }
    return { ...env, ...overrides };
  }

  /** Overrides that route the copy through the slowed mysqldump and mark its processes. */
  function slowCopy(): Record<string, string> {
    return { PATH: `${slowBin}:${process.env.PATH}`, [MARKER_VARIABLE]: marker, SLOW_COPY_FLAG: slowFlag, REAL_MYSQLDUMP: BINARIES.mysqldump! };
  }

  /** The options every mariadbd of a server gets: its files stay in its own directory. */
  function ownFiles(server: Server): string[] {
    return [
      `--datadir=${join(server.dir, 'data')}`,
      `--tmpdir=${join(server.dir, 'tmp')}`,
      `--socket=${join(server.dir, 'mysqld.sock')}`,
      `--pid-file=${join(server.dir, 'mysqld.pid')}`,
    ];
  }

  async function newServer(pod: string, role: 'primary' | 'replica'): Promise<Server> {
    const server: Server = { pod, role, port: await freePort(), dir: join(dir.path, pod) };
    mkdirSync(join(server.dir, 'data'), { recursive: true });
    mkdirSync(join(server.dir, 'tmp'));
    run(BINARIES['mariadb-install-db']!, ['--no-defaults', ...ownFiles(server), '--auth-root-authentication-method=normal',
      ...(runningAsRoot ? ['--user=root'] : [])], { cwd: server.dir, env: { TMPDIR: join(server.dir, 'tmp') } });
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
      ...ownFiles(server),
      `--port=${server.port}`,
      '--bind-address=127.0.0.1',
      '--innodb-buffer-pool-size=64M',
      ...(runningAsRoot ? ['--user=root'] : []),
    ], { env: envOf(server, overrides), cwd: server.dir });
    server.process = child;
    await waitFor(`${server.pod}'s server.sh to start (log:\n${child.log})`, () => /\[server\] server id/.test(child.log), 10_000);
    return child;
  }

  async function stop(server: Server): Promise<void> {
    await server.process?.stop(30_000);
  }

  const listening = (server: Server) => waitFor(`${server.pod} to listen`, () => {
    server.process?.assertRunning(server.pod);
    return existsSync(join(server.dir, 'mysqld.sock'));
  }, 30_000);

  /** What the official entrypoint does on first start; `before` runs ahead of root@'%'. */
  async function initialise(server: Server, before = ''): Promise<void> {
    await listening(server);
    const statements = [
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
    run(BINARIES.mysql!, ['--no-defaults', '--protocol=SOCKET', `--socket=${join(server.dir, 'mysqld.sock')}`, '-uroot'], { input: statements });
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

  /** Where the binary log stands: GTID position, file and offset. Any write moves it. */
  function binlogPosition(server: Server): string {
    return `${sql(server, 'SELECT @@gtid_binlog_pos')} ${sql(server, 'SHOW MASTER STATUS').split('\t').slice(0, 2).join(':')}`;
  }

  /**
   * Read-only for the application: read_only is on and the application account's write is refused
   * (1290: read-only). Mid-copy the account does not exist yet (`refusal` 1045: access denied).
   */
  function expectReadOnly(server: Server, refusal = /ERROR 1290 .*read-only/): void {
    expect(sql(server, 'SELECT @@global.read_only')).toBe('1');
    expect(() => sqlAs(server, 'logistics', APP_PASSWORD, `INSERT INTO ${DB}.items VALUES (1000, 'split brain', NULL)`)).toThrow(refusal);
  }

  /** Flushes the primary's binary log and purges every earlier one. */
  async function purgeBinaryLogs(): Promise<void> {
    sql(primary, 'FLUSH BINARY LOGS');
    await waitFor('the old binary logs to be purged', () => {
      const current = sql(primary, 'SHOW MASTER STATUS').split('\t')[0];
      sql(primary, `PURGE BINARY LOGS TO '${current}'`);
      return sql(primary, 'SHOW BINARY LOGS').split('\n').length === 1;
    });
  }

  const readyFile = (server: Server) => join(server.dir, 'setup-complete');

  async function waitReady(server: Server): Promise<void> {
    await waitFor(`${server.pod}'s set-up`, () => {
      server.process?.assertRunning(server.pod);
      return existsSync(readyFile(server));
    }, 45_000);
  }

  /** replication.sh run again, as the next container start would. */
  function setup(server: Server, overrides: Record<string, string> = {}): string {
    return run('bash', [join(SCRIPTS, 'replication.sh')], { env: envOf(server, overrides), cwd: server.dir });
  }

  function probe(server: Server, kind: 'live' | 'ready'): { status: number | null; output: string } {
    const result = spawnSync('bash', [join(SCRIPTS, 'probe.sh'), kind], { env: { ...process.env, ...envOf(server) }, encoding: 'utf8', cwd: server.dir });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  const items = (server: Server) => sql(server, `SELECT id, label, HEX(payload) FROM ${DB}.items ORDER BY id`);

  async function replicates(server: Server, id: number): Promise<void> {
    sql(primary, `INSERT INTO ${DB}.items VALUES (${id}, 'row ${id}', UNHEX('00FF${id}'))`);
    await waitFor(`row ${id} on ${server.pod}`, () => sql(server, `SELECT COUNT(*) FROM ${DB}.items WHERE id = ${id}`) === '1', 15_000);
  }

  /** Waits for the slowed copy to be under way: the dump held back, the load waiting for the rest. */
  async function copyUnderWay(server: Server): Promise<string[]> {
    let seen: string[] = [];
    await waitFor(`the copy to ${server.pod} to be under way`, () => {
      seen = markedProcesses(marker);
      return seen.some((p) => / --port=\d+ /.test(p) && p.includes(`${BINARIES.mysqldump} `) && p.includes(`--port=${primary.port}`))
        && seen.some((p) => /\bmysql --defaults-extra-file/.test(p) && p.includes(`--port=${server.port}`) && p.includes('--max-allowed-packet=1G'));
    }, 30_000);
    return seen;
  }

  beforeAll(async () => {
    dir = tempDir('mysql-scripts');
    const chart = Testing.chart();
    new MySql(chart, 'mysql', {
      replicas: 3,
      database: DB,
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

    // mysqldump passing its first 8 KiB, then holding the rest back while the flag file exists.
    slowBin = join(dir.path, 'slow-bin');
    slowFlag = join(dir.path, 'slow-copy');
    mkdirSync(slowBin);
    writeFileSync(join(slowBin, 'mysqldump'), [
      '#!/bin/bash',
      'set -o pipefail',
      '"$REAL_MYSQLDUMP" "$@" | { head -c 8192; while [[ -e $SLOW_COPY_FLAG ]]; do sleep 0.1; done; cat; }',
      '',
    ].join('\n'));
    chmodSync(join(slowBin, 'mysqldump'), 0o755);

    primary = await newServer('mysql-primary-0', 'primary');
    replica0 = await newServer('mysql-replica-0', 'replica');
    replica1 = await newServer('mysql-replica-1', 'replica');
    replica2 = await newServer('mysql-replica-2', 'replica');
  });

  afterAll(async () => {
    for (const server of servers) await stop(server);
    // What an interrupted copy may have left (only with a script that does not clean up after itself).
    rmSync(slowFlag, { force: true });
    for (const leftover of markedProcesses(marker)) {
      try {
        process.kill(Number(leftover.split(' ')[0]), 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    dir?.remove();
  });

  test('the primary: server id 1, database and accounts created, a second run writes nothing', async () => {
    await start(primary);
    await initialise(primary);
    await waitReady(primary);
    expect(sql(primary, 'SELECT @@server_id, @@report_host, @@read_only')).toBe('1\tmysql-primary-0.mysql-primary-headless\t0');
    expect(sql(primary, `SHOW DATABASES LIKE '${DB.replace(/_/g, '\\_')}'`)).toBe(DB);
    expect(sql(primary, "SHOW GRANTS FOR 'replicator'@'%'")).toContain('GRANT REPLICATION SLAVE ON *.*');
    // The grant covers this database only: its `_` is escaped.
    expect(sqlAs(primary, 'logistics', APP_PASSWORD, 'SHOW GRANTS')).toContain('GRANT ALL PRIVILEGES ON `logistics\\\\_db`.*');
    expect(probe(primary, 'live').status).toBe(0);
    expect(probe(primary, 'ready').status).toBe(0);

    const position = binlogPosition(primary);
    const output = setup(primary);
    expect(output).toMatch(/primary ready/);
    expect(output).not.toMatch(/creating/);
    expect(binlogPosition(primary)).toBe(position);

    sql(primary, `CREATE TABLE ${DB}.items (id INT PRIMARY KEY, label VARCHAR(64), payload VARBINARY(64))`);
    sql(primary, `INSERT INTO ${DB}.items VALUES (1, 'it''s "quoted"', UNHEX('00FF00')), (2, 'two', NULL)`);
  });

  test('a replica copies the primary, then replicates with GTIDs and is read-only', async () => {
    await start(replica0);
    await listening(replica0);
    // The server runs but is not set up: alive, not ready.
    expect(probe(replica0, 'ready').status).not.toBe(0);
    await initialise(replica0);
    await waitReady(replica0);

    expect(sql(replica0, 'SELECT @@server_id, @@report_host')).toBe('100\tmysql-replica-0.mysql-replica-headless');
    expectReadOnly(replica0);
    expect(items(replica0)).toBe(items(primary));
    const status = replicaStatus(replica0);
    expect(status).toMatchObject({ Master_Host: '127.0.0.1', Master_Port: String(primary.port), Master_User: 'replicator', Slave_IO_Running: 'Yes', Slave_SQL_Running: 'Yes', Using_Gtid: 'Slave_Pos' });
    await replicates(replica0, 3);
    // Its own writes from initialisation are gone from its binary log: only the primary's
    // transactions are there, so no errant transaction stands in the way of a failover.
    expect(sql(replica0, 'SELECT @@gtid_binlog_state')).toMatch(/^0-1-\d+$/);
    // The application's account works on the replica too, for reads.
    expect(sqlAs(replica0, 'logistics', APP_PASSWORD, `SELECT COUNT(*) FROM ${DB}.items`)).toBe('3');
    expect(probe(replica0, 'ready').status).toBe(0);
    expect(replica0.process!.log).toMatch(new RegExp(`\\[replication\\] copying ${DB} from 127\\.0\\.0\\.1`));
  });

  test('a replica added after the primary purged its binary logs gets the data by copy, then replicates', async () => {
    sql(primary, `INSERT INTO ${DB}.items VALUES (4, 'four', NULL), (5, 'five', UNHEX('CAFE'))`);
    await waitFor('replica-0 to catch up', () => sql(replica0, `SELECT COUNT(*) FROM ${DB}.items`) === '5');
    await purgeBinaryLogs();
    // Replaying the binary log from the start is no longer possible: only a copy brings rows 1-5.
    expect(sql(primary, 'SELECT @@gtid_binlog_state')).not.toBe('');

    await start(replica1);
    await initialise(replica1);
    await waitReady(replica1);
    expect(sql(replica1, 'SELECT @@server_id')).toBe('101');
    expectReadOnly(replica1);
    expect(items(replica1)).toBe(items(primary));
    await replicates(replica1, 6);
    await waitFor('replica-0 to get row 6', () => sql(replica0, `SELECT COUNT(*) FROM ${DB}.items WHERE id = 6`) === '1');
  });

  test('running the set-up again on a replica changes nothing and writes nothing, and replication goes on', async () => {
    sql(replica1, 'SET SESSION sql_log_bin = 0; CREATE DATABASE only_here; CREATE TABLE only_here.t (a INT); INSERT INTO only_here.t VALUES (42)');
    const before = { status: replicaStatus(replica1), slavePos: sql(replica1, 'SELECT @@gtid_slave_pos'), binlog: binlogPosition(replica1) };

    const output = setup(replica1);
    expect(output).not.toMatch(/copying|re-pointing|dropping|creating/);
    expect(output).toMatch(/replica of 127\.0\.0\.1:\d+, replicating, read-only/);

    expect(sql(replica1, 'SELECT a FROM only_here.t')).toBe('42');
    expect(sql(replica1, 'SELECT @@gtid_slave_pos')).toBe(before.slavePos);
    expect(binlogPosition(replica1)).toBe(before.binlog);
    expect(replicaStatus(replica1)).toMatchObject({ Master_Host: before.status.Master_Host, Master_Port: before.status.Master_Port, Slave_IO_Running: 'Yes', Slave_SQL_Running: 'Yes' });
    expectReadOnly(replica1);
    await replicates(replica1, 7);
  });

  test('a restarted replica is read-only from its start, and resumes where it stopped without copying again', async () => {
    await stop(replica1);
    expect(existsSync(join(replica1.dir, 'mysqld.sock'))).toBe(false);
    sql(primary, `INSERT INTO ${DB}.items VALUES (8, 'written while replica-1 was down', NULL)`);

    // While its set-up cannot reach the primary, the server is up, read-only and not ready.
    await start(replica1, { MYSQL_SOURCE_PORT: String(await freePort()) });
    await listening(replica1);
    await waitFor('replica-1 to accept root', () => sql(replica1, 'SELECT 1') === '1');
    expectReadOnly(replica1);
    expect(probe(replica1, 'ready').status).not.toBe(0);
    await stop(replica1);

    // The ready file of the earlier run is still there (the pod's emptyDir outlives the container).
    writeFileSync(readyFile(replica1), '');
    const restarted = await start(replica1);
    expect(existsSync(readyFile(replica1))).toBe(false);
    await waitReady(replica1);
    await waitFor('row 8 on the restarted replica-1', () => sql(replica1, `SELECT COUNT(*) FROM ${DB}.items WHERE id = 8`) === '1');
    expect(items(replica1)).toBe(items(primary));
    expect(sql(replica1, 'SELECT a FROM only_here.t')).toBe('42');
    expectReadOnly(replica1);
    expect(restarted.log).not.toMatch(/copying/);
    await replicates(replica1, 9);
  });

  test('a rotated replication password: the primary updates the account, a replica re-points', async () => {
    const rotated = { MYSQL_REPLICATION_PASSWORD: ROTATED_REPLICATION_PASSWORD };
    expect(setup(primary, rotated)).toMatch(/creating or updating account replicator/);
    // The running I/O thread keeps its session; a reconnect with the old password is refused.
    sql(replica0, 'STOP REPLICA; START REPLICA');
    await waitFor('replica-0 to be refused', () => replicaStatus(replica0).Last_IO_Errno === '1045', 20_000);
    // Refused, the I/O thread keeps connecting: not serving fresh data, not ready.
    expect(probe(replica0, 'ready')).toMatchObject({ status: 1, output: expect.stringMatching(/replication is not running: I\/O thread Connecting \(error 1045/) });
    // Only the set-up re-points it: liveness fails, so the kubelet restarts the container.
    expect(probe(replica0, 'live')).toMatchObject({ status: 1, output: expect.stringMatching(/replication stopped on error 1045/) });

    expect(setup(replica0, rotated)).toMatch(/re-pointing replication/);
    expect(replicaStatus(replica0).Slave_IO_Running).toBe('Yes');
    await replicates(replica0, 10);
    expect(probe(replica0, 'ready').status).toBe(0);
    // The Secret holds the new password from now on.
    podEnv.primary.MYSQL_REPLICATION_PASSWORD = ROTATED_REPLICATION_PASSWORD;
    podEnv.replica.MYSQL_REPLICATION_PASSWORD = ROTATED_REPLICATION_PASSWORD;
  });

  test('a replica that can no longer catch up is not ready, and copies again when it restarts', async () => {
    // Away while the primary writes and purges its binary logs: what it needs is gone.
    sql(replica0, 'STOP REPLICA IO_THREAD');
    sql(primary, `INSERT INTO ${DB}.items VALUES (12, 'written while replica-0 was away', NULL)`);
    await purgeBinaryLogs();
    sql(replica0, 'START REPLICA IO_THREAD');
    await waitFor('replica-0 to hit error 1236', () => replicaStatus(replica0).Last_IO_Errno === '1236', 20_000);
    expect(replicaStatus(replica0).Slave_IO_Running).toBe('No');
    // The set-up had succeeded, but the rows it serves are incomplete: not ready.
    expect(existsSync(readyFile(replica0))).toBe(true);
    expect(probe(replica0, 'ready')).toMatchObject({ status: 1, output: expect.stringMatching(/I\/O thread No \(error 1236/) });
    // Only the set-up repairs it: liveness fails, so the kubelet restarts the container.
    expect(probe(replica0, 'live')).toMatchObject({ status: 1, output: expect.stringMatching(/replication stopped on error 1236 .*restarting runs the set-up/) });

    await stop(replica0);
    const restarted = await start(replica0);
    await waitReady(replica0);
    expect(sql(replica0, `SELECT label FROM ${DB}.items WHERE id = 12`)).toBe('written while replica-0 was away');
    expect(items(replica0)).toBe(items(primary));
    expect(restarted.log).toMatch(/the primary no longer holds the binary logs this replica needs: dropping this replica's copy/);
    expectReadOnly(replica0);
    expect(probe(replica0, 'ready').status).toBe(0);
    await replicates(replica0, 13);
  });

  test('a replica holding data of its own is refused; an interrupted copy leaves no process behind, stays read-only and is done again', async () => {
    // Enough rows that the dump outgrows a pipe's buffer: held back, mysqldump blocks mid-way.
    sql(primary, `CREATE TABLE ${DB}.filler (id INT PRIMARY KEY, pad VARCHAR(1000)); SET SESSION max_recursive_iterations = 2000;
      INSERT INTO ${DB}.filler WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) SELECT i, REPEAT('x', 1000) FROM n`);

    // A long pause between attempts, so that the test can change the server between them.
    await start(replica2, { MYSQL_SETUP_RETRY_SECONDS: '3600' });
    await initialise(replica2, 'CREATE DATABASE precious; CREATE TABLE precious.t (a INT); INSERT INTO precious.t VALUES (1);');
    await waitFor('the refusal', () => /refusing to copy from the primary: this server holds schemas \(precious\)/.test(replica2.process!.log), 30_000);
    expect(existsSync(readyFile(replica2))).toBe(false);
    expect(probe(replica2, 'ready').status).not.toBe(0);
    expect(sql(replica2, 'SELECT a FROM precious.t')).toBe('1');
    expect(replicaStatus(replica2)).toEqual({});

    // The schema moved away, a set-up run is stopped (TERM) in the middle of its copy.
    sql(replica2, 'DROP DATABASE precious');
    writeFileSync(slowFlag, '');
    const interrupted = new ServerProcess('bash', [join(SCRIPTS, 'replication.sh')], { env: envOf(replica2, slowCopy()), cwd: replica2.dir });
    await copyUnderWay(replica2);
    await interrupted.stop(30_000);
    await waitFor('no process of the stopped copy', () => markedProcesses(marker).length === 0, 5_000)
      .catch(() => expect(markedProcesses(marker)).toEqual([]));
    expect(existsSync(join(replica2.dir, 'replica-copy.incomplete'))).toBe(true);
    expectReadOnly(replica2, /ERROR 1045 .*Access denied/);
    expect(existsSync(readyFile(replica2))).toBe(false);

    // The container stopped (TERM to server.sh) while its set-up copies again.
    await stop(replica2);
    await start(replica2, slowCopy());
    await copyUnderWay(replica2);
    await stop(replica2);
    expect(markedProcesses(marker)).toEqual([]);
    expect(replica2.process!.log).toMatch(/did not finish: dropping this replica's copy/);

    rmSync(slowFlag);
    await start(replica2);
    await waitReady(replica2);
    expect(replica2.process!.log).toMatch(/did not finish: dropping this replica's copy/);
    expect(existsSync(join(replica2.dir, 'replica-copy.incomplete'))).toBe(false);
    expect(sql(replica2, 'SELECT @@server_id')).toBe('102');
    expectReadOnly(replica2);
    expect(items(replica2)).toBe(items(primary));
    expect(sql(replica2, `SELECT COUNT(*) FROM ${DB}.filler`)).toBe('2000');
    await replicates(replica2, 11);
  });

  test('the container stops when the server dies', async () => {
    const pid = Number(readFileSync(join(replica0.dir, 'mysqld.pid'), 'utf8').trim());
    process.kill(pid, 'SIGKILL');
    await waitFor('server.sh to exit', () => replica0.process!.exited, 15_000);
    expect(replica0.process!.log).toMatch(/server exited with status 137/);
  });
});

/**
 * The MySQL-only functions (mysql_dump_source, mysql_change_source, mysql_set_read_only,
 * mysql_allow_root_writes) and MySQL's spelling of SHOW REPLICA STATUS, with stand-ins for the
 * MySQL 8.0 clients on PATH: they record every call (account, port, statements, arguments) and
 * answer the scripts' queries as an 8.0.39 server would. What is proven is what the scripts send,
 * not what a MySQL server does with it.
 */
describe('MySql scripts: MySQL 8.0 statements, sent to recording stand-ins of its clients', () => {
  const LOCAL_PORT = '3306';
  const SOURCE_PORT = '3307';
  let dir: { path: string; remove: () => void };
  let bin: string;
  const marker = `mysql-stub-${process.pid}-${Date.now()}`;

  const MYSQL_STUB = `#!/bin/bash
# Stand-in for the MySQL 8.0 client.
set -u
state=$STUB_STATE
user=$(sed -n 's/^user="\\(.*\\)"$/\\1/p' "\${1#--defaults-extra-file=}")
args=("$@") port= statements= inline=
for ((i = 0; i < \${#args[@]}; i++)); do
  case \${args[i]} in
    --port=*) port=\${args[i]#--port=} ;;
    -e) statements=\${args[i + 1]} inline=1 ;;
  esac
done
if [[ -z $inline ]]; then statements=$(cat); fi
printf -- '--- mysql %s@%s\\n%s\\n' "$user" "$port" "$statements" >>"$state/calls"
case $statements in
  *'super_read_only = ON'*) echo 1 >"$state/read_only" ;;
  *'CHANGE REPLICATION SOURCE'*) touch "$state/configured" ;;
  *'RESET REPLICA ALL'*) rm -f "$state/configured" "$state/started" "$state/io-error" ;;
  *'START REPLICA'*) touch "$state/started" ;;
  *'DROP DATABASE'*) rm -f "$state/loaded" ;;
  *GTID_PURGED*) touch "$state/loaded" ;;
esac
case $statements in
  'SELECT 1') echo 1 ;;
  'SELECT VERSION()') echo 8.0.39 ;;
  # No account exists yet: access denied.
  'SHOW GRANTS') exit 1 ;;
  *information_schema.schemata*)
    if [[ $port == "$STUB_SOURCE_PORT" || -e $state/loaded ]]; then echo logistics_db; fi ;;
  *'SHOW REPLICA STATUS'*)
    printf '*************************** 1. row ***************************\\nGlobal_read_only: %s\\n' "$(cat "$state/read_only" 2>/dev/null || echo 0)"
    if [[ -e $state/configured ]]; then
      io=No sql=No errno=0 error=
      if [[ -e $state/started ]]; then
        sql=Yes io=Yes
        if [[ -e $state/io-error ]]; then
          io=No errno=13114 error="Got fatal error 1236 from source when reading data from binary log: 'Cannot replicate because the source purged required binary logs.'"
        fi
      fi
      printf '*************************** 2. row ***************************\\n'
      printf '                    Source_Host: primary.example\\n                    Source_Port: %s\\n                    Source_User: replicator\\n' "$STUB_SOURCE_PORT"
      printf '             Replica_IO_Running: %s\\n            Replica_SQL_Running: %s\\n' "$io" "$sql"
      printf '                  Last_IO_Errno: %s\\n                  Last_IO_Error: %s\\n                 Last_SQL_Errno: 0\\n                 Last_SQL_Error: \\n' "$errno" "$error"
    fi ;;
esac
`;
  const MYSQLDUMP_STUB = `#!/bin/bash
# Stand-in for MySQL 8.0's mysqldump: a dump that sets the GTID set, held back with STUB_HANG_DUMP.
printf -- '--- mysqldump %s\\n' "$*" >>"$STUB_STATE/calls"
printf "SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5';\\nCREATE DATABASE logistics_db;\\n"
if [[ -n \${STUB_HANG_DUMP:-} ]]; then sleep 300; fi
`;
  const MYSQLADMIN_STUB = `#!/bin/bash
printf -- '--- mysqladmin %s\\n' "$*" >>"$STUB_STATE/calls"
`;

  /** A replica pod's environment, pointed at the stand-ins; `state` is the stand-ins' directory. */
  function env(state: string, extra: Record<string, string> = {}): Record<string, string> {
    return {
      PATH: `${bin}:${process.env.PATH}`,
      STUB_STATE: state,
      STUB_SOURCE_PORT: SOURCE_PORT,
      [MARKER_VARIABLE]: marker,
      MYSQL_ROLE: 'replica',
      MYSQL_ROOT_PASSWORD: ROOT_PASSWORD,
      MYSQL_PORT: LOCAL_PORT,
      MYSQL_REPLICATION_PASSWORD: SECRETS['mysql-credentials/replication-password'],
      MYSQL_APP_DATABASE: DB,
      MYSQL_APP_USER: 'logistics',
      MYSQL_APP_PASSWORD: APP_PASSWORD,
      MYSQL_SOURCE_HOST: 'primary.example',
      MYSQL_SOURCE_PORT: SOURCE_PORT,
      MYSQL_STATE_DIR: state,
      MYSQL_RUN_DIR: state,
      MYSQL_WAIT_SECONDS: '5',
      MYSQL_REPLICA_START_SECONDS: '5',
      ...extra,
    };
  }

  function newState(name: string): string {
    const state = join(dir.path, name);
    mkdirSync(state);
    return state;
  }

  function runScript(script: string, state: string, args: string[] = []): { status: number | null; output: string } {
    const result = spawnSync('bash', [join(SCRIPTS, script), ...args], { env: { ...process.env, ...env(state) }, encoding: 'utf8', cwd: state, timeout: 60_000 });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  /** The recorded calls, one string each: `mysql user@port\nstatements` or `mysqldump arguments`. */
  const calls = (state: string) => readFileSync(join(state, 'calls'), 'utf8').split(/^--- /m).filter((c) => c !== '');
  const indexOf = (list: string[], pattern: RegExp, from = 0) => list.findIndex((c, i) => i >= from && pattern.test(c));

  beforeAll(() => {
    dir = tempDir('mysql-stubs');
    bin = join(dir.path, 'bin');
    mkdirSync(bin);
    for (const [name, content] of Object.entries({ mysql: MYSQL_STUB, mysqldump: MYSQLDUMP_STUB, mysqladmin: MYSQLADMIN_STUB })) {
      writeFileSync(join(bin, name), content);
      chmodSync(join(bin, name), 0o755);
    }
  });

  afterAll(() => {
    for (const leftover of markedProcesses(marker)) {
      try {
        process.kill(Number(leftover.split(' ')[0]), 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    dir?.remove();
  });

  test('a new replica: consistent dump with the GTID set, auto-positioning over TLS, super_read_only persisted', () => {
    const state = newState('fresh');
    const result = runScript('replication.sh', state);
    expect(result).toMatchObject({ status: 0, output: expect.stringMatching(/replica of primary\.example:3307, replicating, read-only/) });
    const list = calls(state);

    const dump = list.filter((c) => c.startsWith('mysqldump '));
    expect(dump).toHaveLength(1);
    for (const option of ['--single-transaction', '--set-gtid-purged=ON', '--host=primary.example', `--port=${SOURCE_PORT}`, '--databases logistics_db']) {
      expect(dump[0]).toContain(option);
    }
    // The dump is loaded into the local server, unlogged, GTID set included.
    const load = indexOf(list, new RegExp(`^mysql root@${LOCAL_PORT}\\nSET SESSION sql_log_bin = 0;\\nSET @@GLOBAL.GTID_PURGED=`));
    expect(load).toBeGreaterThan(-1);
    const change = indexOf(list, /CHANGE REPLICATION SOURCE TO/);
    expect(list[change]).toContain("SOURCE_HOST='primary.example', SOURCE_PORT=3307, SOURCE_USER='replicator'");
    expect(list[change]).toContain('SOURCE_AUTO_POSITION=1');
    expect(list[change]).toContain('SOURCE_SSL=1');
    expect(change).toBeGreaterThan(load);
    expect(indexOf(list, /^mysql root@3306\nSTART REPLICA$/m)).toBeGreaterThan(change);

    // Read-only before anything is written; root's writes allowed for the copy only, the
    // application never; read-only again (persisted) at the end.
    const first = indexOf(list, /SET PERSIST super_read_only = ON/);
    const lifted = indexOf(list, /SET GLOBAL read_only = ON; SET GLOBAL super_read_only = OFF/);
    expect(first).toBeGreaterThan(-1);
    expect(first).toBeLessThan(indexOf(list, /RESET MASTER/));
    expect(lifted).toBeGreaterThan(first);
    expect(lifted).toBeLessThan(load);
    expect(list[list.length - 1]).toMatch(/SET PERSIST super_read_only = ON/);
    expect(list.join('\n')).not.toMatch(/(?<!super_)read_only = OFF|PERSIST[^;\n]*OFF/);
  });

  test('readiness reads MySQL\'s field names: both threads Yes and read-only, or not ready', () => {
    const state = newState('probe');
    expect(runScript('replication.sh', state).status).toBe(0);
    writeFileSync(join(state, 'setup-complete'), '');
    expect(runScript('probe.sh', state, ['ready'])).toMatchObject({ status: 0 });
    expect(runScript('probe.sh', state, ['live']).status).toBe(0);
    expect(calls(state)).toContainEqual(expect.stringMatching(/^mysqladmin .*--port=3306 .*ping/));

    writeFileSync(join(state, 'io-error'), '');
    expect(runScript('probe.sh', state, ['ready'])).toMatchObject({ status: 1, output: expect.stringMatching(/I\/O thread No \(error 13114: Got fatal error 1236/) });
    expect(runScript('probe.sh', state, ['live'])).toMatchObject({ status: 1, output: expect.stringMatching(/replication stopped on error 13114/) });
    rmSync(join(state, 'io-error'));
    writeFileSync(join(state, 'read_only'), '0');
    expect(runScript('probe.sh', state, ['ready'])).toMatchObject({ status: 1, output: expect.stringMatching(/writable/) });
  });

  test('a replica whose I/O thread stopped on the purged binary logs (13114 wrapping 1236) drops its copy and copies again', () => {
    const state = newState('purged');
    expect(runScript('replication.sh', state).status).toBe(0);
    writeFileSync(join(state, 'io-error'), '');
    const before = calls(state).length;

    const result = runScript('replication.sh', state);
    expect(result).toMatchObject({ status: 0, output: expect.stringMatching(/no longer holds the binary logs this replica needs: dropping/) });
    const list = calls(state).slice(before);
    const reset = indexOf(list, /STOP REPLICA; RESET REPLICA ALL/);
    expect(reset).toBeGreaterThan(-1);
    expect(indexOf(list, /DROP DATABASE `logistics_db`/)).toBeGreaterThan(reset);
    expect(indexOf(list, /^mysqldump .*--set-gtid-purged=ON/)).toBeGreaterThan(reset);
    expect(list[list.length - 1]).toMatch(/SET PERSIST super_read_only = ON/);
    expect(existsSync(join(state, 'replica-copy.incomplete'))).toBe(false);
  });

  test('a copy stopped by TERM: its processes die with it and super_read_only is set again', async () => {
    const state = newState('interrupted');
    const child = new ServerProcess('bash', [join(SCRIPTS, 'replication.sh')], { env: env(state, { STUB_HANG_DUMP: '1' }), cwd: state });
    await waitFor('the dump to start', () => existsSync(join(state, 'calls')) && calls(state).some((c) => c.startsWith('mysqldump ')), 20_000);
    expect(markedProcesses(marker).some((p) => p.includes('sleep 300'))).toBe(true);
    await child.stop(20_000);
    expect(child.log).not.toMatch(/replicating, read-only/);
    await waitFor('no process of the stopped copy', () => markedProcesses(marker).length === 0, 5_000)
      .catch(() => expect(markedProcesses(marker)).toEqual([]));
    expect(calls(state).pop()).toMatch(/SET PERSIST super_read_only = ON/);
    expect(existsSync(join(state, 'replica-copy.incomplete'))).toBe(true);
  });
});
