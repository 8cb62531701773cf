/**
 * The Workload base (lib/workload.ts): ServiceAccount, restricted pod spec, disruption budget, and
 * the NetworkPolicy derived from the connections declared between workloads.
 */
import { App, Chart, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import {
  DEFAULT_DNS_PEERS, DNS_PEERS_CONTEXT_KEY, PodSpecOptions, NetworkPeer, ServiceEndpoint, Workload, WorkloadProps,
} from '../lib/workload';

type K8sObject = Record<string, any>;

/** The smallest concrete Workload: exposes the protected helpers so they can be asserted. */
class Pods extends Workload {
  constructor(scope: Construct, id: string, props: Partial<WorkloadProps> = {}) {
    super(scope, id, { component: 'test', version: '1.0.0', ...props });
  }

  /** A Service endpoint of these pods: clients use `port`, pods listen on `targetPort`. */
  public endpoint(port: number, targetPort = port): ServiceEndpoint {
    return { host: this.name, port, targetPort, workload: this };
  }

  public spec(options: Partial<PodSpecOptions> = {}) {
    return this.podSpec({ containers: [{ name: 'main', image: 'registry.example.com/app:1.0.0' }], ...options });
  }

  public budget(maxUnavailable?: number) {
    return this.addDisruptionBudget(maxUnavailable);
  }

  public metadata(annotations?: Record<string, string>) {
    return this.podMetadata(annotations);
  }
}

const KUBE_DNS_PEER = {
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
  podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
};
const DNS_PORTS = [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }];
/** The default DNS rule: kube-dns pods and NodeLocal DNSCache, UDP and TCP 53. */
const DNS_RULE = { to: [KUBE_DNS_PEER, { ipBlock: { cidr: '169.254.20.10/32' } }], ports: DNS_PORTS };

function selectorOf(name: string) {
  return { podSelector: { matchLabels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': 'app' } } };
}

function tcp(...ports: number[]) {
  return ports.map((port) => ({ protocol: 'TCP', port }));
}

function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  expect(found).toHaveLength(1);
  return found[0];
}

function policy(chart: Chart, name: string): K8sObject {
  return find(Testing.synth(chart), 'NetworkPolicy', name).spec;
}

describe('Workload objects', () => {
  test('a ServiceAccount named after the workload, token not mounted', () => {
    const chart = Testing.chart();
    new Pods(chart, 'worker');
    const account = find(Testing.synth(chart), 'ServiceAccount', 'worker');
    expect(account.automountServiceAccountToken).toBe(false);
    expect(account.metadata.labels['app.kubernetes.io/name']).toBe('worker');
  });

  test('the token is mounted only when asked, in the ServiceAccount and the pod', () => {
    const chart = Testing.chart();
    const pods = new Pods(chart, 'operator', { automountServiceAccountToken: true });
    expect(find(Testing.synth(chart), 'ServiceAccount', 'operator').automountServiceAccountToken).toBe(true);
    expect(pods.spec().automountServiceAccountToken).toBe(true);
  });

  test('name defaults to the id; an explicit name names every object', () => {
    const chart = Testing.chart();
    const pods = new Pods(chart, 'primary', { name: 'mysql-primary' });
    expect(pods.name).toBe('mysql-primary');
    expect(pods.serviceAccountName).toBe('mysql-primary');
    const names = Testing.synth(chart).map((o) => `${o.kind}/${o.metadata.name}`);
    expect(names).toEqual(['ServiceAccount/mysql-primary', 'NetworkPolicy/mysql-primary']);
  });

  test('labels are the standard labels of the workload', () => {
    const pods = new Pods(Testing.chart(), 'mysql', { component: 'database', version: '8.0.39' });
    expect(pods.labels.labels).toMatchObject({ 'app.kubernetes.io/component': 'database', 'app.kubernetes.io/version': '8.0.39' });
    expect(pods.labels.selectorLabels).toEqual({ 'app.kubernetes.io/name': 'mysql', 'app.kubernetes.io/instance': 'app' });
  });

  test.each([
    [{ name: 'Worker' }, /^test: w\.name must be a Service name .* at most 52 characters\) but "Worker" was provided$/],
    [{ name: 'a'.repeat(53) }, /^test: w\.name must be a Service name .* at most 52 characters\) but "a{53}" was provided$/],
    [{ name: '3d-floorplan' }, /^test: w\.name must be a Service name \(starts with a lower-case letter.* but "3d-floorplan" was provided$/],
    [{ runAsUser: 0 }, /^test: w\.runAsUser must be an integer between 1 and 2147483647 but 0 was provided$/],
    [{ runAsUser: 1.5 }, /^test: w\.runAsUser must be an integer between 1 and 2147483647 but 1\.5 was provided$/],
  ])('refuses %j', (props, message) => {
    expect(() => new Pods(Testing.chart(), 'w', props)).toThrow(message);
  });
});

