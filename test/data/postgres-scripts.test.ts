/**
 * The Postgres construct's init scripts against real PostgreSQL servers: a primary set up by
 * primary-init.sh, a hot standby seeded by standby-init.sh, both started with the postgresql.conf,
 * tuning.conf and pg_hba.conf the construct renders (only port, listen address, socket directory
 * and hba path are overridden for the loopback). The image runs PostgreSQL 14; this machine has
 * the Debian package's (15): the rendered settings and the scripts hold for both.
 *
 * PostgreSQL refuses to run as root. When the tests run as root (as here and in CI), servers and
 * scripts run as the `postgres` user of the Debian package (else `nobody`) through setpriv, in
 * temporary directories owned by that user.
 */
import { Testing } from 'cdk8s';
import { spawnSync } from 'child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'fs';
import { join } from 'path';
import { Postgres } from '../../lib/data/postgres/postgres';
import { describeWithBinaries, freePort, ServerProcess, tempDir, waitFor } from '../support/real-servers';

const BIN_DIR = ['17', '16', '15', '14'].map((v) => `/usr/lib/postgresql/${v}/bin`).find((dir) => existsSync(join(dir, 'postgres')));
const binary = (name: string): string | undefined => (BIN_DIR && existsSync(join(BIN_DIR, name)) ? join(BIN_DIR, name) : undefined);
const BINARIES = {
  initdb: binary('initdb'),
  pg_ctl: binary('pg_ctl'),
  postgres: binary('postgres'),
  pg_basebackup: binary('pg_basebackup'),
  psql: binary('psql'),
  pg_isready: binary('pg_isready'),
  setpriv: process.getuid?.() === 0 ? ['/usr/bin/setpriv', '/bin/setpriv'].find(existsSync) : 'not needed',
};

const SUPERUSER_PASSWORD = 'pa\'ss "wörd\\ $HOME';
const ROTATED_PASSWORD = 'rotated \'again\'';
const REPLICATION_PASSWORD = 'rep\'l \\ $x';
const DATABASE = 'real_estate_ai';
const SLOT = 'postgres_standby_0';

