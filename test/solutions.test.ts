import { RestoreChart } from '../lib/backup/restore-chart';
/**
 * Every environment of every solution the configuration defines (R1-R9, R15): a snapshot of each as a
 * tripwire (accept an intended change with `npm run accept`), and the
 * behaviour every environment must have, asserted on the synthesized objects. Per-solution
 * behaviour is in test/solutions/<solution>.test.ts.
 */
import { environmentsOf } from '../lib/config/solution-definition';
import { SOLUTIONS } from '../lib/solutions';
import { buildEnvironment } from '../lib/solutions/solution';
import {
  K8sObject, MATRIX, all, apiContainer, backendsOf, connectionAllowed, containerPortOf, env, envConfigMap, find, inClusterService, maybe, modelDeployments, outdir, podTemplates, properties, settingsOf, workload,
} from './support/solution-objects';
import { INGRESS_CONTROLLER } from './support/network-policy-evaluator';

describe('snapshots (tripwire; accept an intended change with `npm run accept`)', () => {
  test('the matrix is every environment of every solution the configuration defines', () => {
    expect(MATRIX).toEqual(SOLUTIONS.flatMap((s) => environmentsOf(s.definition).map((e) => [s.definition.name, e])));
    expect(MATRIX.length).toBeGreaterThan(0);
  });

  test.each(MATRIX)('%s/%s', (solution, environment) => {
    expect(env(solution, environment).objects).toMatchSnapshot();
  });

  test('building an environment twice gives the same objects', () => {
    const [solution, environment] = MATRIX[MATRIX.length - 1];
    const again = buildEnvironment(SOLUTIONS.find((s) => s.definition.name === solution)!, environment, outdir);
    const inFileOrder = [...again.charts.filter((c) => !RestoreChart.isRestoreChart(c)), ...again.charts.filter((c) => RestoreChart.isRestoreChart(c))];
    expect(inFileOrder.flatMap((c) => c.toJson())).toEqual(env(solution, environment).objects);
  });
});

describe.each(MATRIX)('%s/%s', (solution, environment) => {
  const e = () => env(solution, environment);

  test('the namespace is the configured one (default <solution>-<environment>) and holds every other object', () => {
    const namespaces = all(e().objects, 'Namespace');
    expect(namespaces.map((n) => n.metadata.name)).toEqual([settingsOf(solution, environment).namespace ?? `${solution}-${environment}`]);
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
      (c.envFrom ?? []).some((f: K8sObject) => /^app-config-env-[0-9a-f]{10}$/.test(f.configMapRef?.name ?? ''))));
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
      const api = workload(e().app, 'api').spec.template;
      for (const p of connectionAllowed(e().objects, api, backends[0], containerPortOf(e().objects, service, port))) problems.push(`api -> ${key}: ${p}`);
    }
    expect(problems).toEqual([]);
  });

  test('the Ingress (where configured) routes to a Service port that exists, whose pods admit the ingress controller', () => {
    const ingresses = all(e().app, 'Ingress');
    expect(ingresses).toHaveLength(settingsOf(solution, environment).ingress ? 1 : 0);
    for (const rule of ingresses[0]?.spec.rules ?? []) {
      for (const path of rule.http.paths) {
        const service = find(e().objects, 'Service', path.backend.service.name);
        const target = containerPortOf(e().objects, service, path.backend.service.port.number);
        for (const pod of backendsOf(e().objects, service)) {
          expect(connectionAllowed(e().objects, INGRESS_CONTROLLER, pod, target)).toEqual([]);
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
    expect(lines).toContain(`app.version=${settingsOf(solution, environment).application.version}`);
    expect(envConfigMap(e()).data).toMatchObject({ APP_ENV: environment, APP_PROPERTIES_FILE: '/etc/app/app.properties' });
  });
});

describe.each(MATRIX)('%s/%s follows its configuration', (solution, environment) => {
  const e = () => env(solution, environment);
  const settings = () => settingsOf(solution, environment);

  test('API replicas: fixed, or owned by an HPA with the configured bounds', () => {
    const api = settings().api;
    const deployment = workload(e().app, 'api');
    const hpa = maybe(e().app, 'HorizontalPodAutoscaler', 'api');
    if (api.autoscaling) {
      expect(deployment.spec.replicas).toBeUndefined();
      expect([hpa?.spec.minReplicas, hpa?.spec.maxReplicas]).toEqual([api.autoscaling.minReplicas, api.autoscaling.maxReplicas]);
    } else {
      expect(deployment.spec.replicas).toBe(api.replicas);
      expect(hpa).toBeUndefined();
    }
  });

  test('API resources and Ingress hosts are the configured ones', () => {
    const api = settings().api;
    expect(apiContainer(e()).resources.requests).toMatchObject({ cpu: api.resources.requests.cpu, memory: api.resources.requests.memory });
    expect(apiContainer(e()).resources.limits).toMatchObject({ cpu: api.resources.limits.cpu, memory: api.resources.limits.memory });
    const ingress = maybe(e().app, 'Ingress', 'ingress');
    expect(ingress?.spec.rules.map((r: K8sObject) => r.host)).toEqual(settings().ingress?.hosts);
  });
});
