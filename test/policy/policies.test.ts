import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { App, Chart, Testing } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { parseAllDocuments } from 'yaml';
import { ApiService } from '../../lib/api-service';
import { AppConfig } from '../../lib/app-config';
import { AppNamespace } from '../../lib/namespace';
import { EXEMPTION_ANNOTATION_PREFIX, Policies, renderRulesTable } from '../../lib/policy';
import { ENVIRONMENT_CONTEXT_KEY, SOLUTION_CONTEXT_KEY } from '../../lib/validation';

const RESOURCES = { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '2', memory: '2Gi' } };

let outdir: string;
beforeEach(() => { outdir = mkdtempSync(join(tmpdir(), 'policy-')); });
afterEach(() => rmSync(outdir, { recursive: true, force: true }));

/** One environment as main.ts builds it: a namespace chart, then the charts that fill it. */
function environmentApp(environment: string): { app: App; namespace: Chart; data: Chart; tier: Chart } {
  const app = new App({ outdir });
  app.node.setContext(SOLUTION_CONTEXT_KEY, 'logistics');
  app.node.setContext(ENVIRONMENT_CONTEXT_KEY, environment);
  const namespace = new Chart(app, 'namespace');
  new AppNamespace(namespace, 'namespace', { name: `logistics-${environment}` });
  const data = new Chart(app, 'data', { namespace: `logistics-${environment}` });
  const tier = new Chart(app, 'app', { namespace: `logistics-${environment}` });
  return { app, namespace, data, tier };
}

function api(scope: Construct, props: { replicas?: number; autoscaling?: { minReplicas: number; maxReplicas: number } } = {}): ApiService {
  const config = new AppConfig(scope, 'config', {
    settings: { DB_HOST: 'mysql', DB_PORT: '3306', REDIS_HOST: 'redis' },
    properties: { 'app.name': 'logistics', 'recommendation.top_k': 10 },
  });
  return new ApiService(scope, 'api', {
    image: { repository: 'registry.example.com/logistics/api', tag: '1.4.2' },
    resources: RESOURCES,
    config,
    secretEnv: { DB_PASSWORD: { name: 'logistics-secret', key: 'db_password' }, API_KEY: { name: 'logistics-secret', key: 'api_key' } },
    ...props,
  });
}

/** A Deployment that breaks resources-set only (it sits in a namespace with default-deny). */
function deploymentWithoutLimits(scope: Construct, name: string): k8s.KubeDeployment {
  const labels = { 'app.kubernetes.io/name': name };
  return new k8s.KubeDeployment(scope, name, {
    metadata: { name },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [{
            name,
            image: 'registry.example.com/logistics/worker:1.0.0',
            livenessProbe: { exec: { command: ['true'] } },
            readinessProbe: { exec: { command: ['true'] } },
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true },
          }],
        },
      },
    },
  });
}

describe('a compliant environment built from the repo\'s constructs', () => {
  test.each(['prod', 'dev'])('synthesizes in %s with Policies enforced', (environment) => {
    const { app, tier } = environmentApp(environment);
    api(tier, environment === 'prod' ? { autoscaling: { minReplicas: 3, maxReplicas: 10 } } : { replicas: 1 });
    Policies.enforce(app);
    expect(Policies.check(app)).toEqual([]);
    app.synth();
    expect(readdirSync(outdir).sort()).toEqual(['app.k8s.yaml', 'data.k8s.yaml', 'namespace.k8s.yaml']);
  });
});

