/** RedisCluster (logistics) and Redis (real estate): the synthesized objects, field by field. */
import { App, Chart, Testing } from 'cdk8s';
import { readFileSync } from 'fs';
import { join } from 'path';
import { Redis, RedisProps } from '../../lib/data/redis/redis';
import { RedisCluster, RedisClusterProps } from '../../lib/data/redis/redis-cluster';
import { Policies } from '../../lib/policy';
import { parseQuantity } from '../../lib/quantity';
import { ENVIRONMENT_CONTEXT_KEY, SOLUTION_CONTEXT_KEY } from '../../lib/validation';
import { Workload } from '../../lib/workload';
import { KubernetesSchema } from '../support/kubernetes-schema';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = any;

const SCRIPTS = join(__dirname, '..', '..', 'lib', 'data', 'redis');
const secret = { name: 'logistics-secret', key: 'redis_password' };
const clusterProps: RedisClusterProps = { storage: { size: '50Gi', storageClassName: 'fast-ssd' }, passwordSecret: secret };
const redisProps: RedisProps = { storage: { size: '20Gi' }, passwordSecret: { name: 'real-estate-secret', key: 'redis-password' } };

/** A chart inside an App that says which solution and environment it is, as main.ts builds it. */
function environmentChart(solution: string, environment: string): { app: App; chart: Chart } {
  const app = Testing.app();
  app.node.setContext(SOLUTION_CONTEXT_KEY, solution);
  app.node.setContext(ENVIRONMENT_CONTEXT_KEY, environment);
  return { app, chart: new Chart(app, 'data') };
}

/** A workload of the namespace that uses Redis (as the API does). */
class Client extends Workload {
  constructor(scope: Chart, id: string) {
    super(scope, id, { component: 'api', version: '1.0.0' });
  }
}

/** The NetworkPolicy peer of the monitoring namespace's Prometheus. */
const PROMETHEUS = {
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
  podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
};

