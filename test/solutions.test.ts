/**
 * The two solutions in their three environments (R1-R9, R15): a snapshot of each environment as a
 * tripwire (update with `npx jest -u test/solutions.test.ts` after an intended change), and the
 * behaviour each solution must have, asserted on the synthesized objects.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { environmentsOf } from '../lib/config/solution-definition';
import { SOLUTIONS } from '../lib/solutions';
import { buildEnvironment } from '../lib/solutions/solution';

type K8sObject = Record<string, any>;

interface Environment {
  readonly solution: string;
  readonly environment: string;
  readonly namespace: string;
  /** Objects of every chart, in file order (namespace, data, app). */
  readonly objects: K8sObject[];
  /** Objects of the application chart only. */
  readonly app: K8sObject[];
}

const outdir = mkdtempSync(join(tmpdir(), 'solutions-test-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const MATRIX: [string, string][] = SOLUTIONS.flatMap((s) => environmentsOf(s.definition).map((e): [string, string] => [s.definition.name, e]));
const built = new Map<string, Environment>();

/** Builds one environment (once per test file) and returns its objects, without writing anything. */
function env(solution: string, environment: string): Environment {
  const key = `${solution}/${environment}`;
  let result = built.get(key);
  if (!result) {
    const definition = SOLUTIONS.find((s) => s.definition.name === solution);
    if (!definition) throw new Error(`no solution ${solution}`);
    const app = buildEnvironment(definition as never, environment, outdir);
    result = {
      solution,
      environment,
      namespace: `${solution}-${environment}`,
      objects: app.charts.flatMap((chart) => chart.toJson()),
      app: app.appChart.toJson(),
    };
    built.set(key, result);
  }
  return result;
}

function all(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0];
}

function maybe(objects: K8sObject[], kind: string, name: string): K8sObject | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name);
}

const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'];

/** Pod templates of every workload kind, with the workload they belong to. */
function podTemplates(objects: K8sObject[]): { owner: K8sObject; template: K8sObject }[] {
  return objects.filter((o) => WORKLOAD_KINDS.includes(o.kind)).map((owner) => ({ owner, template: owner.spec.template }));
}

function isSubset(subset: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!subset || Object.keys(subset).length === 0) return false;
  return Object.entries(subset).every(([k, v]) => labels?.[k] === v);
}

/** The pod templates a Service sends traffic to. */
function backendsOf(objects: K8sObject[], service: K8sObject): K8sObject[] {
  return podTemplates(objects).filter((p) => isSubset(service.spec.selector, p.template.metadata.labels)).map((p) => p.template);
}

/** The container port a Service port reaches (a named targetPort resolved in the pods behind it). */
function containerPortOf(objects: K8sObject[], service: K8sObject, servicePort: number): number {
  const port = service.spec.ports.find((p: K8sObject) => p.port === servicePort);
  if (!port) throw new Error(`Service ${service.metadata.name} has no port ${servicePort}`);
  if (port.targetPort === undefined) return port.port;
  if (typeof port.targetPort === 'number') return port.targetPort;
  const numbers = new Set<number>();
  for (const template of backendsOf(objects, service)) {
    for (const c of template.spec.containers) {
      for (const p of c.ports ?? []) if (p.name === port.targetPort) numbers.add(p.containerPort);
    }
  }
  if (numbers.size !== 1) throw new Error(`Service ${service.metadata.name} port ${servicePort} targets "${port.targetPort}", found container ports [${[...numbers]}]`);
  return [...numbers][0];
}

/** The NetworkPolicies that select a pod template (the namespace-wide default deny aside). */
function policiesOf(objects: K8sObject[], template: K8sObject): K8sObject[] {
  return all(objects, 'NetworkPolicy').filter((np) => isSubset(np.spec.podSelector?.matchLabels, template.metadata.labels));
}

function portAllowed(ports: K8sObject[] | undefined, port: number): boolean {
  return ports === undefined || ports.some((p) => p.port === port && (p.protocol ?? 'TCP') === 'TCP');
}

/** A same-namespace pod peer of a rule that matches `labels`. */
function peerMatches(peers: K8sObject[] | undefined, labels: Record<string, string>): boolean {
  return peers === undefined || peers.some((peer) => !peer.namespaceSelector && !peer.ipBlock && isSubset(peer.podSelector?.matchLabels, labels));
}

