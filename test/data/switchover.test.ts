/**
 * The switchover procedures (seed 004 11.5) run against real servers, as an operator runs them:
 *
 * - lib/data/postgres/switchover.sh against PostgreSQL (the Debian package's 15; the image runs 14):
 *   a primary set up by primary-init.sh and two streaming standbys cloned by standby-init.sh;
 * - lib/data/mysql/switchover.sh against MariaDB 10.11 (production runs MySQL 8.0, which cannot be
 *   installed here): a primary and two replicas started through server.sh; its MySQL-only
 *   statements (mysql_* functions) go to recording stand-ins of the MySQL client;
 * - the Redis cache rebuild: cluster members emptied, cluster-bootstrap.sh re-forms the cluster.
 *
 * The scripts act through kubectl only. A fake `kubectl` on PATH plays the cluster: `exec` runs the
 * command locally with the environment of the pod's container against the server that plays the
 * pod (a port on the loopback instead of the pod's socket; the pods' ConfigMap scripts where they
 * are mounted), `get` answers from a state directory, `patch service` applies the merge patch to
 * the Service's selector and routes it to the pod the selector matches, `apply` and `delete` are
 * recorded. Each write Service is a TCP proxy in this process that sends every new connection to
 * the pod the Service selects (established connections stay where they are, as with kube-proxy);
 * clients, standbys and replicas reach the primary only through it.
 *
 * During each switchover a writer inserts rows through the write Service, a new connection per
 * row, and records every id whose commit succeeded; afterwards each of them must be on the new
 * primary. The replication paths lag on purpose (WAL reaches the standbys 400 ms late; the MariaDB
 * replica applies 2 s late): a switchover that does not wait for the standby to replay everything
 * (PostgreSQL) or for the replica to execute every GTID (MariaDB) loses the last rows.
 * POSTGRES_SWITCHOVER and MYSQL_SWITCHOVER point the tests at other copies of the scripts (to show
 * that a test fails with a planted bug).
 */
import { Testing } from 'cdk8s';
import { execFile, spawn, spawnSync } from 'child_process';
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { userInfo } from 'os';
import { join } from 'path';
import { parseAllDocuments } from 'yaml';
import { MySql } from '../../lib/data/mysql/mysql';
import { Postgres } from '../../lib/data/postgres/postgres';
import { RedisCluster } from '../../lib/data/redis/redis-cluster';
import { asPostgresUser, describeWithBinaries, findBinary, freePort, postgresServerUser, run, ServerProcess, SETPRIV, tempDir, waitFor } from '../support/real-servers';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = any;

const ROOT = join(__dirname, '..', '..');
const POSTGRES_SWITCHOVER = process.env.POSTGRES_SWITCHOVER ?? join(ROOT, 'lib', 'data', 'postgres', 'switchover.sh');
const MYSQL_SWITCHOVER = process.env.MYSQL_SWITCHOVER ?? join(ROOT, 'lib', 'data', 'mysql', 'switchover.sh');
const MYSQL_SCRIPTS = join(ROOT, 'lib', 'data', 'mysql');
const NAMESPACE = 'shop-prod';

/** A value as a single-quoted shell word. */
const shellWord = (value: string): string => `'${value.replace(/'/g, "'\\''")}'`;

const FAKE_KUBECTL = `#!/bin/bash
# kubectl as the switchover scripts use it, played by local servers (see the test's comment).
set -euo pipefail
state=$FAKE_KUBE
printf '%s\\n' "$(printf '%q ' "$@")" >>"$state/calls"
fail() { printf 'fake kubectl: %s\\n' "$*" >&2; exit 1; }
namespace=
while (($#)); do
  case $1 in
    --context) shift 2 ;;
    --namespace | -n) namespace=$2 && shift 2 ;;
    *) break ;;
  esac
done
[[ $namespace == "$(cat "$state/namespace")" ]] || fail "Error from server (NotFound): namespaces \\"$namespace\\" not found"
verb=$1
shift
case $verb in
  get)
    kind=$1 name=$2
    case $kind:$3:$4 in
      service:-o:*pod-name*) cat "$state/services/$name/pod" ;;
      statefulset:-o:'jsonpath={.spec.replicas}') cat "$state/statefulsets/$name/replicas" ;;
      *) fail "unexpected get: $*" ;;
    esac ;;
  exec)
    stdin=0
    if [[ $1 == -i ]]; then stdin=1 && shift; fi
    pod=$1
    [[ $2 == -c && $4 == -- ]] || fail "exec needs -c <container> --: $*"
    [[ -d $state/pods/$pod ]] || fail "Error from server (NotFound): pods \\"$pod\\" not found"
    [[ $3 == "$(cat "$state/pods/$pod/container")" ]] || fail "container $3 is not valid for pod $pod"
    shift 4
    args=()
    for arg in "$@"; do args+=("\${arg//\\/opt\\/mysql-scripts\\//$FAKE_MYSQL_SCRIPTS/}"); done
    # shellcheck disable=SC1091
    if ((stdin)); then
      (set -a && source "$state/pods/$pod/env" && exec "\${args[@]}")
    else
      (set -a && source "$state/pods/$pod/env" && exec "\${args[@]}") </dev/null
    fi ;;
  patch)
    [[ $1 == service && $3 == --type && $4 == merge && $5 == -p ]] || fail "unexpected patch: $*"
    node "$FAKE_KUBE_PATCH" "$state" "$2" "$6" ;;
  apply)
    [[ $* == '-f -' ]] || fail "unexpected apply: $*"
    cat >>"$state/applied" ;;
  delete)
    printf '%s\\n' "$*" >>"$state/deleted" ;;
  *) fail "unexpected verb $verb" ;;
esac
`;

/** The Service's merge patch: the selector changes, the Service routes to the one pod it matches. */
const FAKE_PATCH = `
const fs = require('fs');
const path = require('path');
const [state, name, patchText] = process.argv.slice(2);
const dir = path.join(state, 'services', name);
const service = JSON.parse(fs.readFileSync(path.join(dir, 'service.json'), 'utf8'));
const merge = (target, patch) => {
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete target[key];
    else if (typeof value === 'object' && !Array.isArray(value)) target[key] = merge(target[key] ?? {}, value);
    else target[key] = value;
  }
  return target;
};
merge(service, JSON.parse(patchText));
const pods = fs.readdirSync(path.join(state, 'pods')).filter((pod) => {
  const labels = JSON.parse(fs.readFileSync(path.join(state, 'pods', pod, 'labels.json'), 'utf8'));
  return Object.entries(service.spec.selector).every(([k, v]) => labels[k] === v);
});
if (pods.length !== 1) { console.error('the selector ' + JSON.stringify(service.spec.selector) + ' matches ' + pods.length + ' pods'); process.exit(1); }
fs.writeFileSync(path.join(dir, 'service.json'), JSON.stringify(service));
fs.writeFileSync(path.join(dir, 'pod'), service.spec.selector['statefulset.kubernetes.io/pod-name'] ?? '');
fs.writeFileSync(path.join(dir, 'port'), fs.readFileSync(path.join(state, 'pods', pods[0], 'port')));
console.log('service/' + name + ' patched');
`;

