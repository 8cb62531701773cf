/**
 * What a change does to one environment, object by object:
 *
 *   npm run diff -- <solution> <environment>
 *
 * Synthesizes the whole matrix fresh into a temporary folder (the `synthesize` of lib/synthesize.ts
 * that `npm run synth` runs, with the same defaults and every check, so what it compares is what
 * `npm run synth` would write), then pairs every object of the committed `dist/<solution>/<env>/`
 * (its `restore/` included) with the fresh one by apiVersion, kind, namespace and name, and prints
 *
 *   + Kind namespace/name                                  an object the change adds
 *   - Kind namespace/name                                  an object the change removes
 *   ~ Kind namespace/name path.to[0].field: old -> new     one line per changed field
 *
 * (values as compact JSON, `(absent)` where a field is added or removed; a multi-line text, a script
 * in a ConfigMap, as its line counts and the lines that differ). Only YAML is compared:
 * the environment's README.md is derived from the same objects (a replica count changes its
 * capacity table) and would print the same change twice.
 *
 * DIFF_BASELINE_DIR: the folder holding `<solution>/<environment>/` to compare against.
 * @default dist/ of this repository (what is committed, or about to be)
 *
 * Exit codes: 0 no changes, 1 changes (printed), 2 bad arguments, 3 nothing compared: the fresh
 * synth failed (its problems printed) or a manifest could not be read.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
// microdiff: a maintained (2025 releases), dependency-free structural diff with TypeScript types,
// returning CREATE/REMOVE/CHANGE with the full path of each, which is exactly one output line each.
// deep-diff, the other well-known one, has had no release since 2018.
import microdiff from 'microdiff';
import { parseAllDocuments } from 'yaml';

export const EXIT_EQUAL = 0;
export const EXIT_DIFFERENT = 1;
export const EXIT_BAD_ARGUMENTS = 2;
export const EXIT_FAILED = 3;

export const USAGE = 'usage: npm run diff -- <solution> <environment>';
const ROOT = resolve(__dirname, '..');

/** One parsed Kubernetes object. */
export type ManifestObject = Record<string, any>;

/** A command line that cannot be run; exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** How an object is paired across the two sides: apiVersion, kind, namespace, name. */
export function objectKey(o: ManifestObject): string {
  return [o.apiVersion, o.kind, o.metadata?.namespace ?? '', o.metadata?.name].join('|');
}

/** `Deployment logistics-dev/api`, or `Namespace logistics-dev` for a cluster-scoped object. */
export function objectLabel(o: ManifestObject): string {
  const ns = o.metadata?.namespace;
  return `${o.kind} ${ns ? `${ns}/` : ''}${o.metadata?.name}`;
}

/** `spec.template.spec.containers[0].image`; a key that is not a plain word is quoted: `labels["app.kubernetes.io/name"]`. */
export function formatPath(path: readonly (string | number)[]): string {
  return path.map((segment, i) => {
    if (typeof segment === 'number') return `[${segment}]`;
    if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(segment)) return i === 0 ? segment : `.${segment}`;
    return `[${JSON.stringify(segment)}]`;
  }).join('');
}

function formatValue(value: unknown): string {
  return value === undefined ? '(absent)' : JSON.stringify(value);
}

/**
 * `old -> new`. A change inside a multi-line text (a script or configuration file in a ConfigMap)
 * prints as its line counts and the span of lines that differ: the whole texts as JSON would be
 * kilobytes on one line, and the source file's own diff shows the lines.
 */
export function formatChange(from: unknown, to: unknown): string {
  if (typeof from === 'string' && typeof to === 'string' && (from.includes('\n') || to.includes('\n'))) {
    const a = from.split('\n');
    const b = to.split('\n');
    let head = 0;
    while (head < a.length && head < b.length && a[head] === b[head]) head++;
    let tail = 0;
    while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
    const span = (n: number) => (n === 0 ? 'no line' : n === 1 ? `line ${head + 1}` : `lines ${head + 1}-${head + n}`);
    return `text of ${a.length} lines -> text of ${b.length} lines (${span(a.length - head - tail)} -> ${span(b.length - head - tail)})`;
  }
  return `${formatValue(from)} -> ${formatValue(to)}`;
}

/**
 * The lines of a change from `before` (committed) to `after` (fresh): removed, added and changed
 * objects, ordered by kind, namespace and name; one line per changed field of a changed object.
 * No lines: the two are equal.
 * @throws Error when one side holds two objects with the same apiVersion, kind, namespace and name
 */
