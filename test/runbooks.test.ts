/**
 * docs/runbooks.md against what is deployed: every alert of every environment has exactly one
 * heading its runbook_url reaches, the fault levels equal SEVERITY_POLICIES, and every object a
 * kubectl command names (`<kind>/<name>`, `get <kind> <name>`, a pod of a StatefulSet, a claim, a
 * container, a label selector, a file of dist/) exists in each environment the command applies to.
 * The markdown is read simply: `##`/`###` headings, the fenced code blocks under them.
 */
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import { runbookAnchor } from '../lib/observability/monitoring-settings';
import { SEVERITY_POLICIES, Severity } from '../lib/observability/severity';
import { Manifest, synthesizedMatrix } from './support/manifests';

const RUNBOOKS = join(__dirname, '..', 'docs', 'runbooks.md');
const ALERTS_HEADING = 'Alerts';
const FAULT_PLANS_HEADING = 'Fault plans';
/** Seed 004 11.5's fault plans, each a heading under "Fault plans". */
const FAULT_PLANS = [
  'Database switchover (PostgreSQL)', 'Database switchover (MySQL)', 'Data recovery', 'Service degradation',
  'Cache rebuild (Redis)', 'Fallback to the source', 'Model degradation to the rules engine',
];

interface CodeBlock { readonly info: string; readonly line: number; readonly text: string }
interface Section {
  readonly title: string;
  readonly level: number;
  /** The `##` heading above a `###` one. */
  readonly parent?: string;
  readonly line: number;
  readonly prose: string[];
  readonly blocks: CodeBlock[];
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces as hyphens. */
export function headingAnchor(title: string): string {
  return title.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

function parseSections(markdown: string): Section[] {
  const sections: Section[] = [];
  let current: Section | undefined;
  let parent: string | undefined;
  let fence: { info: string; line: number; lines: string[] } | undefined;
  markdown.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\s+$/, '');
    const fenceMark = /^\s*```(.*)$/.exec(line);
    if (fence) {
      if (fenceMark && fenceMark[1].trim() === '') {
        current?.blocks.push({ info: fence.info, line: fence.line, text: fence.lines.join('\n') });
        fence = undefined;
      } else fence.lines.push(line);
      return;
    }
    if (fenceMark) {
      fence = { info: fenceMark[1].trim(), line: i + 1, lines: [] };
      return;
    }
    const heading = /^(#{1,3}) (.+)$/.exec(line);
    if (heading) {
      const level = heading[1].length;
      if (level === 2) parent = heading[2];
      current = { title: heading[2].trim(), level, parent: level === 3 ? parent : undefined, line: i + 1, prose: [], blocks: [] };
      sections.push(current);
      return;
    }
    current?.prose.push(line);
  });
  return sections;
}

// ---------------------------------------------------------------------------------------------
// Shell commands, simply: words with quotes, `$( )` substitutions as commands of their own,
// `|`, `;`, `&&`, `||` between commands, `#` comments, `\` continuations.

/** Every simple command of `text`, as words with the quotes removed. */
export function shellCommands(text: string): string[][] {
  const commands: string[][] = [];
  const joined = text.replace(/\\\n/g, ' ');
  for (const line of joined.split('\n')) scanCommands(line, commands);
  return commands;
}

/** The index of the `)` that closes the `$(` whose content starts at `start`. */
function closingParen(s: string, start: number): number {
  let depth = 1;
  let quote: string | undefined;
  for (let i = start; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '\'' || c === '"') quote = c;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return s.length;
}

function scanCommands(s: string, out: string[][]): void {
  let words: string[] = [];
  let word: string | undefined;
  const endWord = () => { if (word !== undefined) words.push(word); word = undefined; };
  const endCommand = () => { endWord(); if (words.length) out.push(words); words = []; };
  const substitution = (at: number): number => {
    const close = closingParen(s, at + 2);
    scanCommands(s.slice(at + 2, close), out);
    word = (word ?? '') + '$(...)';
    return close;
  };
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\'') {
      const close = s.indexOf('\'', i + 1);
      word = (word ?? '') + s.slice(i + 1, close < 0 ? s.length : close);
      i = close < 0 ? s.length : close;
    } else if (c === '"') {
      word = word ?? '';
      for (i++; i < s.length && s[i] !== '"'; i++) {
        if (s[i] === '$' && s[i + 1] === '(') i = substitution(i);
        else if (s[i] === '\\' && i + 1 < s.length) word += s[++i];
        else word += s[i];
      }
    } else if (c === '$' && s[i + 1] === '(') i = substitution(i);
    else if (/\s/.test(c)) endWord();
    else if (c === '#' && word === undefined) break;
    else if (c === '|' || c === ';' || c === '&') {
      if (s[i + 1] === c) i++;
      endCommand();
    } else word = (word ?? '') + c;
  }
  endCommand();
}