describe('Workload.podSpec', () => {
  test('is Pod Security "restricted": non-root, seccomp RuntimeDefault, user/group/fsGroup 10001', () => {
    const spec = new Pods(Testing.chart(), 'worker').spec();
    expect(spec.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 10001,
      runAsGroup: 10001,
      fsGroup: 10001,
      fsGroupChangePolicy: 'OnRootMismatch',
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(spec.serviceAccountName).toBe('worker');
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.enableServiceLinks).toBe(false);
    expect(spec.terminationGracePeriodSeconds).toBe(30);
  });

  test('runs as the image\'s user when given (mysql, postgres, redis: 999)', () => {
    const spec = new Pods(Testing.chart(), 'mysql', { runAsUser: 999 }).spec();
    expect(spec.securityContext).toMatchObject({ runAsUser: 999, runAsGroup: 999, fsGroup: 999, runAsNonRoot: true });
  });

  test('spreads over hosts and zones by default, selecting its own pods', () => {
    const pods = new Pods(Testing.chart(), 'worker');
    const spread = pods.spec().topologySpreadConstraints!;
    expect(spread.map((c) => c.topologyKey)).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    for (const c of spread) {
      expect(c.maxSkew).toBe(1);
      expect(c.whenUnsatisfiable).toBe('ScheduleAnyway');
      expect(c.labelSelector).toEqual({ matchLabels: pods.labels.selectorLabels });
    }
  });

  test('does not spread a single pod', () => {
    expect(new Pods(Testing.chart(), 'worker').spec({ spread: false }).topologySpreadConstraints).toBeUndefined();
  });

  test('passes containers, init containers, volumes, grace period and restart policy through', () => {
    const spec = new Pods(Testing.chart(), 'job').spec({
      initContainers: [{ name: 'init', image: 'busybox:1.36.1' }],
      volumes: [{ name: 'data', emptyDir: {} }],
      terminationGracePeriodSeconds: 120,
      restartPolicy: 'OnFailure',
    });
    expect(spec.containers.map((c) => c.name)).toEqual(['main']);
    expect(spec.initContainers!.map((c) => c.name)).toEqual(['init']);
    expect(spec.volumes).toEqual([{ name: 'data', emptyDir: {} }]);
    expect(spec.terminationGracePeriodSeconds).toBe(120);
    expect(spec.restartPolicy).toBe('OnFailure');
  });

  test('podMetadata carries all six labels and the annotations', () => {
    const pods = new Pods(Testing.chart(), 'worker');
    expect(pods.metadata({ 'checksum/config': 'abc' })).toEqual({ labels: pods.labels.labels, annotations: { 'checksum/config': 'abc' } });
  });
});

describe('Workload.addDisruptionBudget', () => {
  test('none until asked for', () => {
    const chart = Testing.chart();
    const pods = new Pods(chart, 'worker');
    expect(pods.podDisruptionBudget).toBeUndefined();
    expect(Testing.synth(chart).filter((o) => o.kind === 'PodDisruptionBudget')).toEqual([]);
  });

  test('keeps all but maxUnavailable pods, selecting exactly the workload\'s pods', () => {
    const chart = Testing.chart();
    const pods = new Pods(chart, 'worker');
    const budget = pods.budget(2);
    expect(pods.podDisruptionBudget).toBe(budget);
    const pdb = find(Testing.synth(chart), 'PodDisruptionBudget', 'worker');
    expect(pdb.apiVersion).toBe('policy/v1');
    expect(pdb.spec).toEqual({ maxUnavailable: 2, selector: { matchLabels: pods.labels.selectorLabels } });
  });

  test('maxUnavailable defaults to 1', () => {
    const chart = Testing.chart();
    new Pods(chart, 'worker').budget();
    expect(find(Testing.synth(chart), 'PodDisruptionBudget', 'worker').spec.maxUnavailable).toBe(1);
  });
});

