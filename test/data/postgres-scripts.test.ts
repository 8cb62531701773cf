/**
 * The Postgres construct's init scripts against real PostgreSQL servers: a primary set up by
 * primary-init.sh, a hot standby seeded by standby-init.sh, both started with the postgresql.conf,
 * tuning.conf and pg_hba.conf the construct renders (only port, listen address, socket directory
 * and hba path are overridden for the loopback). The image runs PostgreSQL 14; this machine has
 * the Debian package's (15): the rendered settings and the scripts hold for both.
 *
 * PostgreSQL refuses to run as root. When the tests run as root (as here and in CI), servers and
 * scripts run as the `postgres` user of the Debian package (else `nobody`) through setpriv. They
 * need nothing from the checkout, which that user may not be able to enter (a clone under a 0700
 * home): the scripts and configuration are copied into a temporary directory owned by that user,
 * and every process runs with a working directory there.
 *
 * The faults: a standby whose slot the primary invalidated (max_slot_wal_keep_size) while it was
 * stopped, and a promotion (split brain). Idempotence is measured in WAL: pg_waldump shows what a
 * re-run of primary-init wrote, and the primary's insert position what a re-run of standby-init did.
 */
import { Testing } from 'cdk8s';
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import { userInfo } from 'os';
import { join } from 'path';
import { Postgres } from '../../lib/data/postgres/postgres';
import { asPostgresUser, describeWithBinaries, freePort, POSTGRES_BIN_DIR, postgresBinary, postgresServerUser, ServerProcess, SETPRIV, tempDir, waitFor } from '../support/real-servers';

const BIN_DIR = POSTGRES_BIN_DIR;
const binary = postgresBinary;
const BINARIES = {
  initdb: binary('initdb'),
  pg_ctl: binary('pg_ctl'),
  postgres: binary('postgres'),
  pg_basebackup: binary('pg_basebackup'),
  psql: binary('psql'),
  pg_isready: binary('pg_isready'),
  pg_receivewal: binary('pg_receivewal'),
  pg_controldata: binary('pg_controldata'),
  pg_waldump: binary('pg_waldump'),
  setpriv: SETPRIV,
};

const SUPERUSER_PASSWORD = 'pa\'ss "wörd\\ $HOME';
const ROTATED_PASSWORD = 'rotated \'again\'';
const REPLICATION_PASSWORD = 'rep\'l \\ $x';
const DATABASE = 'real_estate_ai';
const SLOT = 'postgres_standby_0';

/** Every file under `root` with its content hash and modification time. */
function fileStates(root: string): Record<string, string> {
  const states: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else states[path.slice(root.length)] = `${createHash('sha256').update(readFileSync(path)).digest('hex')} ${statSync(path).mtimeMs}`;
    }
  };
  walk(root);
  return states;
}

