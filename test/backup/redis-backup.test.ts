/**
 * The Redis backup scripts (lib/data/redis/backup) against real redis-server processes started the
 * way the pods start them (redis-start.sh with the ConfigMap's redis.conf: AOF on), a real
 * 3-master cluster formed by cluster-bootstrap.sh, and a local restic repository.
 */
import { Testing } from 'cdk8s';
import { ChildProcess, spawn, spawnSync } from 'child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { Redis } from '../../lib/data/redis/redis';
import { RedisCluster } from '../../lib/data/redis/redis-cluster';
import { describeWithBinaries, findBinary, freePort, run, ServerProcess, tempDir, waitFor } from '../support/real-servers';

const ROOT = join(__dirname, '..', '..');
const REDIS_DIR = join(ROOT, 'lib', 'data', 'redis');
const SCRIPTS = join(REDIS_DIR, 'backup');
const RESTIC_LIB = join(ROOT, 'lib', 'backup', 'restic.sh');
const PASSWORD = 'backup secret';
const RESTIC_PASSWORD = 'repository password';

function renderedConf(cluster: boolean): string {
  const chart = Testing.chart();
  const props = { storage: { size: '1Gi' }, passwordSecret: { name: 'redis-secret', key: 'password' } };
  if (cluster) new RedisCluster(chart, 'redis', { ...props, replicasPerMaster: 0 });
  else new Redis(chart, 'redis', props);
  return Testing.synth(chart).find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'redis-config').data['redis.conf'];
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

function cli(port: number, args: string[], input?: string): string {
  return run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { env: { REDISCLI_AUTH: PASSWORD }, input, timeoutMs: 30_000 }).replace(/\r/g, '').trim();
}

function field(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1];
}

/** One server started through redis-start.sh, as the container starts it. */
class Node {
  public process?: ServerProcess;
  public constructor(public readonly port: number, public readonly busPort: number, public readonly dir: string) {
    mkdirSync(join(dir, 'data'), { recursive: true });
    mkdirSync(join(dir, 'run'), { recursive: true });
  }

  public static async create(root: string, name: string, conf: string): Promise<Node> {
    const dir = join(root, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'redis.conf'), conf);
    return new Node(await uniquePort(), await uniquePort(), dir);
  }

  public get address(): string { return `127.0.0.1:${this.port}`; }
  public get dataDir(): string { return join(this.dir, 'data'); }

  public async start(): Promise<void> {
    const server = new ServerProcess('bash', [join(REDIS_DIR, 'redis-start.sh')], {
      cwd: this.dir,
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
        REDIS_PEER_DNS_WAIT_SECONDS: '1',
      },
    });
    this.process = server;
    await waitFor(`redis on ${this.port}`, () => {
      server.assertRunning(`redis on ${this.port}`);
      return cli(this.port, ['ping']) === 'PONG';
    }, 30_000, 100);
  }

  public async stop(): Promise<void> { await this.process?.stop(30_000); }
}

interface ScriptResult { readonly status: number | null; readonly output: string }

