import { Chart, Testing } from 'cdk8s';
import { readFileSync } from 'fs';
import { join } from 'path';
import { Postgres, PostgresProps } from '../../lib/data/postgres/postgres';
import { BACKUP_CONTEXT_KEY } from '../../lib/backup';
import { ENVIRONMENT_CONTEXT_KEY, SOLUTION_CONTEXT_KEY } from '../../lib/validation';
import { BACKUP_SETTINGS } from '../backup/backup-fixtures';
import { KubernetesSchema } from '../support/kubernetes-schema';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = any;

const base: PostgresProps = {
  database: 'real_estate_ai',
  passwordSecret: { name: 'postgres-credentials', key: 'password' },
  storage: { size: '100Gi', storageClassName: 'fast-ssd' },
};
const withStandby: PostgresProps = {
  ...base,
  standby: true,
  replicationPasswordSecret: { name: 'postgres-credentials', key: 'replication-password' },
};

function build(props: PostgresProps): { postgres: Postgres; chart: Chart } {
  const chart = Testing.chart();
  const postgres = new Postgres(chart, 'postgres', props);
  return { postgres, chart };
}

function synth(props: PostgresProps): Obj[] {
  return Testing.synth(build(props).chart);
}

function find(objects: Obj[], kind: string, name: string): Obj {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

function container(sts: Obj, name: string): Obj {
  const spec = sts.spec.template.spec;
  return [...(spec.initContainers ?? []), ...spec.containers].find((c: Obj) => c.name === name);
}

function env(c: Obj): Record<string, Obj> {
  return Object.fromEntries((c.env ?? []).map((e: Obj) => [e.name, e.value ?? e.valueFrom]));
}

describe('Postgres without standby', () => {
  const objects = synth(base);
  const sts = find(objects, 'StatefulSet', 'postgres');

  test('creates only the primary: no standby objects', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/postgres-config',
      'ConfigMap/postgres-scripts',
      'NetworkPolicy/postgres',
      'PodMonitor/postgres',
      'PrometheusRule/postgres-rules',
      'Service/postgres',
      'Service/postgres-headless',
      'ServiceAccount/postgres',
      'StatefulSet/postgres',
      'VerticalPodAutoscaler/postgres',
    ]);
    const { postgres } = build(base);
    expect(postgres.readEndpoint).toBeUndefined();
    expect(postgres.standby).toBeUndefined();
    expect(postgres.workloads).toEqual([postgres.primary]);
  });

  test('every object validates strictly against the Kubernetes 1.27 schema', () => {
    const schema = new KubernetesSchema();
    for (const o of [...objects, ...synth(withStandby)]) expect({ object: `${o.kind}/${o.metadata.name}`, problems: schema.validate(o) }).toEqual({ object: `${o.kind}/${o.metadata.name}`, problems: [] });
  });

  test('one primary pod, pinned postgres 14 image running postgres with the rendered config', () => {
    expect(sts.spec.replicas).toBe(1);
    expect(sts.spec.serviceName).toBe('postgres-headless');
    const server = container(sts, 'postgres');
    expect(server.image).toBe('postgres:14.15');
    expect(server.command).toEqual(['postgres', '-D', '/var/lib/postgresql/data/pgdata', '-c', 'config_file=/etc/postgresql/postgresql.conf']);
    expect(server.ports).toEqual([{ name: 'postgres', containerPort: 5432, protocol: 'TCP' }]);
    expect(env(server).PGDATA).toBe('/var/lib/postgresql/data/pgdata');
    expect(server.resources).toEqual({ requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '2Gi' } });
  });

  test('client Service postgres and headless Service select the primary pods on 5432', () => {
    const selector = sts.spec.selector.matchLabels;
    expect(selector).toEqual({ 'app.kubernetes.io/name': 'postgres', 'app.kubernetes.io/instance': 'app' });
    expect(sts.spec.template.metadata.labels).toMatchObject(selector);
    const client = find(objects, 'Service', 'postgres');
    expect(client.spec.type).toBe('ClusterIP');
    expect(client.spec.selector).toEqual(selector);
    expect(client.spec.ports).toEqual([{ name: 'postgres', port: 5432, targetPort: 'postgres', protocol: 'TCP' }]);
    const headless = find(objects, 'Service', 'postgres-headless');
    expect(headless.spec.clusterIP).toBe('None');
    expect(headless.spec.selector).toEqual(selector);
  });

  test('endpoint is the primary Service', () => {
    const { postgres } = build(base);
    expect(postgres.endpoint).toMatchObject({ host: 'postgres', port: 5432, targetPort: 5432 });
    expect(postgres.endpoint.workload).toBe(postgres.primary);
    expect(postgres.database).toBe('real_estate_ai');
    expect(postgres.user).toBe('app');
  });

  test('readiness asks probe.sh whether it serves writes; liveness and startup only whether it accepts connections', () => {
    const server = container(sts, 'postgres');
    expect(server.readinessProbe.exec.command).toEqual(['bash', '/opt/postgres-scripts/probe.sh', 'ready', 'primary']);
    expect(server.livenessProbe.exec.command).toEqual(['bash', '/opt/postgres-scripts/probe.sh', 'live']);
    expect(server.startupProbe.exec.command).toEqual(['bash', '/opt/postgres-scripts/probe.sh', 'live']);
    // probe.sh is mounted in the server's container and logs in as the superuser by peer authentication.
    expect(server.volumeMounts).toContainEqual({ name: 'scripts', mountPath: '/opt/postgres-scripts', readOnly: true });
    expect(env(server).POSTGRES_USER).toBe('app');
    expect(server.startupProbe.periodSeconds * server.startupProbe.failureThreshold).toBeGreaterThanOrEqual(1800);
    expect(server.lifecycle.preStop.exec.command).toEqual(['pg_ctl', 'stop', '-D', '/var/lib/postgresql/data/pgdata', '-m', 'fast', '-w', '-t', '110']);
    expect(sts.spec.template.spec.terminationGracePeriodSeconds).toBe(120);
  });

  test('the primary init container runs the shipped script with passwords from Secrets only', () => {
    const init = container(sts, 'primary-init');
    expect(init.command).toEqual(['bash', '/opt/postgres-scripts/primary-init.sh']);
    const e = env(init);
    expect(e.POSTGRES_PASSWORD).toEqual({ secretKeyRef: { name: 'postgres-credentials', key: 'password' } });
    expect(e.POSTGRES_USER).toBe('app');
    expect(e.POSTGRES_DB).toBe('real_estate_ai');
    // Its temporary server runs with the real configuration, so the WAL records what standbys expect.
    expect(e.POSTGRES_CONFIG_FILE).toBe('/etc/postgresql/postgresql.conf');
    expect(init.volumeMounts).toContainEqual({ name: 'config', mountPath: '/etc/postgresql', readOnly: true });
    expect(e.REPLICATION_PASSWORD).toBeUndefined();
    expect(e.REPLICATION_SLOTS).toBe('');
    // Slots of standbys that were switched off are dropped by prefix.
    expect(e.REPLICATION_SLOT_PREFIX).toBe('postgres_standby_');
    const scripts = find(objects, 'ConfigMap', 'postgres-scripts');
    const root = join(__dirname, '..', '..');
    expect(scripts.data['primary-init.sh']).toBe(readFileSync(join(root, 'lib/data/postgres/primary-init.sh'), 'utf8'));
    expect(scripts.data['standby-init.sh']).toBe(readFileSync(join(root, 'lib/data/postgres/standby-init.sh'), 'utf8'));
    expect(scripts.data['probe.sh']).toBe(readFileSync(join(root, 'lib/data/postgres/probe.sh'), 'utf8'));
    // No standby: no peer to ask for its timeline.
    expect(e.REPLICATION_PEERS).toBe('');
    expect(sts.spec.template.spec.volumes).toContainEqual({ name: 'scripts', configMap: { name: 'postgres-scripts', defaultMode: 0o555 } });
  });

  test('retains its volume (R14): claim retention, Argo CD keep annotations, claim template', () => {
    expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
    expect(sts.metadata.annotations['argocd.argoproj.io/sync-options']).toBe('Prune=false,Delete=false');
    const [claim] = sts.spec.volumeClaimTemplates;
    expect(claim.metadata.name).toBe('data');
    expect(claim.metadata.annotations['argocd.argoproj.io/sync-options']).toBe('Prune=false,Delete=false');
    // Claim templates are immutable: a version label there would break every upgrade.
    expect(claim.metadata.labels['app.kubernetes.io/version']).toBeUndefined();
    expect(claim.spec).toEqual({ accessModes: ['ReadWriteOnce'], storageClassName: 'fast-ssd', resources: { requests: { storage: '100Gi' } } });
    expect(container(sts, 'postgres').volumeMounts).toContainEqual({ name: 'data', mountPath: '/var/lib/postgresql/data' });
  });

  test('restricted pod as uid 999 with a read-only root and emptyDirs where postgres writes', () => {
    const pod = sts.spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 999, runAsGroup: 999, fsGroup: 999, seccompProfile: { type: 'RuntimeDefault' } });
    for (const c of [...pod.initContainers, ...pod.containers]) {
      expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true, runAsNonRoot: true });
      expect(c.resources.limits).toBeDefined();
    }
    const mounts = Object.fromEntries(container(sts, 'postgres').volumeMounts.map((m: Obj) => [m.mountPath, m.name]));
    expect(mounts).toEqual({ '/var/lib/postgresql/data': 'data', '/var/run/postgresql': 'run', '/tmp': 'tmp', '/dev/shm': 'shm', '/etc/postgresql': 'config', '/opt/postgres-scripts': 'scripts' });
    const volumes = Object.fromEntries(pod.volumes.map((v: Obj) => [v.name, v]));
    expect(volumes.run.emptyDir).toBeDefined();
    expect(volumes.tmp.emptyDir).toBeDefined();
    expect(volumes.shm.emptyDir).toEqual({ medium: 'Memory', sizeLimit: '512Mi' });
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  test('no PodDisruptionBudget for a single pod (it would only block node drains)', () => {
    expect(objects.filter((o) => o.kind === 'PodDisruptionBudget')).toEqual([]);
  });

  test('config: postgresql.conf includes tuning.conf sized from the memory limit and volume; pg_hba is SCRAM only', () => {
    const config = find(objects, 'ConfigMap', 'postgres-config');
    expect(config.data['postgresql.conf']).toContain("hba_file = '/etc/postgresql/pg_hba.conf'");
    expect(config.data['postgresql.conf']).toContain("include 'tuning.conf'");
    expect(config.data['postgresql.conf']).toContain('hot_standby = on');
    expect(config.data['tuning.conf'].split('\n')).toEqual(expect.arrayContaining([
      'max_connections = 100',
      "shared_buffers = '512MB'",
      "effective_cache_size = '1536MB'",
      "max_slot_wal_keep_size = '25600MB'",
    ]));
    const hba = config.data['pg_hba.conf'].split('\n').filter((l: string) => l && !l.startsWith('#')).map((l: string) => l.split(/\s+/));
    expect(hba).toEqual([
      // The pod's OS user (the image's postgres, uid 999) as the superuser, for the probes.
      ['local', 'all', 'app', 'peer', 'map=pod'],
      ['local', 'all', 'all', 'scram-sha-256'],
      ['host', 'replication', 'replicator', 'all', 'scram-sha-256'],
      ['host', 'all', 'replicator', 'all', 'reject'],
      ['host', 'all', 'all', 'all', 'scram-sha-256'],
    ]);
    expect(config.data['postgresql.conf']).toContain("ident_file = '/etc/postgresql/pg_ident.conf'");
    expect(config.data['pg_ident.conf'].split('\n').filter((l: string) => l && !l.startsWith('#')).map((l: string) => l.split(/\s+/))).toEqual([['pod', 'postgres', 'app']]);
    expect(sts.spec.template.spec.volumes).toContainEqual({ name: 'config', configMap: { name: 'postgres-config', defaultMode: 0o444 } });
  });

  test('a config change rolls the pods (checksum annotation)', () => {
    const before = sts.spec.template.metadata.annotations['checksum/config'];
    const after = find(synth({ ...base, config: { workMem: '8MB' } }), 'StatefulSet', 'postgres').spec.template.metadata.annotations['checksum/config'];
    expect(before).toMatch(/^[0-9a-f]{64}$/);
    expect(after).not.toBe(before);
  });

  test('explicit tuning is rendered as given', () => {
    const config = find(synth({ ...base, config: { maxConnections: 300, sharedBuffers: '1GB', workMem: '16MB', randomPageCost: 4 } }), 'ConfigMap', 'postgres-config');
    expect(config.data['tuning.conf']).toContain('max_connections = 300');
    expect(config.data['tuning.conf']).toContain("shared_buffers = '1GB'");
    expect(config.data['tuning.conf']).toContain("work_mem = '16MB'");
    expect(config.data['tuning.conf']).toContain('random_page_cost = 4');
  });

  test('the primary NetworkPolicy admits nobody but Prometheus (on the exporter port) until a client connects', () => {
    const policy = find(objects, 'NetworkPolicy', 'postgres');
    expect(policy.spec.ingress).toEqual([{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } }], ports: [{ protocol: 'TCP', port: 9187 }] }]);
  });
});

