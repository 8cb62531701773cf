import { Chart, Testing } from 'cdk8s';
import { readFileSync } from 'fs';
import { join } from 'path';
import { MySql, MySqlProps } from '../../lib/data/mysql/mysql';
import { ENVIRONMENT_CONTEXT_KEY, SOLUTION_CONTEXT_KEY } from '../../lib/validation';
import { KubernetesSchema } from '../support/kubernetes-schema';
import { Workload } from '../../lib/workload';
import { Endpoint, NetworkPolicy, NetworkPolicyEvaluator } from '../support/network-policy-evaluator';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = any;

const base: MySqlProps = {
  replicas: 2,
  database: 'logistics',
  storage: { size: '100Gi', storageClassName: 'fast-ssd' },
  rootPasswordSecret: { name: 'mysql-credentials', key: 'root-password' },
  replicationPasswordSecret: { name: 'mysql-credentials', key: 'replication-password' },
  appUser: { name: 'logistics', passwordSecret: { name: 'logistics-secret', key: 'db_password' } },
};

/** A workload of the graph that only opens connections. */
class Client extends Workload {}

function build(props: MySqlProps): { mysql: MySql; objects: Obj[] } {
  const chart = Testing.chart();
  const mysql = new MySql(chart, 'mysql', props);
  return { mysql, objects: Testing.synth(chart) };
}

function synth(props: MySqlProps): Obj[] {
  return build(props).objects;
}

function find(objects: Obj[], kind: string, name: string): Obj {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

function mysqlContainer(sts: Obj): Obj {
  return sts.spec.template.spec.containers.find((c: Obj) => c.name === 'mysql');
}

function env(c: Obj): Record<string, Obj> {
  return Object.fromEntries((c.env ?? []).map((e: Obj) => [e.name, e.value ?? e.valueFrom]));
}

/** Whether a Service's selector picks the pods of a StatefulSet. */
function selects(service: Obj, sts: Obj): boolean {
  const podLabels = sts.spec.template.metadata.labels;
  return Object.entries(service.spec.selector).every(([k, v]) => podLabels[k] === v);
}

describe('MySql: objects and Services', () => {
  const { mysql, objects } = build(base);
  const primary = find(objects, 'StatefulSet', 'mysql-primary');
  const replica = find(objects, 'StatefulSet', 'mysql-replica');

  test('a primary StatefulSet with one pod and a replica StatefulSet with `replicas` pods', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/mysql-config',
      'ConfigMap/mysql-scripts',
      'NetworkPolicy/mysql-primary',
      'NetworkPolicy/mysql-replica',
      'PodDisruptionBudget/mysql-replica',
      'PodMonitor/mysql-primary',
      'PodMonitor/mysql-replica',
      'PrometheusRule/mysql-rules',
      'Service/mysql-primary',
      'Service/mysql-primary-headless',
      'Service/mysql-read',
      'Service/mysql-replica-headless',
      'ServiceAccount/mysql-primary',
      'ServiceAccount/mysql-replica',
      'StatefulSet/mysql-primary',
      'StatefulSet/mysql-replica',
      'VerticalPodAutoscaler/mysql-primary',
      'VerticalPodAutoscaler/mysql-replica',
    ]);
    expect(primary.spec.replicas).toBe(1);
    expect(replica.spec.replicas).toBe(2);
  });

  test('every object is valid Kubernetes 1.27', () => {
    const schema = new KubernetesSchema();
    for (const o of [...objects, ...synth({ ...base, replicas: 1, appUser: undefined })]) {
      expect({ object: `${o.kind}/${o.metadata.name}`, problems: schema.validate(o) }).toEqual({ object: `${o.kind}/${o.metadata.name}`, problems: [] });
    }
  });

  test('the write Service selects the primary only, the read Service the replicas only, both on 3306', () => {
    const write = find(objects, 'Service', 'mysql-primary');
    const read = find(objects, 'Service', 'mysql-read');
    expect(selects(write, primary)).toBe(true);
    expect(selects(write, replica)).toBe(false);
    expect(selects(read, replica)).toBe(true);
    expect(selects(read, primary)).toBe(false);
    for (const [service, sts] of [[write, primary], [read, replica]]) {
      expect(service.spec.type).toBe('ClusterIP');
      expect(service.spec.ports).toEqual([{ name: 'mysql', port: 3306, targetPort: 'mysql', protocol: 'TCP' }]);
      expect(mysqlContainer(sts).ports).toEqual([{ name: 'mysql', containerPort: 3306, protocol: 'TCP' }]);
    }
  });

  test('headless Services give each StatefulSet stable pod names, ready or not', () => {
    for (const [sts, name] of [[primary, 'mysql-primary-headless'], [replica, 'mysql-replica-headless']]) {
      const headless = find(objects, 'Service', name);
      expect(sts.spec.serviceName).toBe(name);
      expect(headless.spec.clusterIP).toBe('None');
      expect(headless.spec.publishNotReadyAddresses).toBe(true);
      expect(selects(headless, sts)).toBe(true);
      expect(env(mysqlContainer(sts)).MYSQL_HEADLESS_SERVICE).toBe(name);
    }
  });

  test('endpoints name the Services and the workloads behind them', () => {
    expect(mysql.writeEndpoint).toMatchObject({ host: 'mysql-primary', port: 3306, targetPort: 3306 });
    expect(mysql.writeEndpoint.workload).toBe(mysql.primary);
    expect(mysql.readEndpoint).toMatchObject({ host: 'mysql-read', port: 3306, targetPort: 3306 });
    expect(mysql.readEndpoint.workload).toBe(mysql.readReplicas);
    expect(mysql.workloads).toEqual([mysql.primary, mysql.readReplicas]);
    expect(mysql.database).toBe('logistics');
  });

  test('a custom name prefixes every object', () => {
    const names = synth({ ...base, name: 'orders-db' }).map((o) => `${o.kind}/${o.metadata.name}`);
    expect(names).toEqual(expect.arrayContaining([
      'StatefulSet/orders-db-primary', 'StatefulSet/orders-db-replica', 'Service/orders-db-primary', 'Service/orders-db-read',
      'ConfigMap/orders-db-config', 'ConfigMap/orders-db-scripts',
    ]));
  });
});