describe('Workload NetworkPolicy', () => {
  test('with no connections: selects its pods, denies ingress, allows only DNS out', () => {
    const chart = Testing.chart();
    new Pods(chart, 'lonely');
    expect(policy(chart, 'lonely')).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'lonely', 'app.kubernetes.io/instance': 'app' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [],
      egress: [DNS_RULE],
    });
  });

  test('connectTo opens egress at the client and ingress at the server, on the target port', () => {
    const chart = Testing.chart();
    const api = new Pods(chart, 'api');
    const db = new Pods(chart, 'db');
    const endpoint = db.endpoint(5432, 15432);
    expect(api.connectTo(endpoint)).toBe(endpoint);

    expect(api.egress).toEqual([{ peer: db, port: 15432 }]);
    expect(db.ingress).toEqual([{ peer: api, port: 15432 }]);
    expect(api.ingress).toEqual([]);
    expect(db.egress).toEqual([]);

    expect(policy(chart, 'api').egress).toEqual([DNS_RULE, { to: [selectorOf('db')], ports: tcp(15432) }]);
    expect(policy(chart, 'api').ingress).toEqual([]);
    expect(policy(chart, 'db').ingress).toEqual([{ from: [selectorOf('api')], ports: tcp(15432) }]);
    expect(policy(chart, 'db').egress).toEqual([DNS_RULE]);
  });

  test('connections declared after the objects are created still reach the policy (it is lazy)', () => {
    const chart = Testing.chart();
    const api = new Pods(chart, 'api');
    const first = policy(chart, 'api');
    api.connectTo(new Pods(chart, 'cache').endpoint(6379));
    expect(first.egress).toEqual([DNS_RULE]);
    expect(policy(chart, 'api').egress).toHaveLength(2);
  });

  test('two ports to one peer are one rule with the ports sorted', () => {
    const chart = Testing.chart();
    const api = new Pods(chart, 'api');
    const milvus = new Pods(chart, 'milvus');
    api.connectTo(milvus.endpoint(19530));
    api.connectTo(milvus.endpoint(80, 9091));
    expect(policy(chart, 'api').egress).toEqual([DNS_RULE, { to: [selectorOf('milvus')], ports: tcp(9091, 19530) }]);
    expect(policy(chart, 'milvus').ingress).toEqual([{ from: [selectorOf('api')], ports: tcp(9091, 19530) }]);
  });

  test('the same connection declared twice is recorded once', () => {
    const chart = Testing.chart();
    const api = new Pods(chart, 'api');
    const db = new Pods(chart, 'db');
    api.connectTo(db.endpoint(3306));
    api.connectTo(db.endpoint(3306));
    expect(api.egress).toHaveLength(1);
    expect(db.ingress).toHaveLength(1);
    expect(policy(chart, 'db').ingress).toEqual([{ from: [selectorOf('api')], ports: tcp(3306) }]);
  });

  test('several clients of one server get one ingress rule each, in declaration order', () => {
    const chart = Testing.chart();
    const db = new Pods(chart, 'db');
    new Pods(chart, 'api').connectTo(db.endpoint(3306));
    new Pods(chart, 'backup').connectTo(db.endpoint(3306));
    expect(policy(chart, 'db').ingress).toEqual([
      { from: [selectorOf('api')], ports: tcp(3306) },
      { from: [selectorOf('backup')], ports: tcp(3306) },
    ]);
  });

  test('allowPeers lets the pods of one workload talk to each other both ways', () => {
    const chart = Testing.chart();
    const redis = new Pods(chart, 'redis');
    redis.allowPeers(16379);
    redis.allowPeers(6379);
    const spec = policy(chart, 'redis');
    expect(spec.ingress).toEqual([{ from: [selectorOf('redis')], ports: tcp(6379, 16379) }]);
    expect(spec.egress).toEqual([DNS_RULE, { to: [selectorOf('redis')], ports: tcp(6379, 16379) }]);
  });

  test('outside peers: ingress controller, Prometheus, anywhere and a CIDR', () => {
    const chart = Testing.chart();
    const web = new Pods(chart, 'web');
    web.allowIngressFrom(NetworkPeer.ingressController(), 8080);
    web.allowIngressFrom(NetworkPeer.prometheus(), 9113);
    web.allowIngressFrom(NetworkPeer.anywhere(), 8080);
    web.allowEgressTo(NetworkPeer.cidr('10.20.0.0/16'), 443);
    const spec = policy(chart, 'web');
    expect(spec.ingress).toEqual([
      { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }], ports: tcp(8080) },
      {
        from: [{
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
          podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
        }],
        ports: tcp(9113),
      },
      { from: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: tcp(8080) },
    ]);
    expect(spec.egress).toEqual([DNS_RULE, { to: [{ ipBlock: { cidr: '10.20.0.0/16' } }], ports: tcp(443) }]);
  });

  test('peer descriptions name what they allow', () => {
    expect(NetworkPeer.ingressController('traefik').description).toBe('ingress controller (namespace traefik)');
    expect(NetworkPeer.prometheus().description).toBe('prometheus (namespace monitoring)');
    expect(NetworkPeer.anywhere().description).toBe('anywhere');
    expect(NetworkPeer.cidr('10.0.0.0/8').description).toBe('cidr 10.0.0.0/8');
  });

  test('DNS egress is always the first rule, whatever else is allowed', () => {
    const chart = Testing.chart();
    const api = new Pods(chart, 'api');
    api.allowEgressTo(NetworkPeer.anywhere(), 443);
    api.connectTo(new Pods(chart, 'db').endpoint(5432));
    api.allowPeers(7946);
    expect(policy(chart, 'api').egress[0]).toEqual(DNS_RULE);
    expect(policy(chart, 'api').egress).toHaveLength(4);
  });
});

