/**
 * The README's "Add an environment" and "Add a solution" steps, followed to the letter in a copy of
 * the repository: a `staging` environment for logistics and a small third solution (an API with
 * Redis). Synth writes their folders, and the matrix tests pass on them with new snapshots only:
 * no test file is edited.
 */
import { existsSync } from 'fs';
import { join } from 'path';
import { readTree } from './support/manifests';
import { RepoCopy } from './support/repo-copy';

const STAGING = `    staging: {
      api: { autoscaling: { minReplicas: 2, maxReplicas: 6 } },
      ingress: { hosts: ['logistics.staging.example.com'] },
    },
`;

const SHOP_CONFIG = `import { RedisProps } from '../data/redis';
import { AppTierSettings } from './app-tier-settings';
import { defineSolution, SolutionDefinition } from './solution-definition';

/** A small shop: an API with one model service and a Redis cache. */
export interface ShopSettings extends AppTierSettings {
  readonly redis: RedisProps;
}

const image = (name: string) => ({ repository: \`registry.example.com/shop/\${name}\`, tag: '2.1.0' });
const small = { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '500m', memory: '512Mi' } };

export const shop: SolutionDefinition<ShopSettings> = defineSolution<ShopSettings>()({
  name: 'shop',
  settingsType: 'ShopSettings',
  defaults: {
    production: false,
    application: { displayName: 'Shop', version: '2.1.0', properties: {}, featureFlags: {}, release: { grayPercentage: 0 } },
    api: { image: image('api'), replicas: 1, resources: small, secretEnv: { API_KEY: { name: 'shop-secret', key: 'api-key' } } },
    models: { ranking: { image: image('ranking'), replicas: 1, resources: small } },
    redis: {
      replicas: 0,
      passwordSecret: { name: 'redis-secret', key: 'password' },
      storage: { size: '5Gi' },
      resources: { requests: { cpu: '100m', memory: '512Mi' }, limits: { cpu: '500m', memory: '512Mi' } },
    },
    backup: {
      repository: { endpoint: 'https://s3.example.com', bucket: 'shop-backups', endpointCidrs: ['203.0.113.0/24'] },
      passwordSecret: { name: 'backup-secret', key: 'restic-password' },
      accessKeyIdSecret: { name: 'backup-secret', key: 'access-key-id' },
      secretAccessKeySecret: { name: 'backup-secret', key: 'secret-access-key' },
    },
  },
  environments: {
    dev: {},
    live: {
      production: true,
      secretManager: { storeName: 'vault-backend' },
      monitoring: {
        alerting: {
          onCall: { emails: ['oncall@shop.example.com'] },
          techLead: { emails: ['lead@shop.example.com'] },
          management: { emails: ['mgmt@shop.example.com'] },
          email: { smarthost: 'smtp.example.com:587', from: 'am@shop.example.com' },
        },
      },
      api: { replicas: undefined, autoscaling: { minReplicas: 2, maxReplicas: 4 } },
      ingress: { hosts: ['shop.example.com'], tls: { secretName: 'shop-tls' } },
      redis: { replicas: 1 },
    },
  },
});
`;

const SHOP_SOLUTION = `import { Redis } from '../data/redis';
import { shop, ShopSettings } from '../config/shop';
import { AppTier } from './app-tier';
import { EnvironmentApp } from './environment-app';
import { Solution } from './solution';

export const shopSolution: Solution<ShopSettings> = {
  definition: shop,
  build(app: EnvironmentApp, settings: ShopSettings): void {
    const redis = new Redis(app.dataChart, 'redis', settings.redis);
    new AppTier(app.appChart, 'app', {
      settings,
      environment: app.environment,
      stores: [{ endpoints: { REDIS: redis.endpoint, ...(redis.readEndpoint ? { REDIS_READ: redis.readEndpoint } : {}) } }],
    });
  },
};
`;

/** The tests that take the matrix from the configuration. */
const MATRIX_TESTS = [
  'test/dist.test.ts', 'test/solutions.test.ts', 'test/network-policies.test.ts', 'test/data-retention.test.ts',
  'test/secret-manager.test.ts', 'test/secrets.test.ts', 'test/config.test.ts', 'test/synthesize.test.ts',
];

describe('the matrix grows by the README', () => {
  let repo: RepoCopy;
  beforeAll(() => {
    repo = RepoCopy.create('matrix-growth');
  });
  afterAll(() => repo.remove());

  test('a staging environment and a third solution synthesize and pass the matrix tests with new snapshots only', () => {
    // Add an environment: a key in `environments`.
    repo.edit('lib/config/logistics.ts', /\n {2}environments: \{\n/, `\n  environments: {\n${STAGING}`);
    // Add a solution: its configuration, its schema root, its composition, its listing.
    repo.write('lib/config/shop.ts', SHOP_CONFIG);
    repo.edit('lib/config/settings-schema.generate.ts', "RealEstateSettings: 'lib/config/real-estate.ts',", "RealEstateSettings: 'lib/config/real-estate.ts',\n  ShopSettings: 'lib/config/shop.ts',");
    repo.write('lib/solutions/shop.ts', SHOP_SOLUTION);
    repo.edit('lib/solutions/index.ts', /\[logisticsSolution, realEstateSolution\]/, '[logisticsSolution, realEstateSolution, shopSolution]');
    repo.edit('lib/solutions/index.ts', /^/, "import { shopSolution } from './shop';\n");
    // Its production environment rolls out region by region through Argo CD.
    repo.edit('lib/config/gitops.ts', /\n {2}solutions: \{\n/, "\n  solutions: {\n    shop: { regions: [{ name: 'east', maxUpdate: 1, clusters: ['prod-east-1'] }] },\n");

    const generate = repo.run('npm', ['run', '-s', 'generate:schema']);
    expect(`${generate.status} ${generate.stderr}`).toMatch(/^0 wrote .*settings.schema.json/);
    const compile = repo.run('npx', ['tsc', '--noEmit']);
    expect(`${compile.status}\n${compile.stdout}`).toBe('0\n');

    const synth = repo.run('npm', ['run', '-s', 'synth']);
    expect(`${synth.status}\n${synth.stderr}`).toMatch(/^0\n/);
    expect(synth.stderr).toMatch(/^wrote dist\/logistics\/staging: \d+ files, \d+ objects$/m);
    expect(synth.stderr).toMatch(/^wrote dist\/shop\/dev: \d+ files, \d+ objects$/m);
    expect(synth.stderr).toMatch(/^wrote dist\/shop\/live: \d+ files, \d+ objects$/m);
    expect(existsSync(join(repo.dir, 'dist', 'logistics', 'staging', '0002-app.k8s.yaml'))).toBe(true);

    const tests = repo.run('npx', ['jest', '--ci=false', '--updateSnapshot', ...MATRIX_TESTS], 480_000);
    expect(`${tests.status}\n${tests.stderr.split('\n').filter((l) => /✕|●|Tests:/.test(l)).join('\n')}`).toMatch(/^0\n/);
    expect(tests.stderr).toMatch(/snapshots? written/);
    // Only snapshots changed: every test file is as it was.
    expect(readTree(join(repo.dir, 'test'))).toEqual(readTree(join(__dirname)));
  }, 600_000);
});