function find(objects: Obj[], kind: string, name: string): Obj {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

function env(container: Obj, name: string): Obj {
  return container.env.find((e: Obj) => e.name === name);
}

function synthCluster(props: Partial<RedisClusterProps> = {}): { cluster: RedisCluster; objects: Obj[] } {
  const chart = Testing.chart();
  const cluster = new RedisCluster(chart, 'redis', { ...clusterProps, ...props });
  return { cluster, objects: Testing.synth(chart) };
}

function synthRedis(props: Partial<RedisProps> = {}): { redis: Redis; objects: Obj[] } {
  const chart = Testing.chart();
  const redis = new Redis(chart, 'redis', { ...redisProps, ...props });
  return { redis, objects: Testing.synth(chart) };
}

/** Every env var of every container that carries the password, wherever it is. */
function passwordEnv(objects: Obj[]): Obj[] {
  return objects
    .filter((o) => o.spec?.template?.spec?.containers)
    .flatMap((o) => o.spec.template.spec.containers.flatMap((c: Obj) => c.env ?? []))
    .filter((e: Obj) => /PASSWORD|AUTH/.test(e.name));
}

describe('RedisCluster', () => {
  const { cluster, objects } = synthCluster();
  const sts = find(objects, 'StatefulSet', 'redis');
  const pod = sts.spec.template.spec;
  const redis = pod.containers[0];
  const configMap = find(objects, 'ConfigMap', 'redis-config');
  const conf: string = configMap.data['redis.conf'];
  const job = find(objects, 'Job', 'redis-cluster-bootstrap');
  const jobContainer = job.spec.template.spec.containers[0];

  test('runs masters x (1 + replicasPerMaster) members: 3 x 2 by default, 4 x 1 when asked', () => {
    expect(sts.spec.replicas).toBe(6);
    expect(cluster.memberCount).toBe(6);
    expect(find(synthCluster({ masters: 4, replicasPerMaster: 0 }).objects, 'StatefulSet', 'redis').spec.replicas).toBe(4);
    expect(find(synthCluster({ masters: 5, replicasPerMaster: 2 }).objects, 'StatefulSet', 'redis').spec.replicas).toBe(15);
  });

  test('official redis 7 image, pinned; members start in parallel behind the headless Service', () => {
    expect(redis.image).toBe('redis:7.2.5');
    expect(sts.spec.podManagementPolicy).toBe('Parallel');
    expect(sts.spec.serviceName).toBe('redis-headless');
    expect(redis.command).toEqual(['bash', '/usr/local/etc/redis/redis-start.sh']);
    expect(redis.ports).toEqual([
      { name: 'redis', containerPort: 6379, protocol: 'TCP' },
      { name: 'cluster-bus', containerPort: 16379, protocol: 'TCP' },
    ]);
  });

  test('cluster mode with AOF + RDB persistence and the memory knobs in the rendered redis.conf', () => {
    for (const line of [
      'cluster-enabled yes', 'cluster-config-file nodes.conf', 'cluster-preferred-endpoint-type hostname', 'cluster-require-full-coverage yes',
      'appendonly yes', 'appendfsync everysec', 'aof-use-rdb-preamble yes', 'save 3600 1 300 100 60 10000',
      // 60% of the 1Gi memory limit.
      'maxmemory 644245094', 'maxmemory-policy volatile-lru',
      // After a full restart a replica takes over from a master that does not come back.
      'cluster-replica-validity-factor 0',
    ]) expect(conf.split('\n')).toContain(line);
    const tuned = synthCluster({
      resources: { requests: { cpu: '500m', memory: '4Gi' }, limits: { cpu: '2', memory: '4Gi' } },
      maxmemory: '2Gi',
      maxmemoryPolicy: 'allkeys-lru',
    }).objects;
    const tunedConf: string = find(tuned, 'ConfigMap', 'redis-config').data['redis.conf'];
    expect(tunedConf).toContain(`maxmemory ${2 * 2 ** 30}\n`);
    expect(tunedConf).toContain('maxmemory-policy allkeys-lru\n');
  });

  test('maxmemory leaves 40% of the memory limit for the fork of RDB saves and AOF rewrites: derived, or checked when given', () => {
    const limits = (memory: string) => ({ requests: { cpu: '100m', memory }, limits: { cpu: '1', memory } });
    const maxmemoryOf = (props: Partial<RedisClusterProps>) =>
      Number(/^maxmemory (\d+)$/m.exec(find(synthCluster(props).objects, 'ConfigMap', 'redis-config').data['redis.conf'])![1]);
    // The limits of the environments today (lib/config): logistics dev 512Mi, test 1Gi, prod 4Gi; real estate 2Gi.
    for (const memory of ['512Mi', '1Gi', '2Gi', '4Gi']) {
      const limit = parseQuantity(memory);
      const derived = maxmemoryOf({ resources: limits(memory) });
      expect(derived).toBe(Math.floor(limit * 0.6));
      expect(derived / limit).toBeLessThanOrEqual(0.6);
    }
    // Exactly 60% is accepted.
    expect(maxmemoryOf({ resources: limits('1000Mi'), maxmemory: '600Mi' })).toBe(600 * 2 ** 20);
    const { chart } = environmentChart('logistics', 'prod');
    expect(() => new RedisCluster(chart, 'redis', { ...clusterProps, resources: limits('4Gi'), maxmemory: '3Gi' })).toThrow(
      /^logistics\/prod: redis\.maxmemory must be at most 60% of the memory limit \(redis\.resources\.limits\.memory 4Gi: 2576980377 bytes\), the rest being headroom for the fork of RDB saves and AOF rewrites but "3Gi" was provided$/);
    const realEstate = environmentChart('real-estate', 'prod');
    expect(() => new Redis(realEstate.chart, 'redis', { ...redisProps, resources: limits('2Gi'), maxmemory: '1300Mi' })).toThrow(
      /^real-estate\/prod: redis\.maxmemory must be at most 60% of the memory limit \(redis\.resources\.limits\.memory 2Gi: 1288490188 bytes\).* but "1300Mi" was provided$/);
  });

  test('the ConfigMap ships the scripts as they are in lib/data/redis, and a change of it rolls the pods', () => {
    for (const file of ['redis-start.sh', 'redis-probe.sh', 'cluster-bootstrap.sh']) {
      expect(configMap.data[file]).toBe(readFileSync(join(SCRIPTS, file), 'utf8'));
    }
    const checksum = sts.spec.template.metadata.annotations['checksum/config'];
    expect(checksum).toMatch(/^[0-9a-f]{64}$/);
    const other = find(synthCluster({ maxmemoryPolicy: 'allkeys-lfu' }).objects, 'StatefulSet', 'redis');
    expect(other.spec.template.metadata.annotations['checksum/config']).not.toBe(checksum);
  });

  test('the password reaches requirepass and masterauth only through secretKeyRef: never in the ConfigMap, args or a literal', () => {
    expect(env(redis, 'REDIS_PASSWORD')).toEqual({ name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: secret } });
    expect(env(redis, 'REDISCLI_AUTH')).toEqual({ name: 'REDISCLI_AUTH', valueFrom: { secretKeyRef: secret } });
    expect(env(jobContainer, 'REDISCLI_AUTH')).toEqual({ name: 'REDISCLI_AUTH', valueFrom: { secretKeyRef: secret } });
    for (const e of passwordEnv(objects)) expect(e.value).toBeUndefined();
    expect(conf).not.toMatch(/requirepass|masterauth/);
    expect(JSON.stringify([redis.command, redis.args, jobContainer.command, jobContainer.args])).not.toMatch(/requirepass|-a /);
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    // The rendered configuration with the password lives in memory only.
    expect(pod.volumes).toContainEqual({ name: 'runtime', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } });
    expect(env(redis, 'REDIS_RUNTIME_CONFIG').value).toBe('/run/redis/redis.conf');
  });

  test('members announce the pod IP on the bus and their stable pod DNS name to clients', () => {
    expect(env(redis, 'POD_IP')).toEqual({ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } });
    expect(env(redis, 'REDIS_ANNOUNCE_IP').value).toBe('$(POD_IP)');
    expect(env(redis, 'REDIS_ANNOUNCE_HOSTNAME').value).toBe('$(POD_NAME).redis-headless.$(POD_NAMESPACE).svc');
    expect(env(redis, 'REDIS_CLUSTER_PORT').value).toBe('16379');
    // Variables referenced with $(...) must be defined before.
    const names = redis.env.map((e: Obj) => e.name);
    expect(names.indexOf('POD_IP')).toBeLessThan(names.indexOf('REDIS_ANNOUNCE_IP'));
    expect(names.indexOf('POD_NAME')).toBeLessThan(names.indexOf('REDIS_ANNOUNCE_HOSTNAME'));
  });

  test('a headless Service publishes members before they are ready; the client Service "redis" serves 6379', () => {
    const headless = find(objects, 'Service', 'redis-headless');
    expect(headless.spec.clusterIP).toBe('None');
    expect(headless.spec.publishNotReadyAddresses).toBe(true);
    expect(headless.spec.ports.map((p: Obj) => [p.name, p.port, p.targetPort])).toEqual([['redis', 6379, 'redis'], ['cluster-bus', 16379, 'cluster-bus']]);
    const client = find(objects, 'Service', 'redis');
    expect(client.spec.type).toBe('ClusterIP');
    expect(client.spec.ports).toEqual([{ name: 'redis', port: 6379, targetPort: 'redis', protocol: 'TCP' }]);
    expect(client.spec.selector).toEqual(sts.spec.selector.matchLabels);
    expect(cluster.endpoint).toMatchObject({ host: 'redis', port: 6379, targetPort: 6379 });
    expect(cluster.endpoint.workload).toBe(cluster.members);
  });

  test('the bootstrap Job runs cluster-bootstrap.sh against every member, as an Argo CD Sync hook recreated on each sync', () => {
    expect(job.metadata.annotations).toEqual({
      'argocd.argoproj.io/hook': 'Sync',
      'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation',
    });
    expect(job.spec.backoffLimit).toBe(6);
    expect(job.spec.ttlSecondsAfterFinished).toBe(3600);
    expect(job.spec.activeDeadlineSeconds).toBeGreaterThan(300);
    expect(job.spec.template.spec.restartPolicy).toBe('OnFailure');
    expect(jobContainer.image).toBe('redis:7.2.5');
    expect(jobContainer.command).toEqual(['bash', '/usr/local/etc/redis/cluster-bootstrap.sh']);
    expect(env(jobContainer, 'REDIS_CLUSTER_NODES').value).toBe(
      [0, 1, 2, 3, 4, 5].map((i) => `redis-${i}.redis-headless:6379`).join(' '));
    expect(env(jobContainer, 'REDIS_CLUSTER_REPLICAS').value).toBe('1');
    // Members missing after 2 minutes do not keep a formed cluster down; an unreachable master is
    // left to the cluster's own failover for four node timeouts before the Job promotes its replica.
    expect(env(jobContainer, 'REDIS_CLUSTER_MEMBER_WAIT_SECONDS').value).toBe('120');
    expect(env(jobContainer, 'REDIS_CLUSTER_FAILOVER_WAIT_SECONDS').value).toBe('60');
    expect(conf.split('\n')).toContain('cluster-node-timeout 15000');
    expect(job.spec.template.spec.volumes[0].configMap).toEqual({
      name: 'redis-config', defaultMode: 0o444, items: [{ key: 'cluster-bootstrap.sh', path: 'cluster-bootstrap.sh' }],
    });
    expect(job.spec.template.spec.securityContext.runAsUser).toBe(999);
    expect(jobContainer.securityContext.readOnlyRootFilesystem).toBe(true);
  });

  test('R14: claims are retained, never pruned, and sized from the config', () => {
    expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
    expect(sts.metadata.annotations['argocd.argoproj.io/sync-options']).toBe('Prune=false,Delete=false');
    const [claim] = sts.spec.volumeClaimTemplates;
    expect(claim.metadata.name).toBe('data');
    expect(claim.metadata.annotations['argocd.argoproj.io/sync-options']).toBe('Prune=false,Delete=false');
    // No version label on the (immutable) claim template, so an upgrade can still be applied.
    expect(claim.metadata.labels).toEqual(sts.spec.selector.matchLabels);
    expect(claim.spec).toEqual({ accessModes: ['ReadWriteOnce'], storageClassName: 'fast-ssd', resources: { requests: { storage: '50Gi' } } });
    expect(redis.volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
  });

  test('exec probes run redis-cli ping through redis-probe.sh, the password from REDISCLI_AUTH', () => {
    expect(redis.livenessProbe.exec.command).toEqual(['bash', '/usr/local/etc/redis/redis-probe.sh', 'liveness']);
    expect(redis.readinessProbe.exec.command).toEqual(['bash', '/usr/local/etc/redis/redis-probe.sh', 'readiness']);
    expect(redis.livenessProbe.failureThreshold * redis.livenessProbe.periodSeconds).toBeGreaterThanOrEqual(60);
    expect(configMap.data['redis-probe.sh']).toContain('redis-cli -h 127.0.0.1 -p "$port" "$@"');
  });

  test('restricted pods as the redis user, read-only root file system, writable paths on volumes', () => {
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 999, runAsGroup: 999, fsGroup: 999, seccompProfile: { type: 'RuntimeDefault' } });
    expect(redis.securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true, runAsNonRoot: true });
    expect(redis.volumeMounts).toEqual(expect.arrayContaining([
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'runtime', mountPath: '/run/redis' },
      { name: 'config', mountPath: '/usr/local/etc/redis', readOnly: true },
    ]));
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(redis.resources).toEqual({ requests: { cpu: '250m', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } });
    expect(pod.topologySpreadConstraints.map((c: Obj) => c.topologyKey)).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
  });

  test('a PodDisruptionBudget lets one member go at a time', () => {
    const pdb = find(objects, 'PodDisruptionBudget', 'redis');
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: sts.spec.selector.matchLabels } });
  });

  test('network policy: members reach each other on 6379 and 16379, the Job and clients reach members on 6379', () => {
    const chart = Testing.chart();
    const c = new RedisCluster(chart, 'redis', clusterProps);
    const api = new Client(chart, 'api');
    api.connectTo(c.endpoint);
    const synthesized = Testing.synth(chart);
    const members = find(synthesized, 'NetworkPolicy', 'redis').spec;
    const selectorOf = (name: string) => ({ podSelector: { matchLabels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': 'app' } } });
    const tcp = (...ports: number[]) => ports.map((port) => ({ protocol: 'TCP', port }));
    expect(members.ingress).toEqual([
      { from: [PROMETHEUS], ports: tcp(9121) },
      { from: [selectorOf('redis')], ports: tcp(6379, 16379) },
      { from: [selectorOf('redis-cluster-bootstrap')], ports: tcp(6379) },
      { from: [selectorOf('api')], ports: tcp(6379) },
    ]);
    expect(members.egress.slice(1)).toEqual([{ to: [selectorOf('redis')], ports: tcp(6379, 16379) }]);
    const bootstrap = find(synthesized, 'NetworkPolicy', 'redis-cluster-bootstrap').spec;
    expect(bootstrap.ingress).toEqual([]);
    expect(bootstrap.egress.slice(1)).toEqual([{ to: [selectorOf('redis')], ports: tcp(6379) }]);
  });

  test('every object validates strictly against the Kubernetes 1.27 schema', () => {
    const schema = new KubernetesSchema();
    for (const o of objects) expect({ object: `${o.kind}/${o.metadata.name}`, problems: schema.validate(o) }).toEqual({ object: `${o.kind}/${o.metadata.name}`, problems: [] });
  });

  test('no policy violation in logistics/prod', () => {
    const { app, chart } = environmentChart('logistics', 'prod');
    new RedisCluster(chart, 'redis', clusterProps);
    expect(Policies.check(app).map((v) => v.toString())).toEqual([]);
  });
});

describe('RedisCluster rejects bad input at synth time, naming environment, field and value', () => {
  function build(props: Partial<RedisClusterProps>): void {
    const { chart } = environmentChart('logistics', 'prod');
    new RedisCluster(chart, 'redis', { ...clusterProps, ...props });
  }

  test.each<[string, Partial<RedisClusterProps>, RegExp]>([
    ['fewer than 3 masters', { masters: 2 }, /^logistics\/prod: redis\.masters must be an integer >= 3 but 2 was provided$/],
    ['a fractional master count', { masters: 3.5 }, /redis\.masters must be an integer >= 3 but 3\.5 was provided/],
    ['negative replicas per master', { replicasPerMaster: -1 }, /^logistics\/prod: redis\.replicasPerMaster must be an integer >= 0 but -1 was provided$/],
    ['storage in decimal units', { storage: { size: '50GB' } }, /redis\.storage\.size must be a storage size in binary units such as 10Gi or 1Ti but "50GB" was provided/],
    ['a storage class that is no DNS name', { storage: { size: '50Gi', storageClassName: 'Fast_SSD' } }, /redis\.storage\.storageClassName must be a DNS subdomain name .* but "Fast_SSD" was provided/],
    ['a Secret name that is no DNS name', { passwordSecret: { name: 'Redis Secret', key: 'password' } }, /redis\.passwordSecret\.name must be a DNS subdomain name .* but "Redis Secret" was provided/],
    ['a Secret key with a slash', { passwordSecret: { name: 'redis', key: 'pass/word' } }, /redis\.passwordSecret\.key must be a Secret key .* but "pass\/word" was provided/],
    ['no Secret', { passwordSecret: undefined }, /redis\.passwordSecret must be a reference to an existing Secret \(\{ name, key \}\) but undefined was provided/],
    ['an unpinned image', { image: 'redis:latest' }, /redis\.image must be an image pinned to a release tag .* but "redis:latest" was provided/],
    ['maxmemory above the memory limit', { maxmemory: '2Gi' }, /redis\.maxmemory must be at most 60% of the memory limit \(redis\.resources\.limits\.memory 1Gi: 644245094 bytes\).* but "2Gi" was provided/],
    ['maxmemory above 60% of the memory limit', { maxmemory: '700Mi' }, /redis\.maxmemory must be at most 60% of the memory limit .* but "700Mi" was provided/],
    ['maxmemory that is no quantity', { maxmemory: '1gb' }, /redis\.maxmemory must be a memory quantity such as 512Mi or 2Gi but "1gb" was provided/],
    ['an unknown eviction policy', { maxmemoryPolicy: 'lru' as never }, /redis\.maxmemoryPolicy must be one of noeviction, volatile-lru, .* but "lru" was provided/],
    ['a request above its limit', { resources: { requests: { cpu: '2', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } } }, /redis\.resources\.requests\.cpu must be at most redis\.resources\.limits\.cpu \(1\) but "2" was provided/],
    ['a name too long for the Job name', { name: 'r'.repeat(35) }, /redis\.name must be a DNS label .* at most 34 characters\) but "r{35}" was provided/],
  ])('%s', (_, props, error) => {
    expect(() => build(props)).toThrow(error);
  });
});