describe('Workload DNS egress', () => {
  test('by default reaches the kube-dns pods and NodeLocal DNSCache at 169.254.20.10, UDP and TCP 53', () => {
    const chart = Testing.chart();
    new Pods(chart, 'api');
    expect(policy(chart, 'api').egress[0]).toEqual(DNS_RULE);
    expect(DEFAULT_DNS_PEERS.map((p) => p.description)).toEqual(['kube-dns (namespace kube-system)', 'cidr 169.254.20.10/32']);
  });

  test('dnsPeers replaces the peers, e.g. a managed DNS or a cache on another address', () => {
    const chart = Testing.chart();
    new Pods(chart, 'api', { dnsPeers: [NetworkPeer.kubeDns('dns-system'), NetworkPeer.nodeLocalDnsCache('169.254.0.10'), NetworkPeer.cidr('10.96.0.10/32')] });
    expect(policy(chart, 'api').egress[0]).toEqual({
      to: [
        { ...KUBE_DNS_PEER, namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'dns-system' } } },
        { ipBlock: { cidr: '169.254.0.10/32' } },
        { ipBlock: { cidr: '10.96.0.10/32' } },
      ],
      ports: DNS_PORTS,
    });
  });

  test('every workload below a scope takes the DNS peers set as context there; its own prop wins', () => {
    const app = new App();
    app.node.setContext(DNS_PEERS_CONTEXT_KEY, [NetworkPeer.cidr('10.0.0.10/32')]);
    const chart = new Chart(app, 'apps');
    new Pods(chart, 'api');
    new Pods(chart, 'web', { dnsPeers: DEFAULT_DNS_PEERS });
    const objects = chart.toJson();
    const egressOf = (name: string) => find(objects, 'NetworkPolicy', name).spec.egress[0];
    expect(egressOf('api')).toEqual({ to: [{ ipBlock: { cidr: '10.0.0.10/32' } }], ports: DNS_PORTS });
    expect(egressOf('web')).toEqual(DNS_RULE);
  });

  test.each<[string, () => unknown, RegExp]>([
    ['an empty list', () => [], /^test: w\.dnsPeers must be a non-empty list of NetworkPeer .* but \[\] was provided$/],
    ['something that is not a NetworkPeer', () => [{ ipBlock: { cidr: '10.0.0.10/32' } }], /^test: w\.dnsPeers must be a non-empty list of NetworkPeer/],
    ['a CIDR that is not IPv4', () => [NetworkPeer.nodeLocalDnsCache('169.254.20.300')],
      /^test: w\.dnsPeers\[0\] must be an IPv4 CIDR such as 169\.254\.20\.10\/32 but "169\.254\.20\.300\/32" was provided$/],
  ])('refuses %s', (_what, dnsPeers, message) => {
    expect(() => new Pods(Testing.chart(), 'w', { dnsPeers: dnsPeers() as NetworkPeer[] })).toThrow(message);
  });
});
