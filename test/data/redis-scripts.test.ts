/**
 * The Redis scripts against real redis-server processes: redis-start.sh renders the configuration
 * the constructs ship (the ConfigMap's redis.conf, read from a synthesized chart) and starts the
 * server; cluster-bootstrap.sh forms, re-checks and repairs a cluster; redis-probe.sh judges health.
 * Everything listens on 127.0.0.1 on free ports, in temporary directories.
 */
import { Testing } from 'cdk8s';
import { spawn, spawnSync } from 'child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';
import { Redis } from '../../lib/data/redis/redis';
import { RedisCluster } from '../../lib/data/redis/redis-cluster';
import { describeWithBinaries, findBinary, freePort, run, ServerProcess, tempDir, waitFor } from '../support/real-servers';

const SCRIPTS = join(__dirname, '..', '..', 'lib', 'data', 'redis');
const START = join(SCRIPTS, 'redis-start.sh');
const BOOTSTRAP = join(SCRIPTS, 'cluster-bootstrap.sh');
const PROBE = join(SCRIPTS, 'redis-probe.sh');
// Quote, backslash, space and a newline: the rendered configuration must carry them intact.
const PASSWORD = 'p@ss "wo\\rd"\n2';

/** The base redis.conf the construct puts in its ConfigMap. */
function renderedConf(cluster: boolean): string {
  const chart = Testing.chart();
  const props = { storage: { size: '1Gi' }, passwordSecret: { name: 'redis-secret', key: 'password' } };
  if (cluster) new RedisCluster(chart, 'redis', { ...props, replicasPerMaster: 0 });
  else new Redis(chart, 'redis', props);
  const configMap = Testing.synth(chart).find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'redis-config');
  return configMap.data['redis.conf'];
}

const usedPorts = new Set<number>();
async function uniquePort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (!usedPorts.has(port)) {
      usedPorts.add(port);
      return port;
    }
  }
}

/** A redis-cli command on one server, with the password from REDISCLI_AUTH (`null`: none). */
function cli(port: number, args: string[], password: string | null = PASSWORD): string {
  const env: NodeJS.ProcessEnv = password === null ? {} : { REDISCLI_AUTH: password };
  return run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { env, timeoutMs: 10_000 }).replace(/\r/g, '').trim();
}

function field(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1];
}

/** Runs a script; returns its exit code and everything it printed. */
function script(path: string, env: NodeJS.ProcessEnv, args: string[] = []): ScriptResult {
  const result = spawnSync('bash', [path, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** One redis-server started the way the container starts it: through redis-start.sh. */
class Node {
  public process?: ServerProcess;
  public startLog = '';

  constructor(public readonly port: number, public readonly busPort: number, public readonly dir: string, private readonly extraEnv: NodeJS.ProcessEnv = {}) {
    mkdirSync(join(dir, 'data'), { recursive: true });
    mkdirSync(join(dir, 'run'), { recursive: true });
  }

  public static async create(root: string, name: string, conf: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Node> {
    const dir = join(root, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'redis.conf'), conf);
    return new Node(await uniquePort(), await uniquePort(), dir, extraEnv);
  }

  public get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  public get dataDir(): string {
    return join(this.dir, 'data');
  }

  public async start(): Promise<void> {
    this.process = new ServerProcess('bash', [START], {
      env: {
        REDIS_PASSWORD: PASSWORD,
        REDIS_BASE_CONFIG: join(this.dir, 'redis.conf'),
        REDIS_RUNTIME_CONFIG: join(this.dir, 'run', 'redis.conf'),
        REDIS_BIND: '127.0.0.1',
        REDIS_PORT: String(this.port),
        REDIS_DATA_DIR: this.dataDir,
        REDIS_CLUSTER_PORT: String(this.busPort),
        REDIS_ANNOUNCE_IP: '127.0.0.1',
        REDIS_ANNOUNCE_HOSTNAME: 'localhost',
        REDIS_PEER_DNS_WAIT_SECONDS: '2',
        ...this.extraEnv,
      },
    });
    const process = this.process;
    await waitFor(`redis on ${this.port}`, () => {
      if (process.exited) throw new Error(`redis on ${this.port} exited:\n${process.log}`);
      return cli(this.port, ['ping']) === 'PONG';
    }, 15_000, 100).catch((e) => {
      throw new Error(`${e.message}\n${process.log}`);
    });
    this.startLog = process.log;
  }

  public async stop(): Promise<void> {
    await this.process?.stop();
  }

  public clusterInfo(): string {
    return cli(this.port, ['cluster', 'info']);
  }

  /** `<node id> <slot ranges>` of every master, sorted: the cluster's slot map as this node sees it. */
  public slotMap(): string[] {
    return cli(this.port, ['cluster', 'nodes']).split('\n')
      .map((line) => line.split(' '))
      .filter((f) => f[2].includes('master'))
      .map((f) => `${f[0]} ${f.slice(8).join(' ')}`)
      .sort();
  }
}

interface ScriptResult {
  readonly status: number | null;
  readonly output: string;
}

/**
 * Runs cluster-bootstrap.sh with the environment the Job gives it, the members' addresses
 * pointing at the local servers. Asynchronous, so that the scenarios' first runs overlap (the
 * script mostly waits for gossip).
 */
function bootstrap(nodes: Node[], replicas: number): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [BOOTSTRAP], {
      env: {
        ...process.env,
        REDISCLI_AUTH: PASSWORD,
        REDIS_CLUSTER_NODES: nodes.map((n) => n.address).join(' '),
        REDIS_CLUSTER_REPLICAS: String(replicas),
        REDIS_CLUSTER_TIMEOUT_SECONDS: '20',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => { output += d.toString(); });
    child.stderr.on('data', (d) => { output += d.toString(); });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output }));
  });
}