// ---------------------------------------------------------------------------------------------
// What exists in each environment.

interface Environment {
  readonly id: string;
  readonly solution: string;
  readonly environment: string;
  readonly manifests: Manifest[];
  /** Alert name -> severities. */
  readonly alerts: Map<string, Set<string>>;
  readonly runbookUrls: { alert: string; url: string }[];
}

export function environmentsOf(manifests: readonly Manifest[]): Environment[] {
  const byId = new Map<string, Environment>();
  for (const m of manifests) {
    const id = `${m.solution}/${m.environment}`;
    if (!byId.has(id)) byId.set(id, { id, solution: m.solution, environment: m.environment, manifests: [], alerts: new Map(), runbookUrls: [] });
    const env = byId.get(id)!;
    env.manifests.push(m);
    if (m.object.kind !== 'PrometheusRule') continue;
    for (const group of m.object.spec.groups) {
      for (const rule of group.rules) {
        if (!rule.alert) continue;
        if (!env.alerts.has(rule.alert)) env.alerts.set(rule.alert, new Set());
        env.alerts.get(rule.alert)!.add(rule.labels.severity);
        env.runbookUrls.push({ alert: rule.alert, url: rule.annotations.runbook_url });
      }
    }
  }
  return [...byId.values()];
}

/** kubectl's names for the kinds a runbook may name -> the manifest kind. */
const KINDS: Readonly<Record<string, string>> = Object.fromEntries(([
  ['Pod', 'pod', 'pods', 'po'],
  ['Deployment', 'deployment', 'deployments', 'deploy'],
  ['StatefulSet', 'statefulset', 'statefulsets', 'sts'],
  ['Service', 'service', 'services', 'svc'],
  ['Job', 'job', 'jobs'],
  ['CronJob', 'cronjob', 'cronjobs', 'cj'],
  ['Rollout', 'rollout', 'rollouts', 'ro'],
  ['HorizontalPodAutoscaler', 'hpa', 'horizontalpodautoscaler', 'horizontalpodautoscalers'],
  ['VerticalPodAutoscaler', 'vpa', 'verticalpodautoscaler', 'verticalpodautoscalers'],
  ['PersistentVolumeClaim', 'pvc', 'persistentvolumeclaim', 'persistentvolumeclaims'],
  ['ConfigMap', 'configmap', 'configmaps', 'cm'],
  ['PodDisruptionBudget', 'pdb', 'poddisruptionbudget', 'poddisruptionbudgets'],
  ['PodMonitor', 'podmonitor', 'podmonitors'],
  ['PrometheusRule', 'prometheusrule', 'prometheusrules'],
  ['NetworkPolicy', 'networkpolicy', 'networkpolicies', 'netpol'],
  ['Ingress', 'ingress', 'ingresses', 'ing'],
  ['AnalysisTemplate', 'analysistemplate', 'analysistemplates'],
] as const).flatMap(([kind, ...names]) => names.map((n) => [n, kind])));

