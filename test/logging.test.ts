/**
 * The cluster's logging platform (R24) as buildPlatform() writes it to dist/platform/logging/:
 * valid objects, the two exemptions and nothing more, the retention policy, the shipper's
 * configuration wired to the objects it names, and NetworkPolicies that allow exactly what the
 * platform needs.
 */
import { ApiObject, Chart, Testing } from 'cdk8s';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parseAllDocuments } from 'yaml';
import { LoggingSettings, platform, platformNamespaces, platformProblems, resolveLogging } from '../lib/config/platform';
import {
  buildLogging, buildPlatform, HOST_ACCESS_REASON, LOGGING_NAMESPACE_REASON, POD_SECURITY_REASON_ANNOTATION, RUN_AS_ROOT_REASON,
} from '../lib/logging';
import { Policies } from '../lib/policy';
import { ConfigError } from '../lib/validation';
import { KubernetesSchema } from './support/kubernetes-schema';
import { Endpoint, KUBE_DNS, NetworkPolicy, NetworkPolicyEvaluator, NODE_LOCAL_DNS, OTHER_NAMESPACE_POD, PROMETHEUS } from './support/network-policy-evaluator';

type Obj = Record<string, any>;
const STANDARD_LABELS = ['name', 'instance', 'version', 'component', 'part-of', 'managed-by'].map((l) => `app.kubernetes.io/${l}`);
const EXEMPTION = /^policy\.ai-platform\.io\/exempt-/;

const outdirs: string[] = [];
afterAll(() => outdirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Synthesizes the platform with these logging settings; files by name, objects in file order. */
function synth(logging: LoggingSettings = platform.logging): { files: string[]; objects: Obj[] } {
  const outdir = mkdtempSync(join(tmpdir(), 'platform-'));
  outdirs.push(outdir);
  const result = buildLogging(outdir, logging).synth();
  const files = readdirSync(result.outdir).sort();
  const objects = files.flatMap((f) => parseAllDocuments(readFileSync(join(result.outdir, f), 'utf8')).map((d) => d.toJS() as Obj));
  expect(objects).toHaveLength(result.objects);
  return { files, objects };
}

function find(objects: Obj[], kind: string, name: string, namespace?: string): Obj {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace));
  expect(found.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([`${kind}/${name}`]);
  return found[0];
}

const EXTERNAL: LoggingSettings = {
  apiServer: { cidrs: ['192.0.2.10/32', '192.0.2.11/32'], port: 443 },
  elasticsearch: {
    external: {
      url: 'https://logs.example.com:9243',
      cidrs: ['198.51.100.0/28'],
      setupCredentials: { username: 'platform-admin', passwordSecret: { name: 'elasticsearch-admin', key: 'password' } },
    },
  },
};