/** Whether the NetworkPolicies let pods of `client` open connections to pods of `server` on `port`. */
function connectionAllowed(objects: K8sObject[], client: K8sObject, server: K8sObject, port: number): string[] {
  const problems: string[] = [];
  const clientPolicies = policiesOf(objects, client).filter((np) => np.spec.policyTypes.includes('Egress'));
  const serverPolicies = policiesOf(objects, server).filter((np) => np.spec.policyTypes.includes('Ingress'));
  if (clientPolicies.length === 0) problems.push('the client has no NetworkPolicy');
  if (serverPolicies.length === 0) problems.push('the server has no NetworkPolicy');
  const egress = clientPolicies.some((np) => (np.spec.egress ?? []).some((rule: K8sObject) =>
    peerMatches(rule.to, server.metadata.labels) && portAllowed(rule.ports, port)));
  const ingress = serverPolicies.some((np) => (np.spec.ingress ?? []).some((rule: K8sObject) =>
    peerMatches(rule.from, client.metadata.labels) && portAllowed(rule.ports, port)));
  if (!egress) problems.push(`no egress rule of the client allows port ${port} to the server`);
  if (!ingress) problems.push(`no ingress rule of the server allows port ${port} from the client`);
  return problems;
}

/** The Service an in-cluster host names: `svc`, `svc.<namespace>`, `svc.<namespace>.svc[.cluster.local]`. */
function inClusterService(host: string, namespace: string): string | undefined {
  const match = new RegExp(`^([a-z0-9-]+)(\\.${namespace}(\\.svc(\\.cluster\\.local)?)?)?$`).exec(host);
  return match ? match[1] : undefined;
}

const envConfigMap = (e: Environment) => find(e.app, 'ConfigMap', 'app-config-env');
const properties = (e: Environment): string[] => find(e.app, 'ConfigMap', 'app-config-properties').data['app.properties'].split('\n');
const apiContainer = (e: Environment) => find(e.app, 'Deployment', 'api').spec.template.spec.containers[0];
const gpuOf = (container: K8sObject) => [container.resources.requests?.['nvidia.com/gpu'], container.resources.limits?.['nvidia.com/gpu']];
const modelDeployments = (e: Environment) => all(e.app, 'Deployment').filter((d) => d.metadata.labels['app.kubernetes.io/component'] === 'ai');

describe('snapshots (tripwire; update with `npx jest -u test/solutions.test.ts`)', () => {
  test('the matrix is 2 solutions x dev, test, prod', () => {
    expect(MATRIX).toEqual([
      ['logistics', 'dev'], ['logistics', 'test'], ['logistics', 'prod'],
      ['real-estate', 'dev'], ['real-estate', 'test'], ['real-estate', 'prod'],
    ]);
  });

  test.each(MATRIX)('%s/%s', (solution, environment) => {
    expect(env(solution, environment).objects).toMatchSnapshot();
  });

  test('building an environment twice gives the same objects', () => {
    const again = buildEnvironment(SOLUTIONS[0] as never, 'prod', outdir);
    expect(again.charts.flatMap((c) => c.toJson())).toEqual(env('logistics', 'prod').objects);
  });
});

