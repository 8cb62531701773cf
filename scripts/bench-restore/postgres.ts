/**
 * Restore benchmark of the PostgreSQL backup scripts (lib/data/postgres/backup) on a real PostgreSQL
 * server with local restic repositories:
 *
 *   1. a small base backup (base 0), then about `bytes` of table data loaded; the WAL it made is
 *      shipped by pg-wal-ship.sh (archiveSeconds: the shipper's throughput);
 *   2. a target time, a commit after it, shipped; base backup 1 of the loaded data (backupSeconds);
 *   3. restore `latest` from base 1 (restoreSeconds: a full restore, little WAL to replay);
 *   4. restore to the target, which lies before base 1: base 0 plus replay of all the loaded WAL
 *      (pointInTimeSeconds: the worst case of a day's WAL replayed after the daily base).
 *
 * Variant `volume` takes the bases with pg-volume-backup.sh (the files of the data directory, the
 * store's `fullBackupSource: volume`) instead of pg_basebackup; restores are then file by file.
 *
 * Servers and scripts run as the `postgres` user when run as root (PostgreSQL refuses root).
 */
import { spawnSync } from 'child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'fs';
import { join } from 'path';
import { asPostgresUser, findBinary, freePort, POSTGRES_BIN_DIR, postgresServerUser, ServerProcess, versionOf, waitFor } from '../../test/support/real-servers';

const SCRIPTS = ['pg-backup-lib.sh', 'pg-wal-archive.sh', 'pg-wal-ship.sh', 'pg-base-backup.sh', 'pg-volume-backup.sh', 'pg-restore.sh'];

