/**
 * Milvus's backup scripts (lib/data/milvus/backup): the etcd snapshot, restore and restore test
 * against a real etcd (Debian etcd-server/etcd-client); milvus-backup.sh with recording stand-ins
 * for milvus-backup and mc (neither can run here), against a local restic repository.
 */
import { spawnSync } from 'child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { describeWithBinaries, findBinary, freePort, run, ServerProcess, tempDir, waitFor } from '../support/real-servers';

const ROOT = join(__dirname, '..', '..');
const SCRIPTS = join(ROOT, 'lib', 'data', 'milvus', 'backup');
const RESTIC_LIB = join(ROOT, 'lib', 'backup', 'restic.sh');
const RESTIC_PASSWORD = 'repository password';
const RESTIC = findBinary('restic');
const ETCD = findBinary('etcd');
const ETCDCTL = findBinary('etcdctl');

interface ScriptResult { readonly status: number | null; readonly output: string }
function script(name: string, env: NodeJS.ProcessEnv, args: string[] = []): ScriptResult {
  const result = spawnSync('bash', [join(SCRIPTS, name), ...args], {
    env: { ...process.env, BACKUP_LIB: RESTIC_LIB, RESTIC_PASSWORD, BACKUP_HOST: 'milvus', LOCK_WAIT_SECONDS: '0', ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}
function expectOk(result: ScriptResult): string {
  if (result.status !== 0) throw new Error(`exited ${result.status}\n${result.output}`);
  // eslint-disable-next-line no-console
  console.log(result.output.split('\n').filter((l) => l.includes('MB/s')).join('\n'));
  return result.output;
}
interface Snapshot { id: string; tags?: string[] }
function snapshots(repo: string): Snapshot[] {
  return JSON.parse(run(RESTIC!, ['snapshots', '--json', '--no-lock'], { env: { RESTIC_REPOSITORY: repo, RESTIC_PASSWORD } }) || '[]');
}
function stubDir(root: string, name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, body] of Object.entries(files)) {
    writeFileSync(join(dir, file), `#!/usr/bin/env bash\n${body}\n`);
    chmodSync(join(dir, file), 0o755);
  }
  return dir;
}

/** A single-member etcd on loopback ports, in its own directory. */
class Etcd {
  public process?: ServerProcess;
  public constructor(public readonly dataDir: string, public readonly clientPort: number, public readonly peerPort: number) {}
  public get endpoint(): string { return `127.0.0.1:${this.clientPort}`; }
  public async start(): Promise<void> {
    const peer = `http://127.0.0.1:${this.peerPort}`;
    this.process = new ServerProcess(ETCD!, ['--name', 'etcd-0', '--data-dir', this.dataDir,
      '--listen-client-urls', `http://${this.endpoint}`, '--advertise-client-urls', `http://${this.endpoint}`,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `etcd-0=${peer}`, '--initial-cluster-token', 'milvus-etcd']);
    const server = this.process;
    await waitFor(`etcd on ${this.clientPort}`, () => {
      server.assertRunning('etcd');
      return spawnSync(ETCDCTL!, ['--endpoints', this.endpoint, 'endpoint', 'health'], { env: { ...process.env, ETCDCTL_API: '3' } }).status === 0;
    }, 30_000, 200);
  }
  public ctl(args: string[], input?: string): string {
    return run(ETCDCTL!, ['--endpoints', this.endpoint, ...args], { env: { ETCDCTL_API: '3' }, input });
  }
  public put(prefix: string, count: number): void {
    for (let i = 0; i < count; i++) this.ctl(['put', `${prefix}/${i}`, `value-${i}`]);
  }
  public count(prefix: string): number {
    const out = JSON.parse(this.ctl(['get', prefix, '--prefix', '--limit=1', '-w', 'json']));
    return Number(out.count ?? 0);
  }
  public async stop(): Promise<void> { await this.process?.stop(); }
}

describeWithBinaries('etcd snapshot scripts', { etcd: ETCD, etcdctl: ETCDCTL, restic: RESTIC }, 'etcd-server etcd-client restic', () => {
  jest.setTimeout(120_000);
  const tmp = tempDir('etcd-backup');
  const servers: Etcd[] = [];
  const scratch = (name: string) => { const p = join(tmp.path, name); mkdirSync(p, { recursive: true }); return p; };
  async function etcd(name: string): Promise<Etcd> {
    const server = new Etcd(join(tmp.path, name, 'data'), await freePort(), await freePort());
    mkdirSync(join(tmp.path, name), { recursive: true });
    servers.push(server);
    await server.start();
    return server;
  }
  afterAll(async () => {
    for (const server of servers) await server.stop();
    tmp.remove();
  });

  test('round trip: keys up to the snapshot come back in a restored data directory, later ones do not; the restore test passes', async () => {
    const server = await etcd('round-trip');
    const repo = join(tmp.path, 'repo-round-trip');
    server.put('before', 40);
    expectOk(script('etcd-snapshot.sh', { RESTIC_REPOSITORY: repo, ETCDCTL_ENDPOINTS: `http://127.0.0.1:1,http://${server.endpoint}`, SCRATCH_DIR: scratch('s1') }));
    server.put('after', 15);
    const [snapshot] = snapshots(repo);
    expect(snapshot.tags).toEqual(expect.arrayContaining(['etcd', 'keys=40']));
    expect(snapshot.tags!.some((t) => /^revision=\d+$/.test(t))).toBe(true);
    expect(snapshot.tags).not.toContain('pending');

    expectOk(script('etcd-restore-test.sh', {
      RESTIC_REPOSITORY: repo, SCRATCH_DIR: scratch('s2'), ETCD_SCRATCH_CLIENT_PORT: String(await freePort()), ETCD_SCRATCH_PEER_PORT: String(await freePort()),
    }));

    await server.stop();
    const peer = `http://127.0.0.1:${server.peerPort}`;
    expectOk(script('etcd-restore.sh', {
      RESTIC_REPOSITORY: repo, ETCD_DATA_DIR: server.dataDir, ETCD_NAME: 'etcd-0', ETCD_INITIAL_CLUSTER: `etcd-0=${peer}`,
      ETCD_INITIAL_ADVERTISE_PEER_URLS: peer, ETCD_INITIAL_CLUSTER_TOKEN: 'milvus-etcd',
    }, ['latest']));
    await server.start();
    expect(server.count('before')).toBe(40);
    expect(server.count('after')).toBe(0);
    expect(server.ctl(['get', 'before/7', '--print-value-only']).trim()).toBe('value-7');
  });

  test('a damaged snapshot (its sha256 trailer does not match) is never backed up; a restore test whose count differs fails', async () => {
    const server = await etcd('faults');
    const repo = join(tmp.path, 'repo-faults');
    server.put('k', 10);
    // etcdctl's snapshot save, then one stored value altered in the file (silent damage: the
    // database structure stays readable, so `snapshot status` alone passes it; its sha256 does not).
    const truncating = stubDir(tmp.path, 'damaging-etcdctl', {
      etcdctl: `'${ETCDCTL}' "$@" || exit $?
if [[ "$*" == *"snapshot save"* ]]; then perl -0777 -pi -e 's/value-5/valuE-5/' "\${@: -1}"; fi`,
    });
    const broken = script('etcd-snapshot.sh', { RESTIC_REPOSITORY: repo, ETCDCTL_ENDPOINTS: `http://${server.endpoint}`, SCRATCH_DIR: scratch('f1'), ETCDCTL_BIN: join(truncating, 'etcdctl'), ETCDUTL_BIN: ETCDCTL });
    expect(broken.status).not.toBe(0);
    expect(broken.output).toContain('not a valid etcd database');
    expect(snapshots(repo)).toEqual([]);

    // A count recorded wrong (as if taken at another moment than the snapshot).
    const miscounting = stubDir(tmp.path, 'miscounting-etcdctl', {
      etcdctl: `if [[ "$*" == *"--limit=1"* ]]; then '${ETCDCTL}' "$@" | sed 's/"count":10/"count":11/'; exit "\${PIPESTATUS[0]}"; fi
exec '${ETCDCTL}' "$@"`,
    });
    expectOk(script('etcd-snapshot.sh', { RESTIC_REPOSITORY: repo, ETCDCTL_ENDPOINTS: `http://${server.endpoint}`, SCRATCH_DIR: scratch('f2'), ETCDCTL_BIN: join(miscounting, 'etcdctl'), ETCDUTL_BIN: ETCDCTL }));
    const test = script('etcd-restore-test.sh', {
      RESTIC_REPOSITORY: repo, SCRATCH_DIR: scratch('f3'), ETCD_SCRATCH_CLIENT_PORT: String(await freePort()), ETCD_SCRATCH_PEER_PORT: String(await freePort()),
    });
    expect(test.status).not.toBe(0);
    expect(test.output).toMatch(/holds 10 keys at revision \d+ but 11 were recorded/);
  });
});

describeWithBinaries('milvus-backup.sh (milvus-backup and mc are recording stand-ins)', { restic: RESTIC }, 'restic', () => {
  jest.setTimeout(60_000);
  const tmp = tempDir('milvus-backup');
  afterAll(() => tmp.remove());
  const base = (name: string): NodeJS.ProcessEnv => {
    const scratch = join(tmp.path, name, 'scratch');
    mkdirSync(scratch, { recursive: true });
    return {
      RESTIC_REPOSITORY: join(tmp.path, name, 'repo'), SCRATCH_DIR: scratch, MINIO_ENDPOINT: 'minio:9000', MINIO_ACCESS_KEY: 'access', MINIO_SECRET_KEY: 's3cret',
      MILVUS_BACKUP_CONFIG: '/cfg/backup.yaml', MILVUS_BACKUP_BUCKET: 'milvus-backup', MILVUS_BACKUP_ROOT: 'backup', MINIO_BUCKETS: 'files-a files-b',
    };
  };
  /**
   * Stand-ins recording each call (argv, and whether the credentials reached mc through the
   * environment) into calls.log; mc mirror writes a folder like milvus-backup's. FAIL names the tool that fails.
   */
  function stubs(name: string, fail = ''): { bin: string; log: string } {
    const log = join(tmp.path, name, 'calls.log');
    const bin = stubDir(join(tmp.path, name), 'bin', {
      'milvus-backup': `echo "milvus-backup $*" >> '${log}'; [[ '${fail}' != milvus-backup ]] || { echo 'create failed' >&2; exit 1; }`,
      mc: `echo "mc $* MC_HOST_src=$MC_HOST_src" >> '${log}'; [[ '${fail}' != mc ]] || { echo 'mirror failed' >&2; exit 1; }
dest=\${@: -1}; mkdir -p "$dest"; if [[ '${fail}' != no-meta && "$dest" == */backup_* ]]; then mkdir -p "$dest/meta"; echo '{}' > "$dest/meta/backup_meta.json"; fi
echo data > "$dest/segment"`,
    });
    return { bin, log };
  }

  test('collections: create, mirror the new folder, back up, promote, delete the bucket copy, in that order', () => {
    const { bin, log } = stubs('ok');
    const env: NodeJS.ProcessEnv = { ...base('ok'), PATH: `${bin}:${process.env.PATH}` };
    expectOk(script('milvus-backup.sh', env, ['collections']));
    const calls = readFileSync(log, 'utf8').trim().split('\n');
    const name = /create -n (backup_\d{8}_\d{6})/.exec(calls[0])![1];
    expect(calls).toEqual([
      `milvus-backup create -n ${name} --config /cfg/backup.yaml`,
      expect.stringMatching(new RegExp(`^mc mirror --quiet src/milvus-backup/backup/${name} .*/${name} MC_HOST_src=http://access:s3cret@minio:9000$`)),
      `milvus-backup delete -n ${name} --config /cfg/backup.yaml`,
    ]);
    const [snapshot] = snapshots(env.RESTIC_REPOSITORY!);
    expect(snapshot.tags).toEqual(expect.arrayContaining(['milvus', `backup=${name}`]));
    expect(snapshot.tags).not.toContain('pending');
    expect(run(RESTIC!, ['ls', snapshot.id], { env: { RESTIC_REPOSITORY: env.RESTIC_REPOSITORY, RESTIC_PASSWORD } })).toContain(`/${name}/meta/backup_meta.json`);
  });

  test.each([['milvus-backup'], ['mc'], ['no-meta']])('collections: a failing %s leaves no promoted snapshot and fails the run', (fail) => {
    const { bin, log } = stubs(`fail-${fail}`, fail);
    const env: NodeJS.ProcessEnv = { ...base(`fail-${fail}`), PATH: `${bin}:${process.env.PATH}` };
    const result = script('milvus-backup.sh', env, ['collections']);
    expect(result.status).not.toBe(0);
    expect(snapshots(env.RESTIC_REPOSITORY!).filter((s) => s.tags?.includes('milvus'))).toEqual([]);
    expect(readFileSync(log, 'utf8')).not.toContain('delete');
  });

  test('files: every bucket mirrored into one promoted snapshot; a failing mirror promotes nothing', () => {
    const { bin, log } = stubs('files');
    const env: NodeJS.ProcessEnv = { ...base('files'), PATH: `${bin}:${process.env.PATH}` };
    expectOk(script('milvus-backup.sh', env, ['files']));
    const calls = readFileSync(log, 'utf8').trim().split('\n');
    expect(calls.map((c) => c.split(' ').slice(0, 4).join(' '))).toEqual(['mc mirror --quiet src/files-a', 'mc mirror --quiet src/files-b']);
    expect(snapshots(env.RESTIC_REPOSITORY!)[0].tags).toEqual(expect.arrayContaining(['minio-files', 'buckets=2']));

    const failing = stubs('files-fail', 'mc');
    const envFail: NodeJS.ProcessEnv = { ...base('files-fail'), PATH: `${failing.bin}:${process.env.PATH}` };
    expect(script('milvus-backup.sh', envFail, ['files']).status).not.toBe(0);
    expect(existsSync(envFail.RESTIC_REPOSITORY!) ? snapshots(envFail.RESTIC_REPOSITORY!) : []).toEqual([]);
  });
});