/** What `kubectl logs` and `exec` resolve to a pod (a Rollout is not among them). */
const POD_RESOLVABLE = new Set(['Pod', 'Deployment', 'StatefulSet', 'Job', 'Service']);
/** Flags that take the next word as their value. */
const VALUE_FLAGS = new Set([
  '-n', '--namespace', '-c', '--container', '-o', '--output', '-l', '--selector', '-p', '--patch', '--type', '-f', '--filename',
  '--tail', '--since', '--timeout', '--for', '--context', '--field-selector', '--sort-by', '--from', '--replicas', '-w',
]);

function podTemplates(env: Environment, kind: string, name: string, created: Map<string, string>): any[] {
  const find = (k: string, n: string) => env.manifests.find((m) => m.object.kind === k && m.object.metadata?.name === n)?.object;
  const spec = (o: any): any => o?.spec?.jobTemplate?.spec?.template ?? o?.spec?.template;
  if (kind === 'Pod') {
    const owner = statefulSetOfPod(env, name);
    return owner ? [spec(owner.set)] : [];
  }
  if (kind === 'Job' && created.has(name)) return [spec(find('CronJob', created.get(name)!))].filter(Boolean);
  const o = find(kind, name);
  return o && spec(o) ? [spec(o)] : [];
}

function statefulSetOfPod(env: Environment, pod: string): { set: any; ordinal: number } | undefined {
  for (const m of env.manifests) {
    if (m.object.kind !== 'StatefulSet') continue;
    const match = new RegExp(`^${m.object.metadata.name}-(\\d+)$`).exec(pod);
    if (match && Number(match[1]) < (m.object.spec.replicas ?? 1)) return { set: m.object, ordinal: Number(match[1]) };
  }
  return undefined;
}

function exists(env: Environment, kind: string, name: string, created: Map<string, string>): boolean {
  if (kind === 'Pod') return statefulSetOfPod(env, name) !== undefined;
  if (kind === 'PersistentVolumeClaim') {
    return env.manifests.some((m) => m.object.kind === 'StatefulSet' && (m.object.spec.volumeClaimTemplates ?? []).some((t: any) => {
      const match = new RegExp(`^${t.metadata.name}-${m.object.metadata.name}-(\\d+)$`).exec(name);
      return match !== null && Number(match[1]) < (m.object.spec.replicas ?? 1);
    }));
  }
  if (kind === 'Job' && created.has(name)) return true;
  return env.manifests.some((m) => m.object.kind === kind && m.object.metadata?.name === name);
}

function selectorMatches(env: Environment, selector: string): boolean {
  const wanted = selector.split(',').map((p) => p.split('='));
  if (wanted.some((p) => p.length !== 2)) return true; // set-based selectors are not checked
  const labelSets = env.manifests.flatMap((m) => [m.object.metadata?.labels, m.object.spec?.template?.metadata?.labels,
    m.object.spec?.jobTemplate?.spec?.template?.metadata?.labels]).filter(Boolean);
  return labelSets.some((labels) => wanted.every(([k, v]) => labels[k] === v));
}

const unresolved = (word: string) => /\$|</.test(word);

