import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { dirname, join } from 'path';
import { ApiObject, Chart, Testing } from 'cdk8s';
import { parse } from 'yaml';
import { BACKUP_CONTEXT_KEY, BackupRepository } from '../../lib/backup';
import {
  addMilvusBackup, MilvusCluster, MilvusClusterProps, MilvusStandalone, MilvusStandaloneProps, renderUserYaml,
} from '../../lib/data/milvus';
import { KEEP_ON_PRUNE_ANNOTATIONS, RETAIN_CLAIMS } from '../../lib/data/storage';
import { evaluateChart, Inventory, POLICY_RULES } from '../../lib/policy';
import { ENVIRONMENT_CONTEXT_KEY, SOLUTION_CONTEXT_KEY } from '../../lib/validation';
import { ServiceEndpoint } from '../../lib/workload';
import { KubernetesSchema } from '../support/kubernetes-schema';
import { tempDir } from '../support/real-servers';
import { BACKUP_SETTINGS } from '../backup/backup-fixtures';

type Json = Record<string, any>;

const MINIO_USER = { name: 'milvus-minio-credentials', key: 'root-user' };
const MINIO_PASSWORD = { name: 'milvus-minio-credentials', key: 'root-password' };
const MINIO = { accessKeySecret: MINIO_USER, secretKeySecret: MINIO_PASSWORD };
const S3 = {
  endpoint: 's3.eu-central-1.amazonaws.com',
  bucket: 'logistics-prod-vectors',
  accessKeySecret: { name: 'milvus-s3', key: 'access-key-id' },
  secretKeySecret: { name: 'milvus-s3', key: 'secret-access-key' },
  region: 'eu-central-1',
  egressCidr: '52.219.0.0/16',
};
const CLUSTER: MilvusClusterProps = { objectStorage: { minio: MINIO }, messageQueue: { kafka: {} } };

function synthStandalone(props: Partial<MilvusStandaloneProps> = {}) {
  const chart = Testing.chart();
  const milvus = new MilvusStandalone(chart, 'milvus', { objectStorage: { minio: MINIO }, ...props });
  return { chart, milvus, objects: Testing.synth(chart) as Json[] };
}

function synthCluster(props: Partial<MilvusClusterProps> = {}) {
  const chart = Testing.chart();
  const milvus = new MilvusCluster(chart, 'milvus', { ...CLUSTER, ...props });
  return { chart, milvus, objects: Testing.synth(chart) as Json[] };
}