describe('Postgres with a streaming standby', () => {
  const { postgres, chart } = build(withStandby);
  const objects = Testing.synth(chart);
  const primary = find(objects, 'StatefulSet', 'postgres');
  const standby = find(objects, 'StatefulSet', 'postgres-standby');

  test('adds a standby StatefulSet, its headless Service and the read Service postgres-read', () => {
    expect(standby.spec.replicas).toBe(1);
    expect(standby.spec.serviceName).toBe('postgres-standby-headless');
    const selector = standby.spec.selector.matchLabels;
    expect(selector['app.kubernetes.io/name']).toBe('postgres-standby');
    const read = find(objects, 'Service', 'postgres-read');
    expect(read.spec.selector).toEqual(selector);
    expect(read.spec.ports).toEqual([{ name: 'postgres', port: 5432, targetPort: 'postgres', protocol: 'TCP' }]);
    // The write Service never selects a standby.
    expect(find(objects, 'Service', 'postgres').spec.selector['app.kubernetes.io/name']).toBe('postgres');
    expect(postgres.readEndpoint).toMatchObject({ host: 'postgres-read', port: 5432, targetPort: 5432 });
    expect(postgres.readEndpoint!.workload).toBe(postgres.standby);
    expect(postgres.workloads).toEqual([postgres.primary, postgres.standby]);
  });

  test('the standby is seeded by its init script from the primary Service with the replication Secret', () => {
    const init = container(standby, 'standby-init');
    expect(init.command).toEqual(['bash', '/opt/postgres-scripts/standby-init.sh']);
    const e = env(init);
    expect(e.PRIMARY_HOST).toBe('postgres');
    expect(e.PRIMARY_PORT).toBe('5432');
    expect(e.REPLICATION_USER).toBe('replicator');
    expect(e.REPLICATION_PASSWORD).toEqual({ secretKeyRef: { name: 'postgres-credentials', key: 'replication-password' } });
    expect(e.POD_NAME).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    // The walreceiver takes the password from the environment, never from a file.
    expect(env(container(standby, 'postgres')).PGPASSWORD).toEqual({ secretKeyRef: { name: 'postgres-credentials', key: 'replication-password' } });
    expect(env(container(primary, 'postgres')).PGPASSWORD).toBeUndefined();
  });

  test('the standby is ready only while it streams; its headless Service publishes unready pods for the primary\'s split-brain check', () => {
    const server = container(standby, 'postgres');
    expect(server.readinessProbe.exec.command).toEqual(['bash', '/opt/postgres-scripts/probe.sh', 'ready', 'standby']);
    expect(server.livenessProbe.exec.command).toEqual(['bash', '/opt/postgres-scripts/probe.sh', 'live']);
    expect(find(objects, 'Service', 'postgres-standby-headless').spec.publishNotReadyAddresses).toBe(true);
    expect(env(container(primary, 'primary-init')).REPLICATION_PEERS).toBe('postgres-standby-0.postgres-standby-headless:5432');
    const two = find(synth({ ...withStandby, standbyReplicas: 2 }), 'StatefulSet', 'postgres');
    expect(env(container(two, 'primary-init')).REPLICATION_PEERS)
      .toBe('postgres-standby-0.postgres-standby-headless:5432 postgres-standby-1.postgres-standby-headless:5432');
  });

  test('the primary creates the replication role and one slot per standby pod', () => {
    const e = env(container(primary, 'primary-init'));
    expect(e.REPLICATION_USER).toBe('replicator');
    expect(e.REPLICATION_PASSWORD).toEqual({ secretKeyRef: { name: 'postgres-credentials', key: 'replication-password' } });
    expect(e.REPLICATION_SLOTS).toBe('postgres_standby_0');
    const three = find(synth({ ...withStandby, standbyReplicas: 3 }), 'StatefulSet', 'postgres');
    expect(env(container(three, 'primary-init')).REPLICATION_SLOTS).toBe('postgres_standby_0 postgres_standby_1 postgres_standby_2');
  });

  test('NetworkPolicy: the primary reaches the standbys on 5432 (split-brain check), and they admit it', () => {
    const primarySelector = { matchLabels: { 'app.kubernetes.io/name': 'postgres', 'app.kubernetes.io/instance': 'app' } };
    const standbySelector = { matchLabels: { 'app.kubernetes.io/name': 'postgres-standby', 'app.kubernetes.io/instance': 'app' } };
    expect(find(objects, 'NetworkPolicy', 'postgres').spec.egress).toContainEqual({ to: [{ podSelector: standbySelector }], ports: [{ protocol: 'TCP', port: 5432 }] });
    expect(find(objects, 'NetworkPolicy', 'postgres-standby').spec.ingress).toContainEqual({ from: [{ podSelector: primarySelector }], ports: [{ protocol: 'TCP', port: 5432 }] });
  });

  test('NetworkPolicy: the standby reaches the primary on 5432, and the primary admits it', () => {
    const standbyPolicy = find(objects, 'NetworkPolicy', 'postgres-standby');
    expect(standbyPolicy.spec.egress).toContainEqual({
      to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'postgres', 'app.kubernetes.io/instance': 'app' } } }],
      ports: [{ protocol: 'TCP', port: 5432 }],
    });
    const primaryPolicy = find(objects, 'NetworkPolicy', 'postgres');
    expect(primaryPolicy.spec.ingress).toContainEqual({
      from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'postgres-standby', 'app.kubernetes.io/instance': 'app' } } }],
      ports: [{ protocol: 'TCP', port: 5432 }],
    });
    expect(primaryPolicy.spec.ingress).toContainEqual({ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } }], ports: [{ protocol: 'TCP', port: 9187 }] });
    expect(primaryPolicy.spec.ingress).toHaveLength(2);
  });

  test('the standby keeps its volume too, prefers another node and zone than the primary', () => {
    expect(standby.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
    expect(standby.metadata.annotations['argocd.argoproj.io/sync-options']).toBe('Prune=false,Delete=false');
    expect(standby.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('100Gi');
    const terms = standby.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
    expect(terms.map((t: Obj) => t.podAffinityTerm.topologyKey)).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    expect(terms[0].podAffinityTerm.labelSelector.matchLabels['app.kubernetes.io/name']).toBe('postgres');
  });

  test('one standby has no PodDisruptionBudget; several have one allowing one disruption and spread', () => {
    expect(objects.filter((o) => o.kind === 'PodDisruptionBudget')).toEqual([]);
    const two = synth({ ...withStandby, standbyReplicas: 2 });
    const pdb = find(two, 'PodDisruptionBudget', 'postgres-standby');
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': 'postgres-standby', 'app.kubernetes.io/instance': 'app' } } });
    expect(find(two, 'StatefulSet', 'postgres-standby').spec.template.spec.topologySpreadConstraints).toHaveLength(2);
  });

  test('standbyResources size the standby alone', () => {
    const resources = { requests: { cpu: '250m', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } };
    const s = find(synth({ ...withStandby, standbyResources: resources, config: { sharedBuffers: '256MB' } }), 'StatefulSet', 'postgres-standby');
    expect(container(s, 'postgres').resources).toEqual(resources);
    expect(container(s, 'standby-init').resources).toEqual(resources);
  });
});