describe('Policies.enforce', () => {
  test('App.synth() throws once, listing every violation of every chart, and writes nothing', () => {
    const { app, data, tier } = environmentApp('prod');
    deploymentWithoutLimits(data, 'worker');
    new k8s.KubeService(tier, 'orphan', { metadata: { name: 'orphan' }, spec: { selector: { 'app.kubernetes.io/name': 'nobody' }, ports: [{ port: 80 }] } });
    new k8s.KubeHorizontalPodAutoscalerV2(tier, 'hpa', {
      metadata: { name: 'ghost' },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'ghost' }, minReplicas: 2, maxReplicas: 4 },
    });
    Policies.enforce(app);

    let message = '';
    try {
      app.synth();
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message.split('\n')).toEqual([
      'Validation failed with the following errors:',
      '  [data] 1 policy violation in chart "data": fix each, or exempt the object with Policies.exempt(construct, \'<rule-id>\', \'<reason>\')',
      '  [data] Deployment logistics-prod/worker container "worker": [resources-set] has no cpu request, memory request, cpu limit or memory limit. '
      + 'Fix: set resources.requests.cpu, resources.requests.memory, resources.limits.cpu and resources.limits.memory (construct prop "resources").',
      '  [app] 2 policy violations in chart "app": fix each, or exempt the object with Policies.exempt(construct, \'<rule-id>\', \'<reason>\')',
      '  [app] Service logistics-prod/orphan: [service-selects-pods] selects no pods: no workload in namespace "logistics-prod" has pod labels app.kubernetes.io/name=nobody. '
      + 'Fix: set the Service selector to the selector labels of the workload it fronts (Workload.labels.selectorLabels).',
      '  [app] HorizontalPodAutoscaler logistics-prod/ghost: [hpa-target-exists] targets Deployment "ghost" (apps/v1), which does not exist in namespace "logistics-prod". '
      + 'Fix: create Deployment "ghost" in the same namespace or point scaleTargetRef at an existing workload.',
    ]);
    expect(readdirSync(outdir).filter((f) => f.endsWith('.yaml'))).toEqual([]);
  });

  test('Testing.synth() of an enforced chart throws too', () => {
    const chart = Testing.chart();
    deploymentWithoutLimits(chart, 'worker');
    Policies.enforce(chart);
    expect(() => Testing.synth(chart)).toThrow(/\[test\] Deployment worker container "worker": \[resources-set\] has no cpu request/);
  });

  test('enforcing twice reports each violation once', () => {
    const { app, data } = environmentApp('dev');
    deploymentWithoutLimits(data, 'worker');
    Policies.enforce(app);
    Policies.enforce(app);
    expect(() => app.synth()).toThrow(/Validation failed with the following errors:\n {2}\[data\] 1 policy violation in chart "data"[^\n]*\n {2}\[data\] Deployment[^\n]*$/);
  });

  test('a chart created after enforce(app) is reported as unchecked', () => {
    const { app } = environmentApp('dev');
    Policies.enforce(app);
    new Chart(app, 'late', { namespace: 'logistics-dev' });
    expect(() => app.synth()).toThrow(/Chart "late" was created after Policies.enforce\(app\), so its objects were not checked/);
  });

  test('a scope without charts is refused', () => {
    const chart = Testing.chart();
    const plain = new Construct(chart, 'plain');
    expect(() => Policies.enforce(plain)).toThrow('Policies.enforce(test/plain) needs an App or a Chart, but it holds no Chart');
  });
});

