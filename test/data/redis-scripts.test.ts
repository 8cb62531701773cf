/**
 * The Redis scripts against real redis-server processes: redis-start.sh renders the configuration
 * the constructs ship (the ConfigMap's redis.conf, read from a synthesized chart) and starts the
 * server; cluster-bootstrap.sh forms, re-checks and repairs a cluster; redis-probe.sh judges health.
 * Everything listens on 127.0.0.1 on free ports, in temporary directories.
 */
import { Testing } from 'cdk8s';
import { spawn, spawnSync } from 'child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
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
      env: this.startEnv(),
      // A working directory of its own: nothing may depend on (or litter) the test runner's.
      cwd: this.dir,
    });
    const process = this.process;
    await waitFor(`redis on ${this.port}`, () => {
      process.assertRunning(`redis on ${this.port}`);
      return cli(this.port, ['ping']) === 'PONG';
    }, 15_000, 100).catch((e) => {
      throw new Error(`${e.message}\n${process.log}`);
    });
    // The script's last line before exec; its output arrives asynchronously, so wait for it (a
    // single read right after PONG was seen to miss it under load).
    await waitFor(`the start log of redis on ${this.port}`, () => process.log.includes('redis-start: starting redis-server'), 10_000, 50);
  }

  /** The environment the container gives redis-start.sh. */
  public startEnv(): NodeJS.ProcessEnv {
    return {
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
    };
  }

  /**
   * Runs redis-start.sh's set-up (rendering the configuration, repairing nodes.conf) with a
   * recording stand-in for redis-server on PATH, as a container restart would, without a server.
   */
  public runStartSetUp(): { result: ScriptResult; execArgs: string } {
    const bin = join(this.dir, 'stub-bin');
    mkdirSync(bin, { recursive: true });
    const record = join(this.dir, 'stub-exec-args');
    rmSync(record, { force: true });
    writeFileSync(join(bin, 'redis-server'), `#!/bin/sh\nprintf '%s\\n' "$*" > '${record}'\n`);
    chmodSync(join(bin, 'redis-server'), 0o755);
    const result = script(START, { ...this.startEnv(), PATH: `${bin}:${process.env.PATH}` });
    return { result, execArgs: readFileSync(record, 'utf8').trim() };
  }

  /** What redis-start.sh and the server printed since the last start. */
  public get startLog(): string {
    return this.process?.log ?? '';
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
function bootstrap(nodes: Node[], replicas: number, extraEnv: NodeJS.ProcessEnv = {}): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [BOOTSTRAP], {
      env: {
        ...process.env,
        REDISCLI_AUTH: PASSWORD,
        REDIS_CLUSTER_NODES: nodes.map((n) => n.address).join(' '),
        REDIS_CLUSTER_REPLICAS: String(replicas),
        REDIS_CLUSTER_TIMEOUT_SECONDS: '20',
        REDIS_CLUSTER_MEMBER_WAIT_SECONDS: '20',
        ...extraEnv,
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

async function waitForClusterOk(nodes: Node[], timeoutMs = 20_000): Promise<void> {
  for (const node of nodes) {
    await waitFor(`cluster_state:ok on ${node.port}`, () => {
      const info = node.clusterInfo();
      return field(info, 'cluster_state') === 'ok' && field(info, 'cluster_slots_assigned') === '16384';
    }, timeoutMs, 200);
  }
}

/** redis-probe.sh readiness on one server. */
function readiness(node: Node): ScriptResult {
  return script(PROBE, { REDISCLI_AUTH: PASSWORD, REDIS_PORT: String(node.port) }, ['readiness']);
}

/** `SET key:<i> value-<i>` for i < count through a cluster client (redis-cli -c). */
function writeKeys(entry: Node, count: number): void {
  const commands = Array.from({ length: count }, (_, i) => `SET key:${i} value-${i}`).join('\n');
  run('redis-cli', ['-c', '-h', '127.0.0.1', '-p', String(entry.port)], { env: { REDISCLI_AUTH: PASSWORD }, input: `${commands}\n` });
}

/** `GET key:<i>` for i < count through a cluster client: the answer to each, in order. */
function readKeys(entry: Node, count: number): string[] {
  const commands = Array.from({ length: count }, (_, i) => `GET key:${i}`).join('\n');
  const output = run('redis-cli', ['-c', '-h', '127.0.0.1', '-p', String(entry.port)], { env: { REDISCLI_AUTH: PASSWORD }, input: `${commands}\n` });
  // redis-cli -c announces each redirect on a line of its own; a missing key is an empty line.
  return output.replace(/\r/g, '').split('\n').filter((l) => !l.startsWith('-> Redirected')).slice(0, count);
}

/** The own line of a node's CLUSTER NODES, as fields (id, address, flags, master, ..., slots). */
function ownLine(node: Node): string[] {
  return cli(node.port, ['cluster', 'nodes']).split('\n').map((l) => l.split(' ')).find((f) => f[2].includes('myself'))!;
}

/**
 * Everything a script could change on a server and that does not move by itself: the cluster
 * view without ping/pong times and link states (ids, addresses, flags, masters, config epochs,
 * slots), the epochs, the role and whom it replicates, unsaved changes, and the configuration.
 */
function serverState(node: Node): Record<string, unknown> {
  const info = (section: string, ...names: string[]) => {
    const text = cli(node.port, ['info', section]);
    return Object.fromEntries(names.map((n) => [n, field(text, n)]));
  };
  const clusterEnabled = field(cli(node.port, ['info', 'cluster']), 'cluster_enabled') === '1';
  return {
    nodes: clusterEnabled
      ? cli(node.port, ['cluster', 'nodes']).split('\n').map((l) => l.split(' ')).map((f) => [...f.slice(0, 4), f[6], ...f.slice(8)].join(' ')).sort()
      : [],
    cluster: clusterEnabled
      ? Object.fromEntries(['cluster_current_epoch', 'cluster_my_epoch', 'cluster_state', 'cluster_known_nodes'].map((n) => [n, field(node.clusterInfo(), n)]))
      : {},
    replication: info('replication', 'role', 'connected_slaves', 'master_host', 'master_port', 'master_replid'),
    persistence: info('persistence', 'rdb_changes_since_last_save', 'aof_rewrites', 'rdb_saves'),
    dbsize: cli(node.port, ['dbsize']),
    config: cli(node.port, ['config', 'get', '*']),
  };
}

/** A file's content and identity: a rewrite with the same content still changes inode or mtime. */
function fileState(path: string): { content: string; inode: number; mtimeMs: number } {
  const stat = statSync(path);
  return { content: readFileSync(path, 'utf8'), inode: stat.ino, mtimeMs: stat.mtimeMs };
}

/** Redis's own counters of what its clients did: a script that "writes nothing" leaves these. */
function writeCounters(node: Node): Record<string, string | undefined> {
  const stats = cli(node.port, ['info', 'commandstats']);
  const counters: Record<string, string | undefined> = {};
  for (const command of ['set', 'del', 'flushall', 'flushdb', 'config|set', 'config|rewrite', 'cluster|forget', 'cluster|meet', 'cluster|addslots',
    'cluster|addslotsrange', 'cluster|reset', 'cluster|failover', 'cluster|replicate', 'cluster|bumpepoch', 'cluster|setslot', 'cluster|saveconfig', 'acl|setuser']) {
    counters[command] = new RegExp(`^cmdstat_${command.replace('|', '\\|')}:calls=(\\d+)`, 'm').exec(stats)?.[1];
  }
  return counters;
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

  /** What happened in the lost-master scenarios (they run in the background from the first beforeAll). */
  interface LostMasterRun {
    members: Node[];
    lost: Node;
    lostId: string;
    lostSlots: string[];
    lostKeys: number;
    noaddrLine: string;
    statesWhileNoaddr: (string | undefined)[];
    probesWhileNoaddr: ScriptResult[];
    healed: ScriptResult;
    away: { id: string; slots: string[]; node: Node; refusal: ScriptResult };
  }

  /** Stops a master, wipes its data directory (AOF, RDB, nodes.conf) and starts it again on the same port at once. */
  async function wipeAndRestart(node: Node): Promise<void> {
    await node.stop();
    rmSync(node.dataDir, { recursive: true, force: true });
    mkdirSync(node.dataDir);
    await node.start();
  }

  async function waitForNoaddr(observer: Node, id: string): Promise<string> {
    let line = '';
    await waitFor(`${observer.address} to flag ${id} noaddr`, () => {
      line = cli(observer.port, ['cluster', 'nodes']).split('\n').find((l) => l.startsWith(id) && l.includes('noaddr')) ?? '';
      return line !== '';
    }, 30_000);
    return line;
  }

  /**
   * A cache without replicas (logistics dev) whose master loses its volume and comes back empty at
   * once, before anyone flagged it failed; then, once healed, another master that stays away.
   */
  async function lostMasterScenario(): Promise<LostMasterRun> {
    const members = await startNodes('lost-master', 3, clusterConf);
    const formed = await bootstrap(members, 0);
    if (formed.status !== 0) throw new Error(formed.output);
    await waitForClusterOk(members);
    writeKeys(members[0], 300);
    const lost = members[2];
    const [lostId, , , , , , , , ...lostSlots] = ownLine(lost);
    const lostKeys = Number(cli(lost.port, ['dbsize']));
    await wipeAndRestart(lost);
    const noaddrLine = await waitForNoaddr(members[0], lostId);
    await waitForNoaddr(members[1], lostId);
    const statesWhileNoaddr = members.map((m) => field(m.clusterInfo(), 'cluster_state'));
    const probesWhileNoaddr = members.map(readiness);
    const healed = await bootstrap(members, 0);
    await waitForClusterOk(members).catch((e) => {
      throw new Error(`${e.message}\n--- bootstrap\n${healed.output}\n--- views\n${members.map((m) => cli(m.port, ['cluster', 'nodes'])).join('\n\n')}`);
    });

    // A master that stays away with its volume: nothing to take over, and it may come back.
    const node = members[1];
    const [id, , , , , , , , ...slots] = ownLine(node);
    await node.stop();
    const refusal = await bootstrap(members, 0, { REDIS_CLUSTER_MEMBER_WAIT_SECONDS: '2', REDIS_CLUSTER_FAILOVER_WAIT_SECONDS: '20' });
    await node.start();
    // A master flagged FAIL is cleared 2 x cluster-node-timeout after it was flagged.
    await waitForClusterOk(members, 60_000);
    return { members, lost, lostId, lostSlots, lostKeys, noaddrLine, statesWhileNoaddr, probesWhileNoaddr, healed, away: { id, slots, node, refusal } };
  }

  interface LostMasterWithReplicaRun {
    members: Node[];
    lost: Node;
    lostId: string;
    lostSlots: string[];
    lostKeys: number;
    replica: Node;
    replicaKeysWhileNoaddr: number;
    healed: ScriptResult;
  }

  /** The same with one replica per master: the replica must keep its copy and take over. */
  async function lostMasterWithReplicaScenario(): Promise<LostMasterWithReplicaRun> {
    const members = await startNodes('lost-master-replica', 6, clusterConf);
    const formed = await bootstrap(members, 1);
    if (formed.status !== 0) throw new Error(formed.output);
    await waitForClusterOk(members);
    writeKeys(members[0], 300);
    const lost = members.find((m) => ownLine(m)[2].includes('master'))!;
    const [lostId, , , , , , , , ...lostSlots] = ownLine(lost);
    const lostKeys = Number(cli(lost.port, ['dbsize']));
    const replica = members.find((m) => ownLine(m)[3] === lostId)!;
    await waitFor('the replica to hold its master\'s keys', () => Number(cli(replica.port, ['dbsize'])) === lostKeys, 15_000);
    await wipeAndRestart(lost);
    await waitForNoaddr(members.find((m) => m !== lost && m !== replica)!, lostId);
    // The replica reconnects to the address and asks the newcomer for a copy; without the hold the
    // copy would start after the default diskless delay (5 s): wait well beyond it.
    await waitFor('the replica to ask the newcomer for a copy', () => lost.startLog.includes(`Replica 127.0.0.1:${replica.port} asks for synchronization`), 15_000).catch((e) => {
      throw new Error(`${e.message}\n--- newcomer\n${lost.startLog}\n--- replica\n${replica.startLog}`);
    });
    await new Promise((r) => setTimeout(r, 8000));
    const replicaKeysWhileNoaddr = Number(cli(replica.port, ['dbsize']));
    const healed = await bootstrap(members, 1, { REDIS_CLUSTER_TIMEOUT_SECONDS: '60' });
    return { members, lost, lostId, lostSlots, lostKeys, replica, replicaKeysWhileNoaddr, healed };
  }

  interface FullRestartRun {
    members: Node[];
    lost: Node;
    lostId: string;
    lostSlots: string[];
    lostKeys: number;
    replica: Node;
    result: ScriptResult;
  }

  /**
   * Three masters and three replicas all shut down; all but one master come back (the replicas
   * with the nodes.conf they saved while their masters were up).
   */
  async function fullRestartScenario(prefix: string, conf: string, failoverWaitSeconds: number): Promise<FullRestartRun> {
    const members = await startNodes(prefix, 6, conf);
    const formed = await bootstrap(members, 1);
    if (formed.status !== 0) throw new Error(formed.output);
    await waitForClusterOk(members);
    writeKeys(members[0], 300);
    const lost = members.find((m) => ownLine(m)[2].includes('master'))!;
    const [lostId, , , , , , , , ...lostSlots] = ownLine(lost);
    const lostKeys = Number(cli(lost.port, ['dbsize']));
    const replica = members.find((m) => ownLine(m)[3] === lostId)!;
    await waitFor('the replica to hold its master\'s keys', () => Number(cli(replica.port, ['dbsize'])) === lostKeys, 15_000);
    await Promise.all(members.map((m) => m.stop()));
    await Promise.all(members.filter((m) => m !== lost).map((m) => m.start()));
    const result = await bootstrap(members, 1, {
      REDIS_CLUSTER_MEMBER_WAIT_SECONDS: '3',
      REDIS_CLUSTER_FAILOVER_WAIT_SECONDS: String(failoverWaitSeconds),
      REDIS_CLUSTER_TIMEOUT_SECONDS: '90',
    });
    return { members, lost, lostId, lostSlots, lostKeys, replica, result };
  }

  // Started in the first beforeAll, awaited by their tests: most of their time is gossip and
  // failure detection (cluster-node-timeout 15 s), which overlaps well.
  let lostMaster: Promise<LostMasterRun>;
  let lostMasterWithReplica: Promise<LostMasterWithReplicaRun>;
  let fullRestart: Promise<FullRestartRun>;
  let fullRestartOldConf: Promise<FullRestartRun>;
  const background = <T>(promise: Promise<T>): Promise<T> => {
    promise.catch(() => undefined); // reported by the test that awaits it
    return promise;
  };

  beforeAll(async () => {
    lostMaster = background(lostMasterScenario());
    lostMasterWithReplica = background(lostMasterWithReplicaScenario());
    fullRestart = background(fullRestartScenario('full-restart', clusterConf, 45));
    // Replicas that do not fail over by themselves: the bootstrap itself must promote the replica.
    // The default validity factor (10) allows a failover only while the replica's data is younger
    // than 10 x cluster-node-timeout, so whether it happens depends on how fast the restart was;
    // cluster-replica-no-failover makes the scenario deterministic (a manual TAKEOVER still works).
    fullRestartOldConf = background(fullRestartScenario('full-restart-no-failover', `${clusterConf}cluster-replica-no-failover yes\n`, 25));
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
    await Promise.allSettled([lostMaster, lostMasterWithReplica, fullRestart, fullRestartOldConf]);
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

    test('a second run of the bootstrap, and the probes, change nothing and write nothing', async () => {
      idsBefore = members.map((m) => cli(m.port, ['cluster', 'myid']));
      slotsBefore = members[0].slotMap();
      const before = members.map(serverState);
      const countersBefore = members.map(writeCounters);
      const again = await bootstrap(members, 0);
      expect(again.status).toBe(0);
      expect(again.output).not.toContain('creating the cluster');
      expect(again.output).toContain('0 member(s) added');
      for (const member of members) {
        expect(readiness(member).status).toBe(0);
        expect(script(PROBE, { REDISCLI_AUTH: PASSWORD, REDIS_PORT: String(member.port) }, ['liveness']).status).toBe(0);
      }
      expect(members.map((m) => cli(m.port, ['cluster', 'myid']))).toEqual(idsBefore);
      expect(members[0].slotMap()).toEqual(slotsBefore);
      expect(members.map(serverState)).toEqual(before);
      expect(members.map(writeCounters)).toEqual(countersBefore);
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
      expect(readiness(members[0]).status).toBe(0);
    });

    test('re-running the start script\'s set-up on a healthy member (a container restart) rewrites neither its configuration nor nodes.conf', async () => {
      const member = members[1];
      await member.stop();
      const runtimeConfig = join(member.dir, 'run', 'redis.conf');
      const nodesConf = join(member.dataDir, 'nodes.conf');
      const before = [fileState(runtimeConfig), fileState(nodesConf)];
      const { result, execArgs } = member.runStartSetUp();
      expect(result.status).toBe(0);
      expect(execArgs).toBe(runtimeConfig);
      expect(result.output).not.toContain('nodes.conf:');
      expect([fileState(runtimeConfig), fileState(nodesConf)]).toEqual(before);
      await member.start();
      await waitForClusterOk(members);
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

    test('a second run of the bootstrap changes nothing and writes nothing', async () => {
      await waitFor('every replica to be in sync', () => members.every((m) => readiness(m).status === 0), 15_000);
      const before = members.map(serverState);
      const countersBefore = members.map(writeCounters);
      const again = await bootstrap(members, 1);
      expect(again.status).toBe(0);
      expect(again.output).toContain('0 member(s) added');
      expect(members.map(serverState)).toEqual(before);
      expect(members.map(writeCounters)).toEqual(countersBefore);
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

  describe('a master of a cache without replicas loses its volume and comes back empty at the same address', () => {
    let r: LostMasterRun;

    beforeAll(async () => {
      r = await lostMaster;
    }, 180_000);

    test('its old identity stays as master,noaddr owning its slots, cluster_state stays ok, and no member is ready', () => {
      expect(r.noaddrLine).toMatch(new RegExp(`^${r.lostId} :0@0\\S* master,\\S*noaddr .* ${r.lostSlots.join(' ')}$`));
      // What a probe of cluster_state alone sees on the two that kept their data: all is well.
      expect(r.statesWhileNoaddr.slice(0, 2)).toEqual(['ok', 'ok']);
      expect(r.probesWhileNoaddr.map((p) => p.status)).toEqual([1, 1, 1]);
      // The two that kept their data: a third of the slots point at nowhere.
      expect(r.probesWhileNoaddr[0].output).toContain(`only ${16384 - 5461} of 16384 slots are served by reachable masters; ${r.lostId} (:0@0`);
      expect(r.probesWhileNoaddr[0].output).toContain(`noaddr) owns ${r.lostSlots.join(' ')}`);
      // The one that came back: alone, serving nothing.
      expect(r.probesWhileNoaddr[2].output).toContain('not part of a cluster yet');
    });

    test('the bootstrap forgets the dead identity, gives its slots to the member that came back and logs the loss', async () => {
      expect(r.healed.output).toContain(`master ${r.lostId} (:0@0,localhost, master,`);
      expect(r.healed.output).toContain(`giving its slots to ${r.lost.address}`);
      expect(r.healed.output).toContain(`warning: the keys of slots ${r.lostSlots.join(' ')} were lost with the volume of ${r.lostId}`);
      expect(r.healed.status).toBe(0);
      await waitForClusterOk(r.members);
      const newId = cli(r.lost.port, ['cluster', 'myid']);
      for (const member of r.members) {
        const view = cli(member.port, ['cluster', 'nodes']);
        expect(view).not.toContain(r.lostId);
        expect(view.split('\n')).toHaveLength(3);
        expect(member.slotMap()).toContain(`${newId} ${r.lostSlots.join(' ')}`);
      }
      await waitFor('every member to be ready', () => r.members.every((m) => readiness(m).status === 0), 15_000);
      // The keys of the other masters are all there; those of the lost slots are gone, and the
      // slots take writes again.
      const values = readKeys(r.members[0], 300);
      expect(values.filter((v) => v === '')).toHaveLength(r.lostKeys);
      expect(values.filter((v) => v.startsWith('value-'))).toHaveLength(300 - r.lostKeys);
      writeKeys(r.members[1], 300);
      expect(readKeys(r.members[2], 300)).toEqual(Array.from({ length: 300 }, (_, i) => `value-${i}`));
    });

    test('a master that stays away with its volume and has no replica: the bootstrap refuses, naming it, its slots and the command', () => {
      const { refusal, node, id, slots } = r.away;
      expect(refusal.status).toBe(1);
      expect(refusal.output).toContain(`member ${node.address} did not answer PING`);
      expect(refusal.output).toContain(`master ${id} (127.0.0.1:${node.port}@${node.busPort},localhost, master,`);
      expect(refusal.output).toContain(`owns slots ${slots.join(' ')}, is unreachable (left 20s to the cluster's own failover) and no replica can take over`);
      expect(refusal.output).toMatch(/redis-cli --cluster fix 127\.0\.0\.1:\d+ --cluster-fix-with-unreachable-masters/);
      expect(refusal.output).not.toContain('giving its slots');
    });
  });

  describe('a master with a replica loses its volume and comes back empty at the same address', () => {
    let r: LostMasterWithReplicaRun;

    beforeAll(async () => {
      r = await lostMasterWithReplica;
    }, 180_000);

    test('its replica does not copy the empty newcomer (full syncs from a member outside any cluster are held back), and the bootstrap promotes the replica', async () => {
      expect(r.lost.startLog).toContain('as cluster member not in a cluster yet (full syncs from it held back');
      expect(r.replicaKeysWhileNoaddr).toBe(r.lostKeys);
      expect(r.healed.output).toContain(`master ${r.lostId} (:0@0,localhost, master,`);
      expect(r.healed.output).toContain(`is unreachable: promoting its replica ${r.replica.address} with CLUSTER FAILOVER TAKEOVER`);
      expect(r.healed.output).toContain(`${r.lost.address} is empty and alone`);
      expect(r.healed.output).toContain(`forgetting node ${r.lostId}`);
      expect(r.healed.status).toBe(0);
      await waitForClusterOk(r.members);
      expect(ownLine(r.replica).slice(8)).toEqual(r.lostSlots);
      expect(Number(cli(r.replica.port, ['dbsize']))).toBe(r.lostKeys);
      expect(readKeys(r.members[0], 300)).toEqual(Array.from({ length: 300 }, (_, i) => `value-${i}`));
      // The newcomer follows the promoted replica, may now be synced from, and every member is ready.
      expect(ownLine(r.lost)[3]).toBe(ownLine(r.replica)[0]);
      expect(cli(r.lost.port, ['config', 'get', 'repl-diskless-sync-delay'])).toBe('repl-diskless-sync-delay\n5');
      await waitFor('every member to be ready', () => r.members.every((m) => readiness(m).status === 0), 20_000);
      for (const member of r.members) expect(cli(member.port, ['cluster', 'nodes'])).not.toContain(r.lostId);
    });
  });

  describe('a full restart in which one master (with a replica) does not come back', () => {
    function expectRecovered(r: FullRestartRun): void {
      const up = r.members.filter((m) => m !== r.lost);
      expect(r.result.output).toContain(`member ${r.lost.address} did not answer PING`);
      expect(r.result.output).toContain(`the cluster serves all 16384 slots with 5 of 6 members; not answering: ${r.lost.address}`);
      expect(r.result.status).toBe(0);
      expect(ownLine(r.replica)[2]).toContain('master');
      expect(ownLine(r.replica).slice(8)).toEqual(r.lostSlots);
      expect(Number(cli(r.replica.port, ['dbsize']))).toBe(r.lostKeys);
      expect(readKeys(up[0], 300)).toEqual(Array.from({ length: 300 }, (_, i) => `value-${i}`));
      for (const member of up) expect(field(member.clusterInfo(), 'cluster_state')).toBe('ok');
      // The replicas of the other masters may still be resyncing: the masters are ready.
      for (const member of up.filter((m) => ownLine(m)[2].includes('master'))) expect(readiness(member).status).toBe(0);
    }

    test('with the rendered configuration (replica validity factor 0) its replica fails over by itself, and the bootstrap goes on without the lost member', async () => {
      const r = await fullRestart;
      expect(clusterConf.split('\n')).toContain('cluster-replica-validity-factor 0');
      expect(r.result.output).not.toContain('TAKEOVER');
      expectRecovered(r);
    }, 180_000);

    test('when the replica does not fail over by itself (cluster-replica-no-failover) the bootstrap promotes it with CLUSTER FAILOVER TAKEOVER', async () => {
      const r = await fullRestartOldConf;
      expect(r.result.output).toContain(`master ${r.lostId} `);
      expect(r.result.output).toContain(`owns slots ${r.lostSlots.join(' ')} and is unreachable: promoting its replica ${r.replica.address} with CLUSTER FAILOVER TAKEOVER`);
      expectRecovered(r);
    }, 180_000);
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

    test('re-running the start script\'s set-up on the replica rewrites nothing', async () => {
      await replica.stop();
      const runtimeConfig = join(replica.dir, 'run', 'redis.conf');
      const before = fileState(runtimeConfig);
      const { result, execArgs } = replica.runStartSetUp();
      expect(result.status).toBe(0);
      expect(execArgs).toBe(runtimeConfig);
      expect(fileState(runtimeConfig)).toEqual(before);
      await replica.start();
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
