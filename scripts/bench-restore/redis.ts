/**
 * Redis restore benchmark: a real redis-server (AOF + RDB persistence as the pods run it) holding
 * about `bytes` of values, backed up with redis-backup.sh into a local restic repository, then
 * restored onto the stopped server's data directory with redis-restore.sh and started again.
 * The restore time is the script's (download, check, load, AOF rewrite, AOF load check) plus the
 * server's start until it answers with the whole data set.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import { mkdirSync, writeFileSync } from 'fs';
import { createServer } from 'net';
import { join } from 'path';

const ROOT = join(__dirname, '..', '..');
const SCRIPTS = join(ROOT, 'lib', 'data', 'redis', 'backup');
const PASSWORD = 'bench';
const VALUE_BYTES = 1024;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') { reject(new Error('no port')); return; }
      server.close(() => resolve(address.port));
    });
  });
}

function cli(port: number, args: string[]): string {
  const result = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { env: { ...process.env, REDISCLI_AUTH: PASSWORD }, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`redis-cli ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.replace(/\r/g, '').trim();
}

function runScript(name: string, env: NodeJS.ProcessEnv, args: string[] = []): number {
  const start = process.hrtime.bigint();
  const result = spawnSync('bash', [join(SCRIPTS, name), ...args], {
    env: { ...process.env, BACKUP_LIB: join(ROOT, 'lib', 'backup', 'restic.sh'), RESTIC_PASSWORD: 'bench', BACKUP_HOST: 'redis', REDISCLI_AUTH: PASSWORD, ...env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  process.stderr.write(result.stderr.split('\n').filter((l) => l.includes('MB/s')).map((l) => `  ${l}\n`).join(''));
  if (result.status !== 0) throw new Error(`${name} failed:\n${result.stdout}\n${result.stderr}`);
  return seconds;
}

async function startServer(dir: string, port: number): Promise<{ child: ChildProcess; seconds: number }> {
  const start = process.hrtime.bigint();
  const child = spawn('redis-server', [join(dir, 'redis.conf')], { stdio: 'ignore' });
  for (;;) {
    if (child.exitCode !== null) throw new Error('redis-server exited');
    const ping = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'ping'], { env: { ...process.env, REDISCLI_AUTH: PASSWORD }, encoding: 'utf8' });
    if (ping.stdout.trim() === 'PONG') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}

async function stopServer(child: ChildProcess, port: number): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'shutdown'], { env: { ...process.env, REDISCLI_AUTH: PASSWORD } });
  await exited;
}

/**
 * SET bench:<i> <random value> for i < keys through `redis-cli --pipe`: random (base64) values, so
 * the RDB does not compress away and the figures are those of real data.
 */
async function load(port: number, keys: number): Promise<void> {
  const child = spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--pipe'], { env: { ...process.env, REDISCLI_AUTH: PASSWORD }, stdio: ['pipe', 'ignore', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const batch = 1000;
  for (let i = 0; i < keys; i += batch) {
    const parts: string[] = [];
    for (let j = i; j < Math.min(keys, i + batch); j++) {
      const key = `bench:${j}`;
      const value = randomBytes((VALUE_BYTES * 3) / 4).toString('base64');
      parts.push(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n${value}\r\n`);
    }
    if (!child.stdin!.write(parts.join(''))) await new Promise((r) => child.stdin!.once('drain', r));
  }
  child.stdin!.end();
  if (await exited !== 0) throw new Error('redis-cli --pipe failed');
}

export async function benchRestore(options: { bytes: number; workDir: string }): Promise<{
  engine: string; server: string; dataBytes: number; backupSeconds: number; restoreSeconds: number;
}> {
  const dir = join(options.workDir, 'redis');
  const data = join(dir, 'data');
  const scratch = join(dir, 'scratch');
  mkdirSync(data, { recursive: true });
  mkdirSync(scratch, { recursive: true });
  const port = await freePort();
  // The persistence settings of the pods' redis.conf (lib/data/redis/redis-settings.ts).
  writeFileSync(join(dir, 'redis.conf'), [
    `port ${port}`, 'bind 127.0.0.1', `dir ${data}`, `requirepass ${PASSWORD}`, 'appendonly yes', 'appendfsync everysec',
    'appenddirname "appendonlydir"', 'aof-use-rdb-preamble yes', 'save ""', 'dbfilename dump.rdb', 'repl-diskless-sync yes',
    '',
  ].join('\n'));
  let server = await startServer(dir, port);
  try {
    const keys = Math.max(1, Math.round(options.bytes / VALUE_BYTES));
    await load(port, keys);
    const dataBytes = Number(/^used_memory_dataset:(\d+)/m.exec(cli(port, ['info', 'memory']))![1]);
    const repo = join(dir, 'repo');
    const backupSeconds = runScript('redis-backup.sh', { RESTIC_REPOSITORY: repo, REDIS_NODES: `127.0.0.1:${port}`, SCRATCH_DIR: scratch }, ['daily']);

    await stopServer(server.child, port);
    const scriptSeconds = runScript('redis-restore.sh', { RESTIC_REPOSITORY: repo, REDIS_DATA_DIR: data }, ['latest']);
    server = await startServer(dir, port);
    const restored = Number(cli(port, ['dbsize']));
    if (restored !== keys) throw new Error(`restored ${restored} keys, expected ${keys}`);
    return {
      engine: 'Redis (RDB via redis-cli --rdb, restic)',
      server: cli(port, ['info', 'server']).match(/^redis_version:(.*)$/m)![1],
      dataBytes,
      backupSeconds,
      restoreSeconds: scriptSeconds + server.seconds,
    };
  } finally {
    if (server.child.exitCode === null) await stopServer(server.child, port);
  }
}

if (require.main === module) {
  const bytes = Number(process.argv[2] ?? 64 * 1024 * 1024);
  const workDir = process.argv[3] ?? join(ROOT, '.build', 'bench-restore');
  benchRestore({ bytes, workDir }).then((r) => console.log(JSON.stringify(r)), (e) => { console.error(e); process.exit(1); });
}
