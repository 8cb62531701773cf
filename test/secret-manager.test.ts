/** R16: Secrets pulled from a secret manager through the External Secrets Operator. */
import { Testing } from 'cdk8s';
import { SecretManagerSync } from '../lib/secret-manager';
import { Manifest, objectId, synthesizedMatrix } from './support/manifests';
import { MATRIX, settingsOf } from './support/solution-objects';

function sync(props: Partial<ConstructorParameters<typeof SecretManagerSync>[2]> = {}) {
  const chart = Testing.chart();
  new SecretManagerSync(chart, 'secretManager', {
    storeName: 'vault-backend',
    secrets: new Map([['db', new Set(['password', 'api-key'])], ['cache', new Set(['password'])]]),
    defaultRemoteKeyPrefix: 'logistics/prod',
    ...props,
  });
  return Testing.synth(chart);
}

describe('SecretManagerSync', () => {
  test('one ExternalSecret per Secret, each key read from <prefix>/<secret>', () => {
    const objects = sync();
    expect(objects.map((o) => `${o.apiVersion}/${o.kind}/${o.metadata.name}`)).toEqual([
      'external-secrets.io/v1/ExternalSecret/cache', 'external-secrets.io/v1/ExternalSecret/db',
    ]);
    const db = objects.find((o) => o.metadata.name === 'db')!;
    expect(db.spec).toEqual({
      refreshInterval: '1h',
      secretStoreRef: { name: 'vault-backend', kind: 'ClusterSecretStore' },
      target: { name: 'db', creationPolicy: 'Owner' },
      data: [
        { secretKey: 'api-key', remoteRef: { key: 'logistics/prod/db', property: 'api-key' } },
        { secretKey: 'password', remoteRef: { key: 'logistics/prod/db', property: 'password' } },
      ],
    });
  });

  test('store kind, prefix and refresh interval are configurable', () => {
    const db = sync({ storeKind: 'SecretStore', remoteKeyPrefix: 'apps/logistics', refreshInterval: '15m' }).find((o) => o.metadata.name === 'db')!;
    expect(db.spec.secretStoreRef).toEqual({ name: 'vault-backend', kind: 'SecretStore' });
    expect(db.spec.refreshInterval).toBe('15m');
    expect(db.spec.data[0].remoteRef.key).toBe('apps/logistics/db');
  });

  test.each([
    [{ storeName: 'Vault Backend' }, /secretManager\.storeName must be a DNS subdomain name .* but "Vault Backend" was provided/],
    [{ storeKind: 'Vault' as never }, /secretManager\.storeKind must be one of SecretStore, ClusterSecretStore but "Vault" was provided/],
    [{ refreshInterval: '1 hour' }, /secretManager\.refreshInterval must be a duration such as 15m or 1h but "1 hour" was provided/],
    [{ remoteKeyPrefix: '/abs' }, /secretManager\.remoteKeyPrefix must be a key path such as logistics\/prod but "\/abs" was provided/],
  ])('refuses %j', (props, message) => {
    expect(() => sync(props)).toThrow(message);
  });
});

describe('in dist/', () => {
  const { manifests } = synthesizedMatrix();

  /** Secret name/key pairs the rendered pods of one environment read. */
  function readByPods(objects: Manifest[]): string[] {
    const refs = new Set<string>();
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        const ref = (v as { secretKeyRef?: { name: string; key: string } }).secretKeyRef;
        if (ref) refs.add(`${ref.name}/${ref.key}`);
        // The AlertmanagerConfig's Secret selectors, which the Prometheus Operator reads.
        for (const field of ['authPassword', 'apiSecret']) {
          const selector = (v as Record<string, any>)[field];
          if (selector?.name && selector?.key) refs.add(`${selector.name}/${selector.key}`);
        }
        Object.values(v).forEach(walk);
      }
    };
    objects.forEach((m) => walk(m.object));
    return [...refs].sort();
  }

  const managed = MATRIX.filter(([solution, environment]) => settingsOf(solution, environment).secretManager);
  const unmanaged = MATRIX.filter(([solution, environment]) => !settingsOf(solution, environment).secretManager);

  test('production environments have a secret manager', () => {
    expect(managed).toEqual(MATRIX.filter(([solution, environment]) => settingsOf(solution, environment).production));
  });

  test.each(managed)('%s/%s: ExternalSecrets provide exactly the Secret keys its pods read', (solution, environment) => {
    const prod = manifests.filter((m) => m.solution === solution && m.environment === environment);
    const provided = prod.filter((m) => m.object.kind === 'ExternalSecret')
      .flatMap((m) => m.object.spec.data.map((d: { secretKey: string }) => `${m.object.spec.target.name}/${d.secretKey}`)).sort();
    expect(provided).toEqual(readByPods(prod.filter((m) => m.object.kind !== 'ExternalSecret')));
    expect(provided.length).toBeGreaterThan(0);
  });

  test.each(unmanaged)('%s/%s expects its Secrets to be created by hand (no ExternalSecrets)', (solution, environment) => {
    const elsewhere = manifests.filter((m) => m.solution === solution && m.environment === environment && m.object.kind === 'ExternalSecret');
    expect(elsewhere.map(objectId)).toEqual([]);
  });
});
