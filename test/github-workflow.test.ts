/**
 * The GitHub Actions workflows in .github/workflows/: each is valid against SchemaStore's
 * github-workflow.json (vendored in schemas/, source in schemas/github-workflow.SOURCES.md), each
 * `npm run <script>` / `npm test` a step runs names a script package.json has, every action is
 * pinned to a commit, and CI installs the Debian packages .ci/run installs.
 */
import Ajv, { ValidateFunction } from 'ajv';
import { createHash } from 'crypto';
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { parse } from 'yaml';

const ROOT = join(__dirname, '..');
const WORKFLOWS = join(ROOT, '.github', 'workflows');

interface Step { readonly run?: string; readonly uses?: string }
interface Workflow { readonly jobs: Record<string, { readonly steps?: Step[] }> }

/** The package.json scripts that `npm` commands in `script` run (lifecycle shortcuts included). */
function npmScriptsRunBy(script: string): string[] {
  const names: string[] = [];
  // `npm run[-script] [-s|--silent|--if-present ...] <name>`
  for (const m of script.matchAll(/\bnpm\s+(?:run|run-script|rum|urn)\b((?:\s+-[-\w]+)*)\s+([^\s;&|]+)/g)) names.push(m[2]);
  for (const m of script.matchAll(/\bnpm\s+(test|t|tst|start|stop|restart)\b/g)) names.push(m[1] === 't' || m[1] === 'tst' ? 'test' : m[1]);
  return names;
}

function workflowFiles(): string[] {
  return readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f)).sort();
}

function stepsOf(workflow: Workflow): Step[] {
  return Object.values(workflow.jobs).flatMap((job) => job.steps ?? []);
}

describe('GitHub workflows', () => {
  let validate: ValidateFunction;
  beforeAll(() => {
    const schema = JSON.parse(readFileSync(join(ROOT, 'schemas', 'github-workflow.json'), 'utf8'));
    // draft-07, Ajv's default. Strict mode off: it refuses the schema itself ("missing type
    // "object" for keyword "properties"", strictTypes), which is valid JSON Schema all the same.
    validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
  });

  test('the vendored schema is the blob its SOURCES file records', () => {
    const content = readFileSync(join(ROOT, 'schemas', 'github-workflow.json'));
    const blob = createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
    expect(readFileSync(join(ROOT, 'schemas', 'github-workflow.SOURCES.md'), 'utf8')).toContain(`| ${blob} |`);
  });

  test('there is a workflow', () => {
    expect(workflowFiles()).toContain('ci.yml');
  });

  test.each(workflowFiles())('%s is valid against SchemaStore github-workflow.json', (file) => {
    const workflow = parse(readFileSync(join(WORKFLOWS, file), 'utf8'));
    const valid = validate(workflow);
    expect(valid ? [] : validate.errors).toEqual([]);
  });

  test('the schema refuses a broken workflow (it is not vacuous)', () => {
    const broken = parse(readFileSync(join(WORKFLOWS, 'ci.yml'), 'utf8'));
    delete broken.jobs.test['runs-on'];
    expect(validate(broken)).toBe(false);
    const typo = { ...parse(readFileSync(join(WORKFLOWS, 'ci.yml'), 'utf8')), 'on': { pull_requests: null } };
    expect(validate(typo)).toBe(false);
  });

  test.each(workflowFiles())('every npm script %s runs exists in package.json', (file) => {
    const scripts = Object.keys(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts);
    const called = stepsOf(parse(readFileSync(join(WORKFLOWS, file), 'utf8'))).flatMap((s) => npmScriptsRunBy(s.run ?? ''));
    expect(called.length).toBeGreaterThan(0);
    expect(called.filter((name) => !scripts.includes(name))).toEqual([]);
  });

  test('npmScriptsRunBy finds what npm would run', () => {
    expect(npmScriptsRunBy('npm ci\nnpm test\nnpm run -s check:dist && npm run deploy -- logistics dev --dry-run')).toEqual(['check:dist', 'deploy', 'test']);
    expect(npmScriptsRunBy('npm run --if-present lint; npm t')).toEqual(['lint', 'test']);
    expect(npmScriptsRunBy('npm install && npx jest')).toEqual([]);
  });

  test.each(workflowFiles())('every action %s uses is pinned to a full commit, its version in a comment', (file) => {
    const text = readFileSync(join(WORKFLOWS, file), 'utf8');
    const uses = stepsOf(parse(text)).map((s) => s.uses).filter((u): u is string => u !== undefined && !u.startsWith('./'));
    expect(uses.length).toBeGreaterThan(0);
    for (const action of uses) {
      expect(action).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/);
      // The line says which release that commit is, for readers and for update tools.
      expect(text).toMatch(new RegExp(`uses: ${action.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} # v\\d+\\.\\d+\\.\\d+\\n`));
    }
  });

  test('CI installs the Debian packages .ci/run installs', () => {
    const ciRun = readFileSync(join(ROOT, '.ci', 'run'), 'utf8').match(/^packages=\(([^)]*)\)$/m);
    expect(ciRun).not.toBeNull();
    const wanted = ciRun![1].trim().split(/\s+/).sort();
    const install = stepsOf(parse(readFileSync(join(WORKFLOWS, 'ci.yml'), 'utf8')))
      .map((s) => s.run ?? '')
      .find((run) => /apt-get install/.test(run));
    expect(install).toBeDefined();
    const installed = install!.slice(install!.indexOf('apt-get install')).replace(/\\\n/g, ' ').split(/\s+/).filter((w) => /^[a-z0-9][a-z0-9.+-]+$/.test(w));
    expect(wanted.filter((p) => !installed.includes(p))).toEqual([]);
  });
});
