/** The application's configuration as two ConfigMaps and a checksum (R15, lib/app-config.ts). */
import { Testing } from 'cdk8s';
import { AppConfig, AppConfigProps } from '../lib/app-config';

type K8sObject = Record<string, any>;

function synth(props: AppConfigProps, id = 'application'): { config: AppConfig; objects: K8sObject[] } {
  const chart = Testing.chart();
  const config = new AppConfig(chart, id, props);
  return { config, objects: Testing.synth(chart) };
}

/** The ConfigMap `<prefix>-<content hash>`. */
function configMap(objects: K8sObject[], prefix: string): K8sObject {
  const found = objects.filter((o) => o.kind === 'ConfigMap' && new RegExp(`^${prefix}-[0-9a-f]{10}$`).test(o.metadata.name));
  expect(found).toHaveLength(1);
  return found[0];
}

const base: AppConfigProps = {
  settings: { LOG_FORMAT: 'json', APP_ENV: 'prod', DB_PORT: '3306' },
  properties: { 'recommendation.model': 'hybrid', 'recommendation.top_k': 10, 'evaluation.confidence_threshold': 0.8 },
};

describe('AppConfig ConfigMaps', () => {
  test('makes <name>-env-<hash> and <name>-properties-<hash>, app-config by default, named by their content', () => {
    const { config, objects } = synth(base);
    const hash = config.checksum.slice(0, 10);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([`ConfigMap/app-config-env-${hash}`, `ConfigMap/app-config-properties-${hash}`]);
    expect(config.envConfigMapName).toBe(`app-config-env-${hash}`);
    expect(config.propertiesConfigMapName).toBe(`app-config-properties-${hash}`);
    // Another configuration is another ConfigMap: each version's pods keep their own (rollbacks take it along).
    expect(synth({ ...base, settings: { ...base.settings, APP_ENV: 'test' } }).config.envConfigMapName).not.toBe(config.envConfigMapName);
    for (const o of objects) expect([o.immutable, o.metadata.annotations]).toEqual([true, { 'argocd.argoproj.io/sync-options': 'Prune=false', 'argocd.argoproj.io/compare-options': 'IgnoreExtraneous' }]);
  });

  test('a custom name prefixes both ConfigMaps', () => {
    const { objects } = synth({ ...base, name: 'worker-config' });
    configMap(objects, 'worker-config-env');
    configMap(objects, 'worker-config-properties');
  });

  test('the env ConfigMap holds the settings, keys sorted', () => {
    const env = configMap(synth(base).objects, 'app-config-env');
    expect(env.data).toEqual({ APP_ENV: 'prod', DB_PORT: '3306', LOG_FORMAT: 'json' });
    expect(Object.keys(env.data)).toEqual(['APP_ENV', 'DB_PORT', 'LOG_FORMAT']);
  });

  test('both ConfigMaps carry the six standard labels, component config', () => {
    const { objects } = synth(base);
    for (const o of objects) {
      expect(o.metadata.labels).toEqual({
        'app.kubernetes.io/name': 'app-config',
        'app.kubernetes.io/instance': 'app',
        'app.kubernetes.io/version': 'unversioned',
        'app.kubernetes.io/component': 'config',
        'app.kubernetes.io/part-of': 'app',
        'app.kubernetes.io/managed-by': 'cdk8s',
      });
    }
  });

  test('envFrom() refers to the env ConfigMap and propertiesVolume() to the properties ConfigMap', () => {
    const { config } = synth(base);
    expect(config.envFrom()).toEqual([{ configMapRef: { name: config.envConfigMapName } }]);
    expect(config.propertiesVolume()).toEqual({ name: 'app-properties', configMap: { name: config.propertiesConfigMapName } });
  });
});

describe('app.properties', () => {
  const full: AppConfigProps = {
    settings: {},
    properties: {
      'recommendation.top_k': 10,
      'recommendation.model': 'hybrid',
      'evaluation.model': 'xgboost',
      'evaluation.confidence_threshold': 0.8,
      'app.name': 'Intelligent Real Estate Platform',
    },
    featureFlags: { valuation: true, image_appraisal: false },
    release: { grayPercentage: 10, abTests: { hybrid_vs_collaborative: 50, ranking_v2: 0 } },
  };

  test('is every key=value sorted by key, one per line, ending in a newline', () => {
    const { config, objects } = synth(full);
    const expected = [
      'app.name=Intelligent Real Estate Platform',
      'evaluation.confidence_threshold=0.8',
      'evaluation.model=xgboost',
      'feature.image_appraisal=false',
      'feature.valuation=true',
      'recommendation.model=hybrid',
      'recommendation.top_k=10',
      'release.ab.hybrid_vs_collaborative.percentage=50',
      'release.ab.ranking_v2.percentage=0',
      'release.gray.percentage=10',
    ].join('\n') + '\n';
    expect(config.propertiesFile).toBe(expected);
    expect(configMap(objects, 'app-config-properties').data).toEqual({ 'app.properties': expected });
  });

  test('without release settings, gray release is 0 and there are no experiments', () => {
    const { config } = synth({ settings: {}, properties: { 'a.b': 'c' } });
    expect(config.propertiesFile).toBe('a.b=c\nrelease.gray.percentage=0\n');
  });

  test('the order the properties are given in does not matter', () => {
    const reversed = Object.fromEntries(Object.entries(full.properties).reverse());
    expect(synth({ ...full, properties: reversed }).config.propertiesFile).toBe(synth(full).config.propertiesFile);
  });
});