/** Runs one of the backup scripts with the environment the Job gives it. */
function script(name: string, env: NodeJS.ProcessEnv, args: string[] = []): ScriptResult {
  const result = spawnSync('bash', [join(SCRIPTS, name), ...args], {
    env: { ...process.env, BACKUP_LIB: RESTIC_LIB, REDISCLI_AUTH: PASSWORD, RESTIC_PASSWORD, BACKUP_HOST: 'redis', LOCK_WAIT_SECONDS: '0', ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function expectOk(result: ScriptResult): string {
  if (result.status !== 0) throw new Error(`exited ${result.status}\n${result.output}`);
  return result.output;
}

/** The lines of a script's output that report throughput (bytes, seconds, MB/s), for the test log. */
function throughput(label: string, output: string): void {
  // eslint-disable-next-line no-console
  console.log(`${label}\n${output.split('\n').filter((l) => l.includes('MB/s')).join('\n')}`);
}

function restic(repo: string, args: string[], password = RESTIC_PASSWORD): string {
  return run(findBinary('restic')!, args, { env: { RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: password } });
}

interface Snapshot { id: string; tags?: string[]; paths: string[] }
function snapshots(repo: string): Snapshot[] {
  return JSON.parse(restic(repo, ['snapshots', '--json', '--no-lock']) || '[]');
}

/** A directory with executables that shadow real ones on PATH (for fault injection). */
function wrapperDir(root: string, name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, body] of Object.entries(files)) {
    writeFileSync(join(dir, file), `#!/usr/bin/env bash\n${body}\n`);
    chmodSync(join(dir, file), 0o755);
  }
  return dir;
}

const REAL_REDIS_CLI = findBinary('redis-cli');
const REAL_CHECK_RDB = findBinary('redis-check-rdb');

function writeKeys(port: number, prefix: string, count: number, clusterMode = false): void {
  const commands = Array.from({ length: count }, (_, i) => `SET ${prefix}:${i} v-${prefix}-${i}`).join('\n');
  cli(port, clusterMode ? ['-c'] : [], `${commands}\n`);
}

/** How many of `<prefix>:<i>` (i < count) exist with their value, read through a (cluster) client. */
function countKeys(port: number, prefix: string, count: number, clusterMode = false): number {
  const commands = Array.from({ length: count }, (_, i) => `GET ${prefix}:${i}`).join('\n');
  const lines = cli(port, clusterMode ? ['-c'] : [], `${commands}\n`).split('\n').filter((l) => !l.startsWith('-> Redirected'));
  return lines.filter((l, i) => l === `v-${prefix}-${i}`).length;
}

describeWithBinaries('Redis backup scripts', {
  'redis-server': findBinary('redis-server'), 'redis-cli': REAL_REDIS_CLI, 'redis-check-rdb': REAL_CHECK_RDB, restic: findBinary('restic'),
}, 'redis-server redis-tools restic', () => {
  jest.setTimeout(180_000);
  const tmp = tempDir('redis-backup');
  const standaloneConf = renderedConf(false);
  const clusterConf = renderedConf(true);
  const nodes: Node[] = [];
  const children: ChildProcess[] = [];
  let counter = 0;
  const fresh = (name: string) => {
    counter += 1;
    const path = join(tmp.path, `${name}-${counter}`);
    mkdirSync(path, { recursive: true });
    return path;
  };
  const env = (node: Node | Node[], repo: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    RESTIC_REPOSITORY: repo,
    REDIS_NODES: (Array.isArray(node) ? node : [node]).map((n) => n.address).join(' '),
    SCRATCH_DIR: fresh('scratch'),
    ...extra,
  });
  async function standalone(name: string): Promise<Node> {
    const node = await Node.create(tmp.path, name, standaloneConf);
    nodes.push(node);
    await node.start();
    return node;
  }

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    for (const node of nodes) await node.stop();
    tmp.remove();
  });

  test('standalone: keys up to the backup come back, later ones do not; the AOF-only server gets them (restore, then start as the pod does)', async () => {
    const node = await standalone('single');
    const repo = join(tmp.path, 'repo-single');
    writeKeys(node.port, 'before', 1000);
    const backup = expectOk(script('redis-backup.sh', env(node, repo), ['daily']));
    throughput('standalone backup', backup);
    writeKeys(node.port, 'after', 200);
    expect(cli(node.port, ['dbsize'])).toBe('1200');

    const [snapshot] = snapshots(repo);
    expect(snapshot.tags).toEqual(expect.arrayContaining(['rdb', 'daily', 'keys=1000', 'masters=1']));
    expect(snapshot.tags).not.toContain('pending');
    const manifest = restic(repo, ['dump', snapshot.id, '/manifest.tsv']);
    expect(manifest).toMatch(/^primary\.rdb\t-\t127\.0\.0\.1:\d+\t-\t1000\t\d+$/m);

    // Restore-test first (it must pass on good data), then the real restore onto the volume.
    throughput('standalone restore test', expectOk(script('redis-restore-test.sh', env(node, repo))));
    await node.stop();
    const restore = expectOk(script('redis-restore.sh', { RESTIC_REPOSITORY: repo, REDIS_DATA_DIR: node.dataDir }, ['latest']));
    throughput('standalone restore', restore);
    expect(readdirSync(node.dataDir).some((f) => f.startsWith('pre-restore-'))).toBe(true);
    await node.start();
    expect(field(cli(node.port, ['info', 'persistence']), 'aof_enabled')).toBe('1');
    expect(cli(node.port, ['dbsize'])).toBe('1000');
    expect(countKeys(node.port, 'before', 1000)).toBe(1000);
    expect(countKeys(node.port, 'after', 200)).toBe(0);
  });

  test('cluster: one snapshot with every master\'s RDB by slots; each member restored from its slots comes back with the keys up to the backup', async () => {
    const members: Node[] = [];
    for (let i = 0; i < 3; i++) members.push(await Node.create(tmp.path, `member-${i}`, clusterConf));
    nodes.push(...members);
    await Promise.all(members.map((m) => m.start()));
    const formed = spawnSync('bash', [join(REDIS_DIR, 'cluster-bootstrap.sh')], {
      env: { ...process.env, REDISCLI_AUTH: PASSWORD, REDIS_CLUSTER_NODES: members.map((m) => m.address).join(' '), REDIS_CLUSTER_REPLICAS: '0', REDIS_CLUSTER_TIMEOUT_SECONDS: '30' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(formed.status).toBe(0);
    const repo = join(tmp.path, 'repo-cluster');
    writeKeys(members[0].port, 'before', 900, true);

    // One seed is enough: the masters come from CLUSTER NODES.
    const backup = expectOk(script('redis-backup.sh', env(members[2], repo), ['hourly']));
    throughput('cluster backup', backup);
    writeKeys(members[0].port, 'after', 300, true);

    const [snapshot] = snapshots(repo);
    expect(snapshot.tags).toEqual(expect.arrayContaining(['rdb', 'hourly', 'keys=900', 'masters=3']));
    const manifest = restic(repo, ['dump', snapshot.id, '/manifest.tsv']).trim().split('\n').slice(1).map((l) => l.split('\t'));
    expect(manifest.map((r) => r[0]).sort()).toEqual(['slots-0-5460.rdb', 'slots-10923-16383.rdb', 'slots-5461-10922.rdb']);
    expect(manifest.reduce((sum, r) => sum + Number(r[4]), 0)).toBe(900);

    throughput('cluster restore test', expectOk(script('redis-restore-test.sh', env(members[0], repo))));
    await Promise.all(members.map((m) => m.stop()));
    for (const member of members) {
      throughput(`restore of ${member.address}`, expectOk(script('redis-restore.sh', { RESTIC_REPOSITORY: repo, REDIS_DATA_DIR: member.dataDir })));
    }
    await Promise.all(members.map((m) => m.start()));
    for (const member of members) {
      await waitFor(`cluster_state:ok on ${member.port}`, () => field(cli(member.port, ['cluster', 'info']), 'cluster_state') === 'ok', 30_000);
    }
    expect(countKeys(members[0].port, 'before', 900, true)).toBe(900);
    expect(countKeys(members[0].port, 'after', 300, true)).toBe(0);
  });

  test('a BGSAVE in progress: the backup waits for a fresh snapshot and holds a key written during that BGSAVE', async () => {
    const node = await standalone('bgsave');
    const repo = join(tmp.path, 'repo-bgsave');
    writeKeys(node.port, 'k', 3000);
    // 1 ms per key: the BGSAVE takes about 3 s, and the fork for the backup as long again.
    cli(node.port, ['config', 'set', 'rdb-key-save-delay', '1000']);
    cli(node.port, ['bgsave']);
    expect(field(cli(node.port, ['info', 'persistence']), 'rdb_bgsave_in_progress')).toBe('1');
    cli(node.port, ['set', 'written-during-bgsave', 'x']);
    const backup = expectOk(script('redis-backup.sh', env(node, repo), ['hourly']));
    cli(node.port, ['config', 'set', 'rdb-key-save-delay', '0']);
    const [snapshot] = snapshots(repo);
    expect(snapshot.tags).toContain('keys=3001');
    const scratch = fresh('bgsave-check');
    writeFileSync(join(scratch, 'dump.rdb'), run('bash', ['-c', `RESTIC_PASSWORD='${RESTIC_PASSWORD}' restic -r '${repo}' dump ${snapshot.id} /primary.rdb | base64 -w0`]), 'base64');
    const check = run(REAL_CHECK_RDB!, [join(scratch, 'dump.rdb')]);
    expect(check).toContain('3001 keys read');
    throughput('backup during a BGSAVE', backup);
  });

  test('an RDB that redis-check-rdb refuses leaves no snapshot at all, and the run fails naming it', async () => {
    const node = await standalone('corrupt');
    const repo = join(tmp.path, 'repo-corrupt');
    writeKeys(node.port, 'k', 2000);
    // The real transfer, then one byte in the middle of the file flipped (a damaged transfer).
    const bin = wrapperDir(tmp.path, 'corrupting-cli', {
      'redis-cli': `'${REAL_REDIS_CLI}' "$@" || exit $?
for ((i = 1; i <= $#; i++)); do if [[ "\${!i}" == --rdb ]]; then j=$((i + 1)); f=\${!j}
  size=$(stat -c %s "$f"); printf '\\xff\\xff\\xff\\xff' | dd of="$f" bs=1 seek=$((size / 2)) conv=notrunc status=none; fi; done`,
    });
    const result = script('redis-backup.sh', { ...env(node, repo), PATH: `${bin}:${process.env.PATH}` }, ['daily']);
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/redis-check-rdb refused|not a complete, valid RDB/);
    expect(result.output).toContain('nothing was backed up');
    expect(snapshots(repo)).toEqual([]);
  });

  test('the restore test and the restore fail when the keys loaded differ from the count recorded at backup time', async () => {
    const node = await standalone('counts');
    const repo = join(tmp.path, 'repo-counts');
    writeKeys(node.port, 'k', 50);
    // A backup whose recorded count is wrong (as if keys were lost between check and upload).
    const bin = wrapperDir(tmp.path, 'miscounting-check', { 'redis-check-rdb': `'${REAL_CHECK_RDB}' "$@" | sed 's/^\\[info\\] 50 keys read$/[info] 51 keys read/'` });
    expectOk(script('redis-backup.sh', { ...env(node, repo), PATH: `${bin}:${process.env.PATH}` }, ['daily']));
    const test = script('redis-restore-test.sh', env(node, repo));
    expect(test.status).not.toBe(0);
    expect(test.output).toMatch(/primary\.rdb .*50 keys loaded \+ 0 expired, but 51 recorded/);
    await node.stop();
    const before = readdirSync(node.dataDir).sort();
    const restore = script('redis-restore.sh', { RESTIC_REPOSITORY: repo, REDIS_DATA_DIR: node.dataDir });
    expect(restore.status).not.toBe(0);
    expect(restore.output).toContain('holds 50 keys but 51 were recorded');
    // Refused before touching the member's data.
    expect(readdirSync(node.dataDir).sort()).toEqual(before);
    await node.start();
  });

  test('a stale lock left by a killed restic job is removed; the backup and its retention succeed', async () => {
    const node = await standalone('lock');
    const repo = join(tmp.path, 'repo-lock');
    writeKeys(node.port, 'k', 10);
    restic(repo, ['init']);
    // A backup killed while it holds its lock (SIGKILL: no clean-up).
    const killed = spawn(findBinary('restic')!, ['backup', '--stdin', '--stdin-filename', 'x'], { env: { ...process.env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD }, stdio: ['pipe', 'ignore', 'ignore'] });
    children.push(killed);
    await waitFor('the lock of the running restic', () => restic(repo, ['list', 'locks', '--no-lock']).trim() !== '', 20_000);
    killed.kill('SIGKILL');
    await waitFor('restic to die', () => killed.exitCode !== null || killed.signalCode !== null, 5_000);
    expect(restic(repo, ['list', 'locks', '--no-lock']).trim()).not.toBe('');
    const result = expectOk(script('redis-backup.sh', env(node, repo), ['hourly']));
    expect(result).toContain('done: snapshot');
    expect(snapshots(repo).filter((s) => s.tags?.includes('rdb'))).toHaveLength(1);
  });

  test('verify: a wrong repository password and a corrupted pack file fail restic_verify', async () => {
    const node = await standalone('verify');
    const repo = join(tmp.path, 'repo-verify');
    writeKeys(node.port, 'k', 500);
    expectOk(script('redis-backup.sh', env(node, repo), ['daily']));
    const verify = (password: string) => spawnSync('bash', ['-c', `. '${RESTIC_LIB}'; restic_verify "$RESTIC_REPOSITORY" 1`], {
      env: { ...process.env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: password, LOCK_WAIT_SECONDS: '0' }, encoding: 'utf8',
    });
    expect(verify(RESTIC_PASSWORD).status).toBe(0);
    expect(verify('wrong').status).not.toBe(0);
    const packs = run('find', [join(repo, 'data'), '-type', 'f']).trim().split('\n');
    const pack = packs.map((p) => ({ p, size: Number(run('stat', ['-c', '%s', p])) })).sort((a, b) => b.size - a.size)[0].p;
    chmodSync(pack, 0o644);
    const bytes = readFileSync(pack);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    writeFileSync(pack, bytes);
    const corrupted = verify(RESTIC_PASSWORD);
    expect(corrupted.status).not.toBe(0);
    expect(existsSync(pack)).toBe(true);
  });
});

describe('rdb_check_keys under pipefail', () => {
  test('a long redis-check-rdb report after "RDB looks OK" is still read as OK (a grep -q pipe could die of SIGPIPE: a CI run failed so)', () => {
    const tmp = tempDir('rdb-check');
    try {
      const fake = join(tmp.path, 'redis-check-rdb');
      // The verdict, then far more than a pipe holds: the reader stops at the verdict, the writer must not fail.
      writeFileSync(fake, '#!/bin/bash\necho "[offset 0] Checking RDB file $1"\necho "[offset 8458] \\\\o/ RDB looks OK! \\\\o/"\nfor i in $(seq 1 20000); do echo "[info] padding line $i of the report"; done\necho "[info] 500 keys read"\n', { mode: 0o755 });
      const lib = join(__dirname, '..', '..', 'lib', 'data', 'redis', 'backup', 'redis-backup-lib.sh');
      const restic = join(__dirname, '..', '..', 'lib', 'backup', 'restic.sh');
      const result = spawnSync('bash', ['-c', `set -euo pipefail; . '${restic}'; . '${lib}'; for i in 1 2 3 4 5; do rdb_check_keys /tmp/x.rdb; done`], {
        encoding: 'utf8', env: { ...process.env, PATH: `${tmp.path}:${process.env.PATH}` },
      });
      expect(result.stderr).not.toMatch(/did not find/);
      expect(result.stdout.trim().split('\n')).toEqual(['500', '500', '500', '500', '500']);
      expect(result.status).toBe(0);
    } finally {
      tmp.remove();
    }
  });
});
