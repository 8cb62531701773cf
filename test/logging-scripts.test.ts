/**
 * The logging platform's scripts, run with sh and curl against a stub Elasticsearch (Node's http
 * server on a free loopback port) that records every request: elasticsearch-setup.sh (the
 * retention Job) with the request files the Job's ConfigMap ships, and wait-for-index-template.sh
 * (the shipper's init container).
 */
import { spawn } from 'child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { createServer, IncomingMessage, Server } from 'http';
import { join } from 'path';
import { parseAllDocuments } from 'yaml';
import { buildPlatform } from '../lib/logging';
import { describeWithBinaries, findBinary, freePort, tempDir } from './support/real-servers';

interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly authorization: string;
  readonly contentType: string;
  readonly body: string;
}
type Responder = (request: Recorded, index: number) => [number, string];

/** A stub Elasticsearch that answers with `respond` and records what it was asked. */
class StubElasticsearch {
  public readonly requests: Recorded[] = [];
  public respond: Responder = () => [200, '{"acknowledged":true}'];
  private server?: Server;
  public port = 0;

  public async start(): Promise<void> {
    this.port = await freePort();
    this.server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (chunk) => { body += chunk.toString(); });
      req.on('end', () => {
        const recorded = {
          method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization ?? '', contentType: req.headers['content-type'] ?? '', body,
        };
        this.requests.push(recorded);
        const [status, text] = this.respond(recorded, this.requests.length - 1);
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(text);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  public reset(respond: Responder): void {
    this.requests.length = 0;
    this.respond = respond;
  }

  public async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** Runs a script without blocking the event loop (the stub answers from this process). */
function runScript(script: string, env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', [script], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d.toString(); });
    child.stderr.on('data', (d) => { stderr += d.toString(); });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${script} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`)); }, timeoutMs);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

/** The data of the platform's ConfigMaps as they ship, written to files of a folder each. */
function shippedConfigMaps(root: string): Record<string, string> {
  const out = join(root, 'dist');
  const result = buildPlatform(out).synth();
  const folders: Record<string, string> = {};
  for (const file of readdirSync(result.outdir)) {
    for (const doc of parseAllDocuments(readFileSync(join(result.outdir, file), 'utf8'))) {
      const object = doc.toJS();
      if (object?.kind !== 'ConfigMap') continue;
      const folder = join(root, object.metadata.name);
      mkdirSync(folder);
      for (const [key, value] of Object.entries(object.data as Record<string, string>)) writeFileSync(join(folder, key), value);
      folders[object.metadata.name] = folder;
    }
  }
  return folders;
}

const curl = findBinary('curl');
// A password with what a curl config string must escape, and a colon.
const PASSWORD = 'pa"ss\\wo:rd';
const BASIC = `Basic ${Buffer.from(`elastic:${PASSWORD}`).toString('base64')}`;

describeWithBinaries('logging scripts against a stub Elasticsearch', { curl }, 'curl', () => {
  const stub = new StubElasticsearch();
  const dir = tempDir('logging-scripts');
  let configMaps: Record<string, string>;
  let setupEnv: NodeJS.ProcessEnv;

  beforeAll(async () => {
    await stub.start();
    configMaps = shippedConfigMaps(dir.path);
    setupEnv = {
      ES_URL: `http://127.0.0.1:${stub.port}`, ES_USERNAME: 'elastic', ES_PASSWORD: PASSWORD, ES_REQUEST_DIR: configMaps['log-retention'], ES_RETRY_SECONDS: '0',
    };
  });
  afterAll(async () => {
    await stub.stop();
    dir.remove();
  });

  const setupScript = () => join(configMaps['log-retention'], 'elasticsearch-setup.sh');
  const waitScript = () => join(configMaps['fluent-bit'], 'wait-for-index-template.sh');
  const bodyOf = (file: string) => readFileSync(join(configMaps['log-retention'], file), 'utf8');

