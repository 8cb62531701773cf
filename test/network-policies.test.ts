/**
 * Walks the NetworkPolicies of every environment in dist/ and proves that every connection the
 * configuration needs is allowed, and nothing else is: the set of allowed connections between
 * workloads (and from the ingress controller, the internet and to DNS) equals the set needed.
 */
import {
  Endpoint, INGRESS_CONTROLLER, INTERNET, KUBE_DNS, NetworkPolicy, NetworkPolicyEvaluator, OTHER_NAMESPACE_POD,
} from './support/network-policy-evaluator';
import { Manifest, synthesizedMatrix } from './support/manifests';
import { containerPortOf, isSubset } from './support/solution-objects';
import { expectedStoreConnections } from './support/store-connections';

const { manifests } = synthesizedMatrix();
const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'Job', 'CronJob'];


/** The port of a URL, with the scheme's default when the URL leaves it out (`http://x` -> 80). */
function urlPort(url: URL): number {
  return Number(url.port || (url.protocol === 'https:' ? 443 : 80));
}

function podTemplate(object: Record<string, any>): Record<string, any> {
  return object.kind === 'CronJob' ? object.spec.jobTemplate.spec.template : object.spec.template;
}

function workloadEndpoints(objects: Manifest[]): (Endpoint & { object: Record<string, any> })[] {
  return objects.filter((m) => WORKLOAD_KINDS.includes(m.object.kind)).map((m) => {
    const template = podTemplate(m.object);
    const ports = (template.spec.containers as any[]).flatMap((c) => (c.ports ?? []).map((p: any) => p.containerPort as number));
    return { id: `${m.object.kind}/${m.object.metadata.name}`, namespace: m.object.metadata.namespace, labels: template.metadata.labels, ports, object: m.object };
  });
}

/** The pods a Service sends to, and the container port behind `servicePort`. */
function serviceTargets(objects: Manifest[], workloads: ReturnType<typeof workloadEndpoints>, serviceName: string, servicePort: number): string[] {
  const service = objects.find((m) => m.object.kind === 'Service' && m.object.metadata.name === serviceName);
  if (!service) throw new Error(`no Service ${serviceName}`);
  const targetPort = containerPortOf(objects.map((m) => m.object), service.object, servicePort);
  return workloads.filter((w) => isSubset(service.object.spec.selector, w.labels)).map((w) => `${w.id}:${targetPort}`);
}

/** Every connection the environment's configuration needs. */
function neededConnections(solution: string, environment: string, objects: Manifest[], workloads: ReturnType<typeof workloadEndpoints>): string[] {
  const needed: string[] = workloads.map((w) => `${w.id} -> ${KUBE_DNS.id}:53`);
  const appEnv = objects.find((m) => m.object.kind === 'ConfigMap' && m.object.metadata.name === 'app-config-env')!.object.data as Record<string, string>;
  for (const [key, host] of Object.entries(appEnv)) {
    if (key.endsWith('_HOST')) {
      const port = Number(appEnv[key.replace(/_HOST$/, '_PORT')]);
      for (const target of serviceTargets(objects, workloads, host, port)) needed.push(`Deployment/api -> ${target}`);
    }
    if (/^MODEL_.*_URL$/.test(key)) {
      const url = new URL(host);
      for (const target of serviceTargets(objects, workloads, url.hostname, urlPort(url))) needed.push(`Deployment/api -> ${target}`);
    }
  }
  const web = workloads.find((w) => w.id === 'Deployment/web');
  if (web) {
    const upstream = new URL((podTemplate(web.object).spec.containers[0].env as any[]).find((e) => e.name === 'API_UPSTREAM').value);
    for (const target of serviceTargets(objects, workloads, upstream.hostname, urlPort(upstream))) needed.push(`Deployment/web -> ${target}`);
  }
  for (const ingress of objects.filter((m) => m.object.kind === 'Ingress')) {
    for (const rule of ingress.object.spec.rules) {
      for (const path of rule.http.paths) {
        for (const target of serviceTargets(objects, workloads, path.backend.service.name, path.backend.service.port.number)) {
          needed.push(`${INGRESS_CONTROLLER.id} -> ${target}`);
        }
      }
    }
  }
  for (const service of objects.filter((m) => m.object.kind === 'Service' && m.object.spec.type === 'LoadBalancer')) {
    for (const port of service.object.spec.ports) {
      // A LoadBalancer's source addresses are anyone's (and SNATed node addresses), so its pods
      // accept 0.0.0.0/0: the internet, and with it every pod of every namespace.
      for (const target of serviceTargets(objects, workloads, service.object.metadata.name, port.port)) {
        for (const source of [INTERNET, INGRESS_CONTROLLER, OTHER_NAMESPACE_POD]) needed.push(`${source.id} -> ${target}`);
      }
    }
  }
  needed.push(...expectedStoreConnections(solution, environment));
  return [...new Set(needed)].sort();
}

