/**
 * Progressive delivery of the stateless services (lib/delivery on lib/stateless-service.ts): the
 * strategy from configuration, the Rollout's shape for blue-green and canary, the pitfalls of the
 * anchors (no replicas under an HPA, no open-ended pause, new pods only, content-hashed
 * configuration), and the HPA, PDB, Services, NetworkPolicy and policy rules working with a
 * Rollout in place of a Deployment.
 */
import { App, Chart, Testing } from 'cdk8s';
import { ApiService, ApiServiceProps } from '../../lib/api-service';
import { AppConfig, AppConfigProps } from '../../lib/app-config';
import { DeliveryOptions, DeliveryStrategy } from '../../lib/delivery/delivery-options';
import { AppIngress } from '../../lib/ingress';
import { Policies } from '../../lib/policy';
import { ENVIRONMENT_CONTEXT_KEY, PRODUCTION_CONTEXT_KEY, SOLUTION_CONTEXT_KEY } from '../../lib/validation';

type K8sObject = Record<string, any>;

const CONFIG: AppConfigProps = { settings: { APP_ENV: 'prod' }, properties: { 'x.y': 1 } };

function build(delivery: DeliveryOptions | undefined, options: Partial<Omit<ApiServiceProps, 'config'>> & { ingress?: boolean; appConfig?: AppConfigProps } = {}): { chart: Chart; api: ApiService; objects: K8sObject[] } {
  const app: App = Testing.app();
  app.node.setContext(SOLUTION_CONTEXT_KEY, 'shop');
  app.node.setContext(ENVIRONMENT_CONTEXT_KEY, 'prod');
  app.node.setContext(PRODUCTION_CONTEXT_KEY, true);
  const chart = new Chart(app, 'app', { namespace: 'shop-prod' });
  const { ingress, appConfig, ...props } = options;
  const api = new ApiService(chart, 'api', {
    config: new AppConfig(chart, 'application', appConfig ?? CONFIG),
    image: { repository: 'registry.example.com/shop/api', tag: '1.4.2' },
    resources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '2', memory: '2Gi' } },
    autoscaling: { minReplicas: 3, maxReplicas: 10 },
    delivery,
    ...props,
  });
  if (ingress) new AppIngress(chart, 'ingress', { hosts: ['shop.example.com'], backend: api.endpoint });
  return { chart, api, objects: Testing.synth(chart) };
}

const one = (objects: K8sObject[], kind: string, name?: string) => {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  expect(found.map((o) => `${o.kind}/${o.metadata.name}`)).toHaveLength(1);
  return found[0];
};
const none = (objects: K8sObject[], kind: string) => expect(objects.filter((o) => o.kind === kind)).toEqual([]);

describe('rolling (dev and test)', () => {
  test('a Deployment that surges and never drops below the desired count; no Rollout or analysis', () => {
    const { objects } = build(undefined);
    expect(one(objects, 'Deployment', 'api').spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } });
    none(objects, 'Rollout');
    none(objects, 'AnalysisTemplate');
  });
});

describe('blue-green (the API in prod)', () => {
  const { objects } = build({ strategy: DeliveryStrategy.BLUE_GREEN });
  const rollout = () => one(objects, 'Rollout', 'api');

  test('active and preview Services, analysis before and after promotion, the old version kept for an instant switch back', () => {
    none(objects, 'Deployment');
    expect(rollout().spec.strategy.blueGreen).toEqual({
      activeService: 'api',
      previewService: 'api-preview',
      autoPromotionEnabled: true,
      prePromotionAnalysis: { templates: [{ templateName: 'api-analysis' }], args: [{ name: 'pod-template-hash', valueFrom: { podTemplateHashValue: 'Latest' } }] },
      postPromotionAnalysis: { templates: [{ templateName: 'api-analysis' }], args: [{ name: 'pod-template-hash', valueFrom: { podTemplateHashValue: 'Latest' } }] },
      scaleDownDelaySeconds: 600,
    });
    const active = one(objects, 'Service', 'api');
    const preview = one(objects, 'Service', 'api-preview');
    expect(preview.spec.selector).toEqual(active.spec.selector);
    expect(preview.spec.ports).toEqual(active.spec.ports);
    expect(preview.spec.type).toBe('ClusterIP');
  });

  test('the analyses end: a count of measurements, a failure limit and an error limit on each', () => {
    const template = one(objects, 'AnalysisTemplate', 'api-analysis');
    expect(template.spec.metrics.map((m: K8sObject) => [m.name, m.count, m.failureLimit, m.consecutiveErrorLimit])).toEqual([
      ['restarts', 5, 1, 2], ['error-ratio', 5, 1, 2], ['latency-p95', 5, 1, 2],
    ]);
    const errorRatio = template.spec.metrics.find((m: K8sObject) => m.name === 'error-ratio');
    expect([errorRatio.successCondition, errorRatio.failureCondition]).toEqual(['result[0] <= 0.05', 'result[0] > 0.05']);
    expect(errorRatio.provider.prometheus.query).toContain('rollouts_pod_template_hash="{{args.pod-template-hash}}"');
  });

  test('under an HPA the Rollout has no replicas and the HPA scales the Rollout', () => {
    expect(rollout().spec.replicas).toBeUndefined();
    expect(one(objects, 'HorizontalPodAutoscaler', 'api').spec.scaleTargetRef).toEqual({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: 'api' });
  });

  test('without an HPA the Rollout keeps the configured count', () => {
    const fixed = build({ strategy: DeliveryStrategy.BLUE_GREEN }, { autoscaling: undefined, replicas: 4 }).objects;
    expect(one(fixed, 'Rollout', 'api').spec.replicas).toBe(4);
  });

  test('the PDB and the NetworkPolicy select the Rollout\'s pods; Prometheus keeps each version\'s hash on its series', () => {
    const labels = rollout().spec.template.metadata.labels;
    const selects = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
    expect(selects(one(objects, 'PodDisruptionBudget', 'api').spec.selector.matchLabels)).toBe(true);
    expect(selects(one(objects, 'NetworkPolicy', 'api').spec.podSelector.matchLabels)).toBe(true);
    expect(one(objects, 'PodMonitor', 'api').spec.podTargetLabels).toEqual(['rollouts-pod-template-hash']);
  });

  test('every policy rule passes in a production environment (prod-ha, probes, resources, network policy, HPA target)', () => {
    const { chart } = build({ strategy: DeliveryStrategy.BLUE_GREEN });
    expect(Policies.check(chart).map(String)).toEqual([]);
  });
});

