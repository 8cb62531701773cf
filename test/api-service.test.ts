/** The application API (R5, lib/api-service.ts on lib/stateless-service.ts). */
import { Chart, Testing } from 'cdk8s';
import { API_CONTAINER_PORT, ApiService, ApiServiceProps } from '../lib/api-service';
import { AppConfig, AppConfigProps } from '../lib/app-config';
import { ServiceExposure } from '../lib/stateless-service';

type K8sObject = Record<string, any>;

const RESOURCES = { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '2', memory: '2Gi' } };
const CONFIG: AppConfigProps = {
  settings: { APP_ENV: 'prod', LOG_FORMAT: 'json' },
  properties: { 'recommendation.model': 'hybrid', 'recommendation.top_k': 10 },
};

type ApiOptions = Omit<ApiServiceProps, 'config' | 'image' | 'resources'> & Partial<Pick<ApiServiceProps, 'image' | 'resources'>>;

function build(options: ApiOptions = {}, config: AppConfigProps = CONFIG): { chart: Chart; api: ApiService; objects: K8sObject[] } {
  const chart = Testing.chart();
  const appConfig = new AppConfig(chart, 'application', config);
  const api = new ApiService(chart, 'api', {
    config: appConfig,
    image: { repository: 'registry.example.com/logistics/api', tag: '1.4.2' },
    resources: RESOURCES,
    ...options,
  });
  return { chart, api, objects: Testing.synth(chart) };
}

function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  expect(found).toHaveLength(1);
  return found[0];
}

const deployment = (objects: K8sObject[]) => find(objects, 'Deployment', 'api');
const podSpec = (objects: K8sObject[]) => deployment(objects).spec.template.spec;
const container = (objects: K8sObject[]) => {
  const containers = podSpec(objects).containers;
  expect(containers).toHaveLength(1);
  return containers[0];
};

/** `subset` is a non-empty map all of whose entries are in `labels`. */
/** The ingress rule that lets the monitoring namespace's Prometheus scrape port 8000. */
const PROMETHEUS_INGRESS = {
  from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } }],
  ports: [{ protocol: 'TCP', port: 8000 }],
};

function expectSubset(subset: Record<string, string>, labels: Record<string, string>): void {
  expect(Object.keys(subset).length).toBeGreaterThan(0);
  for (const [key, value] of Object.entries(subset)) expect(`${key}=${labels[key]}`).toBe(`${key}=${value}`);
}