export async function benchRestore(options: { bytes: number; workDir: string; variant?: string }): Promise<{ engine: string; server: string; dataBytes: number; backupSeconds: number; restoreSeconds: number; pointInTimeSeconds?: number; archiveSeconds?: number; extractBytesPerSecond?: number; replayBytes?: number }> {
  const binDir = POSTGRES_BIN_DIR;
  const restic = findBinary('restic');
  if (!binDir || !restic) throw new Error('postgres bench: needs the postgresql and restic Debian packages');
  const user = postgresServerUser();
  const root = mkdtempSync(join(options.workDir, 'postgres-bench-'));
  const p = (...parts: string[]): string => join(root, ...parts);
  for (const d of ['scripts', 'volume', 'home', 'tmp', 'run', 'restore']) mkdirSync(p(d), { recursive: true });
  const repoRoot = join(__dirname, '..', '..');
  for (const name of SCRIPTS) copyFileSync(join(repoRoot, 'lib/data/postgres/backup', name), p('scripts', name));
  copyFileSync(join(repoRoot, 'lib/backup/restic.sh'), p('scripts', 'restic.sh'));
  for (const name of readdirSync(p('scripts'))) chmodSync(p('scripts', name), 0o555);
  if (user) spawnSync('chown', ['-R', `${user.uid}:${user.gid}`, root]);
  const port = await freePort();
  const data = p('volume', 'pgdata');
  if (options.variant !== undefined && options.variant !== 'volume') throw new Error(`postgres bench: unknown variant '${options.variant}' (volume)`);
  const baseScript = options.variant === 'volume' ? 'pg-volume-backup.sh' : 'pg-base-backup.sh';

  const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
    const clean: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG') && !k.startsWith('RESTIC')) clean[k] = v;
    return {
      ...clean, PATH: `${binDir}:${process.env.PATH}`, HOME: p('home'), TMPDIR: p('tmp'), LC_ALL: 'C.UTF-8',
      RESTIC: restic, RESTIC_PASSWORD: 'bench', RESTIC_REPOSITORY: p('repo-base'), ARCHIVE_REPOSITORY: p('repo-wal'),
      BACKUP_HOST: 'postgres', WAL_SPOOL_DIR: p('volume', 'wal-spool'), PGDATA: data, PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: 'app', PGDATABASE: 'bench',
      ...extra,
    };
  };
  const asUser = asPostgresUser;
  const exec = (cmd: string, args: string[], extra: Record<string, string> = {}): string => {
    const [c, a] = asUser(cmd, args);
    const r = spawnSync(c, a, { env: env(extra), encoding: 'utf8', cwd: p('tmp'), timeout: 6 * 3600_000, maxBuffer: 64 * 2 ** 20 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}\n${r.stdout}${r.stderr}`);
    return `${r.stdout}${r.stderr}`;
  };
  const timed = (fn: () => unknown): number => {
    const start = Date.now();
    fn();
    return (Date.now() - start) / 1000;
  };
  const psql = (sql: string, db = 'bench'): string => exec(join(binDir, 'psql'), ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-U', 'app', '-d', db, '-c', sql]).trim();
  const script = (name: string, ...args: string[]): string => exec('bash', [p('scripts', name), ...args]);

  let server: ServerProcess | undefined;
  try {
    exec(join(binDir, 'initdb'), ['-D', data, '-U', 'app', '--auth=trust', '--data-checksums', '--no-instructions']);
    const [cmd, argv] = asUser(join(binDir, 'postgres'), ['-D', data, '-c', `port=${port}`, '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${p('run')}`,
      '-c', 'shared_buffers=256MB', '-c', 'max_wal_size=4GB', '-c', 'archive_mode=on', '-c', `archive_command=${p('scripts', 'pg-wal-archive.sh')} %p %f`]);
    const serverEnv = env();
    delete serverEnv.WAL_SPOOL_DIR;
    server = new ServerProcess(cmd, argv, { env: serverEnv, cwd: p('run') });
    await waitFor('the bench server', () => {
      server!.assertRunning('PostgreSQL');
      return spawnSync(join(binDir, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port)]).status === 0;
    }, 60_000);
    psql('CREATE DATABASE bench', 'postgres');
    psql('CREATE TABLE listings (id bigint PRIMARY KEY, payload text NOT NULL)');
    script(baseScript);
    const walStart = psql('SELECT pg_current_wal_lsn()');

    // About 1 kB per row (30 md5 strings), loaded in chunks of 100k rows.
    const rows = Math.max(1000, Math.ceil(options.bytes / 1100));
    for (let from = 1; from <= rows; from += 100_000) {
      psql(`INSERT INTO listings SELECT g, repeat(md5(g::text), 30) FROM generate_series(${from}, ${Math.min(rows, from + 99_999)}) g`);
    }
    const dataBytes = Number(psql("SELECT pg_total_relation_size('listings')"));
    psql('SELECT pg_switch_wal()');
    // The archiver copies to the spool as the load goes; what the shipper then uploads is timed.
    const archiveSeconds = timed(() => script('pg-wal-ship.sh', '--once'));
    psql("INSERT INTO listings VALUES (0, 'before target')");
    const target = psql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
    // The WAL a restore to the target replays after base 0.
    const replayBytes = Number(psql(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '${walStart}')`));
    await new Promise((r) => setTimeout(r, 50));
    psql("INSERT INTO listings VALUES (-1, 'after target')");
    psql('SELECT pg_switch_wal()');
    script('pg-wal-ship.sh', '--once');
    const backupSeconds = timed(() => script(baseScript));
    psql('SELECT pg_switch_wal()');
    script('pg-wal-ship.sh', '--once');

    let restoreOutput = '';
    const restoreSeconds = timed(() => { restoreOutput = script('pg-restore.sh', '--target-time', 'latest', p('restore', 'latest')); });
    // The part that grows with the data: the base's extraction, as pg-restore.sh logs it.
    const extract = /base extract \(\w+\): (\d+) bytes in ([\d.]+) s/.exec(restoreOutput);
    if (!extract) throw new Error(`postgres bench: no "base extract" line in pg-restore.sh's output:\n${restoreOutput}`);
    const extractBytesPerSecond = Number(extract[1]) / Math.max(Number(extract[2]), 0.01);
    rmSync(p('restore', 'latest'), { recursive: true, force: true });
    const pointInTimeSeconds = timed(() => script('pg-restore.sh', '--target-time', target, p('restore', 'pitr')));
    rmSync(p('restore', 'pitr'), { recursive: true, force: true });

    return { engine: options.variant === 'volume' ? 'PostgreSQL (volume base)' : 'PostgreSQL', server: versionOf(join(binDir, 'postgres')), dataBytes, backupSeconds, restoreSeconds, pointInTimeSeconds, archiveSeconds, extractBytesPerSecond, replayBytes };
  } finally {
    if (server && !server.exited) {
      spawnSync(...asUser(join(binDir, 'pg_ctl'), ['stop', '-D', data, '-m', 'fast', '-w']), { env: env() });
      await server.stop();
    }
    rmSync(root, { recursive: true, force: true });
  }
}