describe('canary (the AI services and the web tier in prod)', () => {
  test('10% -> 50% -> 100% with timed pauses only (never an open pause under GitOps), analysed from the first step', () => {
    const canary = one(build({ strategy: DeliveryStrategy.CANARY }).objects, 'Rollout', 'api').spec.strategy.canary;
    expect(canary.steps).toEqual([{ setWeight: 10 }, { pause: { duration: '5m' } }, { setWeight: 50 }, { pause: { duration: '5m' } }]);
    expect(canary.steps.every((s: K8sObject) => !s.pause || typeof s.pause.duration === 'string')).toBe(true);
    expect(canary.analysis).toEqual({ templates: [{ templateName: 'api-analysis' }], args: [{ name: 'pod-template-hash', valueFrom: { podTemplateHashValue: 'Latest' } }], startingStep: 1 });
    // A background analysis runs until the rollout completes: no count.
    expect(one(build({ strategy: DeliveryStrategy.CANARY }).objects, 'AnalysisTemplate').spec.metrics.every((m: K8sObject) => m.count === undefined)).toBe(true);
  });

  test('fronted by an Ingress, traffic is split by ingress-nginx: stable Ingress, stable and canary Services', () => {
    const { objects } = build({ strategy: DeliveryStrategy.CANARY, canaryWeights: [20, 40, 80] }, { ingress: true });
    const canary = one(objects, 'Rollout', 'api').spec.strategy.canary;
    expect(canary).toMatchObject({ stableService: 'api', canaryService: 'api-canary', trafficRouting: { nginx: { stableIngress: 'ingress' } } });
    expect(canary.steps.filter((s: K8sObject) => s.setWeight).map((s: K8sObject) => s.setWeight)).toEqual([20, 40, 80]);
    expect(one(objects, 'Service', 'api-canary').spec.selector).toEqual(one(objects, 'Service', 'api').spec.selector);
    expect(one(objects, 'Ingress', 'ingress').spec.rules[0].http.paths[0].backend.service.name).toBe('api');
  });

  test('without an Ingress, by replica counts: no traffic routing, no canary Service', () => {
    const { objects } = build({ strategy: DeliveryStrategy.CANARY });
    expect(one(objects, 'Rollout', 'api').spec.strategy.canary.trafficRouting).toBeUndefined();
    expect(objects.filter((o) => o.kind === 'Service').map((o) => o.metadata.name)).toEqual(['api']);
  });
});

describe('configuration travels with its version', () => {
  test('the app ConfigMaps are named by their content, immutable, and never pruned by Argo CD', () => {
    const a = build(undefined).objects.filter((o) => o.kind === 'ConfigMap');
    const b = build(undefined, { appConfig: { ...CONFIG, settings: { APP_ENV: 'prod', LOG_LEVEL: 'debug' } } }).objects.filter((o) => o.kind === 'ConfigMap');
    expect(a.map((c) => c.metadata.name)).toEqual([expect.stringMatching(/^app-config-env-[0-9a-f]{10}$/), expect.stringMatching(/^app-config-properties-[0-9a-f]{10}$/)]);
    expect(b[0].metadata.name).not.toBe(a[0].metadata.name);
    for (const c of a) {
      expect(c.immutable).toBe(true);
      expect(c.metadata.annotations).toEqual({ 'argocd.argoproj.io/sync-options': 'Prune=false', 'argocd.argoproj.io/compare-options': 'IgnoreExtraneous' });
    }
  });
});

describe('delivery options errors name the field and the value', () => {
  test.each([
    [{ strategy: 'bigBang' }, /api\.delivery\.strategy must be one of rolling, blueGreen, canary but "bigBang" was provided/],
    [{ strategy: DeliveryStrategy.CANARY, canaryWeights: [50, 10] }, /api\.delivery\.canaryWeights must be increasing whole percentages between 1 and 99/],
    [{ strategy: DeliveryStrategy.CANARY, canaryWeights: [10, 100] }, /api\.delivery\.canaryWeights must be increasing/],
    [{ strategy: DeliveryStrategy.BLUE_GREEN, canaryWeights: [10] }, /api\.delivery\.canaryWeights must be unset unless strategy is canary \(it is blueGreen\)/],
    [{ strategy: DeliveryStrategy.CANARY, scaleDownDelaySeconds: 60 }, /api\.delivery\.scaleDownDelaySeconds must be unset unless strategy is blueGreen/],
    [{ strategy: DeliveryStrategy.CANARY, maxErrorRatio: 0 }, /api\.delivery\.maxErrorRatio must be a number between 0\.0001 and 0\.5 but 0 was provided/],
    [{ strategy: DeliveryStrategy.CANARY, stepPauseMinutes: 0 }, /api\.delivery\.stepPauseMinutes must be an integer between 1 and 60 but 0 was provided/],
  ])('%j', (delivery, message) => {
    expect(() => build(delivery as DeliveryOptions)).toThrow(message);
  });
});
