/**
 * Volume base backups of PostgreSQL (`fullBackupSource: volume`, lib/data/postgres/backup/
 * pg-volume-backup.sh) against real PostgreSQL servers in the production topology: a primary that
 * archives its WAL through the spool, and a streaming standby whose data directory the backup reads
 * (as the backup job does with the standby's volume mounted), between pg_backup_start and
 * pg_backup_stop on the standby, while the primary takes writes. Then the point-in-time restore, the
 * restore test and verify with that base, and a backup that fails midway.
 *
 * As in postgres-backup.test.ts, servers and scripts run as the `postgres` user when the tests run as
 * root, and `awk` on the scripts' PATH is mawk, as in the postgres image.
 */
import { spawnSync } from 'child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { join } from 'path';
import { asPostgresUser, describeWithBinaries, findBinary, freePort, POSTGRES_BIN_DIR, postgresBinary, postgresServerUser, ServerProcess, SETPRIV, tempDir, waitFor } from '../support/real-servers';

const BIN_DIR = POSTGRES_BIN_DIR;
const binary = postgresBinary;
const BINARIES = {
  restic: findBinary('restic'),
  mawk: findBinary('mawk'),
  initdb: binary('initdb'),
  postgres: binary('postgres'),
  pg_basebackup: binary('pg_basebackup'),
  pg_checksums: binary('pg_checksums'),
  pg_ctl: binary('pg_ctl'),
  psql: binary('psql'),
  setpriv: SETPRIV,
};
const REPO_ROOT = join(__dirname, '..', '..');
const SCRIPTS = ['pg-backup-lib.sh', 'pg-wal-archive.sh', 'pg-wal-ship.sh', 'pg-volume-backup.sh', 'pg-restore.sh', 'pg-restore-test.sh', 'pg-verify.sh'];
const DATABASE = 'real_estate';

interface Result { status: number | null; output: string }
interface Snapshot { id: string; short_id: string; tags?: string[] }