function find(objects: Json[], kind: string, name: string): Json {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

function container(workload: Json): Json {
  return workload.spec.template.spec.containers[0];
}

function env(c: Json, name: string): Json | undefined {
  return (c.env ?? []).find((e: Json) => e.name === name);
}

function userYaml(objects: Json[]): Json {
  return parse(find(objects, 'ConfigMap', 'milvus-config').data['user.yaml']);
}

/** `{ from-or-to pod name: ports }` of one NetworkPolicy direction. */
function policyPeers(objects: Json[], name: string, direction: 'ingress' | 'egress'): Record<string, number[]> {
  const spec = find(objects, 'NetworkPolicy', name).spec;
  const peers: Record<string, number[]> = {};
  for (const rule of spec[direction]) {
    const peer = (rule.from ?? rule.to)[0];
    const key = peer.ipBlock?.cidr ?? peer.podSelector?.matchLabels?.['app.kubernetes.io/name'] ?? 'dns';
    peers[key] = rule.ports.map((p: Json) => p.port);
  }
  return peers;
}

function allEnv(objects: Json[]): Json[] {
  return objects
    .filter((o) => o.spec?.template?.spec)
    .flatMap((o) => [...(o.spec.template.spec.initContainers ?? []), ...o.spec.template.spec.containers])
    .flatMap((c: Json) => c.env ?? []);
}

describe('MilvusStandalone', () => {
  test('runs one `milvus run standalone` pod that keeps /var/lib/milvus on a retained claim', () => {
    const { objects } = synthStandalone({ storage: { size: '80Gi', storageClassName: 'fast-ssd' } });
    const sts = find(objects, 'StatefulSet', 'milvus');
    expect(sts.spec.replicas).toBe(1);
    expect(container(sts).image).toBe('milvusdb/milvus:v2.3.21');
    expect(container(sts).args).toEqual(['milvus', 'run', 'standalone']);
    expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual(RETAIN_CLAIMS);
    expect(sts.metadata.annotations).toEqual(KEEP_ON_PRUNE_ANNOTATIONS);
    const [claim] = sts.spec.volumeClaimTemplates;
    expect(claim.metadata.name).toBe('data');
    expect(claim.spec.resources.requests.storage).toBe('80Gi');
    expect(claim.spec.storageClassName).toBe('fast-ssd');
    expect(container(sts).volumeMounts).toContainEqual({ name: 'data', mountPath: '/var/lib/milvus' });
    // Only one Milvus workload: no cluster roles, no message queue.
    expect(objects.filter((o) => o.kind === 'Deployment')).toEqual([]);
    expect(objects.filter((o) => o.kind === 'StatefulSet').map((o) => o.metadata.name).sort()).toEqual(['milvus', 'milvus-etcd', 'milvus-minio']);
  });

  test('serves Service milvus on 19530 and /healthz on the metrics port 9091', () => {
    const { objects, milvus } = synthStandalone();
    const service = find(objects, 'Service', 'milvus');
    expect(service.spec.ports.map((p: Json) => [p.name, p.port])).toEqual([['milvus', 19530], ['metrics', 9091]]);
    const c = container(find(objects, 'StatefulSet', 'milvus'));
    expect(c.ports).toEqual([
      { name: 'milvus', containerPort: 19530, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9091, protocol: 'TCP' },
    ]);
    for (const probe of [c.startupProbe, c.livenessProbe, c.readinessProbe]) {
      expect(probe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    }
    expect(milvus.endpoint).toMatchObject({ host: 'milvus', port: 19530, targetPort: 19530 });
    expect(milvus.endpoint.workload).toBe(milvus.milvus);
  });

  test('has a one-member etcd and a single-drive MinIO, and names their Services in user.yaml', () => {
    const { objects } = synthStandalone();
    const etcd = find(objects, 'StatefulSet', 'milvus-etcd');
    expect(etcd.spec.replicas).toBe(1);
    expect(container(etcd).args).toContain('--initial-cluster=milvus-etcd-0=http://milvus-etcd-0.milvus-etcd-headless:2380');
    const minio = find(objects, 'StatefulSet', 'milvus-minio');
    expect(minio.spec.replicas).toBe(1);
    expect(container(minio).args).toEqual(['server', '/data', '--address=:9000', '--certs-dir=/tmp/certs']);

    const config = userYaml(objects);
    expect(config.etcd.endpoints).toEqual(['milvus-etcd:2379']);
    expect(config.minio).toMatchObject({ address: 'milvus-minio', port: 9000, useSSL: false, bucketName: 'milvus-bucket' });
    expect(config.mq).toEqual({ type: 'rocksmq' });
    expect(config.rocksmq.path).toBe('/var/lib/milvus/rdb_data');
    expect(config.kafka).toBeUndefined();
  });

  test('rolls the pod when user.yaml changes: the pod carries its checksum', () => {
    const { objects } = synthStandalone();
    const file = find(objects, 'ConfigMap', 'milvus-config').data['user.yaml'];
    const annotation = find(objects, 'StatefulSet', 'milvus').spec.template.metadata.annotations['checksum/config'];
    expect(annotation).toBe(createHash('sha256').update(file).digest('hex'));
  });

  test('opens the network only along its dependencies until a client connects', () => {
    const { chart, milvus } = synthStandalone();
    const client = new MilvusStandalone(chart, 'other', { name: 'other', objectStorage: { minio: MINIO } });
    client.milvus.connectTo(milvus.endpoint);
    const objects = Testing.synth(chart) as Json[];
    expect(policyPeers(objects, 'milvus', 'egress')).toEqual({ 'dns': [53, 53], 'milvus-etcd': [2379], 'milvus-minio': [9000] });
    expect(policyPeers(objects, 'milvus', 'ingress')).toEqual({ prometheus: [9091], other: [19530] });
    expect(policyPeers(objects, 'milvus-etcd', 'ingress')).toEqual({ prometheus: [2381], milvus: [2379] });
    expect(policyPeers(objects, 'milvus-minio', 'ingress')).toEqual({ prometheus: [9000], milvus: [9000] });
  });
});

describe('MilvusCluster', () => {
  test('bootstraps etcdReplicas members from the headless Service names', () => {
    const { objects, milvus } = synthCluster({ etcdReplicas: 5 });
    const etcd = find(objects, 'StatefulSet', 'milvus-etcd');
    expect(etcd.spec.replicas).toBe(5);
    expect(etcd.spec.podManagementPolicy).toBe('Parallel');
    expect(etcd.spec.serviceName).toBe('milvus-etcd-headless');
    const expected = [0, 1, 2, 3, 4].map((i) => `milvus-etcd-${i}=http://milvus-etcd-${i}.milvus-etcd-headless:2380`).join(',');
    expect(milvus.etcd.initialCluster).toBe(expected);
    const args: string[] = container(etcd).args;
    expect(args).toContain(`--initial-cluster=${expected}`);
    expect(args).toContain('--initial-advertise-peer-urls=http://$(POD_NAME).milvus-etcd-headless:2380');
    expect(args).toContain('--name=$(POD_NAME)');
    expect(env(container(etcd), 'POD_NAME')?.valueFrom.fieldRef.fieldPath).toBe('metadata.name');
    // Liveness never depends on the quorum (a restart cannot bring back a leader); readiness does.
    expect(container(etcd).livenessProbe.httpGet).toEqual({ path: '/livez', port: 'metrics' });
    expect(container(etcd).readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(container(etcd).ports).toContainEqual({ name: 'metrics', containerPort: 2381, protocol: 'TCP' });
    expect(args).toContain('--listen-metrics-urls=http://0.0.0.0:2381');
    expect(find(objects, 'Service', 'milvus-etcd-headless').spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    expect(find(objects, 'PodDisruptionBudget', 'milvus-etcd').spec.maxUnavailable).toBe(1);
    // Three members by default.
    expect(find(synthCluster().objects, 'StatefulSet', 'milvus-etcd').spec.replicas).toBe(3);
  });

  test('runs Kafka in KRaft mode, every node broker and controller, with a stable cluster id', () => {
    const { objects, milvus } = synthCluster();
    const kafka = find(objects, 'StatefulSet', 'milvus-kafka');
    const c = container(kafka);
    expect(kafka.spec.replicas).toBe(3);
    expect(c.image).toBe('apache/kafka:3.8.0');
    const voters = 'milvus-kafka-0.milvus-kafka-headless:9093';
    expect(env(c, 'KAFKA_PROCESS_ROLES')?.value).toBe('broker,controller');
    expect(env(c, 'KAFKA_CONTROLLER_QUORUM_VOTERS')?.value)
      .toBe(`0@${voters},1@milvus-kafka-1.milvus-kafka-headless:9093,2@milvus-kafka-2.milvus-kafka-headless:9093`);
    expect(env(c, 'KAFKA_CONTROLLER_QUORUM_VOTERS')?.value).toBe(milvus.kafka.quorumVoters);
    expect(env(c, 'KAFKA_ADVERTISED_LISTENERS')?.value).toBe('PLAINTEXT://$(POD_NAME).milvus-kafka-headless:9092');
    expect(env(c, 'KAFKA_LISTENERS')?.value).toBe('PLAINTEXT://:9092,CONTROLLER://:9093');
    expect(env(c, 'KAFKA_CONTROLLER_LISTENER_NAMES')?.value).toBe('CONTROLLER');
    expect(env(c, 'KAFKA_DEFAULT_REPLICATION_FACTOR')?.value).toBe('3');
    expect(env(c, 'KAFKA_MIN_INSYNC_REPLICAS')?.value).toBe('2');
    expect(env(c, 'KAFKA_LOG_DIRS')?.value).toBe('/var/lib/kafka/data/logs');
    // POD_NAME comes first: the listeners expand it.
    expect(c.env[0]).toEqual({ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
    // The node id comes from the pod ordinal in the start script, shipped as a ConfigMap.
    expect(c.command).toEqual(['/bin/sh', '/opt/milvus-kafka/kafka-node.sh']);
    expect(find(objects, 'ConfigMap', 'milvus-kafka-scripts').data['kafka-node.sh'])
      .toBe(readFileSync(join(__dirname, '../../lib/data/milvus/kafka-node.sh'), 'utf8'));
    // A KRaft cluster id: 16 bytes base64url, the same on every synth, different per environment.
    const clusterId = env(c, 'CLUSTER_ID')?.value;
    expect(clusterId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(env(container(find(synthCluster().objects, 'StatefulSet', 'milvus-kafka')), 'CLUSTER_ID')?.value).toBe(clusterId);
    const app = Testing.app();
    app.node.setContext(SOLUTION_CONTEXT_KEY, 'logistics');
    app.node.setContext(ENVIRONMENT_CONTEXT_KEY, 'prod');
    const prod = new MilvusCluster(new Chart(app, 'data'), 'milvus', CLUSTER);
    expect(env(container(prod.kafka.statefulSet.toJson()), 'CLUSTER_ID')?.value).not.toBe(clusterId);
  });

  test('Kafka logs to stdout only: a console-only log4j file and no GC log files, nothing left under /opt/kafka/logs', () => {
    const { objects } = synthCluster();
    const kafka = find(objects, 'StatefulSet', 'milvus-kafka');
    const c = container(kafka);
    const files = find(objects, 'ConfigMap', 'milvus-kafka-scripts').data;
    // kafka-server-start.sh keeps a KAFKA_LOG4J_OPTS that is set: it must name the mounted console-only file.
    expect(env(c, 'KAFKA_LOG4J_OPTS')?.value).toBe('-Dlog4j.configuration=file:/opt/milvus-kafka/kafka-log4j.properties');
    expect(c.volumeMounts).toContainEqual({ name: 'scripts', mountPath: '/opt/milvus-kafka', readOnly: true });
    const log4j = files['kafka-log4j.properties'] as string;
    expect(log4j).toBe(readFileSync(join(__dirname, '../../lib/data/milvus/kafka-log4j.properties'), 'utf8'));
    const properties = Object.fromEntries(log4j.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split('=', 2) as [string, string]));
    const appenders = Object.entries(properties).filter(([k]) => /^log4j\.appender\.[^.]+$/.test(k));
    expect(appenders).toEqual([['log4j.appender.stdout', 'org.apache.log4j.ConsoleAppender']]);
    expect(Object.keys(properties).filter((k) => /\.File$/i.test(k))).toEqual([]);
    // Every logger that names an appender names the console one.
    for (const [key, value] of Object.entries(properties).filter(([k]) => /^log4j\.(rootLogger|logger\.)/.test(k))) {
      expect([key, value.split(',').slice(1).map((a) => a.trim()).filter((a) => a !== 'stdout')]).toEqual([key, []]);
    }
    // kafka-run-class.sh turns -loggc (passed by kafka-server-start.sh) into GC log files only while
    // KAFKA_GC_LOG_OPTS is empty; the value set leaves the JVM logging warnings to stdout.
    const gc = env(c, 'KAFKA_GC_LOG_OPTS')?.value as string;
    expect(gc.trim()).not.toBe('');
    expect(gc).not.toMatch(/file=|-Xloggc/);
    // Nothing writes /opt/kafka/logs any more: a token emptyDir, not the 1Gi that used to fill up.
    expect(kafka.spec.template.spec.volumes).toContainEqual({ name: 'logs', emptyDir: { sizeLimit: '16Mi' } });
  });

  test('a Kafka node is ready only once it is back in the ISR of its partitions, checked by kafka-ready.sh', () => {
    const { objects } = synthCluster();
    const c = container(find(objects, 'StatefulSet', 'milvus-kafka'));
    expect(c.readinessProbe).toEqual({
      exec: { command: ['/bin/sh', '/opt/milvus-kafka/kafka-ready.sh', 'localhost:9092', '25'] },
      initialDelaySeconds: 0, periodSeconds: 30, timeoutSeconds: 30, failureThreshold: 3,
    });
    // The script gives up before the kubelet does, so a hung tool is reported, not killed silently.
    expect(Number(c.readinessProbe.exec.command[3])).toBeLessThan(c.readinessProbe.timeoutSeconds);
    const files = find(objects, 'ConfigMap', 'milvus-kafka-scripts').data;
    for (const file of ['kafka-ready.sh', 'kafka-tools-log4j.properties']) {
      expect(files[file]).toBe(readFileSync(join(__dirname, `../../lib/data/milvus/${file}`), 'utf8'));
    }
    // Liveness stays a plain port check: a broker catching up must not be restarted.
    expect(c.livenessProbe.tcpSocket).toEqual({ port: 'broker' });
  });

  test('runs every Milvus role with the replicas it is given', () => {
    const { objects, milvus } = synthCluster({
      proxy: { replicas: 3 },
      queryNode: { replicas: 4, resources: { requests: { cpu: '2', memory: '8Gi' }, limits: { cpu: '4', memory: '16Gi' } } },
      dataNode: { replicas: 2 },
      indexNode: { replicas: 2 },
    });
    const roles: [string, number, string[]][] = [
      ['milvus-mixcoord', 1, ['milvus', 'run', 'mixture', '-rootcoord', '-querycoord', '-datacoord', '-indexcoord']],
      ['milvus', 3, ['milvus', 'run', 'proxy']],
      ['milvus-querynode', 4, ['milvus', 'run', 'querynode']],
      ['milvus-datanode', 2, ['milvus', 'run', 'datanode']],
      ['milvus-indexnode', 2, ['milvus', 'run', 'indexnode']],
    ];
    for (const [name, replicas, args] of roles) {
      const deployment = find(objects, 'Deployment', name);
      expect([name, deployment.spec.replicas, container(deployment).args]).toEqual([name, replicas, args]);
      const c = container(deployment);
      expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
      expect(c.readinessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
      expect(c.ports).toContainEqual({ name: 'metrics', containerPort: 9091, protocol: 'TCP' });
      expect(c.volumeMounts).toContainEqual({ name: 'milvus-config', mountPath: '/milvus/configs/user.yaml', subPath: 'user.yaml', readOnly: true });
      if (replicas > 1) expect(find(objects, 'PodDisruptionBudget', name).spec.maxUnavailable).toBe(1);
    }
    expect(container(find(objects, 'Deployment', 'milvus-querynode')).resources.limits.memory).toBe('16Gi');
    // A single coordinator must stop before its successor starts.
    expect(find(objects, 'Deployment', 'milvus-mixcoord').spec.strategy).toEqual({ type: 'Recreate' });
    // The proxies are the client Service.
    expect(find(objects, 'Service', 'milvus').spec.ports.map((p: Json) => [p.name, p.port])).toEqual([['milvus', 19530], ['metrics', 9091]]);
    expect(milvus.endpoint).toMatchObject({ host: 'milvus', port: 19530, targetPort: 19530 });
    expect(milvus.endpoint.workload).toBe(milvus.proxy);
    expect(milvus.components.map((c) => c.replicas)).toEqual([1, 3, 4, 2, 2]);
  });

  test('renders user.yaml with the Services and ports the workloads and policies use', () => {
    const { objects } = synthCluster();
    const config = userYaml(objects);
    expect(config.etcd.endpoints).toEqual(['milvus-etcd:2379']);
    expect(config.minio).toMatchObject({ address: 'milvus-minio', port: 9000, useSSL: false, bucketName: 'milvus-bucket' });
    expect(config.mq).toEqual({ type: 'kafka' });
    expect(config.kafka).toEqual({ brokerList: 'milvus-kafka:9092', securityProtocol: 'PLAINTEXT' });
    expect(find(objects, 'Service', 'milvus-etcd').spec.ports[0].port).toBe(2379);
    expect(find(objects, 'Service', 'milvus-minio').spec.ports[0].port).toBe(9000);
    expect(find(objects, 'Service', 'milvus-kafka').spec.ports[0].port).toBe(9092);

    const containerPorts = (name: string) => Object.fromEntries(container(find(objects, 'Deployment', name)).ports.map((p: Json) => [p.name, p.containerPort]));
    expect(containerPorts('milvus-mixcoord')).toMatchObject({
      rootcoord: config.rootCoord.port, querycoord: config.queryCoord.port, datacoord: config.dataCoord.port,
    });
    expect(containerPorts('milvus')).toMatchObject({ milvus: config.proxy.port, internal: config.proxy.internalPort });
    expect(containerPorts('milvus-querynode').querynode).toBe(config.queryNode.port);
    expect(containerPorts('milvus-datanode').datanode).toBe(config.dataNode.port);
    expect(containerPorts('milvus-indexnode').indexnode).toBe(config.indexNode.port);
    expect(config.rootCoord.enableActiveStandby).toBe(false);

    // Two coordinators run active-standby, and may then overlap in a rolling update.
    const standby = synthCluster({ mixCoord: { replicas: 2 } }).objects;
    expect(userYaml(standby).rootCoord.enableActiveStandby).toBe(true);
    expect(userYaml(standby).dataCoord.enableActiveStandby).toBe(true);
    expect(find(standby, 'Deployment', 'milvus-mixcoord').spec.strategy.type).toBe('RollingUpdate');
  });

  test('opens no index-coordinator port: in 2.3 the data coordinator does its work and nothing listens on 31000', () => {
    const { objects } = synthCluster();
    const mixcoord = find(objects, 'Deployment', 'milvus-mixcoord');
    expect(container(mixcoord).ports.map((p: Json) => [p.name, p.containerPort])).toEqual([
      ['rootcoord', 53100], ['querycoord', 19531], ['datacoord', 13333], ['metrics', 9091],
    ]);
    expect(find(objects, 'Service', 'milvus-mixcoord').spec.ports.map((p: Json) => p.port)).toEqual([53100, 19531, 13333, 9091]);
    expect(userYaml(objects).indexCoord).toEqual({ enableActiveStandby: false });
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
    const ports = policies.flatMap((o) => [...(o.spec.ingress ?? []), ...(o.spec.egress ?? [])]).flatMap((r: Json) => r.ports ?? []).map((p: Json) => p.port);
    expect(ports).not.toContain(31000);
    // The mixture process still runs the index coordinator's role.
    expect(container(mixcoord).args).toContain('-indexcoord');
  });

  test('passes credentials only as references to Secrets', () => {
    const { objects } = synthCluster();
    const credentialEnv = allEnv(objects).filter((e) => /KEY|PASSWORD|ROOT_USER|SECRET/.test(e.name));
    expect(credentialEnv.map((e) => e.name).sort()).toEqual([
      ...Array(5).fill('MINIO_ACCESS_KEY_ID'), 'MINIO_ROOT_PASSWORD', 'MINIO_ROOT_USER', ...Array(5).fill('MINIO_SECRET_ACCESS_KEY'),
    ]);
    for (const e of credentialEnv) {
      expect(e.value).toBeUndefined();
      expect([MINIO_USER, MINIO_PASSWORD]).toContainEqual(e.valueFrom.secretKeyRef);
    }
    const proxy = container(find(objects, 'Deployment', 'milvus'));
    expect(env(proxy, 'MINIO_ACCESS_KEY_ID')?.valueFrom.secretKeyRef).toEqual(MINIO_USER);
    expect(env(proxy, 'MINIO_SECRET_ACCESS_KEY')?.valueFrom.secretKeyRef).toEqual(MINIO_PASSWORD);
    const config = userYaml(objects);
    expect(config.minio.accessKeyID).toBeUndefined();
    expect(config.minio.secretAccessKey).toBeUndefined();
    expect(JSON.stringify(objects)).not.toMatch(/minioadmin/);
  });

  test('uses an external S3 bucket instead of MinIO, reached through an egress allowance', () => {
    const { objects, milvus } = synthCluster({ objectStorage: { external: S3 } });
    expect(milvus.minio).toBeUndefined();
    expect(objects.filter((o) => o.metadata.name.includes('minio'))).toEqual([]);
    expect(userYaml(objects).minio).toMatchObject({
      address: 's3.eu-central-1.amazonaws.com', port: 443, useSSL: true, bucketName: 'logistics-prod-vectors', region: 'eu-central-1',
    });
    for (const component of ['milvus-mixcoord', 'milvus', 'milvus-querynode', 'milvus-datanode', 'milvus-indexnode']) {
      expect(policyPeers(objects, component, 'egress')['52.219.0.0/16']).toEqual([443]);
      const c = container(find(objects, 'Deployment', component));
      expect(env(c, 'MINIO_ACCESS_KEY_ID')?.valueFrom.secretKeyRef).toEqual(S3.accessKeySecret);
      expect(env(c, 'MINIO_SECRET_ACCESS_KEY')?.valueFrom.secretKeyRef).toEqual(S3.secretKeySecret);
    }
    // Without TLS on a custom port, and any address when no range is given.
    const plain = synthCluster({ objectStorage: { external: { ...S3, endpoint: 'minio.storage.example.com:9000', useSSL: false, egressCidr: undefined } } }).objects;
    expect(userYaml(plain).minio).toMatchObject({ address: 'minio.storage.example.com', port: 9000, useSSL: false });
    expect(policyPeers(plain, 'milvus-querynode', 'egress')['0.0.0.0/0']).toEqual([9000]);
  });

  test('runs a distributed MinIO of 4 to 16 pods as one erasure set', () => {
    const { objects } = synthCluster({ objectStorage: { minio: { ...MINIO, replicas: 4, storage: { size: '500Gi' } } } });
    const minio = find(objects, 'StatefulSet', 'milvus-minio');
    expect(minio.spec.replicas).toBe(4);
    expect(container(minio).args[1]).toBe('http://milvus-minio-{0...3}.milvus-minio-headless/data');
    expect(minio.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('500Gi');
    expect(find(objects, 'PodDisruptionBudget', 'milvus-minio').spec.maxUnavailable).toBe(1);
    expect(policyPeers(objects, 'milvus-minio', 'ingress')['milvus-minio']).toEqual([9000]);
  });

  test('keeps every volume: each StatefulSet retains its claims and Argo CD never prunes them', () => {
    const { objects } = synthCluster();
    const statefulSets = objects.filter((o) => o.kind === 'StatefulSet');
    expect(statefulSets.map((s) => s.metadata.name).sort()).toEqual(['milvus-etcd', 'milvus-kafka', 'milvus-minio']);
    for (const sts of [...statefulSets, find(synthStandalone().objects, 'StatefulSet', 'milvus')]) {
      expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
      expect(sts.metadata.annotations).toEqual(KEEP_ON_PRUNE_ANNOTATIONS);
      expect(sts.spec.volumeClaimTemplates).toHaveLength(1);
      for (const claim of sts.spec.volumeClaimTemplates) {
        expect(claim.metadata.annotations).toEqual(KEEP_ON_PRUNE_ANNOTATIONS);
        // No version label: claim templates cannot change after creation, an upgrade must not touch them.
        expect(claim.metadata.labels['app.kubernetes.io/version']).toBeUndefined();
      }
    }
    // No Milvus role of a cluster keeps state in its pod: they are Deployments.
    expect(objects.filter((o) => o.kind === 'PersistentVolumeClaim')).toEqual([]);
  });

  test('opens the network between roles on exactly the ports they call', () => {
    const { objects } = synthCluster();
    const coordinatorPorts = [13333, 19531, 53100];
    const roles = ['milvus-mixcoord', 'milvus', 'milvus-querynode', 'milvus-datanode', 'milvus-indexnode'];
    const etcdIn = policyPeers(objects, 'milvus-etcd', 'ingress');
    const minioIn = policyPeers(objects, 'milvus-minio', 'ingress');
    for (const role of roles) {
      expect(etcdIn[role]).toEqual([2379]);
      expect(minioIn[role]).toEqual([9000]);
    }
    expect(etcdIn['milvus-etcd']).toEqual([2380]);
    expect(policyPeers(objects, 'milvus-kafka', 'ingress')).toEqual({
      'prometheus': [9308], 'milvus-kafka': [9092, 9093], 'milvus-mixcoord': [9092], 'milvus': [9092], 'milvus-querynode': [9092], 'milvus-datanode': [9092],
    });
    expect(policyPeers(objects, 'milvus-mixcoord', 'ingress')).toEqual({
      'prometheus': [9091], 'milvus': coordinatorPorts, 'milvus-querynode': coordinatorPorts, 'milvus-datanode': coordinatorPorts, 'milvus-indexnode': coordinatorPorts,
    });
    expect(policyPeers(objects, 'milvus-mixcoord', 'egress')).toMatchObject({
      'milvus': [19529], 'milvus-querynode': [21123], 'milvus-datanode': [21124], 'milvus-indexnode': [21121],
    });
    expect(policyPeers(objects, 'milvus-querynode', 'ingress')).toEqual({ 'prometheus': [9091], 'milvus-mixcoord': [21123], 'milvus': [21123], 'milvus-querynode': [21123] });
    // Index nodes need no message queue; nothing but the coordinators calls data and index nodes.
    expect(policyPeers(objects, 'milvus-indexnode', 'egress')['milvus-kafka']).toBeUndefined();
    expect(policyPeers(objects, 'milvus-datanode', 'ingress')).toEqual({ 'prometheus': [9091], 'milvus-mixcoord': [21124] });
    // Clients reach the proxies on 19530 once they declare it.
    expect(policyPeers(objects, 'milvus', 'ingress')).toEqual({ 'prometheus': [9091], 'milvus-mixcoord': [19529] });
  });

  test('lets a client reach the proxies on 19530 through the endpoint', () => {
    const { chart, milvus } = synthCluster();
    const client = new MilvusStandalone(chart, 'client', { name: 'client', objectStorage: { minio: MINIO } });
    const endpoint: ServiceEndpoint = client.milvus.connectTo(milvus.endpoint);
    expect(endpoint.host).toBe('milvus');
    const objects = Testing.synth(chart) as Json[];
    expect(policyPeers(objects, 'milvus', 'ingress').client).toEqual([19530]);
    expect(policyPeers(objects, 'client', 'egress').milvus).toEqual([19530]);
  });

  test('every object is valid Kubernetes 1.27 and meets every platform policy, prod HA included', () => {
    const schema = new KubernetesSchema();
    const build = [
      (chart: Chart) => new MilvusCluster(chart, 'milvus', {
        ...CLUSTER, objectStorage: { minio: { ...MINIO, replicas: 4 } }, mixCoord: { replicas: 2 }, queryNode: { replicas: 2 },
      }),
      (chart: Chart) => new MilvusCluster(chart, 'milvus', { ...CLUSTER, objectStorage: { external: S3 } }),
      (chart: Chart) => new MilvusStandalone(chart, 'milvus', { objectStorage: { minio: MINIO } }),
    ];
    for (const [make, backup] of [...build.map((b) => [b, false] as const), ...build.map((b) => [b, true] as const)]) {
      const app = Testing.app();
      app.node.setContext(SOLUTION_CONTEXT_KEY, 'logistics');
      app.node.setContext(ENVIRONMENT_CONTEXT_KEY, 'prod');
      if (backup) app.node.setContext(BACKUP_CONTEXT_KEY, BACKUP_SETTINGS);
      const chart = new Chart(app, 'data', { namespace: 'logistics-prod' });
      make(chart);
      const problems = chart.node.findAll().filter(ApiObject.isApiObject).flatMap((o) => {
        const json = o.toJson();
        return schema.validate(json).map((p) => `${json.kind}/${json.metadata.name}: ${p}`);
      });
      expect(problems).toEqual([]);
      expect(evaluateChart(chart, Inventory.of(chart), POLICY_RULES).map(String)).toEqual([]);
    }
  });
});

describe('renderUserYaml', () => {
  test('renders YAML whose values survive a parse, strings quoted', () => {
    const text = renderUserYaml({
      mode: 'cluster',
      etcdEndpoints: ['a:2379', 'b:2379'],
      objectStorage: { address: '10.0.0.5', port: 9000, bucket: 'b1', useSSL: false },
      kafkaBrokerList: 'k:9092',
    });
    const config = parse(text);
    expect(config.etcd.endpoints).toEqual(['a:2379', 'b:2379']);
    // A bare 10.0.0.5 or "on" would be read back differently by some parsers: strings are quoted.
    expect(text).toContain('address: "10.0.0.5"');
    expect(config.minio.region).toBeUndefined();
    expect(config.log.file.rootPath).toBe('');
  });
});

describe('Milvus bad input', () => {
  const clusterError = (props: Partial<MilvusClusterProps>) => () => synthCluster(props);

  test('an even number of etcd members', () => {
    expect(clusterError({ etcdReplicas: 2 })).toThrow(/^test: milvus\.etcdReplicas must be an odd number \(1, 3, 5 or 7\) .* but 2 was provided$/);
    expect(() => synthStandalone({ etcdReplicas: 4 })).toThrow(/milvus\.etcdReplicas must be an odd number .* but 4 was provided/);
  });

  test('a cluster without a message queue, named with its solution and environment', () => {
    const app = Testing.app();
    app.node.setContext(SOLUTION_CONTEXT_KEY, 'logistics');
    app.node.setContext(ENVIRONMENT_CONTEXT_KEY, 'prod');
    const chart = new Chart(app, 'data');
    const props = { objectStorage: { minio: MINIO } } as unknown as MilvusClusterProps;
    expect(() => new MilvusCluster(chart, 'milvus', props))
      .toThrow(/^logistics\/prod: milvus\.messageQueue must be a message queue for the Milvus cluster .* but undefined was provided$/);
    expect(clusterError({ messageQueue: { kafka: { replicas: 2 } } })).toThrow(/milvus\.messageQueue\.kafka\.replicas must be an odd number .* but 2 was provided/);
    expect(clusterError({ messageQueue: { kafka: { image: 'bitnami/kafka:3.8.0' } } })).toThrow(/milvus\.messageQueue\.kafka\.image must be an apache\/kafka image 3\.7 to 3\.9/);
    expect(clusterError({ messageQueue: { kafka: { image: 'apache/kafka:3.6.2' } } })).toThrow(/milvus\.messageQueue\.kafka\.image must be an apache\/kafka image 3\.7 to 3\.9 .* but "apache\/kafka:3\.6\.2" was provided/);
    // Kafka 4 logs with log4j 2 and would ignore the console-only log4j 1 file.
    expect(clusterError({ messageQueue: { kafka: { image: 'apache/kafka:4.0.0' } } })).toThrow(/milvus\.messageQueue\.kafka\.image must be an apache\/kafka image 3\.7 to 3\.9 .* but "apache\/kafka:4\.0\.0" was provided/);
    expect(() => synthCluster({ messageQueue: { kafka: { image: 'apache/kafka:3.7.1' } } })).not.toThrow();
    expect(() => synthCluster({ messageQueue: { kafka: { image: 'apache/kafka:3.9.0' } } })).not.toThrow();
  });

  test('storage sizes and classes that are not Kubernetes quantities and names', () => {
    expect(clusterError({ etcdStorage: { size: '10GB' } })).toThrow(/milvus\.etcdStorage\.size must be a storage size in binary units such as 10Gi or 1Ti but "10GB" was provided/);
    expect(clusterError({ etcdStorage: { size: '2Gi' } })).toThrow(/milvus\.etcdStorage\.size must be at least 5Gi .* but "2Gi" was provided/);
    expect(clusterError({ objectStorage: { minio: { ...MINIO, storage: { size: '100Gi', storageClassName: 'Fast_SSD' } } } }))
      .toThrow(/milvus\.objectStorage\.minio\.storage\.storageClassName must be a DNS subdomain name .* but "Fast_SSD" was provided/);
    expect(clusterError({ messageQueue: { kafka: { storage: { size: '0Gi' } } } })).toThrow(/milvus\.messageQueue\.kafka\.storage\.size must be a storage size/);
    expect(() => synthStandalone({ storage: { size: '50G' } })).toThrow(/milvus\.storage\.size must be a storage size .* but "50G" was provided/);
    expect(clusterError({ nodeCacheSize: 'lots' })).toThrow(/milvus\.nodeCacheSize must be a storage size .* but "lots" was provided/);
  });

  test('replica counts out of range', () => {
    expect(clusterError({ queryNode: { replicas: 0 } })).toThrow(/milvus\.queryNode\.replicas must be an integer between 1 and 100 but 0 was provided/);
    expect(clusterError({ proxy: { replicas: 1.5 } })).toThrow(/milvus\.proxy\.replicas must be an integer between 1 and 100 but 1\.5 was provided/);
    expect(clusterError({ mixCoord: { replicas: 4 } })).toThrow(/milvus\.mixCoord\.replicas must be an integer between 1 and 3 but 4 was provided/);
    expect(clusterError({ objectStorage: { minio: { ...MINIO, replicas: 2 } } }))
      .toThrow(/milvus\.objectStorage\.minio\.replicas must be 1 \(a single drive\) or 4 to 16 .* but 2 was provided/);
  });

  test('secret references that cannot name a Secret key', () => {
    expect(clusterError({ objectStorage: { minio: { ...MINIO, accessKeySecret: { name: 'Minio Creds', key: 'user' } } } }))
      .toThrow(/milvus\.objectStorage\.minio\.accessKeySecret\.name must be a DNS subdomain name .* but "Minio Creds" was provided/);
    expect(clusterError({ objectStorage: { external: { ...S3, secretKeySecret: { name: 'milvus-s3', key: 'secret key' } } } }))
      .toThrow(/milvus\.objectStorage\.external\.secretKeySecret\.key must be a Secret key .* but "secret key" was provided/);
    const noSecret = { minio: { secretKeySecret: MINIO_PASSWORD } } as unknown as MilvusClusterProps['objectStorage'];
    expect(clusterError({ objectStorage: noSecret }))
      .toThrow(/milvus\.objectStorage\.minio\.accessKeySecret must be a reference to an existing Secret \(\{ name, key \}\) but undefined was provided/);
  });

  test('object storage that is both, neither, or not an S3 endpoint', () => {
    expect(clusterError({ objectStorage: { minio: MINIO, external: S3 } })).toThrow(/milvus\.objectStorage must be exactly one of .* but \["minio","external"\] was provided/);
    expect(clusterError({ objectStorage: {} })).toThrow(/milvus\.objectStorage must be exactly one of .* but \[\] was provided/);
    expect(clusterError({ objectStorage: { external: { ...S3, endpoint: 'https://s3.amazonaws.com' } } }))
      .toThrow(/milvus\.objectStorage\.external\.endpoint must be a host name with an optional port.* but "https:\/\/s3\.amazonaws\.com" was provided/);
    expect(clusterError({ objectStorage: { external: { ...S3, bucket: 'Vectors_Bucket' } } })).toThrow(/milvus\.objectStorage\.external\.bucket must be an S3 bucket name/);
    expect(clusterError({ objectStorage: { external: { ...S3, egressCidr: '10.0.0.0/33' } } })).toThrow(/milvus\.objectStorage\.external\.egressCidr must be an IPv4 CIDR .* but "10\.0\.0\.0\/33" was provided/);
  });

  test('images that are not pinned or not Milvus 2.3', () => {
    expect(clusterError({ image: 'milvusdb/milvus:latest' })).toThrow(/milvus\.image must be an image pinned to a release tag .* but "milvusdb\/milvus:latest" was provided/);
    expect(clusterError({ image: 'milvusdb/milvus:v2.4.1' })).toThrow(/milvus\.image must be a Milvus 2\.3 image .* but "milvusdb\/milvus:v2\.4\.1" was provided/);
    expect(clusterError({ etcdImage: 'quay.io/coreos/etcd' })).toThrow(/milvus\.etcdImage must be an image pinned to a release tag/);
    expect(clusterError({ etcdImage: 'quay.io/coreos/etcd:v3.5.5' })).toThrow(/milvus\.etcdImage must be an etcd image tagged v3\.5\.11 or later .* but "quay\.io\/coreos\/etcd:v3\.5\.5" was provided/);
    expect(() => synthCluster({ etcdImage: 'gcr.io/etcd-development/etcd:v3.5.21' })).not.toThrow();
    expect(() => synthCluster({ etcdImage: 'registry.example.com/mirror/etcd:v3.6.4' })).not.toThrow();
  });

  test('resources whose requests exceed their limits', () => {
    expect(clusterError({ indexNode: { resources: { requests: { cpu: '4', memory: '1Gi' }, limits: { cpu: '2', memory: '2Gi' } } } }))
      .toThrow(/milvus\.indexNode\.resources\.requests\.cpu must be at most milvus\.indexNode\.resources\.limits\.cpu \(2\) but "4" was provided/);
  });
});

describe('kafka-node.sh', () => {
  const script = join(__dirname, '../../lib/data/milvus/kafka-node.sh');
  let dir: { path: string; remove: () => void };
  let stub: string;

  beforeAll(() => {
    dir = tempDir('kafka-node');
    // Stands in for the image's /etc/kafka/docker/run: shows what it was started with.
    stub = join(dir.path, 'run');
    writeFileSync(stub, '#!/bin/sh\necho "node=${KAFKA_NODE_ID} listeners=${KAFKA_ADVERTISED_LISTENERS:-}"\n');
    chmodSync(stub, 0o755);
  });
  afterAll(() => dir.remove());

  const runNode = (env: Record<string, string>) => {
    const result = spawnSync('/bin/sh', [script], { env: { PATH: process.env.PATH, KAFKA_DOCKER_RUN: stub, ...env }, encoding: 'utf8' });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  };

  test('takes the node id from the pod ordinal and hands over to the image\'s start script', () => {
    const result = runNode({ POD_NAME: 'milvus-kafka-12', KAFKA_ADVERTISED_LISTENERS: 'PLAINTEXT://milvus-kafka-12.h:9092' });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('node=12 listeners=PLAINTEXT://milvus-kafka-12.h:9092');
    expect(runNode({ POD_NAME: 'milvus-kafka-0' }).stdout).toContain('node=0 ');
  });

  test('refuses to start without a pod name that ends in an ordinal', () => {
    const missing = runNode({});
    expect(missing.status).toBe(64);
    expect(missing.stderr).toContain('POD_NAME is not set');
    for (const name of ['milvus-kafka', 'milvus-kafka-', 'milvus-kafka-1a']) {
      const bad = runNode({ POD_NAME: name });
      expect([name, bad.status]).toEqual([name, 64]);
      expect(bad.stderr).toContain(`cannot take a node id from pod name '${name}'`);
      expect(bad.stdout).not.toContain('node=');
    }
  });
});

describe('kafka-ready.sh', () => {
  const script = join(__dirname, '../../lib/data/milvus/kafka-ready.sh');
  let dir: { path: string; remove: () => void };
  let bin: string;

  beforeAll(() => {
    dir = tempDir('kafka-ready');
    bin = join(dir.path, 'bin');
    mkdirSync(bin);
    // Stands in for the image's kafka-topics.sh: records how it was run, prints STUB_REPORT, exits STUB_STATUS.
    const stub = join(bin, 'kafka-topics.sh');
    writeFileSync(stub, [
      '#!/bin/sh',
      'printf \'%s\\n\' "$*" "heap=$KAFKA_HEAP_OPTS" "log4j=$KAFKA_LOG4J_OPTS" > "$STUB_RECORD"',
      'if [ -n "${STUB_SLEEP:-}" ]; then sleep "$STUB_SLEEP"; fi',
      'if [ -n "${STUB_REPORT:-}" ]; then cat "$STUB_REPORT"; fi',
      'exit "${STUB_STATUS:-0}"',
      '',
    ].join('\n'));
    chmodSync(stub, 0o755);
  });
  afterAll(() => dir.remove());

  /** A partition line as kafka-topics.sh 3.8 prints it for --under-replicated-partitions. */
  const line = (topic: string, partition: number, leader: number, replicas: number[], isr: number[]) =>
    `\tTopic: ${topic}\tPartition: ${partition}\tLeader: ${leader}\tReplicas: ${replicas.join(',')}\tIsr: ${isr.join(',')}\tElr: N/A\tLastKnownElr: N/A`;

  let run = 0;
  const ready = (pod: string | undefined, report: string[], extra: Record<string, string> = {}, args = ['localhost:9092', '5']) => {
    run += 1;
    const reportFile = join(dir.path, `report-${run}`);
    const record = join(dir.path, `record-${run}`);
    writeFileSync(reportFile, report.map((l) => `${l}\n`).join(''));
    writeFileSync(record, '');
    const result = spawnSync('/bin/sh', [script, ...args], {
      env: { PATH: process.env.PATH, KAFKA_BIN_DIR: bin, STUB_REPORT: reportFile, STUB_RECORD: record, ...(pod ? { POD_NAME: pod } : {}), ...extra },
      encoding: 'utf8',
    });
    return { status: result.status, stderr: result.stderr, record: readFileSync(record, 'utf8') };
  };

  test('ready when no partition is under-replicated; asks the local broker with a small heap and quiet logging', () => {
    const result = ready('milvus-kafka-1', []);
    expect(result.status).toBe(0);
    const [args, heap, log4j] = result.record.split('\n');
    expect(args).toBe('--bootstrap-server localhost:9092 --describe --under-replicated-partitions');
    // Not the broker's MaxRAMPercentage=50 from the container environment: the probe shares its memory limit.
    expect(heap).toBe('heap=-Xms32m -Xmx128m');
    expect(log4j).toBe(`log4j=-Dlog4j.configuration=file:${dirname(script)}/kafka-tools-log4j.properties`);
  });

  test('ready while other brokers are behind, as long as this one is in every ISR it belongs to', () => {
    const result = ready('milvus-kafka-1', [
      line('by-dev-rootcoord-dml_0', 0, 1, [1, 2, 0], [1, 0]),
      line('__consumer_offsets', 7, 0, [0, 2, 1], [0, 1]),
      // Broker 10 and 11 are not broker 1.
      line('by-dev-rootcoord-dml_1', 0, 10, [10, 11, 2], [2]),
    ], {}, ['localhost:9092', '5']);
    expect([result.status, result.stderr]).toEqual([0, '']);
  });

  test('not ready while it is missing from the ISR of a partition it holds, naming the partitions', () => {
    const result = ready('milvus-kafka-2', [
      line('by-dev-rootcoord-dml_0', 0, 1, [1, 2, 0], [1, 0]),
      line('by-dev-rootcoord-dml_0', 1, 0, [0, 1, 2], [0, 1, 2]),
      line('__consumer_offsets', 12, 0, [2, 0, 1], [0, 1]),
    ]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('broker 2 not ready: not yet in the in-sync replicas of by-dev-rootcoord-dml_0-0 __consumer_offsets-12');
    // A lone broker 1 is not broker 12 or 21.
    expect(ready('milvus-kafka-1', [line('t', 0, 12, [12, 21, 0], [0])]).status).toBe(0);
  });

  test('not ready when the tool fails or does not answer in time', () => {
    const failed = ready('milvus-kafka-0', [], { STUB_STATUS: '1' });
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain('broker 0 not ready: kafka-topics.sh --describe failed or took more than 5s');
    const started = Date.now();
    const hung = ready('milvus-kafka-0', [], { STUB_SLEEP: '30' }, ['localhost:9092', '1']);
    expect(hung.status).toBe(1);
    expect(hung.stderr).toContain('took more than 1s');
    expect(Date.now() - started).toBeLessThan(15000);
  });

  test('refuses to run without a pod ordinal or with bad arguments', () => {
    expect(ready(undefined, []).status).toBe(64);
    expect(ready(undefined, []).stderr).toContain('POD_NAME is not set');
    const bad = ready('milvus-kafka', []);
    expect([bad.status, bad.stderr]).toEqual([64, "kafka-ready.sh: cannot take a node id from pod name 'milvus-kafka': it does not end in -<ordinal>\n"]);
    expect(ready('milvus-kafka-0', [], {}, ['localhost:9092']).status).toBe(64);
    expect(ready('milvus-kafka-0', [], {}, ['localhost:9092', '5s']).stderr).toContain("the timeout must be a whole number of seconds, not '5s'");
  });
});

describe('Milvus monitoring: every component scraped, the store\'s alerts', () => {
  const monitorOf = (objects: Json[], name: string): Json => find(objects, 'PodMonitor', name);

  test('Milvus, etcd and MinIO are scraped on their own metrics endpoints; MinIO serves them without a token', () => {
    const { objects } = synthCluster();
    for (const role of ['milvus-mixcoord', 'milvus', 'milvus-querynode', 'milvus-datanode', 'milvus-indexnode']) {
      expect(monitorOf(objects, role).spec.podMetricsEndpoints).toEqual([{ port: 'metrics', path: '/metrics' }]);
      expect(container(find(objects, 'Deployment', role)).ports).toContainEqual({ name: 'metrics', containerPort: 9091, protocol: 'TCP' });
    }
    expect(monitorOf(objects, 'milvus-etcd').spec.podMetricsEndpoints).toEqual([{ port: 'metrics', path: '/metrics' }]);
    expect(container(find(objects, 'StatefulSet', 'milvus-etcd')).ports).toContainEqual({ name: 'metrics', containerPort: 2381, protocol: 'TCP' });
    expect(monitorOf(objects, 'milvus-minio').spec.podMetricsEndpoints).toEqual([{ port: 'api', path: '/minio/v2/metrics/cluster' }]);
    expect(env(container(find(objects, 'StatefulSet', 'milvus-minio')), 'MINIO_PROMETHEUS_AUTH_TYPE')).toEqual({ name: 'MINIO_PROMETHEUS_AUTH_TYPE', value: 'public' });
    for (const monitor of objects.filter((o) => o.kind === 'PodMonitor')) expect(monitor.metadata.labels.release).toBe('kube-prometheus-stack');
  });

  test('every Kafka broker runs kafka_exporter beside it, bootstrapping from its own broker', () => {
    const { objects } = synthCluster();
    const sts = find(objects, 'StatefulSet', 'milvus-kafka');
    const exporter = sts.spec.template.spec.containers.find((c: Json) => c.name === 'kafka-exporter');
    expect(exporter.image).toBe('danielqsj/kafka-exporter:v1.8.0');
    expect(exporter.args).toEqual(['--kafka.server=127.0.0.1:9092', '--web.listen-address=:9308']);
    expect(exporter.ports).toEqual([{ name: 'metrics', containerPort: 9308, protocol: 'TCP' }]);
    expect(exporter.livenessProbe.httpGet).toEqual({ path: '/', port: 'metrics' });
    expect(exporter.resources.limits.memory).toBe('256Mi');
    expect(monitorOf(objects, 'milvus-kafka').spec.podMetricsEndpoints).toEqual([{ port: 'metrics', path: '/metrics' }]);
  });

  test('alerts: Milvus unavailable, etcd without leader, MinIO nodes offline, Kafka brokers missing (cluster only)', () => {
    const rules = (objects: Json[]) => find(objects, 'PrometheusRule', 'milvus-rules').spec.groups[0].rules;
    const cluster = rules(synthCluster().objects);
    expect(cluster.map((r: Json) => `${r.alert} ${r.labels.severity}`)).toEqual(['MilvusUnavailable P1', 'EtcdNoLeader P1', 'MinioNodesOffline P2', 'KafkaBrokersMissing P2']);
    expect(cluster[1].expr).toContain('etcd_server_has_leader{job="milvus-etcd"} == 0');
    expect(cluster[3].expr).toContain('min by (namespace, job) (kafka_brokers{job="milvus-kafka"}) < 3');
    expect(rules(synthStandalone().objects).map((r: Json) => r.alert)).toEqual(['MilvusUnavailable', 'EtcdNoLeader', 'MinioNodesOffline']);
    expect(rules(synthStandalone({ objectStorage: { external: S3 } }).objects).map((r: Json) => r.alert)).toEqual(['MilvusUnavailable', 'EtcdNoLeader']);
    expect(rules(synthCluster({ messageQueue: { kafka: { replicas: 1 } } }).objects)[3]).toMatchObject({ alert: 'KafkaBrokersMissing', labels: { severity: 'P1' } });
  });
});

describe('Milvus backups: collections (milvus-backup) and file buckets, attached to the MinIO run here', () => {
  const BACKUP_IMAGES = ['restic/restic:0.17.3', 'milvusdb/milvus-backup:v0.4.15', 'busybox:1.36.1-musl', 'minio/mc:RELEASE.2025-08-13T08-35-41Z'];

  function backupApp(backup = true): { app: ReturnType<typeof Testing.app>; chart: Chart } {
    const app = Testing.app();
    app.node.setContext(SOLUTION_CONTEXT_KEY, 'sol');
    app.node.setContext(ENVIRONMENT_CONTEXT_KEY, 'env');
    if (backup) app.node.setContext(BACKUP_CONTEXT_KEY, BACKUP_SETTINGS);
    return { app, chart: new Chart(app, 'data', { namespace: 'ns' }) };
  }
  function withBackup(mode: 'standalone' | 'cluster', objectStorage: MilvusStandaloneProps['objectStorage'] = { minio: MINIO }) {
    const { chart } = backupApp();
    const milvus = mode === 'standalone'
      ? new MilvusStandalone(chart, 'milvus', { objectStorage })
      : new MilvusCluster(chart, 'milvus', { ...CLUSTER, objectStorage });
    return { chart, milvus, objects: Testing.synth(chart) as Json[] };
  }
  const cronJob = (objects: Json[], kind: string) => find(objects, 'CronJob', `milvus-backup-${kind}`);
  const podOf = (c: Json) => c.spec.jobTemplate.spec.template.spec;
  const backupYaml = (objects: Json[]) => parse(find(objects, 'ConfigMap', 'milvus-backup-scripts').data['milvus-backup.yaml']);

  test.each([['standalone' as const], ['cluster' as const]])('%s: a daily collections backup, weekly prune and verify, monthly restore test, staggered after etcd\'s', (mode) => {
    const { objects } = withBackup(mode);
    const jobs = Object.fromEntries(['full', 'prune', 'verify', 'restore-test'].map((k) => [k, cronJob(objects, k)]));
    expect(Object.fromEntries(Object.entries(jobs).map(([k, c]) => [k, [c.spec.schedule, podOf(c).containers[0].command.join(' ')]]))).toEqual({
      'full': ['50 2 * * *', 'bash /backup/scripts/milvus-backup.sh collections'],
      'prune': ['50 4 * * 6', 'bash /backup/scripts/prune.sh'],
      'verify': ['50 3 * * 0', 'bash /backup/scripts/verify.sh'],
      'restore-test': ['50 5 2 * *', 'bash /backup/scripts/milvus-restore.sh test latest'],
    });
    expect(objects.filter((o) => o.kind === 'CronJob' && o.metadata.name.startsWith('milvus-backup-incremental'))).toEqual([]);
    // No start of any backup job of the chart (etcd's, Milvus') in the same minute as another.
    const schedules = objects.filter((o) => o.kind === 'CronJob').map((o) => o.spec.schedule);
    expect(schedules).toHaveLength(8);
    expect(new Set(schedules.map((x: string) => x.split(' ').slice(0, 2).join(' '))).size).toBe(8);
    expect(env(podOf(jobs.full).containers[0], 'RESTIC_REPOSITORY')?.value).toBe('s3:https://s3.example.com/test-backups/sol/env/milvus');
  });

  test('runs in debian with bash, the pinned tools copied in by init containers, and them first on PATH', () => {
    const { objects } = withBackup('standalone');
    for (const kind of ['full', 'prune', 'verify', 'restore-test']) {
      const pod = podOf(cronJob(objects, kind));
      expect(pod.containers[0].image).toBe('debian:bookworm-20241111-slim');
      expect(pod.initContainers.map((c: Json) => c.image)).toEqual(BACKUP_IMAGES);
      expect(pod.initContainers.map((c: Json) => c.command)).toEqual([
        ['cp', '/usr/bin/restic', '/etc/ssl/certs/ca-certificates.crt', '/backup/bin'],
        ['cp', '/app/milvus-backup', '/backup/bin/'],
        ['cp', '/bin/busybox', '/backup/bin/busybox'],
        ['/backup/bin/busybox', 'cp', '/usr/bin/mc', '/backup/bin/'],
      ]);
      for (const c of pod.initContainers) expect(c.volumeMounts).toEqual([{ name: 'backup-bin', mountPath: '/backup/bin' }]);
      expect(env(pod.containers[0], 'PATH')?.value).toBe('/backup/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
      expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'backup-bin', mountPath: '/backup/bin', readOnly: true });
      for (const image of [pod.containers[0].image, ...pod.initContainers.map((c: Json) => c.image)]) expect(image).toMatch(/:[\w.-]*\d[\w.-]*$/);
    }
  });

  test('milvus-backup reads a backup.yaml naming the proxy, MinIO and Milvus\' bucket and root path as user.yaml does, without any credential', () => {
    const { objects } = withBackup('cluster');
    const c = podOf(cronJob(objects, 'full')).containers[0];
    expect(env(c, 'MILVUS_BACKUP_CONFIG')?.value).toBe('/backup/scripts/milvus-backup.yaml');
    const config = backupYaml(objects);
    const user = userYaml(objects);
    expect(config.milvus).toEqual({ address: 'milvus', port: 19530, authorizationEnabled: false, tlsMode: 0 });
    expect(config.minio).toMatchObject({
      storageType: 'minio', address: user.minio.address, port: user.minio.port, useSSL: false, bucketName: user.minio.bucketName, rootPath: user.minio.rootPath,
      backupBucketName: env(c, 'MILVUS_BACKUP_BUCKET')?.value, backupRootPath: env(c, 'MILVUS_BACKUP_ROOT')?.value,
    });
    expect(config.log.file.rootPath).toBe('');
    expect(config.backup.gcPause).toEqual({ enable: true, seconds: 7200, address: 'http://milvus:9091' });
    const yaml = find(objects, 'ConfigMap', 'milvus-backup-scripts').data['milvus-backup.yaml'];
    expect(yaml).not.toMatch(/accessKeyID|secretAccessKey|password|user:|minioadmin/i);
    expect(env(c, 'MINIO_ENDPOINT')?.value).toBe('milvus-minio:9000');
  });

  test('the MinIO credentials reach the jobs and the restore only as references to the Milvus Secret', () => {
    const { objects, milvus } = withBackup('standalone');
    const pods = [...['full', 'prune', 'verify', 'restore-test'].map((k) => podOf(cronJob(objects, k))), milvus.backup!.restoreJobs[0].toJson().spec.template.spec];
    for (const pod of pods) {
      const c = pod.containers[0];
      expect(env(c, 'MINIO_ACCESS_KEY')).toEqual({ name: 'MINIO_ACCESS_KEY', valueFrom: { secretKeyRef: MINIO_USER } });
      expect(env(c, 'MINIO_SECRET_KEY')).toEqual({ name: 'MINIO_SECRET_KEY', valueFrom: { secretKeyRef: MINIO_PASSWORD } });
      for (const e of [...pod.initContainers, ...pod.containers].flatMap((x: Json) => x.env ?? [])) {
        if (/KEY|PASSWORD|SECRET|TOKEN/.test(e.name)) {
          expect(e.value).toBeUndefined();
          expect(e.valueFrom.secretKeyRef).toBeDefined();
        }
      }
    }
    expect(JSON.stringify(objects)).not.toMatch(/minioadmin|s3cret/);
  });

  test('reaches exactly the proxy (19530, and 9091 for the GC pause), MinIO and the bucket; both let it in', () => {
    for (const mode of ['standalone', 'cluster'] as const) {
      const { objects } = withBackup(mode);
      expect(policyPeers(objects, 'milvus-backup', 'egress')).toEqual({
        'dns': [53, 53], 'milvus-minio': [9000], 'milvus': [9091, 19530], '203.0.113.0/24': [443],
      });
      expect(policyPeers(objects, 'milvus-minio', 'ingress')['milvus-backup']).toEqual([9000]);
      expect(policyPeers(objects, 'milvus', 'ingress')['milvus-backup']).toEqual([9091, 19530]);
    }
  });

  test('a restore Job in restore/: restic restore, mirror back, milvus-backup restore of RESTORE_SNAPSHOT', () => {
    const { milvus } = withBackup('cluster');
    const job = milvus.backup!.restoreJobs[0].toJson();
    expect(job.metadata.name).toBe('milvus-restore');
    const c = job.spec.template.spec.containers[0];
    expect(c.command).toEqual(['bash', '/backup/scripts/milvus-restore.sh', 'restore', '$(RESTORE_SNAPSHOT)']);
    expect(env(c, 'RESTORE_SNAPSHOT')?.value).toBe('latest');
    expect(env(c, 'RESTORE_SUFFIX')?.value).toBe('');
    expect(job.metadata.annotations['ai-platform/restore']).toMatch(/RESTORE_SUFFIX/);
    expect(job.spec.template.spec.initContainers.map((i: Json) => i.image)).toEqual(BACKUP_IMAGES);
  });

  test('no backup without backup settings, nor for an external bucket (no MinIO runs here)', () => {
    const { chart } = backupApp(false);
    const plain = new MilvusStandalone(chart, 'milvus', { objectStorage: { minio: MINIO } });
    expect(plain.backup).toBeUndefined();
    expect((Testing.synth(chart) as Json[]).filter((o) => o.kind === 'CronJob')).toEqual([]);
    const external = withBackup('cluster', { external: S3 });
    expect(external.milvus.backup).toBeUndefined();
    expect(external.objects.filter((o) => o.kind === 'CronJob').map((o) => o.metadata.name)).toEqual(expect.not.arrayContaining([expect.stringMatching(/^milvus-backup/)]));
  });

  test('file buckets, where given, are backed up by the same daily job, after the collections', () => {
    const { chart } = backupApp(false);
    const milvus = new MilvusStandalone(chart, 'milvus', { objectStorage: { minio: MINIO } });
    const repository = new BackupRepository(chart, 'backup', BACKUP_SETTINGS);
    addMilvusBackup({
      repository, minio: milvus.minio!, bucket: 'milvus-bucket', milvus: milvus.milvus,
      accessKeySecret: MINIO_USER, secretKeySecret: MINIO_PASSWORD, fileBuckets: ['uploads', 'reports'],
    });
    const objects = Testing.synth(chart) as Json[];
    const full = podOf(cronJob(objects, 'full')).containers[0];
    expect(full.command).toEqual(['bash', '/backup/scripts/milvus-backup.sh', 'collections', 'files']);
    expect(env(full, 'MINIO_BUCKETS')?.value).toBe('uploads reports');
    expect(env(podOf(cronJob(objects, 'restore-test')).containers[0], 'MINIO_BUCKETS')?.value).toBe('uploads reports');
  });

  test('objectStorage.minio.fileBuckets reaches the daily job from the construct\'s props; bad names, Milvus\' own bucket and repeats are refused', () => {
    for (const mode of ['standalone', 'cluster'] as const) {
      const { objects } = withBackup(mode, { minio: { ...MINIO, fileBuckets: ['listing-photos'] } });
      const full = podOf(cronJob(objects, 'full')).containers[0];
      expect(full.command).toEqual(['bash', '/backup/scripts/milvus-backup.sh', 'collections', 'files']);
      expect(env(full, 'MINIO_BUCKETS')?.value).toBe('listing-photos');
    }
    expect(() => withBackup('standalone', { minio: { ...MINIO, fileBuckets: ['Photos'] } }))
      .toThrow(/milvus\.objectStorage\.minio\.fileBuckets\[0\] must be an S3 bucket name .* but "Photos" was provided/);
    expect(() => withBackup('standalone', { minio: { ...MINIO, fileBuckets: ['milvus-bucket'] } }))
      .toThrow(/fileBuckets\[0\] must be a bucket of the application's files, not Milvus' own bucket .* but "milvus-bucket" was provided/);
    expect(() => withBackup('standalone', { minio: { ...MINIO, fileBuckets: ['photos', 'photos'] } }))
      .toThrow(/fileBuckets\[1\] must be a bucket named once but "photos" was provided/);
  });

  test('the scratch volume holds what the MinIO can hold', () => {
    const size = (objects: Json[]) => podOf(cronJob(objects, 'full')).volumes.find((v: Json) => v.name === 'scratch').ephemeral.volumeClaimTemplate.spec.resources.requests.storage;
    expect(size(withBackup('standalone').objects)).toBe('100Gi');
    expect(size(withBackup('standalone', { minio: { ...MINIO, replicas: 4, storage: { size: '50Gi' } } }).objects)).toBe('100Gi');
  });
});
