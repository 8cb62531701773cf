/**
 * Physical full backups (fullBackupSource `volume`) of lib/data/mysql/backup against real MariaDB
 * 10.11 servers with mariadb-backup and mbstream (Percona XtraBackup's MariaDB fork, the same
 * xbstream format and `completed OK!` / binlog-position lines), restic 0.14 with local repositories:
 * a primary and a replica, the physical full copied from the replica's data directory, its binary
 * logs archived, and the point-in-time restore onto the primary's "volume" (its directory) with the
 * servers stopped. The MySQL-only invocations (xtrabackup, xbstream, mysqld options, RESET REPLICA)
 * run through recording stand-ins. The tests share one history and run in order.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import {
  caughtUp, MariaDbServer, MYSQL_BACKUP_BINARIES, mustRun, replicate, runBackupScript, startMariaDb, throughputLines,
} from '../../scripts/bench-restore/mysql';
import { describeWithBinaries, findBinary, freePort, run, ServerProcess, tempDir, waitFor } from '../support/real-servers';

const PASSWORD = 'r"o\\o#t p$w\'d';
const DB = 'logistics_app';
const BINARIES = { ...MYSQL_BACKUP_BINARIES, 'mariadb-backup': findBinary('mariadb-backup'), mbstream: findBinary('mbstream') };

/** A server on an existing data directory (the restored one), configured like startMariaDb's. */
async function startOn(dir: string, name: string): Promise<MariaDbServer> {
  const port = await freePort();
  const child = new ServerProcess(BINARIES.mariadbd!, ['--no-defaults', `--datadir=${join(dir, 'data')}`, `--tmpdir=${join(dir, 'tmp')}`,
    `--socket=${join(dir, 'mysqld.sock')}`, `--pid-file=${join(dir, 'mysqld.pid')}`, `--port=${port}`, '--bind-address=127.0.0.1',
    '--skip-name-resolve', '--server-id=1', '--log-bin=mysql-bin', '--binlog-format=ROW', ...(process.getuid?.() === 0 ? ['--user=root'] : [])]);
  const clientCnf = join(dir, 'client.cnf');
  const sql = (statement: string) => run(BINARIES.mysql!, [`--defaults-file=${clientCnf}`, '--protocol=TCP', '-h', '127.0.0.1', '-P', String(port),
    '-N', '-B', '-e', statement]).trim();
  await waitFor(`${name} to accept root`, () => {
    child.assertRunning(name);
    try { sql('SELECT 1'); return true; } catch { return false; }
  }, 60_000);
  return { name, port, dir, process: child, sql, stop: () => child.stop(60_000) };
}

/**
 * Recording stand-ins for the MySQL 8.0 tools of the physical path, in DIR: each appends its command line to DIR/calls,
 * then does what the MySQL tool does through MariaDB's. `xtrabackup` reads its --defaults-extra-file twice, as Percona
 * XtraBackup 8.0 does (handle_options: once for the [xtrabackup]/[mysqld] server groups, again for the
 * [xtrabackup]/[client] client groups), keeps what the client pass saw (DIR/client-pass.cnf, its mode in DIR/mode), and
 * connects with that alone (MYSQL_PWD unset). Its log lines get PXB 8.0's prefix. STUB_XB=fail streams half a backup
 * and exits 3, STUB_XB=no-ok exits 0 without the `completed OK!` line; STUB_PREPARE=no-ok the same for --prepare.
 * `mysql` records the SQL it gets on stdin (DIR/sql, first 4 KiB of each call).
 */
