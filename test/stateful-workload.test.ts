/**
 * The StatefulWorkload base (lib/data/stateful-workload.ts): the data stores' headless and client
 * Services, and the StatefulSet that owns R14 (claims retained, never pruned) for every store.
 */
import { Testing } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { HeadlessServiceOptions, StatefulSetOptions, StatefulWorkload, StorePort } from '../lib/data/stateful-workload';
import { VerticalScalingSettings } from '../lib/ops/vertical-scaling';

type K8sObject = Record<string, any>;

const PORTS: StorePort[] = [{ name: 'db', port: 5000 }, { name: 'gossip', port: 5001 }];
const SELECTOR = { 'app.kubernetes.io/name': 'store', 'app.kubernetes.io/instance': 'app' };
const KEEP = { 'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false' };

interface StoreOptions extends Partial<StatefulSetOptions> {
  readonly headless?: HeadlessServiceOptions;
  /** Make the StatefulSet before the Services (as MySQL, PostgreSQL and Redis do). */
  readonly statefulSetFirst?: boolean;
}

/** The smallest store: a headless Service, a client Service and a StatefulSet through the helpers. */
class Store extends StatefulWorkload {
  constructor(scope: Construct, id: string, options: StoreOptions = {}) {
    super(scope, id, { component: 'database', version: '2.1.0' });
    const { headless, statefulSetFirst, ...statefulSet } = options;
    const services = () => {
      this.addHeadlessService(`${this.name}-headless`, PORTS, headless);
      this.addClientService(`${this.name}-client`, [PORTS[0]]);
    };
    if (!statefulSetFirst) services();
    this.addStatefulSet({
      serviceName: `${this.name}-headless`,
      replicas: 3,
      storage: { size: '20Gi', storageClassName: 'fast' },
      podSpec: this.podSpec({ containers: [{ name: 'db', image: 'registry.example.com/db:2.1.0' }] }),
      ...statefulSet,
    });
    if (statefulSetFirst) services();
  }
}

function synth(options?: StoreOptions): K8sObject[] {
  const chart = Testing.chart();
  new Store(chart, 'store', options);
  return Testing.synth(chart);
}

function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  expect(found).toHaveLength(1);
  return found[0];
}

const statefulSet = (options?: StoreOptions) => find(synth(options), 'StatefulSet', 'store');

describe('StatefulWorkload.addStatefulSet', () => {
  test('retains its claims when deleted or scaled down, and Argo CD never prunes it', () => {
    const sts = statefulSet();
    expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
    expect(sts.metadata.annotations).toEqual(KEEP);
  });

  test('is named after the workload, selects by the selector labels and updates by rolling', () => {
    const sts = statefulSet();
    expect(sts.metadata.name).toBe('store');
    expect(sts.metadata.labels['app.kubernetes.io/version']).toBe('2.1.0');
    expect(sts.spec.selector).toEqual({ matchLabels: SELECTOR });
    expect(sts.spec.updateStrategy).toEqual({ type: 'RollingUpdate' });
    expect(sts.spec.serviceName).toBe('store-headless');
    expect(sts.spec.replicas).toBe(3);
  });

  test('one claim template `data`: ReadWriteOnce, the storage asked for, never pruned', () => {
    const claims = statefulSet().spec.volumeClaimTemplates;
    expect(claims).toHaveLength(1);
    expect(claims[0].metadata.name).toBe('data');
    expect(claims[0].metadata.annotations).toEqual(KEEP);
    expect(claims[0].spec).toEqual({ accessModes: ['ReadWriteOnce'], storageClassName: 'fast', resources: { requests: { storage: '20Gi' } } });
  });

  test('claim template labels are the selector labels only: no version, which changes on upgrades', () => {
    const labels = statefulSet().spec.volumeClaimTemplates[0].metadata.labels;
    expect(labels).toEqual(SELECTOR);
    expect(labels).not.toHaveProperty(['app.kubernetes.io/version']);
  });

  test('the pod template carries all labels, the pod annotations and the given pod spec', () => {
    const template = statefulSet({ podAnnotations: { 'checksum/config': 'abc' } }).spec.template;
    expect(template.metadata.labels).toMatchObject({ ...SELECTOR, 'app.kubernetes.io/version': '2.1.0' });
    expect(template.metadata.annotations).toEqual({ 'checksum/config': 'abc' });
    expect(template.spec.serviceAccountName).toBe('store');
    expect(template.spec.containers.map((c: K8sObject) => c.name)).toEqual(['db']);
    expect(statefulSet().spec.template.metadata).not.toHaveProperty('annotations');
  });

  test('podManagementPolicy and revisionHistoryLimit are left to Kubernetes unless given', () => {
    expect(statefulSet().spec).not.toHaveProperty('podManagementPolicy');
    expect(statefulSet().spec).not.toHaveProperty('revisionHistoryLimit');
    const sts = statefulSet({ podManagementPolicy: 'Parallel', revisionHistoryLimit: 5 });
    expect(sts.spec.podManagementPolicy).toBe('Parallel');
    expect(sts.spec.revisionHistoryLimit).toBe(5);
  });
});