export function diffManifests(before: readonly ManifestObject[], after: readonly ManifestObject[]): string[] {
  const old = indexByKey(before, 'committed');
  const fresh = indexByKey(after, 'fresh');
  const keys = [...new Set([...old.keys(), ...fresh.keys()])].sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
  const lines: string[] = [];
  for (const key of keys) {
    const o = old.get(key);
    const n = fresh.get(key);
    if (!n) lines.push(`- ${objectLabel(o!)}`);
    else if (!o) lines.push(`+ ${objectLabel(n)}`);
    else {
      for (const change of microdiff(o, n)) {
        const from = change.type === 'CREATE' ? undefined : change.oldValue;
        const to = change.type === 'REMOVE' ? undefined : change.value;
        lines.push(`~ ${objectLabel(n)} ${formatPath(change.path)}: ${formatChange(from, to)}`);
      }
    }
  }
  return lines;
}

/** Kind, namespace, name, then apiVersion: the order the lines are printed in. */
function sortKey(key: string): string {
  const [apiVersion, kind, namespace, name] = key.split('|');
  return [kind, namespace, name, apiVersion].join('\u0000');
}

function indexByKey(objects: readonly ManifestObject[], side: string): Map<string, ManifestObject> {
  const index = new Map<string, ManifestObject>();
  for (const o of objects) {
    const key = objectKey(o);
    if (index.has(key)) throw new Error(`${side}: two objects are ${o.apiVersion} ${objectLabel(o)}; they cannot be paired`);
    index.set(key, o);
  }
  return index;
}

/**
 * Every object of every YAML document below `dir` (sub-folders such as `restore/` included).
 * A folder that does not exist has no objects: every fresh object is then new.
 * @throws Error naming the file of a document that does not parse
 */
export function readManifests(dir: string): ManifestObject[] {
  if (!existsSync(dir)) return [];
  const objects: ManifestObject[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) objects.push(...readManifests(path));
    else if (/\.ya?ml$/.test(entry)) {
      for (const doc of parseAllDocuments(readFileSync(path, 'utf8'))) {
        if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0].message}`);
        const value = doc.toJSON();
        if (value !== null && value !== undefined) objects.push(value);
      }
    }
  }
  return objects;
}

/** The command line, parsed against the configured solutions and their environments. */
export function parseArguments(argv: readonly string[], environmentsBySolution: ReadonlyMap<string, readonly string[]>): { solution: string; environment: string } {
  const unknownFlag = argv.find((a) => a.startsWith('-'));
  if (unknownFlag) throw new UsageError(`unknown option ${unknownFlag}`);
  if (argv.length !== 2) throw new UsageError(`expected <solution> <environment> but ${argv.length} argument${argv.length === 1 ? ' was' : 's were'} given`);
  const [solution, environment] = argv;
  const environments = environmentsBySolution.get(solution);
  if (!environments) throw new UsageError(`unknown solution ${JSON.stringify(solution)}: the solutions are ${[...environmentsBySolution.keys()].join(', ')}`);
  if (!environments.includes(environment)) throw new UsageError(`unknown environment ${JSON.stringify(environment)} of ${solution}: its environments are ${environments.join(', ')}`);
  return { solution, environment };
}

/** Runs the command; returns its exit code. Output goes to the given streams. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  // Loaded here, not at the top: the pure functions above are tested without building the app.
  const { SOLUTIONS } = await import('../lib/solutions');
  const { environmentsOf } = await import('../lib/config/solution-definition');
  const { synthesize, SynthFailure } = await import('../lib/synthesize');
  let args: { solution: string; environment: string };
  try {
    args = parseArguments(argv, new Map(SOLUTIONS.map((s) => [s.definition.name, environmentsOf(s.definition)])));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    err.write(`diff: ${error.message}\n${USAGE}\n`);
    return EXIT_BAD_ARGUMENTS;
  }
  const baselineRoot = resolve(env.DIFF_BASELINE_DIR || join(ROOT, 'dist'));
  const baseline = join(baselineRoot, args.solution, args.environment);
  if (!existsSync(baseline)) err.write(`diff: ${baseline} does not exist: every object of ${args.solution}/${args.environment} is new\n`);
  const scratch = mkdtempSync(join(tmpdir(), 'diff-'));
  try {
    const outdir = join(scratch, 'dist');
    try {
      synthesize(outdir);
    } catch (error) {
      if (!(error instanceof SynthFailure)) throw error;
      err.write(`diff: the fresh synth failed, nothing compared: ${error.message}\n`);
      return EXIT_FAILED;
    }
    const lines = diffManifests(readManifests(baseline), readManifests(join(outdir, args.solution, args.environment)));
    out.write(lines.length === 0 ? 'no changes\n' : `${lines.join('\n')}\n`);
    return lines.length === 0 ? EXIT_EQUAL : EXIT_DIFFERENT;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main(process.argv.slice(2), process.env, process.stdout, process.stderr).then(
    (code) => { process.exitCode = code; },
    (error) => { process.stderr.write(`diff: ${error instanceof Error ? error.stack : String(error)}\n`); process.exitCode = EXIT_FAILED; },
  );
}