async function waitForClusterOk(nodes: Node[]): Promise<void> {
  for (const node of nodes) {
    await waitFor(`cluster_state:ok on ${node.port}`, () => {
      const info = node.clusterInfo();
      return field(info, 'cluster_state') === 'ok' && field(info, 'cluster_slots_assigned') === '16384';
    }, 20_000, 200);
  }
}

describeWithBinaries('redis scripts against real servers', {
  'redis-server': findBinary('redis-server'),
  'redis-cli': findBinary('redis-cli'),
}, 'redis-server', () => {
  const root = tempDir('redis-scripts');
  const nodes: Node[] = [];
  const clusterConf = renderedConf(true);
  const standaloneConf = renderedConf(false);

  async function startNodes(prefix: string, count: number, conf: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Node[]> {
    const created = await Promise.all(Array.from({ length: count }, (_, i) => Node.create(root.path, `${prefix}-${i}`, conf, extraEnv)));
    nodes.push(...created);
    await Promise.all(created.map((n) => n.start()));
    return created;
  }

  // The scenarios' first steps run concurrently: each is mostly waiting for gossip.
  let cluster3: Node[];
  let cluster6: Node[];
  let interrupted: Node[];
  let firstRun3: ScriptResult;
  let firstRun6: ScriptResult;
  let refused: ScriptResult;
  let recovered: ScriptResult;

  /** A create that stopped half-way, twice: once after assigning some slots, once after the members met. */
  async function interruptedScenario(members: Node[]): Promise<[ScriptResult, ScriptResult]> {
    cli(members[0].port, ['cluster', 'addslotsrange', '0', '100']);
    const partlyAssigned = await bootstrap(members, 0);
    cli(members[0].port, ['cluster', 'reset', 'hard']);
    for (const other of members.slice(1)) cli(members[0].port, ['cluster', 'meet', '127.0.0.1', String(other.port), String(other.busPort)]);
    await waitFor('the members to know each other', () => field(members[2].clusterInfo(), 'cluster_known_nodes') === '3', 10_000);
    expect(members.map((m) => field(m.clusterInfo(), 'cluster_slots_assigned'))).toEqual(['0', '0', '0']);
    const met = await bootstrap(members, 0);
    return [partlyAssigned, met];
  }

  beforeAll(async () => {
    [cluster3, cluster6, interrupted] = await Promise.all([
      startNodes('cluster3', 3, clusterConf),
      startNodes('cluster6', 6, clusterConf),
      startNodes('interrupted', 3, clusterConf),
    ]);
    [firstRun3, firstRun6, [refused, recovered]] = await Promise.all([
      bootstrap(cluster3, 0),
      bootstrap(cluster6, 1),
      interruptedScenario(interrupted),
    ]);
  });

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    root.remove();
  });

  describe('a cluster of three masters', () => {
    let members: Node[];
    let idsBefore: string[];
    let slotsBefore: string[];

    beforeAll(() => {
      members = cluster3;
    });

    test('the start script renders the password only into the memory-backed runtime file, never on the command line', () => {
      const runtime = readFileSync(join(members[0].dir, 'run', 'redis.conf'), 'utf8');
      expect(runtime).toContain(`include "${join(members[0].dir, 'redis.conf')}"`);
      expect(runtime).toContain('requirepass "p@ss \\"wo\\\\rd\\"\\n2"');
      expect(runtime).toContain('masterauth "p@ss \\"wo\\\\rd\\"\\n2"');
      expect(runtime).toContain(`cluster-port ${members[0].busPort}`);
      expect(runtime).toContain('cluster-announce-hostname localhost');
      const pid = cli(members[0].port, ['info', 'server']).match(/^process_id:(\d+)$/m)?.[1];
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      expect(cmdline).not.toContain('p@ss');
      expect(cli(members[0].port, ['config', 'get', 'appendonly'])).toBe('appendonly\nyes');
      expect(cli(members[0].port, ['config', 'get', 'maxmemory-policy'])).toBe('maxmemory-policy\nvolatile-lru');
    });

    test('the bootstrap forms the cluster: state ok, 16384 slots, three masters', () => {
      expect(firstRun3.output).toContain('creating the cluster: 3 masters, 0 replicas each');
      expect(firstRun3.status).toBe(0);
      for (const member of members) {
        const info = member.clusterInfo();
        expect(field(info, 'cluster_state')).toBe('ok');
        expect(field(info, 'cluster_slots_assigned')).toBe('16384');
        expect(field(info, 'cluster_known_nodes')).toBe('3');
        expect(field(info, 'cluster_size')).toBe('3');
      }
    });

    test('keys written through redis-cli -c land on all three masters', () => {
      const commands = Array.from({ length: 300 }, (_, i) => `SET key:${i} value-${i}`).join('\n');
      run('redis-cli', ['-c', '-h', '127.0.0.1', '-p', String(members[0].port)], { env: { REDISCLI_AUTH: PASSWORD }, input: `${commands}\n` });
      const counts = members.map((m) => Number(cli(m.port, ['dbsize'])));
      for (const count of counts) expect(count).toBeGreaterThan(50);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(300);
      // Each key is on the master that owns its slot.
      const slot = Number(cli(members[1].port, ['cluster', 'keyslot', 'key:7']));
      const owners = members.filter((m) => cli(m.port, ['cluster', 'countkeysinslot', String(slot)]) === '1');
      expect(owners).toHaveLength(1);
      expect(run('redis-cli', ['-c', '-h', '127.0.0.1', '-p', String(members[2].port), 'GET', 'key:7'], { env: { REDISCLI_AUTH: PASSWORD } }).trim()).toBe('value-7');
    });

    test('a second run changes nothing: same node ids, same slot map, exit 0', async () => {
      idsBefore = members.map((m) => cli(m.port, ['cluster', 'myid']));
      slotsBefore = members[0].slotMap();
      const again = await bootstrap(members, 0);
      expect(again.status).toBe(0);
      expect(again.output).not.toContain('creating the cluster');
      expect(again.output).toContain('0 member(s) added');
      expect(members.map((m) => cli(m.port, ['cluster', 'myid']))).toEqual(idsBefore);
      expect(members[0].slotMap()).toEqual(slotsBefore);
    });

    test('the server refuses clients without the password', () => {
      expect(cli(members[0].port, ['get', 'key:1'], null)).toMatch(/NOAUTH/);
    });

    test('the probes pass with the password and fail without it', () => {
      const env = { REDISCLI_AUTH: PASSWORD, REDIS_PORT: String(members[1].port) };
      expect(script(PROBE, env, ['liveness']).status).toBe(0);
      expect(script(PROBE, env, ['readiness']).status).toBe(0);
      const wrong = script(PROBE, { ...env, REDISCLI_AUTH: 'wrong' }, ['readiness']);
      expect(wrong.status).toBe(1);
      expect(wrong.output).toMatch(/PING answered: .*(NOAUTH|WRONGPASS)/);
    });

    test('after all members come back with other addresses in nodes.conf, the start script repairs them and the cluster is whole', async () => {
      await Promise.all(members.map((m) => m.stop()));
      // As after a full outage in Kubernetes: every recorded address is stale (nothing listens on 127.0.0.9).
      for (const member of members) {
        const path = join(member.dataDir, 'nodes.conf');
        writeFileSync(path, readFileSync(path, 'utf8').replace(/127\.0\.0\.1:/g, '127.0.0.9:'));
      }
      // One peer's name does not resolve for the first member (its pod is not scheduled yet): that
      // address stays stale, and the peer, which does find the first member, brings it up to date.
      const firstConf = join(members[0].dataDir, 'nodes.conf');
      const secondId = idsBefore[1];
      writeFileSync(firstConf, readFileSync(firstConf, 'utf8').split('\n')
        .map((line) => (line.startsWith(secondId) ? line.replace(',localhost', ',not-scheduled-yet.invalid') : line)).join('\n'));
      await Promise.all(members.map((m) => m.start()));
      for (const member of members) expect(member.startLog).toMatch(/nodes\.conf: \w+ \(localhost\) 127\.0\.0\.9 -> 127\.0\.0\.1/);
      expect(members[0].startLog).toContain('peers not resolvable yet, their addresses stay as recorded (gossip updates them when they start): not-scheduled-yet.invalid');
      expect(members[0].startLog).not.toContain(`nodes.conf: ${secondId}`);
      await waitForClusterOk(members);
      await waitFor('the first member to learn the second one\'s address', () =>
        cli(members[0].port, ['cluster', 'nodes']).includes(`${secondId} 127.0.0.1:${members[1].port}@`), 10_000);
      expect(members.map((m) => cli(m.port, ['cluster', 'myid']))).toEqual(idsBefore);
      expect(members[0].slotMap()).toEqual(slotsBefore);
      // The data came back from the AOF.
      expect(members.map((m) => Number(cli(m.port, ['dbsize']))).reduce((a, b) => a + b, 0)).toBe(300);
      const readiness = script(PROBE, { REDISCLI_AUTH: PASSWORD, REDIS_PORT: String(members[0].port) }, ['readiness']);
      expect(readiness.status).toBe(0);
    });
  });

  describe('a cluster of three masters with one replica each', () => {
    let members: Node[];

    beforeAll(() => {
      members = cluster6;
    });

    test('the bootstrap pairs every master with a replica', () => {
      expect(firstRun6.status).toBe(0);
      expect(firstRun6.output).toContain('creating the cluster: 3 masters, 1 replicas each');
      const lines = cli(members[0].port, ['cluster', 'nodes']).split('\n').map((l) => l.split(' '));
      const masters = lines.filter((f) => f[2].includes('master'));
      const replicas = lines.filter((f) => f[2].includes('slave'));
      expect(masters).toHaveLength(3);
      expect(replicas).toHaveLength(3);
      expect(new Set(replicas.map((f) => f[3]))).toEqual(new Set(masters.map((f) => f[0])));
    });

    test('a replica that lost its volume comes back empty and the bootstrap adds it again as a replica', async () => {
      const replica = members.find((m) => /role:slave/.test(cli(m.port, ['info', 'replication'])))!;
      const oldId = cli(replica.port, ['cluster', 'myid']);
      await replica.stop();
      rmSync(replica.dataDir, { recursive: true, force: true });
      mkdirSync(replica.dataDir);
      await replica.start();
      expect(field(replica.clusterInfo(), 'cluster_known_nodes')).toBe('1');

      const result = await bootstrap(members, 1);
      expect(result.output).toContain(`${replica.address} is empty and alone`);
      expect(result.output).toContain('1 member(s) added');
      expect(result.output).toContain(`forgetting node ${oldId}`);
      expect(result.status).toBe(0);
      await waitForClusterOk(members);
      // The old identity is gone everywhere: three masters and three replicas, all of them members.
      for (const member of members) {
        const lines = cli(member.port, ['cluster', 'nodes']).split('\n');
        expect(lines).toHaveLength(6);
        expect(lines.join('\n')).not.toContain(oldId);
      }
      expect(cli(replica.port, ['cluster', 'myid'])).not.toBe(oldId);
      expect(cli(replica.port, ['info', 'replication'])).toMatch(/role:slave/);
      await waitFor('the new replica to sync', () => field(cli(replica.port, ['info', 'replication']), 'master_link_status') === 'up', 15_000);
      expect(script(PROBE, { REDISCLI_AUTH: PASSWORD, REDIS_PORT: String(replica.port) }, ['readiness']).status).toBe(0);
    });
  });

  describe('a cluster whose formation was interrupted', () => {
    test('slots assigned to only part of the cluster: the bootstrap refuses and says how to inspect it', () => {
      expect(refused.status).toBe(1);
      expect(refused.output).toContain(`${interrupted[0].address} has 101 assigned`);
      expect(refused.output).toContain(`redis-cli --cluster check ${interrupted[0].address}`);
      expect(refused.output).not.toContain('creating the cluster');
    });

    test('members that met but own no slot: the bootstrap resets them and creates the cluster', async () => {
      expect(recovered.output).toContain('an interrupted create');
      expect(recovered.status).toBe(0);
      await waitForClusterOk(interrupted);
    });

    test('too few members for three masters: a clear error before touching anything', async () => {
      const result = await bootstrap(interrupted.slice(0, 2), 0);
      expect(result.status).toBe(1);
      expect(result.output).toContain('a Redis cluster needs at least 3 masters but 2 members with 0 replicas each make 2');
    });
  });

  describe('a primary and a replica', () => {
    let primary: Node;
    let replica: Node;

    beforeAll(async () => {
      [primary] = await startNodes('primary', 1, standaloneConf);
      [replica] = await startNodes('replica', 1, standaloneConf, { REDIS_REPLICA_OF: `127.0.0.1 ${primary.port}` });
    });

    test('the replica authenticates with masterauth and replicates a key from the primary', async () => {
      expect(readFileSync(join(replica.dir, 'run', 'redis.conf'), 'utf8')).toContain(`replicaof 127.0.0.1 ${primary.port}`);
      expect(cli(primary.port, ['set', 'listing:1', 'villa'])).toBe('OK');
      await waitFor('the key on the replica', () => cli(replica.port, ['get', 'listing:1']) === 'villa', 15_000);
      expect(cli(replica.port, ['set', 'listing:2', 'flat'])).toMatch(/READONLY/);
      expect(script(PROBE, { REDISCLI_AUTH: PASSWORD, REDIS_PORT: String(replica.port) }, ['readiness']).status).toBe(0);
    });

    test('the primary keeps its data across a restart (AOF)', async () => {
      await primary.stop();
      // While the primary is down the replica is alive but not ready.
      await waitFor('the replica to notice', () => field(cli(replica.port, ['info', 'replication']), 'master_link_status') === 'down', 10_000);
      expect(script(PROBE, { REDISCLI_AUTH: PASSWORD, REDIS_PORT: String(replica.port) }, ['liveness']).status).toBe(0);
      const notReady = script(PROBE, { REDISCLI_AUTH: PASSWORD, REDIS_PORT: String(replica.port) }, ['readiness']);
      expect(notReady.status).toBe(1);
      expect(notReady.output).toContain('replica link to its primary is down');
      await primary.start();
      expect(cli(primary.port, ['get', 'listing:1'])).toBe('villa');
      expect(readFileSync(join(primary.dir, 'run', 'redis.conf'), 'utf8')).not.toContain('cluster-');
    });

    test('the start script refuses to start without a password', () => {
      const result = script(START, {
        REDIS_PASSWORD: '',
        REDIS_BASE_CONFIG: join(primary.dir, 'redis.conf'),
        REDIS_RUNTIME_CONFIG: join(root.path, 'unused.conf'),
        REDIS_DATA_DIR: root.path,
      });
      expect(result.status).toBe(1);
      expect(result.output).toContain('REDIS_PASSWORD is empty');
    });
  });
});
