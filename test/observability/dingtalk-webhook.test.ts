/**
 * The DingTalk adapter (timonwong/prometheus-webhook-dingtalk v2.1.0): its Deployment, Service and
 * NetworkPolicy, the AlertmanagerConfig's webhooks pointing at it, and the init script that writes
 * its config file from Secret-backed variables, run with sh.
 */
import { spawnSync } from 'child_process';
import { readFileSync, statSync, writeFileSync } from 'fs';
import { join } from 'path';
import { load } from 'js-yaml';
import { Endpoint, INTERNET, NetworkPolicy, NetworkPolicyEvaluator, OTHER_NAMESPACE_POD } from '../support/network-policy-evaluator';
import { tempDir } from '../support/real-servers';
import { findSecretValues } from '../support/secret-scan';
import { all, env, find, K8sObject, workload } from '../support/solution-objects';

const SCRIPT = join(__dirname, '..', '..', 'lib', 'observability', 'alerting', 'dingtalk-render-config.sh');
const prod = env('logistics', 'prod');
const deployment = find(prod.objects, 'Deployment', 'dingtalk-webhook');
const pod = deployment.spec.template.spec;
const [adapter] = pod.containers;
const [render] = pod.initContainers;
const template = find(prod.objects, 'ConfigMap', 'dingtalk-webhook').data['config.yml.in'];

