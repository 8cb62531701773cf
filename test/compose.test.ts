/**
 * `npm run compose` (scripts/compose.ts, lib/ops/compose/): for every environment of both
 * solutions, the docker-compose.yml validates against the vendored Compose specification schema,
 * runs the same images as dist/, gives the API every environment variable name it reads in dist/
 * with in-cluster hosts rewritten to compose services, and interpolates exactly the variables
 * `.env.example` lists. The Redis service's own command, its cluster init and its healthcheck run
 * against a real redis-server. The script as a user runs it writes a valid file for real-estate.
 */
import { spawn } from 'child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import Ajv, { ValidateFunction } from 'ajv';
import { load, loadAll } from 'js-yaml';
import { environmentsOf } from '../lib/config/solution-definition';
import { composeProject, ComposeProject, environmentObjects, imageRepository, ManifestObject } from '../lib/ops/compose';
import { SOLUTIONS } from '../lib/solutions';
import { ConfigError } from '../lib/validation';
import { parseArguments } from '../scripts/compose';
import { describeWithBinaries, findBinary, freePort, run, ServerProcess, tempDir, waitFor } from './support/real-servers';

const ROOT = join(__dirname, '..');
const TS_NODE = require.resolve('ts-node/dist/bin.js');

function composeValidator(): ValidateFunction {
  const ajv = new Ajv({ allErrors: true, strict: false });
  // The schema names its meta-schema https://json-schema.org/draft-07/schema, a spelling Ajv does not register.
  const meta = require('ajv/dist/refs/json-schema-draft-07.json');
  ajv.addMetaSchema({ ...meta, $id: 'https://json-schema.org/draft-07/schema' });
  return ajv.compile(JSON.parse(readFileSync(join(ROOT, 'schemas/compose-spec.json'), 'utf8')));
}
const validate = composeValidator();

/** Compose's `$$` is one `$`: the text a shell in the container receives. */
const unescape = (s: string) => s.replace(/\$\$/g, '$');

const workspace = tempDir('compose-test');
afterAll(() => workspace.remove());

/** dist/ as `npm run synth` writes it now, read with js-yaml (the generator reads with yaml). */
const dist = join(workspace.path, 'dist');
beforeAll(() => {
  run(process.execPath, ['scripts/synth.js'], { cwd: ROOT, env: { SYNTH_OUTDIR: dist, CDK8S_OUTDIR: '' } });
}, 120_000);

function distObjects(solution: string, environment: string): ManifestObject[] {
  const folder = join(dist, solution, environment);
  return readdirSync(folder).filter((f) => f.endsWith('.yaml')).sort()
    .flatMap((f) => loadAll(readFileSync(join(folder, f), 'utf8')) as ManifestObject[]).filter((o) => o);
}

const podSpecs = (objects: ManifestObject[]) => objects
  .filter((o) => ['Deployment', 'StatefulSet', 'Rollout'].includes(o.kind))
  .map((o) => ({ o, spec: o.spec.template.spec }));

const matrix = SOLUTIONS.flatMap((s) => environmentsOf(s.definition).map((environment) => [s.definition.name, environment] as const));