function mysqlStandIns(stubs: string): void {
  mkdirSync(stubs, { recursive: true });
  const calls = join(stubs, 'calls');
  const write = (name: string, lines: string[]) => writeFileSync(join(stubs, name), ['#!/bin/bash', ...lines].join('\n') + '\n', { mode: 0o755 });
  const pxbLog = "sed 's/^/2024-06-01T10:00:00.000000-00:00 0 [Note] [MY-011825] [Xtrabackup] /'";
  write('mysqldump', [
    'if [ "$*" = --version ]; then echo "mysqldump  Ver 8.0.39 for Linux on x86_64 (MySQL Community Server - GPL)"; exit 0; fi',
    `exec "${BINARIES.mysqldump}" "$@"`,
  ]);
  write('xtrabackup', [
    `printf 'xtrabackup %s\\n' "$*" >>"${calls}"`,
    'args=(); log="$(mktemp)"; out="$(mktemp)"; trap \'rm -f "$log" "$out"\' EXIT',
    'case "${1:-}" in --defaults-extra-file=*)',
    `  cat "\${1#*=}" >"${stubs}/server-pass.cnf" 2>/dev/null; cat "\${1#*=}" >"${stubs}/client-pass.cnf" 2>/dev/null`,
    `  stat -L -c %a "\${1#*=}" >"${stubs}/mode"`,
    `  args=("--defaults-extra-file=${stubs}/client-pass.cnf"); shift ;;`,
    'esac',
    'for a in "$@"; do case "$a" in --defaults-extra-file=*) echo "--defaults-extra-file must be specified first on the command line" >&2; exit 1 ;; esac; args+=("$a"); done',
    `env -u MYSQL_PWD "${BINARIES['mariadb-backup']}" "\${args[@]}" >"$out" 2>"$log"; status=$?`,
    'case " $* " in *" --prepare "*) mode="${STUB_PREPARE:-}" ;; *) mode="${STUB_XB:-}" ;; esac',
    'if [ "$mode" = fail ]; then head -c $(( $(stat -c %s "$out") / 2 )) "$out"; ' + pxbLog + ' "$log" >&2; exit 3; fi',
    'cat "$out"',
    'if [ "$mode" = no-ok ]; then grep -v "completed OK!" "$log" | ' + pxbLog + ' >&2; else ' + pxbLog + ' "$log" >&2; fi',
    'exit "$status"',
  ]);
  write('xbstream', [`printf 'xbstream %s\\n' "$*" >>"${calls}"`, `exec "${BINARIES.mbstream}" "$@"`]);
  write('mysqlbinlog', [
    `printf 'mysqlbinlog %s\\n' "$*" >>"${calls}"`,
    'args=(); skip=',
    'for a in "$@"; do case "$a" in --skip-gtids) skip=1 ;; *) args+=("$a") ;; esac; done',
    `if [ -z "$skip" ]; then exec "${BINARIES.mysqlbinlog}" "\${args[@]}"; fi`,
    `"${BINARIES.mysqlbinlog}" "\${args[@]}" | sed -E '/SET @@session\\.(gtid_seq_no|server_id|gtid_domain_id)=/d'`,
    'exit "${PIPESTATUS[0]}"',
  ]);
  // MySQL-only server options recorded, then dropped (or mapped) for mariadbd.
  write('mysqld', [
    `printf 'mysqld %s\\n' "$*" >>"${calls}"`,
    'if [ "$*" = --version ]; then echo "mysqld  Ver 8.0.39 for Linux on x86_64 (MySQL Community Server - GPL)"; exit 0; fi',
    'args=()',
    'for a in "$@"; do case "$a" in --skip-log-bin|--mysqlx=OFF|--gtid-mode=ON|--enforce-gtid-consistency=ON) ;; --skip-replica-start) args+=(--skip-slave-start) ;; *) args+=("$a") ;; esac; done',
    `exec "${BINARIES.mariadbd}" "\${args[@]}"`,
  ]);
  write('mysql', [
    'for a in "$@"; do case "$a" in -e|--execute|--execute=*) exec "' + BINARIES.mysql + '" "$@" ;; esac; done',
    'sql="$(mktemp)"; trap \'rm -f "$sql"\' EXIT; cat >"$sql"',
    `{ printf -- '-- call\\n'; head -c 4096 "$sql"; printf '\\n'; } >>"${stubs}/sql"`,
    `"${BINARIES.mysql}" "$@" <"$sql"`,
  ]);
}

