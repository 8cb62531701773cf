/** Real estate (seed 004, R4, R5, R11-R13, R15) as synthesized: behaviour per environment. */
import {
  K8sObject, all, apiContainer, env, find, gpuOf, maybe, modelDeployments, properties, hashedConfigMap, workload
} from '../support/solution-objects';

describe('real-estate (R4, R5, R15)', () => {
  const prod = () => env('real-estate', 'prod');
  const dev = () => env('real-estate', 'dev');

  test('prod: the API is behind an Ingress for api.real-estate.example.com with TLS', () => {
    const ingress = find(prod().app, 'Ingress', 'ingress');
    expect(ingress.spec.rules).toEqual([{
      host: 'api.real-estate.example.com',
      http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'api', port: { number: 80 } } } }] },
    }]);
    expect(ingress.spec.tls).toEqual([{ hosts: ['api.real-estate.example.com'], secretName: 'real-estate-api-tls' }]);
    expect(ingress.spec.ingressClassName).toBe('nginx');
  });

  test('prod: no web tier, and the API is not exposed by a load balancer', () => {
    expect(maybe(prod().objects, 'Deployment', 'web')).toBeUndefined();
    expect(all(prod().objects, 'Service').filter((s) => s.spec.type === 'LoadBalancer')).toEqual([]);
    expect(find(prod().app, 'Service', 'api').spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
  });

  test('prod: the API (3 replicas at least) has the seed\'s resources (R5)', () => {
    expect(apiContainer(prod()).resources).toEqual({ requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '2Gi' } });
    expect(find(prod().app, 'HorizontalPodAutoscaler', 'api').spec.minReplicas).toBe(3);
  });

  test('prod: app.properties holds the recommendation and evaluation settings (R15)', () => {
    expect(properties(prod())).toEqual(expect.arrayContaining([
      'recommendation.model=hybrid',
      'recommendation.top_k=10',
      'evaluation.model=xgboost',
      'evaluation.confidence_threshold=0.8',
      'app.name=Intelligent Real Estate Platform',
      'release.gray.percentage=10',
      'feature.recommendation=true',
    ]));
  });

  test('prod: database and redis URLs and the API key come from Secrets (R16)', () => {
    expect(apiContainer(prod()).env.map((v: K8sObject) => `${v.name}=${v.valueFrom?.secretKeyRef?.name}/${v.valueFrom?.secretKeyRef?.key}`)).toEqual(
      expect.arrayContaining([
        'API_KEY=real-estate-secrets/api-key',
        'DATABASE_URL=real-estate-secrets/database-url',
        'REDIS_URL=real-estate-secrets/redis-url',
      ]),
    );
  });

  test('recommendation and valuation model services, no GPU', () => {
    for (const environment of ['dev', 'test', 'prod']) {
      const models = modelDeployments(env('real-estate', environment));
      expect(models.map((d) => d.metadata.name).sort()).toEqual(['recommendation', 'valuation']);
      for (const d of models) expect(gpuOf(d.spec.template.spec.containers[0])).toEqual([undefined, undefined]);
    }
  });

  test('dev is smaller than prod: one API pod, no autoscaling, smaller API, its own host without TLS', () => {
    expect(workload(dev().app, 'api').spec.replicas).toBe(1);
    expect(maybe(dev().app, 'HorizontalPodAutoscaler', 'api')).toBeUndefined();
    expect(apiContainer(dev()).resources).toEqual({ requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } });
    const ingress = find(dev().app, 'Ingress', 'ingress');
    expect(ingress.spec.rules.map((r: K8sObject) => r.host)).toEqual(['api.dev.real-estate.example.com']);
    expect(ingress.spec.tls).toBeUndefined();
    expect(properties(dev())).toContain('feature.image_appraisal=true');
  });

  test('test: staging host with TLS and the hybrid-vs-collaborative experiment', () => {
    const test = env('real-estate', 'test');
    expect(find(test.app, 'Ingress', 'ingress').spec.rules.map((r: K8sObject) => r.host)).toEqual(['api.test.real-estate.example.com']);
    expect(properties(test)).toContain('release.ab.hybrid_vs_collaborative.percentage=50');
    expect(find(test.app, 'HorizontalPodAutoscaler', 'api').spec).toMatchObject({ minReplicas: 2, maxReplicas: 4 });
  });
});

describe('real-estate data tier (R4, R11-R13)', () => {
  const data = (environment: string) => env('real-estate', environment).objects;
  const names = (objects: K8sObject[], kind: string) => all(objects, kind).map((o) => o.metadata.name).sort();
  const image = (objects: K8sObject[], name: string) => find(objects, 'StatefulSet', name).spec.template.spec.containers[0].image;

  test('prod: PostgreSQL 14 with a hot standby behind its own read Service, on 200Gi', () => {
    const objects = data('prod');
    expect(names(objects, 'StatefulSet')).toEqual(expect.arrayContaining(['postgres', 'postgres-standby']));
    expect(image(objects, 'postgres')).toMatch(/^postgres:14\.\d+$/);
    expect(find(objects, 'StatefulSet', 'postgres').spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('200Gi');
    const settings = hashedConfigMap(objects, 'app-config-env').data;
    expect([settings.DB_HOST, settings.DB_PORT, settings.DB_READ_HOST, settings.DB_NAME]).toEqual(['postgres', '5432', 'postgres-read', 'real_estate_ai']);
  });

  test('prod: Redis 7 with a replica behind redis-read; Milvus 2.3 standalone', () => {
    const objects = data('prod');
    expect(names(objects, 'StatefulSet')).toEqual(expect.arrayContaining(['redis', 'redis-replica', 'milvus', 'milvus-etcd', 'milvus-minio']));
    expect(image(objects, 'redis')).toMatch(/^redis:7\.\d+\.\d+$/);
    expect(image(objects, 'milvus')).toMatch(/^milvusdb\/milvus:v2\.3\.\d+$/);
    expect(hashedConfigMap(objects, 'app-config-env').data.REDIS_READ_HOST).toBe('redis-read');
    expect(names(objects, 'Deployment')).not.toContain('milvus-mixcoord');
  });

  test('dev and test: no standby, no Redis replica', () => {
    for (const environment of ['dev', 'test']) {
      expect(names(data(environment), 'StatefulSet')).not.toContain('postgres-standby');
      expect(names(data(environment), 'StatefulSet')).not.toContain('redis-replica');
      expect(hashedConfigMap(data(environment), 'app-config-env').data.DB_READ_HOST).toBeUndefined();
    }
  });
});