  test('the retention Job PUTs the ILM policy, the index template and the writer role, in that order, with the credentials', async () => {
    stub.reset(() => [200, '{"acknowledged":true}']);
    const run = await runScript(setupScript(), setupEnv);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(stub.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'PUT /_ilm/policy/k8s-logs', 'PUT /_index_template/k8s-logs', 'PUT /_security/role/k8s-logs-writer',
    ]);
    expect(stub.requests.map((r) => r.body)).toEqual([bodyOf('ilm-policy.json'), bodyOf('index-template.json'), bodyOf('writer-role.json')]);
    expect(JSON.parse(stub.requests[0].body).policy.phases.delete).toEqual({ min_age: '7d', actions: { delete: {} } });
    expect(new Set(stub.requests.map((r) => r.authorization))).toEqual(new Set([BASIC]));
    expect(new Set(stub.requests.map((r) => r.contentType))).toEqual(new Set(['application/json']));
    expect(run.stdout).toContain('log retention installed: 3 requests');
  });

  test('a second run sends the same requests: PUT leaves the same state', async () => {
    stub.reset(() => [200, '{"acknowledged":true}']);
    await runScript(setupScript(), setupEnv);
    const first = [...stub.requests];
    stub.reset(() => [200, '{"acknowledged":true}']);
    const again = await runScript(setupScript(), setupEnv);
    expect(again.code).toBe(0);
    expect(stub.requests).toEqual(first);
  });

  test('an HTTP error fails the Job at once with Elasticsearch\'s reason, and nothing after it is sent', async () => {
    stub.reset((r) => (r.path.startsWith('/_index_template/')
      ? [400, '{"error":{"type":"illegal_argument_exception","reason":"unknown setting [index.lifecycle.nam]"},"status":400}']
      : [200, '{"acknowledged":true}']));
    const run = await runScript(setupScript(), setupEnv);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('PUT /_index_template/k8s-logs: refused with status 400: {"error":{"type":"illegal_argument_exception","reason":"unknown setting [index.lifecycle.nam]"}');
    expect(stub.requests.map((r) => r.path)).toEqual(['/_ilm/policy/k8s-logs', '/_index_template/k8s-logs']);
  });

  test('refused credentials fail at once too', async () => {
    stub.reset(() => [401, '{"error":{"type":"security_exception"},"status":401}']);
    const run = await runScript(setupScript(), setupEnv);
    expect(run.code).not.toBe(0);
    expect(stub.requests).toHaveLength(1);
  });

  test('a cluster still starting (503) is waited for, then the requests go through', async () => {
    stub.reset((_r, i) => (i < 2 ? [503, '{"error":"master_not_discovered_exception"}'] : [200, '{"acknowledged":true}']));
    const run = await runScript(setupScript(), setupEnv);
    expect(run.code).toBe(0);
    expect(stub.requests.map((r) => r.path)).toEqual([
      '/_ilm/policy/k8s-logs', '/_ilm/policy/k8s-logs', '/_ilm/policy/k8s-logs', '/_index_template/k8s-logs', '/_security/role/k8s-logs-writer',
    ]);
  });

  test('an Elasticsearch that never answers fails the Job after ES_WAIT_SECONDS', async () => {
    const closed = await freePort();
    const run = await runScript(setupScript(), { ...setupEnv, ES_URL: `http://127.0.0.1:${closed}`, ES_WAIT_SECONDS: '1', ES_RETRY_SECONDS: '1' });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`PUT /_ilm/policy/k8s-logs: Elasticsearch at http://127.0.0.1:${closed} did not answer within 1s (last status 000)`);
  });

  test('the shipper waits while the index template is missing and starts once it exists', async () => {
    stub.reset((_r, i) => (i < 2 ? [404, '{}'] : [200, '{"index_templates":[]}']));
    const run = await runScript(waitScript(), { ...setupEnv, ES_INDEX_TEMPLATE: 'k8s-logs', ES_USERNAME: 'elastic' });
    expect(run.code).toBe(0);
    expect(stub.requests.map((r) => `${r.method} ${r.path} ${r.authorization}`)).toEqual(Array(3).fill(`GET /_index_template/k8s-logs ${BASIC}`));
    expect(run.stderr).toBe('waiting for the index template k8s-logs (installed by the log retention Job)\n');
  });

  test('the shipper\'s wait fails at once on refused credentials', async () => {
    stub.reset(() => [403, '{}']);
    const run = await runScript(waitScript(), { ...setupEnv, ES_INDEX_TEMPLATE: 'k8s-logs' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Elasticsearch refused the credentials of elastic (status 403)');
    expect(stub.requests).toHaveLength(1);
  });
});