/** `s` as a RegExp source. */
const re = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describeWithBinaries('MySQL physical full backups (mariadb-backup) with point-in-time restore on real (MariaDB) servers', BINARIES,
  'mariadb-server mariadb-backup restic', () => {
    let dir: { path: string; remove: () => void };
    let primary: MariaDbServer;
    let replica: MariaDbServer;
    let env: Record<string, string>;
    let fromReplica: Record<string, string>;
    let toVolume: Record<string, string>;
    const throughput: string[] = [];
    const keep = <T extends { stderr: string }>(result: T): T => { throughput.push(...throughputLines(result as never)); return result; };
    const restic = (args: string[]) => run(BINARIES.restic!, args, { env });
    const snapshots = (tag: string): Array<{ id: string; tags: string[] }> => JSON.parse(restic(['snapshots', '--json', '--tag', tag]) || '[]') ?? [];
    const rowsOf = (server: MariaDbServer) => [
      server.sql(`SELECT id, status FROM ${DB}.shipments ORDER BY id`),
      server.sql(`SELECT id, note FROM ${DB}.events ORDER BY id`),
    ];
    const insert = (from: number, to: number, status: string) =>
      primary.sql(`USE ${DB}; INSERT INTO shipments (id, status) SELECT seq, '${status}' FROM seq_${from}_to_${to}`);
    const listing = (path: string) => (existsSync(path) ? readdirSync(path).sort() : []);
    async function markTarget(): Promise<string> {
      await new Promise((r) => setTimeout(r, 1100));
      const target = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
      await new Promise((r) => setTimeout(r, 1100));
      return target;
    }

    beforeAll(async () => {
      dir = tempDir('mysql-physical');
      primary = await startMariaDb(join(dir.path, 'primary'), 'primary', 1, PASSWORD);
      replica = await startMariaDb(join(dir.path, 'replica-0'), 'replica-0', 100, PASSWORD);
      // As in the official image, root@localhost has root's password (the private server's login).
      replica.sql(`SET SESSION sql_log_bin = 0; ALTER USER 'root'@'localhost' IDENTIFIED BY '${PASSWORD.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`);
      replicate(replica, primary, PASSWORD);
      env = {
        RESTIC: BINARIES.restic!, RESTIC_PASSWORD: 'repository pw', RESTIC_REPOSITORY: join(dir.path, 'repo-full'),
        ARCHIVE_REPOSITORY: join(dir.path, 'repo-archive'), BACKUP_HOST: 'logistics-mysql', MYSQL_HOST: '127.0.0.1',
        MYSQL_PWD: PASSWORD, MYSQL_DATABASE: DB, TMPDIR: join(dir.path, 'tmp'), XDG_CACHE_HOME: join(dir.path, 'cache'),
        SCRATCH_DIR: join(dir.path, 'scratch'), LOCK_WAIT_SECONDS: '5', VERIFY_DATA_PARTS: '1', SCRATCH_START_SECONDS: '60',
        MYSQLD: BINARIES.mariadbd!,
      };
      mkdirSync(env.TMPDIR);
      mkdirSync(env.SCRATCH_DIR);
      fromReplica = { ...env, MYSQL_PORT: String(replica.port), MYSQL_DATA_DIR: join(dir.path, 'replica-0', 'data') };
      toVolume = { ...env, MYSQL_DATA_DIR: join(dir.path, 'primary', 'data') };
    }, 120_000);

    afterAll(async () => {
      await replica?.stop();
      await primary?.stop();
      // eslint-disable-next-line no-console
      console.log(`MySQL physical backup throughput (MariaDB 10.11, mariadb-backup, local restic repository):\n${throughput.join('\n')}`);
      dir?.remove();
    });

    let target = '';
    let expected: string[] = [];

    test('a physical full from the replica is tagged format=physical with the replica\'s own binlog coordinates', async () => {
      primary.sql(`CREATE DATABASE ${DB}; USE ${DB}; CREATE TABLE shipments (id INT PRIMARY KEY, status VARCHAR(20)) ENGINE=InnoDB`);
      insert(1, 1000, 'before-full');
      await caughtUp(replica, primary);
      const full = keep(mustRun('mysql-physical-backup.sh', [], fromReplica));
      expect(full.stderr).toMatch(/physical full backup \S+ of 127\.0\.0\.1: \d+ bytes in/);
      expect(full.stderr).toMatch(/full backup \S+ promoted: mysql-bin\.\d{6}:\d+, 1 tables counted/);
      const [snapshot] = snapshots('full');
      expect(snapshot.tags).toEqual(expect.arrayContaining(['full', 'format=physical', expect.stringMatching(/^binlog-file=mysql-bin\.\d{6}$/),
        expect.stringMatching(/^binlog-pos=\d+$/), expect.stringMatching(/^binlog-head=[0-9a-f]{16}$/), expect.stringMatching(/^time=\d+$/)]));
      expect(snapshots('counts')).toHaveLength(1);
      expect(snapshots('pending')).toHaveLength(0);
      // The replica's coordinates: its file names and its position at the copy.
      const [file] = replica.sql('SHOW MASTER STATUS').split('\t');
      expect(snapshot.tags).toContain(`binlog-file=${file}`);
    }, 120_000);

    test('point-in-time restore onto the primary\'s volume: nothing lost up to the target, nothing after it; the old data kept aside', async () => {
      insert(1001, 2000, 'after-full');
      primary.sql(`USE ${DB}; CREATE TABLE events (id INT PRIMARY KEY, note VARCHAR(40)); INSERT INTO events VALUES (1, 'after-full')`);
      await caughtUp(replica, primary);
      keep(mustRun('mysql-binlog-archive.sh', [], fromReplica));
      insert(2001, 3000, 'after-archive');
      primary.sql(`USE ${DB}; UPDATE shipments SET status = 'updated' WHERE id BETWEEN 10 AND 20; DELETE FROM shipments WHERE id BETWEEN 30 AND 39; INSERT INTO events VALUES (2, 'before-target')`);
      await caughtUp(replica, primary);
      expected = rowsOf(primary);
      target = await markTarget();
      insert(3001, 4000, 'after-target');
      primary.sql(`USE ${DB}; DELETE FROM shipments WHERE id <= 500; INSERT INTO events VALUES (3, 'after-target')`);
      await caughtUp(replica, primary);
      keep(mustRun('mysql-binlog-archive.sh', [], fromReplica));

      // The disaster, then the runbook: the servers stopped, the restore onto the primary's volume.
      primary.sql(`DROP DATABASE ${DB}`);
      await caughtUp(replica, primary);
      await replica.stop();
      await primary.stop();
      const before = listing(join(dir.path, 'primary', 'data'));
      keep(mustRun('mysql-physical-restore.sh', ['extract', '--target-time', target], toVolume));
      expect(listing(join(dir.path, 'primary', 'data'))).toEqual(before);
      const applied = keep(mustRun('mysql-physical-restore.sh', ['apply'], toVolume));
      expect(applied.stderr).toMatch(/restored the server to \S+ from physical full backup \S+ into/);
      const kept = readdirSync(join(dir.path, 'primary')).filter((f) => f.startsWith('data.pre-restore-'));
      expect(kept).toHaveLength(1);
      expect(listing(join(dir.path, 'primary', kept[0]))).toEqual(before);
      expect(existsSync(join(dir.path, 'primary', 'data.restore'))).toBe(false);
      // What belonged to the replica is gone.
      const restoredFiles = listing(join(dir.path, 'primary', 'data'));
      // (multi-master.info is MariaDB's own, written by the server that ran on the copy.)
      expect(restoredFiles.filter((f) => /relay-bin|^master\.info|relay-log\.info|^mysql-bin\./.test(f))).toEqual([]);

      primary = await startOn(join(dir.path, 'primary'), 'restored primary');
      expect(rowsOf(primary)).toEqual(expected);
      expect(expected[0].split('\n')).toHaveLength(2990);
      expect(primary.sql('SHOW SLAVE STATUS')).toBe('');
      // The replica is copied again in production; here it is restarted for the next tests.
      replica = await startOn(join(dir.path, 'replica-0'), 'replica-0');
      fromReplica.MYSQL_PORT = String(replica.port);
    }, 180_000);

    test('a target outside the archived range is refused before anything is touched, naming the range', () => {
      const before = listing(join(dir.path, 'primary'));
      const later = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
      const after = runBackupScript('mysql-physical-restore.sh', ['extract', '--target-time', later], toVolume);
      expect(after.status).not.toBe(0);
      expect(after.stderr).toMatch(/refused: target .* is after the last archived event .*restorable range: \S+Z to \S+Z/);
      const early = runBackupScript('mysql-physical-restore.sh', ['extract', '--target-time', '2001-01-01T00:00:00Z'], toVolume);
      expect(early.status).not.toBe(0);
      expect(early.stderr).toMatch(/refused: target .* is before the oldest full backup of format physical/);
      expect(listing(join(dir.path, 'primary'))).toEqual(before);
      expect(runBackupScript('mysql-physical-restore.sh', ['apply'], { ...toVolume, SCRATCH_DIR: join(dir.path, 'tmp') }).status).not.toBe(0);
      // The dump restore never picks a physical full.
      const dump = runBackupScript('mysql-restore.sh', ['latest'], { ...env, MYSQL_PORT: String(primary.port) });
      expect(dump.stderr).toMatch(/no dump full backup/);
    });

    test('the restore test passes on a good physical backup and fails when the row counts differ; verify prepares it', () => {
      keep(mustRun('mysql-restore-test.sh', ['--extract'], fromReplica));
      const good = keep(mustRun('mysql-restore-test.sh', [], fromReplica));
      expect(good.stderr).toMatch(/restore test of full backup \S+ passed: \d+ tables, every row count as recorded \(physical\)/);
      expect(readdirSync(env.SCRATCH_DIR)).toEqual([]);
      // Without the extract step the main container refuses.
      expect(runBackupScript('mysql-restore-test.sh', [], fromReplica).stderr).toMatch(/was not extracted and prepared/);

      const counts = snapshots('counts').pop()!;
      const recorded = restic(['dump', counts.id, 'counts.tsv']);
      const altered = recorded.replace(/^(shipments\t)(\d+)$/m, (_m, name: string, n: string) => `${name}${Number(n) + 1}`);
      expect(altered).not.toBe(recorded);
      run(BINARIES.restic!, ['backup', '--host', env.BACKUP_HOST, '--stdin', '--stdin-filename', 'counts.tsv', ...counts.tags.flatMap((t) => ['--tag', t])], { env, input: altered });
      keep(mustRun('mysql-restore-test.sh', ['--extract'], fromReplica));
      const bad = runBackupScript('mysql-restore-test.sh', [], fromReplica);
      expect(bad.status).not.toBe(0);
      expect(bad.stderr).toMatch(/restored row counts differ/);
      restic(['forget', snapshots('counts').pop()!.id]);

      const verify = keep(mustRun('mysql-verify.sh', [], env));
      expect(verify.stderr).toMatch(/physical full backup \S+ prepared/);
      expect(verify.stderr).toMatch(/verify passed/);
    }, 180_000);

    test('a copy that fails midway, or never prints completed OK!, leaves no promoted snapshot', () => {
      const stubs = join(dir.path, 'stubs');
      mkdirSync(stubs, { recursive: true });
      // mariadb-backup that streams half of a real backup, then exits STUB_EXIT (0: without its last log line).
      writeFileSync(join(stubs, 'mariadb-backup'), [
        '#!/bin/bash',
        `"${BINARIES['mariadb-backup']}" "$@" >"${stubs}/whole.xb" 2>"${stubs}/whole.log" || exit 9`,
        `head -c $(( $(stat -c %s "${stubs}/whole.xb") / 2 )) "${stubs}/whole.xb"`,
        `if [ "$STUB_EXIT" = 0 ]; then grep -v 'completed OK!' "${stubs}/whole.log" >&2; else cat "${stubs}/whole.log" >&2; fi`,
        'exit "$STUB_EXIT"',
      ].join('\n'), { mode: 0o755 });
      const fulls = snapshots('full').length;
      for (const exit of ['3', '0']) {
        const result = runBackupScript('mysql-physical-backup.sh', [], { ...fromReplica, PATH: `${stubs}:${process.env.PATH}`, STUB_EXIT: exit });
        expect(result.status).not.toBe(0);
        expect(result.stderr).toMatch(exit === '3' ? /the copy exited 3/ : /does not end with 'completed OK!'/);
        expect(snapshots('full')).toHaveLength(fulls);
        expect(snapshots('pending')).toHaveLength(0);
      }
    }, 120_000);

    // --- MySQL 8.0 flavour: Percona XtraBackup, xbstream and mysqld through recording stand-ins ---------------------

    test('MySQL 8.0 flavour (recording stand-ins): xtrabackup --backup with credentials only in its option file, xbstream, --prepare, the private mysqld, RESET REPLICA ALL', async () => {
      const stubs = join(dir.path, 'mysql-stubs');
      mysqlStandIns(stubs);
      const tools = { PATH: `${stubs}:${process.env.PATH}`, MYSQLD: join(stubs, 'mysqld') };
      // Replication from the old primary ended with the restore above (the replica had applied its DROP DATABASE): the
      // replica is written to directly.
      replica.sql(`CREATE DATABASE IF NOT EXISTS ${DB}; USE ${DB}; CREATE TABLE IF NOT EXISTS shipments (id INT PRIMARY KEY, status VARCHAR(20)) ENGINE=InnoDB;
        CREATE TABLE IF NOT EXISTS events (id INT PRIMARY KEY, note VARCHAR(40)); INSERT INTO events VALUES (8000, 'mysql-flavour');
        INSERT INTO shipments (id, status) SELECT seq, 'mysql-flavour' FROM seq_8001_to_8100`);
      const full = keep(mustRun('mysql-physical-backup.sh', [], { ...fromReplica, ...tools }));
      expect(full.stderr).toMatch(/\(mysql tools\)/);
      expect(full.stderr).toMatch(/full backup \S+ promoted: mysql-bin\.\d{6}:\d+/);
      const calls = () => readFileSync(join(stubs, 'calls'), 'utf8').split('\n').filter(Boolean);
      const backups = calls().filter((c) => c.startsWith('xtrabackup ') && c.includes(' --backup'));
      expect(backups).toEqual([expect.stringMatching(new RegExp(`^xtrabackup --defaults-extra-file=(/\\S+)/tool\\.cnf --backup --stream=xbstream `
        + `--host=127\\.0\\.0\\.1 --port=${replica.port} --datadir=${re(fromReplica.MYSQL_DATA_DIR)} --target-dir=\\1/tool --tmpdir=\\1/tool$`))]);
      // Credentials never on the command line; the client pass of the option file (the second read) carries them.
      expect(backups[0]).not.toMatch(/ (--user|--password|-u|-p)(=| |\S)/);
      expect(backups[0]).not.toContain(PASSWORD);
      expect(readFileSync(join(stubs, 'client-pass.cnf'), 'utf8')).toBe(`[xtrabackup]\nuser="root"\npassword="${PASSWORD.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"\n`);
      expect(readFileSync(join(stubs, 'mode'), 'utf8').trim()).toBe('600');

      replica.sql(`USE ${DB}; INSERT INTO shipments (id, status) SELECT seq, 'after-mysql-full' FROM seq_8101_to_8200; DELETE FROM shipments WHERE id BETWEEN 8001 AND 8010`);
      keep(mustRun('mysql-binlog-archive.sh', [], fromReplica));
      const expectedRows = rowsOf(replica);

      // The restore test of that full, then the restore, onto a volume of its own (no server to stop).
      keep(mustRun('mysql-restore-test.sh', ['--extract'], { ...fromReplica, ...tools }));
      expect(keep(mustRun('mysql-restore-test.sh', [], { ...fromReplica, ...tools })).stderr).toMatch(/restore test of full backup \S+ passed: .*\(physical\)/);
      const volume = join(dir.path, 'mysql-volume');
      mkdirSync(join(volume, 'tmp'), { recursive: true });
      const toMySqlVolume = { ...env, ...tools, MYSQL_DATA_DIR: join(volume, 'data'), SCRATCH_DIR: join(dir.path, 'scratch-mysql') };
      mkdirSync(toMySqlVolume.SCRATCH_DIR);
      const before = calls().length;
      keep(mustRun('mysql-physical-restore.sh', ['extract'], toMySqlVolume));
      keep(mustRun('mysql-physical-restore.sh', ['apply'], toMySqlVolume));
      const staging = `${toMySqlVolume.MYSQL_DATA_DIR}.restore`;
      const restore = calls().slice(before);
      expect(restore.filter((c) => /^(xbstream|xtrabackup) /.test(c))).toEqual([
        `xbstream -x -C ${staging}`,
        `xtrabackup --prepare --target-dir=${staging} --use-memory=256M`,
      ]);
      expect(restore.filter((c) => c.startsWith('mysqld '))).toEqual(['mysqld --version', expect.stringMatching(new RegExp(
        `^mysqld --no-defaults --datadir=${re(staging)} --tmpdir=\\S+ --socket=\\S+ --pid-file=\\S+ --skip-networking --max-allowed-packet=1G `
        + '--secure-file-priv=\\S+ --innodb-flush-log-at-trx-commit=2 --skip-log-bin --mysqlx=OFF --skip-replica-start --gtid-mode=ON '
        + `--enforce-gtid-consistency=ON${process.getuid?.() === 0 ? ' --user=root' : ''}$`))]);
      // Every database replayed (no --database: the copy is the whole server), GTIDs skipped.
      expect(restore.filter((c) => c.startsWith('mysqlbinlog --skip-gtids'))).toEqual([
        expect.stringMatching(/^mysqlbinlog --skip-gtids --start-position=\d+ \S+\/mysql-bin\.\d{6}( \S+\/mysql-bin\.\d{6})*$/),
      ]);
      // Both private servers (restore test, restore) had their replication settings reset before anything else.
      const sql = readFileSync(join(stubs, 'sql'), 'utf8').split('-- call\n').map((c) => c.trim()).filter(Boolean);
      expect(sql.filter((c) => c === 'RESET REPLICA ALL')).toHaveLength(2);

      copyFileSync(join(dir.path, 'replica-0', 'client.cnf'), join(volume, 'client.cnf'));
      const restored = await startOn(volume, 'restored from the MySQL-flavour full');
      try {
        expect(rowsOf(restored)).toEqual(expectedRows);
        expect(restored.sql(`SELECT COUNT(*) FROM ${DB}.shipments WHERE status = 'after-mysql-full'`)).toBe('100');
      } finally {
        await restored.stop();
      }
    }, 240_000);

    test('MySQL 8.0 flavour (stand-ins): an xtrabackup that exits non-zero or never prints completed OK!, and a --prepare without it, leave nothing promoted or touched', () => {
      const stubs = join(dir.path, 'mysql-stubs');
      const tools = { PATH: `${stubs}:${process.env.PATH}`, MYSQLD: join(stubs, 'mysqld') };
      const fulls = snapshots('full').length;
      for (const mode of ['fail', 'no-ok']) {
        const result = runBackupScript('mysql-physical-backup.sh', [], { ...fromReplica, ...tools, STUB_XB: mode });
        expect(result.status).not.toBe(0);
        expect(result.stderr).toMatch(mode === 'fail' ? /the copy exited 3/ : /does not end with 'completed OK!'/);
        expect(snapshots('full')).toHaveLength(fulls);
        expect(snapshots('pending')).toHaveLength(0);
      }
      const volume = join(dir.path, 'mysql-volume-2');
      mkdirSync(volume);
      const toVolume2 = { ...env, ...tools, MYSQL_DATA_DIR: join(volume, 'data'), SCRATCH_DIR: join(dir.path, 'scratch-mysql') };
      const prepare = runBackupScript('mysql-physical-restore.sh', ['extract'], { ...toVolume2, STUB_PREPARE: 'no-ok' });
      expect(prepare.status).not.toBe(0);
      expect(prepare.stderr).toMatch(/preparing the physical full backup \S+ did not end with 'completed OK!'/);
      expect(existsSync(toVolume2.MYSQL_DATA_DIR)).toBe(false);
      const apply = runBackupScript('mysql-physical-restore.sh', ['apply'], toVolume2);
      expect(apply.status).not.toBe(0);
      expect(apply.stderr).toMatch(/no prepared copy/);
      expect(existsSync(toVolume2.MYSQL_DATA_DIR)).toBe(false);
    }, 120_000);
  });
