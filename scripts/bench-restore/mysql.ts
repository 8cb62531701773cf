/**
 * Restore benchmark of the MySQL backup scripts (lib/data/mysql/backup) on a real MariaDB 10.11
 * server with a local restic repository: loads about `bytes` of table data, takes a full backup,
 * writes and archives an hour's worth of binary logs (a tenth of the data), then restores the
 * latest state (full + replay) and times each step. Also the helpers the test suite
 * (test/backup/mysql-backup.test.ts) starts its servers and runs the scripts with.
 *
 * Variant `physical` (`npm run bench:restore -- mysql-physical`, the store's `fullBackupSource: volume`):
 * the physical path instead (mariadb-backup from the data directory, restored file by file onto the
 * server's directory with the server stopped: extract + prepare + replay, then the server started
 * on it).
 */
import { spawnSync } from 'child_process';
import { existsSync, mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { findBinary, freePort, run, ServerProcess, waitFor } from '../../test/support/real-servers';

export const MYSQL_BACKUP_SCRIPTS = process.env.MYSQL_BACKUP_SCRIPTS_DIR ?? join(__dirname, '..', '..', 'lib', 'data', 'mysql', 'backup');
export const RESTIC_LIB = process.env.MYSQL_BACKUP_LIB ?? join(__dirname, '..', '..', 'lib', 'backup', 'restic.sh');
export const MYSQL_BACKUP_BINARIES = {
  mariadbd: findBinary('mariadbd'),
  'mariadb-install-db': findBinary('mariadb-install-db'),
  mysql: findBinary('mysql'),
  mysqldump: findBinary('mysqldump'),
  mysqlbinlog: findBinary('mysqlbinlog'),
  restic: findBinary('restic'),
};
const runningAsRoot = process.getuid?.() === 0;

/** A MariaDB server on a loopback port, configured like the MySql construct's (GTIDs, ROW binlog, replicas log what they apply). */
export interface MariaDbServer {
  readonly name: string;
  readonly port: number;
  readonly dir: string;
  readonly process: ServerProcess;
  /** Rows of a query as root over TCP, tab-separated lines, trimmed. */
  sql(statement: string): string;
  stop(): Promise<void>;
}

/** Starts a fresh server in `dir`; root@127.0.0.1 gets `rootPassword` (unlogged, as the entrypoint's set-up is per server). */
export async function startMariaDb(dir: string, name: string, serverId: number, rootPassword: string, extraOptions: string[] = []): Promise<MariaDbServer> {
  const port = await freePort();
  mkdirSync(join(dir, 'data'), { recursive: true });
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  const own = [`--datadir=${join(dir, 'data')}`, `--tmpdir=${join(dir, 'tmp')}`, `--socket=${join(dir, 'mysqld.sock')}`, `--pid-file=${join(dir, 'mysqld.pid')}`];
  const asRoot = runningAsRoot ? ['--user=root'] : [];
  run(MYSQL_BACKUP_BINARIES['mariadb-install-db']!, ['--no-defaults', ...own, '--auth-root-authentication-method=normal', '--skip-test-db', ...asRoot], { env: { TMPDIR: join(dir, 'tmp') } });
  const child = new ServerProcess(MYSQL_BACKUP_BINARIES.mariadbd!, ['--no-defaults', ...own, `--port=${port}`, '--bind-address=127.0.0.1',
    '--skip-name-resolve', `--server-id=${serverId}`, '--log-bin=mysql-bin', '--log-slave-updates=ON', '--binlog-format=ROW',
    '--gtid-strict-mode=ON', '--innodb-buffer-pool-size=256M', '--max-allowed-packet=64M', ...extraOptions, ...asRoot]);
  try {
    await waitFor(`${name} to listen`, () => {
      child.assertRunning(name);
      return existsSync(join(dir, 'mysqld.sock'));
    }, 60_000);
    // mariadb-install-db creates root@127.0.0.1 without a password.
    run(MYSQL_BACKUP_BINARIES.mysql!, ['--no-defaults', '--protocol=SOCKET', `--socket=${join(dir, 'mysqld.sock')}`, '-uroot'], {
      input: `SET SESSION sql_log_bin = 0; CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY ${literal(rootPassword)};
        GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;`,
    });
  } catch (error) {
    await child.stop();
    throw error;
  }
  const clientCnf = join(dir, 'client.cnf');
  writeFileSync(clientCnf, `[client]\nuser=root\npassword="${rootPassword.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"\n`, { mode: 0o600 });
  return {
    name, port, dir, process: child,
    sql: (statement: string) => run(MYSQL_BACKUP_BINARIES.mysql!, [`--defaults-file=${clientCnf}`, '--protocol=TCP', '-h', '127.0.0.1', '-P', String(port),
      '-N', '-B', '--max-allowed-packet=64M', '-e', statement], { timeoutMs: 1_800_000 }).trim(),
    stop: () => child.stop(60_000),
  };
}

/** A SQL string literal. */
function literal(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Points `replica` at `primary` with GTID positioning (from the primary's first transaction). */
export function replicate(replica: MariaDbServer, primary: MariaDbServer, rootPassword: string): void {
  replica.sql(`CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${primary.port}, MASTER_USER='root', MASTER_PASSWORD=${literal(rootPassword)}, MASTER_USE_GTID=slave_pos; START SLAVE`);
}

/** Until `replica` has applied everything `primary` has logged. */
export async function caughtUp(replica: MariaDbServer, primary: MariaDbServer): Promise<void> {
  const target = primary.sql('SELECT @@gtid_binlog_pos');
  await waitFor(`${replica.name} to apply ${target}`, () => {
    replica.process.assertRunning(replica.name);
    return replica.sql('SELECT @@gtid_slave_pos') === target;
  }, 120_000);
}

export interface ScriptResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs one of the backup scripts with `env` added to this process's environment. */
export function runBackupScript(script: string, args: string[], env: Record<string, string>, timeoutMs = 3_600_000): ScriptResult {
  const result = spawnSync('bash', [join(MYSQL_BACKUP_SCRIPTS, script), ...args], {
    env: { ...process.env, BACKUP_LIB: RESTIC_LIB, ...env }, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 256 * 2 ** 20,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Like {@link runBackupScript}, but throws with the output unless the script exits 0. */
export function mustRun(script: string, args: string[], env: Record<string, string>): ScriptResult {
  const result = runBackupScript(script, args, env);
  if (result.status !== 0) throw new Error(`${script} ${args.join(' ')} exited ${result.status}\n--- stderr\n${result.stderr}`);
  return result;
}

/** The throughput lines (`... MB/s`) a script printed. */
export function throughputLines(result: ScriptResult): string[] {
  return result.stderr.split('\n').filter((line) => line.includes('MB/s'));
}

/** Loads about `bytes` of rows of ~1 KiB into `db`.`t<n>` tables (INSERT ... SELECT over sequences, on the server). */
function load(server: MariaDbServer, db: string, table: string, bytes: number, firstId: number): number {
  const rows = Math.max(1, Math.floor(bytes / 1024));
  const batch = 200_000;
  for (let done = 0; done < rows; done += batch) {
    const n = Math.min(batch, rows - done);
    server.sql(`USE \`${db}\`; INSERT INTO \`${table}\` (id, payload) SELECT ${firstId + done} + seq, REPEAT(MD5(seq), 31) FROM seq_1_to_${n}`);
  }
  return rows;
}

interface MySqlBenchResult {
  engine: string; server: string; dataBytes: number; backupSeconds: number; restoreSeconds: number; pointInTimeSeconds?: number; archiveSeconds?: number;
  extractBytesPerSecond?: number; replayBytes?: number; replaySeconds?: number;
}

/** Bytes and seconds of the throughput lines (restic.sh's log_throughput, report_throughput) whose step matches `step`, summed. */
function measured(lines: readonly string[], step: RegExp): { bytes: number; seconds: number } {
  let bytes = 0;
  let seconds = 0;
  for (const line of lines) {
    const m = /: (\d+) bytes in ([\d.]+) ?s\b/.exec(line);
    if (m && step.test(line)) { bytes += Number(m[1]); seconds += Number(m[2]); }
  }
  if (bytes === 0) throw new Error(`mysql bench: no throughput line for ${step} in:\n${lines.join('\n')}`);
  return { bytes, seconds: Math.max(seconds, 0.01) };
}

/** The server's binary-log position (`file pos`), to measure what a replay after it applies. */
function binlogPosition(server: MariaDbServer): [string, number] {
  const [file, pos] = server.sql('SHOW MASTER STATUS').split('\t');
  return [file, Number(pos)];
}

/** Bytes the server logged after position `from` (across rotations): what a restore from there replays. */
function binlogBytesSince(server: MariaDbServer, [file, pos]: [string, number]): number {
  let bytes = 0;
  for (const line of server.sql('SHOW BINARY LOGS').split('\n')) {
    const [name, size] = line.split('\t');
    if (name >= file) bytes += Number(size) - (name === file ? pos : 0);
  }
  return bytes;
}

/** The benchmark: see the file comment. */
export async function benchRestore(options: { bytes: number; workDir: string; variant?: string }): Promise<MySqlBenchResult> {
  if (options.variant === 'physical') return benchPhysicalRestore(options);
  if (options.variant !== undefined) throw new Error(`mysql bench: unknown variant '${options.variant}' (physical)`);
  const password = 'bench pw';
  const db = 'logistics_bench';
  const server = await startMariaDb(join(options.workDir, 'server'), 'bench server', 1, password, ['--innodb-buffer-pool-size=1G', '--innodb-flush-log-at-trx-commit=2', '--sync-binlog=0']);
  try {
    const env: Record<string, string> = {
      RESTIC: MYSQL_BACKUP_BINARIES.restic!, RESTIC_PASSWORD: 'bench', RESTIC_REPOSITORY: join(options.workDir, 'repo-full'),
      ARCHIVE_REPOSITORY: join(options.workDir, 'repo-archive'), BACKUP_HOST: 'logistics-mysql', MYSQL_HOST: '127.0.0.1',
      MYSQL_PORT: String(server.port), MYSQL_PWD: password, MYSQL_DATABASE: db, TMPDIR: join(options.workDir, 'tmp'),
      XDG_CACHE_HOME: join(options.workDir, 'cache'), SCRATCH_DIR: join(options.workDir, 'scratch'), LOCK_WAIT_SECONDS: '60',
    };
    mkdirSync(env.TMPDIR, { recursive: true });
    mkdirSync(env.SCRATCH_DIR, { recursive: true });
    server.sql(`CREATE DATABASE ${db}; CREATE TABLE ${db}.shipments (id BIGINT PRIMARY KEY, payload TEXT) ENGINE=InnoDB`);
    const rows = load(server, db, 'shipments', options.bytes, 0);
    server.sql(`ANALYZE TABLE ${db}.shipments`); // fresh statistics: data_length of a just-loaded table lags
    const dataBytes = Number(server.sql(`SELECT SUM(data_length + index_length) FROM information_schema.tables WHERE table_schema = '${db}'`));
    const time = (f: () => void) => { const t = Date.now(); f(); return (Date.now() - t) / 1000; };
    const backupSeconds = time(() => mustRun('mysql-full-backup.sh', [], env));
    const afterFull = binlogPosition(server);
    load(server, db, 'shipments', options.bytes / 10, rows + 1);
    const replayBytes = binlogBytesSince(server, afterFull);
    const archiveSeconds = time(() => mustRun('mysql-binlog-archive.sh', [], env));
    // Full restore: the target is the full's own consistent point, so nothing is replayed.
    const fulls = JSON.parse(run(MYSQL_BACKUP_BINARIES.restic!, ['snapshots', '--json', '--tag', 'full'], { env: { ...env } })) as Array<{ tags: string[] }>;
    const fullTime = Number(fulls[0].tags.find((tag) => tag.startsWith('time='))!.slice('time='.length));
    const fullTarget = new Date(fullTime * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    let fullLines: string[] = [];
    const restoreSeconds = time(() => { fullLines = throughputLines(mustRun('mysql-restore.sh', ['--target-time', fullTarget], env)); });
    // Point in time: the full, then the archived hour replayed.
    const pointInTimeSeconds = time(() => mustRun('mysql-restore.sh', ['--target-time', 'latest'], env));
    const restoredRows = Number(server.sql(`SELECT COUNT(*) FROM ${db}.shipments`));
    if (restoredRows !== rows + Math.max(1, Math.floor(options.bytes / 10 / 1024))) throw new Error(`restored ${restoredRows} rows`);
    const loaded = measured(fullLines, /loaded/);
    return {
      engine: 'MySQL (mysqldump + binlog replay, restic)', server: `MariaDB ${server.sql('SELECT VERSION()')}`,
      dataBytes, backupSeconds, restoreSeconds, pointInTimeSeconds, archiveSeconds,
      extractBytesPerSecond: loaded.bytes / loaded.seconds, replayBytes, replaySeconds: pointInTimeSeconds - restoreSeconds,
    };
  } finally {
    await server.stop();
  }
}

/** Starts mariadbd on the existing data directory `<dir>/data` (a restored one), as startMariaDb's server. */
async function startExisting(dir: string, name: string, options: string[]): Promise<MariaDbServer> {
  const port = await freePort();
  const child = new ServerProcess(MYSQL_BACKUP_BINARIES.mariadbd!, ['--no-defaults', `--datadir=${join(dir, 'data')}`, `--tmpdir=${join(dir, 'tmp')}`,
    `--socket=${join(dir, 'mysqld.sock')}`, `--pid-file=${join(dir, 'mysqld.pid')}`, `--port=${port}`, '--bind-address=127.0.0.1', '--skip-name-resolve',
    '--server-id=1', '--log-bin=mysql-bin', '--binlog-format=ROW', ...options, ...(runningAsRoot ? ['--user=root'] : [])]);
  const clientCnf = join(dir, 'client.cnf');
  const sql = (statement: string) => run(MYSQL_BACKUP_BINARIES.mysql!, [`--defaults-file=${clientCnf}`, '--protocol=TCP', '-h', '127.0.0.1', '-P', String(port),
    '-N', '-B', '--max-allowed-packet=64M', '-e', statement], { timeoutMs: 1_800_000 }).trim();
  await waitFor(`${name} to accept root`, () => {
    child.assertRunning(name);
    try { sql('SELECT 1'); return true; } catch { return false; }
  }, 600_000);
  return { name, port, dir, process: child, sql, stop: () => child.stop(600_000) };
}

/** The physical path: mariadb-backup into restic, restored onto the stopped server's directory. */
async function benchPhysicalRestore(options: { bytes: number; workDir: string }): Promise<MySqlBenchResult> {
  const password = 'bench pw';
  const db = 'logistics_bench';
  const serverOptions = ['--innodb-buffer-pool-size=1G', '--innodb-flush-log-at-trx-commit=2', '--sync-binlog=0'];
  const serverDir = join(options.workDir, 'server');
  let server = await startMariaDb(serverDir, 'bench server', 1, password, serverOptions);
  try {
    // As in the official image: root@localhost has root's password (the restore's private server logs in with it).
    server.sql(`SET SESSION sql_log_bin = 0; ALTER USER 'root'@'localhost' IDENTIFIED BY '${password}'`);
    const env: Record<string, string> = {
      RESTIC: MYSQL_BACKUP_BINARIES.restic!, RESTIC_PASSWORD: 'bench', RESTIC_REPOSITORY: join(options.workDir, 'repo-full'),
      ARCHIVE_REPOSITORY: join(options.workDir, 'repo-archive'), BACKUP_HOST: 'logistics-mysql', MYSQL_HOST: '127.0.0.1',
      MYSQL_PORT: String(server.port), MYSQL_PWD: password, MYSQL_DATABASE: db, TMPDIR: join(options.workDir, 'tmp'),
      XDG_CACHE_HOME: join(options.workDir, 'cache'), SCRATCH_DIR: join(options.workDir, 'scratch'), LOCK_WAIT_SECONDS: '60',
      MYSQL_DATA_DIR: join(serverDir, 'data'), MYSQLD: MYSQL_BACKUP_BINARIES.mariadbd!, PREPARE_MEMORY: '1G',
      SCRATCH_MYSQLD_OPTIONS: '--innodb-buffer-pool-size=1G', SCRATCH_START_SECONDS: '600',
    };
    mkdirSync(env.TMPDIR, { recursive: true });
    mkdirSync(env.SCRATCH_DIR, { recursive: true });
    server.sql(`CREATE DATABASE ${db}; CREATE TABLE ${db}.shipments (id BIGINT PRIMARY KEY, payload TEXT) ENGINE=InnoDB`);
    const rows = load(server, db, 'shipments', options.bytes, 0);
    server.sql(`ANALYZE TABLE ${db}.shipments`);
    const dataBytes = Number(server.sql(`SELECT SUM(data_length + index_length) FROM information_schema.tables WHERE table_schema = '${db}'`));
    const time = (f: () => void) => { const t = Date.now(); f(); return (Date.now() - t) / 1000; };
    const lines: string[] = [];
    const step = (script: string, args: string[]) => { lines.push(...throughputLines(mustRun(script, args, env))); };
    const backupSeconds = time(() => step('mysql-physical-backup.sh', []));
    const afterFull = binlogPosition(server);
    load(server, db, 'shipments', options.bytes / 10, rows + 1);
    const replayBytes = binlogBytesSince(server, afterFull);
    const archiveSeconds = time(() => step('mysql-binlog-archive.sh', []));
    const fulls = JSON.parse(run(MYSQL_BACKUP_BINARIES.restic!, ['snapshots', '--json', '--tag', 'full'], { env: { ...env } })) as Array<{ tags: string[] }>;
    const fullTime = Number(fulls[0].tags.find((tag) => tag.startsWith('time='))!.slice('time='.length));
    const fullTarget = new Date(fullTime * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    let restoreLines: string[] = [];
    const restore = async (target: string): Promise<number> => {
      await server.stop();
      const before = lines.length;
      const seconds = time(() => { step('mysql-physical-restore.sh', ['extract', '--target-time', target]); step('mysql-physical-restore.sh', ['apply']); });
      restoreLines = lines.slice(before);
      server = await startExisting(serverDir, 'restored bench server', serverOptions);
      return seconds;
    };
    // Full restore: extract + prepare, nothing replayed (the target is the full's own consistent point).
    const restoreSeconds = await restore(fullTarget);
    // The part that grows with the data: extraction and prepare of the same bytes.
    const extracted = measured(restoreLines, /physical full backup \S+ extracted/);
    const prepared = measured(restoreLines, /physical full backup \S+ prepared/);
    const fullRows = Number(server.sql(`SELECT COUNT(*) FROM ${db}.shipments`));
    if (fullRows !== rows) throw new Error(`the full restore holds ${fullRows} rows, not ${rows}`);
    // Point in time: the same, then the archived hour replayed.
    const pointInTimeSeconds = await restore('latest');
    const restoredRows = Number(server.sql(`SELECT COUNT(*) FROM ${db}.shipments`));
    if (restoredRows !== rows + Math.max(1, Math.floor(options.bytes / 10 / 1024))) throw new Error(`restored ${restoredRows} rows`);
    process.stderr.write(`${lines.join('\n')}\n`);
    return {
      engine: 'MySQL (physical: mariadb-backup + binlog replay, restic)', server: `MariaDB ${server.sql('SELECT VERSION()')}`,
      dataBytes, backupSeconds, restoreSeconds, pointInTimeSeconds, archiveSeconds,
      extractBytesPerSecond: extracted.bytes / (extracted.seconds + prepared.seconds), replayBytes, replaySeconds: pointInTimeSeconds - restoreSeconds,
    };
  } finally {
    await server.stop();
  }
}
