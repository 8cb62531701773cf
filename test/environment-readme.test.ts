/**
 * The README of each environment's folder: its Mermaid topology parses with Mermaid's own parser and
 * shows every workload and every connection the NetworkPolicies allow between workloads; its
 * capacity totals equal sums computed here, independently, from the YAML written to the folder.
 */
import { execFileSync } from 'child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parseAllDocuments } from 'yaml';
import { alertsBelow } from '../lib/observability/alert-table';
import { capacityOf, podResources, renderEnvironmentReadme } from '../lib/ops/environment-readme';
import { SOLUTIONS } from '../lib/solutions';
import { EnvironmentApp } from '../lib/solutions/environment-app';
import { buildEnvironment } from '../lib/solutions/solution';
import { MATRIX, resolvedOf, settingsOf } from './support/solution-objects';

type K8sObject = Record<string, any>;

const outdir = mkdtempSync(join(tmpdir(), 'environment-readme-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

interface Built {
  readonly app: EnvironmentApp;
  /** Objects of the YAML files the synth wrote directly in the folder (what kubectl apply -f reads). */
  readonly applied: K8sObject[];
  /** Objects of restore/ (Jobs run by hand). */
  readonly restore: Map<string, K8sObject[]>;
  readonly readme: string;
}

function yamlObjects(file: string): K8sObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS()).filter((o) => o && o.kind);
}

function build(solution: string, environment: string): Built {
  const definition = SOLUTIONS.find((s) => s.definition.name === solution)!;
  const app = buildEnvironment(definition, environment, outdir);
  const folder = app.synth().outdir;
  const applied = readdirSync(folder).filter((f) => f.endsWith('.yaml')).sort().flatMap((f) => yamlObjects(join(folder, f)));
  const restore = new Map<string, K8sObject[]>();
  const restoreFolder = join(folder, 'restore');
  for (const f of (existsSync(restoreFolder) ? readdirSync(restoreFolder, { withFileTypes: true }) : []).filter((e) => e.isFile()).map((e) => e.name).sort()) {
    restore.set(`restore/${f}`, yamlObjects(join(folder, 'restore', f)));
  }
  const all = [...applied, ...[...restore.values()].flat()];
  return { app, applied, restore, readme: renderEnvironmentReadme(app, all) };
}

const BUILT = new Map<string, Built>(MATRIX.map(([s, e]) => [`${s}/${e}`, build(s, e)]));
const CASES = MATRIX.map(([s, e]) => [`${s}/${e}`] as [string]);

function mermaidOf(readme: string): string {
  const match = /```mermaid\n([\s\S]*?)\n```/.exec(readme);
  if (!match) throw new Error('no mermaid block');
  return match[1];
}

interface ParsedDiagram {
  readonly type?: string;
  readonly error?: string;
  readonly vertices: { id: string; text: string }[];
  readonly edges: { start: string; end: string; text: string; stroke: string }[];
}

/**
 * Mermaid's own parser (the jison flowchart grammar of the `mermaid` package, ESM only) in a child
 * node process, with jsdom giving it the DOM its sanitizer needs.
 */