describe('MySql: replication set-up in the manifests', () => {
  const objects = synth(base);
  const primary = find(objects, 'StatefulSet', 'mysql-primary');
  const replica = find(objects, 'StatefulSet', 'mysql-replica');
  const config = find(objects, 'ConfigMap', 'mysql-config').data['server.cnf'];
  const scripts = find(objects, 'ConfigMap', 'mysql-scripts').data;

  test('the container runs the official entrypoint through server.sh, which derives the server id', () => {
    for (const [sts, role] of [[primary, 'primary'], [replica, 'replica']]) {
      const c = mysqlContainer(sts);
      expect(c.image).toBe('mysql:8.0.39');
      expect(c.command).toEqual(['bash', '/opt/mysql-scripts/server.sh']);
      expect(c.args).toEqual(['mysqld']);
      expect(env(c).MYSQL_ROLE).toBe(role);
    }
    expect(scripts['server.sh']).toContain('primary) server_id=$((1 + 10#$ordinal))');
    expect(scripts['server.sh']).toContain('replica) server_id=$((100 + 10#$ordinal))');
    expect(scripts['server.sh']).toContain('docker-entrypoint.sh');
  });

  test('the scripts ConfigMap holds the files of lib/data/mysql unchanged', () => {
    expect(Object.keys(scripts).sort()).toEqual(['client.sh', 'probe.sh', 'replication.sh', 'server.sh']);
    for (const [file, content] of Object.entries(scripts)) {
      expect(content).toBe(readFileSync(join(__dirname, '..', '..', 'lib', 'data', 'mysql', file), 'utf8'));
    }
  });

  test('server.cnf turns on GTIDs and the binary log, keeps data below the volume root', () => {
    for (const line of ['gtid_mode = ON', 'enforce_gtid_consistency = ON', 'log_bin = mysql-bin', 'log_replica_updates = ON',
      'relay_log_recovery = ON', 'sync_binlog = 1', 'datadir = /var/lib/mysql/data', 'skip_name_resolve = ON']) {
      expect(config.split('\n')).toContain(line);
    }
    // read-only is set by replication.sh after the copy: in the file it would break first initialisation.
    expect(config).not.toMatch(/read_only/);
    expect(config).not.toMatch(/server[-_]id/);
  });

  test('tuning: defaults from the memory limit, explicit values rendered', () => {
    expect(config.split('\n')).toEqual(expect.arrayContaining(['innodb_buffer_pool_size = 1024M', 'max_connections = 500', 'binlog_expire_logs_seconds = 604800']));
    const tuned = find(synth({
      ...base,
      resources: { requests: { cpu: '1', memory: '8Gi' }, limits: { cpu: '4', memory: '8Gi' } },
      config: { innodbBufferPoolSize: '6Gi', maxConnections: 1000, binlogExpireSeconds: 86400 },
    }), 'ConfigMap', 'mysql-config').data['server.cnf'].split('\n');
    expect(tuned).toEqual(expect.arrayContaining(['innodb_buffer_pool_size = 6144M', 'max_connections = 1000', 'binlog_expire_logs_seconds = 86400']));
  });

  test('a configuration change rolls the pods (checksum annotation)', () => {
    const checksum = (o: Obj[]) => find(o, 'StatefulSet', 'mysql-replica').spec.template.metadata.annotations['checksum/config'];
    expect(checksum(objects)).toMatch(/^[0-9a-f]{64}$/);
    expect(checksum(synth({ ...base, config: { maxConnections: 800 } }))).not.toBe(checksum(objects));
  });

  test('replicas point at the primary Service; only the primary creates the database', () => {
    const r = env(mysqlContainer(replica));
    expect(r.MYSQL_SOURCE_HOST).toBe('mysql-primary');
    expect(r.MYSQL_SOURCE_PORT).toBe('3306');
    // server.sh starts a replica read-only once the data directory server.cnf names is initialised.
    expect(r.MYSQL_DATA_DIR).toBe('/var/lib/mysql/data');
    expect(config.split('\n')).toContain(`datadir = ${r.MYSQL_DATA_DIR}`);
    expect(env(mysqlContainer(primary)).MYSQL_SOURCE_HOST).toBeUndefined();
    expect(env(mysqlContainer(primary)).MYSQL_DATA_DIR).toBeUndefined();
    for (const sts of [primary, replica]) {
      const e = env(mysqlContainer(sts));
      expect(e.MYSQL_APP_DATABASE).toBe('logistics');
      expect(e.MYSQL_REPLICATION_USER).toBe('replicator');
      expect(e.MYSQL_APP_USER).toBe('logistics');
      // The official entrypoint would create MYSQL_DATABASE on every replica, which then holds data of its own.
      expect(e.MYSQL_DATABASE).toBeUndefined();
    }
  });

  test('passwords are Secret references, never values', () => {
    for (const sts of [primary, replica]) {
      const e = env(mysqlContainer(sts));
      expect(e.MYSQL_ROOT_PASSWORD).toEqual({ secretKeyRef: { name: 'mysql-credentials', key: 'root-password' } });
      expect(e.MYSQL_REPLICATION_PASSWORD).toEqual({ secretKeyRef: { name: 'mysql-credentials', key: 'replication-password' } });
      expect(e.MYSQL_APP_PASSWORD).toEqual({ secretKeyRef: { name: 'logistics-secret', key: 'db_password' } });
      for (const variable of mysqlContainer(sts).env) {
        if (/PASSWORD/.test(variable.name)) expect(variable.value).toBeUndefined();
      }
    }
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
  });

  test('without an application account no account variables are set', () => {
    const e = env(mysqlContainer(find(synth({ ...base, appUser: undefined }), 'StatefulSet', 'mysql-primary')));
    expect(e.MYSQL_APP_USER).toBeUndefined();
    expect(e.MYSQL_APP_PASSWORD).toBeUndefined();
  });

  test('replicas start in parallel and prefer other nodes and zones than the primary', () => {
    expect(primary.spec.podManagementPolicy).toBe('OrderedReady');
    expect(replica.spec.podManagementPolicy).toBe('Parallel');
    const terms = replica.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
    expect(terms.map((t: Obj) => t.podAffinityTerm.topologyKey)).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    for (const t of terms) expect(t.podAffinityTerm.labelSelector.matchLabels).toEqual(primary.spec.selector.matchLabels);
    expect(replica.spec.template.spec.topologySpreadConstraints).toHaveLength(2);
    expect(primary.spec.template.spec.affinity).toBeUndefined();
  });
});

