/** The library entry point (package.json "main") exposes what a third solution is built from. */
import * as library from '../lib';

describe('lib/index.ts', () => {
  test.each([
    'Workload', 'StatelessService', 'ApiService', 'WebTier', 'ModelService', 'Autoscaler', 'AppIngress', 'AppConfig',
    'AppNamespace', 'SecretManagerSync', 'StatefulWorkload', 'MySql', 'Postgres', 'Redis', 'RedisCluster',
    'MilvusStandalone', 'MilvusCluster', 'createMilvus', 'Policies', 'EnvironmentApp', 'AppTier', 'buildEnvironment',
    'Validator', 'ConfigError', 'applyOverrides', 'resolveEnvironment',
  ])('exports %s', (name) => {
    expect(library).toHaveProperty(name);
  });
});