/** A Service: `node proxy.js <file holding the target port> <listen port> <latency ms>`. */
const SERVICE_PROXY = `
const fs = require('fs');
const net = require('net');
const [targetFile, port, latency] = process.argv.slice(2);
const delay = Number(latency);
const forward = (from, to) => {
  from.on('error', () => to.destroy());
  from.on('close', () => setTimeout(() => to.destroy(), delay));
  from.on('data', (chunk) => (delay ? setTimeout(() => to.write(chunk), delay) : to.write(chunk)));
  from.on('end', () => (delay ? setTimeout(() => to.end(), delay) : to.end()));
};
net.createServer((client) => {
  const upstream = net.createConnection({ host: '127.0.0.1', port: Number(fs.readFileSync(targetFile, 'utf8')) });
  forward(client, upstream);
  forward(upstream, client);
}).listen(Number(port), '127.0.0.1', () => console.log('listening'));
`;

/** The fake cluster: pods (a server each), Services (proxies), StatefulSets. */
class FakeCluster {
  public readonly bin: string;
  public readonly state: string;
  private readonly proxies: ServerProcess[] = [];

  constructor(root: string) {
    this.bin = join(root, 'bin');
    this.state = join(root, 'kube');
    for (const d of [this.bin, join(this.state, 'pods'), join(this.state, 'services'), join(this.state, 'statefulsets')]) mkdirSync(d, { recursive: true });
    writeFileSync(join(this.state, 'namespace'), NAMESPACE);
    writeFileSync(join(this.state, 'calls'), '');
    writeFileSync(join(this.bin, 'kubectl'), FAKE_KUBECTL);
    chmodSync(join(this.bin, 'kubectl'), 0o755);
    writeFileSync(join(root, 'patch.js'), FAKE_PATCH);
    writeFileSync(join(root, 'proxy.js'), SERVICE_PROXY);
  }

  /** The environment the scripts run with: the fake kubectl first on PATH. */
  public env(): NodeJS.ProcessEnv {
    return { PATH: `${this.bin}:${process.env.PATH}`, FAKE_KUBE: this.state, FAKE_KUBE_PATCH: join(this.state, '..', 'patch.js'), FAKE_MYSQL_SCRIPTS: MYSQL_SCRIPTS };
  }

  public addPod(pod: string, container: string, port: number, env: Record<string, string>): void {
    const dir = join(this.state, 'pods', pod);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'container'), container);
    writeFileSync(join(dir, 'port'), String(port));
    const statefulSet = pod.replace(/-\d+$/, '');
    writeFileSync(join(dir, 'labels.json'), JSON.stringify({ 'app.kubernetes.io/name': statefulSet, 'app.kubernetes.io/instance': NAMESPACE, 'statefulset.kubernetes.io/pod-name': pod }));
    writeFileSync(join(dir, 'env'), Object.entries(env).map(([k, v]) => `${k}=${shellWord(v)}`).join('\n') + '\n');
  }

  public addStatefulSet(name: string, replicas: number): void {
    mkdirSync(join(this.state, 'statefulsets', name), { recursive: true });
    writeFileSync(join(this.state, 'statefulsets', name, 'replicas'), String(replicas));
  }

  /** A Service selecting the pods of StatefulSet `statefulSet`, with its declared selector. */
  public addService(name: string, statefulSet: string, firstPod: string): void {
    const dir = join(this.state, 'services', name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'service.json'), JSON.stringify({ spec: { selector: { 'app.kubernetes.io/name': statefulSet, 'app.kubernetes.io/instance': NAMESPACE } } }));
    writeFileSync(join(dir, 'pod'), '');
    writeFileSync(join(dir, 'port'), readFileSync(join(this.state, 'pods', firstPod, 'port')));
  }

  public service(name: string): Obj {
    return JSON.parse(readFileSync(join(this.state, 'services', name, 'service.json'), 'utf8'));
  }

  /**
   * A proxy for Service `name` on a free port: each new connection goes to the pod the Service
   * routes to now, every chunk `latencyMs` late (a slow network path). A process of its own, so
   * that the test's synchronous client calls never stall it.
   */
  public async proxy(name: string, latencyMs = 0): Promise<number> {
    const port = await freePort();
    const proxy = new ServerProcess('node', [join(this.state, '..', 'proxy.js'), join(this.state, 'services', name, 'port'), String(port), String(latencyMs)]);
    this.proxies.push(proxy);
    await waitFor(`the proxy of Service ${name}`, () => {
      proxy.assertRunning(`the proxy of Service ${name}`);
      return proxy.log.includes('listening');
    }, 10_000, 50);
    return port;
  }

  public calls(): string[] {
    return readFileSync(join(this.state, 'calls'), 'utf8').split('\n').filter((l) => l !== '');
  }

  public applied(): Obj[] {
    const file = join(this.state, 'applied');
    return existsSync(file) ? parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS()).filter((d) => d) : [];
  }

  public deleted(): string[] {
    const file = join(this.state, 'deleted');
    return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : [];
  }

  public async close(): Promise<void> {
    await Promise.all(this.proxies.map((p) => p.stop()));
  }
}

interface ScriptRun {
  readonly status: number | null;
  readonly output: string;
}

/** Runs a switchover script in the background (the writer goes on meanwhile). */
function runScript(path: string, args: string[], env: NodeJS.ProcessEnv): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d.toString(); });
    child.stderr.on('data', (d) => { output += d.toString(); });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output }));
  });
}

/** Inserts ids 1, 2, ... one per new connection until stopped; remembers the ids whose commit succeeded. */
class Writer {
  public readonly committed: number[] = [];
  public failures = 0;
  private next = 1;
  private stopped = false;
  private loop?: Promise<void>;

  constructor(private readonly insert: (id: number) => { command: string; args: string[]; env: NodeJS.ProcessEnv }) {}

  public start(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        const id = this.next++;
        const { command, args, env } = this.insert(id);
        const ok = await new Promise<boolean>((resolve) => {
          execFile(command, args, { env: { ...process.env, ...env }, timeout: 10_000 }, (error) => resolve(!error));
        });
        if (ok) this.committed.push(id);
        else this.failures++;
      }
    })();
  }

  public async waitForCommits(count: number): Promise<void> {
    const target = this.committed.length + count;
    await waitFor(`${count} more commits by the writer`, () => this.committed.length >= target, 30_000, 50);
  }

  public async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

// ---------------------------------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------------------------------

const PG_BIN = ['17', '16', '15', '14'].map((v) => `/usr/lib/postgresql/${v}/bin`).find((dir) => existsSync(join(dir, 'postgres')));
const pgBinary = (name: string): string | undefined => (PG_BIN && existsSync(join(PG_BIN, name)) ? join(PG_BIN, name) : undefined);
const PG_BINARIES = {
  initdb: pgBinary('initdb'),
  pg_ctl: pgBinary('pg_ctl'),
  postgres: pgBinary('postgres'),
  pg_basebackup: pgBinary('pg_basebackup'),
  psql: pgBinary('psql'),
  pg_receivewal: pgBinary('pg_receivewal'),
  setpriv: SETPRIV,
};
const PG_PASSWORD = 'su\'per "pw" $x';
const PG_REPLICATION_PASSWORD = 're\'pl \\ pw';
const PG_DATABASE = 'real_estate';