describe('MySql: data survives (R14)', () => {
  const objects = synth(base);

  test.each(['mysql-primary', 'mysql-replica'])('%s keeps its claims and is never pruned by Argo CD', (name) => {
    const sts = find(objects, 'StatefulSet', name);
    expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
    expect(sts.metadata.annotations['argocd.argoproj.io/sync-options']).toBe('Prune=false,Delete=false');
    expect(sts.spec.volumeClaimTemplates).toHaveLength(1);
    const claim = sts.spec.volumeClaimTemplates[0];
    expect(claim.metadata.name).toBe('data');
    expect(claim.metadata.annotations['argocd.argoproj.io/sync-options']).toBe('Prune=false,Delete=false');
    expect(claim.spec).toEqual({ accessModes: ['ReadWriteOnce'], storageClassName: 'fast-ssd', resources: { requests: { storage: '100Gi' } } });
    // Claim templates are immutable: a version label would break every upgrade.
    expect(claim.metadata.labels).toEqual(sts.spec.selector.matchLabels);
    expect(mysqlContainer(sts).volumeMounts).toContainEqual({ name: 'data', mountPath: '/var/lib/mysql' });
  });
});

describe('MySql: probes, resources and pod security', () => {
  const objects = synth(base);
  const statefulSets = ['mysql-primary', 'mysql-replica'].map((n) => find(objects, 'StatefulSet', n));

  test('probes ask the server; readiness waits for the replication set-up', () => {
    for (const sts of statefulSets) {
      const c = mysqlContainer(sts);
      expect(c.livenessProbe.exec.command).toEqual(['bash', '/opt/mysql-scripts/probe.sh', 'live']);
      expect(c.readinessProbe.exec.command).toEqual(['bash', '/opt/mysql-scripts/probe.sh', 'ready']);
      expect(c.startupProbe.exec.command).toEqual(['bash', '/opt/mysql-scripts/probe.sh', 'live']);
      // First initialisation and crash recovery get at least ten minutes before liveness counts.
      expect(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold).toBeGreaterThanOrEqual(600);
      expect(c.livenessProbe.failureThreshold).toBeGreaterThan(c.readinessProbe.failureThreshold);
    }
    const probe = find(objects, 'ConfigMap', 'mysql-scripts').data['probe.sh'];
    expect(probe).toContain('mysqladmin');
    expect(probe).toContain('setup-complete');
    // A replica is ready only while it replicates (probe.sh is run against servers in mysql-scripts.test.ts).
    expect(probe).toContain('Replica_IO_Running|Slave_IO_Running');
    expect(env(mysqlContainer(statefulSets[1])).MYSQL_ROLE).toBe('replica');
  });

  test('resources: sensible defaults, or the configured ones', () => {
    for (const sts of statefulSets) {
      expect(mysqlContainer(sts).resources).toEqual({ requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '2Gi' } });
    }
    const resources = { requests: { cpu: '2', memory: '8Gi' }, limits: { cpu: '4', memory: '8Gi' } };
    const sts = find(synth({ ...base, resources }), 'StatefulSet', 'mysql-replica');
    expect(mysqlContainer(sts).resources).toEqual(resources);
  });

  test('restricted pods run as the image\'s mysql user with a read-only root file system', () => {
    for (const sts of statefulSets) {
      const pod = sts.spec.template.spec;
      expect(pod.securityContext).toEqual({
        runAsNonRoot: true, runAsUser: 999, runAsGroup: 999, fsGroup: 999, fsGroupChangePolicy: 'OnRootMismatch', seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.containers.map((c: Obj) => c.name)).toEqual(['mysql', 'mysqld-exporter']);
      expect(pod.initContainers).toBeUndefined();
      const c = mysqlContainer(sts);
      expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true, runAsNonRoot: true });
      const writable = c.volumeMounts.filter((m: Obj) => !m.readOnly).map((m: Obj) => m.mountPath).sort();
      expect(writable).toEqual(['/tmp', '/var/lib/mysql', '/var/run/mysqld']);
      const volumes = Object.fromEntries(pod.volumes.map((vol: Obj) => [vol.name, vol]));
      expect(volumes.config.configMap).toEqual({ name: 'mysql-config', items: [{ key: 'server.cnf', path: 'server.cnf' }], defaultMode: 0o444 });
      expect(c.volumeMounts).toContainEqual({ name: 'config', mountPath: '/etc/mysql/conf.d', readOnly: true });
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(60);
    }
  });

  test('a PodDisruptionBudget keeps all but one replica; a single replica or the primary gets none', () => {
    const pdb = find(objects, 'PodDisruptionBudget', 'mysql-replica');
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(pdb.spec.selector.matchLabels).toEqual(find(objects, 'StatefulSet', 'mysql-replica').spec.selector.matchLabels);
    expect(objects.filter((o) => o.kind === 'PodDisruptionBudget')).toHaveLength(1);
    expect(synth({ ...base, replicas: 1 }).filter((o) => o.kind === 'PodDisruptionBudget')).toEqual([]);
  });
});

