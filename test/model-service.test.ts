/** AI model-serving services the API calls (R6, lib/model-service.ts). */
import { Testing } from 'cdk8s';
import { MODEL_CONTAINER_PORT, ModelService, ModelServiceProps } from '../lib/model-service';

type K8sObject = Record<string, any>;

const RESOURCES = { requests: { cpu: '1', memory: '2Gi' }, limits: { cpu: '4', memory: '8Gi' } };

function build(options: Partial<ModelServiceProps> = {}) {
  const chart = Testing.chart();
  const model = new ModelService(chart, 'route-planning', {
    model: 'route-planning',
    image: { repository: 'registry.example.com/logistics/route-planning', tag: '1.0.0' },
    resources: RESOURCES,
    ...options,
  });
  return { model, objects: Testing.synth(chart) };
}

function find(objects: K8sObject[], kind: string, name = 'route-planning'): K8sObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  expect(found).toHaveLength(1);
  return found[0];
}

const podSpec = (objects: K8sObject[]) => find(objects, 'Deployment').spec.template.spec;
const container = (objects: K8sObject[]) => podSpec(objects).containers[0];

describe('ModelService', () => {
  test('tells the server its model as MODEL_NAME', () => {
    const { model, objects } = build();
    expect(container(objects).env).toEqual([{ name: 'MODEL_NAME', value: 'route-planning' }]);
    expect(model.model).toBe('route-planning');
  });

  test('serves on 8080 named http behind a ClusterIP Service on 80, component ai', () => {
    const { model, objects } = build();
    expect(MODEL_CONTAINER_PORT).toBe(8080);
    expect(container(objects).ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    const service = find(objects, 'Service');
    expect(service.spec.type).toBe('ClusterIP');
    expect(service.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
    expect(model.endpoint).toEqual({ host: 'route-planning', port: 80, targetPort: 8080, workload: model });
    expect(find(objects, 'Deployment').metadata.labels['app.kubernetes.io/component']).toBe('ai');
  });

  test('Prometheus scrapes /metrics on port http (and only Prometheus may reach it until the API connects)', () => {
    const { model, objects } = build();
    expect(find(objects, 'PodMonitor').spec.podMetricsEndpoints).toEqual([{ port: 'http', path: '/metrics' }]);
    expect(find(objects, 'PodMonitor').spec.selector.matchLabels).toEqual(find(objects, 'Deployment').spec.selector.matchLabels);
    expect(find(objects, 'NetworkPolicy').spec.ingress).toEqual([{
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } }],
      ports: [{ protocol: 'TCP', port: 8080 }],
    }]);
    expect(model.appMetrics).toEqual({ latencyP95Seconds: 5 });
  });

  test('with a GPU: nvidia.com/gpu in requests and limits, and a toleration for GPU nodes', () => {
    const { objects } = build({ resources: { ...RESOURCES, gpu: 1 } });
    expect(container(objects).resources).toEqual({
      requests: { cpu: '1', memory: '2Gi', 'nvidia.com/gpu': 1 },
      limits: { cpu: '4', memory: '8Gi', 'nvidia.com/gpu': 1 },
    });
    expect(podSpec(objects).tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
  });

  test('two GPUs are two in requests and limits', () => {
    const resources = container(build({ resources: { ...RESOURCES, gpu: 2 } }).objects).resources;
    expect(resources.requests['nvidia.com/gpu']).toBe(2);
    expect(resources.limits['nvidia.com/gpu']).toBe(2);
  });

  test.each([undefined, 0])('with gpu %s: no GPU resource and no toleration', (gpu) => {
    const { objects } = build({ resources: { ...RESOURCES, gpu } });
    const resources = container(objects).resources;
    expect(resources).toEqual({ requests: { cpu: '1', memory: '2Gi' }, limits: { cpu: '4', memory: '8Gi' } });
    expect(podSpec(objects).tolerations).toBeUndefined();
  });

  test('a startup probe on /health covers the loading window; liveness and readiness start only after it', () => {
    const c = container(build().objects);
    expect(c.startupProbe).toEqual({ httpGet: { path: '/health', port: 'http' }, initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 60 });
    // Kubernetes runs neither liveness nor readiness before the startup probe passed: no delays needed.
    expect(c.livenessProbe).toMatchObject({ httpGet: { path: '/health', port: 'http' }, initialDelaySeconds: 0, periodSeconds: 10 });
    expect(c.readinessProbe).toMatchObject({ httpGet: { path: '/ready', port: 'http' }, initialDelaySeconds: 0, periodSeconds: 5 });
  });

  test('the window is 600 s by default, 1200 s with a GPU, startupWindowSeconds when given', () => {
    const window = (options: Partial<ModelServiceProps>) => {
      const { model, objects } = build(options);
      const probe = container(objects).startupProbe;
      expect(probe.periodSeconds * probe.failureThreshold).toBeGreaterThanOrEqual(model.startupWindowSeconds);
      expect(probe.periodSeconds * (probe.failureThreshold - 1)).toBeLessThan(model.startupWindowSeconds);
      return model.startupWindowSeconds;
    };
    expect(window({})).toBe(600);
    expect(window({ resources: { ...RESOURCES, gpu: 1 } })).toBe(1200);
    expect(window({ resources: { ...RESOURCES, gpu: 0 } })).toBe(600);
    expect(window({ startupWindowSeconds: 95 })).toBe(95);
    expect(window({ startupWindowSeconds: 1800, resources: { ...RESOURCES, gpu: 1 } })).toBe(1800);
  });

  test('autoscales with an autoscaling/v2 HPA and leaves replicas to it', () => {
    const { objects } = build({ autoscaling: { minReplicas: 2, maxReplicas: 6, targetCpuUtilizationPercent: 70 } });
    const hpa = find(objects, 'HorizontalPodAutoscaler');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec).toMatchObject({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'route-planning' },
      minReplicas: 2,
      maxReplicas: 6,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
    });
    expect(find(objects, 'Deployment').spec).not.toHaveProperty('replicas');
    find(objects, 'PodDisruptionBudget');
  });

  test('the model cache and /tmp are writable emptyDirs; the root file system is read-only', () => {
    const c = container(build().objects);
    expect(c.volumeMounts.map((m: K8sObject) => m.mountPath)).toEqual(['/tmp', '/models-cache']);
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true, allowPrivilegeEscalation: false });
  });

  test('the Service name can differ from the construct id', () => {
    const chart = Testing.chart();
    const model = new ModelService(chart, 'models.valuation', {
      name: 'valuation',
      model: 'valuation',
      image: { repository: 'registry.example.com/real-estate/valuation', tag: '1.0.0' },
      resources: RESOURCES,
    });
    expect(model.endpoint.host).toBe('valuation');
    find(Testing.synth(chart), 'Service', 'valuation');
  });

  test.each<[string, Partial<ModelServiceProps>, RegExp]>([
    ['a model name that is not a DNS label', { model: 'Route_Planning' },
      /^test: route-planning\.model must be a DNS label .* but "Route_Planning" was provided$/],
    ['a startup window under 10 s', { startupWindowSeconds: 5 },
      /^test: route-planning\.startupWindowSeconds must be an integer between 10 and 3600 but 5 was provided$/],
    ['a startup window over an hour', { startupWindowSeconds: 3601 },
      /^test: route-planning\.startupWindowSeconds must be an integer between 10 and 3600 but 3601 was provided$/],
    ['a fractional startup window', { startupWindowSeconds: 60.5 },
      /^test: route-planning\.startupWindowSeconds must be an integer between 10 and 3600 but 60\.5 was provided$/],
    ['a fractional GPU', { resources: { ...RESOURCES, gpu: 0.5 } },
      /^test: route-planning\.resources\.gpu must be an integer between 0 and 16 but 0\.5 was provided$/],
    ['more than 16 GPUs', { resources: { ...RESOURCES, gpu: 17 } },
      /^test: route-planning\.resources\.gpu must be an integer between 0 and 16 but 17 was provided$/],
  ])('refuses %s', (_what, options, message) => {
    expect(() => build(options)).toThrow(message);
  });
});

describe('workload names are valid Service names', () => {
  test('refuses the name at synth time', () => {
    expect(() => build({ name: '3d-floorplan', model: 'floorplan' })).toThrow(
      /^test: route-planning\.name must be .* but "3d-floorplan" was provided$/,
    );
  });
});

describe('model cache', () => {
  test('is a 10Gi emptyDir by default and takes cacheSize', () => {
    const cacheSize = (objects: K8sObject[]) => {
      const pod = find(objects, 'Deployment').spec.template.spec;
      const mount = pod.containers[0].volumeMounts.find((m: K8sObject) => m.mountPath === '/models-cache');
      return pod.volumes.find((v: K8sObject) => v.name === mount.name).emptyDir.sizeLimit;
    };
    expect(cacheSize(build({}).objects)).toBe('10Gi');
    expect(cacheSize(build({ cacheSize: '40Gi' }).objects)).toBe('40Gi');
    expect(() => build({ cacheSize: '40GB' })).toThrow(/cacheSize must be a storage size in binary units .* but "40GB" was provided/);
  });
});
