/** Every configuration value is checked when the app is built; a bad one names solution, environment, field and value. */
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { logistics, LogisticsSettings } from '../lib/config/logistics';
import { applyOverrides, Overrides } from '../lib/config/overrides';
import { resolveEnvironment } from '../lib/config/solution-definition';
import { logisticsSolution } from '../lib/solutions/logistics';
import { buildEnvironment } from '../lib/solutions/solution';
import { ConfigError } from '../lib/validation';

const outdir = mkdtempSync(join(tmpdir(), 'config-test-'));

/** Builds logistics/<environment> with `overrides` laid over that environment's configuration. */
function build(overrides: Overrides<LogisticsSettings>, environment = 'prod') {
  const definition = {
    ...logistics,
    environments: { ...logistics.environments, [environment]: applyOverrides(logistics.environments[environment], overrides) },
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
      /^logistics\/prod: namespace\.name must be a DNS label .* but "Logistics Prod" was provided$/],
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
    expect(() => buildEnvironment(logisticsSolution, 'staging', outdir))
      .toThrow(/^logistics: environment must be one of dev, test, prod but "staging" was provided$/);
  });

  test('the same mistake in dev names dev', () => {
    expect(build({ api: { replicas: 0 } }, 'dev')).toThrow(/^logistics\/dev: api\.replicas must be/);
  });
});