describe('Redis (single or primary/replica)', () => {
  test('single by default: one primary StatefulSet behind "redis", no replicas, no cluster settings', () => {
    const { redis, objects } = synthRedis();
    const sts = find(objects, 'StatefulSet', 'redis');
    expect(sts.spec.replicas).toBe(1);
    expect(sts.spec.podManagementPolicy).toBe('OrderedReady');
    expect(objects.filter((o) => o.kind === 'StatefulSet').map((o) => o.metadata.name)).toEqual(['redis']);
    expect(objects.filter((o) => o.kind === 'Service').map((o) => o.metadata.name).sort()).toEqual(['redis', 'redis-headless']);
    expect(objects.filter((o) => o.kind === 'Job')).toEqual([]);
    // A budget on the only pod would block every node drain.
    expect(objects.filter((o) => o.kind === 'PodDisruptionBudget')).toEqual([]);
    expect(redis.endpoint).toMatchObject({ host: 'redis', port: 6379, targetPort: 6379 });
    expect(redis.readEndpoint).toBeUndefined();
    const conf: string = find(objects, 'ConfigMap', 'redis-config').data['redis.conf'];
    expect(conf).not.toContain('cluster-');
    expect(conf).toContain('appendonly yes\n');
    expect(conf).toContain('appendfsync everysec\n');
    expect(conf).toContain('save 3600 1 300 100 60 10000\n');
    const redisContainer = sts.spec.template.spec.containers[0];
    expect(redisContainer.ports).toEqual([{ name: 'redis', containerPort: 6379, protocol: 'TCP' }]);
    expect(env(redisContainer, 'REDIS_REPLICA_OF')).toBeUndefined();
    expect(env(redisContainer, 'REDIS_ANNOUNCE_IP')).toBeUndefined();
    for (const e of passwordEnv(objects)) expect(e).toEqual({ name: e.name, valueFrom: { secretKeyRef: { name: 'real-estate-secret', key: 'redis-password' } } });
  });

  test('with replicas: a replica StatefulSet replicating from the primary Service, behind "redis-read"', () => {
    const { redis, objects } = synthRedis({ replicas: 2 });
    const replicas = find(objects, 'StatefulSet', 'redis-replica');
    expect(replicas.spec.replicas).toBe(2);
    expect(replicas.spec.serviceName).toBe('redis-replica-headless');
    const container = replicas.spec.template.spec.containers[0];
    expect(env(container, 'REDIS_REPLICA_OF').value).toBe('redis 6379');
    expect(env(container, 'REDIS_PASSWORD').valueFrom.secretKeyRef).toEqual({ name: 'real-estate-secret', key: 'redis-password' });
    const read = find(objects, 'Service', 'redis-read');
    expect(read.spec.selector).toEqual(replicas.spec.selector.matchLabels);
    expect(read.spec.selector).not.toEqual(find(objects, 'Service', 'redis').spec.selector);
    expect(redis.readEndpoint).toMatchObject({ host: 'redis-read', port: 6379, targetPort: 6379 });
    expect(redis.readEndpoint!.workload).toBe(redis.replicaSet);
    expect(find(objects, 'PodDisruptionBudget', 'redis-replica').spec.maxUnavailable).toBe(1);
    expect(replicas.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
    expect(replicas.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('20Gi');
    // Replicas reach the primary on 6379; nothing else is opened between them.
    const primaryPolicy = find(objects, 'NetworkPolicy', 'redis').spec;
    expect(primaryPolicy.ingress).toEqual([{ from: [PROMETHEUS], ports: [{ protocol: 'TCP', port: 9121 }] }, {
      from: [{ podSelector: { matchLabels: replicas.spec.selector.matchLabels } }],
      ports: [{ protocol: 'TCP', port: 6379 }],
    }]);
    expect(find(objects, 'NetworkPolicy', 'redis-replica').spec.egress.slice(1)).toEqual([{
      to: [{ podSelector: { matchLabels: find(objects, 'StatefulSet', 'redis').spec.selector.matchLabels } }],
      ports: [{ protocol: 'TCP', port: 6379 }],
    }]);
    const schema = new KubernetesSchema();
    for (const o of objects) expect({ object: `${o.kind}/${o.metadata.name}`, problems: schema.validate(o) }).toEqual({ object: `${o.kind}/${o.metadata.name}`, problems: [] });
  });

  test('probes, security and retention are those of the cluster members', () => {
    const { objects } = synthRedis();
    const sts = find(objects, 'StatefulSet', 'redis');
    const container = sts.spec.template.spec.containers[0];
    expect(container.readinessProbe.exec.command).toEqual(['bash', '/usr/local/etc/redis/redis-probe.sh', 'readiness']);
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(sts.spec.template.spec.securityContext.runAsUser).toBe(999);
    expect(sts.metadata.annotations['argocd.argoproj.io/sync-options']).toBe('Prune=false,Delete=false');
  });

  test('no policy violation in real-estate/prod, single or with replicas', () => {
    for (const replicas of [0, 1, 3]) {
      const { app, chart } = environmentChart('real-estate', 'prod');
      new Redis(chart, 'redis', { ...redisProps, replicas });
      expect(Policies.check(app).map((v) => v.toString())).toEqual([]);
    }
  });

  test.each<[string, Partial<RedisProps>, RegExp]>([
    ['negative replicas', { replicas: -1 }, /^real-estate\/prod: redis\.replicas must be an integer between 0 and 10 but -1 was provided$/],
    ['storage in decimal units', { storage: { size: '20G' } }, /redis\.storage\.size must be a storage size in binary units .* but "20G" was provided/],
    ['a bad Secret name', { passwordSecret: { name: '', key: 'password' } }, /redis\.passwordSecret\.name must be a DNS subdomain name .* but "" was provided/],
    ['a bad storage class', { storage: { size: '20Gi', storageClassName: 'SSD!' } }, /redis\.storage\.storageClassName must be a DNS subdomain name .* but "SSD!" was provided/],
  ])('rejects %s', (_, props, error) => {
    const { chart } = environmentChart('real-estate', 'prod');
    expect(() => new Redis(chart, 'redis', { ...redisProps, ...props })).toThrow(error);
  });
});

describe('Redis monitoring: an exporter beside every server, the store\'s alerts', () => {
  const exporterOf = (sts: Obj): Obj => sts.spec.template.spec.containers.find((c: Obj) => c.name === 'redis-exporter');

  test('every member and server runs redis_exporter on its own server, with the password from the Secret only', () => {
    const cases: [Obj[], string[], Obj][] = [
      [synthCluster().objects, ['redis'], secret],
      [synthRedis({ replicas: 1 }).objects, ['redis', 'redis-replica'], redisProps.passwordSecret],
    ];
    for (const [objects, names, passwordSecret] of cases) {
      for (const name of names) {
        const sts = find(objects, 'StatefulSet', name);
        const exporter = exporterOf(sts);
        expect(exporter.image).toBe('oliver006/redis_exporter:v1.62.0');
        expect(exporter.env).toEqual([
          { name: 'REDIS_ADDR', value: 'redis://127.0.0.1:6379' },
          { name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: passwordSecret } },
          { name: 'REDIS_EXPORTER_WEB_LISTEN_ADDRESS', value: ':9121' },
        ]);
        // Each member's exporter scrapes its own member: no --is-cluster.
        expect(exporter.args).toBeUndefined();
        expect(exporter.ports).toEqual([{ name: 'metrics', containerPort: 9121, protocol: 'TCP' }]);
        expect(exporter.livenessProbe.httpGet.port).toBe('metrics');
        expect(exporter.readinessProbe.httpGet.port).toBe('metrics');
        expect(exporter.resources.requests).toBeDefined();
        const monitor = find(objects, 'PodMonitor', name);
        expect(monitor.spec.selector.matchLabels).toEqual(sts.spec.selector.matchLabels);
        expect(monitor.spec.podMetricsEndpoints).toEqual([{ port: 'metrics', path: '/metrics' }]);
        expect(monitor.metadata.labels.release).toBe('kube-prometheus-stack');
      }
    }
  });

  test('cluster: member down, cluster not ok, and with replicas a master without its replica', () => {
    const rules = (objects: Obj[]) => find(objects, 'PrometheusRule', 'redis-rules').spec.groups[0].rules;
    const withReplicas = rules(synthCluster().objects);
    expect(withReplicas.map((r: Obj) => `${r.alert} ${r.labels.severity}`)).toEqual(['RedisDown P1', 'RedisClusterNotOk P1', 'RedisMasterWithoutReplica P2']);
    expect(withReplicas[1].expr).toBe('redis_cluster_state{job="redis"} == 0\nor redis_cluster_slots_ok{job="redis"} < 16384');
    expect(withReplicas[2].expr).toBe('redis_connected_slaves{job="redis"} < 1\nand on (namespace, job, instance) redis_instance_info{job="redis", role="master"}');
    expect(rules(synthCluster({ replicasPerMaster: 0 }).objects).map((r: Obj) => r.alert)).toEqual(['RedisDown', 'RedisClusterNotOk']);
  });

  test('single or primary/replica: primary down, and with replicas a replica down or missing', () => {
    const rules = (objects: Obj[]) => find(objects, 'PrometheusRule', 'redis-rules').spec.groups[0].rules;
    expect(rules(synthRedis().objects).map((r: Obj) => r.alert)).toEqual(['RedisPrimaryDown']);
    const replicated = rules(synthRedis({ replicas: 2 }).objects);
    expect(replicated.map((r: Obj) => `${r.alert} ${r.labels.severity}`)).toEqual(['RedisPrimaryDown P1', 'RedisReplicaDown P2', 'RedisReplicaMissing P2']);
    expect(replicated[0].expr).toBe('redis_up{job="redis"} == 0\nor absent_over_time(redis_up{job="redis"}[2m])');
    expect(replicated[2].expr).toBe('redis_connected_slaves{job="redis"} < 2');
  });
});