describeWithBinaries('PostgreSQL switchover.sh on real servers: a primary and two streaming standbys', PG_BINARIES, 'postgresql', () => {
  const user = postgresServerUser();
  let dir: { path: string; remove: () => void };
  let cluster: FakeCluster;
  let conf: string;
  let scripts: string;
  let servicePort: number;
  interface PgPod { name: string; port: number; data: string; server?: ServerProcess }
  const pods: Record<string, PgPod> = {};
  const primary = () => pods['postgres-0'];
  const standby0 = () => pods['postgres-standby-0'];
  const standby1 = () => pods['postgres-standby-1'];

  function baseEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('PG')) env[key] = value;
    return { ...env, PATH: `${PG_BIN}:${process.env.PATH}`, HOME: dir.path, LC_ALL: 'C.UTF-8', ...extra };
  }

  const asUser = asPostgresUser;

  function exec(command: string, args: string[], env: Record<string, string>): ScriptRun {
    const [cmd, argv] = asUser(command, args);
    const result = spawnSync(cmd, argv, { env: baseEnv(env), encoding: 'utf8', timeout: 120_000, cwd: join(dir.path, 'work') });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  function psql(port: number, sql: string): string {
    const args = ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-U', 'app', '-d', PG_DATABASE, '-c', sql];
    const result = spawnSync(PG_BINARIES.psql!, args, { env: baseEnv({ PGPASSWORD: PG_PASSWORD }), encoding: 'utf8', timeout: 30_000 });
    if (result.status !== 0) throw new Error(`psql on ${port}: ${sql}\n${result.stderr}`);
    return result.stdout.trim();
  }

  function primaryInitEnv(peers: string): Record<string, string> {
    return {
      PGDATA: primary().data,
      POSTGRES_CONFIG_FILE: join(conf, 'postgresql.conf'),
      POSTGRES_USER: 'app',
      POSTGRES_PASSWORD: PG_PASSWORD,
      POSTGRES_DB: PG_DATABASE,
      REPLICATION_USER: 'replicator',
      REPLICATION_PASSWORD: PG_REPLICATION_PASSWORD,
      REPLICATION_SLOTS: 'postgres_standby_0 postgres_standby_1',
      REPLICATION_SLOT_PREFIX: 'postgres_standby_',
      REPLICATION_PEERS: peers,
      PEER_TIMEOUT_SECONDS: '3',
      TMPDIR: join(dir.path, 'tmp'),
    };
  }

  async function start(pod: PgPod, env: Record<string, string> = {}): Promise<void> {
    const runDir = join(dir.path, `run-${pod.name}`);
    if (!existsSync(runDir)) mkdirSync(runDir);
    if (user) spawnSync('chown', [`${user.uid}:${user.gid}`, runDir]);
    const [cmd, argv] = asUser(PG_BINARIES.postgres!, ['-D', pod.data,
      '-c', `config_file=${join(conf, 'postgresql.conf')}`, '-c', `hba_file=${join(conf, 'pg_hba.conf')}`, '-c', `ident_file=${join(conf, 'pg_ident.conf')}`,
      '-c', `port=${pod.port}`, '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${runDir}`]);
    const server = new ServerProcess(cmd, argv, { env: baseEnv(env), cwd: runDir });
    pod.server = server;
    await waitFor(`${pod.name} on ${pod.port}`, () => {
      server.assertRunning(pod.name);
      return spawnSync(pgBinary('pg_isready')!, ['-q', '-h', '127.0.0.1', '-p', String(pod.port)]).status === 0;
    }, 60_000);
  }

  async function stop(pod: PgPod): Promise<void> {
    if (!pod.server || pod.server.exited) return;
    exec(PG_BINARIES.pg_ctl!, ['stop', '-D', pod.data, '-m', 'fast', '-w', '-t', '30'], {});
    await pod.server.stop();
  }

  const writer = () => new Writer((id) => ({
    command: PG_BINARIES.psql!,
    args: ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(servicePort), '-U', 'app', '-d', PG_DATABASE, '-c', `INSERT INTO writes VALUES (${id})`],
    env: { PGPASSWORD: PG_PASSWORD, PGCONNECT_TIMEOUT: '3' },
  }));

  const switchover = (...args: string[]) => runScript(POSTGRES_SWITCHOVER, ['--namespace', NAMESPACE, '--context', 'prod-eu', ...args], cluster.env());
  const ids = (port: number): Set<number> => new Set(psql(port, 'SELECT id FROM writes').split('\n').filter((l) => l).map(Number));
  const readOnlySetting = (port: number) => psql(port, 'SHOW default_transaction_read_only');
  /** probe.sh as the kubelet runs it in the pod: as the server's OS user, on the server's socket. */
  const probe = (pod: PgPod, ...args: string[]) => exec('bash', [join(scripts, 'probe.sh'), ...args],
    { PROBE_HOST: join(dir.path, `run-${pod.name}`), PROBE_PORT: String(pod.port), POSTGRES_USER: 'app' });

  beforeAll(async () => {
    dir = tempDir('postgres-switchover');
    conf = join(dir.path, 'conf');
    scripts = join(dir.path, 'scripts');
    for (const d of [conf, scripts, join(dir.path, 'work'), join(dir.path, 'tmp')]) mkdirSync(d, { recursive: true });
    const chart = Testing.chart();
    new Postgres(chart, 'postgres', {
      database: PG_DATABASE,
      passwordSecret: { name: 'postgres-credentials', key: 'password' },
      replicationPasswordSecret: { name: 'postgres-credentials', key: 'replication-password' },
      storage: { size: '1Gi' },
      standby: true,
      standbyReplicas: 2,
      config: { sharedBuffers: '32MB', maxConnections: 40, maxWalSize: '64MB', maxSlotWalKeepSize: '64MB' },
    });
    const objects = Testing.synth(chart);
    const configMap = (name: string): Record<string, string> => objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name).data;
    for (const [file, text] of Object.entries(configMap('postgres-config'))) writeFileSync(join(conf, file), text);
    for (const [file, text] of Object.entries(configMap('postgres-scripts'))) writeFileSync(join(scripts, file), text, { mode: 0o555 });
    const osUser = user ? user.name : userInfo().username;
    if (osUser !== 'postgres') appendFileSync(join(conf, 'pg_ident.conf'), `pod ${osUser} app\n`);

    cluster = new FakeCluster(join(dir.path, 'fake'));
    for (const name of ['postgres-0', 'postgres-standby-0', 'postgres-standby-1']) {
      const parent = join(dir.path, name);
      mkdirSync(parent);
      pods[name] = { name, port: await freePort(), data: join(parent, 'pgdata') };
      // What `kubectl exec -c postgres` has: POSTGRES_USER; here TCP with the password instead of
      // peer authentication on the pod's socket.
      cluster.addPod(name, 'postgres', pods[name].port, { POSTGRES_USER: 'app', PGHOST: '127.0.0.1', PGPORT: String(pods[name].port), PGPASSWORD: PG_PASSWORD, PATH: `${PG_BIN}:${process.env.PATH}` });
    }
    cluster.addStatefulSet('postgres', 1);
    cluster.addStatefulSet('postgres-standby', 2);
    cluster.addService('postgres', 'postgres', 'postgres-0');
    servicePort = await cluster.proxy('postgres');
    // The standbys reach the Service `postgres` over a slow path: WAL arrives 400 ms late.
    const replicationPort = await cluster.proxy('postgres', 400);
    if (user) spawnSync('chown', ['-R', `${user.uid}:${user.gid}`, dir.path]);

    const init = exec('bash', [join(scripts, 'primary-init.sh')], primaryInitEnv(''));
    if (init.status !== 0) throw new Error(init.output);
    await start(primary());
    psql(primary().port, 'CREATE TABLE writes (id int PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())');
    for (const standby of [standby0(), standby1()]) {
      const clone = exec('bash', [join(scripts, 'standby-init.sh')], {
        PGDATA: standby.data, PRIMARY_HOST: '127.0.0.1', PRIMARY_PORT: String(replicationPort), REPLICATION_USER: 'replicator',
        REPLICATION_PASSWORD: PG_REPLICATION_PASSWORD, POD_NAME: standby.name, PRIMARY_WAIT_SECONDS: '20', TMPDIR: join(dir.path, 'tmp'),
      });
      if (clone.status !== 0) throw new Error(clone.output);
      await start(standby, { PGPASSWORD: PG_REPLICATION_PASSWORD });
    }
    await waitFor('both standbys to stream', () => psql(primary().port, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") === '2', 30_000);
  }, 180_000);

  afterAll(async () => {
    for (const pod of Object.values(pods)) await stop(pod);
    await cluster?.close();
    dir?.remove();
  });

  test('--dry-run checks, prints every command, and changes nothing', async () => {
    psql(servicePort, 'INSERT INTO writes VALUES (-1)');
    const result = await switchover('--dry-run');
    expect(result).toMatchObject({ status: 0 });
    expect(result.output).toContain('checks passed: postgres-0 is the primary, postgres-standby-0 streams from it');
    expect(result.output).toMatch(/would run: kubectl --context prod-eu --namespace shop-prod exec -i postgres-0 -c postgres -- bash -c .*\n {4}ALTER SYSTEM SET default_transaction_read_only = on;/);
    expect(result.output).toMatch(/would run: .* exec -i postgres-standby-0 -c postgres -- .*\n {4}SELECT pg_promote\(true, 60\)/);
    expect(result.output).toContain('pg_create_physical_replication_slot(\'postgres_standby_1\', true)');
    expect(result.output).toMatch(/would run: .* patch service postgres --type merge -p .*postgres-standby-0/);
    expect(result.output).toMatch(/would run: .* apply -f -\n {4}apiVersion: networking\.k8s\.io\/v1/);
    // Only reads reached the cluster.
    expect(cluster.calls().filter((c) => !/^(--context prod-eu --namespace shop-prod )(get|exec -i \S+ -c postgres -- bash -c .*psql)/.test(c))).toEqual([]);
    expect(cluster.applied()).toEqual([]);
    expect(cluster.service('postgres').spec.selector).toEqual({ 'app.kubernetes.io/name': 'postgres', 'app.kubernetes.io/instance': NAMESPACE });
    expect(readOnlySetting(primary().port)).toBe('off');
    expect(psql(standby0().port, 'SELECT pg_is_in_recovery()')).toBe('t');
    psql(servicePort, 'INSERT INTO writes VALUES (-2)');
  });

  test('under continuous writes: no committed row lost, the Service follows the new primary, the old one refuses writes, the other standby follows', async () => {
    expect(probe(primary(), 'ready', 'primary')).toMatchObject({ status: 0 });
    const rows = writer();
    rows.start();
    await rows.waitForCommits(30);
    const result = await switchover();
    await rows.waitForCommits(20);
    await rows.stop();
    // Every row whose commit succeeded is on the new primary, including those written after the switch.
    const onNewPrimary = ids(standby0().port);
    expect(rows.committed.filter((id) => !onNewPrimary.has(id))).toEqual([]);
    expect(result).toMatchObject({ status: 0 });
    expect(result.output).toContain('postgres-standby-0 has replayed everything postgres-0 committed');
    expect(psql(standby0().port, 'SELECT pg_is_in_recovery()')).toBe('f');
    expect(psql(servicePort, 'SELECT inet_server_port()')).toBe(String(standby0().port));

    // The old primary refuses writes, in new sessions and through a session's default, and its
    // readiness says so (it is up, but no primary any more).
    expect(readOnlySetting(primary().port)).toBe('on');
    expect(() => psql(primary().port, 'INSERT INTO writes VALUES (-3)')).toThrow(/cannot execute INSERT in a read-only transaction/);
    const fencedProbe = probe(primary(), 'ready', 'primary');
    expect(fencedProbe.status).toBe(1);
    expect(fencedProbe.output).toContain('the primary refuses writes (default_transaction_read_only = on)');
    expect(probe(primary(), 'live').status).toBe(0);

    // The Service selects only the promoted pod, ready or not (its readiness is the standby's).
    const patches = cluster.calls().filter((c) => / patch /.test(c));
    expect(patches).toHaveLength(1);
    expect(patches[0]).toMatch(/^--context prod-eu --namespace shop-prod patch service postgres --type merge -p /);
    expect(cluster.service('postgres').spec).toEqual({
      selector: { 'app.kubernetes.io/name': 'postgres-standby', 'app.kubernetes.io/instance': NAMESPACE, 'statefulset.kubernetes.io/pod-name': 'postgres-standby-0' },
      publishNotReadyAddresses: true,
    });
    const [policy] = cluster.applied();
    expect(policy).toMatchObject({ kind: 'NetworkPolicy', metadata: { name: 'postgres-switchover' }, spec: { policyTypes: ['Ingress', 'Egress'] } });
    expect(policy.spec.podSelector.matchExpressions).toEqual([{ key: 'app.kubernetes.io/name', operator: 'In', values: ['postgres', 'postgres-standby'] }]);

    // The other standby streams from the new primary through its slot, on the new timeline.
    expect(psql(standby0().port, "SELECT active::text FROM pg_replication_slots WHERE slot_name = 'postgres_standby_1'")).toBe('true');
    psql(servicePort, 'INSERT INTO writes VALUES (1000000)');
    await waitFor('a row written on the new primary on the other standby', () => psql(standby1().port, 'SELECT count(*) FROM writes WHERE id = 1000000') === '1', 20_000);
    expect(psql(standby1().port, 'SELECT pg_is_in_recovery()')).toBe('t');
  });

  test('a second run is refused: the Service already names a pod', async () => {
    const result = await switchover();
    expect(result.status).toBe(1);
    expect(result.output).toContain('the Service postgres already selects the pod postgres-standby-0');
  });

  test('the old primary\'s start-up does not bring it back as a second primary: fenced by the newer timeline, and read-only without it', async () => {
    await stop(primary());
    const fenced = exec('bash', [join(scripts, 'primary-init.sh')], primaryInitEnv(`127.0.0.1:${standby0().port} 127.0.0.1:${standby1().port}`));
    expect(fenced.status).toBe(1);
    expect(fenced.output).toMatch(/peer 127\.0\.0\.1:\d+ is on timeline 2, newer than this primary's 1: .*split brain/);

    // With the promoted server unreachable the fence cannot see it: the server starts, but the
    // persisted default_transaction_read_only keeps refusing writes.
    const unfenced = exec('bash', [join(scripts, 'primary-init.sh')], primaryInitEnv(''));
    expect(unfenced.status).toBe(0);
    await start(primary());
    expect(() => psql(primary().port, 'INSERT INTO writes VALUES (-4)')).toThrow(/read-only transaction/);
  });
});

// ---------------------------------------------------------------------------------------------------
// MySQL (MariaDB)
// ---------------------------------------------------------------------------------------------------

const MARIADB_BINARIES = {
  mariadbd: findBinary('mariadbd'),
  'mariadb-install-db': findBinary('mariadb-install-db'),
  mysql: findBinary('mysql'),
  mysqldump: findBinary('mysqldump'),
};
const DB = 'logistics_db';
const SECRETS: Record<string, string> = {
  'mysql-credentials/root-password': 'r"o\\o#t p$w\'d',
  'mysql-credentials/replication-password': 're\'pl "\\x" #1',
  'logistics-secret/db_password': 'app $pw\'s',
};
const ROOT_PASSWORD = SECRETS['mysql-credentials/root-password'];
const APP_PASSWORD = SECRETS['logistics-secret/db_password'];
const runningAsRoot = process.getuid?.() === 0;

/** A SQL string literal. */
const sqlQuote = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
/** A [client] option file's content. */
const clientOptions = (user: string, password: string): string => `[client]\nuser=${user}\npassword="${password.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"\n`;

function podEnvFrom(objects: Obj[], statefulSet: string): Record<string, string> {
  const sts = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === statefulSet);
  const env: Record<string, string> = {};
  for (const e of sts.spec.template.spec.containers[0].env) {
    env[e.name] = e.value ?? SECRETS[`${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`];
  }
  return env;
}

function mysqlObjects(): Obj[] {
  const chart = Testing.chart();
  new MySql(chart, 'mysql', {
    replicas: 2,
    database: DB,
    storage: { size: '10Gi' },
    resources: { requests: { cpu: '100m', memory: '512Mi' }, limits: { cpu: '1', memory: '512Mi' } },
    config: { innodbBufferPoolSize: '128Mi', maxConnections: 80 },
    rootPasswordSecret: { name: 'mysql-credentials', key: 'root-password' },
    replicationPasswordSecret: { name: 'mysql-credentials', key: 'replication-password' },
    appUser: { name: 'logistics', passwordSecret: { name: 'logistics-secret', key: 'db_password' } },
  });
  return Testing.synth(chart);
}

describeWithBinaries('MySQL switchover.sh on real (MariaDB) servers: a primary and two replicas', MARIADB_BINARIES, 'mariadb-server', () => {
  let dir: { path: string; remove: () => void };
  let cluster: FakeCluster;
  let cnf: string;
  let rootCnf: string;
  let appCnf: string;
  let servicePort: number;
  let objects: Obj[];
  interface MyPod { name: string; role: 'primary' | 'replica'; port: number; dir: string; process?: ServerProcess }
  const pods: Record<string, MyPod> = {};
  const primary = () => pods['mysql-primary-0'];
  const replica0 = () => pods['mysql-replica-0'];
  const replica1 = () => pods['mysql-replica-1'];

  function mariadbConfig(serverCnf: string): string {
    const lines = serverCnf.split('\n')
      .filter((line) => !['gtid_mode', 'enforce_gtid_consistency', 'mysqlx'].includes(line.split('=')[0].trim()))
      .map((line) => line.replace(/^log_replica_updates\b/, 'log_slave_updates'));
    return [...lines, 'gtid_strict_mode = ON', ''].join('\n');
  }

  function ownFiles(pod: MyPod): string[] {
    return [`--datadir=${join(pod.dir, 'data')}`, `--tmpdir=${join(pod.dir, 'tmp')}`, `--socket=${join(pod.dir, 'mysqld.sock')}`, `--pid-file=${join(pod.dir, 'mysqld.pid')}`];
  }

  /** The container's environment: the StatefulSet's, Secrets resolved, the source being the write Service. */
  function envOf(pod: MyPod): Record<string, string> {
    const env: Record<string, string> = {
      ...podEnvFrom(objects, pod.role === 'primary' ? 'mysql-primary' : 'mysql-replica'),
      HOSTNAME: pod.name,
      HOME: pod.dir,
      TMPDIR: join(pod.dir, 'tmp'),
      MYSQL_HOST: '127.0.0.1',
      MYSQL_PORT: String(pod.port),
      MYSQL_RUN_DIR: pod.dir,
      MYSQL_STATE_DIR: pod.dir,
      MYSQL_ENTRYPOINT: MARIADB_BINARIES.mariadbd!,
      MYSQL_SETUP_RETRY_SECONDS: '1',
      MYSQL_WAIT_SECONDS: '30',
      MYSQL_REPLICA_START_SECONDS: '20',
    };
    if (pod.role === 'replica') {
      env.MYSQL_SOURCE_HOST = '127.0.0.1';
      env.MYSQL_SOURCE_PORT = String(servicePort);
      env.MYSQL_DATA_DIR = join(pod.dir, 'data');
    }
    return env;
  }

  function sql(pod: MyPod, statement: string): string {
    return run(MARIADB_BINARIES.mysql!, [`--defaults-file=${rootCnf}`, '--protocol=TCP', '-h', '127.0.0.1', '-P', String(pod.port), '-N', '-B', '-e', statement]).trim();
  }

  function appSql(port: number, statement: string): string {
    return run(MARIADB_BINARIES.mysql!, [`--defaults-file=${appCnf}`, '--protocol=TCP', '-h', '127.0.0.1', '-P', String(port), '--connect-timeout=5', '-N', '-B', '-e', statement], { timeoutMs: 20_000 }).trim();
  }

  function replicaStatus(pod: MyPod): Record<string, string> {
    const out = run(MARIADB_BINARIES.mysql!, [`--defaults-file=${rootCnf}`, '--protocol=TCP', '-h', '127.0.0.1', '-P', String(pod.port), '--vertical', '-e', 'SHOW REPLICA STATUS']);
    return Object.fromEntries(out.split('\n').map((l) => /^\s*(\w+): ?(.*)$/.exec(l)).filter((m): m is RegExpExecArray => m !== null).map((m) => [m[1], m[2]]));
  }

  /** Starts a pod's container command (server.sh) and plays the official entrypoint's first initialisation. */
  async function startPod(pod: MyPod): Promise<void> {
    mkdirSync(join(pod.dir, 'data'), { recursive: true });
    mkdirSync(join(pod.dir, 'tmp'), { recursive: true });
    run(MARIADB_BINARIES['mariadb-install-db']!, ['--no-defaults', ...ownFiles(pod), '--auth-root-authentication-method=normal', ...(runningAsRoot ? ['--user=root'] : [])],
      { cwd: pod.dir, env: { TMPDIR: join(pod.dir, 'tmp') } });
    pod.process = new ServerProcess('bash', [join(MYSQL_SCRIPTS, 'server.sh'), `--defaults-file=${cnf}`, ...ownFiles(pod), `--port=${pod.port}`,
      '--bind-address=127.0.0.1', '--innodb-buffer-pool-size=64M', ...(runningAsRoot ? ['--user=root'] : [])], { env: envOf(pod), cwd: pod.dir });
    await waitFor(`${pod.name} to listen`, () => {
      pod.process!.assertRunning(pod.name);
      return existsSync(join(pod.dir, 'mysqld.sock'));
    }, 30_000);
    const statements = [
      'SET SESSION sql_log_bin = 0;',
      "DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host <> 'localhost');",
      'FLUSH PRIVILEGES;',
      `ALTER USER 'root'@'localhost' IDENTIFIED BY ${sqlQuote(ROOT_PASSWORD)};`,
      'DROP DATABASE IF EXISTS test;',
      `CREATE USER 'root'@'%' IDENTIFIED BY ${sqlQuote(ROOT_PASSWORD)};`,
      "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;",
    ].join('\n');
    run(MARIADB_BINARIES.mysql!, ['--no-defaults', '--protocol=SOCKET', `--socket=${join(pod.dir, 'mysqld.sock')}`, '-uroot'], { input: statements });
    await waitFor(`${pod.name}'s set-up`, () => {
      pod.process!.assertRunning(pod.name);
      return existsSync(join(pod.dir, 'setup-complete'));
    }, 60_000);
  }

  const writer = () => new Writer((id) => ({
    command: MARIADB_BINARIES.mysql!,
    args: [`--defaults-file=${appCnf}`, '--protocol=TCP', '-h', '127.0.0.1', '-P', String(servicePort), '--connect-timeout=3', '-e', `INSERT INTO ${DB}.writes (id) VALUES (${id})`],
    env: {},
  }));

  const switchover = (...args: string[]) => runScript(MYSQL_SWITCHOVER,
    ['--namespace', NAMESPACE, '--source-host', '127.0.0.1', '--source-port', String(servicePort), '--timeout', '30', ...args], cluster.env());
  const ids = (pod: MyPod): Set<number> => new Set(sql(pod, `SELECT id FROM ${DB}.writes`).split('\n').filter((l) => l).map(Number));

  async function replicatesFrom(pod: MyPod, source: MyPod, id: number): Promise<void> {
    appSql(servicePort, `INSERT INTO ${DB}.writes (id) VALUES (${id})`);
    await waitFor(`row ${id} on ${pod.name}`, () => sql(pod, `SELECT COUNT(*) FROM ${DB}.writes WHERE id = ${id}`) === '1', 20_000);
    expect(replicaStatus(pod)).toMatchObject({ Master_Host: '127.0.0.1', Master_Port: String(servicePort), Slave_IO_Running: 'Yes', Slave_SQL_Running: 'Yes', Using_Gtid: 'Slave_Pos', Master_Server_Id: sql(source, 'SELECT @@server_id') });
  }

  beforeAll(async () => {
    dir = tempDir('mysql-switchover');
    objects = mysqlObjects();
    cnf = join(dir.path, 'server.cnf');
    writeFileSync(cnf, mariadbConfig(objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'mysql-config').data['server.cnf']));
    rootCnf = join(dir.path, 'root.cnf');
    writeFileSync(rootCnf, clientOptions('root', ROOT_PASSWORD), { mode: 0o600 });
    appCnf = join(dir.path, 'app.cnf');
    writeFileSync(appCnf, clientOptions('logistics', APP_PASSWORD), { mode: 0o600 });
    cluster = new FakeCluster(join(dir.path, 'fake'));
    for (const [name, role] of [['mysql-primary-0', 'primary'], ['mysql-replica-0', 'replica'], ['mysql-replica-1', 'replica']] as const) {
      pods[name] = { name, role, port: await freePort(), dir: join(dir.path, name) };
      mkdirSync(pods[name].dir);
    }
    cluster.addStatefulSet('mysql-primary', 1);
    cluster.addStatefulSet('mysql-replica', 2);
    for (const pod of Object.values(pods)) cluster.addPod(pod.name, 'mysql', pod.port, {});
    cluster.addService('mysql-primary', 'mysql-primary', 'mysql-primary-0');
    servicePort = await cluster.proxy('mysql-primary');
    // `kubectl exec -c mysql` has the container's environment.
    for (const pod of Object.values(pods)) cluster.addPod(pod.name, 'mysql', pod.port, envOf(pod));

    await startPod(primary());
    sql(primary(), `CREATE TABLE ${DB}.writes (id INT PRIMARY KEY, at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))`);
    await Promise.all([startPod(replica0()), startPod(replica1())]);
    // replica-0 applies 2 s late: a switchover must wait for it.
    sql(replica0(), 'STOP REPLICA; CHANGE MASTER TO MASTER_DELAY = 2; START REPLICA');
  }, 180_000);

  afterAll(async () => {
    for (const pod of Object.values(pods)) await pod.process?.stop(30_000);
    await cluster?.close();
    dir?.remove();
  });

  test('--dry-run checks, prints every command, and changes nothing', async () => {
    const result = await switchover('--dry-run');
    expect(result).toMatchObject({ status: 0 });
    expect(result.output).toMatch(/checks passed \(10\.11\.[^)]*MariaDB[^)]*\): mysql-primary-0 \(server id 1\) is the primary, mysql-replica-0 replicates from it/);
    expect(result.output).toMatch(/would run: kubectl --namespace shop-prod exec -i mysql-primary-0 -c mysql -- bash -c .*\n {4}SET GLOBAL read_only = ON;/);
    expect(result.output).toMatch(/would wait: SELECT MASTER_GTID_WAIT\('0-1-\d+', 30\);/);
    expect(result.output).toMatch(/exec -i mysql-replica-0 -c mysql -- .*\n {4}STOP REPLICA;\n {4}RESET REPLICA ALL;\n {4}SET GLOBAL read_only = OFF;/);
    expect(result.output).toMatch(/would run: kubectl --namespace shop-prod patch service mysql-primary --type merge -p '\{"spec":\{"selector":\{"app.kubernetes.io\/name":"mysql-replica","statefulset.kubernetes.io\/pod-name":"mysql-replica-0"\},"publishNotReadyAddresses":true\}\}'\n/);
    expect(result.output).toMatch(/exec -i mysql-primary-0 -c mysql -- .*\n {4}SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos;/);
    // Only reads reached the cluster.
    const writes = cluster.calls().filter((c) => !/^--namespace shop-prod (get |exec (-i )?\S+ -c mysql -- bash -c)/.test(c));
    expect(writes).toEqual([]);
    expect(cluster.applied()).toEqual([]);
    expect(sql(primary(), 'SELECT @@read_only')).toBe('0');
    expect(replicaStatus(replica0())).toMatchObject({ Slave_IO_Running: 'Yes', Slave_SQL_Running: 'Yes' });
    expect(cluster.service('mysql-primary').spec.selector['statefulset.kubernetes.io/pod-name']).toBeUndefined();
  });

  test('under continuous writes: no committed row lost, mysql-primary follows, the others replicate from the new primary, the old one is read-only', async () => {
    const rows = writer();
    rows.start();
    await rows.waitForCommits(30);
    const result = await switchover();
    await rows.waitForCommits(20);
    await rows.stop();
    const onNewPrimary = ids(replica0());
    expect(rows.committed.filter((id) => !onNewPrimary.has(id))).toEqual([]);
    expect(result).toMatchObject({ status: 0 });
    expect(result.output).toContain('mysql-replica-0 has executed every transaction mysql-primary-0 committed');
    expect(sql(replica0(), 'SELECT @@read_only')).toBe('0');
    expect(appSql(servicePort, 'SELECT @@server_id')).toBe('100');

    // The old primary refuses the application's writes.
    expect(sql(primary(), 'SELECT @@read_only')).toBe('1');
    expect(() => appSql(primary().port, `INSERT INTO ${DB}.writes (id) VALUES (-1)`)).toThrow(/ERROR 1290 .*read-only/);

    expect(cluster.calls().filter((c) => / patch /.test(c))).toHaveLength(1);
    expect(cluster.service('mysql-primary').spec).toEqual({
      selector: { 'app.kubernetes.io/name': 'mysql-replica', 'app.kubernetes.io/instance': NAMESPACE, 'statefulset.kubernetes.io/pod-name': 'mysql-replica-0' },
      publishNotReadyAddresses: true,
    });
    const [policy] = cluster.applied();
    expect(policy).toMatchObject({ kind: 'NetworkPolicy', metadata: { name: 'mysql-switchover' } });
    expect(policy.spec.ingress[0].from[0].podSelector.matchExpressions[0].values).toEqual(['mysql-primary', 'mysql-replica']);

    // The other replica and the old primary replicate from the new primary.
    await replicatesFrom(replica1(), replica0(), 2000001);
    await replicatesFrom(primary(), replica0(), 2000002);
    expect(replicaStatus(replica0())).toEqual({});

    // The replica's start-up accepts where it replicates from: nothing is re-pointed.
    const setup = run('bash', [join(MYSQL_SCRIPTS, 'replication.sh')], { env: envOf(replica1()), cwd: replica1().dir });
    expect(setup).not.toMatch(/re-pointing|copying|dropping/);
  });

  test('switching back to mysql-primary-0 under writes: no row lost, the declared Service again, every replica read-only and replicating from it', async () => {
    const rows = writer();
    rows.start();
    await rows.waitForCommits(30);
    const result = await switchover();
    await rows.waitForCommits(20);
    await rows.stop();
    expect(result).toMatchObject({ status: 0 });
    expect(result.output).toContain('mysql-primary-0 has executed every transaction mysql-replica-0 committed');

    const onPrimary = ids(primary());
    expect(rows.committed.filter((id) => !onPrimary.has(id))).toEqual([]);
    expect(sql(primary(), 'SELECT @@read_only')).toBe('0');
    expect(cluster.service('mysql-primary').spec).toEqual({ selector: { 'app.kubernetes.io/name': 'mysql-primary', 'app.kubernetes.io/instance': NAMESPACE } });
    expect(cluster.deleted()).toEqual(['networkpolicy mysql-switchover --ignore-not-found']);
    expect(sql(replica0(), 'SELECT @@read_only')).toBe('1');
    await replicatesFrom(replica0(), primary(), 2000003);
    await replicatesFrom(replica1(), primary(), 2000004);
    expect(replicaStatus(primary())).toEqual({});
  });
});

