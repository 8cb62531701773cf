/** Logistics (seed 000, R3, R5-R10, R12, R13) as synthesized: behaviour per environment. */
import {
  Environment, K8sObject, all, apiContainer, connectionAllowed, containerPortOf, env, find, gpuOf, modelDeployments, properties, hashedConfigMap, workload
} from '../support/solution-objects';

describe('logistics (R3, R5-R9)', () => {
  const prod = () => env('logistics', 'prod');
  const dev = () => env('logistics', 'dev');

  test('prod: web servers behind a LoadBalancer on 80', () => {
    const service = find(prod().app, 'Service', 'web');
    expect(service.spec.type).toBe('LoadBalancer');
    expect(service.spec.ports.map((p: K8sObject) => p.port)).toEqual([80]);
    expect(find(prod().app, 'HorizontalPodAutoscaler', 'web').spec.minReplicas).toBe(2);
    expect(apiUpstream(prod())).toBe('http://api:8000');
  });

  test('prod: the API is a LoadBalancer on 8000 to container port 8000, autoscaled from 3', () => {
    const service = find(prod().app, 'Service', 'api');
    expect(service.spec.type).toBe('LoadBalancer');
    expect(service.spec.ports).toEqual([{ name: 'http', port: 8000, targetPort: 'http', protocol: 'TCP' }]);
    expect(containerPortOf(prod().objects, service, 8000)).toBe(8000);
    expect(find(prod().app, 'HorizontalPodAutoscaler', 'api').spec).toMatchObject({ minReplicas: 3, maxReplicas: 10 });
    expect(workload(prod().app, 'api').spec.replicas).toBeUndefined();
    expect(find(prod().app, 'PodDisruptionBudget', 'api').spec.maxUnavailable).toBe(1);
  });

  test('prod: the API has the seed\'s resources and probes (R5)', () => {
    const c = apiContainer(prod());
    expect(c.resources).toEqual({ requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '2', memory: '2Gi' } });
    expect(c.livenessProbe).toMatchObject({ httpGet: { path: '/health' }, initialDelaySeconds: 30, periodSeconds: 10 });
    expect(c.readinessProbe).toMatchObject({ httpGet: { path: '/ready' }, initialDelaySeconds: 10, periodSeconds: 5 });
  });

  test('prod: credentials come from the logistics and redis Secrets', () => {
    expect(apiContainer(prod()).env.filter((v: K8sObject) => v.valueFrom?.secretKeyRef).map((v: K8sObject) =>
      `${v.name}=${v.valueFrom.secretKeyRef.name}/${v.valueFrom.secretKeyRef.key}`)).toEqual([
      'API_KEY=logistics-secret/api_key',
      'DB_PASSWORD=logistics-secret/db_password',
      'REDIS_PASSWORD=redis-secret/password',
    ]);
  });

  test('three model services; route-planning has a GPU in prod only', () => {
    for (const environment of ['dev', 'test', 'prod']) {
      const e = env('logistics', environment);
      expect(modelDeployments(e).map((d) => d.metadata.name).sort()).toEqual(['demand-forecast', 'risk-prediction', 'route-planning']);
      for (const d of modelDeployments(e)) {
        const gpu = environment === 'prod' && d.metadata.name === 'route-planning' ? 1 : undefined;
        expect(`${environment} ${d.metadata.name} gpu=${gpuOf(d.spec.template.spec.containers[0])}`)
          .toBe(`${environment} ${d.metadata.name} gpu=${[gpu, gpu]}`);
        expect(d.spec.template.spec.tolerations === undefined).toBe(gpu === undefined);
      }
    }
  });

  test('prod: the Ingress sends logistics.example.com to the web tier over TLS', () => {
    const ingress = find(prod().app, 'Ingress', 'ingress');
    expect(ingress.spec.rules).toEqual([{
      host: 'logistics.example.com',
      http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] },
    }]);
    expect(ingress.spec.tls).toEqual([{ hosts: ['logistics.example.com'], secretName: 'logistics-tls' }]);
  });

  test('prod: the API accepts the web tier and load-balancer clients on 8000', () => {
    const api = workload(prod().app, 'api').spec.template;
    const web = workload(prod().app, 'web').spec.template;
    expect(connectionAllowed(prod().objects, web, api, 8000)).toEqual([]);
    const ingress = find(prod().app, 'NetworkPolicy', 'api').spec.ingress;
    expect(ingress).toContainEqual({ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ protocol: 'TCP', port: 8000 }] });
  });

  test('dev is smaller than prod: single pods, no autoscaling, smaller API, internal API, its own host without TLS', () => {
    expect(workload(dev().app, 'api').spec.replicas).toBe(1);
    expect(workload(dev().app, 'web').spec.replicas).toBe(1);
    expect(all(dev().app, 'HorizontalPodAutoscaler')).toEqual([]);
    expect(all(dev().app, 'PodDisruptionBudget')).toEqual([]);
    expect(apiContainer(dev()).resources).toEqual({ requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } });
    expect(apiContainer(dev()).resources).not.toEqual(apiContainer(prod()).resources);
    expect(find(dev().app, 'Service', 'api').spec.type).toBe('ClusterIP');
    const ingress = find(dev().app, 'Ingress', 'ingress');
    expect(ingress.spec.rules.map((r: K8sObject) => r.host)).toEqual(['logistics.dev.example.com']);
    expect(ingress.spec.tls).toBeUndefined();
    expect(properties(dev())).toContain('feature.experimental_eta_model=true');
    expect(properties(prod())).not.toContain('feature.experimental_eta_model=true');
  });

  test('test: autoscaled from 2, staging host with TLS, gray release and the ETA experiment', () => {
    const test = env('logistics', 'test');
    expect(find(test.app, 'HorizontalPodAutoscaler', 'api').spec).toMatchObject({ minReplicas: 2, maxReplicas: 4 });
    const ingress = find(test.app, 'Ingress', 'ingress');
    expect(ingress.spec.rules.map((r: K8sObject) => r.host)).toEqual(['logistics.test.example.com']);
    expect(ingress.spec.tls).toEqual([{ hosts: ['logistics.test.example.com'], secretName: 'logistics-test-tls' }]);
    expect(properties(test)).toEqual(expect.arrayContaining(['release.gray.percentage=10', 'release.ab.eta_model_v2.percentage=50']));
  });

  function apiUpstream(e: Environment): string {
    return workload(e.app, 'web').spec.template.spec.containers[0].env.find((v: K8sObject) => v.name === 'API_UPSTREAM').value;
  }
});