describe('MySql: network policy from the workload graph', () => {
  const objects = synth(base);
  const policies: NetworkPolicy[] = objects.filter((o) => o.kind === 'NetworkPolicy')
    .map((o) => ({ ...o, metadata: { ...o.metadata, namespace: 'logistics-prod' } }));
  const evaluator = new NetworkPolicyEvaluator(policies);
  const pods = (name: string): Endpoint => {
    const sts = find(objects, 'StatefulSet', name);
    return { id: `StatefulSet/${name}`, namespace: 'logistics-prod', labels: sts.spec.template.metadata.labels, ports: [3306] };
  };
  const primary = pods('mysql-primary');
  const replica = pods('mysql-replica');

  test('replicas reach the primary on 3306, and nothing else is opened', () => {
    expect(evaluator.allows(replica, primary, 3306)).toBe(true);
    expect(evaluator.allows(replica, primary, 33060)).toBe(false);
    expect(evaluator.allows(primary, replica, 3306)).toBe(false);
    const stranger: Endpoint = { id: 'Deployment/other', namespace: 'logistics-prod', labels: { 'app.kubernetes.io/name': 'other' }, ports: [] };
    expect(evaluator.allows(stranger, primary, 3306)).toBe(false);
    expect(evaluator.allows(stranger, replica, 3306)).toBe(false);
  });

  test('a client that connects to the endpoints is let in to the right pods only', () => {
    const chart = Testing.chart();
    const mysql = new MySql(chart, 'mysql', base);
    const reader = new Client(chart, 'reader', { component: 'api', version: '1.0.0' });
    reader.connectTo(mysql.readEndpoint);
    const all = Testing.synth(chart);
    const nsPolicies: NetworkPolicy[] = all.filter((o) => o.kind === 'NetworkPolicy')
      .map((o) => ({ ...o, metadata: { ...o.metadata, namespace: 'ns' } }));
    const labelsOf = (name: string) => find(all, 'StatefulSet', name).spec.template.metadata.labels;
    const endpoint = (id: string, labels: Obj): Endpoint => ({ id, namespace: 'ns', labels, ports: [3306] });
    const client = endpoint('reader', { 'app.kubernetes.io/name': 'reader', 'app.kubernetes.io/instance': 'app' });
    const e = new NetworkPolicyEvaluator(nsPolicies);
    expect(e.allows(client, endpoint('replica', labelsOf('mysql-replica')), 3306)).toBe(true);
    expect(e.allows(client, endpoint('primary', labelsOf('mysql-primary')), 3306)).toBe(false);
  });
});

