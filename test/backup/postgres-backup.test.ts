/**
 * The PostgreSQL backup scripts (lib/data/postgres/backup) against a real PostgreSQL server and local
 * restic repositories: WAL archived by archive_command into a spool and shipped in batches, base
 * backups streamed into restic, point-in-time restores that replay to exactly the target, and the
 * pitfalls of issue 17 (target outside the archive, gaps, a failing shipper, a killed job's lock, a
 * base backup cut short, a corrupted pack, a wrong password, a restore test that finds different
 * counts).
 *
 * PostgreSQL refuses to run as root: as in test/data/postgres-scripts.test.ts, servers and scripts run
 * as the `postgres` user (postgresServerUser) through setpriv, from a temporary directory it owns.
 * `awk` on the scripts' PATH is mawk, as in the postgres image.
 */
import { spawnSync } from 'child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { join } from 'path';
import { asPostgresUser, describeWithBinaries, findBinary, freePort, POSTGRES_BIN_DIR, postgresBinary, postgresServerUser, ServerProcess, SETPRIV, tempDir, versionOf, waitFor } from '../support/real-servers';

const BIN_DIR = POSTGRES_BIN_DIR;
const binary = postgresBinary;
const BINARIES = {
  restic: findBinary('restic'),
  mawk: findBinary('mawk'),
  initdb: binary('initdb'),
  postgres: binary('postgres'),
  pg_basebackup: binary('pg_basebackup'),
  pg_verifybackup: binary('pg_verifybackup'),
  pg_waldump: binary('pg_waldump'),
  pg_ctl: binary('pg_ctl'),
  psql: binary('psql'),
  setpriv: SETPRIV,
};
const REPO_ROOT = join(__dirname, '..', '..');
const SCRIPTS = ['pg-backup-lib.sh', 'pg-wal-archive.sh', 'pg-wal-ship.sh', 'pg-base-backup.sh', 'pg-restore.sh', 'pg-restore-test.sh', 'pg-verify.sh'];
const PASSWORD = 'restic pa$$word';
const DATABASE = 'real_estate';

interface Result { status: number | null; output: string }
interface Snapshot { id: string; tags?: string[] }