describe('the DingTalk adapter', () => {
  test('the pinned official image as nobody, restricted, with resources, probes on /-/healthy and /-/ready', () => {
    expect(adapter.image).toBe('timonwong/prometheus-webhook-dingtalk:v2.1.0');
    expect(adapter.args).toEqual(['--web.listen-address=:8060', '--config.file=/run/dingtalk/config.yml']);
    expect(adapter.ports).toEqual([{ name: 'http', containerPort: 8060, protocol: 'TCP' }]);
    expect(adapter.livenessProbe.httpGet).toEqual({ path: '/-/healthy', port: 'http' });
    expect(adapter.readinessProbe.httpGet).toEqual({ path: '/-/ready', port: 'http' });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65534, seccompProfile: { type: 'RuntimeDefault' } });
    for (const c of [adapter, render]) {
      expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true, runAsNonRoot: true });
      expect(Object.keys(c.resources.requests).sort()).toEqual(['cpu', 'memory']);
      expect(Object.keys(c.resources.limits).sort()).toEqual(['cpu', 'memory']);
    }
  });

  test('prod: two pods with a PodDisruptionBudget; test: one', () => {
    expect(deployment.spec.replicas).toBe(2);
    expect(all(prod.objects, 'PodDisruptionBudget').map((p) => p.metadata.name)).toContain('dingtalk-webhook');
    expect(find(env('logistics', 'test').objects, 'Deployment', 'dingtalk-webhook').spec.replicas).toBe(1);
  });

  test('tokens come from the Secret into the init container only, and the rendered file sits in memory', () => {
    expect(render.image).toBe('busybox:1.36.1');
    expect(render.env).toEqual([
      { name: 'DINGTALK_LEVEL_1_ON_CALL_URL', valueFrom: { secretKeyRef: { name: 'alerting-secret', key: 'dingtalk-on-call-url' } } },
      { name: 'DINGTALK_LEVEL_1_ON_CALL_SECRET', valueFrom: { secretKeyRef: { name: 'alerting-secret', key: 'dingtalk-on-call-sign' } } },
      { name: 'DINGTALK_LEVEL_2_TECH_LEAD_URL', valueFrom: { secretKeyRef: { name: 'alerting-secret', key: 'dingtalk-tech-lead-url' } } },
      { name: 'DINGTALK_LEVEL_2_TECH_LEAD_SECRET', valueFrom: { secretKeyRef: { name: 'alerting-secret', key: 'dingtalk-tech-lead-sign' } } },
    ]);
    expect(adapter.env).toBeUndefined();
    expect(pod.volumes.find((v: K8sObject) => v.name === 'config').emptyDir).toEqual({ medium: 'Memory', sizeLimit: '1Mi' });
    const configMap = find(prod.objects, 'ConfigMap', 'dingtalk-webhook');
    expect(findSecretValues(configMap, 'ConfigMap/dingtalk-webhook')).toEqual([]);
    expect(template).not.toMatch(/access_token|SEC[0-9a-f]/);
  });

  test('every DingTalk webhook of the AlertmanagerConfig reaches this Service on its port and a target of its config', () => {
    const [routing] = all(prod.objects, 'AlertmanagerConfig');
    const service = find(prod.objects, 'Service', 'dingtalk-webhook');
    const targets = Object.keys((load(template) as K8sObject).targets);
    const urls = routing.spec.receivers.flatMap((r: K8sObject) => (r.webhookConfigs ?? []).map((w: K8sObject) => w.url)).filter((u: string) => u.includes('dingtalk'));
    expect(urls).toHaveLength(2);
    for (const url of urls) {
      const match = /^http:\/\/([a-z0-9-]+)\.([a-z0-9-]+)\.svc:(\d+)\/dingtalk\/([^/]+)\/send$/.exec(url);
      expect(match).not.toBeNull();
      const [, name, namespace, port, target] = match!;
      expect([name, namespace]).toEqual([service.metadata.name, prod.namespace]);
      expect(service.spec.ports.map((p: K8sObject) => p.port)).toContain(Number(port));
      expect(targets).toContain(target);
    }
  });

  describe('NetworkPolicy', () => {
    const evaluator = new NetworkPolicyEvaluator(all(prod.objects, 'NetworkPolicy') as NetworkPolicy[]);
    const self: Endpoint = { id: 'Deployment/dingtalk-webhook', namespace: prod.namespace, labels: deployment.spec.template.metadata.labels, ports: [8060] };
    const inMonitoring = (name: string): Endpoint => ({ id: `external/${name}`, namespace: 'monitoring', labels: { 'app.kubernetes.io/name': name }, ports: [], ip: '10.244.203.1' });
    const api: Endpoint = { id: 'Deployment/api', namespace: prod.namespace, labels: workload(prod.objects, 'api').spec.template.metadata.labels, ports: [] };

    test('ingress: the monitoring namespace\'s Alertmanager on 8060, and nobody else', () => {
      expect(evaluator.allows(inMonitoring('alertmanager'), self, 8060)).toBe(true);
      expect(evaluator.allows(inMonitoring('alertmanager'), self, 8080)).toBe(false);
      expect(evaluator.allows(inMonitoring('prometheus'), self, 8060)).toBe(false);
      expect(evaluator.allows(OTHER_NAMESPACE_POD, self, 8060)).toBe(false);
      expect(evaluator.allows(api, self, 8060)).toBe(false);
    });

    test('egress: HTTPS to the DingTalk API (anywhere on 443), nothing else outside DNS', () => {
      expect(evaluator.allows(self, INTERNET, 443)).toBe(true);
      expect(evaluator.allows(self, INTERNET, 80)).toBe(false);
      expect(evaluator.allows(self, { ...api, ports: [8000] }, 8000)).toBe(false);
    });
  });
});

