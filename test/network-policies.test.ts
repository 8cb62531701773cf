/**
 * Walks the NetworkPolicies of every environment in dist/ and proves that every connection the
 * configuration needs is allowed, and nothing else is: the set of allowed connections between
 * workloads (and from the ingress controller, the internet, another namespace's pods and
 * cert-manager's ACME solver, and to kube-dns and NodeLocal DNSCache) equals the set needed.
 */
import {
  acmeSolver, Endpoint, INGRESS_CONTROLLER, INTERNET, KUBE_DNS, NetworkPolicy, NetworkPolicyEvaluator, NODE_LOCAL_DNS, OTHER_NAMESPACE_POD, PROMETHEUS, ALERTMANAGER,
} from './support/network-policy-evaluator';
import { parse } from 'yaml';
import { Manifest, synthesizedMatrix } from './support/manifests';
import { containerPortOf, isSubset, settingsOf } from './support/solution-objects';
import { expectedStoreConnections } from './support/store-connections';

const { environmentManifests: manifests } = synthesizedMatrix();
const WORKLOAD_KINDS = ['Deployment', 'Rollout', 'StatefulSet', 'Job', 'CronJob'];
/** DNS servers every pod must reach, over UDP and TCP. */
const DNS_SERVERS = [KUBE_DNS, NODE_LOCAL_DNS];

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
  const needed: string[] = workloads.flatMap((w) => DNS_SERVERS.flatMap((dns) => [`${w.id} -> ${dns.id}:53`, `${w.id} -> ${dns.id}:53/UDP`]));
  // The API is a Deployment, or a Rollout where it is released blue-green (prod).
  const api = workloads.find((w) => ['Deployment/api', 'Rollout/api'].includes(w.id))!.id;
  const appEnv = objects.find((m) => m.object.kind === 'ConfigMap' && /^app-config-env-[0-9a-f]{10}$/.test(m.object.metadata.name))!.object.data as Record<string, string>;
  for (const [key, host] of Object.entries(appEnv)) {
    if (key.endsWith('_HOST')) {
      const port = Number(appEnv[key.replace(/_HOST$/, '_PORT')]);
      for (const target of serviceTargets(objects, workloads, host, port)) needed.push(`${api} -> ${target}`);
    }
    if (/^MODEL_.*_URL$/.test(key)) {
      const url = new URL(host);
      for (const target of serviceTargets(objects, workloads, url.hostname, urlPort(url))) needed.push(`${api} -> ${target}`);
    }
  }
  const web = workloads.find((w) => ['Deployment/web', 'Rollout/web'].includes(w.id));
  if (web) {
    const upstream = new URL((podTemplate(web.object).spec.containers[0].env as any[]).find((e) => e.name === 'API_UPSTREAM').value);
    for (const target of serviceTargets(objects, workloads, upstream.hostname, urlPort(upstream))) needed.push(`${web.id} -> ${target}`);
  }
  for (const ingress of objects.filter((m) => m.object.kind === 'Ingress')) {
    // cert-manager answers the HTTP-01 challenge of a TLS host through the controller, from a solver pod.
    if (ingress.object.spec.tls) needed.push(`${INGRESS_CONTROLLER.id} -> ${acmeSolver('').id}:8089`);
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
        for (const source of [INTERNET, INGRESS_CONTROLLER, OTHER_NAMESPACE_POD, PROMETHEUS, ALERTMANAGER]) needed.push(`${source.id} -> ${target}`);
      }
    }
  }
  // Prometheus scrapes every PodMonitor's port on the pods it selects, and nothing else.
  for (const monitor of objects.filter((m) => m.object.kind === 'PodMonitor')) {
    for (const w of workloads.filter((x) => isSubset(monitor.object.spec.selector.matchLabels, x.labels))) {
      for (const endpoint of monitor.object.spec.podMetricsEndpoints) {
        const port = (podTemplate(w.object).spec.containers as any[]).flatMap((c) => c.ports ?? []).find((p: any) => p.name === endpoint.port);
        needed.push(`${PROMETHEUS.id} -> ${w.id}:${port.containerPort}`);
      }
    }
  }
  // Alertmanager posts to the webhooks its AlertmanagerConfig names inside the namespace.
  for (const config of objects.filter((m) => m.object.kind === 'AlertmanagerConfig')) {
    for (const receiver of config.object.spec.receivers ?? []) {
      for (const webhook of receiver.webhookConfigs ?? []) {
        const url = new URL(webhook.url);
        const [service, ns] = url.hostname.split('.');
        if (ns !== config.object.metadata.namespace) continue;
        for (const target of serviceTargets(objects, workloads, service, urlPort(url))) needed.push(`${ALERTMANAGER.id} -> ${target}`);
      }
    }
  }
  needed.push(...expectedStoreConnections(settingsOf(solution, environment)));
  needed.push(...backupConnections(objects, workloads));
  return [...new Set(needed)].sort();
}

