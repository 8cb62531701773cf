/**
 * Milvus's backup scripts (lib/data/milvus/backup): the etcd snapshot, restore and restore test
 * against a real etcd (Debian etcd-server/etcd-client); milvus-backup.sh and milvus-restore.sh with recording stand-ins
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

describeWithBinaries('milvus-backup.sh and milvus-restore.sh (milvus-backup and mc are recording stand-ins)', { restic: RESTIC }, 'restic', () => {
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
   * environment) into calls.log. milvus-backup prints what its CLI prints: the response's message
   * (`success`) on a line of its own, exit status 0 even on failure. mc mirror into a local folder
   * writes one like milvus-backup's: meta/backup_meta.json (state 2 = BACKUP_SUCCESS, size = the
   * binlogs' bytes) and a 5-byte binlog. FAIL names the fault: `milvus-backup` (exits 1),
   * `milvus-backup-says-failed` (exits 0, prints an error), `mc`, `no-meta`, `failed-state` (state
   * 3), `missing-binlog` (the meta records more bytes than were copied), `restore` (restore fails).
   */
  function stubs(name: string, fail = ''): { bin: string; log: string } {
    const log = join(tmp.path, name, 'calls.log');
    const bin = stubDir(join(tmp.path, name), 'bin', {
      'milvus-backup': `echo "milvus-backup $*" >> '${log}'; echo 'config:/cfg/backup.yaml'; echo '[2026/11/28 02:40:00] [INFO] a log line'
[[ '${fail}' != milvus-backup ]] || { echo 'create failed' >&2; exit 1; }
if [[ '${fail}' == milvus-backup-says-failed && "$1" == create ]] || [[ '${fail}' == restore && "$1" == restore ]]; then echo 'fail to get milvus version'; echo 'duration:0 s'; exit 0; fi
echo success; echo 'duration:1 s'`,
      mc: `echo "mc $* MC_HOST_src=$MC_HOST_src" >> '${log}'; [[ '${fail}' != mc ]] || { echo 'mirror failed' >&2; exit 1; }
dest=\${@: -1}; [[ "$dest" != src/* ]] || exit 0
mkdir -p "$dest"; if [[ "$dest" == */backup_* ]]; then
  state=2; [[ '${fail}' != failed-state ]] || state=3
  size=5; [[ '${fail}' != missing-binlog ]] || size=6
  if [[ '${fail}' != no-meta ]]; then mkdir -p "$dest/meta"; echo "{\\"id\\":\\"x\\",\\"state_code\\":$state,\\"name\\":\\"\${dest##*/}\\",\\"size\\":$size,\\"milvus_version\\":\\"v2.3.21\\"}" > "$dest/meta/backup_meta.json"; fi
  mkdir -p "$dest/binlogs/insert_log/1/2/3/100"; echo data > "$dest/binlogs/insert_log/1/2/3/100/1"
else echo data > "$dest/segment"; fi`,
    });
    return { bin, log };
  }
  function setUp(name: string, fail = ''): { env: NodeJS.ProcessEnv; log: string } {
    const { bin, log } = stubs(name, fail);
    return { env: { ...base(name), PATH: `${bin}:${process.env.PATH}` }, log };
  }
  const calls = (log: string) => readFileSync(log, 'utf8').trim().split('\n');

  test('collections: create, mirror the new folder, back up, promote, delete the bucket copy, in that order', () => {
    const { env, log } = setUp('ok');
    expectOk(script('milvus-backup.sh', env, ['collections']));
    const recorded = calls(log);
    const name = /create -n (backup_\d{8}_\d{6})/.exec(recorded[0])![1];
    expect(recorded).toEqual([
      `milvus-backup create -n ${name} --config /cfg/backup.yaml`,
      expect.stringMatching(new RegExp(`^mc mirror --quiet src/milvus-backup/backup/${name} .*/${name} MC_HOST_src=http://access:s3cret@minio:9000$`)),
      `milvus-backup delete -n ${name} --config /cfg/backup.yaml`,
    ]);
    const [snapshot] = snapshots(env.RESTIC_REPOSITORY!);
    expect(snapshot.tags).toEqual(expect.arrayContaining(['milvus', `backup=${name}`, 'bytes=5']));
    expect(snapshot.tags).not.toContain('pending');
    expect(run(RESTIC!, ['ls', snapshot.id], { env: { RESTIC_REPOSITORY: env.RESTIC_REPOSITORY, RESTIC_PASSWORD } })).toContain(`/${name}/meta/backup_meta.json`);
  });

  test.each([['milvus-backup'], ['milvus-backup-says-failed'], ['mc'], ['no-meta'], ['failed-state'], ['missing-binlog']])(
    'collections: %s leaves no promoted snapshot and fails the run', (fail) => {
      const { env, log } = setUp(`fail-${fail}`, fail);
      const result = script('milvus-backup.sh', env, ['collections']);
      expect(result.status).not.toBe(0);
      expect(result.output).toContain('backup of collections failed');
      expect(snapshots(env.RESTIC_REPOSITORY!).filter((s) => s.tags?.includes('milvus'))).toEqual([]);
      expect(readFileSync(log, 'utf8')).not.toContain('delete');
    });

  test('files: every bucket mirrored into one promoted snapshot; a failing mirror promotes nothing', () => {
    const { env, log } = setUp('files');
    expectOk(script('milvus-backup.sh', env, ['files']));
    expect(calls(log).map((c) => c.split(' ').slice(0, 4).join(' '))).toEqual(['mc mirror --quiet src/files-a', 'mc mirror --quiet src/files-b']);
    expect(snapshots(env.RESTIC_REPOSITORY!)[0].tags).toEqual(expect.arrayContaining(['minio-files', 'buckets=2', 'objects=2', 'bytes=10']));

    const failing = setUp('files-fail', 'mc');
    expect(script('milvus-backup.sh', failing.env, ['files']).status).not.toBe(0);
    expect(existsSync(failing.env.RESTIC_REPOSITORY!) ? snapshots(failing.env.RESTIC_REPOSITORY!) : []).toEqual([]);
  });

  test('collections and files in one run: both snapshots; a failing collections backup still backs up the files, and the run fails', () => {
    const { env } = setUp('both');
    expectOk(script('milvus-backup.sh', env, ['collections', 'files']));
    expect(snapshots(env.RESTIC_REPOSITORY!).map((s) => s.tags!.find((t) => t === 'milvus' || t === 'minio-files')).sort()).toEqual(['milvus', 'minio-files']);

    const broken = setUp('both-fail', 'milvus-backup-says-failed');
    const result = script('milvus-backup.sh', broken.env, ['collections', 'files']);
    expect(result.status).not.toBe(0);
    expect(result.output).toContain('backup of collections failed');
    expect(snapshots(broken.env.RESTIC_REPOSITORY!).map((s) => s.tags!.filter((t) => t === 'milvus' || t === 'minio-files')).flat()).toEqual(['minio-files']);
    expect(script('milvus-backup.sh', broken.env, ['tables']).output).toContain("but 'tables' was given");
  });

  test('restore: the snapshot restored from restic, checked, mirrored back into the backup bucket, restored by milvus-backup with its indexes, then deleted', () => {
    const { env, log } = setUp('restore');
    expectOk(script('milvus-backup.sh', env, ['collections']));
    const name = /create -n (backup_\d{8}_\d{6})/.exec(calls(log)[0])![1];
    writeFileSync(log, '');
    expectOk(script('milvus-restore.sh', { ...env, RESTORE_SUFFIX: '_restored' }, ['restore', 'latest']));
    expect(calls(log)).toEqual([
      expect.stringMatching(new RegExp(`^mc mirror --quiet --overwrite .*/${name} src/milvus-backup/backup/${name} MC_HOST_src=http://access:s3cret@minio:9000$`)),
      `milvus-backup restore -n ${name} --restore_index --suffix _restored --config /cfg/backup.yaml`,
      `milvus-backup delete -n ${name} --config /cfg/backup.yaml`,
    ]);
    // By snapshot id, too.
    writeFileSync(log, '');
    expectOk(script('milvus-restore.sh', env, ['restore', snapshots(env.RESTIC_REPOSITORY!)[0].id]));
    expect(calls(log)[1]).toBe(`milvus-backup restore -n ${name} --restore_index --config /cfg/backup.yaml`);
  });

  test('restore: a failing milvus-backup restore (exit 0, no `success`) fails the Job and keeps the bucket copy; unknown snapshots are refused', () => {
    const { env, log } = setUp('restore-fail');
    expectOk(script('milvus-backup.sh', env, ['collections']));
    const failing = stubs('restore-fail', 'restore');
    writeFileSync(log, '');
    const result = script('milvus-restore.sh', { ...env, PATH: `${failing.bin}:${process.env.PATH}` }, ['restore']);
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/milvus-backup restore -n backup_\d+_\d+ failed \(the backup stays in src\/milvus-backup\/backup\//);
    expect(readFileSync(log, 'utf8')).not.toContain('delete');

    const unknown = script('milvus-restore.sh', env, ['restore', 'deadbeef']);
    expect(unknown.status).not.toBe(0);
    expect(unknown.output).toContain("no promoted milvus snapshot 'deadbeef'");
    expect(script('milvus-restore.sh', env, ['restore', 'latest; rm -rf /']).output).toContain('must be latest or a snapshot id');
  });

  test('restore test: passes on whole backups without touching MinIO or Milvus; fails when the restored binlogs or files differ from what was recorded', () => {
    const { env, log } = setUp('restore-test');
    expectOk(script('milvus-backup.sh', env, ['collections', 'files']));
    writeFileSync(log, '');
    expect(expectOk(script('milvus-restore.sh', env, ['test', 'latest']))).toContain('files snapshot');
    expect(readFileSync(log, 'utf8')).toBe('');

    // A snapshot whose binlogs lost bytes after the backup recorded them (as if backed up damaged).
    const damaged = setUp('restore-test-damaged');
    const scratch = damaged.env.SCRATCH_DIR!;
    const name = 'backup_20261128_024000';
    mkdirSync(join(scratch, 'stage', name, 'meta'), { recursive: true });
    mkdirSync(join(scratch, 'stage', name, 'binlogs'), { recursive: true });
    writeFileSync(join(scratch, 'stage', name, 'meta', 'backup_meta.json'), `{"state_code":2,"name":"${name}","size":9}`);
    writeFileSync(join(scratch, 'stage', name, 'binlogs', '1'), 'short');
    const repo = damaged.env.RESTIC_REPOSITORY!;
    run(RESTIC!, ['init'], { env: { RESTIC_REPOSITORY: repo, RESTIC_PASSWORD } });
    run(RESTIC!, ['backup', '--host', 'milvus', '--tag', 'milvus', '--tag', `backup=${name}`, '--tag', 'bytes=9', name], { env: { RESTIC_REPOSITORY: repo, RESTIC_PASSWORD }, cwd: join(scratch, 'stage') });
    const test = script('milvus-restore.sh', { ...damaged.env, MINIO_BUCKETS: '' }, ['test']);
    expect(test.status).not.toBe(0);
    expect(test.output).toContain('binlogs holds 5 bytes but the backup records 9');
  });
});