function allowedConnections(objects: Manifest[], workloads: Endpoint[]): string[] {
  const evaluator = new NetworkPolicyEvaluator(objects.filter((m) => m.object.kind === 'NetworkPolicy').map((m) => m.object as NetworkPolicy));
  const sources = [...workloads, INGRESS_CONTROLLER, INTERNET, OTHER_NAMESPACE_POD];
  const destinations = [...workloads, KUBE_DNS];
  const allowed: string[] = [];
  for (const from of sources) {
    for (const to of destinations) {
      if (from.id.startsWith('external/') && to.id.startsWith('external/')) continue;
      for (const port of to.ports) {
        if (evaluator.allows(from, to, port)) allowed.push(`${from.id} -> ${to.id}:${port}`);
      }
    }
  }
  return [...new Set(allowed)].sort();
}

const environments = [...new Set(manifests.map((m) => `${m.solution}/${m.environment}`))];

describe.each(environments)('NetworkPolicies of %s', (folder) => {
  const [solution, environment] = folder.split('/');
  const objects = manifests.filter((m) => m.solution === solution && m.environment === environment);
  const workloads = workloadEndpoints(objects);

  test('allow exactly the connections the configuration needs', () => {
    expect(allowedConnections(objects, workloads)).toEqual(neededConnections(solution, environment, objects, workloads));
  });

  test('the namespace denies everything by default', () => {
    const deny = objects.find((m) => m.object.kind === 'NetworkPolicy' && m.object.metadata.name === 'default-deny-all')!.object;
    expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  });

  test('every workload has a policy of its own that isolates both directions', () => {
    const policies = objects.filter((m) => m.object.kind === 'NetworkPolicy' && m.object.metadata.name !== 'default-deny-all');
    for (const w of workloads) {
      const own = policies.filter((p) => Object.entries(p.object.spec.podSelector.matchLabels ?? {}).every(([k, v]) => w.labels[k] === v));
      expect(`${w.id}: ${own.length}`).toBe(`${w.id}: 1`);
      expect(own[0].object.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    }
  });
});

describe('the evaluator', () => {
  const pod = (id: string, labels: Record<string, string>, ports: number[] = [80]): Endpoint => ({ id, namespace: 'ns', labels, ports });
  const a = pod('a', { app: 'a' });
  const b = pod('b', { app: 'b' });
  const denyAll: NetworkPolicy = { metadata: { name: 'deny', namespace: 'ns' }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } };

  test('allows everything without policies, nothing under default deny', () => {
    expect(new NetworkPolicyEvaluator([]).allows(a, b, 80)).toBe(true);
    expect(new NetworkPolicyEvaluator([denyAll]).allows(a, b, 80)).toBe(false);
  });

  test('needs both the egress of the source and the ingress of the destination', () => {
    const egress: NetworkPolicy = { metadata: { name: 'e', namespace: 'ns' }, spec: { podSelector: { matchLabels: { app: 'a' } }, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: { matchLabels: { app: 'b' } } }], ports: [{ port: 80 }] }] } };
    const ingress: NetworkPolicy = { metadata: { name: 'i', namespace: 'ns' }, spec: { podSelector: { matchLabels: { app: 'b' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'a' } } }], ports: [{ port: 80 }] }] } };
    expect(new NetworkPolicyEvaluator([denyAll, egress]).allows(a, b, 80)).toBe(false);
    expect(new NetworkPolicyEvaluator([denyAll, ingress]).allows(a, b, 80)).toBe(false);
    expect(new NetworkPolicyEvaluator([denyAll, egress, ingress]).allows(a, b, 80)).toBe(true);
    expect(new NetworkPolicyEvaluator([denyAll, egress, ingress]).allows(a, b, 81)).toBe(false);
    expect(new NetworkPolicyEvaluator([denyAll, egress, ingress]).allows(b, a, 80)).toBe(false);
  });

  test('a pod selector alone does not match pods of another namespace', () => {
    const ingress: NetworkPolicy = { metadata: { name: 'i', namespace: 'ns' }, spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'a' } } }] }] } };
    expect(new NetworkPolicyEvaluator([ingress]).allows({ ...a, namespace: 'other' }, b, 80)).toBe(false);
  });
});