describe('ApiService Deployment', () => {
  test('the container listens on 8000, port named http', () => {
    expect(API_CONTAINER_PORT).toBe(8000);
    expect(container(build().objects).ports).toEqual([{ name: 'http', containerPort: 8000, protocol: 'TCP' }]);
  });

  test('runs the given image, pinned', () => {
    const c = container(build().objects);
    expect(c.name).toBe('api');
    expect(c.image).toBe('registry.example.com/logistics/api:1.4.2');
    expect(c.imagePullPolicy).toBe('IfNotPresent');
    expect(deployment(build().objects).metadata.labels['app.kubernetes.io/version']).toBe('1.4.2');
  });

  test('requests and limits are exactly the ones given', () => {
    expect(container(build().objects).resources).toEqual({
      requests: { cpu: '500m', memory: '512Mi' },
      limits: { cpu: '2', memory: '2Gi' },
    });
    const other = { requests: { cpu: '250m', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } };
    expect(container(build({ resources: other }).objects).resources).toEqual(other);
  });

  test('liveness is GET /health on http after 30 s every 10 s; readiness GET /ready after 10 s every 5 s', () => {
    const c = container(build().objects);
    expect(c.livenessProbe).toMatchObject({ httpGet: { path: '/health', port: 'http' }, initialDelaySeconds: 30, periodSeconds: 10 });
    expect(c.readinessProbe).toMatchObject({ httpGet: { path: '/ready', port: 'http' }, initialDelaySeconds: 10, periodSeconds: 5 });
    expect(c.livenessProbe.timeoutSeconds).toBeGreaterThan(0);
    expect(c.livenessProbe.failureThreshold).toBeGreaterThan(0);
  });

  test('takes every setting from the env ConfigMap of its AppConfig', () => {
    const { objects } = build();
    const name = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('app-config-env-'))!.metadata.name;
    expect(container(objects).envFrom).toEqual([{ configMapRef: { name } }]);
  });

  test('extra envFrom comes after the AppConfig ConfigMap', () => {
    const c = container(build({ envFrom: [{ configMapRef: { name: 'extra' } }] }).objects);
    expect(c.envFrom).toEqual([{ configMapRef: { name: expect.stringMatching(/^app-config-env-[0-9a-f]{10}$/) } }, { configMapRef: { name: 'extra' } }]);
  });

  test('secretEnv becomes secretKeyRef env only, sorted by name, never a value', () => {
    const c = container(build({
      secretEnv: {
        DB_PASSWORD: { name: 'logistics-secret', key: 'db_password' },
        API_KEY: { name: 'logistics-secret', key: 'api_key' },
      },
    }).objects);
    expect(c.env).toEqual([
      { name: 'API_KEY', valueFrom: { secretKeyRef: { name: 'logistics-secret', key: 'api_key' } } },
      { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'logistics-secret', key: 'db_password' } } },
    ]);
    for (const e of c.env) expect(e.value).toBeUndefined();
  });

  test('plain env comes before the secret env', () => {
    const c = container(build({
      env: [{ name: 'FEATURE', value: 'on' }],
      secretEnv: { API_KEY: { name: 's', key: 'k' } },
    }).objects);
    expect(c.env.map((e: K8sObject) => e.name)).toEqual(['FEATURE', 'API_KEY']);
  });

  test('app.properties is mounted read-only at /etc/app from the properties ConfigMap', () => {
    const { objects } = build();
    const name = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('app-config-properties-'))!.metadata.name;
    expect(container(objects).volumeMounts).toContainEqual({ name: 'app-properties', mountPath: '/etc/app', readOnly: true });
    expect(podSpec(objects).volumes).toContainEqual({ name: 'app-properties', configMap: { name } });
  });

  test('the checksum/config annotation is the AppConfig checksum and changes with the configuration', () => {
    const first = build();
    const annotation = deployment(first.objects).spec.template.metadata.annotations['checksum/config'];
    expect(annotation).toMatch(/^[0-9a-f]{64}$/);
    expect(deployment(build().objects).spec.template.metadata.annotations['checksum/config']).toBe(annotation);

    const settingChanged = build({}, { ...CONFIG, settings: { ...CONFIG.settings, LOG_FORMAT: 'text' } });
    const propertyChanged = build({}, { ...CONFIG, properties: { ...CONFIG.properties, 'recommendation.top_k': 20 } });
    expect(deployment(settingChanged.objects).spec.template.metadata.annotations['checksum/config']).not.toBe(annotation);
    expect(deployment(propertyChanged.objects).spec.template.metadata.annotations['checksum/config']).not.toBe(annotation);
  });

  test('other pod annotations are kept beside the checksum', () => {
    const annotations = deployment(build({ podAnnotations: { 'prometheus.io/scrape': 'true' } }).objects).spec.template.metadata.annotations;
    expect(Object.keys(annotations).sort()).toEqual(['checksum/config', 'prometheus.io/scrape']);
  });

  test('the Deployment selector selects its pod template', () => {
    const d = deployment(build().objects);
    expectSubset(d.spec.selector.matchLabels, d.spec.template.metadata.labels);
    expect(Object.keys(d.spec.selector.matchLabels).sort()).toEqual(['app.kubernetes.io/instance', 'app.kubernetes.io/name']);
  });

  test('rolling update never goes below the desired count', () => {
    expect(deployment(build().objects).spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } });
  });

  test('replicas default to 2 and are set as given without autoscaling', () => {
    expect(deployment(build().objects).spec.replicas).toBe(2);
    expect(deployment(build({ replicas: 3 }).objects).spec.replicas).toBe(3);
  });
});