describe.each(matrix)('%s/%s', (solution, environment) => {
  let project: ComposeProject;
  let file: Record<string, any>;
  let objects: ManifestObject[];
  beforeAll(() => {
    project = composeProject({ solution, environment, objects: environmentObjects(SOLUTIONS.find((s) => s.definition.name === solution)!, environment) });
    file = load(project.yaml) as Record<string, any>;
    objects = distObjects(solution, environment);
  }, 120_000);

  test('the file validates against the Compose specification schema', () => {
    expect(validate(file) ? [] : validate.errors).toEqual([]);
  });

  test('every image is the one dist/ runs; each store runs the image of its StatefulSet', () => {
    const distImages = new Set(podSpecs(objects).flatMap(({ spec }) => [...spec.containers, ...(spec.initContainers ?? [])].map((c: any) => c.image)));
    for (const [name, service] of Object.entries<any>(file.services)) {
      expect([name, distImages.has(service.image)]).toEqual([name, true]);
    }
    const byRepository = (repo: string) => [...distImages].filter((i) => imageRepository(i) === repo);
    for (const [service, repo] of [['mysql', 'mysql'], ['postgres', 'postgres'], ['redis', 'redis'], ['milvus', 'milvusdb/milvus'], ['etcd', 'quay.io/coreos/etcd'], ['minio', 'minio/minio']]) {
      const images = byRepository(repo);
      if (images.length === 0) {
        expect(file.services[service]).toBeUndefined();
      } else {
        expect(images).toEqual([file.services[service].image]);
      }
    }
  });

  test('the API reads every environment variable name its container reads in dist/', () => {
    const api = podSpecs(objects).find(({ o }) => o.spec.template.metadata.labels['app.kubernetes.io/component'] === 'api')!.spec.containers[0];
    const configMaps = new Map(objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o.data ?? {}]));
    const names = [
      ...(api.env ?? []).map((e: any) => e.name),
      ...(api.envFrom ?? []).flatMap((s: any) => Object.keys(configMaps.get(s.configMapRef.name)!)),
    ];
    expect(names.length).toBeGreaterThan(3);
    expect(Object.keys(file.services.api.environment).sort()).toEqual([...new Set(names)].sort());
    expect(file.services.api.image).toBe(api.image);
    expect(file.services.api.ports).toEqual(api.ports.map((p: any) => `127.0.0.1:${p.containerPort}:${p.containerPort}`));
  });

  test('no app variable names an in-cluster Service the stack does not run; every host is a compose service', () => {
    const k8sServices = new Set(objects.filter((o) => o.kind === 'Service').map((o) => o.metadata.name));
    const composeServices = new Set(Object.keys(file.services));
    for (const [name, service] of Object.entries<any>(file.services)) {
      for (const [variable, value] of Object.entries<string>(service.environment ?? {})) {
        const host = /^(?:[a-z]+:\/\/)?([a-z0-9-]+)(?::\d+)?(?:\/.*)?$/.exec(value)?.[1];
        if (host && k8sServices.has(host)) expect([name, variable, value, composeServices.has(host)]).toEqual([name, variable, value, true]);
      }
      for (const dep of Object.keys(service.depends_on ?? {})) expect(composeServices.has(dep)).toBe(true);
    }
  });

  test('the stores: single instances with a healthcheck and a named volume each', () => {
    const stores = ['mysql', 'postgres', 'redis', 'milvus', 'etcd', 'minio'].filter((s) => file.services[s]);
    expect(stores.length).toBeGreaterThanOrEqual(4);
    for (const name of stores) {
      const service = file.services[name];
      expect([name, service.healthcheck?.test?.length > 1, service.deploy, service.scale]).toEqual([name, true, undefined, undefined]);
      const [volume] = service.volumes[0].split(':');
      expect(file.volumes).toHaveProperty([volume]);
    }
    expect(file.services.api.depends_on).toMatchObject(Object.fromEntries(stores.filter((s) => s !== 'etcd' && s !== 'minio').map((s) => [s, { condition: 'service_healthy' }])));
  });

  test('every interpolated variable is in .env.example with an empty value, and nothing else is', () => {
    const interpolated = new Set([...project.yaml.replace(/\$\$/g, '').matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]));
    const lines = project.envExample.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(lines.every((l) => /^[A-Z0-9_]+=$/.test(l))).toBe(true);
    expect(lines.map((l) => l.slice(0, -1)).sort()).toEqual([...interpolated].sort());
    expect(project.secrets.map((s) => s.variable).sort()).toEqual([...interpolated].sort());
    // Secrets are references: no value of a Secret object is in the file.
    expect(project.yaml).not.toMatch(/password: [^"$]/i);
  });
});