/**
 * The MySQL 8.0 statements (the mysql_* functions) sent to recording stand-ins of the MySQL
 * client, which answer as an 8.0.39 primary (server id 1) and replicas (100, 101) would. What is
 * proven is what the script sends, not what a MySQL server does with it.
 */
describe('MySQL switchover.sh: MySQL 8.0 statements, sent to recording stand-ins of its client', () => {
  const MYSQL_STUB = `#!/bin/bash
# Stand-in for the MySQL 8.0 client: records the statements per port and answers.
set -u
state=$STUB_STATE
args=("$@") port= statements=
for ((i = 0; i < \${#args[@]}; i++)); do
  case \${args[i]} in
    --port=*) port=\${args[i]#--port=} ;;
    -e) statements=\${args[i + 1]} ;;
  esac
done
if [[ -z $statements ]]; then statements=$(cat); fi
printf -- '--- %s\\n%s\\n' "$port" "$statements" >>"$state/calls"
id=$(cat "$state/id-$port")
case $statements in
  *'START REPLICA'*) cp "$state/primary" "$state/source-$port" ;;
  *'RESET REPLICA ALL'*) rm -f "$state/source-$port"; echo "$id" >"$state/primary" ;;
esac
case $statements in
  'SELECT VERSION()') echo 8.0.39 ;;
  'SELECT @@GLOBAL.read_only, @@GLOBAL.server_id') printf '%s\\t%s\\n' "$([[ $id == 1 ]] && echo 0 || echo 1)" "$id" ;;
  'SELECT @@GLOBAL.read_only') echo 1 ;;
  'SELECT @@GLOBAL.server_id') echo "$id" ;;
  'SELECT @@GLOBAL.gtid_executed;') printf '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-77,\\nb2a8c2d0-71ca-11e1-9e33-c80aa9429562:1-5\\n' ;;
  'SELECT WAIT_FOR_EXECUTED_GTID_SET'*) echo 0 ;;
  *processlist*) printf '41\\n42\\n' ;;
  *'SHOW REPLICA STATUS'*)
    printf 'Global_read_only: 1\\n'
    if [[ -e $state/source-$port ]]; then
      printf '     Source_Host: mysql-primary\\n  Source_Server_Id: %s\\nReplica_IO_Running: Yes\\nReplica_SQL_Running: Yes\\n' "$(cat "$state/source-$port")"
    fi ;;
esac
`;
  let dir: { path: string; remove: () => void };

  beforeAll(() => {
    dir = tempDir('mysql-switchover-stubs');
  });

  afterAll(() => dir?.remove());

  test('super_read_only persisted on the old primary, WAIT_FOR_EXECUTED_GTID_SET on the replica, CHANGE REPLICATION SOURCE with auto-positioning on the others', async () => {
    const cluster = new FakeCluster(join(dir.path, 'fake'));
    const state = join(dir.path, 'stub');
    const bin = join(dir.path, 'stub-bin');
    mkdirSync(state);
    mkdirSync(bin);
    writeFileSync(join(bin, 'mysql'), MYSQL_STUB);
    chmodSync(join(bin, 'mysql'), 0o755);
    const objects = mysqlObjects();
    const members: [string, string, number][] = [['mysql-primary-0', 'mysql-primary', 1], ['mysql-replica-0', 'mysql-replica', 100], ['mysql-replica-1', 'mysql-replica', 101]];
    members.forEach(([pod, statefulSet, id], i) => {
      const port = 3306 + i;
      writeFileSync(join(state, `id-${port}`), String(id));
      if (id !== 1) writeFileSync(join(state, `source-${port}`), '1');
      cluster.addPod(pod, 'mysql', port, { ...podEnvFrom(objects, statefulSet), MYSQL_PORT: String(port), PATH: `${bin}:${process.env.PATH}`, STUB_STATE: state });
    });
    writeFileSync(join(state, 'primary'), '1');
    cluster.addStatefulSet('mysql-replica', 2);
    cluster.addService('mysql-primary', 'mysql-primary', 'mysql-primary-0');

    const result = await runScript(MYSQL_SWITCHOVER, ['--namespace', NAMESPACE], cluster.env());
    expect(result).toMatchObject({ status: 0 });
    const calls = readFileSync(join(state, 'calls'), 'utf8').split(/^--- /m).filter((c) => c !== '');
    const on = (port: number, pattern: RegExp) => calls.findIndex((c) => c.startsWith(`${port}\n`) && pattern.test(c));

    const fence = on(3306, /^SET PERSIST super_read_only = ON;$/m);
    const wait = on(3307, /^SELECT WAIT_FOR_EXECUTED_GTID_SET\('3e11fa47-71ca-11e1-9e33-c80aa9429562:1-77,b2a8c2d0-71ca-11e1-9e33-c80aa9429562:1-5', 120\);$/m);
    const promote = on(3307, /^STOP REPLICA;\nRESET REPLICA ALL;\nSET GLOBAL super_read_only = OFF;\nSET GLOBAL read_only = OFF;$/m);
    expect(fence).toBeGreaterThan(-1);
    expect(on(3306, /^KILL CONNECTION 41;\nKILL CONNECTION 42;$/m)).toBeGreaterThan(fence);
    expect(wait).toBeGreaterThan(fence);
    expect(promote).toBeGreaterThan(wait);
    // The new primary is writable for this start only: its persisted super_read_only (a replica's) stays.
    expect(calls.join('\n')).not.toMatch(/RESET PERSIST|PERSIST super_read_only = OFF|gtid_slave_pos/);
    for (const port of [3306, 3308]) {
      const change = on(port, /^CHANGE REPLICATION SOURCE TO /m);
      expect(change).toBeGreaterThan(promote);
      expect(calls[change]).toContain(`SOURCE_HOST='mysql-primary', SOURCE_PORT=3306, SOURCE_USER='replicator', SOURCE_PASSWORD=${sqlQuote(SECRETS['mysql-credentials/replication-password'])}, SOURCE_AUTO_POSITION=1, SOURCE_SSL=1, SOURCE_CONNECT_RETRY=10;`);
      expect(on(port, /^START REPLICA;$/m)).toBeGreaterThan(change);
    }
    expect(result.output).toMatch(/mysql-replica-1 replicates from mysql-replica-0/);
    expect(result.output).toMatch(/mysql-primary-0 replicates from mysql-replica-0/);
    // The replication password reached the client through the pod's environment, never kubectl's arguments.
    expect(cluster.calls().join('\n')).not.toContain('re\'pl');
    await cluster.close();
  });
});