describe('logistics data tier (R3, R10, R12, R13)', () => {
  const data = (environment: string) => env('logistics', environment).objects;
  const replicasOf = (objects: K8sObject[], kind: string, name: string) => find(objects, kind, name).spec.replicas;
  const claimSize = (objects: K8sObject[], name: string) => find(objects, 'StatefulSet', name).spec.volumeClaimTemplates[0].spec.resources.requests.storage;
  const image = (objects: K8sObject[], kind: string, name: string) => find(objects, kind, name).spec.template.spec.containers[0].image;

  test('prod: MySQL 8.0 primary and two read replicas on 100Gi, writes and reads on their own Services', () => {
    const objects = data('prod');
    expect(replicasOf(objects, 'StatefulSet', 'mysql-primary')).toBe(1);
    expect(replicasOf(objects, 'StatefulSet', 'mysql-replica')).toBe(2);
    expect([claimSize(objects, 'mysql-primary'), claimSize(objects, 'mysql-replica')]).toEqual(['100Gi', '100Gi']);
    expect(image(objects, 'StatefulSet', 'mysql-primary')).toMatch(/^mysql:8\.0\.\d+$/);
    const settings = hashedConfigMap(objects, 'app-config-env').data;
    expect([settings.DB_HOST, settings.DB_PORT, settings.DB_READ_HOST, settings.DB_NAME]).toEqual(['mysql-primary', '3306', 'mysql-read', 'logistics']);
    const primaryLabels = find(objects, 'StatefulSet', 'mysql-primary').spec.template.metadata.labels;
    const replicaLabels = find(objects, 'StatefulSet', 'mysql-replica').spec.template.metadata.labels;
    const selects = (service: string, labels: Record<string, string>) => Object.entries(find(objects, 'Service', service).spec.selector).every(([k, v]) => labels[k] === v);
    expect([selects('mysql-primary', primaryLabels), selects('mysql-primary', replicaLabels)]).toEqual([true, false]);
    expect([selects('mysql-read', replicaLabels), selects('mysql-read', primaryLabels)]).toEqual([true, false]);
  });

  test('prod: a Redis 7 cluster of 3 masters with a replica each on 50Gi, formed by the bootstrap Job', () => {
    const objects = data('prod');
    expect(replicasOf(objects, 'StatefulSet', 'redis')).toBe(6);
    expect(claimSize(objects, 'redis')).toBe('50Gi');
    expect(image(objects, 'StatefulSet', 'redis')).toMatch(/^redis:7\.\d+\.\d+$/);
    expect(find(objects, 'Job', 'redis-cluster-bootstrap').spec.template.spec.restartPolicy).toBe('OnFailure');
    expect(hashedConfigMap(objects, 'app-config-env').data.REDIS_HOST).toBe('redis');
  });

  test('prod: a Milvus 2.3 cluster with 3 etcd members, MinIO, Kafka and every role', () => {
    const objects = data('prod');
    expect(replicasOf(objects, 'StatefulSet', 'milvus-etcd')).toBe(3);
    expect(replicasOf(objects, 'StatefulSet', 'milvus-kafka')).toBe(3);
    expect(replicasOf(objects, 'StatefulSet', 'milvus-minio')).toBe(4);
    const roles = Object.fromEntries(['milvus', 'milvus-mixcoord', 'milvus-querynode', 'milvus-datanode', 'milvus-indexnode']
      .map((name) => [name, replicasOf(objects, 'Deployment', name)]));
    expect(roles).toEqual({ 'milvus': 2, 'milvus-mixcoord': 1, 'milvus-querynode': 2, 'milvus-datanode': 2, 'milvus-indexnode': 1 });
    expect(image(objects, 'Deployment', 'milvus')).toMatch(/^milvusdb\/milvus:v2\.3\.\d+$/);
    expect(hashedConfigMap(objects, 'app-config-env').data.MILVUS_HOST).toBe('milvus');
  });

  test('test: the smallest Milvus cluster; dev: Milvus standalone without a message queue', () => {
    expect(replicasOf(data('test'), 'StatefulSet', 'milvus-etcd')).toBe(1);
    expect(replicasOf(data('test'), 'StatefulSet', 'milvus-kafka')).toBe(1);
    expect(find(data('dev'), 'StatefulSet', 'milvus').spec.replicas).toBe(1);
    expect(all(data('dev'), 'StatefulSet').map((s) => s.metadata.name)).not.toContain('milvus-kafka');
    expect(all(data('dev'), 'Deployment').map((d) => d.metadata.name)).not.toContain('milvus-mixcoord');
  });

  test('dev: one MySQL replica on 10Gi and 3 Redis masters without replicas', () => {
    expect(replicasOf(data('dev'), 'StatefulSet', 'mysql-replica')).toBe(1);
    expect(claimSize(data('dev'), 'mysql-primary')).toBe('10Gi');
    expect(replicasOf(data('dev'), 'StatefulSet', 'redis')).toBe(3);
  });

  test('prod pulls its Secrets from the secret manager; dev and test do not', () => {
    expect(all(data('prod'), 'ExternalSecret').map((s) => s.metadata.name).sort())
      .toEqual(['alerting-secret', 'backup-secret', 'logistics-secret', 'milvus-secret', 'mysql-secret', 'redis-secret']);
    expect(all(data('dev'), 'ExternalSecret')).toEqual([]);
  });
});