/** The unprivileged user servers run as when the tests run as root. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
    if (uid.status === 0 && gid.status === 0) return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  }
  throw new Error('running as root, but there is neither a postgres nor a nobody user to run PostgreSQL as');
}

describeWithBinaries('Postgres init scripts: primary and streaming hot standby on real servers', BINARIES, 'postgresql', () => {
  const user = serverUser();
  let dir: { path: string; remove: () => void };
  let conf: string;
  let scripts: string;
  let primaryPort: number;
  let standbyPort: number;
  let primaryData: string;
  let standbyData: string;
  let primary: ServerProcess | undefined;
  let standby: ServerProcess | undefined;
  let superuserPassword = SUPERUSER_PASSWORD;

  /** The environment without the caller's PG* variables, with the server binaries first on PATH. */
  function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('PG')) env[key] = value;
    return { ...env, PATH: `${BIN_DIR}:${process.env.PATH}`, HOME: dir.path, LC_ALL: 'C.UTF-8', ...extra };
  }

  /** A command as the unprivileged user. */
  function asUser(command: string, args: string[]): [string, string[]] {
    if (!user) return [command, args];
    return [BINARIES.setpriv!, ['--reuid', String(user.uid), '--regid', String(user.gid), '--clear-groups', command, ...args]];
  }

  function exec(command: string, args: string[], env: Record<string, string>, timeoutMs = 60_000): { status: number | null; output: string } {
    const [cmd, argv] = asUser(command, args);
    const result = spawnSync(cmd, argv, { env: baseEnv(env), encoding: 'utf8', timeout: timeoutMs });
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

  function startServer(name: string, data: string, port: number, env: Record<string, string> = {}): ServerProcess {
    const run = join(dir.path, `run-${name}`);
    if (!existsSync(run)) mkdirSync(run);
    if (user) spawnSync('chown', [`${user.uid}:${user.gid}`, run]);
    const [cmd, argv] = asUser(join(BIN_DIR!, 'postgres'), [
      '-D', data,
      '-c', `config_file=${join(conf, 'postgresql.conf')}`,
      '-c', `hba_file=${join(conf, 'pg_hba.conf')}`,
      '-c', `port=${port}`,
      '-c', 'listen_addresses=127.0.0.1',
      '-c', `unix_socket_directories=${run}`,
    ]);
    return new ServerProcess(cmd, argv, { env: baseEnv(env) });
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
    };
  }

  beforeAll(async () => {
    dir = tempDir('postgres-replication');
    conf = join(dir.path, 'conf');
    scripts = join(dir.path, 'scripts');
    primaryData = join(dir.path, 'primary', 'data', 'pgdata');
    standbyData = join(dir.path, 'standby', 'data', 'pgdata');
    for (const d of [conf, scripts, join(dir.path, 'tmp'), join(dir.path, 'primary', 'data'), join(dir.path, 'standby', 'data'), join(dir.path, 'bad', 'data')]) {
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
      config: { sharedBuffers: '32MB', maxConnections: 20 },
    });
    const objects = Testing.synth(chart);
    const configMap = (name: string): Record<string, string> => objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name).data;
    for (const [file, text] of Object.entries(configMap('postgres-config'))) writeFileSync(join(conf, file), text);
    for (const [file, text] of Object.entries(configMap('postgres-scripts'))) writeFileSync(join(scripts, file), text, { mode: 0o555 });
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
    dir?.remove();
  });

  test('primary-init creates the cluster, database, superuser password, replication role and slot', async () => {
    const output = script('primary-init.sh', primaryInitEnv(SUPERUSER_PASSWORD));
    expect(output).toContain('running initdb');
    expect(output).toContain(`physical slots: ${SLOT}`);
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

    psql(primaryPort, 'CREATE TABLE listings (id int PRIMARY KEY, city text NOT NULL)');
    psql(primaryPort, "INSERT INTO listings SELECT g, 'city ' || g FROM generate_series(1, 100) g");
  });

  test('standby-init clones the primary; the standby is in recovery, streams, and refuses writes', async () => {
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
  });

  test('standby-init on an existing standby changes no data; after a restart it resumes streaming through its slot', async () => {
    await stopServer(standby, standbyData);
    const marker = join(standbyData, 'marker-kept-by-standby-init');
    writeFileSync(marker, 'x');
    if (user) spawnSync('chown', [`${user.uid}:${user.gid}`, marker]);
    const inode = statSync(standbyData).ino;
    const baseFile = statSync(join(standbyData, 'PG_VERSION')).mtimeMs;

    // The slot keeps the WAL of these rows while the standby is down.
    psql(primaryPort, "INSERT INTO listings SELECT g, 'city ' || g FROM generate_series(151, 200) g");

    const output = script('standby-init.sh', standbyInitEnv(standbyData));
    expect(output).toContain('standby found');
    expect(output).not.toContain('cloning');
    expect(existsSync(marker)).toBe(true);
    expect(statSync(standbyData).ino).toBe(inode);
    expect(statSync(join(standbyData, 'PG_VERSION')).mtimeMs).toBe(baseFile);
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
    expect(output).not.toContain('running initdb');
    primary = startServer('primary', primaryData, primaryPort);
    await waitReady(primary, primaryPort, 'restarted primary');

    expect(() => psql(primaryPort, 'SELECT 1')).toThrow(/password authentication failed/);
    superuserPassword = ROTATED_PASSWORD;
    expect(psql(primaryPort, 'SELECT count(*) FROM listings')).toBe('201');
    expect(psql(primaryPort, 'SELECT slot_name FROM pg_replication_slots')).toBe(SLOT);
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
    expect(result.output).toContain('standby-init: ERROR: pg_basebackup');
    expect(existsSync(bad)).toBe(false);
    expect(existsSync(`${bad}.clone`)).toBe(false);
  });

  test('standby-init leaves a promoted standby (a switchover) as it is', async () => {
    const promote = exec(join(BIN_DIR!, 'pg_ctl'), ['promote', '-D', standbyData, '-w', '-t', '30'], {});
    expect(promote.status).toBe(0);
    expect(psql(standbyPort, 'SELECT pg_is_in_recovery()')).toBe('f');
    await stopServer(standby, standbyData);
    const autoConf = readFileSync(join(standbyData, 'postgresql.auto.conf'), 'utf8');

    const output = script('standby-init.sh', standbyInitEnv(standbyData));
    expect(output).toContain('it was promoted, so it starts as it is');
    expect(existsSync(join(standbyData, 'standby.signal'))).toBe(false);
    expect(readFileSync(join(standbyData, 'postgresql.auto.conf'), 'utf8')).toBe(autoConf);
    standby = startServer('standby', standbyData, standbyPort, { PGPASSWORD: REPLICATION_PASSWORD });
    await waitReady(standby, standbyPort, 'promoted standby');
    expect(psql(standbyPort, 'SELECT pg_is_in_recovery()')).toBe('f');
    expect(psql(standbyPort, 'SELECT count(*) FROM listings')).toBe('202');
  });
});
