/** R16: no secret value is ever written into dist/ (it is committed to Git). */
import { findSecretValues } from './support/secret-scan';
import { objectId, synthesizedMatrix } from './support/manifests';

describe('no secret values in dist/', () => {
  const { manifests } = synthesizedMatrix();

  test('no Secret objects with data and no credential literals in any object', () => {
    expect(manifests.flatMap((m) => findSecretValues(m.object, objectId(m)))).toEqual([]);
  });

  test('credentials reach workloads only as secretKeyRef', () => {
    const api = manifests.find((m) => m.solution === 'logistics' && m.environment === 'prod' && m.object.kind === 'Rollout' && m.object.metadata.name === 'api')!;
    const env = api.object.spec.template.spec.containers[0].env as { name: string; valueFrom?: unknown }[];
    expect(env.find((e) => e.name === 'DB_PASSWORD')).toEqual({ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'logistics-secret', key: 'db_password' } } });
    expect(manifests.filter((m) => m.object.kind === 'Secret')).toEqual([]);
  });
});

describe('the scanner fires on', () => {
  const pod = (env: unknown[]) => ({ kind: 'Deployment', spec: { template: { spec: { containers: [{ name: 'c', env }] } } } });

  test('a Secret with data', () => {
    expect(findSecretValues({ kind: 'Secret', metadata: { name: 's' }, data: { password: 'cGFzcw==' } }, 's')).toHaveLength(1);
  });

  test('a Secret with stringData', () => {
    expect(findSecretValues({ kind: 'Secret', metadata: { name: 's' }, stringData: { token: 'x' } }, 's').length).toBeGreaterThan(0);
  });

  test('a credential-named env var with a literal value', () => {
    expect(findSecretValues(pod([{ name: 'DB_PASSWORD', value: 'hunter22' }]), 'd')).toEqual(['d: env DB_PASSWORD at .spec.template.spec.containers[0].env[0] has a literal value']);
  });

  test('a URL with user and password', () => {
    expect(findSecretValues(pod([{ name: 'DATABASE_URL', value: 'postgresql://user:pw@db:5432/x' }]), 'd').join()).toMatch(/URL with a password/);
  });

  test('a password assigned in a configuration file', () => {
    expect(findSecretValues({ kind: 'ConfigMap', data: { 'app.properties': 'db.password=s3cr3t!\n' } }, 'c').join()).toMatch(/assigned secret/);
  });

  test('a private key', () => {
    expect(findSecretValues({ kind: 'ConfigMap', data: { key: '-----BEGIN RSA PRIVATE KEY-----\nabc' } }, 'c').join()).toMatch(/private key/);
  });

  test('but not a reference to a Secret', () => {
    expect(findSecretValues(pod([{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }]), 'd')).toEqual([]);
  });
});