function parseMermaid(texts: string[]): ParsedDiagram[] {
  const script = `
import { JSDOM } from 'jsdom';
const dom = new JSDOM('');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });
let input = '';
for await (const chunk of process.stdin) input += chunk;
const results = [];
for (const text of JSON.parse(input)) {
  try {
    const parsed = await mermaid.parse(text);
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
    results.push({
      type: parsed.diagramType,
      vertices: [...diagram.db.getVertices().values()].map((v) => ({ id: v.id, text: v.text })),
      edges: diagram.db.getEdges().map((e) => ({ start: e.start, end: e.end, text: e.text, stroke: e.stroke })),
    });
  } catch (e) {
    results.push({ error: String(e && e.message || e), vertices: [], edges: [] });
  }
}
process.stdout.write(JSON.stringify(results));
`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { input: JSON.stringify(texts), cwd: join(__dirname, '..'), encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  return JSON.parse(out);
}

const PARSED = new Map<string, ParsedDiagram>();
beforeAll(() => {
  const keys = [...BUILT.keys()];
  const results = parseMermaid(keys.map((k) => mermaidOf(BUILT.get(k)!.readme)));
  keys.forEach((k, i) => PARSED.set(k, results[i]));
}, 120000);

const firstLine = (text: string) => text.split(/<br\s*\/?>/)[0];
const NAME = 'app.kubernetes.io/name';
const POD_OWNERS = ['Deployment', 'StatefulSet', 'Rollout', 'Job', 'CronJob'];

function vertexOf(diagram: ParsedDiagram, workload: string): { id: string; text: string } | undefined {
  return diagram.vertices.find((v) => firstLine(v.text) === workload);
}

// Independent arithmetic: a quantity parser of its own, so a bug in lib/quantity.ts cannot hide here.
function q(value: unknown): number {
  if (value === undefined || value === null) return 0;
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(String(value));
  if (!m) throw new Error(`not a quantity: ${value}`);
  const units: Record<string, number> = { '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };
  if (!(m[2] in units)) throw new Error(`unit ${m[2]}`);
  return Number(m[1]) * units[m[2]];
}

interface Totals { pods: number; cpuRequest: number; cpuLimit: number; memoryRequest: number; memoryLimit: number; storage: number; gpus: number }

/** Totals over the folder's workloads at min or max scale, the scheduler's way: max(sum of containers, each init container). */
function expectedTotals(objects: K8sObject[], scale: 'min' | 'max'): Totals {
  const totals: Totals = { pods: 0, cpuRequest: 0, cpuLimit: 0, memoryRequest: 0, memoryLimit: 0, storage: 0, gpus: 0 };
  for (const o of objects.filter((x) => ['Deployment', 'StatefulSet', 'Rollout'].includes(x.kind))) {
    const hpa = objects.find((h) => h.kind === 'HorizontalPodAutoscaler' && h.spec.scaleTargetRef.kind === o.kind && h.spec.scaleTargetRef.name === o.metadata.name);
    const replicas = hpa ? (scale === 'min' ? hpa.spec.minReplicas : hpa.spec.maxReplicas) : (o.spec.replicas ?? 1);
    const spec = o.spec.template.spec;
    // No sidecar init containers in this project; the simple rule below holds only then.
    expect((spec.initContainers ?? []).filter((c: K8sObject) => c.restartPolicy === 'Always')).toEqual([]);
    const perPod = (get: (c: K8sObject) => number) => Math.max(
      (spec.containers as K8sObject[]).reduce((a, c) => a + get(c), 0),
      ...((spec.initContainers ?? []) as K8sObject[]).map(get),
    );
    totals.pods += replicas;
    totals.cpuRequest += replicas * perPod((c) => q(c.resources?.requests?.cpu));
    totals.cpuLimit += replicas * perPod((c) => q(c.resources?.limits?.cpu));
    totals.memoryRequest += replicas * perPod((c) => q(c.resources?.requests?.memory));
    totals.memoryLimit += replicas * perPod((c) => q(c.resources?.limits?.memory));
    totals.gpus += replicas * perPod((c) => q(c.resources?.limits?.['nvidia.com/gpu']));
    const claims = o.kind === 'StatefulSet' ? (o.spec.volumeClaimTemplates ?? []) : [];
    const ephemeral = (spec.volumes ?? []).filter((v: K8sObject) => v.ephemeral);
    totals.storage += replicas * [...claims.map((t: K8sObject) => t.spec), ...ephemeral.map((v: K8sObject) => v.ephemeral.volumeClaimTemplate.spec)]
      .reduce((a: number, s: K8sObject) => a + q(s.resources.requests.storage), 0);
  }
  return totals;
}

/** The README's totals row for `scale`, as numbers. */
function readmeTotals(readme: string, scale: 'minimum' | 'maximum'): Totals {
  const row = readme.split('\n').find((l) => l.startsWith(`| ${scale} |`));
  if (!row) throw new Error(`no ${scale} row`);
  const [pods, cpuRequest, cpuLimit, memoryRequest, memoryLimit, storage, gpus] = row.split('|').slice(2, 9).map((c) => Number(c.trim()));
  return { pods, cpuRequest, cpuLimit, memoryRequest, memoryLimit, storage, gpus };
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;
const GIB = 1024 ** 3;

describe.each(CASES)('README of %s', (key) => {
  const built = BUILT.get(key)!;
  const [solution, environment] = key.split('/');

  test('its topology parses as a Mermaid flowchart', () => {
    const parsed = PARSED.get(key)!;
    expect(parsed.error).toBeUndefined();
    expect(parsed.type).toMatch(/^flowchart/);
  });

  test('every workload of the folder is a node, with its replicas', () => {
    const parsed = PARSED.get(key)!;
    const missing: string[] = [];
    for (const o of built.applied.filter((x) => POD_OWNERS.includes(x.kind))) {
      const name = o.metadata.labels[NAME];
      const vertex = vertexOf(parsed, name);
      if (!vertex) {
        missing.push(`${o.kind} ${o.metadata.name} (${name})`);
        continue;
      }
      if (['Deployment', 'StatefulSet', 'Rollout'].includes(o.kind)) {
        const hpa = built.applied.find((h) => h.kind === 'HorizontalPodAutoscaler' && h.spec.scaleTargetRef.name === o.metadata.name && h.spec.scaleTargetRef.kind === o.kind);
        const replicas = hpa ? `x${hpa.spec.minReplicas}-${hpa.spec.maxReplicas} (HPA)` : `x${o.spec.replicas ?? 1}`;
        expect(vertex.text).toContain(`${o.kind} ${replicas}`);
      }
    }
    expect(missing).toEqual([]);
  });

  test('every connection the NetworkPolicies allow between workloads is an edge, and no edge is invented', () => {
    const parsed = PARSED.get(key)!;
    const policies = built.applied.filter((o) => o.kind === 'NetworkPolicy' && o.spec.podSelector?.matchLabels?.[NAME]);
    const allowed = new Set<string>();
    for (const policy of policies) {
      const client = policy.spec.podSelector.matchLabels[NAME];
      for (const rule of policy.spec.egress ?? []) {
        for (const to of rule.to ?? []) {
          const server = to.podSelector?.matchLabels?.[NAME];
          if (!server || to.namespaceSelector || server === client) continue;
          for (const port of rule.ports ?? []) allowed.add(`${client} -> ${server}:${port.port}`);
        }
      }
    }
    expect(allowed.size).toBeGreaterThan(0);
    const drawn = new Set<string>();
    const nameOf = new Map(parsed.vertices.map((v) => [v.id, firstLine(v.text)]));
    const workloads = new Set(built.applied.filter((o) => POD_OWNERS.includes(o.kind)).map((o) => o.metadata.labels[NAME]));
    for (const edge of parsed.edges.filter((e) => e.stroke === 'normal')) {
      const [from, to] = [nameOf.get(edge.start)!, nameOf.get(edge.end)!];
      if (!workloads.has(from) || !workloads.has(to)) continue;
      for (const port of edge.text.replace(/^:/, '').split(', ')) drawn.add(`${from} -> ${to}:${port}`);
    }
    expect([...allowed].filter((c) => !drawn.has(c))).toEqual([]);
    expect([...drawn].filter((c) => !allowed.has(c))).toEqual([]);
  });

  test('Prometheus scrapes exactly the workloads with a PodMonitor, and each backup goes to its repository', () => {
    const parsed = PARSED.get(key)!;
    const nameOf = new Map(parsed.vertices.map((v) => [v.id, firstLine(v.text)]));
    const scraped = parsed.edges.filter((e) => e.start === 'prometheus').map((e) => nameOf.get(e.end)).sort();
    const monitored = built.applied.filter((o) => o.kind === 'PodMonitor').map((o) => o.spec.selector.matchLabels[NAME]).sort();
    expect(scraped).toEqual([...new Set(monitored)]);
    const cronJobs = built.applied.filter((o) => o.kind === 'CronJob');
    const repositories = new Set(cronJobs.flatMap((c) => c.spec.jobTemplate.spec.template.spec.containers[0].env
      .filter((e: K8sObject) => e.name === 'RESTIC_REPOSITORY' || e.name === 'ARCHIVE_REPOSITORY')
      .map((e: K8sObject) => `${c.metadata.labels[NAME]} -> ${e.value}`)));
    const drawn = new Set(parsed.edges.filter((e) => nameOf.get(e.end)?.startsWith('s3:')).map((e) => `${nameOf.get(e.start)} -> ${nameOf.get(e.end)}`));
    expect([...drawn].sort()).toEqual([...repositories].sort());
  });

  test('its capacity totals are the sums over the folder at minimum and maximum scale', () => {
    for (const [scale, row] of [['min', 'minimum'], ['max', 'maximum']] as const) {
      const expected = expectedTotals(built.applied, scale);
      const actual = readmeTotals(built.readme, row);
      expect(actual).toEqual({
        pods: expected.pods,
        cpuRequest: round3(expected.cpuRequest),
        cpuLimit: round3(expected.cpuLimit),
        memoryRequest: round3(expected.memoryRequest / GIB),
        memoryLimit: round3(expected.memoryLimit / GIB),
        storage: round3(expected.storage / GIB),
        gpus: expected.gpus,
      });
    }
  });

  test('the GPU count is what the configuration asks of its models', () => {
    const models: Record<string, K8sObject> = settingsOf(solution, environment).models;
    const gpus = (scale: 'min' | 'max') => Object.values(models).reduce((sum, m) => sum + (m.resources.gpu ?? 0)
      * (m.autoscaling ? (scale === 'min' ? m.autoscaling.minReplicas : m.autoscaling.maxReplicas) : (m.replicas ?? 2)), 0);
    expect(readmeTotals(built.readme, 'minimum').gpus).toBe(gpus('min'));
    expect(readmeTotals(built.readme, 'maximum').gpus).toBe(gpus('max'));
  });

  test('the header names solution, environment, namespace, release and production', () => {
    const resolved = resolvedOf(solution, environment);
    expect(built.readme.startsWith('<!-- generated by npm run synth: do not edit -->\n')).toBe(true);
    expect(built.readme).toContain(`| Namespace | \`${built.app.namespace.name}\` |`);
    expect(built.readme).toContain(`| Release version | ${resolved.settings.application.version} |`);
    expect(built.readme).toContain(`| Production | ${resolved.production ? 'yes' : 'no'} |`);
  });

  test('every alert links its runbook heading, every restore Job its file and command', () => {
    for (const alert of new Set(alertsBelow(built.app).map((a) => a.alert))) {
      expect(built.readme).toContain(`| ${alert} |`);
      expect(built.readme).toContain(`(../../../docs/runbooks.md#${alert.toLowerCase()})`);
    }
    const ns = built.app.namespace.name;
    for (const [file, jobs] of built.restore) {
      expect(built.readme).toContain(`kubectl -n ${ns} create -f dist/${solution}/${environment}/${file}\n`);
      for (const job of jobs) expect(built.readme).toContain(`kubectl -n ${ns} logs job/${job.metadata.name}\n`);
    }
  });

  test('is deterministic: a second build renders the same text', () => {
    const again = build(solution, environment);
    expect(again.readme).toBe(built.readme);
  });
});

test('at least one environment has GPUs, backups and an autoscaled workload, so the checks above bite', () => {
  const prod = BUILT.get('logistics/prod')!;
  expect(readmeTotals(prod.readme, 'minimum').gpus).toBeGreaterThan(0);
  expect(readmeTotals(prod.readme, 'maximum').pods).toBeGreaterThan(readmeTotals(prod.readme, 'minimum').pods);
  expect(prod.restore.size).toBeGreaterThan(0);
});

test('a pod reserves the larger of its containers\' sum and its largest init container; sidecars add to both', () => {
  const c = (cpu: string, memory: string, extra: K8sObject = {}) => ({ resources: { requests: { cpu, memory }, limits: { cpu, memory } }, ...extra });
  // App containers 0.5 + 0.25; a 2-core init container dominates CPU, the containers dominate memory.
  expect(podResources({ containers: [c('500m', '256Mi'), c('250m', '256Mi')], initContainers: [c('2', '128Mi')] }))
    .toEqual({ cpuRequest: 2, cpuLimit: 2, memoryRequest: 512 * 2 ** 20, memoryLimit: 512 * 2 ** 20, gpus: 0 });
  // A sidecar (restartPolicy Always) of 0.1 runs beside the later init container and the app.
  expect(podResources({ containers: [c('1', '1Gi')], initContainers: [c('100m', '64Mi', { restartPolicy: 'Always' }), c('1', '2Gi')] }))
    .toEqual({ cpuRequest: 1.1, cpuLimit: 1.1, memoryRequest: (2048 + 64) * 2 ** 20, memoryLimit: (2048 + 64) * 2 ** 20, gpus: 0 });
  expect(podResources({ containers: [{ resources: { limits: { cpu: '1', memory: '1Gi', 'nvidia.com/gpu': '2' } } }] }).gpus).toBe(2);
});

test('replicas come from the HPA that targets the workload, by kind and name', () => {
  const pod = { containers: [{ resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } } }] };
  const capacity = capacityOf([
    { kind: 'Deployment', metadata: { name: 'a', labels: {} }, spec: { template: { spec: pod } } },
    { kind: 'Deployment', metadata: { name: 'b', labels: {} }, spec: { replicas: 3, template: { spec: pod } } },
    { kind: 'HorizontalPodAutoscaler', metadata: { name: 'a' }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'a' }, minReplicas: 2, maxReplicas: 5 } },
    { kind: 'HorizontalPodAutoscaler', metadata: { name: 'x' }, spec: { scaleTargetRef: { kind: 'Rollout', name: 'b' }, minReplicas: 9, maxReplicas: 9 } },
  ]);
  expect(capacity.minimum.pods).toBe(5);
  expect(capacity.maximum.pods).toBe(8);
  expect(() => capacityOf([{ kind: 'DaemonSet', metadata: { name: 'd' }, spec: { template: { spec: pod } } }])).toThrow(/DaemonSet d has pods the capacity table cannot count/);
});