describe('the generator on hand-made objects', () => {
  const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'demo-dev' } };
  const deployment = (name: string, component: string, container: Record<string, any>, volumes: any[] = []) => ({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
    spec: { template: { metadata: { labels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/component': component } }, spec: { containers: [{ name, ...container }], volumes } } },
  });
  const service = (name: string, port: number, targetPort: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: { 'app.kubernetes.io/name': name }, ports: [{ port, targetPort }] } });
  const model = deployment('model', 'ai', { image: 'model:1', ports: [{ name: 'http', containerPort: 8080 }] });

  test('qualified in-cluster hosts and Service ports become compose hosts and container ports; $ is escaped', () => {
    const api = deployment('api', 'api', {
      image: 'api:1', ports: [{ name: 'http', containerPort: 8000 }],
      env: [
        { name: 'MODEL_URL', value: 'http://model.demo-dev.svc.cluster.local:80/predict' },
        { name: 'MODEL_HOST', value: 'model' }, { name: 'MODEL_PORT', value: '80' },
        { name: 'ELSEWHERE', value: 'http://model.other-ns:80' },
        { name: 'PRICE', value: '$5' }, { name: 'LABEL', value: 'at $(MODEL_HOST)' },
      ],
    });
    const file = load(composeProject({ solution: 'demo', environment: 'dev', objects: [ns, api, model, service('model', 80, 'http')] }).yaml) as any;
    expect(file.services.api.environment).toEqual({
      MODEL_URL: 'http://model:8080/predict', MODEL_HOST: 'model', MODEL_PORT: '8080', ELSEWHERE: 'http://model.other-ns:80', PRICE: '$$5', LABEL: 'at model',
    });
    expect(file.services.api.depends_on).toEqual({ model: { condition: 'service_started' } });
    expect(validate(file) ? [] : validate.errors).toEqual([]);
  });

  test('what compose cannot give a container is refused, naming the workload and the field', () => {
    const api = deployment('api', 'api', { image: 'api:1', env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }] });
    expect(() => composeProject({ solution: 'demo', environment: 'dev', objects: [ns, api] })).toThrow(ConfigError);
    expect(() => composeProject({ solution: 'demo', environment: 'dev', objects: [ns, api] })).toThrow(/demo\/dev: Deployment api env POD_IP must be a value, a Secret key, a ConfigMap key or the pod's name or namespace.*status\.podIP/);
    expect(() => composeProject({ solution: 'demo', environment: 'dev', objects: [ns, model] })).toThrow(/demo\/dev: the local stack needs the API/);
  });

  test('imageRepository drops the tag and digest, not a registry port', () => {
    expect(imageRepository('mysql:8.0.39')).toBe('mysql');
    expect(imageRepository('quay.io/coreos/etcd:v3.5.16@sha256:abc')).toBe('quay.io/coreos/etcd');
    expect(imageRepository('registry:5000/team/api')).toBe('registry:5000/team/api');
  });
});

describe('parseArguments', () => {
  const m = new Map([['logistics', ['dev', 'prod']], ['real-estate', ['dev']]]);
  test('defaults: dev and docker-compose.yml', () => {
    expect(parseArguments(['real-estate'], m)).toEqual({ solution: 'real-estate', environment: 'dev', out: 'docker-compose.yml' });
    expect(parseArguments(['logistics', '--env=prod', '--out', 'x.yml'], m)).toEqual({ solution: 'logistics', environment: 'prod', out: 'x.yml' });
  });
  test.each([
    [[], /expected one <solution> but 0 were given/],
    [['logistic'], /unknown solution "logistic": the solutions are logistics, real-estate/],
    [['logistics', '--env', 'qa'], /unknown environment "qa" of logistics: its environments are dev, prod/],
    [['logistics', '--env'], /--env needs a value/],
    [['logistics', '--replicas', '2'], /unknown option --replicas/],
  ])('%j is refused', (argv, message) => {
    expect(() => parseArguments(argv, m)).toThrow(message);
  });
});

test('.env files are ignored by git, here and in any folder', () => {
  for (const path of ['.env', 'examples/local/.env']) {
    const result = require('child_process').spawnSync('git', ['check-ignore', '-q', path], { cwd: ROOT });
    expect([path, result.status]).toEqual([path, 0]);
  }
});