/** Problems with one kubectl command in one environment. */
function checkKubectl(words: string[], env: Environment, created: Map<string, string>, distDir: string): string[] {
  const problems: string[] = [];
  // $SOLUTION and $ENVIRONMENT are the environment's; other variables hold what the alert says (not checked).
  const expand = (w: string) => w.replace(/\$\{?(SOLUTION|ENVIRONMENT)\}?/g, (_all, v) => (v === 'SOLUTION' ? env.solution : env.environment));
  const flags = new Map<string, string[]>();
  const positional: string[] = [];
  for (let i = 1; i < words.length; i++) {
    const w = words[i];
    if (!w.startsWith('-') || w === '-') { positional.push(w); continue; }
    if (w === '--') break; // what follows runs inside the container
    const eq = w.indexOf('=');
    const [flag, value] = eq > 0 ? [w.slice(0, eq), w.slice(eq + 1)] : VALUE_FLAGS.has(w) ? [w, words[++i]] : [w, ''];
    if (!flags.has(flag)) flags.set(flag, []);
    flags.get(flag)!.push(value);
  }
  const flag = (...names: string[]) => names.flatMap((n) => flags.get(n) ?? []);
  if (!flags.has('--local') && flag('-n', '--namespace')[0] !== '$NS') problems.push('has no -n "$NS"');

  const refs: { kind: string; name: string; word: string }[] = [];
  const ref = (word: string, kindWord?: string) => {
    const [k, n] = kindWord ? [kindWord, word] : word.split('/');
    const kind = KINDS[k.toLowerCase()];
    if (!kind) { problems.push(`names ${word}: unknown kind ${k}`); return; }
    if (!unresolved(n)) refs.push({ kind, name: expand(n), word });
  };
  let verb = positional[0];
  let args = positional.slice(1);
  if (verb === 'argo' && positional[1] === 'rollouts') {
    verb = positional[2];
    args = positional.slice(3);
    if (args[0] === 'rollout' || args[0] === 'rollouts') args = args.slice(1);
    if (args[0] && !['list', 'version', 'dashboard'].includes(verb)) ref(args[0], 'rollout');
    args = [];
  } else if (verb === 'rollout' || verb === 'set') {
    args = args.slice(1);
  } else if (verb === 'create' && args[0] === 'job') {
    const from = flag('--from')[0];
    if (from) ref(from);
    args = [];
  }
  for (const from of verb === 'create' ? [] : flag('--from')) ref(from);
  if (args.length && !args[0].includes('/') && KINDS[args[0].toLowerCase()] && ['get', 'describe', 'delete', 'scale', 'patch', 'edit', 'label', 'annotate', 'wait'].includes(verb)) {
    for (const name of args.slice(1)) ref(name, args[0]);
  } else {
    for (const a of args) {
      if (a.includes('/')) ref(a);
      else if (['logs', 'exec', 'attach', 'port-forward'].includes(verb) && !unresolved(a)) ref(a, 'pod');
    }
  }
  for (const r of refs) {
    if (!exists(env, r.kind, r.name, created)) problems.push(`names ${r.word}: no ${r.kind} ${r.name}`);
  }
  if (['logs', 'exec', 'attach', 'port-forward'].includes(verb)) {
    for (const r of refs) if (!POD_RESOLVABLE.has(r.kind)) problems.push(`kubectl ${verb} cannot reach the pods of a ${r.kind} (${r.word}): use a label selector`);
  }
  for (const selector of flag('-l', '--selector')) {
    if (!unresolved(selector) && !selectorMatches(env, selector)) problems.push(`selects ${selector}: no object has those labels`);
  }
  for (const container of flag('-c', '--container')) {
    if (unresolved(container)) continue;
    const templates = [
      ...refs.flatMap((r) => podTemplates(env, r.kind, r.name, created)),
      ...flag('-l', '--selector').flatMap((sel) => env.manifests.map((m) => m.object.spec?.template).filter((t) => t && sel.split(',').every((p) => t.metadata?.labels?.[p.split('=')[0]] === p.split('=')[1]))),
    ];
    if (!templates.length) continue;
    for (const t of templates) {
      const names = [...(t.spec.containers ?? []), ...(t.spec.initContainers ?? [])].map((c: any) => c.name);
      if (!names.includes(container)) problems.push(`container ${container}: the pods have ${names.join(', ')}`);
    }
  }
  for (const file of flag('-f', '--filename')) {
    if (file === '-') continue;
    const path = expand(file);
    if (!path.startsWith('dist/') || unresolved(path)) problems.push(`file ${file}: not a path below dist/ with $SOLUTION and $ENVIRONMENT`);
    else if (!existsSync(join(distDir, path.slice('dist/'.length)))) problems.push(`file ${path} does not exist`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------

/** Every problem of the runbook document against the synthesized environments. */
export function runbookProblems(markdown: string, environments: readonly Environment[], distDir: string): string[] {
  const problems: string[] = [];
  const sections = parseSections(markdown);
  const anchors = new Map<string, Section[]>();
  for (const s of sections) {
    const a = headingAnchor(s.title);
    anchors.set(a, [...(anchors.get(a) ?? []), s]);
  }
  for (const [a, list] of anchors) if (list.length > 1) problems.push(`#${a}: ${list.length} headings (lines ${list.map((s) => s.line).join(', ')})`);

  // Every alert's runbook_url reaches exactly one heading of this document.
  for (const env of environments) {
    for (const { alert, url } of env.runbookUrls) {
      const [base, fragment] = url.split('#');
      if (!base.endsWith('/docs/runbooks.md')) problems.push(`${env.id} ${alert}: runbook_url ${url} is not docs/runbooks.md`);
      if (fragment !== runbookAnchor(alert)) problems.push(`${env.id} ${alert}: runbook_url fragment ${fragment}`);
      const headings = (anchors.get(fragment) ?? []).filter((s) => s.parent === ALERTS_HEADING);
      if (headings.length !== 1) problems.push(`${env.id} ${alert}: ${headings.length} headings under "${ALERTS_HEADING}" for #${fragment}`);
    }
  }
  // In-document links reach a heading.
  for (const [, anchor] of markdown.matchAll(/\]\(#([^)]+)\)/g)) {
    if (!anchors.has(anchor)) problems.push(`link #${anchor}: no such heading`);
  }
  for (const plan of FAULT_PLANS) {
    if (!sections.some((s) => s.title === plan && s.parent === FAULT_PLANS_HEADING)) problems.push(`fault plan "${plan}": no heading under "${FAULT_PLANS_HEADING}"`);
  }

  const resolve = (token: string): Environment[] => environments.filter((e) => token === e.id || token === e.solution || token === e.environment);
  for (const section of sections) {
    const where = `"${section.title}" (line ${section.line})`;
    const alertEnvs = section.parent === ALERTS_HEADING ? environments.filter((e) => e.alerts.has(section.title)) : [];
    const appliesLine = section.prose.find((l) => /^Applies to:/.test(l));
    let envs = alertEnvs;
    if (section.parent !== ALERTS_HEADING && appliesLine) {
      envs = [];
      for (const token of appliesLine.replace(/^Applies to:/, '').split(',').map((t) => t.trim()).filter(Boolean)) {
        const matched = resolve(token);
        if (!matched.length) problems.push(`${where}: "Applies to: ${token}" is no solution or environment`);
        envs.push(...matched.filter((e) => !envs.includes(e)));
      }
    }
    if (section.parent === ALERTS_HEADING && !alertEnvs.length) problems.push(`${where}: no environment has this alert`);
    if (section.parent === ALERTS_HEADING && alertEnvs.length) {
      const stated = new Set(/(?:^|\s)Severity ([^.]*)\./.exec(section.prose.join(' '))?.[1].match(/P[0-3]/g) ?? []);
      const actual = new Set(alertEnvs.flatMap((e) => [...e.alerts.get(section.title)!]));
      if ([...stated].sort().join() !== [...actual].sort().join()) problems.push(`${where}: states severity ${[...stated].join(', ') || 'none'} but the alert is ${[...actual].join(', ')}`);
    }

    // Jobs the section creates itself (`kubectl create job --from=cronjob/x name`) exist for its later commands.
    const created = new Map<string, string>();
    for (const block of section.blocks) {
      for (const words of shellCommands(block.text)) {
        const i = words.indexOf('create');
        if (words[0] === 'kubectl' && i > 0 && words[i + 1] === 'job') {
          const from = words.find((w) => w.startsWith('--from='))?.split('/')[1];
          const name = words.slice(i + 2).find((w) => !w.startsWith('-'));
          if (name && from) created.set(name, from);
        }
      }
    }
    for (const block of section.blocks) {
      const commands = shellCommands(block.text).filter((w) => w.length);
      if (!commands.some((w) => w.includes('kubectl'))) continue;
      const filter = /(?:^|\s)env=(\S+)/.exec(block.info)?.[1];
      let blockEnvs = envs;
      if (filter) {
        const tokens = filter.split(',');
        for (const t of tokens) if (!resolve(t).length) problems.push(`${where}, block at line ${block.line}: env=${t} is no solution or environment`);
        blockEnvs = envs.filter((e) => tokens.some((t) => resolve(t).includes(e)));
      }
      if (!blockEnvs.length) { problems.push(`${where}, block at line ${block.line}: applies to no environment`); continue; }
      for (const words of commands) {
        const start = words.indexOf('kubectl');
        if (start < 0) continue;
        const kubectl = words.slice(start);
        for (const env of blockEnvs) {
          for (const p of checkKubectl(kubectl, env, created, distDir)) problems.push(`${where}, ${env.id}: \`${kubectl.join(' ')}\` ${p}`);
        }
      }
    }
  }
  return problems;
}

/** Minutes as the fault level table writes them: 15 min, 4 h, 5 d. */
export function duration(minutes: number): string {
  if (minutes < 60) return `${minutes} min`;
  if (minutes <= 24 * 60) return `${minutes / 60} h`;
  return `${minutes / (24 * 60)} d`;
}

function faultLevelRows(markdown: string): string[][] {
  const start = markdown.indexOf('\n## Fault levels');
  const end = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, end).split('\n').filter((l) => /^\| P\d /.test(l)).map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
}

describe('docs/runbooks.md', () => {
  const markdown = readFileSync(RUNBOOKS, 'utf8');
  const matrix = synthesizedMatrix();
  const environments = environmentsOf(matrix.environmentManifests);

  test('the matrix has environments with alerts to check', () => {
    expect(environments.map((e) => e.id).sort()).toEqual(expect.arrayContaining(['logistics/prod', 'real-estate/prod']));
    for (const env of environments) expect(env.alerts.size).toBeGreaterThan(10);
  });

  test('every alert has exactly one heading its runbook_url reaches; every kubectl command names objects that exist where it applies', () => {
    expect(runbookProblems(markdown, environments, matrix.dir)).toEqual([]);
  });

  test('the fault level table equals SEVERITY_POLICIES (seed 000 response and recovery times)', () => {
    const rows = faultLevelRows(markdown);
    expect(rows.map((r) => r[0])).toEqual(Object.values(Severity));
    for (const [level, meaning, respond, recover, escalation] of rows) {
      const policy = SEVERITY_POLICIES[level as Severity];
      expect({ level, meaning, respond, recover, escalation }).toEqual({
        level, meaning: policy.meaning, respond: duration(policy.responseMinutes), recover: duration(policy.recoveryMinutes),
        escalation: policy.escalation.map((e) => `\`${e}\``).join(', '),
      });
    }
    expect(rows.slice(0, 3).map((r) => [r[2], r[3]])).toEqual([['15 min', '1 h'], ['30 min', '4 h'], ['1 h', '8 h']]);
  });

  describe('finds what is wrong', () => {
    const problems = (doc: string) => runbookProblems(doc, environments, matrix.dir);

    test('a misspelt object name, in every environment the section applies to', () => {
      const planted = markdown.replace('kubectl -n "$NS" delete pod/mysql-primary-0', 'kubectl -n "$NS" delete statefulset/mysql-primray');
      expect(planted).not.toBe(markdown);
      const found = problems(planted);
      expect(found).toEqual(['logistics/dev', 'logistics/prod', 'logistics/test'].map((env) => expect.stringMatching(
        new RegExp(`^"MysqlPrimaryDown" \\(line \\d+\\), ${env}: \`kubectl -n \\$NS delete statefulset/mysql-primray\` names statefulset/mysql-primray: no StatefulSet mysql-primray$`))));
    });

    test('an object that exists in one environment only, in a block for all of them', () => {
      const planted = markdown.replace('```sh env=logistics/prod\nkubectl -n "$NS" scale rollout/api --replicas=0', '```sh env=logistics\nkubectl -n "$NS" scale rollout/api --replicas=0');
      expect(planted).not.toBe(markdown);
      const found = problems(planted);
      expect(found).toHaveLength(2);
      expect(found.join('\n')).toMatch(/logistics\/dev: .*no Rollout api/);
      expect(found.join('\n')).toMatch(/logistics\/test: .*no Rollout api/);
    });

    test('a pod past the StatefulSet\'s replicas, a wrong container, a selector and a file that match nothing, logs of a Rollout', () => {
      const planted = markdown
        .replace('logs pod/mysql-replica-0 -c mysql --tail=200', 'logs pod/mysql-replica-1 -c mysqld --tail=200')
        .replace('-l app.kubernetes.io/name=mysql-replica -o wide', '-l app.kubernetes.io/name=mysql-replicas -o wide')
        .replace('restore/mysql.k8s.yaml"\nkubectl -n "$NS" wait', 'restore/mysq.k8s.yaml"\nkubectl -n "$NS" wait')
        .replace('kubectl argo rollouts -n "$NS" get rollout recommendation', 'kubectl -n "$NS" logs rollout/recommendation -c recommendation');
      const found = problems(planted).join('\n');
      expect(found).toMatch(/logistics\/dev: .*names pod\/mysql-replica-1: no Pod mysql-replica-1/);
      expect(found).not.toMatch(/logistics\/prod: .*no Pod mysql-replica-1/); // prod runs two replicas
      expect(found).toMatch(/logistics\/prod: .*container mysqld: the pods have mysql, mysqld-exporter/);
      expect(found).toMatch(/selects app.kubernetes.io\/name=mysql-replicas: no object has those labels/);
      expect(found).toMatch(/file dist\/logistics\/prod\/restore\/mysq.k8s.yaml does not exist/);
      expect(found).toMatch(/real-estate\/prod: .*kubectl logs cannot reach the pods of a Rollout/);
    });

    test('an alert without its heading, a heading twice, a broken link, a wrong severity, a missing fault plan', () => {
      const planted = markdown
        .replace('### MysqlReplicaDown', '### MysqlReplicaGone')
        .replace('### RedisDown', '### RedisPrimaryDown')
        .replace('Severity P2. A container uses over 90%', 'Severity P3. A container uses over 90%')
        .replace('### Fallback to the source', '### Fallback');
      const found = problems(planted).join('\n');
      expect(found).toMatch(/logistics\/prod MysqlReplicaDown: 0 headings under "Alerts" for #mysqlreplicadown/);
      expect(found).toMatch(/"MysqlReplicaGone" .*no environment has this alert/);
      expect(found).toMatch(/#redisprimarydown: 2 headings/);
      expect(found).toMatch(/link #redisdown: no such heading/);
      expect(found).toMatch(/"ContainerCpuNearLimit" .*states severity P3 but the alert is P2/);
      expect(found).toMatch(/fault plan "Fallback to the source": no heading/);
    });

    test('a command without the environment\'s namespace', () => {
      const found = problems(markdown.replace('kubectl -n "$NS" describe pod/mysql-primary-0', 'kubectl describe pod/mysql-primary-0'));
      expect(found.join('\n')).toMatch(/logistics\/prod: `kubectl describe pod\/mysql-primary-0` has no -n "\$NS"/);
    });
  });
});

describe('shellCommands', () => {
  test('splits pipes, substitutions and continuations; removes quotes', () => {
    expect(shellCommands('kubectl -n "$NS" exec "$(kubectl -n "$NS" get pods -o name | head -n 1)" -c api -- cat /x # why\nA=1 \\\n  kubectl get \'a b\'')).toEqual([
      ['kubectl', '-n', '$NS', 'get', 'pods', '-o', 'name'], ['head', '-n', '1'],
      ['kubectl', '-n', '$NS', 'exec', '$(...)', '-c', 'api', '--', 'cat', '/x'],
      ['A=1', 'kubectl', 'get', 'a b'],
    ]);
  });

  test('GitHub anchors of the fault plan headings', () => {
    expect(headingAnchor('Database switchover (MySQL)')).toBe('database-switchover-mysql');
    expect(headingAnchor('Model degradation to the rules engine')).toBe('model-degradation-to-the-rules-engine');
  });
});