describeWithBinaries('PostgreSQL volume base backups from a standby, restored file by file to a point in time', BINARIES, 'restic postgresql mawk', () => {
  const user = postgresServerUser();
  let dir: { path: string; remove: () => void };
  let scripts: string;
  const servers: Record<'primary' | 'standby', { data: string; port: number; process?: ServerProcess }> = {
    primary: { data: '', port: 0 },
    standby: { data: '', port: 0 },
  };
  const background: ServerProcess[] = [];
  const path = (...parts: string[]): string => join(dir.path, ...parts);

  const asUser = asPostgresUser;

  function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const clean: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('PG') && !key.startsWith('RESTIC')) clean[key] = value;
    return {
      ...clean,
      PATH: `${path('bin')}:${BIN_DIR}:${process.env.PATH}`,
      HOME: path('home'),
      TMPDIR: path('tmp'),
      LC_ALL: 'C.UTF-8',
      RESTIC: BINARIES.restic!,
      RESTIC_PASSWORD: 'restic password',
      RESTIC_REPOSITORY: path('repo-base'),
      ARCHIVE_REPOSITORY: path('repo-wal'),
      BACKUP_HOST: 'postgres',
      LOCK_WAIT_SECONDS: '5',
      KEEP_FULL_DAYS: '30',
      WAL_SPOOL_DIR: path('primary', 'wal-spool'),
      SCRATCH_DIR: path('scratch'),
      PGHOST: '127.0.0.1',
      PGPORT: String(servers.primary.port),
      PGUSER: 'app',
      PGDATABASE: DATABASE,
      ...extra,
    };
  }

  function exec(command: string, args: string[], extra: Record<string, string> = {}): Result {
    const [cmd, argv] = asUser(command, args);
    const result = spawnSync(cmd, argv, { env: env(extra), encoding: 'utf8', timeout: 180_000, cwd: path('tmp') });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  const script = (name: string, args: string[] = [], extra: Record<string, string> = {}): Result => exec('bash', [join(scripts, name), ...args], extra);

  function ok(name: string, args: string[] = [], extra: Record<string, string> = {}): string {
    const result = script(name, args, extra);
    if (result.status !== 0) throw new Error(`${name} ${args.join(' ')} exited ${result.status}\n${result.output}`);
    return result.output;
  }

  /** The volume backup as the job runs it: connected to the standby, its data directory mounted. */
  const volumeBackup = (extra: Record<string, string> = {}): Result =>
    script('pg-volume-backup.sh', [], { PGHOST: '127.0.0.1', PGPORT: String(servers.standby.port), PGDATA: servers.standby.data, ...extra });

  function psql(sql: string, on: 'primary' | 'standby' = 'primary'): string {
    const result = spawnSync(BINARIES.psql!, ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(servers[on].port), '-U', 'app', '-d', DATABASE, '-c', sql], { env: env(), encoding: 'utf8', timeout: 60_000 });
    if (result.status !== 0) throw new Error(`psql on the ${on}: ${sql}\n${result.stderr}`);
    return result.stdout.trim();
  }

  /** The snapshots of a repository with `tag`, or all of them (pending ones too). */
  function snapshots(repo: string, tag?: string): Snapshot[] {
    const result = exec(BINARIES.restic!, ['-r', path(repo), 'snapshots', '--json', '--no-lock', ...(tag ? ['--tag', tag] : [])]);
    if (result.status !== 0) throw new Error(result.output);
    return JSON.parse(result.output.slice(result.output.indexOf('['))) as Snapshot[];
  }
  const tagValue = (s: Snapshot, key: string): string | undefined => s.tags?.find((t) => t.startsWith(`${key}=`))?.slice(key.length + 1);
  const throughputLines = (output: string): string => output.split('\n').filter((l) => / MB\/s$/.test(l)).join('\n');

  async function start(which: 'primary' | 'standby'): Promise<void> {
    const server = servers[which];
    const run = path(which, 'run');
    mkdirSync(run, { recursive: true });
    if (user) spawnSync('chown', ['-R', `${user.uid}:${user.gid}`, path(which)]);
    // The lines the Postgres construct adds: every server archives through the spool once primary.
    const [cmd, argv] = asUser(BINARIES.postgres!, ['-D', server.data, '-c', `port=${server.port}`, '-c', 'listen_addresses=127.0.0.1',
      '-c', `unix_socket_directories=${run}`, '-c', 'shared_buffers=32MB', '-c', 'archive_mode=on', '-c', 'archive_timeout=300',
      '-c', `archive_command=${join(scripts, 'pg-wal-archive.sh')} %p %f`, '-c', 'hot_standby=on']);
    const serverEnv = env({ WAL_SPOOL_DIR: path(which, 'wal-spool') });
    server.process = new ServerProcess(cmd, argv, { env: serverEnv, cwd: run });
    await waitFor(`the ${which} on ${server.port}`, () => {
      server.process!.assertRunning(`the ${which}`);
      return spawnSync(join(BIN_DIR!, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(server.port)]).status === 0;
    }, 60_000);
  }

  async function stop(which: 'primary' | 'standby'): Promise<void> {
    const server = servers[which];
    if (!server.process || server.process.exited) return;
    exec(BINARIES.pg_ctl!, ['stop', '-D', server.data, '-m', 'fast', '-w', '-t', '30']);
    await server.process.stop();
  }

  /** Closes the current segment and ships the primary's spool once. */
  function archive(): void {
    psql('SELECT pg_switch_wal()');
    ok('pg-wal-ship.sh', ['--once']);
  }

  async function standbyCaughtUp(): Promise<void> {
    const lsn = psql('SELECT pg_current_wal_lsn()');
    await waitFor('the standby to replay the primary', () => psql(`SELECT pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn`, 'standby') === 't', 60_000);
  }

  const fingerprint = (): string => psql("SELECT count(*) || ' ' || coalesce(md5(string_agg(id || ':' || city, ',' ORDER BY id)), '-') FROM listings");

  beforeAll(async () => {
    dir = tempDir('postgres-volume-backup');
    scripts = path('scripts');
    for (const d of ['scripts', 'primary', 'standby', 'home', 'tmp', 'scratch', 'bin']) mkdirSync(path(d), { recursive: true });
    for (const name of SCRIPTS) copyFileSync(join(REPO_ROOT, 'lib/data/postgres/backup', name), join(scripts, name));
    copyFileSync(join(REPO_ROOT, 'lib/backup/restic.sh'), join(scripts, 'restic.sh'));
    for (const name of readdirSync(scripts)) chmodSync(join(scripts, name), 0o555);
    symlinkSync(BINARIES.mawk!, path('bin', 'awk'));
    if (user) spawnSync('chown', ['-R', `${user.uid}:${user.gid}`, dir.path]);
    servers.primary = { data: path('primary', 'pgdata'), port: await freePort() };
    servers.standby = { data: path('standby', 'pgdata'), port: await freePort() };
    const init = exec(BINARIES.initdb!, ['-D', servers.primary.data, '-U', 'app', '--auth=trust', '--data-checksums', '--no-instructions']);
    if (init.status !== 0) throw new Error(init.output);
    await start('primary');
    spawnSync(BINARIES.psql!, ['-X', '-h', '127.0.0.1', '-p', String(servers.primary.port), '-U', 'app', '-d', 'postgres', '-c', `CREATE DATABASE ${DATABASE}`], { env: env() });
    psql('CREATE TABLE listings (id int PRIMARY KEY, city text NOT NULL)');
    psql("INSERT INTO listings SELECT g, 'before base ' || g FROM generate_series(1, 20000) g");
    // The standby as standby-init.sh makes it: a streamed copy with standby.signal and primary_conninfo.
    const clone = exec(BINARIES.pg_basebackup!, ['-h', '127.0.0.1', '-p', String(servers.primary.port), '-U', 'app', '-D', servers.standby.data, '-R', '-X', 'stream', '--checkpoint=fast']);
    if (clone.status !== 0) throw new Error(clone.output);
    await start('standby');
    await standbyCaughtUp();
  }, 180_000);

  afterAll(async () => {
    for (const p of background) await p.stop();
    await stop('standby');
    await stop('primary');
    dir?.remove();
  });

  let target = '';
  let atTarget = '';

  test('point in time from a volume base taken on the standby while the primary writes: everything up to the target, nothing after', async () => {
    // Writers commit on the primary for the whole backup.
    const writer = new ServerProcess(BINARIES.psql!, ['-X', '-q', '-h', '127.0.0.1', '-p', String(servers.primary.port), '-U', 'app', '-d', DATABASE, '-c',
      "DO $$ BEGIN FOR i IN 1..300 LOOP INSERT INTO listings VALUES (100000 + i, 'during backup'); UPDATE listings SET city = 'touched ' || i WHERE id = i; COMMIT; PERFORM pg_sleep(0.01); END LOOP; END $$"], { env: env() });
    background.push(writer);
    const backup = volumeBackup();
    if (backup.status !== 0) throw new Error(`pg-volume-backup.sh exited ${backup.status}\n${backup.output}`);
    // eslint-disable-next-line no-console
    console.log(`volume base backup:\n${throughputLines(backup.output)}`);
    expect(backup.output).toMatch(/standby, server \d+\)/);
    await waitFor('the writer', () => writer.exited, 60_000);

    const [base] = snapshots('repo-base', 'base');
    expect(base.tags).toEqual(expect.arrayContaining(['base', 'format=volume']));
    expect(base.tags).not.toContain('pending');
    const [meta] = snapshots('repo-base', 'base-meta');
    expect(tagValue(base, 'set')).toMatch(/^\d{8}T\d{6}Z-\d+$/);
    expect(tagValue(meta, 'set')).toBe(tagValue(base, 'set'));
    // What a restore must not get back is not in the files: the standby's signal, its pid, its WAL.
    const listing = exec(BINARIES.restic!, ['-r', path('repo-base'), 'ls', base.id]).output.split('\n');
    for (const absent of ['/standby.signal', '/postmaster.pid', '/global/pg_control']) expect(listing).not.toContain(absent);
    expect(listing).toContain('/pg_wal');
    expect(listing.some((l) => l.startsWith('/pg_wal/'))).toBe(false);
    expect(listing).toContain('/PG_VERSION');

    psql("INSERT INTO listings SELECT g, 'after base ' || g FROM generate_series(200001, 201000) g");
    archive();
    psql("UPDATE listings SET city = 'updated before target' WHERE id BETWEEN 10 AND 20");
    atTarget = fingerprint();
    await new Promise((r) => setTimeout(r, 50));
    target = psql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
    await new Promise((r) => setTimeout(r, 50));
    psql("INSERT INTO listings SELECT g, 'after target ' || g FROM generate_series(300001, 301000) g");
    psql('DELETE FROM listings WHERE id <= 5');
    archive();

    // Destroy the primary's data and restore onto its volume.
    await stop('standby');
    await stop('primary');
    rmSync(servers.primary.data, { recursive: true, force: true });
    rmSync(path('primary', 'wal-spool'), { recursive: true, force: true });
    const restore = ok('pg-restore.sh', ['--target-time', target, servers.primary.data]);
    // eslint-disable-next-line no-console
    console.log(`point-in-time restore from the volume base to ${target}:\n${throughputLines(restore)}`);
    expect(restore).toMatch(/recovery stopping before commit of transaction/);
    expect(existsSync(join(servers.primary.data, 'standby.signal'))).toBe(false);
    expect(existsSync(join(servers.primary.data, 'backup_label'))).toBe(false);

    await start('primary');
    expect(psql('SELECT pg_is_in_recovery()')).toBe('f');
    expect(fingerprint()).toBe(atTarget);
    expect(psql("SELECT count(*) FROM listings WHERE city = 'during backup'")).toBe('300');
    expect(psql("SELECT count(*) FROM listings WHERE city LIKE 'after target%'")).toBe('0');
    expect(psql('SELECT count(*) FROM listings WHERE id <= 5')).toBe('5');
  }, 300_000);

  test('verify recovers the volume base to consistency and checks every page; the restore test passes with it', async () => {
    const verify = script('pg-verify.sh', [], { VERIFY_DATA_PARTS: '1' });
    expect(verify.output).toMatch(/volume base backup \S+ .* recovers to consistency/);
    expect(verify.output).toMatch(/page checksums of every relation are correct/);
    expect(verify.status).toBe(0);

    // A volume base of the restored primary (now on timeline 2), then the monthly restore test.
    const own = script('pg-volume-backup.sh', [], { PGDATA: servers.primary.data });
    if (own.status !== 0) throw new Error(own.output);
    const [cmd, argv] = asUser('bash', [join(scripts, 'pg-wal-ship.sh')]);
    const shipper = new ServerProcess(cmd, argv, { env: env({ SHIP_INTERVAL_SECONDS: '1', SHIPPER_HEARTBEAT: path('tmp', 'heartbeat') }), cwd: path('tmp') });
    background.push(shipper);
    const test = script('pg-restore-test.sh', [], { RESTORE_TEST_WAIT_SECONDS: '120' });
    await shipper.stop();
    expect(test.output).toMatch(/restore test passed: .*1 table\(s\), counts equal/);
    expect(test.output).toMatch(/page checksums of every relation are correct/);
    expect(test.status).toBe(0);
  }, 300_000);

  test('a corrupted page in a volume base fails verify', () => {
    // A copy of the repository whose newest base has one relation file's page flipped: pg_checksums finds it.
    const [base] = snapshots('repo-base', 'base').slice(-1);
    const relation = psql("SELECT pg_relation_filepath('listings')");
    const work = path('scratch', 'corrupt');
    exec('mkdir', [work]);
    const restored = exec(BINARIES.restic!, ['-r', path('repo-base'), 'restore', base.id, '--target', work]);
    if (restored.status !== 0) throw new Error(restored.output);
    const file = join(work, relation);
    exec('chmod', ['u+w', file]);
    exec('dd', ['if=/dev/urandom', `of=${file}`, 'bs=1', 'count=16', 'seek=4200', 'conv=notrunc']);
    exec('cp', ['-a', path('repo-base'), path('repo-corrupt')]);
    // The bad copy replaces the base's files in the copied repository, with the same tags and meta.
    const replaced = exec('bash', ['-c', `cd '${work}' && "$RESTIC" -r '${path('repo-corrupt')}' backup --host postgres ${(base.tags ?? []).map((t) => `--tag '${t}'`).join(' ')} . >/dev/null && "$RESTIC" -r '${path('repo-corrupt')}' forget ${base.id}`]);
    expect(replaced.status).toBe(0);
    rmSync(work, { recursive: true, force: true });
    const corrupt = script('pg-verify.sh', [], { VERIFY_DATA_PARTS: '1', RESTIC_REPOSITORY: path('repo-corrupt') });
    expect(corrupt.status).not.toBe(0);
    expect(corrupt.output).toMatch(/pg_checksums found corrupted pages/);
  }, 240_000);

  test('a backup that fails, before or after its files are stored, leaves no snapshot behind and ends the backup on the server', async () => {
    const ids = (): string[] => snapshots('repo-base').map((s) => s.id).sort();
    const before = ids();
    // restic that fails when it backs up the files, or when it stores the meta after them.
    const failing = (what: string, test: string) => {
      writeFileSync(path('bin', `restic-${what}`), `#!/bin/bash\nfor a in "$@"; do ${test} && { echo "write error" >&2; exit 3; }; done\nexec '${BINARIES.restic}' "$@"\n`, { mode: 0o755 });
      return script('pg-volume-backup.sh', [], { PGDATA: servers.primary.data, RESTIC: path('bin', `restic-${what}`) });
    };
    const files = failing('files', '[ "$a" = . ]');
    expect(files.status).not.toBe(0);
    expect(files.output).toMatch(/volume base backup failed, nothing promoted: restic backup of .* failed/);
    const meta = failing('meta', '[ "$a" = base-meta.tar ]');
    expect(meta.status).not.toBe(0);
    expect(meta.output).toMatch(/volume base backup failed, nothing promoted: storing backup_label and pg_control failed/);
    // The files of the second attempt were stored (pending) and are gone again.
    expect(ids()).toEqual(before);
    // The session that held the backup is gone, so the server is not left in backup mode.
    await waitFor('the backup session to end', () => psql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_backup_start%' AND pid <> pg_backend_pid()") === '0', 10_000);
    expect(script('pg-volume-backup.sh', [], { PGDATA: servers.primary.data }).status).toBe(0);
  }, 180_000);

  test('PostgreSQL 14 (the image) gets the pre-15 names of the backup functions', () => {
    const calls = exec('bash', ['-c', `. '${join(scripts, 'pg-backup-lib.sh')}'; backup_start_call 140013 l; backup_stop_call 140013; backup_start_call 150004 l; backup_stop_call 150004`]);
    expect(calls.output.trim().split('\n')).toEqual([
      "pg_start_backup('l', true, false)", 'pg_stop_backup(false, false)', "pg_backup_start('l', true)", 'pg_backup_stop(false)',
    ]);
  });
});