describe('StatefulWorkload services', () => {
  test('headless Service: no cluster IP, selector labels, named TCP ports', () => {
    const svc = find(synth(), 'Service', 'store-headless');
    expect(svc.spec).toEqual({
      clusterIP: 'None',
      selector: SELECTOR,
      ports: [
        { name: 'db', port: 5000, targetPort: 'db', protocol: 'TCP' },
        { name: 'gossip', port: 5001, targetPort: 'gossip', protocol: 'TCP' },
      ],
    });
  });

  test('headless Service publishes not-ready pods only when asked', () => {
    expect(find(synth({ headless: { publishNotReadyAddresses: true } }), 'Service', 'store-headless').spec.publishNotReadyAddresses).toBe(true);
    expect(find(synth(), 'Service', 'store-headless').spec).not.toHaveProperty('publishNotReadyAddresses');
  });

  test('client Service: ClusterIP, selector labels, its ports to the named container ports', () => {
    const svc = find(synth(), 'Service', 'store-client');
    expect(svc.metadata.labels['app.kubernetes.io/version']).toBe('2.1.0');
    expect(svc.spec).toEqual({
      type: 'ClusterIP',
      selector: SELECTOR,
      ports: [{ name: 'db', port: 5000, targetPort: 'db', protocol: 'TCP' }],
    });
  });
});

test('each helper makes one object where it is called, so a store keeps the order of its objects', () => {
  const order = (options?: StoreOptions) => synth(options)
    .filter((o) => ['Service', 'StatefulSet'].includes(o.kind))
    .map((o) => `${o.kind}/${o.metadata.name}`);
  expect(order()).toEqual(['Service/store-headless', 'Service/store-client', 'StatefulSet/store']);
  expect(order({ statefulSetFirst: true })).toEqual(['StatefulSet/store', 'Service/store-headless', 'Service/store-client']);
});

describe('vertical scaling (R9): a VerticalPodAutoscaler per store StatefulSet, recommendation only', () => {
  const resources = { requests: { cpu: k8s.Quantity.fromString('500m'), memory: k8s.Quantity.fromString('1Gi') }, limits: { cpu: k8s.Quantity.fromString('2'), memory: k8s.Quantity.fromString('4Gi') } };
  class SizedStore extends StatefulWorkload {
    constructor(scope: Construct, id: string, verticalScaling?: VerticalScalingSettings) {
      super(scope, id, { component: 'database', version: '2.1.0' });
      const podSpec = this.podSpec({ containers: [{ name: 'db', image: 'registry.example.com/db:2.1.0', resources }, { name: 'exporter', image: 'registry.example.com/exporter:1.0.0' }] });
      this.addStatefulSet({ serviceName: `${this.name}-headless`, replicas: 1, storage: { size: '20Gi' }, podSpec, verticalScaling });
    }
  }

  function vpa(verticalScaling?: VerticalScalingSettings): K8sObject {
    const chart = Testing.chart();
    new SizedStore(chart, 'store', verticalScaling);
    return find(Testing.synth(chart), 'VerticalPodAutoscaler', 'store');
  }

  test('it watches the StatefulSet, never evicts (updateMode Off), bounds the main container from its requests to twice its limits, and leaves sidecars out', () => {
    expect(vpa().spec).toEqual({
      targetRef: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'store' },
      updatePolicy: { updateMode: 'Off' },
      resourcePolicy: {
        containerPolicies: [
          { containerName: 'db', controlledResources: ['cpu', 'memory'], minAllowed: { cpu: '500m', memory: '1Gi' }, maxAllowed: { cpu: '4000m', memory: '8192Mi' } },
          { containerName: '*', mode: 'Off' },
        ],
      },
    });
  });

  test('bounds from configuration', () => {
    const policy = vpa({ minAllowed: { cpu: '1', memory: '2Gi' }, maxAllowed: { cpu: '8', memory: '32Gi' } }).spec.resourcePolicy.containerPolicies[0];
    expect([policy.minAllowed, policy.maxAllowed]).toEqual([{ cpu: '1', memory: '2Gi' }, { cpu: '8', memory: '32Gi' }]);
  });

  test('a minimum above the maximum is refused, naming both fields', () => {
    expect(() => vpa({ minAllowed: { cpu: '4', memory: '2Gi' }, maxAllowed: { cpu: '2', memory: '32Gi' } }))
      .toThrow(/verticalScaling\.minAllowed\.cpu must be .*maxAllowed\.cpu/);
  });
});
