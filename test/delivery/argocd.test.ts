/** GitOps with Argo CD (R21, issue 18 items 3, 4 and the Argo CD pitfalls of 8). */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ApiObject, App, Chart, Testing } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { SYNC_HOOK_ANNOTATIONS } from '../../lib/argocd-hooks';
import { RestoreChart } from '../../lib/backup/restore-chart';
import { GitOpsSettings, gitops as repositoryGitOps } from '../../lib/config/gitops';
import { namespaceOf, resolveEnvironment } from '../../lib/config/solution-definition';
import {
  APPLICATION_HEALTH_KEY, APPLICATION_HEALTH_LUA, ArgoCdCustomizations, buildArgoCd, EnvironmentApplication, GitOpsEnvironment,
  IN_CLUSTER_SERVER, ShippedManifest, PROGRESSIVE_SYNCS_KEY, RegionalRollout, resolveGitOps, RollingSyncStep, rollingSyncProblems,
  shippedIn, shippedOf, stampSyncWaves, stepMatches, SYNC_WAVE_ANNOTATION, SyncWave, syncWaveOf, CLUSTER_SCOPED_KINDS,
} from '../../lib/delivery/argocd';
import { groupOf } from '../../lib/policy/manifest';
import { SOLUTIONS } from '../../lib/solutions';
import { logisticsSolution } from '../../lib/solutions/logistics';
import { buildEnvironment } from '../../lib/solutions/solution';
import { ConfigError } from '../../lib/validation';
import { KubernetesSchema } from '../support/kubernetes-schema';

const REPO = 'https://git.example.com/team/platform.git';

const settings = (overrides: Partial<GitOpsSettings> = {}): GitOpsSettings => ({
  repoURL: REPO,
  solutions: {
    shop: {
      regions: [
        { name: 'east', maxUpdate: 1, clusters: ['east-1'] },
        { name: 'central', maxUpdate: '50%', clusters: ['central-1', 'central-2'] },
        { name: 'west', maxUpdate: 0, clusters: ['west-1'] },
      ],
    },
  },
  ...overrides,
});

/** What an environment of the fixture solution `shop` ships: a Namespace, a data tier, an app tier; prod and test autoscale the api. */
function manifests(namespace: string, autoscaled: boolean): ShippedManifest[] {
  const objects: ShippedManifest[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
    { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'default-deny-all', namespace } },
    { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', namespace } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'db', namespace } },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api', namespace } },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'worker', namespace } },
    { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'api', namespace } },
    { apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', metadata: { name: 'api', namespace } },
  ];
  if (autoscaled) {
    objects.push(
      { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'web', namespace } },
      { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'api', namespace }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' } } },
      { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'web', namespace }, spec: { scaleTargetRef: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: 'web' } } },
    );
  }
  return objects;
}

function environment(name: string, production = false): GitOpsEnvironment {
  const namespace = `shop-${name}`;
  return { solution: 'shop', environment: name, namespace, production, ...shippedOf(manifests(namespace, name !== 'dev')) };
}

const ENVIRONMENTS = [environment('dev'), environment('test'), environment('prod', true)];

/** Every object of every YAML file directly in `folder`. */
function objectsIn(folder: string): Record<string, any>[] {
  return readdirSync(folder).filter((f) => f.endsWith('.yaml')).sort()
    .flatMap((f) => parseAllDocuments(readFileSync(join(folder, f), 'utf8')).map((d) => d.toJS()));
}

