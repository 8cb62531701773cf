/** The library entry point (package.json "main") exposes what a third solution is built from. */
import * as library from '../lib';

describe('lib/index.ts', () => {
  test.each([
    'Workload', 'StatelessService', 'ApiService', 'WebTier', 'ModelService', 'Autoscaler', 'AppIngress', 'AppConfig',
    'AppNamespace', 'SecretManagerSync', 'StatefulWorkload', 'MySql', 'Postgres', 'Redis', 'RedisCluster',
    'MilvusStandalone', 'MilvusCluster', 'createMilvus', 'Policies', 'EnvironmentApp', 'AppTier', 'buildEnvironment',
    'Validator', 'ConfigError', 'applyOverrides', 'resolveEnvironment',
    'AlertRules', 'Severity', 'SEVERITY_POLICIES', 'HTTP_METRICS', 'EnvironmentAlerts', 'AlertRouting', 'DingTalkWebhook', 'EnvironmentDashboards',
    'buildPlatform', 'PolicyViolationError',
  ])('exports %s', (name) => {
    expect(library).toHaveProperty(name);
  });
});