describeWithBinaries('PostgreSQL backups: base backups, WAL archive and point-in-time restore on a real server', BINARIES, 'restic postgresql mawk', () => {
  const user = postgresServerUser();
  let dir: { path: string; remove: () => void };
  let scripts: string;
  let data: string;
  let port: number;
  let server: ServerProcess | undefined;
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
      RESTIC_PASSWORD: PASSWORD,
      RESTIC_REPOSITORY: path('repo-base'),
      ARCHIVE_REPOSITORY: path('repo-wal'),
      BACKUP_HOST: 'postgres',
      LOCK_WAIT_SECONDS: '5',
      KEEP_FULL_DAYS: '30',
      WAL_SPOOL_DIR: path('volume', 'wal-spool'),
      SCRATCH_DIR: path('scratch'),
      PGHOST: '127.0.0.1',
      PGPORT: String(port),
      PGUSER: 'app',
      PGDATABASE: DATABASE,
      ...extra,
    };
  }

  function exec(command: string, args: string[], extra: Record<string, string> = {}, timeoutMs = 180_000): Result {
    const [cmd, argv] = asUser(command, args);
    const result = spawnSync(cmd, argv, { env: env(extra), encoding: 'utf8', timeout: timeoutMs, cwd: path('tmp') });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  /** Runs one of the backup scripts (from `dir`, default the copies) as the server's OS user. */
  function script(name: string, args: string[] = [], extra: Record<string, string> = {}, from = scripts): Result {
    return exec('bash', [join(from, name), ...args], extra);
  }

  function ok(name: string, args: string[] = [], extra: Record<string, string> = {}): string {
    const result = script(name, args, extra);
    if (result.status !== 0) throw new Error(`${name} ${args.join(' ')} exited ${result.status}\n${result.output}`);
    return result.output;
  }

  function psql(sql: string, database = DATABASE): string {
    const result = spawnSync(BINARIES.psql!, ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-U', 'app', '-d', database, '-c', sql], { env: env(), encoding: 'utf8', timeout: 60_000 });
    if (result.status !== 0) throw new Error(`psql: ${sql}\n${result.stderr}`);
    return result.stdout.trim();
  }

  function snapshots(repo: string, tag?: string): Snapshot[] {
    const result = exec(BINARIES.restic!, ['-r', path(repo), 'snapshots', '--json', '--no-lock', ...(tag ? ['--tag', tag] : [])]);
    if (result.status !== 0) throw new Error(result.output);
    return JSON.parse(result.output.slice(result.output.indexOf('['))) as Snapshot[];
  }

  const tagValue = (s: Snapshot, key: string): string | undefined => s.tags?.find((t) => t.startsWith(`${key}=`))?.slice(key.length + 1);

  function throughputLines(output: string): string {
    return output.split('\n').filter((l) => / MB\/s$/.test(l)).join('\n');
  }

  async function startServer(): Promise<void> {
    const run = path('run');
    mkdirSync(run, { recursive: true });
    if (user) spawnSync('chown', [`${user.uid}:${user.gid}`, run]);
    const [cmd, argv] = asUser(BINARIES.postgres!, [
      '-D', data,
      '-c', `port=${port}`,
      '-c', 'listen_addresses=127.0.0.1',
      '-c', `unix_socket_directories=${run}`,
      '-c', 'shared_buffers=32MB',
      // The lines the Postgres construct adds (the spool is the default: beside PGDATA).
      '-c', 'archive_mode=on',
      '-c', 'archive_timeout=300',
      '-c', `archive_command=${join(scripts, 'pg-wal-archive.sh')} %p %f`,
    ]);
    const clean = env();
    delete clean.WAL_SPOOL_DIR;
    server = new ServerProcess(cmd, argv, { env: clean, cwd: run });
    await waitFor(`PostgreSQL on ${port}`, () => {
      server!.assertRunning('PostgreSQL');
      return spawnSync(join(BIN_DIR!, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port)]).status === 0;
    }, 60_000);
  }

  async function stopServer(): Promise<void> {
    if (!server || server.exited) return;
    exec(BINARIES.pg_ctl!, ['stop', '-D', data, '-m', 'fast', '-w', '-t', '30']);
    await server.stop();
  }

  /** Closes the current segment and ships the spool once. */
  function archive(): string {
    psql('SELECT pg_switch_wal()');
    return ok('pg-wal-ship.sh', ['--once']);
  }

  function spool(): string[] {
    return readdirSync(path('volume', 'wal-spool')).filter((f) => !f.startsWith('.')).sort();
  }

  /** Every file under a directory with its size, to prove a refused restore touched nothing. */
  function listing(root: string): string {
    return exec('find', [root, '-printf', '%P %s %T@\\n']).output.split('\n').sort().join('\n');
  }

  /** A digest of the listings table: what a restore must reproduce exactly. */
  const fingerprint = (): string => psql("SELECT count(*) || ' ' || coalesce(md5(string_agg(id || ':' || city, ',' ORDER BY id)), '-') FROM listings");

  beforeAll(async () => {
    dir = tempDir('postgres-backup');
    scripts = path('scripts');
    data = path('volume', 'pgdata');
    for (const d of ['scripts', 'volume', 'home', 'tmp', 'scratch', 'bin', 'run']) mkdirSync(path(d), { recursive: true });
    for (const name of SCRIPTS) copyFileSync(join(REPO_ROOT, 'lib/data/postgres/backup', name), join(scripts, name));
    copyFileSync(join(REPO_ROOT, 'lib/backup/restic.sh'), join(scripts, 'restic.sh'));
    for (const name of readdirSync(scripts)) chmodSync(join(scripts, name), 0o555);
    symlinkSync(BINARIES.mawk!, path('bin', 'awk'));
    if (user) spawnSync('chown', ['-R', `${user.uid}:${user.gid}`, dir.path]);
    port = await freePort();
    const init = exec(BINARIES.initdb!, ['-D', data, '-U', 'app', '--auth=trust', '--data-checksums', '--no-instructions']);
    if (init.status !== 0) throw new Error(init.output);
    await startServer();
    psql(`CREATE DATABASE ${DATABASE}`, 'postgres');
    // The construct's replication role: base backups need nothing more.
    psql('CREATE ROLE replicator LOGIN REPLICATION');
    // eslint-disable-next-line no-console
    console.log(`${versionOf(BINARIES.postgres!)}; ${versionOf(BINARIES.restic!, 'version')}`);
  }, 120_000);

  afterAll(async () => {
    for (const p of background) await p.stop();
    await stopServer();
    dir?.remove();
  });

  let target = '';
  let atTarget = '';

  test('point in time: rows before and after the base and the archive come back, none after the target; the server stops exactly there', async () => {
    psql('CREATE TABLE listings (id int PRIMARY KEY, city text NOT NULL)');
    psql("INSERT INTO listings SELECT g, 'before base ' || g FROM generate_series(1, 1000) g");

    const base = ok('pg-base-backup.sh', [], { PGUSER: 'replicator' });
    // eslint-disable-next-line no-console
    console.log(`base backup:\n${throughputLines(base)}`);
    const bases = snapshots('repo-base', 'base');
    expect(bases).toHaveLength(1);
    expect(bases[0].tags).not.toContain('pending');
    expect(tagValue(bases[0], 'start-wal')).toMatch(/^0{7}1[0-9A-F]{16}$/);
    expect(tagValue(bases[0], 'end-wal')).toMatch(/^0{7}1[0-9A-F]{16}$/);

    psql("INSERT INTO listings SELECT g, 'after base ' || g FROM generate_series(1001, 2000) g");
    const shipped = archive();
    expect(shipped).toMatch(/shipped segments [0-9A-F]{24}\.\.[0-9A-F]{24} as snapshot/);
    expect(shipped).toContain('spool backlog: empty');
    expect(spool()).toEqual([]);
    psql("INSERT INTO listings SELECT g, 'after archive ' || g FROM generate_series(2001, 3000) g");
    psql("UPDATE listings SET city = 'updated before target' WHERE id <= 10");

    atTarget = fingerprint();
    await new Promise((r) => setTimeout(r, 50));
    target = psql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
    await new Promise((r) => setTimeout(r, 50));
    // Nothing of this may come back.
    psql("INSERT INTO listings SELECT g, 'after target ' || g FROM generate_series(3001, 4000) g");
    psql('DELETE FROM listings WHERE id <= 5');
    psql("UPDATE listings SET city = 'updated after target' WHERE id BETWEEN 6 AND 20");
    archive();
    const batches = snapshots('repo-wal', 'wal').filter((s) => tagValue(s, 'first'));
    expect(batches.length).toBeGreaterThanOrEqual(2);
    expect(batches.every((s) => tagValue(s, 'last-commit'))).toBe(true);

    // Destroy the data.
    await stopServer();
    rmSync(data, { recursive: true, force: true });
    rmSync(path('volume', 'wal-spool'), { recursive: true, force: true });

    const restore = ok('pg-restore.sh', ['--target-time', target, data]);
    // eslint-disable-next-line no-console
    console.log(`point-in-time restore to ${target}:\n${throughputLines(restore)}`);
    // PostgreSQL stopped before the first commit after the target, and promoted.
    const stop = /recovery stopping before commit of transaction \d+, time (\d{4}-\d\d-\d\d [\d:.]+)/.exec(restore);
    if (!stop) throw new Error(`no "recovery stopping before commit" in the restore's output:\n${restore}`);
    expect(new Date(stop![1].replace(' ', 'T') + 'Z').getTime()).toBeGreaterThan(new Date(target).getTime());
    expect(restore).toContain('selected new timeline ID: 2');
    expect(existsSync(join(data, 'recovery.signal'))).toBe(false);
    expect(readFileSync(join(data, 'postgresql.auto.conf'), 'utf8')).not.toContain('restore_command');
    expect(existsSync(path('volume', 'wal-restore'))).toBe(false);
    expect(existsSync(`${data}.restoring`)).toBe(false);

    await startServer();
    expect(fingerprint()).toBe(atTarget);
    expect(psql('SELECT count(*) FROM listings')).toBe('3000');
    expect(psql("SELECT count(*) FROM listings WHERE city LIKE 'after target%' OR city LIKE 'updated after%'")).toBe('0');
    expect(psql('SELECT count(*) FROM listings WHERE id <= 5')).toBe('5');
    expect(psql("SELECT count(*) FROM listings WHERE city = 'updated before target'")).toBe('10');
    expect(psql('SELECT pg_is_in_recovery()')).toBe('f');
    expect(psql('SELECT timeline_id FROM pg_control_checkpoint()')).toBe('2');
  }, 240_000);

  test('after a point-in-time restore the new timeline is archived, and `latest` follows it: the old timeline\'s later WAL never comes back', async () => {
    psql("INSERT INTO listings SELECT g, 'timeline 2 ' || g FROM generate_series(5001, 5100) g");
    const expected = fingerprint();
    const shipped = archive();
    // The history file the restore marked ready, shipped with the new timeline's segments.
    expect(shipped).toMatch(/shipped segments 00000002[0-9A-F]{16}/);
    expect(snapshots('repo-wal', 'meta').length).toBeGreaterThanOrEqual(1);

    // A data directory that is there is moved aside, not deleted.
    await stopServer();
    const restore = ok('pg-restore.sh', ['--target-time', 'latest', data]);
    expect(restore).toMatch(/moved the existing data directory aside to \S+\.pre-restore-/);
    // Segment numbers from the switch on exist on both timelines: the plan follows timeline 2.
    expect(restore).toMatch(/WAL batch\(es\) along timeline\(s\) 1 2 up to 00000002/);
    const aside = readdirSync(path('volume')).filter((f) => f.startsWith('pgdata.pre-restore-'));
    expect(aside).toHaveLength(1);
    rmSync(path('volume', aside[0]), { recursive: true, force: true });
    await startServer();
    expect(fingerprint()).toBe(expected);
    expect(psql("SELECT count(*) FROM listings WHERE city LIKE 'after target%'")).toBe('0');
    expect(psql('SELECT timeline_id FROM pg_control_checkpoint()')).toBe('3');
  }, 240_000);

  test('a target after the last archived commit, or before the oldest base backup, is refused before anything is touched', async () => {
    // Stopped, as for a restore: a running server changes its files by itself.
    await stopServer();
    const before = listing(path('volume'));
    const late = script('pg-restore.sh', ['--target-time', new Date(Date.now() + 3_600_000).toISOString(), data]);
    expect(late.status).not.toBe(0);
    expect(late.output).toMatch(/is not before the last archived commit .*archived WAL: segments [0-9A-F]{24}\.\.[0-9A-F]{24}, commits up to \S+/);
    const early = script('pg-restore.sh', ['--target-time', '2001-01-01T00:00:00Z', data]);
    expect(early.status).not.toBe(0);
    expect(early.output).toMatch(/is before the end of the oldest base backup .*archived WAL: segments/);
    const garbage = script('pg-restore.sh', ['--target-time', 'yesterday-ish', data]);
    expect(garbage.status).not.toBe(0);
    expect(listing(path('volume'))).toBe(before);
    await startServer();
  }, 120_000);

  test('a gap in the archived WAL (a batch lost) is detected and the restore refused; --allow-gaps restores up to the gap', async () => {
    ok('pg-base-backup.sh', [], { PGUSER: 'replicator' });
    const batchIds: string[] = [];
    for (const n of [1, 2, 3]) {
      psql(`INSERT INTO listings SELECT g, 'gap test ${n}' FROM generate_series(${10000 * n}, ${10000 * n + 99}) g`);
      archive();
      const newest = snapshots('repo-wal', 'wal').filter((s) => tagValue(s, 'first')).pop()!;
      batchIds.push(newest.id);
    }
    psql("INSERT INTO listings VALUES (99999, 'after the last batch')");
    archive();
    const target = psql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
    psql("INSERT INTO listings VALUES (100000, 'after the gap target')");
    archive();
    // A copy of the archive with the middle batch forgotten.
    exec('cp', ['-a', path('repo-wal'), path('repo-wal-gap')]);
    const forget = exec(BINARIES.restic!, ['-r', path('repo-wal-gap'), 'forget', batchIds[1]]);
    expect(forget.status).toBe(0);
    const gapEnv = { ARCHIVE_REPOSITORY: path('repo-wal-gap') };
    const elsewhere = path('scratch', 'gap', 'pgdata');
    mkdirSync(path('scratch', 'gap'), { recursive: true });
    if (user) spawnSync('chown', ['-R', `${user.uid}:${user.gid}`, path('scratch')]);

    for (const t of [target, 'latest']) {
      const refused = script('pg-restore.sh', ['--target-time', t, elsewhere], gapEnv);
      expect(refused.status).not.toBe(0);
      expect(refused.output).toMatch(/gap in the archive after base backup .*segments [0-9A-F]{24}\.\.[0-9A-F]{24} are missing from the archive/);
      expect(existsSync(elsewhere)).toBe(false);
    }
    // The intact archive reaches the same target.
    const whole = script('pg-restore.sh', ['--target-time', target, elsewhere]);
    expect(whole.status).toBe(0);
    rmSync(elsewhere, { recursive: true, force: true });

    const partial = script('pg-restore.sh', ['--target-time', target, '--allow-gaps', elsewhere], gapEnv);
    expect(partial.output).toContain('--allow-gaps: restoring everything up to');
    expect(partial.status).toBe(0);
    rmSync(path('scratch', 'gap'), { recursive: true, force: true });
  }, 300_000);

  test('a failing shipper keeps every segment in the spool and keeps trying (never exits); an hour-old spool makes archive_command refuse, which PostgreSQL counts; the next good pass ships them', async () => {
    psql("INSERT INTO listings SELECT g, 'unshipped' FROM generate_series(200001, 200100) g");
    psql('SELECT pg_switch_wal()');
    await waitFor('the segment in the spool', () => spool().some((f) => /^[0-9A-F]{24}$/.test(f)), 30_000);
    const waiting = spool();
    // An unusable repository (a file where the repository should be): every upload fails.
    writeFileSync(path('not-a-repo'), 'x');
    const heartbeat = path('tmp', 'failing-heartbeat');
    const bad = { ARCHIVE_REPOSITORY: path('not-a-repo'), SHIP_INTERVAL_SECONDS: '1', SHIPPER_HEARTBEAT: heartbeat };
    const once = script('pg-wal-ship.sh', ['--once'], bad);
    expect(once.status).not.toBe(0);
    expect(once.output).toMatch(/files stay in/);
    // The loop keeps going through failed passes (a sidecar that exited would make the pod unready),
    // and its heartbeat moves, so liveness restarts it only when a pass hangs.
    const [cmd, argv] = asUser('bash', [join(scripts, 'pg-wal-ship.sh')]);
    const loop = new ServerProcess(cmd, argv, { env: env(bad), cwd: path('tmp') });
    background.push(loop);
    await waitFor('three failed passes', () => (loop.log.match(/pass failed \(\d+ in a row\)/g) ?? []).length >= 3, 60_000);
    expect(loop.exited).toBe(false);
    expect(loop.log).toMatch(/spool backlog: \d+ file\(s\), \d+ bytes, oldest \d+s old/);
    expect(existsSync(heartbeat)).toBe(true);
    await loop.stop();
    expect(spool()).toEqual(waiting);

    // The shipper has failed for over an hour (the spool's files aged): archive_command refuses the
    // next segment, PostgreSQL keeps it in pg_wal and counts the failure where postgres_exporter reads it.
    const failedBefore = Number(psql('SELECT failed_count FROM pg_stat_archiver'));
    exec('touch', ['-d', '2 hours ago', ...waiting.map((f) => path('volume', 'wal-spool', f))]);
    psql("INSERT INTO listings SELECT g, 'held in pg_wal' FROM generate_series(200101, 200200) g");
    const held = psql('SELECT pg_walfile_name(pg_current_wal_lsn())');
    psql('SELECT pg_switch_wal()');
    await waitFor('archive_command refusing', () => Number(psql('SELECT failed_count FROM pg_stat_archiver')) > failedBefore, 60_000);
    expect(psql('SELECT last_failed_wal FROM pg_stat_archiver')).toBe(held);
    expect(spool()).toEqual(waiting);
    const refused = script('pg-wal-archive.sh', [join(data, 'pg_wal', held), held]);
    expect(refused.status).not.toBe(0);
    expect(refused.output).toMatch(/the oldest file in .* is \d+s old \(limit 3600s\): the wal-shipper is not shipping/);

    // A good pass empties the spool; PostgreSQL's next retry archives the held segment, and it ships.
    ok('pg-wal-ship.sh', ['--once']);
    // A new segment wakes the archiver at once (it would otherwise retry within a minute).
    psql("INSERT INTO listings VALUES (200201, 'wakes the archiver')");
    psql('SELECT pg_switch_wal()');
    await waitFor('the held segment archived', () => Number(psql(`SELECT count(*) FROM pg_stat_archiver WHERE last_archived_wal >= '${held}'`)) === 1, 120_000);
    archive();
    expect(spool()).toEqual([]);
  }, 240_000);

  test('a base backup cut short, or a stream that is not a whole tar, leaves no promoted snapshot', () => {
    const before = snapshots('repo-base').length;
    const basesBefore = snapshots('repo-base', 'base').length;
    // pg_basebackup dies after 200 kB; then one that exits 0 but whose output was cut.
    for (const exit of ['exit "${PIPESTATUS[0]}"', 'exit 0']) {
      writeFileSync(path('bin', 'pg_basebackup'), `#!/usr/bin/env bash\n${BINARIES.pg_basebackup} "$@" | head -c 200000\n${exit}\n`, { mode: 0o755 });
      const result = script('pg-base-backup.sh', [], { PGUSER: 'replicator' });
      expect(result.status).not.toBe(0);
      expect(result.output).toMatch(/base backup failed, nothing promoted: (a stage of pg_basebackup \| tee \| restic failed|the stream is not a complete tar)/);
    }
    rmSync(path('bin', 'pg_basebackup'));
    expect(snapshots('repo-base', 'base')).toHaveLength(basesBefore);
    expect(snapshots('repo-base')).toHaveLength(before);
  }, 120_000);

  test('a lock left by a killed restic job is removed: the next backup (whose retention needs the exclusive lock) succeeds', async () => {
    const [cmd, argv] = asUser(BINARIES.restic!, ['-r', path('repo-base'), 'backup', '--stdin', '--host', 'postgres']);
    // restic reads a FIFO it holds open itself: it waits for input forever, with no other process.
    spawnSync('mkfifo', [path('tmp', 'never')]);
    const killed = new ServerProcess('bash', ['-c', 'exec "$@" 0<>"$FIFO"', 'bash', cmd, ...argv], { env: env({ FIFO: path('tmp', 'never') }) });
    background.push(killed);
    await waitFor('the restic lock', () => readdirSync(path('repo-base', 'locks')).length > 0, 30_000);
    const pid = spawnSync('pgrep', ['-f', `^${BINARIES.restic} -r ${path('repo-base')} backup --stdin`], { encoding: 'utf8' }).stdout.trim();
    expect(pid).toMatch(/^\d+$/);
    process.kill(Number(pid), 'SIGKILL');
    await killed.stop();
    expect(readdirSync(path('repo-base', 'locks'))).toHaveLength(1);
    const result = script('pg-base-backup.sh', [], { PGUSER: 'replicator', LOCK_WAIT_SECONDS: '0' });
    expect(result.output).toMatch(/removed.*lock|successfully removed/i);
    expect(result.status).toBe(0);
  }, 120_000);

  test('the restore test passes on a good backup and fails when the restored counts differ (an unlogged table)', async () => {
    psql('CREATE TABLE agents (id int PRIMARY KEY)');
    psql('INSERT INTO agents SELECT generate_series(1, 77)');
    ok('pg-base-backup.sh', [], { PGUSER: 'replicator' });
    // The shipper runs beside the server, as in the pod.
    const [cmd, argv] = asUser('bash', [join(scripts, 'pg-wal-ship.sh')]);
    const shipper = new ServerProcess(cmd, argv, { env: env({ SHIP_INTERVAL_SECONDS: '1', SHIPPER_HEARTBEAT: path('tmp', 'heartbeat') }), cwd: path('tmp') });
    background.push(shipper);
    // Writers keep writing while the marker is taken.
    const writer = new ServerProcess(BINARIES.psql!, ['-X', '-q', '-h', '127.0.0.1', '-p', String(port), '-U', 'app', '-d', DATABASE, '-c',
      "DO $$ BEGIN FOR i IN 1..400 LOOP INSERT INTO agents VALUES (1000 + i); COMMIT; PERFORM pg_sleep(0.01); END LOOP; END $$"], { env: env() });
    background.push(writer);

    const good = script('pg-restore-test.sh', [], { RESTORE_TEST_WAIT_SECONDS: '120' });
    // eslint-disable-next-line no-console
    console.log(`restore test:\n${throughputLines(good.output)}`);
    expect(good.output).toMatch(/restore test passed: .*2 table\(s\), counts equal/);
    expect(good.status).toBe(0);
    expect(snapshots('repo-wal', 'restore-test')).toHaveLength(1);
    expect(existsSync(path('tmp', 'heartbeat'))).toBe(true);
    await waitFor('the writer', () => writer.exited, 60_000);

    // Unlogged tables are not in the WAL: the restored copy has none of their rows.
    psql('CREATE UNLOGGED TABLE sessions (id int)');
    psql('INSERT INTO sessions SELECT generate_series(1, 5)');
    const bad = script('pg-restore-test.sh', [], { RESTORE_TEST_WAIT_SECONDS: '120' });
    expect(bad.status).not.toBe(0);
    expect(bad.output).toMatch(/restore test FAILED: the restored row counts differ/);
    expect(bad.output).toMatch(/-public\.sessions\t5\n\s*\+public\.sessions\t0/);
    psql('DROP TABLE sessions');
    await shipper.stop();
    // The scratch server is gone and the scratch directory empty.
    expect(readdirSync(path('scratch'))).toEqual([]);
  }, 300_000);

  test('verify passes on good repositories (restic check and pg_verifybackup with the archived WAL) and fails on a corrupted pack or a wrong password', () => {
    const good = script('pg-verify.sh', [], { VERIFY_DATA_PARTS: '1' });
    expect(good.output).toMatch(/pg_verifybackup: base backup \S+ .* are intact/);
    expect(good.status).toBe(0);

    const wrong = script('pg-verify.sh', [], { VERIFY_DATA_PARTS: '1', RESTIC_PASSWORD: 'wrong' });
    expect(wrong.status).not.toBe(0);
    expect(wrong.output).toMatch(/wrong password/);
    const restore = script('pg-restore.sh', [path('scratch', 'x')], { RESTIC_PASSWORD: 'wrong' });
    expect(restore.status).not.toBe(0);
    expect(existsSync(path('scratch', 'x'))).toBe(false);

    // Flip bytes in the middle of the largest pack of a copy of the base repository.
    exec('cp', ['-a', path('repo-base'), path('repo-corrupt')]);
    const packs = exec('find', [path('repo-corrupt', 'data'), '-type', 'f', '-printf', '%s %p\\n']).output.trim().split('\n').sort((a, b) => Number(b.split(' ')[0]) - Number(a.split(' ')[0]));
    const [size, pack] = packs[0].split(' ');
    exec('chmod', ['u+w', pack]);
    exec('dd', ['if=/dev/urandom', `of=${pack}`, 'bs=1', 'count=64', `seek=${Math.floor(Number(size) / 2)}`, 'conv=notrunc']);
    const corrupt = script('pg-verify.sh', [], { VERIFY_DATA_PARTS: '1', RESTIC_REPOSITORY: path('repo-corrupt') });
    expect(corrupt.status).not.toBe(0);
    expect(corrupt.output).toMatch(/restic check of \S+repo-corrupt FAILED/);
    expect(corrupt.output).toMatch(/verify failed:/);
  }, 240_000);
});
