/**
 * The MySQL backup scripts (lib/data/mysql/backup) against real MariaDB 10.11 servers in the
 * production topology: a primary and a replica that logs what it applies (log_slave_updates, ROW
 * binary logs, GTIDs). Full backups and the binary-log archive are taken from the replica, restores
 * go to the primary and reach the replica through replication. restic 0.14 with local repositories.
 *
 * The tests share one history and run in order: round trip, refusals, restore test, verify, failed
 * dumps, stale locks, and last the gap (which breaks the chain the others use).
 * MYSQL_BACKUP_SCRIPTS_DIR / MYSQL_BACKUP_LIB point the suite at other copies of the scripts (to show
 * a test fails on a broken version).
 */
import { spawn } from 'child_process';
import { chmodSync, cpSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'fs';
import { join } from 'path';
import {
  caughtUp, MariaDbServer, MYSQL_BACKUP_BINARIES, mustRun, replicate, runBackupScript, startMariaDb, throughputLines,
} from '../../scripts/bench-restore/mysql';
import { describeWithBinaries, run, tempDir, waitFor } from '../support/real-servers';

const PASSWORD = 'r"o\\o#t p$w\'d';
const DB = 'logistics_app';

describeWithBinaries('MySQL backups with point-in-time recovery on real (MariaDB) servers', MYSQL_BACKUP_BINARIES, 'mariadb-server restic', () => {
  let dir: { path: string; remove: () => void };
  let primary: MariaDbServer;
  let replica: MariaDbServer;
  let env: Record<string, string>;
  let fromReplica: Record<string, string>;
  let toPrimary: Record<string, string>;
  const throughput: string[] = [];

  const restic = (repo: string, args: string[], password = env.RESTIC_PASSWORD) =>
    run(MYSQL_BACKUP_BINARIES.restic!, args, { env: { ...env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: password } });
  const snapshots = (repo: string, tag: string): Array<{ id: string; tags: string[] }> =>
    JSON.parse(restic(repo, ['snapshots', '--json', '--tag', tag]) || '[]') ?? [];
  const rowsOf = (server: MariaDbServer) => [
    server.sql(`SELECT id, status FROM ${DB}.shipments ORDER BY id`),
    server.sql(`SELECT COUNT(*), COALESCE(SUM(id), 0) FROM ${DB}.shipments`),
    server.sql(`SELECT id, note FROM ${DB}.events ORDER BY id`),
  ];
  const insert = (from: number, to: number, status: string) =>
    primary.sql(`USE ${DB}; INSERT INTO shipments (id, status) SELECT seq, '${status}' FROM seq_${from}_to_${to}`);
  const keep = <T extends { stderr: string }>(result: T): T => {
    throughput.push(...throughputLines(result as never));
    return result;
  };
  /** An RFC 3339 second after everything written so far, before anything written after the call. */
  async function markTarget(): Promise<string> {
    await new Promise((r) => setTimeout(r, 1100));
    const target = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
    await new Promise((r) => setTimeout(r, 1100));
    return target;
  }

  beforeAll(async () => {
    dir = tempDir('mysql-backup');
    primary = await startMariaDb(join(dir.path, 'primary'), 'primary', 1, PASSWORD);
    replica = await startMariaDb(join(dir.path, 'replica-0'), 'replica-0', 100, PASSWORD);
    replicate(replica, primary, PASSWORD);
    env = {
      RESTIC: MYSQL_BACKUP_BINARIES.restic!, RESTIC_PASSWORD: 'repository pw', RESTIC_REPOSITORY: join(dir.path, 'repo-full'),
      ARCHIVE_REPOSITORY: join(dir.path, 'repo-archive'), BACKUP_HOST: 'logistics-mysql', MYSQL_HOST: '127.0.0.1',
      MYSQL_PWD: PASSWORD, MYSQL_DATABASE: DB, TMPDIR: join(dir.path, 'tmp'), XDG_CACHE_HOME: join(dir.path, 'cache'),
      SCRATCH_DIR: join(dir.path, 'scratch'), LOCK_WAIT_SECONDS: '5', VERIFY_DATA_PARTS: '1', SCRATCH_START_SECONDS: '60',
    };
    mkdirSync(env.TMPDIR);
    mkdirSync(env.SCRATCH_DIR);
    fromReplica = { ...env, MYSQL_PORT: String(replica.port) };
    toPrimary = { ...env, MYSQL_PORT: String(primary.port) };
  }, 120_000);

  afterAll(async () => {
    await replica?.stop();
    await primary?.stop();
    // eslint-disable-next-line no-console
    console.log(`MySQL backup throughput (MariaDB 10.11, local restic repository):\n${throughput.join('\n')}`);
    dir?.remove();
  });

  let target = '';
  let expected: string[] = [];

  test('point-in-time round trip: nothing lost up to the target, nothing after it comes back; replicas follow', async () => {
    primary.sql(`CREATE DATABASE ${DB}; USE ${DB}; CREATE TABLE shipments (id INT PRIMARY KEY, status VARCHAR(20)) ENGINE=InnoDB`);
    insert(1, 1000, 'before-full');
    await caughtUp(replica, primary);
    keep(mustRun('mysql-full-backup.sh', [], fromReplica));

    insert(1001, 2000, 'after-full');
    // DDL after the full, in the application's default database, as the application issues it.
    primary.sql(`USE ${DB}; CREATE TABLE events (id INT PRIMARY KEY, note VARCHAR(40)); INSERT INTO events VALUES (1, 'after-full')`);
    // One statement whose row events (about 80 MB) exceed the servers' max_allowed_packet (64M).
    primary.sql(`USE ${DB}; CREATE TABLE bulk (id INT PRIMARY KEY, payload TEXT); INSERT INTO bulk SELECT seq, REPEAT(MD5(seq), 31) FROM seq_1_to_80000`);
    await caughtUp(replica, primary);
    keep(mustRun('mysql-binlog-archive.sh', [], fromReplica));

    insert(2001, 3000, 'after-archive');
    primary.sql(`USE ${DB}; UPDATE shipments SET status = 'updated' WHERE id BETWEEN 10 AND 20; DELETE FROM shipments WHERE id BETWEEN 30 AND 39; INSERT INTO events VALUES (2, 'before-target')`);
    await caughtUp(replica, primary);
    expected = rowsOf(primary);
    target = await markTarget();

    // Must not come back: rows after the target, and the "mistake" the restore undoes.
    insert(3001, 4000, 'after-target');
    primary.sql(`USE ${DB}; DELETE FROM shipments WHERE id <= 500; INSERT INTO events VALUES (3, 'after-target')`);
    await caughtUp(replica, primary);
    keep(mustRun('mysql-binlog-archive.sh', [], fromReplica));

    primary.sql(`DROP DATABASE ${DB}`);
    await caughtUp(replica, primary);
    const restore = keep(mustRun('mysql-restore.sh', ['--target-time', target], toPrimary));
    expect(restore.stderr).toMatch(/restored logistics_app to/);

    expect(rowsOf(primary)).toEqual(expected);
    expect(primary.sql(`SELECT COUNT(*), MAX(LENGTH(payload)) FROM ${DB}.bulk`)).toBe('80000\t992');
    expect(primary.sql('SELECT @@GLOBAL.max_allowed_packet')).toBe(String(64 * 2 ** 20));
    expect(expected[1]).toBe(`2990\t${(3000 * 3001) / 2 - (30 + 39) * 5}`);
    await caughtUp(replica, primary);
    expect(rowsOf(replica)).toEqual(expected);
  }, 180_000);

  test('a target outside the archived range is refused before any data is touched, naming the range', () => {
    const later = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const after = runBackupScript('mysql-restore.sh', ['--target-time', later], toPrimary);
    expect(after.status).not.toBe(0);
    expect(after.stderr).toMatch(/refused: target .* is after the last archived event .*restorable range: \S+Z to \S+Z/);
    const before = runBackupScript('mysql-restore.sh', ['--target-time', '2001-01-01T00:00:00Z'], toPrimary);
    expect(before.status).not.toBe(0);
    expect(before.stderr).toMatch(/refused: target .* is before the oldest full backup/);
    expect(runBackupScript('mysql-restore.sh', ['--target-time', 'yesterday'], toPrimary).status).not.toBe(0);
    expect(rowsOf(primary)).toEqual(expected);
  });

  test('the restore test passes on a good backup and fails when the row counts differ', () => {
    // A full with rows written between the dump and the counts (replayed up to the counts' position).
    const full = keep(mustRun('mysql-full-backup.sh', [], fromReplica));
    expect(full.stderr).toMatch(/3 tables counted/);
    insert(5001, 5100, 'after-second-full');
    keep(mustRun('mysql-binlog-archive.sh', [], fromReplica));
    const good = keep(mustRun('mysql-restore-test.sh', [], fromReplica));
    expect(good.stderr).toMatch(/restore test of full backup \S+ passed: 3 tables/);
    expect(readdirSync(env.SCRATCH_DIR)).toEqual([]);

    // The same counts with one number changed, as the latest counts of that full.
    const counts = snapshots(env.RESTIC_REPOSITORY, 'counts').pop()!;
    const recorded = restic(env.RESTIC_REPOSITORY, ['dump', counts.id, 'counts.tsv']);
    const altered = recorded.replace(/^(shipments\t)(\d+)$/m, (_m, name: string, n: string) => `${name}${Number(n) + 1}`);
    expect(altered).not.toBe(recorded);
    run(MYSQL_BACKUP_BINARIES.restic!, ['backup', '--host', env.BACKUP_HOST, '--stdin', '--stdin-filename', 'counts.tsv',
      ...counts.tags.flatMap((tag) => ['--tag', tag])], { env, input: altered });
    const bad = runBackupScript('mysql-restore-test.sh', [], fromReplica);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/restored row counts differ/);
    expect(readdirSync(env.SCRATCH_DIR)).toEqual([]);
    const tampered = snapshots(env.RESTIC_REPOSITORY, 'counts').pop()!;
    restic(env.RESTIC_REPOSITORY, ['forget', tampered.id]);
  }, 180_000);

  test('verify passes on good repositories; a wrong password and a corrupted pack fail it', () => {
    const good = keep(mustRun('mysql-verify.sh', [], env));
    expect(good.stderr).toMatch(/verify passed/);

    const wrong = runBackupScript('mysql-verify.sh', [], { ...env, RESTIC_PASSWORD: 'not the password' });
    expect(wrong.status).not.toBe(0);
    const wrongRestore = runBackupScript('mysql-restore.sh', ['--target-time', 'latest'], { ...toPrimary, RESTIC_PASSWORD: 'not the password' });
    expect(wrongRestore.status).not.toBe(0);
    expect(primary.sql(`SELECT COUNT(*) FROM ${DB}.shipments`)).toBe('3090');

    const copy = join(dir.path, 'repo-corrupt');
    cpSync(env.RESTIC_REPOSITORY, copy, { recursive: true });
    const packs = readdirSync(join(copy, 'data')).flatMap((d) => readdirSync(join(copy, 'data', d)).map((f) => join(copy, 'data', d, f)));
    const biggest = packs.sort((a, b) => statSync(b).size - statSync(a).size)[0];
    const bytes = readFileSync(biggest);
    for (let i = 100; i < 164; i++) bytes[Math.floor(bytes.length / 2) + i] ^= 0xff;
    chmodSync(biggest, 0o600);
    writeFileSync(biggest, bytes);
    const corrupt = runBackupScript('mysql-verify.sh', [], { ...env, RESTIC_REPOSITORY: copy });
    expect(corrupt.status).not.toBe(0);
    expect(corrupt.stderr).toMatch(/FAILED: restic check of .*repo-corrupt/);
  }, 180_000);

  test('a dump that fails midway, or ends truncated, leaves no promoted snapshot', () => {
    const stubs = join(dir.path, 'stubs');
    mkdirSync(stubs, { recursive: true });
    // mysqldump that prints half of a real dump, then exits STUB_EXIT.
    writeFileSync(join(stubs, 'mysqldump'), [
      '#!/bin/bash',
      `real=${MYSQL_BACKUP_BINARIES.mysqldump}`,
      'case " $* " in *" --version "*) exec "$real" --version ;; esac',
      `"$real" "$@" >"${stubs}/whole.sql" || exit 9`,
      `head -c $(( $(stat -c %s "${stubs}/whole.sql") / 2 )) "${stubs}/whole.sql"`,
      'exit "$STUB_EXIT"',
    ].join('\n'), { mode: 0o755 });
    const fulls = snapshots(env.RESTIC_REPOSITORY, 'full').length;
    for (const exit of ['2', '0']) {
      const result = runBackupScript('mysql-full-backup.sh', [], { ...fromReplica, PATH: `${stubs}:${process.env.PATH}`, STUB_EXIT: exit });
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(exit === '2' ? /mysqldump exited 2/ : /does not end with mysqldump's '-- Dump completed' trailer/);
      expect(snapshots(env.RESTIC_REPOSITORY, 'full')).toHaveLength(fulls);
      expect(snapshots(env.RESTIC_REPOSITORY, 'pending')).toHaveLength(0);
    }
  }, 120_000);

  test('a stale lock left by a killed job is removed by the next run', async () => {
    // A backup holding its lock, killed: its (non-exclusive) lock would block every forget and prune.
    const child = spawn(MYSQL_BACKUP_BINARIES.restic!, ['backup', '--stdin', '--stdin-filename', 'x'], {
      env: { ...process.env, ...env }, stdio: ['pipe', 'ignore', 'ignore'],
    });
    child.stdin.write('partial');
    await waitFor('restic to hold a lock', () => readdirSync(join(env.RESTIC_REPOSITORY, 'locks')).length > 0, 20_000);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    expect(readdirSync(join(env.RESTIC_REPOSITORY, 'locks')).length).toBeGreaterThan(0);
    const result = keep(mustRun('mysql-full-backup.sh', [], { ...fromReplica, LOCK_WAIT_SECONDS: '0' }));
    expect(result.stderr).toMatch(/full backup \S+ promoted/);
    expect(readdirSync(join(env.RESTIC_REPOSITORY, 'locks'))).toEqual([]);
  }, 120_000);

  test('MySQL 8.0 flavour (recording stand-ins for mysqldump and mysqlbinlog): --source-data=2, --set-gtid-purged=OFF, --skip-gtids', async () => {
    const stubs = join(dir.path, 'mysql-stubs');
    const calls = join(stubs, 'calls');
    mkdirSync(stubs, { recursive: true });
    // Each records its arguments, then does what MySQL 8.0's tool does with them, through MariaDB's.
    writeFileSync(join(stubs, 'mysqldump'), [
      '#!/bin/bash',
      'if [ "$*" = --version ]; then echo "mysqldump  Ver 8.0.39 for Linux on x86_64 (MySQL Community Server - GPL)"; exit 0; fi',
      `printf 'mysqldump %s\\n' "$*" >>"${calls}"`,
      'args=()',
      'for a in "$@"; do case "$a" in --set-gtid-purged=OFF) ;; --source-data=2) args+=(--master-data=2) ;; *) args+=("$a") ;; esac; done',
      // MySQL 8.0.26+ writes the coordinates as CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE=..., SOURCE_LOG_POS=...
      `"${MYSQL_BACKUP_BINARIES.mysqldump}" "\${args[@]}" | sed -E 's/CHANGE MASTER TO MASTER_LOG_FILE=/CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE=/; s/MASTER_LOG_POS=/SOURCE_LOG_POS=/'`,
      'exit "${PIPESTATUS[0]}"',
    ].join('\n'), { mode: 0o755 });
    writeFileSync(join(stubs, 'mysqlbinlog'), [
      '#!/bin/bash',
      `printf 'mysqlbinlog %s\\n' "$*" >>"${calls}"`,
      'args=(); skip=',
      'for a in "$@"; do case "$a" in --skip-gtids) skip=1 ;; *) args+=("$a") ;; esac; done',
      `if [ -z "$skip" ]; then exec "${MYSQL_BACKUP_BINARIES.mysqlbinlog}" "\${args[@]}"; fi`,
      // --skip-gtids: no GTID of the original events in the output.
      `"${MYSQL_BACKUP_BINARIES.mysqlbinlog}" "\${args[@]}" | sed -E '/SET @@session\\.(gtid_seq_no|server_id|gtid_domain_id)=/d'`,
      'exit "${PIPESTATUS[0]}"',
    ].join('\n'), { mode: 0o755 });
    // mysqld: --initialize-insecure through mariadb-install-db, MySQL-only options dropped.
    writeFileSync(join(stubs, 'mysqld'), [
      '#!/bin/bash',
      `printf 'mysqld %s\\n' "$*" >>"${calls}"`,
      'if [ "$*" = --version ]; then echo "mysqld  Ver 8.0.39 for Linux on x86_64 (MySQL Community Server - GPL)"; exit 0; fi',
      'args=(); init=',
      'for a in "$@"; do case "$a" in --initialize-insecure) init=1 ;; --skip-log-bin|--mysqlx=OFF) ;; *) args+=("$a") ;; esac; done',
      `if [ -n "$init" ]; then exec "${MYSQL_BACKUP_BINARIES['mariadb-install-db']}" "\${args[@]}" --auth-root-authentication-method=normal --skip-test-db; fi`,
      `exec "${MYSQL_BACKUP_BINARIES.mariadbd}" "\${args[@]}"`,
    ].join('\n'), { mode: 0o755 });
    const mysqlTools = { PATH: `${stubs}:${process.env.PATH}`, MYSQLD: join(stubs, 'mysqld') };
    insert(7001, 7100, 'mysql-flavour');
    await caughtUp(replica, primary);
    const full = keep(mustRun('mysql-full-backup.sh', [], { ...fromReplica, ...mysqlTools }));
    expect(full.stderr).toMatch(/\(mysql client tools\)/);
    insert(7101, 7200, 'mysql-flavour');
    await caughtUp(replica, primary);
    keep(mustRun('mysql-binlog-archive.sh', [], { ...fromReplica, ...mysqlTools }));
    keep(mustRun('mysql-restore-test.sh', [], { ...fromReplica, ...mysqlTools }));
    const before = rowsOf(primary);
    primary.sql(`DROP DATABASE ${DB}`);
    keep(mustRun('mysql-restore.sh', ['latest'], { ...toPrimary, ...mysqlTools }));
    expect(rowsOf(primary)).toEqual(before);
    await caughtUp(replica, primary);
    expect(rowsOf(replica)).toEqual(before);
    const recorded = readFileSync(calls, 'utf8').split('\n');
    expect(recorded.filter((c) => c.startsWith('mysqldump '))).toEqual([expect.stringMatching(/ --single-transaction .*--source-data=2 --set-gtid-purged=OFF --databases logistics_app$/)]);
    expect(recorded.filter((c) => c.startsWith('mysqld '))).toEqual([
      'mysqld --version',
      expect.stringMatching(/^mysqld --no-defaults --initialize-insecure --datadir=\S+/),
      expect.stringMatching(/^mysqld --no-defaults .*--skip-networking .*--skip-log-bin --mysqlx=OFF/),
    ]);
    // The restore test's replay (to the counts' position) and the restore's.
    const replays = recorded.filter((c) => c.includes('--skip-gtids'));
    expect(replays).toEqual([
      expect.stringMatching(/^mysqlbinlog --skip-gtids --database=logistics_app --start-position=\d+ --stop-position=\d+ \S+mysql-bin\.\d{6}/),
      expect.stringMatching(/^mysqlbinlog --skip-gtids --database=logistics_app --start-position=\d+ \S+mysql-bin\.\d{6}/),
    ]);
  }, 180_000);

  test('binary logs purged before they were archived: the archive fails naming them, PITR across the gap is refused', async () => {
    insert(6001, 6100, 'before-gap');
    await caughtUp(replica, primary);
    keep(mustRun('mysql-binlog-archive.sh', [], fromReplica));
    const lostFile = replica.sql('SHOW MASTER STATUS').split('\t')[0];
    insert(6101, 6300, 'lost-in-gap');
    await caughtUp(replica, primary);
    // MariaDB keeps the files its binlog checkpoint still names (it advances in the background):
    // rotate and purge until the file holding the rows above is gone.
    await waitFor(`${lostFile} to be purged`, () => {
      replica.sql('FLUSH BINARY LOGS');
      replica.sql(`PURGE BINARY LOGS TO '${replica.sql('SHOW MASTER STATUS').split('\t')[0]}'`);
      return replica.sql('SHOW BINARY LOGS').split('\n')[0].split('\t')[0] > lostFile;
    }, 30_000, 1000);
    insert(6301, 6400, 'after-gap');
    await caughtUp(replica, primary);
    const afterGap = await markTarget();

    const archive = runBackupScript('mysql-binlog-archive.sh', [], fromReplica);
    expect(archive.status).not.toBe(0);
    expect(archive.stderr).toMatch(/binary logs mysql-bin\.\d{6} to mysql-bin\.\d{6} of chain \S+ were purged on 127\.0\.0\.1 before they were archived/);
    // The files after the gap were archived: the next run is clean again.
    keep(mustRun('mysql-binlog-archive.sh', [], fromReplica));

    const before = rowsOf(primary);
    const refused = runBackupScript('mysql-restore.sh', ['--target-time', afterGap], toPrimary);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/refused: .*the archive after it has a gap \(missing mysql-bin\.\d{6} to mysql-bin\.\d{6}\): --allow-gaps/);
    expect(rowsOf(primary)).toEqual(before);
    const verify = runBackupScript('mysql-verify.sh', [], env);
    expect(verify.status).not.toBe(0);
    expect(verify.stderr).toMatch(/has a gap/);

    // Forced: what the missing files held is lost, what follows the gap is replayed.
    keep(mustRun('mysql-restore.sh', ['--target-time', afterGap, '--allow-gaps'], toPrimary));
    expect(primary.sql(`SELECT status, COUNT(*) FROM ${DB}.shipments WHERE id BETWEEN 6001 AND 6999 GROUP BY status ORDER BY status`))
      .toBe('after-gap\t100\nbefore-gap\t100');
  }, 180_000);
});
