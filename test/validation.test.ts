/**
 * Every Validator check accepts the values people mean and refuses the others with
 * `<where>: <field> must be <expectation> but <value> was provided` (lib/validation.ts).
 */
import { Chart, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import { validateImage } from '../lib/images';
import { validateResources } from '../lib/resources';
import { ConfigError, ENVIRONMENT_CONTEXT_KEY, locationOf, ProblemCollector, SOLUTION_CONTEXT_KEY, Validator } from '../lib/validation';

const v = new Validator('logistics/prod', 'api');

/** The message a refused value gives, as a whole-line pattern. */
function refusal(field: string, expectation: string, shown: string): RegExp {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^logistics/prod: api\\.${escape(field)} must be ${escape(expectation)} but ${escape(shown)} was provided$`);
}

/** Runs `check` and returns the ConfigError it throws. */
function errorOf(check: () => unknown): ConfigError {
  try {
    check();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, but the value was accepted');
}

describe('Validator message shape', () => {
  test('names where, the prefixed field, the expectation and the value as JSON', () => {
    const error = errorOf(() => v.integer('replicas', 0, 1, 100));
    expect(error.name).toBe('ConfigError');
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe('logistics/prod: api.replicas must be an integer between 1 and 100 but 0 was provided');
  });

  test('a validator without a prefix names the bare field', () => {
    expect(() => new Validator('logistics/prod').dnsLabel('namespace', 'Prod')).toThrow(
      /^logistics\/prod: namespace must be a DNS label .* but "Prod" was provided$/,
    );
  });

  test('nested validators name the path of the field', () => {
    const nested = v.nested('resources').nested('limits');
    expect(nested.field('cpu')).toBe('api.resources.limits.cpu');
    expect(nested.where).toBe('logistics/prod');
    expect(() => nested.cpu('cpu', '2 cores')).toThrow(
      /^logistics\/prod: api\.resources\.limits\.cpu must be a CPU quantity such as 500m or 2 but "2 cores" was provided$/,
    );
    expect(new Validator('x').nested('a').field('b')).toBe('a.b');
  });

  test('fail() always throws', () => {
    expect(() => v.fail('hosts', 'a list without duplicates', 'a.example.com')).toThrow(
      refusal('hosts', 'a list without duplicates', '"a.example.com"'),
    );
    expect(() => v.fail('tls', 'set', undefined)).toThrow(refusal('tls', 'set', 'undefined'));
  });

  test('a passing check returns the value', () => {
    expect(v.integer('replicas', 3, 1)).toBe(3);
    expect(v.cpu('cpu', '500m')).toBe('500m');
    expect(v.hostname('host', 'api.example.com')).toBe('api.example.com');
    expect(v.pinnedImage('image', 'mysql:8.0.39')).toBe('mysql:8.0.39');
  });
});

/** [method, good values, bad values, expectation in the message] for the string checks. */
type StringCheck = (field: string, value: string) => string;
const stringChecks: [string, StringCheck, string[], string[], string][] = [
  ['cpu', (f, x) => v.cpu(f, x),
    ['500m', '2', '0.5', '100m', '1.25', '16', '64', '64000m'],
    ['2 cores', '-1', '500M', '0', '0m', '', '1.2345', '2Gi', '.5', '05m'],
    'a CPU quantity such as 500m or 2'],
  ['memory', (f, x) => v.memory(f, x),
    ['512Mi', '1G', '2Gi', '1.5Gi', '1Mi', '64M', '1048576k'],
    ['1GB', '0', '0Mi', '-1Gi', '512mi', '1 Gi', '500m', '', 'Gi'],
    'a memory quantity such as 512Mi or 2Gi'],
  ['storage', (f, x) => v.storage(f, x),
    ['100Gi', '1Ti', '500Mi', '50Gi'],
    ['100GB', '100G', '0Gi', '1.5Gi', '100', '100Ki', '', '010Gi'],
    'a storage size in binary units such as 10Gi or 1Ti'],
  ['hostname', (f, x) => v.hostname(f, x),
    ['api.example.com', 'api.real-estate.example.com', 'logistics.dev.example.com', '*.example.com', 'a1.b2.io', '1.2.3.example.com'],
    ['localhost', 'API.example.com', 'logistics_prod.example.com', 'api.example.com.', '-api.example.com', '*.com',
      'a.*.example.com', '*example.com', '', 'api..example.com', `${'a'.repeat(250)}.com`, 'https://api.example.com'],
    'a fully qualified DNS host name such as api.example.com'],
  ['dnsLabel', (f, x) => v.dnsLabel(f, x),
    ['api', 'mysql-primary', 'a1', '1a', 'a'.repeat(63)],
    ['Api', '-api', 'api-', 'a_b', 'a.b', 'a'.repeat(64), '', 'a b'],
    "a DNS label (lower-case letters, digits and '-', at most 63 characters)"],
  ['dnsSubdomain', (f, x) => v.dnsSubdomain(f, x),
    ['logistics-secret', 'a.b-c', 'real-estate-api-tls', 'nginx'],
    ['Logistics_Secret', '', 'my cert', '.a', 'a.', 'a..b', 'a'.repeat(254)],
    "a DNS subdomain name (lower-case letters, digits, '-' and '.', at most 253 characters)"],
  ['semverTag', (f, x) => v.semverTag(f, x),
    ['1.2.3', 'v2.3.4', '1.0.0-rc.1', '1.0.0+build.5', '0.0.1', '10.20.30-alpha.1+sha.5114f85'],
    ['latest', '1.2', '01.2.3', '1.2.3.4', '', 'v', '1.2.x', 'stable'],
    'a semantic version MAJOR.MINOR.PATCH such as 1.4.2 (never latest)'],
  ['imageRepository', (f, x) => v.imageRepository(f, x),
    ['registry.example.com/logistics/api', 'mysql', 'milvusdb/milvus', 'registry.example.com:5000/team/app'],
    ['registry.example.com/api:1.0.0', 'Registry/App', '', 'a//b', 'mysql@sha256:abc'],
    'an image repository such as registry.example.com/team/app (no tag)'],
  ['pinnedImage', (f, x) => v.pinnedImage(f, x),
    ['mysql:8.0.39', 'postgres:14.13', 'redis:7.2.5-alpine', 'milvusdb/milvus:v2.3.21', 'registry.example.com:5000/team/app:1.2.3'],
    ['mysql', 'mysql:latest', 'mysql:8', 'redis:stable', 'MySQL:8.0.39', 'registry.example.com:5000/mysql', 'mysql:', ':8.0.39', 'mysql:8.0 39', ''],
    'an image pinned to a release tag such as mysql:8.0.39 (never latest or a bare major)'],
  ['envVarName', (f, x) => v.envVarName(f, x),
    ['DB_PASSWORD', '_X', 'a1', 'MODEL_ROUTE_PLANNING_URL'],
    ['1X', 'DB-PASSWORD', '', 'A B', 'DB.PASSWORD'],
    'an environment variable name'],
  ['nonEmpty', (f, x) => v.nonEmpty(f, x),
    ['x', 'Intelligent Logistics Platform'],
    ['', '  ', '\n'],
    'a non-empty string'],
];

describe.each(stringChecks)('Validator.%s', (method, check, good, bad, expectation) => {
  test.each(good)(`accepts %j`, (value) => {
    expect(check('field', value)).toBe(value);
  });

  test.each(bad)(`refuses %j`, (value) => {
    expect(() => check('field', value)).toThrow(refusal('field', expectation, JSON.stringify(value)));
  });

  test('refuses a value that is not a string', () => {
    expect(() => check('field', 42 as unknown as string)).toThrow(ConfigError);
  });

  test(`${method} names the field it was given`, () => {
    expect(() => check('resources.limits.x', bad[0])).toThrow(/: api\.resources\.limits\.x must be /);
  });
});

describe('Validator.dnsLabel with a shorter maximum (names that get suffixes)', () => {
  test('accepts up to the maximum and names the maximum when refusing', () => {
    expect(v.dnsLabel('name', 'a'.repeat(52), 52)).toHaveLength(52);
    expect(() => v.dnsLabel('name', 'a'.repeat(53), 52)).toThrow(
      refusal('name', "a DNS label (lower-case letters, digits and '-', at most 52 characters)", JSON.stringify('a'.repeat(53))),
    );
  });
});

describe('Validator.integer', () => {
  test.each([[1, 1, 100], [100, 1, 100], [0, 0, 100], [3, 1, undefined]])('accepts %d in [%d, %s]', (value, min, max) => {
    expect(v.integer('replicas', value, min, max)).toBe(value);
  });

  test.each([
    [0, 1, 100, 'an integer between 1 and 100', '0'],
    [101, 1, 100, 'an integer between 1 and 100', '101'],
    [1.5, 1, 100, 'an integer between 1 and 100', '1.5'],
    [0, 1, undefined, 'an integer >= 1', '0'],
    [-1, 0, undefined, 'an integer >= 0', '-1'],
    ['3' as unknown as number, 1, 100, 'an integer between 1 and 100', '"3"'],
  ])('refuses %j in [%d, %s]', (value, min, max, expectation, shown) => {
    expect(() => v.integer('replicas', value, min, max)).toThrow(refusal('replicas', expectation, shown));
  });
});

describe('Validator.number', () => {
  test('accepts the bounds and between', () => {
    expect(v.number('ratio', 0, 0, 1)).toBe(0);
    expect(v.number('ratio', 0.8, 0, 1)).toBe(0.8);
    expect(v.number('ratio', 1, 0, 1)).toBe(1);
  });

  test.each([[1.5, '1.5'], [-0.1, '-0.1'], ['0.5' as unknown as number, '"0.5"']])('refuses %j', (value, shown) => {
    expect(() => v.number('ratio', value, 0, 1)).toThrow(refusal('ratio', 'a number between 0 and 1', shown));
  });

  test('refuses NaN', () => {
    expect(() => v.number('ratio', Number.NaN, 0, 1)).toThrow(/api\.ratio must be a number between 0 and 1 but /);
  });
});

describe('Validator.oneOf', () => {
  const allowed = ['ClusterIP', 'LoadBalancer'] as const;
  test('accepts a member', () => {
    expect(v.oneOf('exposure', 'LoadBalancer', allowed)).toBe('LoadBalancer');
  });
  test('refuses anything else and lists the members', () => {
    expect(() => v.oneOf('exposure', 'Loadbalancer' as never, allowed)).toThrow(
      refusal('exposure', 'one of ClusterIP, LoadBalancer', '"Loadbalancer"'),
    );
  });
});

describe('Validator.notAbove', () => {
  test.each([
    ['500m', '2'], ['2', '2'], ['1Gi', '1024Mi'], ['512Mi', '2Gi'], ['1000m', '1'],
  ])('accepts a request of %s under a limit of %s', (request, limit) => {
    expect(() => v.notAbove('requests.cpu', request, 'limits.cpu', limit)).not.toThrow();
  });

  test('refuses a request above its limit and names the limit', () => {
    expect(() => v.notAbove('requests.cpu', '4', 'limits.cpu', '2')).toThrow(
      refusal('requests.cpu', 'at most api.limits.cpu (2)', '"4"'),
    );
    expect(() => v.notAbove('requests.memory', '1Gi', 'limits.memory', '1G')).toThrow(
      refusal('requests.memory', 'at most api.limits.memory (1G)', '"1Gi"'),
    );
  });
});

describe('Validator.secretKeyRef', () => {
  test.each([
    { name: 'logistics-secret', key: 'db_password' },
    { name: 'real-estate-secrets', key: 'database-url' },
    { name: 'tls', key: 'tls.crt' },
  ])('accepts %j', (ref) => {
    expect(() => v.secretKeyRef('secretEnv.X', ref)).not.toThrow();
  });

  test('refuses a missing reference', () => {
    expect(() => v.secretKeyRef('secretEnv.X', undefined)).toThrow(
      refusal('secretEnv.X', 'a reference to an existing Secret ({ name, key })', 'undefined'),
    );
  });

  test.each([
    [{ name: '', key: 'k' }, 'secretEnv.X.name', '""'],
    [{ name: 'Logistics_Secret', key: 'k' }, 'secretEnv.X.name', '"Logistics_Secret"'],
  ])('refuses the Secret name of %j', (ref, field, shown) => {
    expect(() => v.secretKeyRef('secretEnv.X', ref)).toThrow(
      refusal(field, "a DNS subdomain name (lower-case letters, digits, '-' and '.', at most 253 characters)", shown),
    );
  });

  test.each([
    [{ name: 's', key: '' }, '""'],
    [{ name: 's', key: 'a/b' }, '"a/b"'],
    [{ name: 's', key: 'db password' }, '"db password"'],
    [{ name: 's', key: 'k'.repeat(254) }, JSON.stringify('k'.repeat(254))],
  ])('refuses the key of %j', (ref, shown) => {
    expect(() => v.secretKeyRef('secretEnv.X', ref)).toThrow(
      refusal('secretEnv.X.key', "a Secret key (letters, digits, '-', '_' and '.')", shown),
    );
  });
});

describe('locationOf and Validator.of', () => {
  function appChart(context: Record<string, string>): Chart {
    const app = Testing.app();
    for (const [key, value] of Object.entries(context)) app.node.setContext(key, value);
    return new Chart(app, 'app');
  }

  test('inside an environment App it is <solution>/<environment>', () => {
    const chart = appChart({ [SOLUTION_CONTEXT_KEY]: 'logistics', [ENVIRONMENT_CONTEXT_KEY]: 'prod' });
    const deep = new Construct(new Construct(chart, 'tier'), 'api');
    expect(locationOf(deep)).toBe('logistics/prod');
    expect(locationOf(chart)).toBe('logistics/prod');
  });

  test('in Testing.chart() it is the chart id', () => {
    const chart = Testing.chart();
    expect(locationOf(new Construct(new Construct(chart, 'tier'), 'api'))).toBe('test');
    expect(locationOf(chart)).toBe('test');
  });

  test('with a solution but no environment it falls back to the chart id', () => {
    const chart = appChart({ [SOLUTION_CONTEXT_KEY]: 'logistics' });
    expect(locationOf(new Construct(chart, 'api'))).toBe('app');
  });

  test('the App itself is "app"', () => {
    expect(locationOf(Testing.app())).toBe('app');
  });

  test('Validator.of prefixes fields with the construct id, or the prefix given', () => {
    const chart = appChart({ [SOLUTION_CONTEXT_KEY]: 'real-estate', [ENVIRONMENT_CONTEXT_KEY]: 'dev' });
    const api = new Construct(chart, 'api');
    expect(() => Validator.of(api).integer('replicas', 0, 1)).toThrow(
      /^real-estate\/dev: api\.replicas must be an integer >= 1 but 0 was provided$/,
    );
    expect(() => Validator.of(api, 'api.autoscaling').integer('minReplicas', 0, 1, 1000)).toThrow(
      /^real-estate\/dev: api\.autoscaling\.minReplicas must be an integer between 1 and 1000 but 0 was provided$/,
    );
    expect(() => Validator.of(new Construct(Testing.chart(), 'web')).cpu('resources.limits.cpu', '1 core')).toThrow(
      /^test: web\.resources\.limits\.cpu must be a CPU quantity such as 500m or 2 but "1 core" was provided$/,
    );
  });
});

describe('Validator shows NaN and Infinity as such', () => {
  test('NaN is shown as NaN', () => {
    expect(() => v.integer('replicas', Number.NaN, 1, 100)).toThrow(refusal('replicas', 'an integer between 1 and 100', 'NaN'));
  });
  test('Infinity is shown as Infinity', () => {
    expect(() => v.integer('replicas', Number.POSITIVE_INFINITY, 1, 100)).toThrow(refusal('replicas', 'an integer between 1 and 100', 'Infinity'));
  });
});

describe('Validator.notAbove compares millicores exactly', () => {
  test.each([['700m', '0.7'], ['300m', '0.3'], ['1700m', '1.7']])('accepts a request of %s under a limit of %s', (request, limit) => {
    expect(() => v.notAbove('requests.cpu', request, 'limits.cpu', limit)).not.toThrow();
  });
});

describe('values that are surely mistakes', () => {
  test.each([['1000', '1000m'], ['65', '65m'], ['128', '128m']])('a CPU count of %s cores is refused with the millicores it surely meant', (cpu, meant) => {
    expect(() => v.cpu('resources.limits.cpu', cpu)).toThrow(
      refusal('resources.limits.cpu', `a CPU quantity of at most 64 cores (did you mean ${meant}?)`, JSON.stringify(cpu)),
    );
  });

  test('more than 64 cores as a decimal gets no hint', () => {
    expect(() => v.cpu('cpu', '100.5')).toThrow(refusal('cpu', 'a CPU quantity of at most 64 cores', '"100.5"'));
  });

  test.each(['512', '128974848', '1'])('memory %s without a unit is refused, saying it is bytes', (memory) => {
    expect(() => v.memory('resources.requests.memory', memory)).toThrow(
      refusal('resources.requests.memory', `a memory quantity with a unit such as ${memory}Mi (without one it is ${memory} bytes)`, JSON.stringify(memory)),
    );
  });

  test.each(['512Ki', '64k', '1M', '0.5Mi'])('memory %s below 1Mi is refused', (memory) => {
    expect(() => v.memory('resources.requests.memory', memory)).toThrow(
      refusal('resources.requests.memory', 'a memory quantity of at least 1Mi', JSON.stringify(memory)),
    );
  });

  test.each(['10.0.0.1', '192.168.1.10', '1.2.3.4'])('an IP address %s is not an Ingress host', (host) => {
    expect(() => v.hostname('hosts[0]', host)).toThrow(
      refusal('hosts[0]', 'a DNS host name, not an IP address (an Ingress routes host names)', JSON.stringify(host)),
    );
  });

  test.each(['default', 'kube-system', 'kube-public', 'kube-node-lease'])('the namespace %s is reserved', (namespace) => {
    expect(() => v.namespace('namespace', namespace)).toThrow(
      refusal('namespace', 'a namespace of its own (not default, kube-system, kube-public, kube-node-lease, which Kubernetes uses)', JSON.stringify(namespace)),
    );
  });

  test('a namespace of its own is accepted, one that is not a DNS label refused', () => {
    expect(v.namespace('namespace', 'logistics-prod')).toBe('logistics-prod');
    expect(v.namespace('namespace', 'kube-system-2')).toBe('kube-system-2');
    expect(() => v.namespace('namespace', 'Kube_System')).toThrow(/must be a DNS label/);
  });

  test.each(['LATEST', 'Latest', 'STABLE', 'Stable'])('the moving tag %s in any case is not a release', (tag) => {
    expect(() => v.semverTag('image.tag', tag)).toThrow(
      refusal('image.tag', 'a semantic version MAJOR.MINOR.PATCH such as 1.4.2 (never latest)', JSON.stringify(tag)),
    );
    expect(() => v.pinnedImage('image', `mysql:${tag}`)).toThrow(
      refusal('image', 'an image pinned to a release tag such as mysql:8.0.39 (never latest or a bare major)', JSON.stringify(`mysql:${tag}`)),
    );
  });
});

describe('every problem at once', () => {
  test('a ConfigError made of several problems has one line per problem', () => {
    const error = new ConfigError(['logistics/prod: a must be x but 1 was provided', 'logistics/prod: b must be y but 2 was provided']);
    expect(error.problems).toEqual(['logistics/prod: a must be x but 1 was provided', 'logistics/prod: b must be y but 2 was provided']);
    expect(error.message).toBe('logistics/prod: a must be x but 1 was provided\nlogistics/prod: b must be y but 2 was provided');
    expect(error.name).toBe('ConfigError');
  });

  test('a ConfigError made of one message keeps it as its one problem', () => {
    expect(new ConfigError('logistics: x must be y but 1 was provided').problems).toEqual(['logistics: x must be y but 1 was provided']);
  });

  test('ProblemCollector runs every check, keeps their problems once each and rethrows other errors', () => {
    const problems = new ProblemCollector();
    problems.check(() => v.integer('replicas', 0, 1, 100));
    problems.check(() => v.cpu('cpu', '2 cores'));
    problems.check(() => v.integer('replicas', 0, 1, 100));
    problems.check(() => v.integer('replicas', 3, 1, 100));
    expect(problems.problems).toEqual([
      'logistics/prod: api.replicas must be an integer between 1 and 100 but 0 was provided',
      'logistics/prod: api.cpu must be a CPU quantity such as 500m or 2 but "2 cores" was provided',
    ]);
    expect(() => problems.throwIfAny()).toThrow(ConfigError);
    expect(() => problems.check(() => { throw new TypeError('a bug'); })).toThrow(TypeError);
    expect(() => new ProblemCollector().throwIfAny()).not.toThrow();
  });

  test('validateResources reports every bad quantity and the memory request above its limit', () => {
    const problems = (() => {
      try {
        validateResources(v, 'resources', { requests: { cpu: '1000', memory: '4Gi' }, limits: { cpu: '2 cores', memory: '2Gi' }, gpu: 0.5 });
      } catch (error) {
        return (error as ConfigError).problems;
      }
      return [];
    })();
    expect(problems).toEqual([
      'logistics/prod: api.resources.requests.cpu must be a CPU quantity of at most 64 cores (did you mean 1000m?) but "1000" was provided',
      'logistics/prod: api.resources.limits.cpu must be a CPU quantity such as 500m or 2 but "2 cores" was provided',
      'logistics/prod: api.resources.requests.memory must be at most api.resources.limits.memory (2Gi) but "4Gi" was provided',
      'logistics/prod: api.resources.gpu must be an integer between 0 and 16 but 0.5 was provided',
    ]);
  });

  test('validateImage reports the repository and the tag', () => {
    expect(() => validateImage(v, 'image', { repository: 'Registry/App', tag: 'Latest' })).toThrow(
      /^logistics\/prod: api\.image\.repository must be .* but "Registry\/App" was provided\nlogistics\/prod: api\.image\.tag must be .* but "Latest" was provided$/,
    );
  });
});