function build(environments: readonly GitOpsEnvironment[] = ENVIRONMENTS, gitops: GitOpsSettings = settings()) {
  const outdir = mkdtempSync(join(tmpdir(), 'argocd-'));
  const result = buildArgoCd({ outdir, gitops, environments });
  const bootstrap = objectsIn(join(outdir, 'argocd'));
  const children = objectsIn(join(outdir, 'argocd', 'shop'));
  const find = (objects: Record<string, any>[], kind: string, name: string) => {
    const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
    if (!found) throw new Error(`no ${kind} ${name} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
    return found;
  };
  return { outdir, result, bootstrap, children, find };
}

const schema = new KubernetesSchema();

describe('dist/argocd layout: one non-recursive kubectl apply bootstraps, the root applications manage the rest', () => {
  const { outdir, result, bootstrap, children } = build();
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  test('the bootstrap folder holds the Argo CD settings, the projects and the root application; the solution folder its environments', () => {
    expect(readdirSync(join(outdir, 'argocd')).sort()).toEqual(['0000-argocd-config.k8s.yaml', '0001-projects.k8s.yaml', '0002-roots.k8s.yaml', 'shop']);
    expect(bootstrap.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'ConfigMap/argocd-cm', 'ConfigMap/argocd-cmd-params-cm', 'AppProject/shop', 'AppProject/shop-root', 'Application/shop-root',
    ]);
    expect(children.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['Application/shop-dev', 'Application/shop-test', 'ApplicationSet/shop-prod']);
    expect(result).toMatchObject({ outdir: join(outdir, 'argocd'), files: 4, objects: 8 });
    expect(result.applied).toHaveLength(8);
    for (const o of [...bootstrap, ...children]) expect(o.metadata.namespace).toBe('argocd');
  });

  test('every object validates strictly against Kubernetes 1.27 and the vendored Argo CD CRDs', () => {
    for (const o of [...bootstrap, ...children]) expect([`${o.kind}/${o.metadata.name}`, schema.validate(o)]).toEqual([`${o.kind}/${o.metadata.name}`, []]);
  });

  test('the root application reads <prefix>/argocd/<solution>, non-recursively, synced automatically, in a project that admits only Applications and ApplicationSets in argocd', () => {
    const root = bootstrap.find((o) => o.kind === 'Application')!;
    expect(root.spec.source).toEqual({ repoURL: REPO, targetRevision: 'main', path: 'dist/argocd/shop', directory: { recurse: false } });
    expect(root.spec.destination).toEqual({ server: IN_CLUSTER_SERVER, namespace: 'argocd' });
    expect(root.spec.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
    expect(root.metadata.finalizers).toBeUndefined();
    const project = bootstrap.find((o) => o.kind === 'AppProject' && o.metadata.name === root.spec.project)!;
    expect(project.spec.destinations).toEqual([{ server: IN_CLUSTER_SERVER, namespace: 'argocd' }]);
    expect(project.spec.namespaceResourceWhitelist).toEqual([{ group: 'argoproj.io', kind: 'Application' }, { group: 'argoproj.io', kind: 'ApplicationSet' }]);
    expect(project.spec.clusterResourceWhitelist).toBeUndefined();
    expect(project.spec.sourceRepos).toEqual([REPO]);
  });

  test('children are ordered dev, test, then production: waves wait for the previous environment (with the Application health check)', () => {
    expect(children.map((o) => o.metadata.annotations[SYNC_WAVE_ANNOTATION])).toEqual(['0', '1', '2']);
  });
});

describe('AppProject per solution: only its repository, its namespaces on their clusters, the kinds it ships', () => {
  const { outdir, bootstrap, find } = build();
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));
  const project = find(bootstrap, 'AppProject', 'shop');

  test('sources: the configured repository only', () => {
    expect(project.spec.sourceRepos).toEqual([REPO]);
  });

  test('destinations: dev and test namespaces in Argo CD\'s cluster, the prod namespace on each configured prod cluster, nothing else', () => {
    expect(project.spec.destinations).toEqual([
      { server: IN_CLUSTER_SERVER, namespace: 'shop-dev' },
      { server: IN_CLUSTER_SERVER, namespace: 'shop-test' },
      ...['east-1', 'central-1', 'central-2', 'west-1'].map((name) => ({ name, namespace: 'shop-prod' })),
    ]);
  });

  test('namespaced kinds: exactly the union of what the environments ship; cluster-wide: their Namespaces by name only', () => {
    const shipped = new Set(ENVIRONMENTS.flatMap((e) => e.kinds).filter((k) => k.kind !== 'Namespace').map((k) => `${k.group}/${k.kind}`));
    const listed = project.spec.namespaceResourceWhitelist.map((k: { group: string; kind: string }) => `${k.group}/${k.kind}`);
    expect(listed).toEqual([...shipped].sort());
    expect(listed).toEqual([
      '/Service', 'apps/Deployment', 'apps/StatefulSet', 'argoproj.io/Rollout', 'autoscaling/HorizontalPodAutoscaler',
      'monitoring.coreos.com/PodMonitor', 'networking.k8s.io/Ingress', 'networking.k8s.io/NetworkPolicy',
    ]);
    expect(project.spec.clusterResourceWhitelist).toEqual(['shop-dev', 'shop-prod', 'shop-test'].map((name) => ({ group: '', kind: 'Namespace', name })));
  });

  test('a kind one environment adds is admitted; a kind nobody ships is not', () => {
    const extra = { ...environment('dev'), kinds: [...environment('dev').kinds, { group: 'batch', kind: 'CronJob' }] };
    const withCronJob = build([extra, environment('test'), environment('prod', true)]);
    const listed = withCronJob.find(withCronJob.bootstrap, 'AppProject', 'shop').spec.namespaceResourceWhitelist;
    rmSync(withCronJob.outdir, { recursive: true, force: true });
    expect(listed).toContainEqual({ group: 'batch', kind: 'CronJob' });
    expect(project.spec.namespaceResourceWhitelist).not.toContainEqual({ group: 'batch', kind: 'CronJob' });
    expect(project.spec.namespaceResourceWhitelist).not.toContainEqual({ group: '', kind: 'Secret' });
  });
});

describe('environment Applications', () => {
  const { outdir, children, find } = build();
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  test.each(['dev', 'test'])('%s reads dist/shop/<env> non-recursively (restore/ is never applied) into its namespace', (env) => {
    const app = find(children, 'Application', `shop-${env}`);
    expect(app.spec.project).toBe('shop');
    expect(app.spec.source).toEqual({ repoURL: REPO, targetRevision: 'main', path: `dist/shop/${env}`, directory: { recurse: false } });
    expect(app.spec.destination).toEqual({ server: IN_CLUSTER_SERVER, namespace: `shop-${env}` });
    expect(app.spec.revisionHistoryLimit).toBe(10);
    // No cascade: deleting the Application never deletes the environment's data (R14).
    expect(app.metadata.finalizers).toBeUndefined();
  });

  test.each(['dev', 'test'])('%s syncs automatically, prunes and heals drift, retries with backoff', (env) => {
    const policy = find(children, 'Application', `shop-${env}`).spec.syncPolicy;
    expect(policy.automated).toEqual({ prune: true, selfHeal: true });
    expect(policy.syncOptions).toEqual(['ServerSideApply=true', 'CreateNamespace=false', 'PruneLast=true', 'RespectIgnoreDifferences=true']);
    expect(policy.retry).toEqual({ limit: 5, backoff: { duration: '10s', factor: 2, maxDuration: '180s' } });
  });

  test('the replicas an HPA owns are ignored, and only those (the Deployment and the Rollout; not the worker)', () => {
    expect(find(children, 'Application', 'shop-test').spec.ignoreDifferences).toEqual([
      { group: 'apps', kind: 'Deployment', name: 'api', jsonPointers: ['/spec/replicas'] },
      { group: 'argoproj.io', kind: 'Rollout', name: 'web', jsonPointers: ['/spec/replicas'] },
    ]);
    expect(find(children, 'Application', 'shop-dev').spec.ignoreDifferences).toBeUndefined();
  });

  test('a production environment given an Application syncs only by hand', () => {
    const chart = Testing.chart();
    const gitops = resolveGitOps(settings(), ['shop']);
    new EnvironmentApplication(chart, 'prod', { gitops, environment: environment('prod', true) });
    const [app] = Testing.synth(chart);
    expect(app.spec.syncPolicy.automated).toBeUndefined();
    expect(app.spec.syncPolicy.retry.limit).toBe(5);
    expect(schema.validate(app)).toEqual([]);
  });
});

describe('production: an ApplicationSet rolling out region by region', () => {
  const { outdir, children, find } = build();
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));
  const appSet = find(children, 'ApplicationSet', 'shop-prod');

  test('the clusters generator selects the solution\'s prod clusters in the configured regions only', () => {
    expect(appSet.spec.generators).toEqual([{
      clusters: {
        selector: {
          matchLabels: { 'ai-platform/shop': 'prod' },
          matchExpressions: [{ key: 'ai-platform/region', operator: 'In', values: ['east', 'central', 'west'] }],
        },
      },
    }]);
  });

  test('RollingSync: one step per region in configuration order, each with its explicit maxUpdate', () => {
    expect(appSet.spec.strategy).toEqual({
      type: 'RollingSync',
      rollingSync: {
        steps: [
          { matchExpressions: [{ key: 'ai-platform/region', operator: 'In', values: ['east'] }], maxUpdate: 1 },
          { matchExpressions: [{ key: 'ai-platform/region', operator: 'In', values: ['central'] }], maxUpdate: '50%' },
          { matchExpressions: [{ key: 'ai-platform/region', operator: 'In', values: ['west'] }], maxUpdate: 0 },
        ],
      },
    });
  });

  test('the template labels its Application with the cluster\'s region (RollingSync matches template.metadata.labels)', () => {
    expect(appSet.spec.goTemplate).toBe(true);
    expect(appSet.spec.goTemplateOptions).toEqual(['missingkey=error']);
    expect(appSet.spec.template.metadata.name).toBe('shop-prod-{{.name}}');
    expect(appSet.spec.template.metadata.labels['ai-platform/region']).toBe('{{index .metadata.labels "ai-platform/region"}}');
    expect(appSet.spec.template.spec.destination).toEqual({ name: '{{.name}}', namespace: 'shop-prod' });
  });

  test('manual sync (RollingSync forces autosync off anyway), production kept when the ApplicationSet goes, HPA replicas ignored', () => {
    expect(appSet.spec.template.spec.syncPolicy.automated).toBeUndefined();
    expect(appSet.spec.template.spec.syncPolicy.syncOptions).toContain('RespectIgnoreDifferences=true');
    expect(appSet.spec.syncPolicy).toEqual({ preserveResourcesOnDeletion: true });
    expect(appSet.spec.template.metadata.finalizers).toBeUndefined();
    expect(appSet.spec.template.spec.ignoreDifferences).toEqual([
      { group: 'apps', kind: 'Deployment', name: 'api', jsonPointers: ['/spec/replicas'] },
      { group: 'argoproj.io', kind: 'Rollout', name: 'web', jsonPointers: ['/spec/replicas'] },
    ]);
  });
});

describe('every region\'s Application is matched by exactly one rolling-sync step', () => {
  const chart = Testing.chart();
  const gitops = resolveGitOps(settings(), ['shop']);
  const rollout = new RegionalRollout(chart, 'prod', { gitops, environment: environment('prod', true), rollout: gitops.solutions.shop });
  const east = rollout.steps[0];
  const central = rollout.steps[1];
  const west = rollout.steps[2];

  test('the generated Applications (one per configured cluster) carry their region, and each is selected by exactly one step', () => {
    expect(rollout.applications).toEqual(['east-1', 'central-1', 'central-2', 'west-1'].map((cluster) => expect.objectContaining({
      name: `shop-prod-${cluster}`,
      labels: expect.objectContaining({ 'ai-platform/region': cluster.replace(/-\d$/, '') }),
    })));
    expect(rollingSyncProblems('shop/prod', rollout.steps, rollout.applications)).toEqual([]);
    for (const app of rollout.applications) expect(rollout.steps.filter((s) => stepMatches(s, app.labels))).toHaveLength(1);
  });

  test('a planted duplicate (a region in two steps) is found', () => {
    const duplicate: RollingSyncStep = { matchExpressions: [{ key: 'ai-platform/region', operator: 'In', values: ['central', 'west'] }], maxUpdate: 1 };
    const problems = rollingSyncProblems('shop/prod', [east, duplicate, central, west], rollout.applications);
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/^shop\/prod: Application shop-prod-central-1 .* must be selected by exactly one rolling-sync step but steps 2 and 3 selected it$/),
      expect.stringMatching(/^shop\/prod: Application shop-prod-west-1 .* but steps 2 and 4 selected it$/),
    ]));
  });

  test('a planted missing region (no step for west) is found: RollingSync would never sync it', () => {
    expect(rollingSyncProblems('shop/prod', [east, central], rollout.applications))
      .toEqual([expect.stringMatching(/^shop\/prod: Application shop-prod-west-1 \(labels .*"ai-platform\/region":"west".*\) must be selected by exactly one rolling-sync step but none selected it$/)]);
  });

  test('a step that selects nothing (a misspelt region) is found', () => {
    const typo: RollingSyncStep = { matchExpressions: [{ key: 'ai-platform/region', operator: 'In', values: ['wset'] }] };
    expect(rollingSyncProblems('shop/prod', [east, central, west, typo], rollout.applications))
      .toEqual([expect.stringMatching(/rolling-sync step 4 .* must select at least one Application but selects none/)]);
  });

  test('steps match as the ApplicationSet controller does: In needs the label, NotIn holds without it, all expressions must hold', () => {
    const labels = { 'ai-platform/region': 'east', tier: 'gold' };
    expect(stepMatches({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, labels)).toBe(false);
    expect(stepMatches({ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, labels)).toBe(true);
    expect(stepMatches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['gold'] }] }, labels)).toBe(false);
    expect(stepMatches({ matchExpressions: [{ key: 'ai-platform/region', operator: 'In', values: ['east'] }, { key: 'tier', operator: 'In', values: ['silver'] }] }, labels)).toBe(false);
    expect(() => stepMatches({ matchExpressions: [{ key: 'tier', operator: 'Exists', values: [] }] }, labels)).toThrow(/operator must be In or NotIn/);
  });

  test('the ApplicationSet validates against its CRD', () => {
    const [appSet] = Testing.synth(chart);
    expect(schema.validate(appSet)).toEqual([]);
  });
});

describe('the Application health check app-of-apps waves wait for', () => {
  const chart = Testing.chart();
  new ArgoCdCustomizations(chart, 'argocd', { namespace: 'argocd' });
  const [cm, params] = Testing.synth(chart);

  test('argocd-cm carries only resource.customizations.health.argoproj.io_Application, with the documented Lua', () => {
    expect(cm.metadata).toEqual({
      name: 'argocd-cm', namespace: 'argocd',
      labels: { 'app.kubernetes.io/name': 'argocd-cm', 'app.kubernetes.io/part-of': 'argocd' },
    });
    expect(Object.keys(cm.data)).toEqual([APPLICATION_HEALTH_KEY]);
    expect(APPLICATION_HEALTH_KEY).toBe('resource.customizations.health.argoproj.io_Application');
    const lua = cm.data[APPLICATION_HEALTH_KEY];
    expect(lua).toBe(APPLICATION_HEALTH_LUA);
    // Progressing until the child reports a health, then the child's own health and message.
    expect(lua).toMatch(/^hs = \{\}\nhs\.status = "Progressing"\n/);
    expect(lua).toContain('hs.status = obj.status.health.status');
    expect(lua).toContain('hs.message = obj.status.health.message');
    expect(lua.trim().endsWith('return hs')).toBe(true);
  });

  test('argocd-cmd-params-cm turns Progressive Syncs on, and nothing else', () => {
    expect(params.metadata.name).toBe('argocd-cmd-params-cm');
    expect(params.data).toEqual({ [PROGRESSIVE_SYNCS_KEY]: 'true' });
    expect(PROGRESSIVE_SYNCS_KEY).toBe('applicationsetcontroller.enable.progressive.syncs');
  });
});

describe('sync waves: namespace and policies, then data, then app, then monitors and ingress', () => {
  const o = (apiVersion: string, kind: string) => ({ apiVersion, kind, metadata: {} });

  test('the order of the tiers', () => {
    const waves = [
      syncWaveOf(o('v1', 'Namespace'), 'namespace'),
      syncWaveOf(o('apps/v1', 'StatefulSet'), 'data'),
      syncWaveOf(o('apps/v1', 'Deployment'), 'app'),
      syncWaveOf(o('networking.k8s.io/v1', 'Ingress'), 'app'),
    ];
    expect(waves).toEqual([SyncWave.NAMESPACE_AND_POLICIES, SyncWave.DATA, SyncWave.APP, SyncWave.MONITORS_AND_INGRESS]);
    expect([...waves].sort((a, b) => a - b)).toEqual(waves);
    expect(new Set(waves).size).toBe(4);
  });

  test('policies go with the namespace wherever they are declared; monitors, rules and autoscalers after the tiers', () => {
    expect(syncWaveOf(o('networking.k8s.io/v1', 'NetworkPolicy'), 'app')).toBe(SyncWave.NAMESPACE_AND_POLICIES);
    expect(syncWaveOf(o('external-secrets.io/v1', 'ExternalSecret'), 'data')).toBe(SyncWave.NAMESPACE_AND_POLICIES);
    for (const [apiVersion, kind] of [['monitoring.coreos.com/v1', 'PodMonitor'], ['monitoring.coreos.com/v1', 'PrometheusRule'],
      ['monitoring.coreos.com/v1alpha1', 'AlertmanagerConfig'], ['autoscaling/v2', 'HorizontalPodAutoscaler']]) {
      expect(syncWaveOf(o(apiVersion, kind), 'data')).toBe(SyncWave.MONITORS_AND_INGRESS);
    }
    expect(syncWaveOf(o('argoproj.io/v1alpha1', 'Rollout'), 'app')).toBe(SyncWave.APP);
    expect(syncWaveOf(o('v1', 'ConfigMap'), 'data')).toBe(SyncWave.DATA);
    expect(() => syncWaveOf(o('v1', 'ConfigMap'), 'restore' as never)).toThrow(/chart must be one of namespace, data, app but "restore" was provided/);
  });

  test('stamped on every object of a real environment: each tier in its wave, the Sync hook keeps its hook annotations and runs with the data tier', () => {
    const dir = mkdtempSync(join(tmpdir(), 'waves-'));
    try {
      const app = buildEnvironment(logisticsSolution, 'prod', dir);
      stampSyncWaves(app);
      const byChart = new Map<string, Record<string, any>[]>();
      for (const chart of app.charts.filter((c) => !RestoreChart.isRestoreChart(c))) {
        byChart.set(chart.node.id, chart.node.findAll().filter((c): c is ApiObject => ApiObject.isApiObject(c) && Chart.of(c) === chart).map((c) => c.toJson()));
      }
      const wave = (obj: Record<string, any>) => Number(obj.metadata.annotations?.[SYNC_WAVE_ANNOTATION]);
      for (const [chart, objects] of byChart) {
        for (const obj of objects) {
          expect([chart, obj.kind, obj.metadata.name, Number.isInteger(wave(obj))]).toEqual([chart, obj.kind, obj.metadata.name, true]);
        }
      }
      const all = [...byChart.values()].flat();
      const waveOf = (kind: string) => new Set(all.filter((x) => x.kind === kind).map(wave));
      expect(waveOf('Namespace')).toEqual(new Set([SyncWave.NAMESPACE_AND_POLICIES]));
      expect(waveOf('NetworkPolicy')).toEqual(new Set([SyncWave.NAMESPACE_AND_POLICIES]));
      expect(waveOf('StatefulSet')).toEqual(new Set([SyncWave.DATA]));
      expect(waveOf('Ingress')).toEqual(new Set([SyncWave.MONITORS_AND_INGRESS]));
      expect(waveOf('PodMonitor')).toEqual(new Set([SyncWave.MONITORS_AND_INGRESS]));
      const appWorkloads = byChart.get('app')!.filter((x) => x.kind === 'Deployment' || x.kind === 'Rollout');
      expect(appWorkloads.length).toBeGreaterThan(0);
      expect(new Set(appWorkloads.map(wave))).toEqual(new Set([SyncWave.APP]));
      const hooks = all.filter((x) => x.metadata.annotations?.['argocd.argoproj.io/hook']);
      expect(hooks.length).toBeGreaterThan(0);
      for (const hook of hooks) {
        expect(hook.metadata.annotations).toEqual(expect.objectContaining(SYNC_HOOK_ANNOTATIONS));
        expect(wave(hook)).toBe(SyncWave.DATA);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a wave an object sets itself is kept; an unknown chart is refused', () => {
    const app = new App();
    const chart = new Chart(app, 'app');
    new ApiObject(chart, 'cm', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', annotations: { [SYNC_WAVE_ANNOTATION]: '5' } } });
    new ApiObject(chart, 'svc', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'y' } });
    stampSyncWaves(app);
    expect(chart.toJson().map((x: any) => x.metadata.annotations[SYNC_WAVE_ANNOTATION])).toEqual(['5', '0']);
    new Chart(app, 'extras');
    expect(() => stampSyncWaves(app)).toThrow(/chart must be one of namespace, data, app or a restore chart but "extras" was provided/);
  });
});

describe('bad settings are refused, naming the field and the value', () => {
  const fails = (gitops: GitOpsSettings, message: RegExp, environments: readonly GitOpsEnvironment[] = ENVIRONMENTS) => {
    const outdir = mkdtempSync(join(tmpdir(), 'argocd-bad-'));
    try {
      expect(() => buildArgoCd({ outdir, gitops, environments })).toThrow(ConfigError);
      expect(() => buildArgoCd({ outdir, gitops, environments })).toThrow(message);
      expect(existsSync(join(outdir, 'argocd'))).toBe(false);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  };
  const regions = (r: unknown) => settings({ solutions: { shop: { regions: r as never } } });

  test.each<[string, GitOpsSettings, RegExp]>([
    ['a cleartext repository URL', settings({ repoURL: 'http://git.example.com/x.git' }), /^gitops: repoURL must be a Git repository URL .* but "http:\/\/git.example.com\/x.git" was provided$/m],
    ['a path prefix leaving the repository', settings({ pathPrefix: '../dist' }), /gitops: pathPrefix must be a folder of the repository .* but "..\/dist" was provided/],
    ['a target revision with spaces', settings({ targetRevision: 'my branch' }), /gitops: targetRevision must be a branch, tag or commit .* but "my branch" was provided/],
    ['a reserved namespace for Argo CD', settings({ namespace: 'kube-system' }), /gitops: namespace must be a namespace of its own .* but "kube-system" was provided/],
    ['a retry that never backs off', settings({ retry: { backoffSeconds: 60, maxBackoffSeconds: 30 } }), /gitops: retry.maxBackoffSeconds must be at least retry.backoffSeconds \(60\) but 30 was provided/],
    ['a percentage above 100', regions([{ name: 'east', maxUpdate: '150%', clusters: ['e-1'] }]), /gitops: solutions.shop.regions\[0\].maxUpdate must be a count of clusters .* but "150%" was provided/],
    ['a negative maxUpdate', regions([{ name: 'east', maxUpdate: -1, clusters: ['e-1'] }]), /solutions.shop.regions\[0\].maxUpdate must be .* but -1 was provided/],
    ['a region twice', regions([{ name: 'east', maxUpdate: 1, clusters: ['e-1'] }, { name: 'east', maxUpdate: 1, clusters: ['e-2'] }]),
      /gitops: solutions.shop.regions\[1\].name must be unique among the regions \(regions\[0\] is "east" already\) but "east" was provided/],
    ['a cluster in two regions', regions([{ name: 'east', maxUpdate: 1, clusters: ['c-1'] }, { name: 'west', maxUpdate: 1, clusters: ['c-1'] }]),
      /solutions.shop.regions\[1\].clusters\[0\] must be in one region only \(it is in regions\[0\] already\) but "c-1" was provided/],
    ['a region without clusters', regions([{ name: 'east', maxUpdate: 1, clusters: [] }]), /solutions.shop.regions\[0\].clusters must be a non-empty list .* but \[\] was provided/],
    ['no regions', regions([]), /solutions.shop.regions must be a non-empty list of regions .* but \[\] was provided/],
    ['a region name that is no label value', regions([{ name: 'east coast', maxUpdate: 1, clusters: ['e-1'] }]), /regions\[0\].name must be a label value .* but "east coast" was provided/],
    ['a bad region label', settings({ solutions: { shop: { regionLabel: 'Region Label', regions: [{ name: 'east', maxUpdate: 1, clusters: ['e-1'] }] } } }),
      /solutions.shop.regionLabel must be a label key .* but "Region Label" was provided/],
    ['a rollout for an unknown solution', settings({ solutions: { ...settings().solutions, shpo: { regions: [{ name: 'east', maxUpdate: 1, clusters: ['e-1'] }] } } }),
      /gitops: solutions.shpo must be keyed by a solution of this repository \(shop\) but "shpo" was provided/],
  ])('%s', (_what, gitops, message) => fails(gitops, message));

  test('a production environment of a solution without regions', () => {
    fails(settings({ solutions: {} }), /^shop\/prod: gitops.solutions.shop must give the regions the production environment rolls out to .* but undefined was provided$/m);
  });

  test('every problem at once', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'argocd-bad-'));
    try {
      buildArgoCd({ outdir, gitops: settings({ repoURL: 'nope', revisionHistoryLimit: 0, retry: { limit: 0 } }), environments: ENVIRONMENTS });
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        expect.stringMatching(/^gitops: repoURL must be/),
        'gitops: retry.limit must be an integer between 1 and 100 but 0 was provided',
        'gitops: revisionHistoryLimit must be an integer between 1 and 100 but 0 was provided',
      ]);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  test('an environment in Argo CD\'s namespace, or a solution named argocd', () => {
    fails(settings(), /shop\/dev: namespace must not be Argo CD's namespace but "argocd" was provided/, [{ ...environment('dev'), namespace: 'argocd' }]);
    const argocd = { ...environment('dev'), solution: 'argocd' };
    fails(settings({ solutions: {} }), /argocd: solution name must not be "argocd", which dist\/argocd\/ holds/, [argocd]);
  });
});

describe('this repository: the synthesized environments in dist/ and lib/config/gitops.ts', () => {
  const dist = join(__dirname, '..', '..', 'dist');
  const entries = SOLUTIONS.flatMap((solution) => Object.keys(solution.definition.environments).map((name) => {
    const resolved = resolveEnvironment(solution.definition, name);
    return { resolved, folder: join(dist, resolved.solution, resolved.environment) };
  })).filter((e) => existsSync(e.folder));

  test('every object Argo CD would write validates, and the projects admit every kind each environment ships', () => {
    expect(entries.length).toBeGreaterThan(0);
    const environments: GitOpsEnvironment[] = entries.map(({ resolved, folder }) => ({
      solution: resolved.solution, environment: resolved.environment, namespace: namespaceOf(resolved), production: resolved.production, ...shippedIn(folder),
    }));
    const outdir = mkdtempSync(join(tmpdir(), 'argocd-repo-'));
    try {
      buildArgoCd({ outdir, gitops: repositoryGitOps, environments });
      // The synth derives the projects from the rendered objects, not from the files parsed back:
      // both give the same Argo CD objects.
      const written = (folder: string): string[] => readdirSync(folder, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name)).sort();
      expect(written(join(outdir, 'argocd')).map((f) => readFileSync(f, 'utf8')))
        .toEqual(written(join(dist, 'argocd')).map((f) => readFileSync(f, 'utf8')));
      const bootstrap = objectsIn(join(outdir, 'argocd'));
      for (const solution of new Set(environments.map((e) => e.solution))) {
        const objects = [...bootstrap, ...objectsIn(join(outdir, 'argocd', solution))];
        for (const o of objects) expect([`${o.kind}/${o.metadata.name}`, schema.validate(o)]).toEqual([`${o.kind}/${o.metadata.name}`, []]);
        const project = bootstrap.find((o) => o.kind === 'AppProject' && o.metadata.name === solution)!;
        const admitted = new Set(project.spec.namespaceResourceWhitelist.map((k: any) => `${k.group}/${k.kind}`));
        const clusterWide = new Set(project.spec.clusterResourceWhitelist.map((k: any) => `${k.group}/${k.kind}/${k.name}`));
        for (const { folder, resolved } of entries.filter((e) => e.resolved.solution === solution)) {
          for (const object of objectsIn(folder)) {
            const group = groupOf(object.apiVersion);
            if (object.metadata.namespace === undefined) {
              // The scope table agrees with the manifests: every object without a namespace is of a cluster-scoped kind.
              expect(CLUSTER_SCOPED_KINDS.has(`${group}/${object.kind}`)).toBe(true);
              expect(clusterWide.has(`${group}/${object.kind}/${object.metadata.name}`)).toBe(true);
            } else {
              expect([object.kind, admitted.has(`${group}/${object.kind}`)]).toEqual([object.kind, true]);
              expect(object.metadata.namespace).toBe(namespaceOf(resolved));
            }
          }
        }
      }
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  test('every production environment has its regions, and each region\'s Application is selected by exactly one step', () => {
    const names = SOLUTIONS.map((s) => s.definition.name);
    const gitops = resolveGitOps(repositoryGitOps, names);
    const production = entries.filter((e) => e.resolved.production);
    expect(production.length).toBeGreaterThan(0);
    for (const { resolved } of production) {
      const rollout = gitops.solutions[resolved.solution];
      expect([resolved.solution, rollout !== undefined]).toEqual([resolved.solution, true]);
      const chart = Testing.chart();
      const regional = new RegionalRollout(chart, 'prod', {
        gitops, rollout,
        environment: { solution: resolved.solution, environment: resolved.environment, namespace: namespaceOf(resolved), production: true, kinds: [{ group: 'apps', kind: 'Deployment' }], clusterObjects: [], autoscaled: [] },
      });
      expect(rollingSyncProblems(resolved.solution, regional.steps, regional.applications)).toEqual([]);
    }
  });
});