/**
 * Backup and restore pods reach exactly the servers their scripts are configured with (the hosts in
 * MYSQL_HOST, PGHOST, REDIS_NODES, ETCDCTL_ENDPOINTS of any job of the same backup), on the store's
 * port: pod DNS names `<statefulset>-<n>.<headless>` or a Service name.
 */
function backupConnections(objects: Manifest[], workloads: ReturnType<typeof workloadEndpoints>): string[] {
  const backups = workloads.filter((w) => w.labels['app.kubernetes.io/component'] === 'backup');
  const hostsOf = new Map<string, { host: string; port: number }[]>();
  for (const b of backups) {
    const name = b.labels['app.kubernetes.io/name'];
    const env = (podTemplate(b.object).spec.containers[0].env ?? []) as { name: string; value?: string }[];
    const value = (n: string) => env.find((e) => e.name === n)?.value;
    const found = hostsOf.get(name) ?? [];
    const add = (host: string | undefined, port: number) => { if (host) found.push({ host, port }); };
    add(value('MYSQL_HOST'), Number(value('MYSQL_PORT') ?? 3306));
    add(value('PGHOST'), Number(value('PGPORT') ?? 5432));
    for (const node of (value('REDIS_NODES') ?? '').split(' ').filter(Boolean)) add(node.split(':')[0], Number(node.split(':')[1]));
    for (const url of (value('ETCDCTL_ENDPOINTS') ?? '').split(',').filter(Boolean)) add(new URL(url).hostname, urlPort(new URL(url)));
    const minio = value('MINIO_ENDPOINT');
    if (minio) add(minio.split(':')[0], Number(minio.split(':')[1]));
    // milvus-backup reads its Milvus address, and the management API that pauses garbage
    // collection, from its backup.yaml (a file of the backup's scripts ConfigMap).
    const config = value('MILVUS_BACKUP_CONFIG');
    if (config) {
      const file = config.split('/').pop()!;
      const configMap = objects.find((m) => m.object.kind === 'ConfigMap' && m.object.data?.[file] !== undefined && m.object.metadata.name === `${name}-scripts`);
      const yaml = parse(configMap!.object.data[file]);
      add(yaml.milvus.address, Number(yaml.milvus.port));
      const gc = new URL(yaml.backup.gcPause.address);
      add(gc.hostname, urlPort(gc));
    }
    hostsOf.set(name, found);
  }
  const needed: string[] = [];
  for (const b of backups) {
    for (const { host, port } of hostsOf.get(b.labels['app.kubernetes.io/name']) ?? []) {
      const first = host.split('.')[0];
      const service = objects.find((m) => m.object.kind === 'Service' && m.object.metadata.name === first);
      const targets = service
        ? workloads.filter((w) => isSubset(service.object.spec.selector, w.labels))
        : workloads.filter((w) => w.object.kind === 'StatefulSet' && first === `${w.object.metadata.name}-${first.split('-').pop()}`);
      for (const t of targets) needed.push(`${b.id} -> ${t.id}:${port}`);
    }
  }
  return needed;
}

function allowedConnections(objects: Manifest[], workloads: Endpoint[], namespace: string): string[] {
  const evaluator = new NetworkPolicyEvaluator(objects.filter((m) => m.object.kind === 'NetworkPolicy').map((m) => m.object as NetworkPolicy));
  // The solver runs in the environment's namespace, so its own traffic is checked both ways.
  const solver = acmeSolver(namespace);
  const sources = [...workloads, INGRESS_CONTROLLER, INTERNET, OTHER_NAMESPACE_POD, PROMETHEUS, ALERTMANAGER, solver];
  const destinations = [...workloads, ...DNS_SERVERS, solver];
  const allowed: string[] = [];
  for (const from of sources) {
    for (const to of destinations) {
      if (isOutside(from, namespace) && isOutside(to, namespace)) continue;
      for (const port of to.ports) {
        if (evaluator.allows(from, to, port)) allowed.push(`${from.id} -> ${to.id}:${port}`);
      }
      for (const port of to.udpPorts ?? []) {
        if (evaluator.allows(from, to, port, 'UDP')) allowed.push(`${from.id} -> ${to.id}:${port}/UDP`);
      }
    }
  }
  return [...new Set(allowed)].sort();
}