describe('MySql: monitoring', () => {
  const objects = synth(base);
  const statefulSets = ['mysql-primary', 'mysql-replica'].map((name) => find(objects, 'StatefulSet', name));
  const exporterOf = (sts: Obj): Obj => sts.spec.template.spec.containers.find((c: Obj) => c.name === 'mysqld-exporter');

  test('every pod runs mysqld_exporter 0.15 with root\'s password from the Secret, never DATA_SOURCE_NAME', () => {
    for (const sts of statefulSets) {
      const exporter = exporterOf(sts);
      expect(exporter.image).toBe('prom/mysqld-exporter:v0.15.1');
      expect(exporter.args).toEqual(['--mysqld.address=127.0.0.1:3306', '--mysqld.username=root', '--web.listen-address=:9104']);
      expect(exporter.env).toEqual([{ name: 'MYSQLD_EXPORTER_PASSWORD', valueFrom: { secretKeyRef: { name: 'mysql-credentials', key: 'root-password' } } }]);
      expect(JSON.stringify(exporter)).not.toContain('DATA_SOURCE_NAME');
      expect(exporter.ports).toEqual([{ name: 'metrics', containerPort: 9104, protocol: 'TCP' }]);
      expect(exporter.livenessProbe.httpGet).toEqual({ path: '/', port: 'metrics' });
      expect(exporter.readinessProbe.httpGet).toEqual({ path: '/', port: 'metrics' });
      expect(exporter.resources.limits).toEqual({ cpu: '200m', memory: '128Mi' });
      expect(exporter.securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true, runAsNonRoot: true });
    }
  });

  test('a PodMonitor per StatefulSet scrapes the exporter\'s port, and only Prometheus may reach it', () => {
    for (const sts of statefulSets) {
      const name = sts.metadata.name;
      const monitor = find(objects, 'PodMonitor', name);
      expect(monitor.metadata.labels.release).toBe('kube-prometheus-stack');
      expect(monitor.spec.selector.matchLabels).toEqual(sts.spec.selector.matchLabels);
      expect(monitor.spec.podMetricsEndpoints).toEqual([{ port: 'metrics', path: '/metrics' }]);
      const ingress = find(objects, 'NetworkPolicy', name).spec.ingress;
      const fromPrometheus = ingress.filter((r: Obj) => r.from[0].podSelector?.matchLabels?.['app.kubernetes.io/name'] === 'prometheus');
      expect(fromPrometheus).toEqual([{
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } }],
        ports: [{ protocol: 'TCP', port: 9104 }],
      }]);
    }
  });

  test('the store\'s alerts watch the primary, the replicas\' threads and their lag, with a configurable threshold', () => {
    const rule = find(objects, 'PrometheusRule', 'mysql-rules');
    expect(rule.metadata.labels.release).toBe('kube-prometheus-stack');
    const alerts = rule.spec.groups.flatMap((g: Obj) => g.rules);
    expect(alerts.map((a: Obj) => `${a.alert} ${a.labels.severity}`)).toEqual([
      'MysqlPrimaryDown P0', 'MysqlReplicaDown P1', 'MysqlReplicationStopped P1', 'MysqlReplicationLagging P2',
    ]);
    expect(alerts[0].expr).toContain('mysql_up{job="mysql-primary"} == 0');
    expect(alerts[2].expr).toContain('mysql_slave_status_slave_io_running{job="mysql-replica"} == 0');
    expect(alerts[3].expr).toBe('mysql_slave_status_seconds_behind_master{job="mysql-replica"} > 300');
    const tuned = find(synth({ ...base, alerts: { replicationLagSeconds: 30 } }), 'PrometheusRule', 'mysql-rules');
    expect(tuned.spec.groups[0].rules[3].expr).toBe('mysql_slave_status_seconds_behind_master{job="mysql-replica"} > 30');
    expect(() => synth({ ...base, alerts: { replicationLagSeconds: 0 } })).toThrow(/alerts\.replicationLagSeconds must be .* but 0 was provided/);
  });

  test('in a chart with a namespace, every selector of the alerts names it', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'data', { namespace: 'logistics-prod' });
    new MySql(chart, 'mysql', base);
    const rule = find(Testing.synth(chart), 'PrometheusRule', 'mysql-rules');
    for (const alert of rule.spec.groups[0].rules) {
      for (const selector of String(alert.expr).match(/\b(mysql_\w+)\{[^}]*\}/g) ?? []) expect(selector).toContain('namespace="logistics-prod"');
    }
  });
});