describe('dist/platform/logging with ECK', () => {
  const { files, objects } = synth();

  test('is three files applied in order, the shipper namespace first', () => {
    expect(files).toEqual(['0000-namespace.k8s.yaml', '0001-store.k8s.yaml', '0002-shipper.k8s.yaml']);
    expect(objects[0]).toMatchObject({ kind: 'Namespace', metadata: { name: 'logging' } });
  });

  test('every object validates strictly (Elasticsearch and Kibana against the ECK CRDs) and has the six labels', () => {
    const schema = new KubernetesSchema();
    expect(objects.filter((o) => o.apiVersion === 'elasticsearch.k8s.elastic.co/v1' || o.apiVersion === 'kibana.k8s.elastic.co/v1').map((o) => o.kind))
      .toEqual(['Elasticsearch', 'Kibana']);
    expect(objects.flatMap((o) => schema.validate(o).map((p) => `${o.kind}/${o.metadata.name} ${p}`))).toEqual([]);
    expect(objects.flatMap((o) => STANDARD_LABELS.filter((l) => !o.metadata.labels?.[l]).map((l) => `${o.kind}/${o.metadata.name} lacks ${l}`))).toEqual([]);
  });

  test('the CRD schemas refuse a wrong Elasticsearch (so the check above checks something)', () => {
    const schema = new KubernetesSchema();
    const es = structuredClone(find(objects, 'Elasticsearch', 'logs'));
    es.spec.nodeSets[0].cont = 3;
    expect(schema.validate(es)).toEqual(['/spec/nodeSets/0 has unknown field "cont"']);
  });

  test('passes every policy rule, and the only exemptions are the shipper DaemonSet\'s two, with their reasons', () => {
    expect(Policies.check(buildPlatform(mkdtempSync(join(tmpdir(), 'platform-')))).map(String)).toEqual([]);
    const exemptions = objects.flatMap((o) => Object.entries(o.metadata.annotations ?? {})
      .filter(([key]) => EXEMPTION.test(key))
      .map(([key, reason]) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name} ${key}: ${reason}`));
    expect(exemptions).toEqual([
      `DaemonSet/logging/fluent-bit policy.ai-platform.io/exempt-no-host-access: ${HOST_ACCESS_REASON}`,
      `DaemonSet/logging/fluent-bit policy.ai-platform.io/exempt-pod-security-restricted: ${RUN_AS_ROOT_REASON}`,
    ]);
  });

  test('the exemptions cover exactly the two host volumes and uid 0 of the fluent-bit container, nothing else', () => {
    // The DaemonSet again, without its exemptions, beside everything else the platform has.
    const app = Testing.app();
    const chart = new Chart(app, 'copy');
    for (const o of objects) {
      const copy = structuredClone(o);
      for (const key of Object.keys(copy.metadata.annotations ?? {})) if (EXEMPTION.test(key)) delete copy.metadata.annotations[key];
      new ApiObject(chart, `${o.kind}-${o.metadata.namespace}-${o.metadata.name}`, copy as any);
    }
    const findings = Policies.check(app).map(String);
    expect(findings).toEqual([
      expect.stringMatching(/^DaemonSet logging\/fluent-bit container "fluent-bit": \[pod-security-restricted\] sets runAsNonRoot false\./),
      expect.stringMatching(/^DaemonSet logging\/fluent-bit container "fluent-bit": \[pod-security-restricted\] runs as user 0 \(root\)\./),
      'DaemonSet logging/fluent-bit volume "node-logs": [no-host-access] mounts a hostPath. Fix: use a persistentVolumeClaim, emptyDir, configMap or secret volume.',
      'DaemonSet logging/fluent-bit volume "state": [no-host-access] mounts a hostPath. Fix: use a persistentVolumeClaim, emptyDir, configMap or secret volume.',
    ]);
  });

  test('no pod but the shipper\'s mounts a hostPath, and its mounts of the node\'s logs are read-only', () => {
    const pods = objects.filter((o) => ['DaemonSet', 'Job'].includes(o.kind));
    const hostPaths = pods.flatMap((o) => (o.spec.template.spec.volumes ?? []).filter((v: Obj) => v.hostPath).map((v: Obj) => `${o.kind}/${o.metadata.name} ${v.name} ${v.hostPath.path}`));
    expect(hostPaths).toEqual(['DaemonSet/fluent-bit node-logs /var/log', 'DaemonSet/fluent-bit state /var/lib/fluent-bit']);
    const mounts = find(objects, 'DaemonSet', 'fluent-bit').spec.template.spec.containers[0].volumeMounts as Obj[];
    expect(mounts.find((m) => m.name === 'node-logs')).toEqual({ name: 'node-logs', mountPath: '/var/log', readOnly: true });
  });

  test('the shipper\'s namespace alone enforces "privileged", says why, and still audits and warns "restricted"', () => {
    const namespaces = objects.filter((o) => o.kind === 'Namespace');
    expect(namespaces.map((n) => [n.metadata.name, n.metadata.labels['pod-security.kubernetes.io/enforce'], n.metadata.labels['pod-security.kubernetes.io/audit'], n.metadata.labels['pod-security.kubernetes.io/warn']]))
      .toEqual([['logging', 'privileged', 'restricted', 'restricted'], ['logging-store', 'restricted', 'restricted', 'restricted']]);
    expect(namespaces[0].metadata.annotations[POD_SECURITY_REASON_ANNOTATION]).toBe(LOGGING_NAMESPACE_REASON);
    const inShipperNamespace = objects.filter((o) => o.metadata.namespace === 'logging' && ['DaemonSet', 'Deployment', 'StatefulSet', 'Job', 'CronJob', 'Pod'].includes(o.kind));
    expect(inShipperNamespace.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['DaemonSet/fluent-bit']);
    for (const name of ['logging', 'logging-store']) {
      expect(find(objects, 'NetworkPolicy', 'default-deny-all', name).spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    }
  });

  test('the ILM policy rolls over daily and deletes 7 days after rollover; the index template binds the shipper\'s data stream to it', () => {
    const data = find(objects, 'ConfigMap', 'log-retention').data;
    expect(data.requests).toBe('_ilm/policy/k8s-logs ilm-policy.json\n_index_template/k8s-logs index-template.json\n_security/role/k8s-logs-writer writer-role.json\n');
    const policy = JSON.parse(data['ilm-policy.json']).policy;
    expect(policy.phases).toEqual({
      hot: { min_age: '0ms', actions: { rollover: { max_age: '1d', max_primary_shard_size: '50gb' } } },
      delete: { min_age: '7d', actions: { delete: {} } },
    });
    const template = JSON.parse(data['index-template.json']);
    expect(template).toMatchObject({ index_patterns: ['k8s-logs'], data_stream: {}, template: { settings: { 'index.lifecycle.name': 'k8s-logs', 'index.number_of_replicas': 1 } } });
    expect(JSON.parse(data['writer-role.json'])).toEqual({
      cluster: ['monitor'], indices: [{ names: ['k8s-logs'], privileges: ['create_doc', 'auto_configure'] }], metadata: { managed_by: 'ai-platform-k8s' },
    });
    expect(data['elasticsearch-setup.sh']).toBe(readFileSync(join(__dirname, '..', 'lib', 'logging', 'elasticsearch-setup.sh'), 'utf8'));
    const fluentBitConf = find(objects, 'ConfigMap', 'fluent-bit').data['fluent-bit.conf'] as string;
    expect(fluentBitConf).toMatch(/^ {4}Index {20}k8s-logs$/m);
  });

  test('the retention Job re-runs on every Argo CD sync, retries, runs restricted with the ECK credentials and CA', () => {
    const job = find(objects, 'Job', 'log-retention');
    expect(job.metadata.annotations).toMatchObject({ 'argocd.argoproj.io/hook': 'Sync', 'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation' });
    expect(job.spec.backoffLimit).toBe(6);
    const pod = job.spec.template.spec;
    const env = Object.fromEntries((pod.containers[0].env as Obj[]).map((e) => [e.name, e.value ?? e.valueFrom]));
    expect(env).toEqual({
      ES_URL: 'https://logs-es-http.logging-store.svc:9200',
      ES_USERNAME: 'elastic',
      ES_PASSWORD: { secretKeyRef: { name: 'logs-es-elastic-user', key: 'elastic' } },
      ES_REQUEST_DIR: '/etc/log-retention',
      ES_CA_FILE: '/etc/elasticsearch-ca/ca.crt',
      ES_WAIT_SECONDS: '900',
    });
    expect(pod.volumes.find((v: Obj) => v.name === 'elasticsearch-ca').secret).toMatchObject({ secretName: 'logs-es-http-certs-public', items: [{ key: 'ca.crt', path: 'ca.crt' }] });
    expect(pod.containers[0].image).toBe('curlimages/curl:8.11.1');
  });

  test('Fluent Bit tails the CRI logs, adds pod metadata, merges JSON lines and writes to the ECK Service with its CA', () => {
    const conf = find(objects, 'ConfigMap', 'fluent-bit').data['fluent-bit.conf'] as string;
    const setting = (key: string) => [...conf.matchAll(new RegExp(`^ +${key.replace('.', '\\.')} +(.*)$`, 'gm'))].map((m) => m[1]);
    expect(setting('Path')).toEqual(['/var/log/containers/*.log']);
    expect(setting('multiline.parser')).toEqual(['cri, docker']);
    expect(setting('Merge_Log')).toEqual(['On']);
    expect(setting('Host')).toEqual(['logs-es-http.logging-store.svc']);
    expect(setting('Port')).toEqual(['9200']);
    expect(setting('tls.verify')).toEqual(['On']);
    expect(setting('Write_Operation')).toEqual(['create']);
    expect(setting('HTTP_Passwd')).toEqual(['${ES_PASSWORD}']);
    expect(setting('DB')).toEqual(['/var/lib/fluent-bit/tail-containers.db']);
    expect(setting('HTTP_Port')).toEqual(['2020']);

    const ds = find(objects, 'DaemonSet', 'fluent-bit');
    const pod = ds.spec.template.spec;
    const container = pod.containers[0];
    expect(container.image).toBe('cr.fluentbit.io/fluent/fluent-bit:3.2.10');
    expect(container.args).toEqual(['-c', '/fluent-bit/config/fluent-bit.conf']);
    // The files the configuration names are where the pod mounts them.
    const mountOf = (name: string) => container.volumeMounts.find((m: Obj) => m.name === name).mountPath;
    expect(setting('tls.ca_file')).toEqual([`${mountOf('elasticsearch-ca')}/ca.crt`]);
    expect(pod.volumes.find((v: Obj) => v.name === 'elasticsearch-ca').secret).toMatchObject({ secretName: 'elasticsearch-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] });
    expect(setting('storage.path')[0].startsWith(`${mountOf('state')}/`)).toBe(true);
    expect(container.ports).toEqual([{ name: 'http', containerPort: 2020, protocol: 'TCP' }]);
    expect(container.readinessProbe.httpGet).toEqual({ path: '/api/v1/health', port: 'http' });
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true, runAsNonRoot: false, runAsUser: 0, runAsGroup: 0,
    });
    expect(pod.initContainers[0].securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(pod.automountServiceAccountToken).toBe(true);

    expect(find(objects, 'PodMonitor', 'fluent-bit').spec.podMetricsEndpoints).toEqual([{ port: 'http', path: '/api/v1/metrics/prometheus' }]);
  });

  test('Fluent Bit\'s API access is read-only on pods and namespaces, bound to its ServiceAccount only', () => {
    const role = find(objects, 'ClusterRole', 'logging-fluent-bit');
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['pods', 'namespaces'], verbs: ['get', 'list', 'watch'] }]);
    expect(role.metadata.namespace).toBeUndefined();
    const binding = find(objects, 'ClusterRoleBinding', 'logging-fluent-bit');
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'fluent-bit', namespace: 'logging' }]);
    expect(objects.filter((o) => /Role|RoleBinding/.test(o.kind)).map((o) => o.kind)).toEqual(['ClusterRole', 'ClusterRoleBinding']);
  });

  test('Elasticsearch and Kibana pods are set up to meet Pod Security "restricted" in their namespace', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'pods');
    for (const [kind, name, container] of [['Elasticsearch', 'logs', 'elasticsearch'], ['Kibana', 'logs', 'kibana']]) {
      const resource = find(objects, kind, name);
      const template = kind === 'Elasticsearch' ? resource.spec.nodeSets[0].podTemplate : resource.spec.podTemplate;
      expect(template.spec.containers.map((c: Obj) => c.name)).toEqual([container]);
      // The pod ECK makes from it, checked by the policy engine's "restricted" rule.
      new ApiObject(chart, kind, {
        apiVersion: 'v1', kind: 'Pod', metadata: { name: `${kind.toLowerCase()}-0`, namespace: 'logging-store' },
        spec: { ...template.spec, containers: template.spec.containers.map((c: Obj) => ({ ...c, image: 'elastic:8.17.0' })) },
      } as any);
    }
    expect(Policies.check(app).filter((v) => v.ruleId === 'pod-security-restricted' || v.ruleId === 'read-only-root-fs').map(String)).toEqual([]);
    expect(find(objects, 'Elasticsearch', 'logs').spec.nodeSets[0].config['node.store.allow_mmap']).toBe(false);
  });

  describe('NetworkPolicies', () => {
    const evaluator = new NetworkPolicyEvaluator(objects.filter((o) => o.kind === 'NetworkPolicy') as NetworkPolicy[]);
    const podLabels = (kind: string, name: string) => find(objects, kind, name).spec.template.metadata.labels;
    const FLUENT_BIT: Endpoint = { id: 'fluent-bit', namespace: 'logging', labels: podLabels('DaemonSet', 'fluent-bit'), ports: [2020] };
    const RETENTION: Endpoint = { id: 'log-retention', namespace: 'logging-store', labels: podLabels('Job', 'log-retention'), ports: [] };
    const ES: Endpoint = {
      id: 'elasticsearch', namespace: 'logging-store', ports: [9200, 9300],
      labels: { ...find(objects, 'Elasticsearch', 'logs').spec.nodeSets[0].podTemplate.metadata.labels, 'elasticsearch.k8s.elastic.co/cluster-name': 'logs', 'common.k8s.elastic.co/type': 'elasticsearch' },
    };
    const KIBANA: Endpoint = {
      id: 'kibana', namespace: 'logging-store', ports: [5601],
      labels: { ...find(objects, 'Kibana', 'logs').spec.podTemplate.metadata.labels, 'kibana.k8s.elastic.co/name': 'logs', 'common.k8s.elastic.co/type': 'kibana' },
    };
    const OPERATOR: Endpoint = { id: 'eck-operator', namespace: 'elastic-system', labels: { 'control-plane': 'elastic-operator' }, ports: [] };
    const API_SERVER: Endpoint = { id: 'api-server', namespace: '', labels: {}, ports: [6443, 443], ip: '10.0.0.1', outsideCluster: true };
    const OTHER_LOGGING_POD: Endpoint = { id: 'other-pod-in-logging', namespace: 'logging', labels: { app: 'x' }, ports: [8080] };
    const OTHER_STORE_POD: Endpoint = { id: 'other-pod-in-logging-store', namespace: 'logging-store', labels: { app: 'x' }, ports: [8080] };

    test('allow exactly: Fluent Bit to DNS, the API server and Elasticsearch 9200; Elasticsearch 9200 only from Fluent Bit, Kibana, the Job and the operator', () => {
      const actors = [FLUENT_BIT, RETENTION, ES, KIBANA, OPERATOR, API_SERVER, KUBE_DNS, NODE_LOCAL_DNS, PROMETHEUS, OTHER_NAMESPACE_POD, OTHER_LOGGING_POD, OTHER_STORE_POD];
      const ours = [FLUENT_BIT, RETENTION, ES, KIBANA, OTHER_LOGGING_POD, OTHER_STORE_POD];
      const allowed: string[] = [];
      for (const from of actors) {
        for (const to of actors) {
          if (from === to && !ours.includes(from)) continue;
          if (!ours.includes(from) && !ours.includes(to)) continue;
          for (const port of to.ports) if (evaluator.allows(from, to, port)) allowed.push(`${from.id} -> ${to.id}:${port}`);
          for (const port of to.udpPorts ?? []) if (evaluator.allows(from, to, port, 'UDP')) allowed.push(`${from.id} -> ${to.id}:${port}/UDP`);
        }
      }
      const dns = (id: string) => [`${id} -> external/kube-dns:53`, `${id} -> external/kube-dns:53/UDP`, `${id} -> external/node-local-dns:53`, `${id} -> external/node-local-dns:53/UDP`];
      expect(allowed.sort()).toEqual([
        ...dns('fluent-bit'), 'fluent-bit -> api-server:6443', 'fluent-bit -> elasticsearch:9200',
        ...dns('log-retention'), 'log-retention -> elasticsearch:9200',
        ...dns('elasticsearch'), 'elasticsearch -> elasticsearch:9300',
        ...dns('kibana'), 'kibana -> elasticsearch:9200',
        'eck-operator -> elasticsearch:9200',
        'external/prometheus -> fluent-bit:2020',
      ].sort());
    });
  });
});

describe('dist/platform/logging with an external Elasticsearch', () => {
  const { objects } = synth(EXTERNAL);

  test('has no ECK resources; the shipper and the Job reach the endpoint\'s addresses on its port, with the public CAs', () => {
    expect(objects.filter((o) => o.apiVersion.includes('k8s.elastic.co'))).toEqual([]);
    const conf = find(objects, 'ConfigMap', 'fluent-bit').data['fluent-bit.conf'] as string;
    expect(conf).toMatch(/^ {4}Host {21}logs\.example\.com$/m);
    expect(conf).toMatch(/^ {4}Port {21}9243$/m);
    expect(conf).not.toMatch(/tls\.ca_file/);
    const job = find(objects, 'Job', 'log-retention');
    const env = Object.fromEntries((job.spec.template.spec.containers[0].env as Obj[]).map((e) => [e.name, e.value ?? e.valueFrom]));
    expect(env).toMatchObject({ ES_URL: 'https://logs.example.com:9243', ES_USERNAME: 'platform-admin', ES_PASSWORD: { secretKeyRef: { name: 'elasticsearch-admin', key: 'password' } } });
    expect(env.ES_CA_FILE).toBeUndefined();
    for (const name of ['fluent-bit-to-elasticsearch', 'log-retention-to-elasticsearch']) {
      expect(find(objects, 'NetworkPolicy', name).spec.egress).toEqual([{ to: [{ ipBlock: { cidr: '198.51.100.0/28' } }], ports: [{ protocol: 'TCP', port: 9243 }] }]);
    }
    expect(find(objects, 'NetworkPolicy', 'fluent-bit').spec.egress.slice(1)).toEqual([
      { to: [{ ipBlock: { cidr: '192.0.2.10/32' } }], ports: [{ protocol: 'TCP', port: 443 }] },
      { to: [{ ipBlock: { cidr: '192.0.2.11/32' } }], ports: [{ protocol: 'TCP', port: 443 }] },
    ]);
    const template = JSON.parse(find(objects, 'ConfigMap', 'log-retention').data['index-template.json']);
    expect(template.template.settings['index.number_of_replicas']).toBe(1);
  });

  test('a single-node ECK cluster keeps no replica (it would stay yellow), and retentionDays sets the delete phase', () => {
    const { objects: single } = synth({ ...platform.logging, retentionDays: 30, elasticsearch: { eck: { nodes: 1 } } });
    const data = find(single, 'ConfigMap', 'log-retention').data;
    expect(JSON.parse(data['index-template.json']).template.settings['index.number_of_replicas']).toBe(0);
    expect(JSON.parse(data['ilm-policy.json']).policy.phases.delete.min_age).toBe('30d');
  });
});

describe('platform/logging settings', () => {
  function problemsOf(logging: unknown): readonly string[] {
    try {
      resolveLogging(logging as LoggingSettings);
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    return [];
  }

  test('the repository\'s settings are valid', () => {
    expect(problemsOf(platform.logging)).toEqual([]);
    expect(problemsOf(EXTERNAL)).toEqual([]);
  });

  test('every bad value is reported at once, naming the field and the value', () => {
    expect(problemsOf({
      namespace: 'kube-system',
      apiServer: { cidrs: ['10.0.0.1'], port: 0 },
      elasticsearch: { eck: { nodes: 2, storage: '100GB', version: 'latest', kibanaReplicas: -1 } },
      retentionDays: 0,
      indexName: 'logs-k8s-default',
      shipper: { image: 'fluent/fluent-bit:latest', credentials: { username: '', passwordSecret: { name: 'x', key: 'a b' } } },
    })).toEqual([
      'platform/logging: namespace must be a namespace of its own (not default, kube-system, kube-public, kube-node-lease, which Kubernetes uses) but "kube-system" was provided',
      'platform/logging: apiServer.cidrs[0] must be an IPv4 CIDR such as 169.254.20.10/32 but "10.0.0.1" was provided',
      'platform/logging: apiServer.port must be an integer between 1 and 65535 but 0 was provided',
      'platform/logging: elasticsearch.eck.version must be an Elastic Stack release 8.x.y or 9.x.y such as 8.17.0 (what ECK 3 and data streams with ILM need) but "latest" was provided',
      'platform/logging: elasticsearch.eck.nodes must be 1 or at least 3 (two master-eligible nodes cannot lose one) but 2 was provided',
      'platform/logging: elasticsearch.eck.storage must be a storage size in binary units such as 10Gi or 1Ti but "100GB" was provided',
      'platform/logging: elasticsearch.eck.kibanaReplicas must be an integer between 0 and 10 but -1 was provided',
      'platform/logging: retentionDays must be an integer between 1 and 3650 but 0 was provided',
      'platform/logging: indexName must be a data stream name (lower-case letters, digits and \'-\', starting with a letter; not logs-*-*, which Elasticsearch\'s built-in template takes) but "logs-k8s-default" was provided',
      'platform/logging: shipper.image must be an image pinned to a release tag such as mysql:8.0.39 (never latest or a bare major) but "fluent/fluent-bit:latest" was provided',
      'platform/logging: shipper.credentials.username must be an Elasticsearch user name (letters, digits, _ . @ -) but "" was provided',
      'platform/logging: shipper.credentials.passwordSecret.key must be a Secret key (letters, digits, \'-\', \'_\' and \'.\') but "a b" was provided',
    ]);
  });

  test('unknown fields are refused with the closest known one; exactly one Elasticsearch; https only', () => {
    expect(problemsOf({ ...platform.logging, retentionDay: 7, elasticsearch: { eck: { node: 3 } } })).toEqual([
      'platform/logging: retentionDay must be a known field (did you mean retentionDays?) but 7 was provided',
      'platform/logging: elasticsearch.eck.node must be a known field (did you mean nodes?) but 3 was provided',
    ]);
    expect(problemsOf({ ...platform.logging, elasticsearch: { eck: {}, external: EXTERNAL.elasticsearch.external } })).toEqual([
      expect.stringMatching(/^platform\/logging: elasticsearch must be exactly one of \{ eck: \{\.\.\.\} \} or \{ external: \{ url, cidrs, setupCredentials \} \} but \{/),
    ]);
    expect(problemsOf({ ...EXTERNAL, elasticsearch: { external: { ...EXTERNAL.elasticsearch.external, url: 'http://logs.example.com:9200', cidrs: [] } } })).toEqual([
      'platform/logging: elasticsearch.external.url must be an https:// URL of the Elasticsearch endpoint without path or credentials, such as https://logs.example.com:9243 but "http://logs.example.com:9200" was provided',
      'platform/logging: elasticsearch.external.cidrs must be a non-empty list of IPv4 CIDRs of the endpoint (for the egress NetworkPolicies) but [] was provided',
    ]);
    expect(problemsOf({ ...platform.logging, storeNamespace: 'logging' })).toEqual([
      'platform/logging: storeNamespace must be a namespace other than namespace (logging), which only the shipper may use but "logging" was provided',
    ]);
  });

  test('buildPlatform refuses bad settings before building anything', () => {
    expect(() => buildPlatform(mkdtempSync(join(tmpdir(), 'platform-')), { logging: { ...platform.logging, retentionDays: 0 } }))
      .toThrow(new ConfigError('platform/logging: retentionDays must be an integer between 1 and 3650 but 0 was provided'));
  });

  test('for the synth: the problems as lines, and the namespaces no environment may take', () => {
    expect(platformProblems(platform)).toEqual([]);
    expect(platformProblems({ logging: { ...platform.logging, retentionDays: 0, indexName: 'K8S' } })).toEqual([
      'platform/logging: retentionDays must be an integer between 1 and 3650 but 0 was provided',
      expect.stringMatching(/^platform\/logging: indexName must be a data stream name .* but "K8S" was provided$/),
    ]);
    expect(platformNamespaces(platform)).toEqual(['logging', 'logging-store']);
    expect(platformNamespaces({ logging: { ...EXTERNAL, namespace: 'logs', storeNamespace: 'logs-admin' } })).toEqual(['logs', 'logs-admin']);
  });
});