/** An actor no policy of `namespace` isolates: the connections between two of those are not ours. */
function isOutside(actor: Endpoint, namespace: string): boolean {
  return actor.outsideCluster === true || actor.namespace !== namespace;
}

const environments = [...new Set(manifests.map((m) => `${m.solution}/${m.environment}`))];

describe.each(environments)('NetworkPolicies of %s', (folder) => {
  const [solution, environment] = folder.split('/');
  const objects = manifests.filter((m) => m.solution === solution && m.environment === environment);
  const workloads = workloadEndpoints(objects);

  test('allow exactly the connections the configuration needs', () => {
    const namespace = objects.find((m) => m.object.kind === 'Namespace')!.object.metadata.name;
    expect(allowedConnections(objects, workloads, namespace)).toEqual(neededConnections(solution, environment, objects, workloads));
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

  const policyOf = (name: string, spec: NetworkPolicy['spec']): NetworkPolicy => ({ metadata: { name, namespace: 'ns' }, spec });
  /** Ingress to b (and egress of everyone) as `rule` says, under default deny. */
  const admitsToB = (rule: NonNullable<NetworkPolicy['spec']['ingress']>[number]) => new NetworkPolicyEvaluator([
    denyAll,
    policyOf('out', { podSelector: {}, policyTypes: ['Egress'], egress: [{}] }),
    policyOf('in', { podSelector: { matchLabels: { app: 'b' } }, policyTypes: ['Ingress'], ingress: [rule] }),
  ]);

  test('an empty from or to list admits every peer, like an absent one', () => {
    const outsider: Endpoint = { id: 'x', namespace: 'elsewhere', labels: {}, ports: [] };
    for (const rule of [{ from: [] }, {}]) {
      expect(admitsToB(rule).allows(a, b, 80)).toBe(true);
      expect(admitsToB(rule).allows(outsider, b, 80)).toBe(true);
    }
    const egressToAnyone = new NetworkPolicyEvaluator([denyAll, policyOf('e', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [] }] })]);
    expect(egressToAnyone.allows(a, { ...b, namespace: 'elsewhere' }, 443)).toBe(true);
  });

  test('absent or empty ports admit every port and protocol; a port entry is TCP unless it says otherwise', () => {
    for (const rule of [{ from: [{ podSelector: {} }] }, { from: [{ podSelector: {} }], ports: [] }]) {
      expect(admitsToB(rule).allows(a, b, 8080)).toBe(true);
      expect(admitsToB(rule).allows(a, b, 53, 'UDP')).toBe(true);
    }
    const tcp53 = admitsToB({ ports: [{ port: 53 }] });
    expect(tcp53.allows(a, b, 53)).toBe(true);
    expect(tcp53.allows(a, b, 53, 'UDP')).toBe(false);
    const udp53 = admitsToB({ ports: [{ port: 53, protocol: 'UDP' }] });
    expect(udp53.allows(a, b, 53, 'UDP')).toBe(true);
    expect(udp53.allows(a, b, 53)).toBe(false);
    // Only a protocol: every port of it.
    const allUdp = admitsToB({ ports: [{ protocol: 'UDP' }] });
    expect(allUdp.allows(a, b, 5353, 'UDP')).toBe(true);
    expect(allUdp.allows(a, b, 5353)).toBe(false);
  });

  test('a port range (endPort) and a named port of the destination', () => {
    const range = admitsToB({ ports: [{ port: 9000, endPort: 9010 }] });
    expect([8999, 9000, 9005, 9010, 9011].map((p) => range.allows(a, b, p))).toEqual([false, true, true, true, false]);
    const named = admitsToB({ ports: [{ port: 'http' }] });
    expect(named.allows(a, { ...b, portNames: { http: 8080 } }, 8080)).toBe(true);
    expect(named.allows(a, { ...b, portNames: { http: 8080 } }, 80)).toBe(false);
    expect(named.allows(a, b, 8080)).toBe(false);
  });

  test('an ipBlock matches the actor\'s IP against cidr minus except, pods and outside addresses alike', () => {
    const rule = { from: [{ ipBlock: { cidr: '203.0.113.0/24', except: ['203.0.113.128/25'] } }] };
    const outside = (ip: string): Endpoint => ({ id: `ip ${ip}`, namespace: '', labels: {}, ports: [], ip, outsideCluster: true });
    expect(admitsToB(rule).allows(outside('203.0.113.7'), b, 80)).toBe(true);
    expect(admitsToB(rule).allows(outside('203.0.113.200'), b, 80)).toBe(false);
    expect(admitsToB(rule).allows(outside('198.51.100.7'), b, 80)).toBe(false);
    expect(admitsToB(rule).allows({ ...a, ip: '203.0.113.9' }, b, 80)).toBe(true);
    expect(admitsToB(rule).allows({ ...a, ip: '10.244.3.9' }, b, 80)).toBe(false);
    // Selectors never match an address outside the cluster.
    expect(admitsToB({ from: [{ namespaceSelector: {} }] }).allows(outside('203.0.113.7'), b, 80)).toBe(false);
    // Egress to one host only: NodeLocal DNSCache at its link-local address.
    const dnsOnly = new NetworkPolicyEvaluator([denyAll, policyOf('e', {
      podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '169.254.20.10/32' } }], ports: [{ port: 53, protocol: 'UDP' }] }],
    })]);
    expect(dnsOnly.allows(a, outside('169.254.20.10'), 53, 'UDP')).toBe(true);
    expect(dnsOnly.allows(a, outside('169.254.20.11'), 53, 'UDP')).toBe(false);
  });

  test('namespaceSelector and podSelector in one peer must both match; in two peers either does', () => {
    const monitoring = (labels: Record<string, string>): Endpoint => ({
      id: 'm', namespace: 'monitoring', namespaceLabels: { team: 'observability' }, labels, ports: [],
    });
    const prometheus = monitoring({ 'app.kubernetes.io/name': 'prometheus' });
    const grafana = monitoring({ 'app.kubernetes.io/name': 'grafana' });
    const team = { matchLabels: { team: 'observability' } };
    const isPrometheus = { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } };
    const and = admitsToB({ from: [{ namespaceSelector: team, podSelector: isPrometheus }] });
    expect(and.allows(prometheus, b, 80)).toBe(true);
    expect(and.allows(grafana, b, 80)).toBe(false);
    expect(and.allows({ ...prometheus, namespaceLabels: {} }, b, 80)).toBe(false);
    const or = admitsToB({ from: [{ namespaceSelector: team }, { podSelector: isPrometheus }] });
    expect(or.allows(grafana, b, 80)).toBe(true);
    expect(or.allows({ ...a, labels: { 'app.kubernetes.io/name': 'prometheus' } }, b, 80)).toBe(true);
    expect(or.allows(a, b, 80)).toBe(false);
  });

  test('matchExpressions: In, NotIn, Exists and DoesNotExist, in peers and in the policy\'s own selector', () => {
    const from = (operator: string, values?: string[]) => admitsToB({ from: [{ podSelector: { matchExpressions: [{ key: 'tier', operator, values }] } }] });
    const pod = (labels: Record<string, string>) => ({ ...a, labels });
    expect([from('In', ['api', 'web']).allows(pod({ tier: 'api' }), b, 80), from('In', ['api']).allows(pod({ tier: 'db' }), b, 80), from('In', ['api']).allows(pod({}), b, 80)])
      .toEqual([true, false, false]);
    expect([from('NotIn', ['db']).allows(pod({ tier: 'api' }), b, 80), from('NotIn', ['db']).allows(pod({ tier: 'db' }), b, 80), from('NotIn', ['db']).allows(pod({}), b, 80)])
      .toEqual([true, false, true]);
    expect([from('Exists').allows(pod({ tier: 'x' }), b, 80), from('Exists').allows(pod({}), b, 80)]).toEqual([true, false]);
    expect([from('DoesNotExist').allows(pod({ tier: 'x' }), b, 80), from('DoesNotExist').allows(pod({}), b, 80)]).toEqual([false, true]);
    const namespaces = admitsToB({ from: [{ namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['ingress-nginx'] }] } }] });
    expect(namespaces.allows({ ...a, namespace: 'ingress-nginx' }, b, 80)).toBe(true);
    expect(namespaces.allows({ ...a, namespace: 'default' }, b, 80)).toBe(false);
    // A policy selecting its pods by expression isolates exactly those.
    const isolateDbs = new NetworkPolicyEvaluator([policyOf('db', { podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['db'] }] }, policyTypes: ['Ingress'] })]);
    expect(isolateDbs.allows(a, pod({ tier: 'db' }), 80)).toBe(false);
    expect(isolateDbs.allows(a, pod({ tier: 'api' }), 80)).toBe(true);
  });

  test('policyTypes left out: Ingress, plus Egress when the policy has egress rules', () => {
    const egressRules = new NetworkPolicyEvaluator([policyOf('p', { podSelector: { matchLabels: { app: 'a' } }, egress: [{ ports: [{ port: 443 }] }] })]);
    expect(egressRules.allows(a, b, 443)).toBe(true);
    expect(egressRules.allows(a, b, 80)).toBe(false);
    expect(egressRules.allows(b, a, 80)).toBe(false);
  });
});