describe('Postgres rejects bad input naming the field and the value', () => {
  test('errors name the solution and environment', () => {
    const app = Testing.app();
    app.node.setContext(SOLUTION_CONTEXT_KEY, 'real-estate');
    app.node.setContext(ENVIRONMENT_CONTEXT_KEY, 'prod');
    const chart = new Chart(app, 'real-estate-prod');
    expect(() => new Postgres(chart, 'postgres', { ...base, storage: { size: '100GB' } }))
      .toThrow('real-estate/prod: postgres.storage.size must be a storage size in binary units such as 10Gi or 1Ti but "100GB" was provided');
  });

  test('storage size in decimal units', () => {
    expect(() => build({ ...base, storage: { size: '100GB' } }))
      .toThrow(/test: postgres\.storage\.size must be a storage size in binary units such as 10Gi or 1Ti but "100GB" was provided/);
  });

  test('bad storage class', () => {
    expect(() => build({ ...base, storage: { size: '10Gi', storageClassName: 'Fast_SSD' } }))
      .toThrow(/postgres\.storage\.storageClassName must be a DNS subdomain name .* but "Fast_SSD" was provided/);
  });

  test('standby without a replication password Secret', () => {
    expect(() => build({ ...base, standby: true }))
      .toThrow(/postgres\.replicationPasswordSecret must be a reference to an existing Secret \(\{ name, key \}\) when standby is true but undefined was provided/);
  });

  test('bad Secret references', () => {
    expect(() => build({ ...base, passwordSecret: { name: 'Postgres Credentials', key: 'password' } }))
      .toThrow(/postgres\.passwordSecret\.name must be a DNS subdomain name .* but "Postgres Credentials" was provided/);
    expect(() => build({ ...withStandby, replicationPasswordSecret: { name: 'postgres-credentials', key: 'a/b' } }))
      .toThrow(/postgres\.replicationPasswordSecret\.key must be a Secret key .* but "a\/b" was provided/);
    expect(() => build({ ...withStandby, replicationPasswordSecret: { ...base.passwordSecret } }))
      .toThrow(/postgres\.replicationPasswordSecret must be a different Secret key than passwordSecret/);
  });

  test('config values in Kubernetes units, out of range, or too big for the pod', () => {
    expect(() => build({ ...base, config: { sharedBuffers: '1Gi' } }))
      .toThrow(/postgres\.config\.sharedBuffers must be a PostgreSQL size such as 256MB or 4GB \(units kB, MB, GB, TB\) but "1Gi" was provided/);
    expect(() => build({ ...base, config: { maxConnections: 5 } }))
      .toThrow(/postgres\.config\.maxConnections must be an integer between 10 and 10000 but 5 was provided/);
    expect(() => build({ ...base, config: { sharedBuffers: '1500MB' } }))
      .toThrow(/postgres\.config\.sharedBuffers must be at most half of resources\.limits\.memory \(2Gi\), i\.e\. 1024MB but "1500MB" was provided/);
    expect(() => build({ ...base, config: { maxSlotWalKeepSize: '-2' } }))
      .toThrow(/postgres\.config\.maxSlotWalKeepSize must be a PostgreSQL size .* but "-2" was provided/);
    expect(() => build({ ...base, config: { randomPageCost: 0 } }))
      .toThrow(/postgres\.config\.randomPageCost must be a number between 0\.1 and 100 but 0 was provided/);
  });

  test('WAL limits that leave no room for data in the volume', () => {
    const app = Testing.app();
    app.node.setContext(SOLUTION_CONTEXT_KEY, 'real-estate');
    app.node.setContext(ENVIRONMENT_CONTEXT_KEY, 'prod');
    const chart = new Chart(app, 'real-estate-prod');
    expect(() => new Postgres(chart, 'postgres', { ...withStandby, storage: { size: '200Gi' }, config: { maxWalSize: '4GB', maxSlotWalKeepSize: '120GB' } }))
      .toThrow('real-estate/prod: postgres.config.maxWalSize + maxSlotWalKeepSize must be at most half of storage.size 200Gi (102400MB), leaving the rest of the volume for data but "4GB + 120GB = 126976MB" was provided');
    // The defaults (1GB + a quarter of the volume) leave room; a small volume needs smaller limits.
    expect(() => build({ ...base, storage: { size: '1Gi' } }))
      .toThrow(/postgres\.config\.maxWalSize \+ maxSlotWalKeepSize must be at most half of storage\.size 1Gi \(512MB\), leaving the rest of the volume for data but "1GB \+ 256MB = 1280MB" was provided/);
    expect(() => build({ ...base, storage: { size: '1Gi' }, config: { maxWalSize: '256MB', maxSlotWalKeepSize: '256MB' } })).not.toThrow();
    expect(() => build({ ...base, storage: { size: '10Gi' }, config: { maxSlotWalKeepSize: '20GB' } }))
      .toThrow(/postgres\.config\.maxWalSize \+ maxSlotWalKeepSize must be at most half of storage\.size 10Gi \(5120MB\).* but "1GB \+ 20GB = 21504MB" was provided/);
  });

  test('unlimited slot WAL (-1) only without a standby, and max_wal_size must fit alone then', () => {
    expect(() => build({ ...withStandby, config: { maxSlotWalKeepSize: '-1' } }))
      .toThrow(/postgres\.config\.maxSlotWalKeepSize must be a PostgreSQL size when standby is true \(-1, unlimited, lets a standby that never comes back keep WAL until the volume is full\) but "-1" was provided/);
    const config = find(synth({ ...base, config: { maxSlotWalKeepSize: '-1' } }), 'ConfigMap', 'postgres-config');
    expect(config.data['tuning.conf']).toContain("max_slot_wal_keep_size = '-1'");
    expect(() => build({ ...base, storage: { size: '10Gi' }, config: { maxSlotWalKeepSize: '-1', maxWalSize: '6GB' } }))
      .toThrow(/postgres\.config\.maxWalSize must be at most half of storage\.size 10Gi \(5120MB\), leaving the rest of the volume for data but "6GB" was provided/);
  });

  test('a standby too small for the shared tuning', () => {
    const small = { requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '1', memory: '512Mi' } };
    expect(() => build({ ...withStandby, standbyResources: small }))
      .toThrow(/postgres\.standbyResources\.limits\.memory must be at least twice config\.sharedBuffers \(512MB\): standbys run the same tuning but "512Mi" was provided/);
  });

  test('image that is not a pinned Debian postgres 14', () => {
    expect(() => build({ ...base, image: 'postgres:latest' })).toThrow(/postgres\.image must be an image pinned to a release tag .* but "postgres:latest" was provided/);
    expect(() => build({ ...base, image: 'postgres:15.8' })).toThrow(/postgres\.image must be an official Debian-based postgres 14 image .* but "postgres:15\.8" was provided/);
    expect(() => build({ ...base, image: 'postgres:14.15-alpine' })).toThrow(/postgres\.image must be .*not alpine.* but "postgres:14\.15-alpine" was provided/);
  });

  test('names that are not PostgreSQL identifiers, and clashing roles', () => {
    expect(() => build({ ...base, database: 'real-estate' })).toThrow(/postgres\.database must be a PostgreSQL name .* but "real-estate" was provided/);
    expect(() => build({ ...base, user: 'App' })).toThrow(/postgres\.user must be a PostgreSQL name .* but "App" was provided/);
    expect(() => build({ ...base, replicationUser: 'app' })).toThrow(/postgres\.replicationUser must be a role other than user \(app\) but "app" was provided/);
  });

  test('standby count and resources', () => {
    expect(() => build({ ...withStandby, standbyReplicas: 0 })).toThrow(/postgres\.standbyReplicas must be an integer between 1 and 3 but 0 was provided/);
    expect(() => build({ ...base, resources: { requests: { cpu: '4', memory: '1Gi' }, limits: { cpu: '2', memory: '2Gi' } } }))
      .toThrow(/postgres\.resources\.requests\.cpu must be at most postgres\.resources\.limits\.cpu \(2\) but "4" was provided/);
  });

  test('a name too long for the standby objects', () => {
    expect(() => build({ ...base, name: 'a'.repeat(45) })).toThrow(/postgres\.name must be a DNS label .* but "a{45}" was provided/);
  });
});