describeWithBinaries('Postgres init scripts: primary and streaming hot standby on real servers', BINARIES, 'postgresql', () => {
  const user = postgresServerUser();
  let dir: { path: string; remove: () => void };
  let conf: string;
  let scripts: string;
  let work: string;
  let primaryPort: number;
  let standbyPort: number;
  let primaryData: string;
  let standbyData: string;
  let primary: ServerProcess | undefined;
  let standby: ServerProcess | undefined;
  let other: ServerProcess | undefined;
  let superuserPassword = SUPERUSER_PASSWORD;

  /** The environment without the caller's PG* variables, with the server binaries first on PATH. */
  function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('PG')) env[key] = value;
    return { ...env, PATH: `${BIN_DIR}:${process.env.PATH}`, HOME: dir.path, LC_ALL: 'C.UTF-8', ...extra };
  }

  /** A command as the unprivileged user. */
  const asUser = asPostgresUser;

  function exec(command: string, args: string[], env: Record<string, string>, timeoutMs = 60_000): { status: number | null; output: string } {
    const [cmd, argv] = asUser(command, args);
    const result = spawnSync(cmd, argv, { env: baseEnv(env), encoding: 'utf8', timeout: timeoutMs, cwd: work });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  function script(name: string, env: Record<string, string>): string {
    const result = exec('bash', [join(scripts, name)], env, 120_000);
    if (result.status !== 0) throw new Error(`${name} exited ${result.status}\n${result.output}`);
    return result.output;
  }

  function psql(port: number, sql: string, options: { user?: string; password?: string; database?: string } = {}): string {
    const args = ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-U', options.user ?? 'app', '-d', options.database ?? DATABASE, '-c', sql];
    const result = spawnSync(join(BIN_DIR!, 'psql'), args, { env: baseEnv({ PGPASSWORD: options.password ?? superuserPassword }), encoding: 'utf8', timeout: 30_000 });
    if (result.status !== 0) throw new Error(`psql on ${port}: ${sql}\n${result.stderr}`);
    return result.stdout.trim();
  }

  /** Whether the server on `port` takes writes (answers and is not in recovery). */
  function writable(port: number): boolean {
    try {
      return psql(port, 'SELECT NOT pg_is_in_recovery()') === 't';
    } catch {
      return false;
    }
  }

  /** probe.sh as the kubelet runs it in the pod: as the server's OS user, on the server's socket. */
  function probe(name: string, port: number, ...args: string[]): { status: number | null; output: string } {
    return exec('bash', [join(scripts, 'probe.sh'), ...args], { PROBE_HOST: join(dir.path, `run-${name}`), PROBE_PORT: String(port), POSTGRES_USER: 'app' }, 20_000);
  }

  /** One pg_controldata field. */
  function control(data: string, field: string): string {
    const result = exec(BINARIES.pg_controldata!, [data], {});
    const line = result.output.split('\n').find((l) => l.startsWith(`${field}:`));
    if (!line) throw new Error(`no ${field} in pg_controldata ${data}\n${result.output}`);
    return line.slice(field.length + 1).trim();
  }

  function startServer(name: string, data: string, port: number, env: Record<string, string> = {}): ServerProcess {
    const run = join(dir.path, `run-${name}`);
    if (!existsSync(run)) mkdirSync(run);
    if (user) spawnSync('chown', [`${user.uid}:${user.gid}`, run]);
    const [cmd, argv] = asUser(join(BIN_DIR!, 'postgres'), [
      '-D', data,
      '-c', `config_file=${join(conf, 'postgresql.conf')}`,
      '-c', `hba_file=${join(conf, 'pg_hba.conf')}`,
      '-c', `ident_file=${join(conf, 'pg_ident.conf')}`,
      '-c', `port=${port}`,
      '-c', 'listen_addresses=127.0.0.1',
      '-c', `unix_socket_directories=${run}`,
    ]);
    return new ServerProcess(cmd, argv, { env: baseEnv(env), cwd: run });
  }

  async function waitReady(server: ServerProcess, port: number, what: string): Promise<void> {
    await waitFor(`${what} on port ${port}`, () => {
      if (server.exited) throw new Error(`${what} exited:\n${server.log}`);
      return spawnSync(join(BIN_DIR!, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port)]).status === 0;
    }, 30_000).catch((e) => {
      throw new Error(`${e.message}\n${server.log}`);
    });
  }

  async function stopServer(server: ServerProcess | undefined, data: string): Promise<void> {
    if (!server || server.exited) return;
    exec(join(BIN_DIR!, 'pg_ctl'), ['stop', '-D', data, '-m', 'fast', '-w', '-t', '20'], {});
    await server.stop();
  }

  function primaryInitEnv(password: string): Record<string, string> {
    return {
      PGDATA: primaryData,
      POSTGRES_CONFIG_FILE: join(conf, 'postgresql.conf'),
      POSTGRES_USER: 'app',
      POSTGRES_PASSWORD: password,
      POSTGRES_DB: DATABASE,
      REPLICATION_USER: 'replicator',
      REPLICATION_PASSWORD,
      REPLICATION_SLOTS: SLOT,
      REPLICATION_SLOT_PREFIX: 'postgres_standby_',
      // The standby pod, asked for its timeline (split-brain fence).
      REPLICATION_PEERS: `127.0.0.1:${standbyPort}`,
      PEER_TIMEOUT_SECONDS: '3',
      TMPDIR: join(dir.path, 'tmp'),
    };
  }

  function standbyInitEnv(data: string, password = REPLICATION_PASSWORD): Record<string, string> {
    // What the pod has: the primary's Service (here the loopback), the pod name giving the slot.
    return {
      PGDATA: data,
      PRIMARY_HOST: '127.0.0.1',
      PRIMARY_PORT: String(primaryPort),
      REPLICATION_USER: 'replicator',
      REPLICATION_PASSWORD: password,
      POD_NAME: 'postgres-standby-0',
      PRIMARY_WAIT_SECONDS: '10',
      WAL_CHECK_SECONDS: '10',
      TMPDIR: join(dir.path, 'tmp'),
    };
  }

  beforeAll(async () => {
    dir = tempDir('postgres-replication');
    conf = join(dir.path, 'conf');
    scripts = join(dir.path, 'scripts');
    work = join(dir.path, 'work');
    primaryData = join(dir.path, 'primary', 'data', 'pgdata');
    standbyData = join(dir.path, 'standby', 'data', 'pgdata');
    for (const d of [conf, scripts, work, join(dir.path, 'tmp'), join(dir.path, 'primary', 'data'), join(dir.path, 'standby', 'data'), join(dir.path, 'bad', 'data'), join(dir.path, 'other', 'data')]) {
      mkdirSync(d, { recursive: true });
    }
    // What the pods mount: the construct's ConfigMaps, with small buffers for a test machine.
    const chart = Testing.chart();
    new Postgres(chart, 'postgres', {
      database: DATABASE,
      passwordSecret: { name: 'postgres-credentials', key: 'password' },
      replicationPasswordSecret: { name: 'postgres-credentials', key: 'replication-password' },
      storage: { size: '1Gi' },
      standby: true,
      // Small WAL limits, so that a standby away for a few segments loses its slot.
      config: { sharedBuffers: '32MB', maxConnections: 20, maxWalSize: '32MB', maxSlotWalKeepSize: '16MB' },
    });
    const objects = Testing.synth(chart);
    const configMap = (name: string): Record<string, string> => objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name).data;
    for (const [file, text] of Object.entries(configMap('postgres-config'))) writeFileSync(join(conf, file), text);
    for (const [file, text] of Object.entries(configMap('postgres-scripts'))) writeFileSync(join(scripts, file), text, { mode: 0o555 });
    // The peer map names the image's OS user; the servers here run as another one when not root.
    const osUser = user ? user.name : userInfo().username;
    if (osUser !== 'postgres') appendFileSync(join(conf, 'pg_ident.conf'), `pod ${osUser} app\n`);
    if (user) {
      const chown = spawnSync('chown', ['-R', `${user.uid}:${user.gid}`, dir.path]);
      if (chown.status !== 0) throw new Error(`chown failed: ${chown.stderr}`);
    }
    primaryPort = await freePort();
    standbyPort = await freePort();
  });

  afterAll(async () => {
    await stopServer(standby, standbyData);
    await stopServer(primary, primaryData);
    await stopServer(other, join(dir.path, 'other', 'data', 'pgdata'));
    dir?.remove();
  });

  test('primary-init creates the cluster, database, superuser password, replication role and slot; the primary is ready', async () => {
    const output = script('primary-init.sh', primaryInitEnv(SUPERUSER_PASSWORD));
    expect(output).toContain('running initdb');
    expect(output).toContain(`physical slots: ${SLOT}`);
    // No standby runs yet: the split-brain check skips it.
    expect(output).toContain(`peer 127.0.0.1:${standbyPort} did not answer (skipped)`);
    expect(existsSync(`${primaryData}.initdb`)).toBe(false);
    expect(statSync(primaryData).mode & 0o777).toBe(0o700);

    primary = startServer('primary', primaryData, primaryPort);
    await waitReady(primary, primaryPort, 'primary');
    // SCRAM over TCP with the Secret's password, which has quotes, a backslash and a $.
    expect(psql(primaryPort, 'SELECT current_user || \' \' || current_database()')).toBe(`app ${DATABASE}`);
    expect(psql(primaryPort, 'SHOW shared_buffers')).toBe('32MB');
    expect(psql(primaryPort, 'SHOW max_connections')).toBe('20');
    expect(psql(primaryPort, 'SHOW data_checksums')).toBe('on');
    expect(psql(primaryPort, "SELECT rolreplication::text || ' ' || rolsuper::text FROM pg_roles WHERE rolname = 'replicator'")).toBe('true false');
    expect(psql(primaryPort, "SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = 'replicator'")).toBe('t');
    expect(psql(primaryPort, 'SELECT slot_name FROM pg_replication_slots')).toBe(SLOT);
    // pg_hba: the replication role may replicate, never log in to a database.
    expect(() => psql(primaryPort, 'SELECT 1', { user: 'replicator', password: REPLICATION_PASSWORD, database: 'postgres' })).toThrow(/pg_hba\.conf rejects connection/);
    expect(() => psql(primaryPort, 'SELECT 1', { password: 'wrong' })).toThrow(/password authentication failed/);

    // The probes log in by peer authentication on the socket: no password needed.
    expect(probe('primary', primaryPort, 'live')).toEqual({ status: 0, output: '' });
    expect(probe('primary', primaryPort, 'ready', 'primary')).toEqual({ status: 0, output: '' });
    expect(probe('primary', primaryPort, 'ready', 'standby')).toMatchObject({ status: 1, output: expect.stringContaining('this standby was promoted') });
    expect(probe('primary', primaryPort, 'ready')).toMatchObject({ status: 2, output: expect.stringContaining('usage') });

    psql(primaryPort, 'CREATE TABLE listings (id int PRIMARY KEY, city text NOT NULL)');
    psql(primaryPort, "INSERT INTO listings SELECT g, 'city ' || g FROM generate_series(1, 100) g");
  });

  test('standby-init clones the primary; the standby is in recovery, streams, refuses writes, and is ready only as a standby', async () => {
    const output = script('standby-init.sh', standbyInitEnv(standbyData));
    expect(output).toContain(`cloning 127.0.0.1:${primaryPort} as replicator through slot ${SLOT}`);
    expect(existsSync(join(standbyData, 'standby.signal'))).toBe(true);
    expect(existsSync(`${standbyData}.clone`)).toBe(false);
    const autoConf = readFileSync(join(standbyData, 'postgresql.auto.conf'), 'utf8');
    expect(autoConf).toContain(`primary_conninfo = 'host=127.0.0.1 port=${primaryPort} user=replicator application_name=${SLOT}'`);
    expect(autoConf).toContain(`primary_slot_name = '${SLOT}'`);
    expect(autoConf).not.toContain('password');

    // The password reaches the walreceiver only through the server's environment, as in the pod.
    standby = startServer('standby', standbyData, standbyPort, { PGPASSWORD: REPLICATION_PASSWORD });
    await waitReady(standby, standbyPort, 'standby');
    expect(psql(standbyPort, 'SELECT pg_is_in_recovery()')).toBe('t');
    expect(psql(standbyPort, 'SELECT count(*) FROM listings')).toBe('100');

    psql(primaryPort, "INSERT INTO listings SELECT g, 'city ' || g FROM generate_series(101, 150) g");
    await waitFor('rows written after the standby started', () => psql(standbyPort, 'SELECT count(*) FROM listings') === '150', 20_000);
    expect(psql(standbyPort, 'SELECT city FROM listings WHERE id = 150')).toBe('city 150');
    expect(psql(primaryPort, `SELECT application_name || ' ' || state FROM pg_stat_replication`)).toBe(`${SLOT} streaming`);
    expect(psql(primaryPort, `SELECT active FROM pg_replication_slots WHERE slot_name = '${SLOT}'`)).toBe('t');

    expect(() => psql(standbyPort, "INSERT INTO listings VALUES (999, 'nope')")).toThrow(/cannot execute INSERT in a read-only transaction/);
    expect(() => psql(standbyPort, 'CREATE TABLE t (i int)')).toThrow(/read-only transaction/);

    await waitFor('the standby to be ready (streaming)', () => probe('standby', standbyPort, 'ready', 'standby').status === 0, 20_000);
    expect(probe('standby', standbyPort, 'live').status).toBe(0);
    expect(probe('standby', standbyPort, 'ready', 'primary')).toMatchObject({ status: 1, output: expect.stringContaining('in recovery') });
  });

  test('primary-init on a healthy primary changes nothing: no WAL but its temporary server\'s shutdown checkpoint', async () => {
    const authid = "SELECT string_agg(rolname || ' ' || rolcanlogin || ' ' || rolreplication || ' ' || coalesce(rolpassword, '-'), ',' ORDER BY rolname) FROM pg_authid";
    const rolesBefore = psql(primaryPort, authid);
    const slotsBefore = psql(primaryPort, 'SELECT string_agg(slot_name || wal_status, \',\') FROM pg_replication_slots');
    await stopServer(primary, primaryData);
    const before = control(primaryData, 'Latest checkpoint location');

    const output = script('primary-init.sh', primaryInitEnv(SUPERUSER_PASSWORD));
    expect(output).toContain(`peer 127.0.0.1:${standbyPort} is on timeline 1 (ours 1)`);
    expect(output).not.toContain('setting the password');
    // Every WAL record from the last checkpoint of the real server on is a shutdown checkpoint:
    // that one, and the temporary server's.
    const dump = exec(BINARIES.pg_waldump!, ['-p', join(primaryData, 'pg_wal'), '-s', before], {});
    const records = dump.output.split('\n').filter((l) => l.startsWith('rmgr:'));
    expect(records.map((r) => /desc: (\S+)/.exec(r)?.[1])).toEqual(['CHECKPOINT_SHUTDOWN', 'CHECKPOINT_SHUTDOWN']);

    primary = startServer('primary', primaryData, primaryPort);
    await waitReady(primary, primaryPort, 'restarted primary');
    expect(psql(primaryPort, authid)).toBe(rolesBefore);
    expect(psql(primaryPort, 'SELECT string_agg(slot_name || wal_status, \',\') FROM pg_replication_slots')).toBe(slotsBefore);
    await waitFor('the standby to follow the restarted primary', () => psql(primaryPort, 'SELECT count(*) FROM pg_stat_replication') === '1', 30_000);
  });

  test('standby-init on a healthy standby changes no file and writes nothing on the primary; after a restart it resumes streaming', async () => {
    await stopServer(standby, standbyData);
    const marker = join(standbyData, 'marker-kept-by-standby-init');
    writeFileSync(marker, 'x');
    if (user) spawnSync('chown', [`${user.uid}:${user.gid}`, marker]);
    const inode = statSync(standbyData).ino;

    // The slot keeps the WAL of these rows while the standby is down.
    psql(primaryPort, "INSERT INTO listings SELECT g, 'city ' || g FROM generate_series(151, 200) g");
    psql(primaryPort, 'CHECKPOINT');
    const files = fileStates(standbyData);
    const lsn = psql(primaryPort, 'SELECT pg_current_wal_insert_lsn()');

    const output = script('standby-init.sh', standbyInitEnv(standbyData));
    expect(output).toContain('the primary still has the WAL it needs, resuming streaming');
    expect(output).not.toContain('cloning');
    expect(fileStates(standbyData)).toEqual(files);
    expect(statSync(standbyData).ino).toBe(inode);
    expect(psql(primaryPort, 'SELECT pg_current_wal_insert_lsn()')).toBe(lsn);
    expect(readdirSync(join(dir.path, 'tmp'))).toEqual([]);
    const autoConf = readFileSync(join(standbyData, 'postgresql.auto.conf'), 'utf8');
    expect(autoConf.match(/^primary_conninfo/gm)).toHaveLength(1);
    expect(autoConf.match(/^primary_slot_name/gm)).toHaveLength(1);

    standby = startServer('standby', standbyData, standbyPort, { PGPASSWORD: REPLICATION_PASSWORD });
    await waitReady(standby, standbyPort, 'restarted standby');
    expect(psql(standbyPort, 'SELECT pg_is_in_recovery()')).toBe('t');
    await waitFor('rows written while the standby was down', () => psql(standbyPort, 'SELECT count(*) FROM listings') === '200', 20_000);
    psql(primaryPort, "INSERT INTO listings VALUES (201, 'after restart')");
    await waitFor('rows written after the restart', () => psql(standbyPort, 'SELECT city FROM listings WHERE id = 201') === 'after restart', 20_000);
  });

  test('primary-init on an existing primary keeps data and slot, and rotates the superuser password', async () => {
    await stopServer(primary, primaryData);
    const output = script('primary-init.sh', primaryInitEnv(ROTATED_PASSWORD));
    expect(output).toContain('cluster found');
    expect(output).toContain('setting the password of app');
    expect(output).not.toContain('setting the password of replicator');
    expect(output).not.toContain('running initdb');
    primary = startServer('primary', primaryData, primaryPort);
    await waitReady(primary, primaryPort, 'restarted primary');

    expect(() => psql(primaryPort, 'SELECT 1')).toThrow(/password authentication failed/);
    superuserPassword = ROTATED_PASSWORD;
    expect(psql(primaryPort, 'SELECT count(*) FROM listings')).toBe('201');
    expect(psql(primaryPort, 'SELECT slot_name FROM pg_replication_slots')).toBe(SLOT);
    // The probes need no password: a rotated Secret never makes a pod unready.
    expect(probe('primary', primaryPort, 'ready', 'primary').status).toBe(0);
    // The standby reconnects to the restarted primary by itself.
    psql(primaryPort, "INSERT INTO listings VALUES (202, 'after primary restart')");
    await waitFor('the standby to follow the restarted primary', () => psql(standbyPort, 'SELECT count(*) FROM listings') === '202', 30_000)
      .catch((e) => { throw new Error(`${e.message}\n${standby!.log}`); });
  });

  test('a clone that fails (wrong replication password) leaves no data directory behind', () => {
    const bad = join(dir.path, 'bad', 'data', 'pgdata');
    const result = exec('bash', [join(scripts, 'standby-init.sh')], standbyInitEnv(bad, 'wrong password'));
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/password authentication failed/);
    expect(result.output).toContain('standby-init: ERROR: cannot drop replication slot');
    expect(existsSync(bad)).toBe(false);
    expect(existsSync(`${bad}.clone`)).toBe(false);
  });

  test('standby-init never discards a standby for a primary of another cluster, even one past its WAL', async () => {
    await stopServer(standby, standbyData);
    // A re-initialised primary (another system identifier) whose WAL is long past the standby's.
    const otherData = join(dir.path, 'other', 'data', 'pgdata');
    const otherPort = await freePort();
    script('primary-init.sh', { ...primaryInitEnv(SUPERUSER_PASSWORD), PGDATA: otherData, REPLICATION_PEERS: '' });
    other = startServer('other', otherData, otherPort);
    await waitReady(other, otherPort, 'other cluster');
    for (let i = 0; i < 12; i++) psql(otherPort, 'SELECT pg_switch_wal(); CREATE TEMP TABLE t (i int);', { password: SUPERUSER_PASSWORD, database: 'postgres' });
    psql(otherPort, 'CHECKPOINT', { password: SUPERUSER_PASSWORD, database: 'postgres' });
    const files = fileStates(standbyData);

    const output = script('standby-init.sh', { ...standbyInitEnv(standbyData), PRIMARY_PORT: String(otherPort) });
    expect(output).toMatch(/could not check the primary's WAL \(the primary is another cluster \(system \d+, this standby's \d+\); this standby's data is kept/);
    expect(output).not.toContain('cloning');
    // Back to the real primary (the connection is rewritten again) before the next test.
    await stopServer(other, otherData);
    // Only the connection changed (to the other primary's port).
    const after = fileStates(standbyData);
    expect(after['/postgresql.auto.conf']).not.toBe(files['/postgresql.auto.conf']);
    delete after['/postgresql.auto.conf'];
    delete files['/postgresql.auto.conf'];
    expect(after).toEqual(files);
    expect(script('standby-init.sh', standbyInitEnv(standbyData))).toContain('resuming streaming');
  });

  test('a standby whose slot was invalidated while it was away is unready, then cloned again by standby-init; primary-init re-creates the lost slot', async () => {
    await stopServer(standby, standbyData);
    // More WAL than max_slot_wal_keep_size (16MB) while the standby is away: the checkpoint
    // invalidates its slot and removes the segments it needs.
    for (let i = 0; i < 6; i++) psql(primaryPort, `INSERT INTO listings VALUES (${1000 + i}, 'away ${i}'); SELECT pg_switch_wal();`);
    psql(primaryPort, 'CHECKPOINT');
    expect(psql(primaryPort, `SELECT wal_status FROM pg_replication_slots WHERE slot_name = '${SLOT}'`)).toBe('lost');

    // Started as it is, the standby accepts connections (pg_isready, the old readiness probe) but
    // can never stream again: ready must say no, and why.
    standby = startServer('standby', standbyData, standbyPort, { PGPASSWORD: REPLICATION_PASSWORD });
    await waitReady(standby, standbyPort, 'stale standby');
    await waitFor('the walreceiver to be refused', () => /has already been removed/.test(standby!.log), 20_000);
    expect(psql(standbyPort, 'SELECT count(*) FROM listings')).toBe('202');
    expect(probe('standby', standbyPort, 'live').status).toBe(0);
    expect(spawnSync(join(BIN_DIR!, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(standbyPort)]).status).toBe(0);
    for (let i = 0; i < 10; i++) {
      const ready = probe('standby', standbyPort, 'ready', 'standby');
      expect(ready.status).toBe(1);
      expect(ready.output).toMatch(/not streaming from the primary.*restart the pod, standby-init clones it again/);
      await new Promise((r) => setTimeout(r, 300));
    }
    await stopServer(standby, standbyData);

    // The primary's next start replaces the lost slot, which reserves nothing.
    await stopServer(primary, primaryData);
    script('primary-init.sh', primaryInitEnv(superuserPassword));
    primary = startServer('primary', primaryData, primaryPort);
    await waitReady(primary, primaryPort, 'restarted primary');
    expect(psql(primaryPort, `SELECT wal_status FROM pg_replication_slots WHERE slot_name = '${SLOT}'`)).toBe('reserved');

    const output = script('standby-init.sh', standbyInitEnv(standbyData));
    expect(output).toContain('has removed WAL this standby needs');
    expect(output).toContain('re-cloning');
    expect(output).toContain(`cloning 127.0.0.1:${primaryPort}`);
    expect(existsSync(`${standbyData}.stale`)).toBe(false);
    standby = startServer('standby', standbyData, standbyPort, { PGPASSWORD: REPLICATION_PASSWORD });
    await waitReady(standby, standbyPort, 're-cloned standby');
    expect(psql(standbyPort, 'SELECT count(*) FROM listings')).toBe('208');
    psql(primaryPort, "INSERT INTO listings VALUES (2000, 'after re-clone')");
    await waitFor('rows written after the re-clone', () => psql(standbyPort, 'SELECT count(*) FROM listings') === '209', 20_000);
    await waitFor('the re-cloned standby to be ready', () => probe('standby', standbyPort, 'ready', 'standby').status === 0, 20_000);
    expect(psql(primaryPort, `SELECT active::text || ' ' || wal_status FROM pg_replication_slots WHERE slot_name = '${SLOT}'`)).toBe('true reserved');
  });

  test('split brain: after a promotion neither the old primary nor the promoted standby starts as a second writable primary', async () => {
    const writers = (): number[] => [primaryPort, standbyPort].filter(writable);
    const promote = exec(join(BIN_DIR!, 'pg_ctl'), ['promote', '-D', standbyData, '-w', '-t', '30'], {});
    expect(promote.status).toBe(0);
    // The promoted standby takes writes the old primary does not have.
    psql(standbyPort, "INSERT INTO listings VALUES (3000, 'written on the promoted standby')");
    expect(probe('standby', standbyPort, 'ready', 'standby')).toMatchObject({ status: 1, output: expect.stringContaining('was promoted') });

    // The old primary restarts while the promoted server runs: it finds the newer timeline and refuses.
    await stopServer(primary, primaryData);
    expect(writers()).toEqual([standbyPort]);
    const fenced = exec('bash', [join(scripts, 'primary-init.sh')], primaryInitEnv(superuserPassword), 120_000);
    expect(fenced.status).not.toBe(0);
    expect(fenced.output).toContain(`primary-init: ERROR: peer 127.0.0.1:${standbyPort} is on timeline 2, newer than this primary's 1`);
    expect(fenced.output).toContain('must not start as a second primary');

    // The promoted server restarts: standby-init refuses it, leaving its data as it is.
    await stopServer(standby, standbyData);
    const autoConf = readFileSync(join(standbyData, 'postgresql.auto.conf'), 'utf8');
    const refused = exec('bash', [join(scripts, 'standby-init.sh')], standbyInitEnv(standbyData), 60_000);
    expect(refused.status).not.toBe(0);
    expect(refused.output).toContain('standby-init: ERROR:');
    expect(refused.output).toContain('was promoted (timeline 2');
    expect(refused.output).toContain('kubectl delete pvc data-postgres-standby-0');
    expect(existsSync(join(standbyData, 'standby.signal'))).toBe(false);
    expect(readFileSync(join(standbyData, 'postgresql.auto.conf'), 'utf8')).toBe(autoConf);
    expect(writers()).toEqual([]);

    // The documented fix, keeping the primary: the standby's data goes, the primary starts (the
    // fenced standby does not answer), the standby clones it again. One writable server.
    rmSync(standbyData, { recursive: true, force: true });
    expect(script('primary-init.sh', primaryInitEnv(superuserPassword))).toContain(`peer 127.0.0.1:${standbyPort} did not answer (skipped)`);
    primary = startServer('primary', primaryData, primaryPort);
    await waitReady(primary, primaryPort, 'primary after the fence');
    script('standby-init.sh', standbyInitEnv(standbyData));
    standby = startServer('standby', standbyData, standbyPort, { PGPASSWORD: REPLICATION_PASSWORD });
    await waitReady(standby, standbyPort, 'standby cloned again');
    expect(writers()).toEqual([primaryPort]);
    expect(psql(standbyPort, 'SELECT count(*) FROM listings WHERE id = 3000')).toBe('0');
    await waitFor('the standby to be ready again', () => probe('standby', standbyPort, 'ready', 'standby').status === 0, 20_000);
  });
});
