/** Synthesizes the whole matrix into a temporary folder and reads manifests back, for tests. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { join, relative } from 'path';
import { parseAllDocuments } from 'yaml';
import { environmentsOf } from '../../lib/config/solution-definition';
import { SOLUTIONS } from '../../lib/solutions';
import { buildEnvironment } from '../../lib/solutions/solution';

export interface Manifest {
  /** Path below the output folder: `logistics/prod/0002-app.k8s.yaml`. */
  readonly file: string;
  readonly solution: string;
  readonly environment: string;
  readonly object: Record<string, any>;
}

/** Every file below `dir`, relative path -> content, in sorted order. */
export function readTree(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d).sort()) {
      const path = join(d, entry);
      if (statSync(path).isDirectory()) walk(path);
      else files.set(relative(dir, path), readFileSync(path, 'utf8'));
    }
  };
  walk(dir);
  return files;
}

/** Synthesizes every solution and environment into a fresh temporary folder and returns its path. */
export function synthesizeToTemp(): string {
  const outdir = mkdtempSync(join(tmpdir(), 'dist-'));
  for (const solution of SOLUTIONS) {
    for (const environment of environmentsOf(solution.definition)) {
      buildEnvironment(solution, environment, outdir).synth();
    }
  }
  return outdir;
}

/** Parses every YAML document below `dir`. */
export function loadManifests(dir: string): Manifest[] {
  const manifests: Manifest[] = [];
  for (const [file, content] of readTree(dir)) {
    if (!file.endsWith('.yaml')) continue;
    const [solution, environment] = file.split('/');
    for (const doc of parseAllDocuments(content)) {
      const object = doc.toJS();
      if (object) manifests.push({ file, solution, environment, object });
    }
  }
  return manifests;
}

/** Synthesized manifests of the whole matrix, made once per test file. */
let cached: { dir: string; manifests: Manifest[] } | undefined;
export function synthesizedMatrix(): { dir: string; manifests: Manifest[] } {
  if (!cached) {
    const dir = synthesizeToTemp();
    cached = { dir, manifests: loadManifests(dir) };
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return cached;
}

export function objectId(m: Manifest): string {
  return `${m.file}: ${m.object.kind} ${m.object.metadata?.namespace ?? ''}/${m.object.metadata?.name}`;
}