describe('dingtalk-render-config.sh', () => {
  const VALUES = {
    DINGTALK_LEVEL_1_ON_CALL_URL: 'https://oapi.dingtalk.com/robot/send?access_token=0123abcd&x=1',
    DINGTALK_LEVEL_1_ON_CALL_SECRET: 'SEC0123456789abcdef',
    DINGTALK_LEVEL_2_TECH_LEAD_URL: 'https://oapi.dingtalk.com/robot/send?access_token=4567efgh',
    DINGTALK_LEVEL_2_TECH_LEAD_SECRET: 'SECfedcba9876543210',
  };

  function renderWith(env: Record<string, string>, content = template): { status: number | null; stderr: string; output?: string; mode?: number } {
    const dir = tempDir('dingtalk-render');
    try {
      writeFileSync(join(dir.path, 'config.yml.in'), content);
      // Only the variables given: nothing inherited from the test's environment.
      const result = spawnSync('sh', [SCRIPT, join(dir.path, 'config.yml.in'), join(dir.path, 'config.yml')], { env: { PATH: process.env.PATH!, ...env }, encoding: 'utf8' });
      const file = join(dir.path, 'config.yml');
      const written = result.status === 0;
      return { status: result.status, stderr: result.stderr, output: written ? readFileSync(file, 'utf8') : undefined, mode: written ? statSync(file).mode & 0o777 : undefined };
    } finally {
      dir.remove();
    }
  }

  test('writes the adapter\'s config with the Secret values, readable by its owner only', () => {
    const result = renderWith(VALUES);
    expect(result.stderr).toBe('');
    expect(result.mode).toBe(0o600);
    expect(load(result.output!)).toEqual({
      timeout: '5s',
      targets: {
        'level-1-on-call': { url: VALUES.DINGTALK_LEVEL_1_ON_CALL_URL, secret: VALUES.DINGTALK_LEVEL_1_ON_CALL_SECRET, mention: { all: true } },
        'level-2-tech-lead': { url: VALUES.DINGTALK_LEVEL_2_TECH_LEAD_URL, secret: VALUES.DINGTALK_LEVEL_2_TECH_LEAD_SECRET },
      },
    });
  });

  test('the rendered file is a config v2.1.0 loads: known keys only, valid target names, http(s) URLs with a host', () => {
    // What config.LoadFile (yaml.UnmarshalStrict into config.Config) and Target/URL validation accept.
    const config = load(renderWith(VALUES).output!) as K8sObject;
    expect(Object.keys(config).every((k) => ['no_builtin_template', 'template', 'templates', 'default_message', 'timeout', 'targets'].includes(k))).toBe(true);
    for (const [name, target] of Object.entries(config.targets as Record<string, K8sObject>)) {
      expect(name).toMatch(/^[a-zA-Z][a-zA-Z0-9\-_]*$/);
      expect(Object.keys(target).every((k) => ['url', 'secret', 'mention', 'message'].includes(k))).toBe(true);
      const url = new URL(target.url);
      expect(['http:', 'https:']).toContain(url.protocol);
      expect(url.host).not.toBe('');
      if (target.mention) expect(Object.keys(target.mention).every((k) => ['all', 'mobiles'].includes(k))).toBe(true);
    }
  });

  test('a trailing newline in a Secret value (echo > file) is dropped', () => {
    expect(load(renderWith({ ...VALUES, DINGTALK_LEVEL_1_ON_CALL_SECRET: 'SEC0123\n' }).output!)).toMatchObject({ targets: { 'level-1-on-call': { secret: 'SEC0123' } } });
  });

  test.each([
    [{ DINGTALK_LEVEL_2_TECH_LEAD_URL: undefined }, /DINGTALK_LEVEL_2_TECH_LEAD_URL is not set/],
    [{ DINGTALK_LEVEL_1_ON_CALL_SECRET: '' }, /DINGTALK_LEVEL_1_ON_CALL_SECRET is empty/],
    [{ DINGTALK_LEVEL_1_ON_CALL_URL: 'https://x.example.com/"a' }, /DINGTALK_LEVEL_1_ON_CALL_URL holds a quote/],
    [{ DINGTALK_LEVEL_1_ON_CALL_URL: 'https://x.example.com/\\a' }, /DINGTALK_LEVEL_1_ON_CALL_URL holds a quote, a backslash/],
    [{ DINGTALK_LEVEL_1_ON_CALL_URL: 'https://x.example.com/a\nsecret: injected' }, /DINGTALK_LEVEL_1_ON_CALL_URL holds .* a line break/],
  ])('refuses %j and writes nothing', (change, message) => {
    const env = Object.fromEntries(Object.entries({ ...VALUES, ...change }).filter(([, v]) => v !== undefined)) as Record<string, string>;
    const result = renderWith(env);
    expect(result.status).not.toBe(0);
    expect(result.output).toBeUndefined();
    expect(result.stderr).toMatch(message);
  });

  test('refuses a placeholder that is not a whole value, and passes other lines through unchanged', () => {
    expect(renderWith(VALUES, 'targets:\n  a:\n    url: https://x/${DINGTALK_LEVEL_1_ON_CALL_URL}\n').stderr).toMatch(/a placeholder must be a whole value/);
    expect(renderWith({}, 'timeout: 5s\n# no placeholder here\n').output).toBe('timeout: 5s\n# no placeholder here\n');
  });
});
