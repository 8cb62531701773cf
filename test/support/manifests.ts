/** Synthesizes the whole matrix into a temporary folder and reads manifests back, for tests. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { join, relative } from 'path';
import { parseAllDocuments } from 'yaml';
import { ARGOCD_FOLDER } from '../../lib/delivery/argocd';
import { PLATFORM_FOLDER } from '../../lib/logging';
import { synthesize } from '../../lib/synthesize';

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

/**
 * Synthesizes every solution and environment, and the platform, into a fresh temporary folder as
 * `npm run synth` does (lib/synthesize.ts) and returns its path.
 */
export function synthesizeToTemp(): string {
  const outdir = join(mkdtempSync(join(tmpdir(), 'dist-')), 'dist');
  synthesize(outdir);
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

export interface SynthesizedMatrix {
  readonly dir: string;
  /** Every object written: the environments' and the platform's. */
  readonly manifests: Manifest[];
  /** The objects of the solutions' environments only (not dist/platform/ or dist/argocd/). */
  readonly environmentManifests: Manifest[];
}

/** Synthesized manifests of the whole matrix, made once per test file. */
let cached: SynthesizedMatrix | undefined;
export function synthesizedMatrix(): SynthesizedMatrix {
  if (!cached) {
    const dir = synthesizeToTemp();
    const manifests = loadManifests(dir);
    cached = { dir, manifests, environmentManifests: manifests.filter((m) => m.solution !== PLATFORM_FOLDER && m.solution !== ARGOCD_FOLDER) };
    process.on('exit', () => rmSync(join(dir, '..'), { recursive: true, force: true }));
  }
  return cached;
}

export function objectId(m: Manifest): string {
  return `${m.file}: ${m.object.kind} ${m.object.metadata?.namespace ?? ''}/${m.object.metadata?.name}`;
}