describe.each(MATRIX)('%s/%s', (solution, environment) => {
  const e = () => env(solution, environment);

  test('the namespace is <solution>-<environment> and holds every other object', () => {
    const namespaces = all(e().objects, 'Namespace');
    expect(namespaces.map((n) => n.metadata.name)).toEqual([`${solution}-${environment}`]);
    expect(e().objects[0].kind).toBe('Namespace');
    const outside = e().objects.filter((o) => o.kind !== 'Namespace' && o.metadata.namespace !== e().namespace);
    expect(outside.map((o) => `${o.kind}/${o.metadata.name} in ${o.metadata.namespace}`)).toEqual([]);
  });

  test('every app-tier label instance is the environment', () => {
    for (const o of e().app) expect(`${o.kind}/${o.metadata.name} ${o.metadata.labels['app.kubernetes.io/instance']}`)
      .toBe(`${o.kind}/${o.metadata.name} ${solution}-${environment}`);
  });

  test('every *_HOST in app-config-env is a Service of this environment and *_PORT one of its ports, reachable by its readers', () => {
    const data: Record<string, string> = envConfigMap(e()).data;
    const readers = podTemplates(e().objects).filter(({ template }) => template.spec.containers.some((c: K8sObject) =>
      (c.envFrom ?? []).some((f: K8sObject) => f.configMapRef?.name === 'app-config-env')));
    expect(readers.map((r) => r.owner.metadata.name)).toContain('api');

    const problems: string[] = [];
    for (const key of Object.keys(data).filter((k) => k.endsWith('_HOST')).sort()) {
      const host = data[key];
      const name = inClusterService(host, e().namespace);
      const service = name && maybe(e().objects, 'Service', name);
      if (!service) {
        problems.push(`${key}=${host} is not a Service in ${e().namespace}`);
        continue;
      }
      const portKey = `${key.slice(0, -'_HOST'.length)}_PORT`;
      const port = Number(data[portKey]);
      if (!(portKey in data)) {
        problems.push(`${key} has no ${portKey}`);
        continue;
      }
      if (!service.spec.ports.some((p: K8sObject) => p.port === port)) {
        problems.push(`${portKey}=${data[portKey]} is not a port of Service ${name} (${service.spec.ports.map((p: K8sObject) => p.port)})`);
        continue;
      }
      const backends = backendsOf(e().objects, service);
      if (backends.length === 0) problems.push(`Service ${name} (${key}) selects no pods`);
      const target = containerPortOf(e().objects, service, port);
      for (const reader of readers) {
        for (const backend of backends) {
          for (const p of connectionAllowed(e().objects, reader.template, backend, target)) {
            problems.push(`${reader.owner.metadata.name} -> ${key}=${host}:${port}: ${p}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test('every MODEL_*_URL names a model Service and its port, reachable from the API', () => {
    const data: Record<string, string> = envConfigMap(e()).data;
    const keys = Object.keys(data).filter((k) => /^MODEL_[A-Z0-9_]+_URL$/.test(k)).sort();
    expect(keys).toHaveLength(modelDeployments(e()).length);
    expect(keys.length).toBeGreaterThan(0);
    const problems: string[] = [];
    for (const key of keys) {
      const url = new URL(data[key]);
      const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
      const name = inClusterService(url.hostname, e().namespace);
      const service = name && maybe(e().objects, 'Service', name);
      if (!service) {
        problems.push(`${key}=${data[key]}: ${url.hostname} is not a Service in ${e().namespace}`);
        continue;
      }
      if (!service.spec.ports.some((p: K8sObject) => p.port === port)) {
        problems.push(`${key}=${data[key]}: ${port} is not a port of Service ${name}`);
        continue;
      }
      const backends = backendsOf(e().objects, service);
      expect(backends.map((b) => b.metadata.labels['app.kubernetes.io/component'])).toEqual(['ai']);
      const api = find(e().app, 'Deployment', 'api').spec.template;
      for (const p of connectionAllowed(e().objects, api, backends[0], containerPortOf(e().objects, service, port))) problems.push(`api -> ${key}: ${p}`);
    }
    expect(problems).toEqual([]);
  });

  test('the Ingress routes to a Service port that exists, whose pods admit the ingress controller', () => {
    const ingresses = all(e().app, 'Ingress');
    expect(ingresses).toHaveLength(1);
    for (const rule of ingresses[0].spec.rules) {
      for (const path of rule.http.paths) {
        const service = find(e().objects, 'Service', path.backend.service.name);
        const target = containerPortOf(e().objects, service, path.backend.service.port.number);
        for (const pod of backendsOf(e().objects, service)) {
          const admitted = policiesOf(e().objects, pod).some((np) => (np.spec.ingress ?? []).some((r: K8sObject) =>
            (r.from ?? []).some((peer: K8sObject) => peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'ingress-nginx')
            && portAllowed(r.ports, target)));
          expect(`${rule.host} -> ${service.metadata.name}:${target} admitted=${admitted}`).toBe(`${rule.host} -> ${service.metadata.name}:${target} admitted=true`);
        }
      }
    }
  });

  test('every app-tier HPA scales a Deployment of this environment that leaves replicas to it', () => {
    const hpas = all(e().app, 'HorizontalPodAutoscaler');
    for (const hpa of hpas) {
      expect(hpa.apiVersion).toBe('autoscaling/v2');
      const target = find(e().objects, hpa.spec.scaleTargetRef.kind, hpa.spec.scaleTargetRef.name);
      expect(target.apiVersion).toBe(hpa.spec.scaleTargetRef.apiVersion);
      expect(target.spec.replicas).toBeUndefined();
    }
  });

  test('every app-tier pod reads only ConfigMaps of this environment, and Secrets only by reference', () => {
    const configMaps = new Set(all(e().objects, 'ConfigMap').map((c) => c.metadata.name));
    for (const { owner, template } of podTemplates(e().app)) {
      for (const c of template.spec.containers) {
        for (const f of c.envFrom ?? []) if (f.configMapRef) expect(`${owner.metadata.name}: ${f.configMapRef.name} exists=${configMaps.has(f.configMapRef.name)}`).toMatch(/exists=true$/);
        for (const v of c.env ?? []) {
          if (v.valueFrom) expect(v.value).toBeUndefined();
          // Credentials (passwords, keys, tokens, URLs with credentials in them) are never literals.
          if (/PASSWORD|SECRET|KEY|TOKEN|DATABASE_URL|REDIS_URL/.test(v.name)) {
            expect(`${owner.metadata.name}: ${v.name} from ${Object.keys(v.valueFrom ?? {})}`).toBe(`${owner.metadata.name}: ${v.name} from secretKeyRef`);
          }
        }
      }
      for (const v of template.spec.volumes ?? []) {
        if (v.configMap) expect(`${owner.metadata.name}: ${v.configMap.name} exists=${configMaps.has(v.configMap.name)}`).toMatch(/exists=true$/);
      }
    }
  });

  test('app.properties names the environment and the release', () => {
    const lines = properties(e());
    expect(lines).toContain(`app.environment=${environment}`);
    expect(lines).toContain('app.version=1.0.0');
    expect(envConfigMap(e()).data).toMatchObject({ APP_ENV: environment, APP_PROPERTIES_FILE: '/etc/app/app.properties' });
  });
});

describe('logistics (R3, R5-R9)', () => {
  const prod = () => env('logistics', 'prod');
  const dev = () => env('logistics', 'dev');

  test('prod: web servers behind a LoadBalancer on 80', () => {
    const service = find(prod().app, 'Service', 'web');
    expect(service.spec.type).toBe('LoadBalancer');
    expect(service.spec.ports.map((p: K8sObject) => p.port)).toEqual([80]);
    expect(find(prod().app, 'HorizontalPodAutoscaler', 'web').spec.minReplicas).toBe(2);
    expect(apiUpstream(prod())).toBe('http://api:8000');
  });

  test('prod: the API is a LoadBalancer on 8000 to container port 8000, autoscaled from 3', () => {
    const service = find(prod().app, 'Service', 'api');
    expect(service.spec.type).toBe('LoadBalancer');
    expect(service.spec.ports).toEqual([{ name: 'http', port: 8000, targetPort: 'http', protocol: 'TCP' }]);
    expect(containerPortOf(prod().objects, service, 8000)).toBe(8000);
    expect(find(prod().app, 'HorizontalPodAutoscaler', 'api').spec).toMatchObject({ minReplicas: 3, maxReplicas: 10 });
    expect(find(prod().app, 'Deployment', 'api').spec.replicas).toBeUndefined();
    expect(find(prod().app, 'PodDisruptionBudget', 'api').spec.maxUnavailable).toBe(1);
  });

  test('prod: the API has the seed\'s resources and probes (R5)', () => {
    const c = apiContainer(prod());
    expect(c.resources).toEqual({ requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '2', memory: '2Gi' } });
    expect(c.livenessProbe).toMatchObject({ httpGet: { path: '/health' }, initialDelaySeconds: 30, periodSeconds: 10 });
    expect(c.readinessProbe).toMatchObject({ httpGet: { path: '/ready' }, initialDelaySeconds: 10, periodSeconds: 5 });
  });

  test('prod: credentials come from the logistics and redis Secrets', () => {
    expect(apiContainer(prod()).env.filter((v: K8sObject) => v.valueFrom?.secretKeyRef).map((v: K8sObject) =>
      `${v.name}=${v.valueFrom.secretKeyRef.name}/${v.valueFrom.secretKeyRef.key}`)).toEqual([
      'API_KEY=logistics-secret/api_key',
      'DB_PASSWORD=logistics-secret/db_password',
      'REDIS_PASSWORD=redis-secret/password',
    ]);
  });

  test('three model services; route-planning has a GPU in prod only', () => {
    for (const environment of ['dev', 'test', 'prod']) {
      const e = env('logistics', environment);
      expect(modelDeployments(e).map((d) => d.metadata.name).sort()).toEqual(['demand-forecast', 'risk-prediction', 'route-planning']);
      for (const d of modelDeployments(e)) {
        const gpu = environment === 'prod' && d.metadata.name === 'route-planning' ? 1 : undefined;
        expect(`${environment} ${d.metadata.name} gpu=${gpuOf(d.spec.template.spec.containers[0])}`)
          .toBe(`${environment} ${d.metadata.name} gpu=${[gpu, gpu]}`);
        expect(d.spec.template.spec.tolerations === undefined).toBe(gpu === undefined);
      }
    }
  });

  test('prod: the Ingress sends logistics.example.com to the web tier over TLS', () => {
    const ingress = find(prod().app, 'Ingress', 'ingress');
    expect(ingress.spec.rules).toEqual([{
      host: 'logistics.example.com',
      http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] },
    }]);
    expect(ingress.spec.tls).toEqual([{ hosts: ['logistics.example.com'], secretName: 'logistics-tls' }]);
  });

  test('prod: the API accepts the web tier and load-balancer clients on 8000', () => {
    const api = find(prod().app, 'Deployment', 'api').spec.template;
    const web = find(prod().app, 'Deployment', 'web').spec.template;
    expect(connectionAllowed(prod().objects, web, api, 8000)).toEqual([]);
    const ingress = find(prod().app, 'NetworkPolicy', 'api').spec.ingress;
    expect(ingress).toContainEqual({ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ protocol: 'TCP', port: 8000 }] });
  });

  test('dev is smaller than prod: single pods, no autoscaling, smaller API, internal API, its own host without TLS', () => {
    expect(find(dev().app, 'Deployment', 'api').spec.replicas).toBe(1);
    expect(find(dev().app, 'Deployment', 'web').spec.replicas).toBe(1);
    expect(all(dev().app, 'HorizontalPodAutoscaler')).toEqual([]);
    expect(all(dev().app, 'PodDisruptionBudget')).toEqual([]);
    expect(apiContainer(dev()).resources).toEqual({ requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } });
    expect(apiContainer(dev()).resources).not.toEqual(apiContainer(prod()).resources);
    expect(find(dev().app, 'Service', 'api').spec.type).toBe('ClusterIP');
    const ingress = find(dev().app, 'Ingress', 'ingress');
    expect(ingress.spec.rules.map((r: K8sObject) => r.host)).toEqual(['logistics.dev.example.com']);
    expect(ingress.spec.tls).toBeUndefined();
    expect(properties(dev())).toContain('feature.experimental_eta_model=true');
    expect(properties(prod())).not.toContain('feature.experimental_eta_model=true');
  });

  test('test: autoscaled from 2, staging host with TLS, gray release and the ETA experiment', () => {
    const test = env('logistics', 'test');
    expect(find(test.app, 'HorizontalPodAutoscaler', 'api').spec).toMatchObject({ minReplicas: 2, maxReplicas: 4 });
    const ingress = find(test.app, 'Ingress', 'ingress');
    expect(ingress.spec.rules.map((r: K8sObject) => r.host)).toEqual(['logistics.test.example.com']);
    expect(ingress.spec.tls).toEqual([{ hosts: ['logistics.test.example.com'], secretName: 'logistics-test-tls' }]);
    expect(properties(test)).toEqual(expect.arrayContaining(['release.gray.percentage=10', 'release.ab.eta_model_v2.percentage=50']));
  });

  function apiUpstream(e: Environment): string {
    return find(e.app, 'Deployment', 'web').spec.template.spec.containers[0].env.find((v: K8sObject) => v.name === 'API_UPSTREAM').value;
  }
});

describe('real-estate (R4, R5, R15)', () => {
  const prod = () => env('real-estate', 'prod');
  const dev = () => env('real-estate', 'dev');

  test('prod: the API is behind an Ingress for api.real-estate.example.com with TLS', () => {
    const ingress = find(prod().app, 'Ingress', 'ingress');
    expect(ingress.spec.rules).toEqual([{
      host: 'api.real-estate.example.com',
      http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'api', port: { number: 80 } } } }] },
    }]);
    expect(ingress.spec.tls).toEqual([{ hosts: ['api.real-estate.example.com'], secretName: 'real-estate-api-tls' }]);
    expect(ingress.spec.ingressClassName).toBe('nginx');
  });

  test('prod: no web tier, and the API is not exposed by a load balancer', () => {
    expect(maybe(prod().objects, 'Deployment', 'web')).toBeUndefined();
    expect(all(prod().objects, 'Service').filter((s) => s.spec.type === 'LoadBalancer')).toEqual([]);
    expect(find(prod().app, 'Service', 'api').spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
  });

  test('prod: the API (3 replicas at least) has the seed\'s resources (R5)', () => {
    expect(apiContainer(prod()).resources).toEqual({ requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '2Gi' } });
    expect(find(prod().app, 'HorizontalPodAutoscaler', 'api').spec.minReplicas).toBe(3);
  });

  test('prod: app.properties holds the recommendation and evaluation settings (R15)', () => {
    expect(properties(prod())).toEqual(expect.arrayContaining([
      'recommendation.model=hybrid',
      'recommendation.top_k=10',
      'evaluation.model=xgboost',
      'evaluation.confidence_threshold=0.8',
      'app.name=Intelligent Real Estate Platform',
      'release.gray.percentage=10',
      'feature.recommendation=true',
    ]));
  });

  test('prod: database and redis URLs and the API key come from Secrets (R16)', () => {
    expect(apiContainer(prod()).env.map((v: K8sObject) => `${v.name}=${v.valueFrom?.secretKeyRef?.name}/${v.valueFrom?.secretKeyRef?.key}`)).toEqual(
      expect.arrayContaining([
        'API_KEY=real-estate-secrets/api-key',
        'DATABASE_URL=real-estate-secrets/database-url',
        'REDIS_URL=real-estate-secrets/redis-url',
      ]),
    );
  });

  test('recommendation and valuation model services, no GPU', () => {
    for (const environment of ['dev', 'test', 'prod']) {
      const models = modelDeployments(env('real-estate', environment));
      expect(models.map((d) => d.metadata.name).sort()).toEqual(['recommendation', 'valuation']);
      for (const d of models) expect(gpuOf(d.spec.template.spec.containers[0])).toEqual([undefined, undefined]);
    }
  });

  test('dev is smaller than prod: one API pod, no autoscaling, smaller API, its own host without TLS', () => {
    expect(find(dev().app, 'Deployment', 'api').spec.replicas).toBe(1);
    expect(maybe(dev().app, 'HorizontalPodAutoscaler', 'api')).toBeUndefined();
    expect(apiContainer(dev()).resources).toEqual({ requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } });
    const ingress = find(dev().app, 'Ingress', 'ingress');
    expect(ingress.spec.rules.map((r: K8sObject) => r.host)).toEqual(['api.dev.real-estate.example.com']);
    expect(ingress.spec.tls).toBeUndefined();
    expect(properties(dev())).toContain('feature.image_appraisal=true');
  });

  test('test: staging host with TLS and the hybrid-vs-collaborative experiment', () => {
    const test = env('real-estate', 'test');
    expect(find(test.app, 'Ingress', 'ingress').spec.rules.map((r: K8sObject) => r.host)).toEqual(['api.test.real-estate.example.com']);
    expect(properties(test)).toContain('release.ab.hybrid_vs_collaborative.percentage=50');
    expect(find(test.app, 'HorizontalPodAutoscaler', 'api').spec).toMatchObject({ minReplicas: 2, maxReplicas: 4 });
  });
});

describe.each(SOLUTIONS.map((s) => s.definition.name))('%s: dev differs from prod', (solution) => {
  test('in replicas, resources and hosts', () => {
    const dev = env(solution, 'dev');
    const prod = env(solution, 'prod');
    const replicas = (e: Environment) => find(e.app, 'Deployment', 'api').spec.replicas ?? `hpa min ${find(e.app, 'HorizontalPodAutoscaler', 'api').spec.minReplicas}`;
    expect(replicas(dev)).toBe(1);
    expect(replicas(prod)).toBe('hpa min 3');
    expect(apiContainer(dev).resources).not.toEqual(apiContainer(prod).resources);
    const hosts = (e: Environment) => find(e.app, 'Ingress', 'ingress').spec.rules.map((r: K8sObject) => r.host);
    expect(hosts(dev)).not.toEqual(hosts(prod));
    for (const host of hosts(dev)) expect(host).toContain('.dev.');
  });
});