describe('Policies.exempt', () => {
  test('an exempted object passes that rule and carries the reason into the manifest', () => {
    const chart = Testing.chart();
    const worker = deploymentWithoutLimits(chart, 'worker');
    new k8s.KubeNetworkPolicy(chart, 'deny', { metadata: { name: 'deny' }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } });
    Policies.enforce(chart);
    Policies.exempt(worker, 'resources-set', 'Burst worker sized by the node; capped by the namespace LimitRange.');
    const manifest = Testing.synth(chart).find((o) => o.kind === 'Deployment');
    expect(manifest.metadata.annotations).toEqual({
      'policy.ai-platform.io/exempt-resources-set': 'Burst worker sized by the node; capped by the namespace LimitRange.',
    });
  });

  test('an exemption covers one rule: the object still answers to the others', () => {
    const chart = Testing.chart();
    const worker = deploymentWithoutLimits(chart, 'worker');
    Policies.exempt(worker, 'resources-set', 'Sized by the node.');
    expect(Policies.check(chart).map((v) => v.ruleId)).toEqual(['network-policy-present']);
  });

  test('exempting a construct annotates only the objects the rule examines, and is visible in dist/', () => {
    const { app, tier } = environmentApp('prod');
    const service = api(tier, { replicas: 2 });
    Policies.enforce(app);
    const annotated = Policies.exempt(service, 'probes-set', 'The API answers probes on a port the mesh owns.');
    expect(annotated.map((o) => `${o.kind}/${o.name}`)).toEqual(['Deployment/api']);
    app.synth();
    const docs = parseAllDocuments(readFileSync(join(outdir, 'app.k8s.yaml'), 'utf8')).map((d) => d.toJSON());
    const annotationsOf = (kind: string) => docs.find((d) => d.kind === kind).metadata.annotations ?? {};
    expect(annotationsOf('Deployment')[`${EXEMPTION_ANNOTATION_PREFIX}probes-set`]).toBe('The API answers probes on a port the mesh owns.');
    expect(Object.keys(annotationsOf('Service')).filter((k) => k.startsWith(EXEMPTION_ANNOTATION_PREFIX))).toEqual([]);
  });

  test.each(['', '   '])('a blank reason (%j) is refused', (reason) => {
    const chart = Testing.chart();
    const worker = deploymentWithoutLimits(chart, 'worker');
    expect(() => Policies.exempt(worker, 'resources-set', reason))
      .toThrow(`test: Policies.exempt(test/worker).reason must be a non-empty explanation of why the rule does not apply but ${JSON.stringify(reason)} was provided`);
  });

  test('an unknown rule id is refused, listing the known ones', () => {
    const chart = Testing.chart();
    const worker = deploymentWithoutLimits(chart, 'worker');
    expect(() => Policies.exempt(worker, 'resource-set', 'typo'))
      .toThrow(/Policies\.exempt\(test\/worker\)\.ruleId must be one of the policy rules \(resources-set, probes-set, .*network-policy-present\) but "resource-set" was provided/);
  });

  test('a construct with no object the rule examines is refused', () => {
    const chart = Testing.chart();
    const svc = new k8s.KubeService(chart, 'svc', { metadata: { name: 'svc' }, spec: { ports: [{ port: 80 }] } });
    expect(() => Policies.exempt(svc, 'resources-set', 'not a workload'))
      .toThrow('Policies.exempt(test/svc).scope must be a construct holding an object that rule "resources-set" examines but "objects of kind Service" was provided');
  });

  test('exemption annotations written by hand are checked too', () => {
    const chart = Testing.chart();
    const worker = deploymentWithoutLimits(chart, 'worker');
    worker.metadata.addAnnotation(`${EXEMPTION_ANNOTATION_PREFIX}resources-set`, ' ');
    worker.metadata.addAnnotation(`${EXEMPTION_ANNOTATION_PREFIX}no-latest`, 'we pin elsewhere');
    const found = Policies.check(chart).map(String);
    expect(found).toContain('Deployment worker: [policy-exemption] annotation policy.ai-platform.io/exempt-resources-set gives no reason. '
      + 'Fix: write why the object may break the rule as the annotation value (Policies.exempt(construct, ruleId, reason)).');
    expect(found).toContainEqual(expect.stringMatching(/^Deployment worker: \[policy-exemption\] annotation policy\.ai-platform\.io\/exempt-no-latest exempts from "no-latest", which is not a policy rule\. Fix: use one of resources-set, /));
    // A blank reason exempts nothing.
    expect(found).toContainEqual(expect.stringContaining('[resources-set]'));
  });
});

describe('Policies.rules and the README table', () => {
  test('every rule has a unique kebab-case id, a description and a fix', () => {
    const ids = Policies.rules.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([
      'resources-set', 'probes-set', 'image-pinned', 'pod-security-restricted', 'read-only-root-fs', 'no-host-access', 'prod-ha',
      'service-selects-pods', 'hpa-target-exists', 'no-secret-data', 'no-credential-literals', 'sa-token-not-mounted', 'network-policy-present',
    ]);
    for (const rule of Policies.rules) {
      expect(rule.id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(rule.description.length).toBeGreaterThan(20);
      expect(rule.fix.length).toBeGreaterThan(20);
      expect(Policies.rule(rule.id)).toBe(rule);
    }
  });

  test('the Markdown table has a header and one row per rule', () => {
    const lines = renderRulesTable().trimEnd().split('\n');
    expect(lines.slice(0, 2)).toEqual(['| Rule | What it checks | Fix |', '| --- | --- | --- |']);
    expect(lines.slice(2).map((l) => /^\| `([a-z-]+)` \| [^|]+ \| [^|]+ \|$/.exec(l)?.[1])).toEqual(Policies.rules.map((r) => r.id));
    expect(Policies.markdownTable()).toBe(renderRulesTable(Policies.rules));
  });
});