describe('Postgres base backups: through the server, or from the standby\'s volume (fullBackupSource)', () => {
  function fullJob(props: PostgresProps): Obj {
    const app = Testing.app();
    app.node.setContext(SOLUTION_CONTEXT_KEY, 'real-estate');
    app.node.setContext(ENVIRONMENT_CONTEXT_KEY, 'prod');
    app.node.setContext(BACKUP_CONTEXT_KEY, BACKUP_SETTINGS);
    const chart = new Chart(app, 'data', { namespace: 'real-estate-prod' });
    new Postgres(chart, 'postgres', props);
    const cron = Testing.synth(chart).find((o: Obj) => o.kind === 'CronJob' && o.metadata.name === 'postgres-backup-full');
    return cron.spec.jobTemplate.spec.template.spec;
  }

  test('by default pg_basebackup streams from the standby as the replication role, on any node', () => {
    const pod = fullJob(withStandby);
    expect(pod.containers[0].command).toEqual(['bash', '/backup/scripts/pg-base-backup.sh']);
    expect(env(pod.containers[0]).PGUSER).toBe('replicator');
    expect(pod.affinity).toBeUndefined();
    expect(pod.volumes.map((v: Obj) => v.name)).not.toContain('source-data');
  });

  test('volume: the standby\'s claim read-only at the server\'s mount, on the standby\'s node, a superuser session on the standby', () => {
    const pod = fullJob({ ...withStandby, backup: { fullBackupSource: 'volume' } });
    const backup = pod.containers[0];
    expect(backup.command).toEqual(['bash', '/backup/scripts/pg-volume-backup.sh']);
    expect(env(backup)).toMatchObject({ PGHOST: 'postgres-standby-0.postgres-standby-headless', PGUSER: 'app', PGDATA: '/var/lib/postgresql/data/pgdata' });
    expect(env(backup).PGPASSWORD).toEqual({ secretKeyRef: { name: 'postgres-credentials', key: 'password' } });
    expect(pod.volumes).toContainEqual({ name: 'source-data', persistentVolumeClaim: { claimName: 'data-postgres-standby-0', readOnly: true } });
    expect(backup.volumeMounts).toContainEqual({ name: 'source-data', mountPath: '/var/lib/postgresql/data', readOnly: true });
    expect(pod.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchLabels).toEqual({ 'statefulset.kubernetes.io/pod-name': 'postgres-standby-0' });
  });

  test('volume without a standby reads the primary\'s volume', () => {
    const pod = fullJob({ ...base, backup: { fullBackupSource: 'volume' } });
    expect(pod.volumes).toContainEqual({ name: 'source-data', persistentVolumeClaim: { claimName: 'data-postgres-0', readOnly: true } });
    expect(env(pod.containers[0]).PGHOST).toBe('postgres');
  });
});