// ---------------------------------------------------------------------------------------------------
// Redis cache rebuild
// ---------------------------------------------------------------------------------------------------

const REDIS_PASSWORD = 'cache "pw" \\ 1';

describeWithBinaries('Redis cache rebuild: cluster members emptied, cluster-bootstrap.sh re-forms the cluster', {
  'redis-server': findBinary('redis-server'),
  'redis-cli': findBinary('redis-cli'),
}, 'redis-server', () => {
  let dir: { path: string; remove: () => void };
  interface Member { port: number; bus: number; dir: string; process?: ServerProcess }
  const members: Member[] = [];

  const cli = (member: Member, ...args: string[]): string =>
    run('redis-cli', ['-h', '127.0.0.1', '-p', String(member.port), ...args], { env: { REDISCLI_AUTH: REDIS_PASSWORD }, timeoutMs: 10_000 }).replace(/\r/g, '').trim();
  const info = (member: Member, name: string): string | undefined => new RegExp(`^${name}:(.*)$`, 'm').exec(cli(member, 'cluster', 'info'))?.[1];

  function bootstrap(): ScriptRun {
    const result = spawnSync('bash', [join(ROOT, 'lib', 'data', 'redis', 'cluster-bootstrap.sh')], {
      env: { ...process.env, REDISCLI_AUTH: REDIS_PASSWORD, REDIS_CLUSTER_NODES: members.map((m) => `127.0.0.1:${m.port}`).join(' '), REDIS_CLUSTER_REPLICAS: '1', REDIS_CLUSTER_TIMEOUT_SECONDS: '60', REDIS_CLUSTER_MEMBER_WAIT_SECONDS: '20' },
      encoding: 'utf8',
      timeout: 120_000,
    });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  const clusterOk = () => waitFor('every member to see cluster_state ok and 16384 slots', () => members.every((m) => info(m, 'cluster_state') === 'ok' && info(m, 'cluster_slots_assigned') === '16384'), 60_000);
  const write = (count: number, prefix: string) => run('redis-cli', ['-c', '-h', '127.0.0.1', '-p', String(members[0].port)], {
    env: { REDISCLI_AUTH: REDIS_PASSWORD }, input: Array.from({ length: count }, (_, i) => `SET ${prefix}:${i} v${i}`).join('\n') + '\n',
  });
  const keys = () => members.reduce((sum, m) => sum + (cli(m, 'role').startsWith('master') ? Number(cli(m, 'dbsize')) : 0), 0);

  beforeAll(async () => {
    dir = tempDir('redis-rebuild');
    const chart = Testing.chart();
    new RedisCluster(chart, 'redis', { storage: { size: '1Gi' }, passwordSecret: { name: 'redis-secret', key: 'password' }, replicasPerMaster: 1 });
    const conf = Testing.synth(chart).find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'redis-config').data['redis.conf'];
    const ports = new Set<number>();
    while (ports.size < 12) ports.add(await freePort());
    const list = [...ports];
    for (let i = 0; i < 6; i++) {
      const member: Member = { port: list[2 * i], bus: list[2 * i + 1], dir: join(dir.path, `redis-${i}`) };
      for (const d of ['data', 'run']) mkdirSync(join(member.dir, d), { recursive: true });
      writeFileSync(join(member.dir, 'redis.conf'), conf);
      member.process = new ServerProcess('bash', [join(ROOT, 'lib', 'data', 'redis', 'redis-start.sh')], {
        cwd: member.dir,
        env: {
          REDIS_PASSWORD, REDIS_BASE_CONFIG: join(member.dir, 'redis.conf'), REDIS_RUNTIME_CONFIG: join(member.dir, 'run', 'redis.conf'), REDIS_BIND: '127.0.0.1',
          REDIS_PORT: String(member.port), REDIS_DATA_DIR: join(member.dir, 'data'), REDIS_CLUSTER_PORT: String(member.bus), REDIS_ANNOUNCE_IP: '127.0.0.1',
          REDIS_ANNOUNCE_HOSTNAME: 'localhost', REDIS_PEER_DNS_WAIT_SECONDS: '2',
        },
      });
      members.push(member);
    }
    for (const member of members) {
      await waitFor(`redis on ${member.port}`, () => {
        member.process!.assertRunning(`redis on ${member.port}`);
        return cli(member, 'ping') === 'PONG';
      }, 20_000);
    }
    const formed = bootstrap();
    if (formed.status !== 0) throw new Error(formed.output);
    await clusterOk();
    write(500, 'stale');
  }, 180_000);

  afterAll(async () => {
    for (const member of members) await member.process?.stop();
    dir?.remove();
  });

  test('the runbook\'s emptying (FLUSHALL on the masters, CLUSTER RESET HARD on every member) leaves every member empty and alone', async () => {
    expect(keys()).toBe(500);
    // The runbook's commands, member by member (there: kubectl exec redis-N -c redis -- ...).
    const masters = members.filter((m) => cli(m, 'role').startsWith('master'));
    for (const master of masters) expect(cli(master, 'flushall')).toBe('OK');
    for (const member of members) expect(cli(member, 'cluster', 'reset', 'hard')).toBe('OK');
    for (const member of members) {
      expect([info(member, 'cluster_known_nodes'), info(member, 'cluster_slots_assigned'), cli(member, 'dbsize')]).toEqual(['1', '0', '0']);
    }
  });

  test('cluster-bootstrap.sh re-forms the cluster from the empty members: 16384 slots, three masters with a replica each, keys written again', async () => {
    const rebuilt = bootstrap();
    expect(rebuilt).toMatchObject({ status: 0, output: expect.stringContaining('cluster created: 3 masters, 1 replicas each, 16384 slots') });
    await clusterOk();
    const roles = members.map((m) => cli(m, 'role').split('\n')[0]);
    expect(roles.filter((r) => r === 'master')).toHaveLength(3);
    expect(roles.filter((r) => r === 'slave')).toHaveLength(3);
    expect(keys()).toBe(0);
    // The cache fills again from the application's reads through to the database.
    write(300, 'fresh');
    expect(keys()).toBe(300);
    // A second run changes nothing.
    expect(bootstrap()).toMatchObject({ status: 0, output: expect.stringContaining('0 member(s) added') });
  });
});