describe('ApiService security', () => {
  test('the container is restricted: non-root, no escalation, no capabilities, read-only root', () => {
    expect(container(build().objects).securityContext).toEqual({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
    });
  });

  test('the pod is restricted: non-root, seccomp RuntimeDefault', () => {
    expect(podSpec(build().objects).securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  test('/tmp is a size-limited emptyDir, since the root file system is read-only', () => {
    const { objects } = build();
    const mount = container(objects).volumeMounts.find((m: K8sObject) => m.mountPath === '/tmp');
    expect(mount).toBeDefined();
    expect(mount.readOnly).toBeUndefined();
    const volume = podSpec(objects).volumes.find((v: K8sObject) => v.name === mount.name);
    expect(volume).toEqual({ name: mount.name, emptyDir: { sizeLimit: '256Mi' } });
  });

  test('has its own ServiceAccount without a token, and the pod uses it', () => {
    const { objects } = build();
    expect(find(objects, 'ServiceAccount', 'api').automountServiceAccountToken).toBe(false);
    expect(podSpec(objects).serviceAccountName).toBe('api');
    expect(podSpec(objects).automountServiceAccountToken).toBe(false);
  });
});

describe('ApiService Service', () => {
  test('selects the pods, port 80 -> targetPort http, ClusterIP by default', () => {
    const { objects } = build();
    const service = find(objects, 'Service', 'api');
    expect(service.spec.type).toBe('ClusterIP');
    expect(service.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
    expectSubset(service.spec.selector, deployment(objects).spec.template.metadata.labels);
  });

  test('servicePort sets the Service port, the target stays the http container port', () => {
    const { api, objects } = build({ servicePort: 8000 });
    expect(find(objects, 'Service', 'api').spec.ports).toEqual([{ name: 'http', port: 8000, targetPort: 'http', protocol: 'TCP' }]);
    expect(api.endpoint).toEqual({ host: 'api', port: 8000, targetPort: 8000, workload: api });
  });

  test('the endpoint is where other workloads reach the API', () => {
    const { api } = build();
    expect(api.endpoint).toEqual({ host: 'api', port: 80, targetPort: 8000, workload: api });
  });

  test('LoadBalancer exposure makes a LoadBalancer Service and opens 8000 to anywhere', () => {
    const { objects } = build({ exposure: ServiceExposure.LOAD_BALANCER });
    expect(find(objects, 'Service', 'api').spec.type).toBe('LoadBalancer');
    expect(find(objects, 'NetworkPolicy', 'api').spec.ingress).toEqual([
      { from: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ protocol: 'TCP', port: 8000 }] },
      PROMETHEUS_INGRESS,
    ]);
  });

  test('a ClusterIP API accepts no traffic but Prometheus\' scrapes until a client connects', () => {
    expect(find(build().objects, 'NetworkPolicy', 'api').spec.ingress).toEqual([PROMETHEUS_INGRESS]);
  });

  test('the NetworkPolicy selects the API pods', () => {
    const { objects } = build();
    expectSubset(find(objects, 'NetworkPolicy', 'api').spec.podSelector.matchLabels, deployment(objects).spec.template.metadata.labels);
  });
});

describe('ApiService metrics', () => {
  test('Prometheus scrapes /metrics on the container port named http, with the discovery labels and job = the name', () => {
    const { api, objects } = build();
    const monitor = find(objects, 'PodMonitor', 'api');
    expect(monitor.metadata.labels.release).toBe('kube-prometheus-stack');
    expect(monitor.spec).toEqual({
      jobLabel: 'app.kubernetes.io/name',
      // Each series carries its version's hash: rollout analyses judge the new pods only.
      podTargetLabels: ['rollouts-pod-template-hash'],
      selector: { matchLabels: deployment(objects).spec.selector.matchLabels },
      podMetricsEndpoints: [{ port: 'http', path: '/metrics' }],
    });
    expect(container(objects).ports.map((p: K8sObject) => p.name)).toContain('http');
    expect(api.appMetrics).toEqual({ latencyP95Seconds: 1 });
  });
});

describe('ApiService scaling and availability', () => {
  const autoscaling = { minReplicas: 3, maxReplicas: 10, targetCpuUtilizationPercent: 70 };

  test('with autoscaling the Deployment has no replicas and an autoscaling/v2 HPA targets it', () => {
    const { api, objects } = build({ replicas: 3, autoscaling });
    expect(deployment(objects).spec).not.toHaveProperty('replicas');
    const hpa = find(objects, 'HorizontalPodAutoscaler', 'api');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' });
    expect(hpa.spec).toMatchObject({ minReplicas: 3, maxReplicas: 10 });
    expect(api.autoscaler?.minReplicas).toBe(3);
    expect(api.minReplicas).toBe(3);
  });

  test('without autoscaling there is no HPA', () => {
    const { api, objects } = build({ replicas: 3 });
    expect(objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')).toEqual([]);
    expect(api.autoscaler).toBeUndefined();
  });

  test.each<[string, ApiOptions, boolean]>([
    ['1 replica', { replicas: 1 }, false],
    ['2 replicas', { replicas: 2 }, true],
    ['autoscaled from 1 (replicas 3 ignored)', { replicas: 3, autoscaling: { minReplicas: 1, maxReplicas: 4 } }, false],
    ['autoscaled from 3 (replicas 1 ignored)', { replicas: 1, autoscaling: { minReplicas: 3, maxReplicas: 4 } }, true],
  ])('%s: PodDisruptionBudget and topology spread only with more than one pod', (_what, options, replicated) => {
    const { api, objects } = build(options);
    const pdbs = objects.filter((o) => o.kind === 'PodDisruptionBudget');
    const spread = podSpec(objects).topologySpreadConstraints;
    if (replicated) {
      expect(pdbs).toHaveLength(1);
      expect(pdbs[0].metadata.name).toBe('api');
      expect(pdbs[0].spec.maxUnavailable).toBe(1);
      expectSubset(pdbs[0].spec.selector.matchLabels, deployment(objects).spec.template.metadata.labels);
      expect(spread.map((c: K8sObject) => c.topologyKey)).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
      for (const c of spread) expectSubset(c.labelSelector.matchLabels, deployment(objects).spec.template.metadata.labels);
      expect(api.podDisruptionBudget).toBeDefined();
    } else {
      expect(pdbs).toEqual([]);
      expect(spread).toBeUndefined();
      expect(api.podDisruptionBudget).toBeUndefined();
    }
  });
});

describe('ApiService errors name the field and the value', () => {
  test.each<[string, ApiOptions, RegExp]>([
    ['a secretEnv name that is not an environment variable', { secretEnv: { 'DB-PASSWORD': { name: 'logistics-secret', key: 'db_password' } } },
      /^test: api\.secretEnv\.DB-PASSWORD must be an environment variable name but "DB-PASSWORD" was provided$/],
    ['a secretEnv Secret name that is not a DNS name', { secretEnv: { DB_PASSWORD: { name: 'Logistics_Secret', key: 'db_password' } } },
      /^test: api\.secretEnv\.DB_PASSWORD\.name must be a DNS subdomain name .* but "Logistics_Secret" was provided$/],
    ['a secretEnv key with a slash', { secretEnv: { DB_PASSWORD: { name: 'logistics-secret', key: 'db/password' } } },
      /^test: api\.secretEnv\.DB_PASSWORD\.key must be a Secret key .* but "db\/password" was provided$/],
    ['servicePort 0', { servicePort: 0 }, /^test: api\.servicePort must be an integer between 1 and 65535 but 0 was provided$/],
    ['servicePort 65536', { servicePort: 65536 }, /^test: api\.servicePort must be an integer between 1 and 65535 but 65536 was provided$/],
    ['servicePort 80.5', { servicePort: 80.5 }, /^test: api\.servicePort must be an integer between 1 and 65535 but 80\.5 was provided$/],
    ['replicas 0', { replicas: 0 }, /^test: api\.replicas must be an integer between 1 and 100 but 0 was provided$/],
    ['an image tag latest', { image: { repository: 'registry.example.com/api', tag: 'latest' } },
      /^test: api\.image\.tag must be a semantic version .* but "latest" was provided$/],
    ['a request above its limit', { resources: { requests: { cpu: '4', memory: '512Mi' }, limits: { cpu: '2', memory: '2Gi' } } },
      /^test: api\.resources\.requests\.cpu must be at most api\.resources\.limits\.cpu \(2\) but "4" was provided$/],
    ['an exposure that does not exist', { exposure: 'NodePort' as ServiceExposure },
      /^test: api\.exposure must be one of ClusterIP, LoadBalancer but "NodePort" was provided$/],
    ['autoscaling from 0', { autoscaling: { minReplicas: 0, maxReplicas: 3 } },
      /^test: api\.autoscaling\.minReplicas must be an integer between 1 and 1000 but 0 was provided$/],
  ])('%s', (_what, options, message) => {
    expect(() => build(options)).toThrow(message);
  });
});

describe('a missing secretEnv reference is a ConfigError', () => {
  test('names the variable and says a Secret reference is expected', () => {
    expect(() => build({ secretEnv: { API_KEY: undefined as never } })).toThrow(
      /^test: api\.secretEnv\.API_KEY must be a reference to an existing Secret \(\{ name, key \}\) but undefined was provided$/,
    );
  });
});