function runCompose(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TS_NODE, '--transpile-only', 'scripts/compose.ts', ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr += c; });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('npm run compose -- real-estate', () => {
  const out = join(workspace.path, 'local', 'docker-compose.yml');
  let written: { status: number | null; stdout: string; stderr: string };
  let unknown: { status: number | null; stdout: string; stderr: string };
  beforeAll(async () => {
    mkdirSync(join(workspace.path, 'local'), { recursive: true });
    [written, unknown] = await Promise.all([runCompose(['real-estate', '--out', out]), runCompose(['real-estate', '--env', 'staging'])]);
  }, 180_000);

  test('writes a valid docker-compose.yml and .env.example beside it', () => {
    expect(written.stderr).toBe('');
    expect(written.status).toBe(0);
    const file = load(readFileSync(out, 'utf8')) as any;
    expect(validate(file) ? [] : validate.errors).toEqual([]);
    expect(file.name).toBe('real-estate-dev');
    expect(Object.keys(file.services)).toEqual(expect.arrayContaining(['api', 'postgres', 'redis', 'milvus', 'etcd', 'minio']));
    expect(readFileSync(join(workspace.path, 'local', '.env.example'), 'utf8')).toMatch(/^POSTGRES_PASSWORD=$/m);
  });

  test('an unknown environment: exit 2 naming the environments', () => {
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown environment "staging" of real-estate: its environments are dev, test, prod');
  });
});

const redisServer = findBinary('redis-server');
const redisCli = findBinary('redis-cli');
describeWithBinaries('the Redis service of a cluster-mode stack, on a real redis-server', { 'redis-server': redisServer, 'redis-cli': redisCli }, 'redis-server', () => {
  const dir = join(workspace.path, 'redis');
  const bin = join(dir, 'bin');
  let server: ServerProcess;
  let port: number;
  let services: Record<string, any>;
  const password = 'local-secret';

  /** A compose shell command run here: `$$` unescaped, redis-cli pointed at this server's port. */
  const sh = (script: string, env: Record<string, string> = {}) => require('child_process').spawnSync('sh', ['-c', unescape(script)], {
    encoding: 'utf8', timeout: 90_000,
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, REDISCLI_AUTH: password, REDIS_PASSWORD: password, ...env },
  });

  beforeAll(async () => {
    mkdirSync(bin, { recursive: true });
    port = await freePort();
    // The healthcheck's redis-cli has no -p: this one adds the test server's port.
    writeFileSync(join(bin, 'redis-cli'), `#!/bin/sh\nexec '${redisCli}' -p ${port} "$@"\n`);
    chmodSync(join(bin, 'redis-cli'), 0o755);
    const logistics = SOLUTIONS.find((s) => s.definition.name === 'logistics')!;
    services = (load(composeProject({ solution: 'logistics', environment: 'dev', objects: environmentObjects(logistics, 'dev') }).yaml) as any).services;
    // The service's own command, with the data folder and port of this test.
    const command = `${unescape(services.redis.command[2]).replace('/data/nodes.conf', join(dir, 'nodes.conf'))} --port ${port} --dir ${dir}`.replace(/^exec /, '');
    server = new ServerProcess('sh', ['-c', `exec ${command.replace('redis-server', redisServer!)}`], { env: { REDIS_PASSWORD: password } });
    await waitFor('redis-server to answer', () => {
      server.assertRunning('redis-server');
      return sh('redis-cli ping').stdout.trim() === 'PONG';
    }, 20_000);
  }, 120_000);
  afterAll(async () => { await server?.stop(); });

  test('unhealthy before the init, healthy after it; the init gives every slot once and is safe to run again', () => {
    const health = services.redis.healthcheck.test[1];
    expect(sh(health).status).not.toBe(0);
    const init = services['redis-cluster-init'];
    const env = { ...init.environment, REDIS_HOST: '127.0.0.1', REDIS_PORT: String(port), REDISCLI_AUTH: password };
    const first = sh(init.command[2], env);
    expect([first.status, first.stderr]).toEqual([0, '']);
    expect(first.stdout).toContain('gave 127.0.0.1:' + port + ' slots 0-16383');
    expect(first.stdout).toContain('cluster_state ok');
    expect(sh(health).status).toBe(0);
    const again = sh(init.command[2], env);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('has every slot already');
    expect(sh(`REDISCLI_AUTH=${password} redis-cli -c set k v`).stdout.trim()).toBe('OK');
  }, 120_000);
});
