import { KubernetesSchema } from './support/kubernetes-schema';

const schema = new KubernetesSchema();

function deployment(spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api' }, spec };
}
const validSpec = {
  selector: { matchLabels: { app: 'api' } },
  template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'api', image: 'r.example.com/api:1.0.0' }] } },
};

describe('KubernetesSchema (the validator the dist/ test relies on)', () => {
  test('accepts a valid Deployment', () => {
    expect(schema.validate(deployment(validSpec))).toEqual([]);
  });

  test('rejects an unknown field', () => {
    expect(schema.validate(deployment({ ...validSpec, replica: 3 }))).toEqual(['/spec has unknown field "replica"']);
  });

  test('rejects an unknown field deep in a container', () => {
    const spec = { ...validSpec, template: { spec: { containers: [{ name: 'api', image: 'x:1.0.0', port: 80 }] } } };
    expect(schema.validate(deployment(spec))).toContain('/spec/template/spec/containers/0 has unknown field "port"');
  });

  test('rejects a wrong type', () => {
    expect(schema.validate(deployment({ ...validSpec, replicas: '3' }))).toContain('/spec/replicas must be integer');
  });

  test('rejects a missing required field', () => {
    expect(schema.validate(deployment({ template: validSpec.template }))).toContain("/spec must have required property 'selector'");
  });

  test('rejects a value outside a known enum', () => {
    const problems = schema.validate({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { type: 'Loadbalancer' } });
    expect(problems.join('\n')).toMatch(/\/spec\/type must be one of .*LoadBalancer/);
  });

  test('rejects a kind that Kubernetes 1.27 does not serve', () => {
    expect(schema.validate({ apiVersion: 'autoscaling/v2beta2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'h' } }))
      .toEqual(['unknown apiVersion/kind autoscaling/v2beta2/HorizontalPodAutoscaler for Kubernetes 1.27 and the CRDs in schemas/crds']);
  });

  test('rejects an object without a name', () => {
    expect(schema.validate({ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} })).toEqual(['/metadata/name is missing']);
  });
});

describe('custom resources are validated against their CRD', () => {
  const externalSecret = (spec: Record<string, unknown>) => ({ apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', metadata: { name: 'db' }, spec });
  const validSpec = { secretStoreRef: { name: 'vault', kind: 'ClusterSecretStore' }, target: { name: 'db' }, data: [{ secretKey: 'password', remoteRef: { key: 'app/db', property: 'password' } }] };

  test('accepts a valid ExternalSecret', () => {
    expect(schema.validate(externalSecret(validSpec))).toEqual([]);
  });

  test('rejects an unknown field, a wrong enum and a missing required field', () => {
    expect(schema.validate(externalSecret({ ...validSpec, refresh: '1h' }))).toEqual(['/spec has unknown field "refresh"']);
    expect(schema.validate(externalSecret({ ...validSpec, secretStoreRef: { name: 'vault', kind: 'Vault' } })).join()).toMatch(/\/spec\/secretStoreRef\/kind must be one of/);
    expect(schema.validate(externalSecret({ ...validSpec, data: [{ remoteRef: { key: 'k' } }] }))).toContain("/spec/data/0 must have required property 'secretKey'");
  });

  test('rejects a version the CRD does not serve', () => {
    expect(schema.validate({ ...externalSecret(validSpec), apiVersion: 'external-secrets.io/v1beta1' })[0]).toMatch(/^unknown apiVersion\/kind/);
  });
});
