/**
 * Support for tests that run the product's shell scripts against real servers started from the
 * machine's binaries (Debian packages), on free loopback ports, in temporary directories.
 *
 * Where a binary is missing the suite is skipped with a message naming the Debian package, so
 * `npm test` passes on a fresh machine. With REQUIRE_REAL_SERVERS=1 (set by .ci/run) a missing
 * binary fails instead: CI must run every one of these tests.
 */
import { ChildProcess, spawn, spawnSync, SpawnSyncReturns } from 'child_process';
import { existsSync, mkdtempSync, rmSync } from 'fs';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';

/** Finds a binary on PATH or in the given directories (Debian puts some in /usr/sbin or /usr/lib/...). */
export function findBinary(name: string, extraDirs: string[] = []): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', ...extraDirs];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * `describe` when every binary is there; otherwise `describe.skip` with a message naming the Debian
 * package, or a failing suite under REQUIRE_REAL_SERVERS=1.
 */
export function describeWithBinaries(title: string, binaries: Record<string, string | undefined>, debianPackage: string, body: () => void): void {
  const missing = Object.entries(binaries).filter(([, path]) => !path).map(([name]) => name);
  if (missing.length === 0) {
    describe(title, body);
    return;
  }
  const message = `${title}: skipped, ${missing.join(', ')} not found: install the Debian package ${debianPackage} (apt-get install ${debianPackage})`;
  if (process.env.REQUIRE_REAL_SERVERS === '1') {
    describe(title, () => {
      test('has the binaries it needs (REQUIRE_REAL_SERVERS=1)', () => {
        throw new Error(message);
      });
    });
    return;
  }
  // eslint-disable-next-line no-console
  console.warn(message);
  describe.skip(title, body);
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error('no port'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

/** A fresh temporary directory, removed by the returned function. */
export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Runs a command to completion; throws with its output when it fails. */
export function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string; timeoutMs?: number } = {}): string {
  const result: SpawnSyncReturns<string> = spawnSync(command, args, {
    env: { ...process.env, ...options.env },
    input: options.input,
    cwd: options.cwd,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
  });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.status ?? result.signal}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`);
  }
  return result.stdout;
}


/**
 * An error that waiting cannot cure (a server that exited, a wrong password): {@link waitFor}
 * rethrows it at once instead of retrying until its deadline.
 */
export class Unrecoverable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Unrecoverable';
  }
}

/** A background server process that is stopped (SIGTERM, then SIGKILL) by {@link stop}. */
export class ServerProcess {
  private readonly child: ChildProcess;
  private output = '';

  constructor(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
    this.child = spawn(command, args, { env: { ...process.env, ...options.env }, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (d) => { this.output += d.toString(); });
    this.child.stderr?.on('data', (d) => { this.output += d.toString(); });
  }

  /** What the server printed so far (for failure messages). */
  public get log(): string {
    return this.output;
  }

  public get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Throws {@link Unrecoverable}, with what the server printed, when the process has exited. */
  public assertRunning(what: string): void {
    if (this.exited) throw new Unrecoverable(`${what} exited (${this.child.exitCode ?? this.child.signalCode})\n--- its output\n${this.output}`);
  }

  public async stop(timeoutMs = 10_000): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await done;
    clearTimeout(timer);
  }
}

/**
 * Polls `check` until it returns true, or throws after `timeoutMs` with `what` and the last error
 * in the message. An {@link Unrecoverable} error from `check` is rethrown at once.
 */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000, intervalMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      if (error instanceof Unrecoverable) throw error;
      lastError = error; // not yet
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The first line a binary prints for `--version` (or `flag`; some print it on stderr), for test output. */
export function versionOf(binary: string, flag = '--version'): string {
  const result = spawnSync(binary, [flag], { encoding: 'utf8', timeout: 5_000 });
  return `${result.stdout}${result.stderr}`.split('\n')[0].trim();
}

/**
 * The unprivileged user PostgreSQL runs as when the tests run as root (it refuses to run as root):
 * Debian's `postgres`, else `nobody`; undefined when the tests do not run as root.
 */
export function postgresServerUser(): { name: string; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
    if (uid.status === 0 && gid.status === 0) return { name, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  }
  throw new Error('running as root, but there is neither a postgres nor a nobody user to run PostgreSQL as');
}

/** Debian's PostgreSQL binaries of the newest installed major (`/usr/lib/postgresql/<major>/bin`), if any. */
export const POSTGRES_BIN_DIR = ['17', '16', '15', '14'].map((v) => `/usr/lib/postgresql/${v}/bin`).find((dir) => existsSync(join(dir, 'postgres')));

/** A PostgreSQL binary of {@link POSTGRES_BIN_DIR}, or undefined (for describeWithBinaries). */
export function postgresBinary(name: string): string | undefined {
  return POSTGRES_BIN_DIR && existsSync(join(POSTGRES_BIN_DIR, name)) ? join(POSTGRES_BIN_DIR, name) : undefined;
}

/** setpriv where the tests run as root (to run PostgreSQL as its user), else 'not needed': a describeWithBinaries entry. */
export const SETPRIV = process.getuid?.() === 0 ? ['/usr/bin/setpriv', '/bin/setpriv'].find(existsSync) : 'not needed';

/** `command args` as PostgreSQL's user ({@link postgresServerUser}) through setpriv when the tests run as root; unchanged otherwise. */
export function asPostgresUser(command: string, args: string[]): [string, string[]] {
  const user = postgresServerUser();
  if (!user) return [command, args];
  return [SETPRIV!, ['--reuid', String(user.uid), '--regid', String(user.gid), '--clear-groups', command, ...args]];
}