describe('MySql rejects bad input naming the field and the value', () => {
  const fails = (props: Partial<MySqlProps>, message: string | RegExp) => {
    expect(() => synth({ ...base, ...props } as MySqlProps)).toThrow(message);
  };

  test('errors name the solution and environment', () => {
    const app = Testing.app();
    app.node.setContext(SOLUTION_CONTEXT_KEY, 'logistics');
    app.node.setContext(ENVIRONMENT_CONTEXT_KEY, 'prod');
    const chart = new Chart(app, 'logistics-prod');
    expect(() => new MySql(chart, 'mysql', { ...base, replicas: 0 }))
      .toThrow('logistics/prod: mysql.replicas must be an integer >= 1 but 0 was provided');
  });

  test('replicas below one or fractional', () => {
    fails({ replicas: 0 }, /mysql\.replicas must be an integer >= 1 but 0 was provided/);
    fails({ replicas: 1.5 }, /mysql\.replicas must be an integer >= 1 but 1\.5 was provided/);
  });

  test('storage in decimal units', () => {
    fails({ storage: { size: '100GB' } }, /mysql\.storage\.size must be a storage size in binary units such as 10Gi or 1Ti but "100GB" was provided/);
  });

  test('invalid storage class name', () => {
    fails({ storage: { size: '100Gi', storageClassName: 'Fast_SSD' } }, /mysql\.storage\.storageClassName must be a DNS subdomain name .* but "Fast_SSD" was provided/);
  });

  test('missing or malformed Secret references', () => {
    fails({ rootPasswordSecret: { name: '', key: 'root-password' } }, /mysql\.rootPasswordSecret\.name must be a DNS subdomain name .* but "" was provided/);
    fails({ replicationPasswordSecret: undefined } as Partial<MySqlProps>, /mysql\.replicationPasswordSecret must be a reference to an existing Secret \(\{ name, key \}\) but undefined was provided/);
    fails({ appUser: { name: 'app', passwordSecret: { name: 'app-secret', key: 'pass word' } } }, /mysql\.appUser\.passwordSecret\.key must be a Secret key/);
  });

  test('accounts sharing root\'s password', () => {
    fails({ replicationPasswordSecret: base.rootPasswordSecret }, /mysql\.replicationPasswordSecret must be a different Secret key than rootPasswordSecret/);
    fails({ appUser: { name: 'app', passwordSecret: base.rootPasswordSecret } }, /mysql\.appUser\.passwordSecret must be a different Secret key than rootPasswordSecret/);
  });

  test('images that are not a pinned MySQL 8.0 release', () => {
    fails({ image: 'mysql:latest' }, /mysql\.image must be an image pinned to a release tag .* but "mysql:latest" was provided/);
    fails({ image: 'mysql' }, /mysql\.image must be an image pinned to a release tag .* but "mysql" was provided/);
    fails({ image: 'mysql:5.7.44' }, /mysql\.image must be an official mysql 8\.0 image pinned to release 8\.0\.32 or later, such as mysql:8\.0\.39 but "mysql:5\.7\.44" was provided/);
    fails({ image: 'mysql:8.0' }, /mysql\.image must be an official mysql 8\.0 image .* but "mysql:8\.0" was provided/);
    // Before 8.0.32 a --single-transaction dump could carry GTIDs its data does not hold.
    fails({ image: 'mysql:8.0.31' }, /mysql\.image must be an official mysql 8\.0 image pinned to release 8\.0\.32 or later.* but "mysql:8\.0\.31" was provided/);
    expect(() => synth({ ...base, image: 'registry.example.com/mirror/mysql:8.0.40-oracle' })).not.toThrow();
  });

  test('database and account names', () => {
    fails({ database: 'mysql' }, /mysql\.database must be a MySQL database name .* but "mysql" was provided/);
    fails({ database: 'logistics-db' }, /mysql\.database must be a MySQL database name .* but "logistics-db" was provided/);
    fails({ replicationUser: 'root' }, /mysql\.replicationUser must be a MySQL account name other than root .* but "root" was provided/);
    fails({ appUser: { name: 'replicator', passwordSecret: { name: 'app', key: 'password' } } }, /mysql\.appUser\.name must be an account other than replicationUser \(replicator\) but "replicator" was provided/);
  });

  test('resources and tuning', () => {
    fails({ resources: { requests: { cpu: '4', memory: '1Gi' }, limits: { cpu: '2', memory: '2Gi' } } }, /mysql\.resources\.requests\.cpu must be at most mysql\.resources\.limits\.cpu \(2\) but "4" was provided/);
    fails({ config: { innodbBufferPoolSize: '2Gi' } }, /mysql\.config\.innodbBufferPoolSize must be at most three quarters of resources\.limits\.memory \(2Gi\) but "2Gi" was provided/);
    fails({ config: { innodbBufferPoolSize: 'lots' } }, /mysql\.config\.innodbBufferPoolSize must be a memory quantity such as 512Mi or 2Gi but "lots" was provided/);
    fails({ config: { maxConnections: 0 } }, /mysql\.config\.maxConnections must be an integer between 10 and 100000 but 0 was provided/);
  });

  test('a name too long for the StatefulSets', () => {
    fails({ name: 'a'.repeat(45) }, /mysql\.name must be a DNS label \(lower-case letters, digits and '-', at most 44 characters\)/);
  });
});