describe('AppConfig.checksum', () => {
  test('is a SHA-256 hex digest and deterministic', () => {
    const a = synth(base).config.checksum;
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(synth(base).config.checksum).toBe(a);
  });

  test('does not depend on the order settings are given in', () => {
    const reordered = { ...base, settings: Object.fromEntries(Object.entries(base.settings).reverse()) };
    expect(synth(reordered).config.checksum).toBe(synth(base).config.checksum);
  });

  test.each<[string, Partial<AppConfigProps>]>([
    ['a setting value', { settings: { ...base.settings, DB_PORT: '3307' } }],
    ['a new setting', { settings: { ...base.settings, DB_HOST: 'mysql-primary' } }],
    ['a property value', { properties: { ...base.properties, 'recommendation.top_k': 11 } }],
    ['a feature flag', { featureFlags: { valuation: true } }],
    ['the gray percentage', { release: { grayPercentage: 10 } }],
    ['an A/B experiment', { release: { abTests: { ranking_v2: 50 } } }],
  ])('changes with %s', (_what, change) => {
    expect(synth({ ...base, ...change }).config.checksum).not.toBe(synth(base).config.checksum);
  });

  test('moving a value from settings into properties changes it', () => {
    const moved: AppConfigProps = { settings: {}, properties: { LOG_FORMAT: 'json' } };
    const kept: AppConfigProps = { settings: { LOG_FORMAT: 'json' }, properties: {} };
    expect(synth(moved).config.checksum).not.toBe(synth(kept).config.checksum);
  });
});

describe('AppConfig errors name the field and value', () => {
  test.each<[string, AppConfigProps, RegExp]>([
    ['a settings key that is not an environment variable name', { ...base, settings: { 'db-host': 'x' } },
      /^test: application\.settings\.db-host must be an environment variable name but "db-host" was provided$/],
    ['a settings value that is not a string', { ...base, settings: { DB_PORT: 3306 as unknown as string } },
      /^test: application\.settings\.DB_PORT must be a string but 3306 was provided$/],
    ['a property key that starts with a digit', { ...base, properties: { '1top_k': 10 } },
      /^test: application\.properties\.1top_k must be a property key such as recommendation\.top_k but "1top_k" was provided$/],
    ['a property key with a space', { ...base, properties: { 'top k': 10 } },
      /^test: application\.properties\.top k must be a property key such as recommendation\.top_k but "top k" was provided$/],
    ['a property key with "="', { ...base, properties: { 'a=b': 1 } },
      /^test: application\.properties\.a=b must be a property key .* but "a=b" was provided$/],
    ['a property value that is an object', { ...base, properties: { 'a.b': {} as unknown as string } },
      /^test: application\.properties\.a\.b must be a string, number or boolean but \{\} was provided$/],
    ['a feature flag that is not boolean', { ...base, featureFlags: { valuation: 'yes' as unknown as boolean } },
      /^test: application\.featureFlags\.valuation must be true or false but "yes" was provided$/],
    ['a feature flag name with a space', { ...base, featureFlags: { 'image appraisal': true } },
      /^test: application\.featureFlags\.image appraisal must be a flag name such as route_optimization but "image appraisal" was provided$/],
    ['grayPercentage 101', { ...base, release: { grayPercentage: 101 } },
      /^test: application\.release\.grayPercentage must be an integer between 0 and 100 but 101 was provided$/],
    ['grayPercentage -1', { ...base, release: { grayPercentage: -1 } },
      /^test: application\.release\.grayPercentage must be an integer between 0 and 100 but -1 was provided$/],
    ['grayPercentage 12.5', { ...base, release: { grayPercentage: 12.5 } },
      /^test: application\.release\.grayPercentage must be an integer between 0 and 100 but 12\.5 was provided$/],
    ['an A/B percentage of -1', { ...base, release: { abTests: { eta_model_v2: -1 } } },
      /^test: application\.release\.abTests\.eta_model_v2 must be an integer between 0 and 100 but -1 was provided$/],
    ['an A/B percentage of 101', { ...base, release: { abTests: { eta_model_v2: 101 } } },
      /^test: application\.release\.abTests\.eta_model_v2 must be an integer between 0 and 100 but 101 was provided$/],
    ['an A/B experiment name with a space', { ...base, release: { abTests: { 'eta v2': 50 } } },
      /^test: application\.release\.abTests\.eta v2 must be an experiment name but "eta v2" was provided$/],
    ['a name that is not a DNS label', { ...base, name: 'App_Config' },
      /^test: application\.name must be a DNS label .* but "App_Config" was provided$/],
  ])('%s', (_what, props, message) => {
    expect(() => synth(props)).toThrow(message);
  });

  test('a name longer than 50 characters is refused (the ConfigMap names add a suffix)', () => {
    expect(() => synth({ ...base, name: 'a'.repeat(51) })).toThrow(/application\.name must be a DNS label .* at most 50 characters/);
    expect(() => synth({ ...base, name: 'a'.repeat(50) })).not.toThrow();
  });
});

describe('app.properties values cannot break the file', () => {
  test('a property value with a line break is refused', () => {
    expect(() => synth({ settings: {}, properties: { 'app.name': 'Platform\nfeature.admin=true' } })).toThrow(
      /application\.properties\.app\.name must be .* but "Platform\\nfeature\.admin=true" was provided/,
    );
  });

  test('a property that a generated key would overwrite is refused', () => {
    expect(() => synth({ settings: {}, properties: { 'release.gray.percentage': 50 } })).toThrow(
      /application\.properties\.release\.gray\.percentage must be /,
    );
  });
});
