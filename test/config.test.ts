/** Every configuration value is checked when the app is built; a bad one names solution, environment, field and value. */
import { mkdtempSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { logistics, LogisticsSettings } from '../lib/config/logistics';
import { applyOverrides, Overrides } from '../lib/config/overrides';
import { realEstate } from '../lib/config/real-estate';
import { generateSettingsSchema, SCHEMA_FILE, VALIDATOR_FILE } from '../lib/config/settings-schema.generate';
import { defineSolution, environmentsOf, ingressHostsOf, namespaceOf, resolveEnvironment, SolutionDefinition } from '../lib/config/solution-definition';
import { logisticsSolution } from '../lib/solutions/logistics';
import { buildEnvironment } from '../lib/solutions/solution';
import { ConfigError } from '../lib/validation';

const outdir = mkdtempSync(join(tmpdir(), 'config-test-'));

/**
 * Overrides laid over overrides: like applyOverrides, but a `key: undefined` stays a `key: undefined`
 * (it must still remove the key from the defaults when the result is applied).
 */
function layered(base: Record<string, any>, top: Record<string, any>): Record<string, any> {
  const result: Record<string, any> = { ...base };
  for (const [key, value] of Object.entries(top)) {
    const plain = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
    result[key] = plain(value) && plain(base[key]) ? layered(base[key], value) : value;
  }
  return result;
}

/** Builds logistics/<environment> with `overrides` laid over that environment's configuration. */
function build(overrides: Overrides<LogisticsSettings>, environment = 'prod') {
  const definition = {
    ...logistics,
    environments: { ...logistics.environments, [environment]: layered(logistics.environments[environment], overrides) as Overrides<LogisticsSettings> },
  };
  return () => buildEnvironment({ ...logisticsSolution, definition }, environment, outdir);
}

describe('configuration model', () => {
  test('an environment overrides only what it names', () => {
    const dev = resolveEnvironment(logistics, 'dev').settings;
    const prod = resolveEnvironment(logistics, 'prod').settings;
    expect(dev.api.replicas).toBe(1);
    expect(dev.api.autoscaling).toBeUndefined();
    expect(prod.api.autoscaling).toEqual({ minReplicas: 3, maxReplicas: 10, targetCpuUtilizationPercent: 70 });
    expect(dev.api.image).toEqual(prod.api.image);
    expect(prod.models['route-planning'].resources.gpu).toBe(1);
    expect(prod.models['demand-forecast'].resources.gpu).toBeUndefined();
  });

  test('overrides replace arrays and leave the definition untouched', () => {
    const base = { hosts: ['a.example.com'], nested: { x: 1, y: 2 } };
    expect(applyOverrides(base, { hosts: ['b.example.com'], nested: { y: 3 } })).toEqual({ hosts: ['b.example.com'], nested: { x: 1, y: 3 } });
    expect(base).toEqual({ hosts: ['a.example.com'], nested: { x: 1, y: 2 } });
  });

  test('the valid configuration builds', () => {
    expect(build({})).not.toThrow();
  });
});

describe('bad configuration fails with the solution, environment, field and value', () => {
  const cases: [string, Overrides<LogisticsSettings>, RegExp][] = [
    ['replicas 0', { api: { replicas: 0, autoscaling: undefined } },
      /^logistics\/prod: api\.replicas must be an integer between 1 and 100 but 0 was provided$/],
    ['the tag latest in prod', { api: { image: { tag: 'latest' } } },
      /^logistics\/prod: api\.image\.tag must be a semantic version MAJOR\.MINOR\.PATCH .* but "latest" was provided$/],
    ['an invalid DNS host', { ingress: { hosts: ['logistics_prod.example.com'] } },
      /^logistics\/prod: ingress\.hosts\[0\] must be a fully qualified DNS host name .* but "logistics_prod\.example\.com" was provided$/],
    ['a CPU quantity like "2 cores"', { api: { resources: { limits: { cpu: '2 cores' } } } },
      /^logistics\/prod: api\.resources\.limits\.cpu must be a CPU quantity such as 500m or 2 but "2 cores" was provided$/],
    ['a memory quantity in GB', { web: { resources: { requests: { memory: '1GB' } } } },
      /^logistics\/prod: web\.resources\.requests\.memory must be a memory quantity .* but "1GB" was provided$/],
    ['a request above its limit', { api: { resources: { requests: { cpu: '4' } } } },
      /^logistics\/prod: api\.resources\.requests\.cpu must be at most api\.resources\.limits\.cpu \(2\) but "4" was provided$/],
    ['autoscaling max below min', { api: { autoscaling: { minReplicas: 5, maxReplicas: 3 } } },
      /^logistics\/prod: api\.autoscaling\.maxReplicas must be at least minReplicas \(5\) but 3 was provided$/],
    ['a CPU target over 100%', { web: { autoscaling: { targetCpuUtilizationPercent: 150 } } },
      /^logistics\/prod: web\.autoscaling\.targetCpuUtilizationPercent must be an integer between 1 and 100 but 150 was provided$/],
    ['an image repository with a tag in it', { api: { image: { repository: 'registry.example.com/api:1.0.0' } } },
      /^logistics\/prod: api\.image\.repository must be an image repository .* but "registry\.example\.com\/api:1\.0\.0" was provided$/],
    ['a fractional GPU', { models: { 'route-planning': { resources: { gpu: 0.5 } } } },
      /^logistics\/prod: models\.route-planning\.resources\.gpu must be an integer between 0 and 16 but 0\.5 was provided$/],
    ['a Secret name that is not a DNS name', { api: { secretEnv: { DB_PASSWORD: { name: 'Logistics_Secret', key: 'db_password' } } } },
      /^logistics\/prod: api\.secretEnv\.DB_PASSWORD\.name must be a DNS subdomain name .* but "Logistics_Secret" was provided$/],
    ['a missing Secret name', { api: { secretEnv: { API_KEY: { name: '', key: 'api_key' } } } },
      /^logistics\/prod: api\.secretEnv\.API_KEY\.name must be a DNS subdomain name .* but "" was provided$/],
    ['a namespace that is not a DNS label', { namespace: 'Logistics Prod' },
      /^logistics\/prod: namespace must be a DNS label .* but "Logistics Prod" was provided$/],
    ['a release version that is not semantic', { application: { version: '1.0' } },
      /^logistics\/prod: application\.version must be a semantic version .* but "1\.0" was provided$/],
    ['a gray release over 100%', { application: { release: { grayPercentage: 120 } } },
      /^logistics\/prod: application\.release\.grayPercentage must be an integer between 0 and 100 but 120 was provided$/],
    ['a TLS secret name with spaces', { ingress: { tls: { secretName: 'my cert' } } },
      /^logistics\/prod: ingress\.tls\.secretName must be a DNS subdomain name .* but "my cert" was provided$/],
  ];

  test.each(cases)('%s', (_, overrides, message) => {
    expect(build(overrides)).toThrow(ConfigError);
    expect(build(overrides)).toThrow(message);
  });

  test('an exposure that is not a Service type', () => {
    expect(build({ web: { exposure: 'NodePort' as never } }))
      .toThrow(/^logistics\/prod: web\.exposure must be one of ClusterIP, LoadBalancer but "NodePort" was provided$/);
  });

  test('an unknown environment name', () => {
    const known = environmentsOf(logisticsSolution.definition).join(', ');
    expect(() => buildEnvironment(logisticsSolution, 'nowhere', outdir))
      .toThrow(`logistics: environment must be one of ${known} but "nowhere" was provided`);
  });

  test('the same mistake in dev names dev', () => {
    expect(build({ api: { replicas: 0 } }, 'dev')).toThrow(/^logistics\/dev: api\.replicas must be/);
  });
});

/** logistics with `environment`'s overrides replaced by `overrides`, verbatim (`key: undefined` stays). */
function withEnvironment(environment: string, overrides: Record<string, unknown>): SolutionDefinition<LogisticsSettings> {
  return { ...logistics, environments: { ...logistics.environments, [environment]: overrides as Overrides<LogisticsSettings> } };
}

/** The problems of resolving `environment` of `definition`, which must fail with a ConfigError. */
function problemsOf(definition: SolutionDefinition<LogisticsSettings>, environment: string): readonly string[] {
  try {
    resolveEnvironment(definition, environment);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    expect(configError.message).toBe(configError.problems.join('\n'));
    return configError.problems;
  }
  throw new Error(`${environment} resolved without a problem`);
}

/** The problems of logistics/<environment> with `overrides` laid over its own overrides. */
function problemsWith(overrides: Overrides<LogisticsSettings>, environment = 'prod'): readonly string[] {
  return problemsOf(withEnvironment(environment, layered(logistics.environments[environment] as Record<string, any>, overrides) as Record<string, unknown>), environment);
}

describe('nothing in the configuration is ignored', () => {
  const dev = logistics.environments.dev;

  test('a misspelt key is refused with the closest known key, and the value it lost is missed', () => {
    // The dev API's `replicas: 1` misspelt: silently 3 replicas before.
    const { replicas, ...devApi } = dev.api!;
    expect(replicas).toBe(1);
    expect(problemsOf(withEnvironment('dev', { ...dev, api: { ...devApi, replcas: 1 } }), 'dev')).toEqual([
      'logistics/dev: api.replcas must be a known field (did you mean replicas?) but 1 was provided',
      'logistics/dev: api.replicas must be set to an integer between 1 and 100 when autoscaling is not set but undefined was provided',
    ]);
  });

  test.each([
    ['web.autoscalling', { web: { autoscalling: { minReplicas: 2, maxReplicas: 3 } } },
      'logistics/prod: web.autoscalling must be a known field (did you mean autoscaling?) but {"minReplicas":2,"maxReplicas":3} was provided'],
    ['mysqll', { mysqll: { replicas: 3 } },
      'logistics/prod: mysqll must be a known field (did you mean mysql?) but {"replicas":3} was provided'],
    ['models.route-planning.resources.gpus', { models: { 'route-planning': { resources: { gpus: 1 } } } },
      'logistics/prod: models.route-planning.resources.gpus must be a known field (did you mean gpu?) but 1 was provided'],
    ['api.colour (nothing close)', { api: { colour: 'blue' } },
      'logistics/prod: api.colour must be a known field (one of secretEnv, servicePort, image, replicas, resources, autoscaling, exposure, delivery) but "blue" was provided'],
  ])('%s', (_, overrides, message) => {
    expect(problemsWith(overrides as Overrides<LogisticsSettings>)).toEqual([message]);
  });

  test('a value of the wrong type is refused by the schema', () => {
    expect(problemsWith({ api: { replicas: '3' as never, autoscaling: undefined } })).toEqual([
      'logistics/prod: api.replicas must be a number but "3" was provided',
    ]);
    expect(problemsWith({ production: 'yes' as never })).toEqual([
      'logistics/prod: production must be true or false but "yes" was provided',
    ]);
  });

  test('a required section set to undefined is refused, not removed (web) and not a crash (api)', () => {
    expect(problemsOf(withEnvironment('prod', { ...logistics.environments.prod, web: undefined }), 'prod')).toEqual([
      'logistics/prod: web must be set (it is required; an environment cannot remove it) but undefined was provided',
    ]);
    expect(problemsOf(withEnvironment('prod', { ...logistics.environments.prod, api: undefined }), 'prod')).toEqual([
      'logistics/prod: api must be set (it is required; an environment cannot remove it) but undefined was provided',
    ]);
    expect(() => buildEnvironment({ ...logisticsSolution, definition: withEnvironment('prod', { api: undefined }) }, 'prod', outdir)).toThrow(ConfigError);
  });

  test('sections of the wrong shape are reported, never a crash', () => {
    const garbage = { production: false, api: 5, web: 'web', models: [], application: null, ingress: { hosts: 'a.example.com' }, secretManager: 'vault', namespace: 7 };
    const problems = problemsOf({ ...logistics, defaults: { ...logistics.defaults, ...garbage } as never, environments: { dev: {} } }, 'dev');
    expect(problems).toEqual([
      'logistics/dev: namespace must be a string but 7 was provided',
      'logistics/dev: application must be an object but null was provided',
      'logistics/dev: api must be an object but 5 was provided',
      'logistics/dev: models must be an object but [] was provided',
      'logistics/dev: ingress.hosts must be a list but "a.example.com" was provided',
      'logistics/dev: secretManager must be an object but "vault" was provided',
      'logistics/dev: web must be an object but "web" was provided',
    ]);
  });

  test('an optional section set to undefined is removed', () => {
    expect(resolveEnvironment(logistics, 'dev').settings.api.autoscaling).toBeUndefined();
    expect(resolveEnvironment(logistics, 'dev').settings.ingress?.tls).toBeUndefined();
  });

  test('at compile time, a required key set to undefined or a duplicated key does not compile', () => {
    const definition = defineSolution<LogisticsSettings>();
    // @ts-expect-error web is required: undefined would remove it
    definition({ ...logistics, environments: { prod: { web: undefined } } });
    // @ts-expect-error api.resources is required
    definition({ ...logistics, environments: { prod: { api: { resources: undefined } } } });
    // An optional key may be removed.
    definition({ ...logistics, environments: { dev: { api: { autoscaling: undefined, replicas: 1 } } } });
    const duplicated = {
      replicas: 1,
      // @ts-expect-error a duplicated key keeps only its last value (esbuild only warns)
      replicas: 3,
    };
    expect(duplicated.replicas).toBe(3);
  });

  test('the schema is generated from the settings types: the committed files are up to date', () => {
    const fresh = generateSettingsSchema();
    const stale = 'stale: run npx ts-node lib/config/settings-schema.generate.ts';
    expect({ file: SCHEMA_FILE, content: readFileSync(SCHEMA_FILE, 'utf8') }).toEqual({ file: SCHEMA_FILE, content: fresh.schema });
    expect(readFileSync(VALIDATOR_FILE, 'utf8') === fresh.validator ? 'fresh' : stale).toBe('fresh');
  }, 60000);
});

describe('every problem of an environment is reported at once', () => {
  test('schema problems and value problems of every field, one line each', () => {
    const problems = problemsWith({
      namespace: 'kube-system',
      api: { replcas: 3, image: { tag: 'latest' }, resources: { requests: { memory: '512' }, limits: { cpu: '1000' } } } as never,
      web: { replicas: 5 },
      ingress: { hosts: ['10.0.0.1'] },
      secretManager: undefined,
    });
    expect(problems).toEqual([
      'logistics/prod: api.replcas must be a known field (did you mean replicas?) but 3 was provided',
      'logistics/prod: namespace must be a namespace of its own (not default, kube-system, kube-public, kube-node-lease, which Kubernetes uses) but "kube-system" was provided',
      'logistics/prod: secretManager must be set where production is true (production Secrets come from the secret manager) but undefined was provided',
      'logistics/prod: api.image.tag must be a semantic version MAJOR.MINOR.PATCH such as 1.4.2 (never latest) but "latest" was provided',
      'logistics/prod: api.resources.requests.memory must be a memory quantity with a unit such as 512Mi (without one it is 512 bytes) but "512" was provided',
      'logistics/prod: api.resources.limits.cpu must be a CPU quantity of at most 64 cores (did you mean 1000m?) but "1000" was provided',
      'logistics/prod: web.replicas must be unset when autoscaling is set (the HorizontalPodAutoscaler owns the count: set autoscaling.minReplicas) but 5 was provided',
      'logistics/prod: ingress.hosts[0] must be a DNS host name, not an IP address (an Ingress routes host names) but "10.0.0.1" was provided',
    ]);
  });

  test('a single problem is a ConfigError whose message is that one line', () => {
    const error = new ConfigError('logistics/prod: api.replicas must be an integer between 1 and 100 but 0 was provided');
    expect(error.problems).toEqual([error.message]);
  });
});

describe('values the cluster would reject or that are surely mistakes', () => {
  test.each(['default', 'kube-system', 'kube-public', 'kube-node-lease'])('the reserved namespace %s', (namespace) => {
    expect(problemsWith({ namespace })).toEqual([
      `logistics/prod: namespace must be a namespace of its own (not default, kube-system, kube-public, kube-node-lease, which Kubernetes uses) but ${JSON.stringify(namespace)} was provided`,
    ]);
  });

  test('a derived namespace is checked too: solution kube, environment public', () => {
    const kube = { ...logistics, name: 'kube', environments: { public: logistics.environments.dev } };
    expect(problemsOf(kube, 'public')).toEqual([
      'kube/public: namespace must be a namespace of its own (not default, kube-system, kube-public, kube-node-lease, which Kubernetes uses) but "kube-public" was provided',
    ]);
  });

  test('an Ingress host that is an IP address', () => {
    expect(problemsWith({ ingress: { hosts: ['logistics.example.com', '192.168.1.10'] } })).toEqual([
      'logistics/prod: ingress.hosts[1] must be a DNS host name, not an IP address (an Ingress routes host names) but "192.168.1.10" was provided',
    ]);
  });

  test.each([
    ['512', 'api.resources.requests.memory must be a memory quantity with a unit such as 512Mi (without one it is 512 bytes) but "512" was provided'],
    ['512Ki', 'api.resources.requests.memory must be a memory quantity of at least 1Mi but "512Ki" was provided'],
  ])('memory %s', (memory, message) => {
    expect(problemsWith({ api: { resources: { requests: { memory } } } })).toEqual([`logistics/prod: ${message}`]);
  });

  test('a CPU count surely meant in millicores', () => {
    expect(problemsWith({ api: { resources: { requests: { cpu: '1000' }, limits: { cpu: '2000' } } } })).toEqual([
      'logistics/prod: api.resources.requests.cpu must be a CPU quantity of at most 64 cores (did you mean 1000m?) but "1000" was provided',
      'logistics/prod: api.resources.limits.cpu must be a CPU quantity of at most 64 cores (did you mean 2000m?) but "2000" was provided',
    ]);
  });

  test('replicas where the HorizontalPodAutoscaler owns the count', () => {
    expect(problemsWith({ api: { replicas: 5 } })).toEqual([
      'logistics/prod: api.replicas must be unset when autoscaling is set (the HorizontalPodAutoscaler owns the count: set autoscaling.minReplicas) but 5 was provided',
    ]);
    expect(problemsWith({ models: { 'demand-forecast': { replicas: 2 } } })).toEqual([
      'logistics/prod: models.demand-forecast.replicas must be unset when autoscaling is set (the HorizontalPodAutoscaler owns the count: set autoscaling.minReplicas) but 2 was provided',
    ]);
  });

  test('no replicas and no autoscaling', () => {
    expect(problemsWith({ api: { autoscaling: undefined } })).toEqual([
      'logistics/prod: api.replicas must be set to an integer between 1 and 100 when autoscaling is not set but undefined was provided',
    ]);
  });

  test('a memory request above its limit', () => {
    expect(problemsWith({ api: { resources: { requests: { memory: '4Gi' } } } })).toEqual([
      'logistics/prod: api.resources.requests.memory must be at most api.resources.limits.memory (2Gi) but "4Gi" was provided',
    ]);
  });

  test.each(['LATEST', 'Latest', 'STABLE', 'latest'])('the moving tag %s', (tag) => {
    expect(problemsWith({ api: { image: { tag } } })).toEqual([
      `logistics/prod: api.image.tag must be a semantic version MAJOR.MINOR.PATCH such as 1.4.2 (never latest) but ${JSON.stringify(tag)} was provided`,
    ]);
  });
});

describe('production is a property of the environment', () => {
  test('prod of both solutions is production, dev and test are not', () => {
    for (const definition of [logistics, realEstate] as SolutionDefinition<LogisticsSettings>[]) {
      expect(['dev', 'test', 'prod'].map((e) => [e, resolveEnvironment(definition, e).production]))
        .toEqual([['dev', false], ['test', false], ['prod', true]]);
    }
  });

  test('a production environment without a secret manager', () => {
    expect(problemsWith({ secretManager: undefined })).toEqual([
      'logistics/prod: secretManager must be set where production is true (production Secrets come from the secret manager) but undefined was provided',
    ]);
  });

  test('any environment can be production, whatever its name', () => {
    expect(problemsWith({ production: true }, 'test')).toEqual([
      'logistics/test: secretManager must be set where production is true (production Secrets come from the secret manager) but undefined was provided',
    ]);
    expect(resolveEnvironment(withEnvironment('test', { ...logistics.environments.test, production: true, secretManager: { storeName: 'vault-backend' } }), 'test').production).toBe(true);
  });
});

describe('what the matrix checks read', () => {
  test('namespaceOf: the configured namespace, else <solution>-<environment>', () => {
    expect(namespaceOf(resolveEnvironment(logistics, 'prod'))).toBe('logistics-prod');
    expect(namespaceOf(resolveEnvironment(withEnvironment('prod', { ...logistics.environments.prod, namespace: 'shipping' }), 'prod'))).toBe('shipping');
  });

  test('ingressHostsOf: the hosts of the Ingress, none without one', () => {
    expect(ingressHostsOf(resolveEnvironment(logistics, 'dev'))).toEqual(['logistics.dev.example.com']);
    expect(ingressHostsOf(resolveEnvironment(withEnvironment('dev', { ...logistics.environments.dev, ingress: undefined }), 'dev'))).toEqual([]);
  });
});