describe('MySql backups with fullBackupSource volume (physical fulls with Percona XtraBackup)', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/no-var-requires
  const { BACKUP_CONTEXT_KEY } = require('../../lib/backup');
  // eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/no-var-requires
  const { BACKUP_SETTINGS } = require('../backup/backup-fixtures');
  const backedUp = (props: MySqlProps) => {
    const app = Testing.app();
    app.node.setContext(SOLUTION_CONTEXT_KEY, 'logistics');
    app.node.setContext(ENVIRONMENT_CONTEXT_KEY, 'prod');
    app.node.setContext(BACKUP_CONTEXT_KEY, BACKUP_SETTINGS);
    const chart = new Chart(app, 'data', { namespace: 'logistics-prod' });
    const mysql = new MySql(chart, 'mysql', props);
    // Every restore file's chart (the dump restore of volume mode has one of its own).
    const restoreCharts = [...new Set(mysql.backup!.restoreJobs.map((job) => Chart.of(job)))];
    return { objects: Testing.synth(chart), restores: restoreCharts.flatMap((c) => Testing.synth(c)) as Obj[], restoreFiles: restoreCharts.map((c) => c.node.id) };
  };
  const volume = backedUp({ ...base, backup: { fullBackupSource: 'volume' } });
  const server = backedUp(base);
  const podSpec = (objects: Obj[], name: string) => find(objects, 'CronJob', name).spec.jobTemplate.spec.template.spec;
  const XTRABACKUP = 'percona/percona-xtrabackup:8.0.35-34';

  test('the full CronJob runs mysql-physical-backup.sh in the XtraBackup image, on replica 0\'s node, its claim mounted read-only', () => {
    const spec = podSpec(volume.objects, 'mysql-backup-full');
    const backup = spec.containers[0];
    expect(backup.image).toBe(XTRABACKUP);
    expect(backup.command).toEqual(['bash', '/backup/scripts/mysql-physical-backup.sh']);
    expect(spec.volumes).toContainEqual({ name: 'source-data', persistentVolumeClaim: { claimName: 'data-mysql-replica-0', readOnly: true } });
    expect(backup.volumeMounts).toContainEqual({ name: 'source-data', mountPath: '/var/lib/mysql', readOnly: true });
    expect(backup.env).toEqual(expect.arrayContaining([
      { name: 'MYSQL_DATA_DIR', value: '/var/lib/mysql/data' },
      { name: 'MYSQL_HOST', value: 'mysql-replica-0.mysql-replica-headless' },
    ]));
    expect(spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution).toEqual([{
      labelSelector: { matchLabels: { 'statefulset.kubernetes.io/pod-name': 'mysql-replica-0' } },
      topologyKey: 'kubernetes.io/hostname',
    }]);
    // The same claim name the replicas' StatefulSet gives pod 0.
    const replica = find(volume.objects, 'StatefulSet', 'mysql-replica');
    expect(replica.spec.volumeClaimTemplates[0].metadata.name).toBe('data');
  });

  test('verify runs in the XtraBackup image; the restore test extracts and prepares there first, then replays in the mysql image', () => {
    expect(podSpec(volume.objects, 'mysql-backup-verify').containers[0].image).toBe(XTRABACKUP);
    const test = podSpec(volume.objects, 'mysql-backup-restore-test');
    expect(test.initContainers.map((c: Obj) => [c.name, c.image, c.command])).toEqual([
      expect.arrayContaining(['install-restic']),
      ['extract', XTRABACKUP, ['bash', '/backup/scripts/mysql-restore-test.sh', '--extract']],
    ].map((x, i) => (i === 0 ? expect.anything() : x)));
    expect(test.containers[0].image).toBe('mysql:8.0.39');
    expect(test.containers[0].command).toEqual(['bash', '/backup/scripts/mysql-restore-test.sh']);
    // The archive is unchanged: binary logs of the same replica 0, through the server.
    const archive = podSpec(volume.objects, 'mysql-backup-incremental');
    expect(archive.containers[0].image).toBe('mysql:8.0.39');
    expect(archive.affinity).toBeUndefined();
  });

  test('restore Jobs: mysql-restore is the physical one onto the primary\'s claim, mysql-restore-from-dump the dump one', () => {
    const restore = find(volume.restores, 'Job', 'mysql-restore');
    const spec = restore.spec.template.spec;
    expect(spec.initContainers.map((c: Obj) => c.name)).toEqual([expect.any(String), 'extract']);
    const extract = spec.initContainers[1];
    expect(extract.image).toBe(XTRABACKUP);
    expect(extract.command).toEqual(['bash', '/backup/scripts/mysql-physical-restore.sh', 'extract', '--target-time', '$(RESTORE_TARGET_TIME)']);
    expect(extract.volumeMounts).toContainEqual({ name: 'data', mountPath: '/var/lib/mysql' });
    const main = spec.containers[0];
    expect(main.image).toBe('mysql:8.0.39');
    expect(main.command).toEqual(['bash', '/backup/scripts/mysql-physical-restore.sh', 'apply']);
    expect(main.volumeMounts).toContainEqual({ name: 'data', mountPath: '/var/lib/mysql' });
    expect(main.resources.limits.memory).toBe('2Gi');
    expect(spec.volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: 'data-mysql-primary-0' } });
    expect(main.env).toEqual(expect.arrayContaining([{ name: 'RESTORE_TARGET_TIME', value: 'latest' }, { name: 'MYSQL_DATA_DIR', value: '/var/lib/mysql/data' }]));
    const description = restore.metadata.annotations['ai-platform/restore'];
    expect(description).toMatch(/Scale mysql-primary and mysql-replica to 0 first/);
    expect(description).toMatch(/delete the replicas' claims \(data-mysql-replica-<n>\)/);
    const fromDump = find(volume.restores, 'Job', 'mysql-restore-from-dump');
    // Two files: `kubectl create -f` of restore/mysql.k8s.yaml starts the physical restore only.
    expect(volume.restoreFiles).toEqual(['mysql', 'mysql-from-dump']);
    expect(server.restoreFiles).toEqual(['mysql']);
    expect(fromDump.spec.template.spec.containers[0].command).toEqual(['bash', '/backup/scripts/mysql-restore.sh', '--target-time', '$(RESTORE_TARGET_TIME)']);
  });

  test('server mode is unchanged: mysqldump in the mysql image, one dump restore Job named mysql-restore', () => {
    const spec = podSpec(server.objects, 'mysql-backup-full');
    expect(spec.containers[0].image).toBe('mysql:8.0.39');
    expect(spec.containers[0].command).toEqual(['bash', '/backup/scripts/mysql-full-backup.sh']);
    expect(spec.affinity).toBeUndefined();
    expect(spec.volumes.map((v: Obj) => v.name)).not.toContain('source-data');
    expect(podSpec(server.objects, 'mysql-backup-restore-test').initContainers).toHaveLength(1);
    expect(server.restores.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['Job/mysql-restore']);
    expect(server.restores[0].spec.template.spec.containers[0].command[1]).toBe('/backup/scripts/mysql-restore.sh');
  });

  test('every object is valid against the Kubernetes schema', () => {
    const schema = new KubernetesSchema();
    for (const o of [...volume.objects, ...volume.restores]) expect(schema.validate(o)).toEqual([]);
  });

  test('invalid combinations are refused naming the field and the value', () => {
    expect(() => backedUp({ ...base, image: 'mysql:8.0.33', backup: { fullBackupSource: 'volume' } }))
      .toThrow(/logistics\/prod: mysql\.backup\.fullBackupSource must be 'server' with image mysql:8\.0\.33: 'volume' \(Percona XtraBackup 8\.0\.35\) needs MySQL 8\.0\.34 or later but "volume" was provided/);
    expect(() => backedUp({ ...base, image: 'mysql:8.0.34', backup: { fullBackupSource: 'volume' } })).not.toThrow();
    expect(() => backedUp({ ...base, backup: { fullBackupSource: 'snapshot' as never } }))
      .toThrow(/mysql\.backup\.fullBackupSource must be one of server, volume but "snapshot" was provided/);
    expect(() => backedUp({ ...base, xtrabackupImage: 'percona/percona-xtrabackup:latest' }))
      .toThrow(/mysql\.xtrabackupImage must be an image pinned to a release tag/);
    expect(() => backedUp({ ...base, xtrabackupImage: 'percona/percona-xtrabackup:8.0.32-26' }))
      .toThrow(/mysql\.xtrabackupImage must be a Percona XtraBackup 8\.0 image pinned to 8\.0\.35 or later, such as percona\/percona-xtrabackup:8\.0\.35-34 but "percona\/percona-xtrabackup:8\.0\.32-26" was provided/);
    expect(() => backedUp({ ...base, xtrabackupImage: 'registry.example.com/percona/percona-xtrabackup:8.0.35-31', backup: { fullBackupSource: 'volume' } })).not.toThrow();
  });
});
