/**
 * A working copy of this repository in a temporary folder, as a user who follows the README has
 * it: every file git tracks (with uncommitted changes), node_modules linked, not copied. Tests
 * edit files in it and run the README's commands there without touching the checkout.
 */
import { spawnSync } from 'child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';

const ROOT = join(__dirname, '..', '..');

export interface CommandResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export class RepoCopy {
  /** Copies the tracked files of the checkout (their working-tree content) into a temp folder. */
  public static create(prefix = 'repo'): RepoCopy {
    const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
    const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
    if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
    for (const file of listed.stdout.split('\0').filter(Boolean)) {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      try {
        cpSync(join(ROOT, file), join(dir, file));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error; // deleted in the working tree
      }
    }
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    return new RepoCopy(dir);
  }

  private constructor(public readonly dir: string) {}

  public read(file: string): string {
    return readFileSync(join(this.dir, file), 'utf8');
  }

  public write(file: string, content: string): void {
    mkdirSync(dirname(join(this.dir, file)), { recursive: true });
    writeFileSync(join(this.dir, file), content);
  }

  /** Replaces `search` (which must occur) in `file`. */
  public edit(file: string, search: string | RegExp, replacement: string): void {
    const before = this.read(file);
    const after = before.replace(search, replacement);
    if (after === before) throw new Error(`${file}: ${String(search)} not found`);
    this.write(file, after);
  }

  /** Runs a command in the copy; never throws on a non-zero exit. */
  public run(command: string, args: string[], timeoutMs = 240_000): CommandResult {
    const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true' };
    delete env.SYNTH_OUTDIR;
    delete env.CDK8S_OUTDIR;
    const result = spawnSync(command, args, { cwd: this.dir, encoding: 'utf8', timeout: timeoutMs, env });
    return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
  }

  public remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
