/**
 * Alert routing: the AlertmanagerConfig of every environment, rendered into a plain Alertmanager
 * configuration the way the Prometheus Operator merges it (namespace matcher, `continue: true`,
 * `<namespace>/<config>/<receiver>` names, Secret values resolved), then checked by Alertmanager's
 * own tools: `amtool check-config`, `amtool config routes test` per severity, and a real
 * Alertmanager inhibiting a P2 under a P0.
 */
import { spawnSync } from 'child_process';
import { readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import Ajv from 'ajv';
import type { RegExpEngine } from 'ajv/dist/types';
import { Chart, Testing } from 'cdk8s';
import { dump, load } from 'js-yaml';
import { AppTierSettings } from '../../lib/config/app-tier-settings';
import { AlertRouting, AlertRoutingSettings } from '../../lib/observability/alerting';
import { EscalationLevel } from '../../lib/observability/severity';
import { SOLUTIONS } from '../../lib/solutions';
import { buildEnvironment, Solution } from '../../lib/solutions/solution';
import { PRODUCTION_CONTEXT_KEY } from '../../lib/validation';
import { ALERTMANAGER_BINARIES } from '../support/prometheus';
import { describeWithBinaries, freePort, ServerProcess, tempDir, waitFor } from '../support/real-servers';
import { findSecretValues } from '../support/secret-scan';
import { all, env, K8sObject, MATRIX, outdir, settingsOf } from '../support/solution-objects';

const L1 = EscalationLevel.ON_CALL;
const L2 = EscalationLevel.TECH_LEAD;
const L3 = EscalationLevel.MANAGEMENT;

/** Who each severity must reach (seed 004 11.4), written out here so a wrong SEVERITY_POLICIES fails too. */
const EXPECTED: [string, EscalationLevel[]][] = [
  ['P0', [L1, L2, L3]],
  ['P1', [L1, L2]],
  ['P2', [L1]],
  ['P3', [L1]],
];

const ROUTED = MATRIX.filter(([s, e]) => settingsOf(s, e).monitoring?.alerting !== undefined);

function routingOf(solution: string, environment: string): K8sObject {
  const found = all(env(solution, environment).objects, 'AlertmanagerConfig');
  if (found.length !== 1) throw new Error(`${solution}/${environment}: expected one AlertmanagerConfig, found ${found.length}`);
  return found[0];
}

/**
 * The AlertmanagerConfig CRD's schema, strict as test/support/kubernetes-schema.ts makes CRDs
 * (every object closed). Its own copy because that validator cannot compile this CRD: some of its
 * patterns are Go regular expressions with a `(?i)` flag group, which JavaScript refuses.
 */
function alertmanagerConfigSchema(): (object: K8sObject) => string[] {
  const crd = load(readFileSync(join(__dirname, '..', '..', 'schemas', 'crds', 'monitoring.coreos.com', 'monitoring.coreos.com_alertmanagerconfigs.yaml'), 'utf8')) as K8sObject;
  const schema = crd.spec.versions.find((v: K8sObject) => v.name === 'v1alpha1').schema.openAPIV3Schema;
  const close = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(close);
    if (!node || typeof node !== 'object') return;
    const n = node as K8sObject;
    if (n.properties && n.additionalProperties === undefined && n['x-kubernetes-preserve-unknown-fields'] !== true) n.additionalProperties = false;
    Object.values(n).forEach(close);
  };
  close(schema);
  schema.properties.metadata = { type: 'object', properties: { name: { type: 'string' }, namespace: { type: 'string' }, labels: { type: 'object' } }, required: ['name', 'namespace'] };
  const goRegExp: RegExpEngine = Object.assign(
    (pattern: string, flags: string) => new RegExp(pattern.replace(/\(\?i\)/g, ''), pattern.includes('(?i)') ? `${flags}i` : flags),
    { code: 'goRegExp' },
  );
  const validate = new Ajv({ allErrors: true, strict: false, validateFormats: false, code: { regExp: goRegExp } }).compile(schema);
  return (object) => (validate(object) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`));
}
const validateAlertmanagerConfig = alertmanagerConfigSchema();

// --- what the Prometheus Operator does with an AlertmanagerConfig (pkg/alertmanager/amcfg.go) ---

/** A value the operator would read from the Secret: a placeholder, in this test only. */
const secretValue = (ref: { name: string; key: string }) => `placeholder-${ref.name}-${ref.key}`;

function only(object: K8sObject, keys: string[], what: string): void {
  const unknown = Object.keys(object).filter((k) => !keys.includes(k));
  if (unknown.length > 0) throw new Error(`${what}: the test's operator rendering does not know ${unknown.join(', ')}`);
}

const matcher = (m: K8sObject) => `${m.name}${m.matchType}${JSON.stringify(m.value)}`;

function convertRoute(route: K8sObject, prefix: string): K8sObject {
  only(route, ['receiver', 'groupBy', 'groupWait', 'groupInterval', 'repeatInterval', 'matchers', 'continue', 'routes'], 'route');
  return {
    receiver: route.receiver && `${prefix}/${route.receiver}`,
    group_by: route.groupBy,
    group_wait: route.groupWait,
    group_interval: route.groupInterval,
    repeat_interval: route.repeatInterval,
    matchers: route.matchers?.map(matcher),
    continue: route.continue,
    routes: route.routes?.map((r: K8sObject) => convertRoute(r, prefix)),
  };
}

function convertReceiver(receiver: K8sObject, prefix: string): K8sObject {
  only(receiver, ['name', 'emailConfigs', 'webhookConfigs', 'wechatConfigs'], `receiver ${receiver.name}`);
  return {
    name: `${prefix}/${receiver.name}`,
    email_configs: receiver.emailConfigs?.map((e: K8sObject) => {
      only(e, ['to', 'from', 'smarthost', 'authUsername', 'authPassword', 'requireTLS', 'sendResolved'], 'emailConfig');
      return {
        to: e.to, from: e.from, smarthost: e.smarthost, auth_username: e.authUsername,
        auth_password: e.authPassword && secretValue(e.authPassword), require_tls: e.requireTLS, send_resolved: e.sendResolved,
      };
    }),
    webhook_configs: receiver.webhookConfigs?.map((w: K8sObject) => {
      only(w, ['url', 'sendResolved'], 'webhookConfig');
      return { url: w.url, send_resolved: w.sendResolved };
    }),
    wechat_configs: receiver.wechatConfigs?.map((w: K8sObject) => {
      only(w, ['corpID', 'agentID', 'apiSecret', 'apiURL', 'toParty', 'sendResolved'], 'wechatConfig');
      return {
        corp_id: w.corpID, agent_id: w.agentID, api_secret: secretValue(w.apiSecret), api_url: w.apiURL, to_party: w.toParty, send_resolved: w.sendResolved,
      };
    }),
  };
}

/**
 * The Alertmanager configuration the operator generates from a base configuration (a root route
 * to a `null` receiver, as kube-prometheus-stack ships) and AlertmanagerConfig objects, with the
 * default `alertmanagerConfigMatcherStrategy: OnNamespace`.
 */
function operatorConfig(configs: K8sObject[]): K8sObject {
  const routes: K8sObject[] = [];
  const receivers: K8sObject[] = [{ name: 'null' }];
  const inhibitRules: K8sObject[] = [];
  for (const config of configs) {
    const { namespace, name } = config.metadata;
    const prefix = `${namespace}/${name}`;
    const namespaceMatcher = `namespace=${JSON.stringify(namespace)}`;
    const top = convertRoute(config.spec.route, prefix);
    routes.push({ ...top, matchers: [...(top.matchers ?? []), namespaceMatcher], continue: true });
    receivers.push(...config.spec.receivers.map((r: K8sObject) => convertReceiver(r, prefix)));
    for (const rule of config.spec.inhibitRules ?? []) {
      only(rule, ['sourceMatch', 'targetMatch', 'equal'], 'inhibitRule');
      inhibitRules.push({
        source_matchers: [...rule.sourceMatch.map(matcher), namespaceMatcher],
        target_matchers: [...rule.targetMatch.map(matcher), namespaceMatcher],
        equal: rule.equal,
      });
    }
  }
  return JSON.parse(JSON.stringify({
    route: { receiver: 'null', group_by: ['namespace'], routes },
    receivers,
    inhibit_rules: inhibitRules,
  }));
}

function writeConfig(config: K8sObject): { file: string; remove: () => void } {
  const dir = tempDir('alertmanager-config');
  const file = join(dir.path, 'alertmanager.yml');
  writeFileSync(file, dump(config, { lineWidth: -1 }));
  return { file, remove: dir.remove };
}

function amtool(args: string[]): { status: number | null; output: string; stdout: string } {
  const result = spawnSync(ALERTMANAGER_BINARIES.amtool!, args, { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}`, stdout: result.stdout };
}

/** The receivers `amtool config routes test` resolves for an alert with `labels`. */
function receiversFor(file: string, labels: Record<string, string>): string[] {
  const result = amtool(['config', 'routes', 'test', `--config.file=${file}`, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)]);
  if (result.status !== 0) throw new Error(`amtool config routes test failed: ${result.output}`);
  return result.stdout.trim().split(',').sort();
}

// --- the objects ---

describe('alert routing in the environments', () => {
  test('every environment routes its alerts (one AlertmanagerConfig each)', () => {
    expect(ROUTED.map(([s, e]) => `${s}/${e}`).sort()).toEqual(MATRIX.map(([s, e]) => `${s}/${e}`).sort());
    for (const [s, e] of MATRIX) expect(all(env(s, e).objects, 'AlertmanagerConfig')).toHaveLength(1);
  });

  test('an environment without monitoring.alerting (not production) gets no AlertmanagerConfig: alerts go where the cluster routes them', () => {
    const [solution] = SOLUTIONS;
    const unrouted = {
      ...solution,
      definition: { ...solution.definition, environments: { dev: { ...solution.definition.environments.dev, monitoring: undefined } } },
    } as unknown as Solution<AppTierSettings>;
    const app = buildEnvironment(unrouted, 'dev', outdir);
    expect(app.charts.flatMap((c) => c.toJson()).filter((o) => o.kind === 'AlertmanagerConfig')).toEqual([]);
  });

  test.each(ROUTED)('%s/%s: the AlertmanagerConfig lives in the environment\'s namespace with the discovery labels and validates against its CRD', (s, e) => {
    const config = routingOf(s, e);
    const { namespace } = env(s, e);
    expect(config.apiVersion).toBe('monitoring.coreos.com/v1alpha1');
    expect(config.metadata.namespace).toBe(namespace);
    expect(config.metadata.labels).toMatchObject({ release: 'kube-prometheus-stack' });
    expect(validateAlertmanagerConfig(config)).toEqual([]);
  });

  test('the CRD check refuses what the operator would refuse: an unknown field, a bad match type', () => {
    const config = routingOf('logistics', 'prod');
    expect(validateAlertmanagerConfig({ ...config, spec: { ...config.spec, routes: [] } })).not.toEqual([]);
    const badRule = { ...config.spec.inhibitRules[0], sourceMatch: [{ name: 'severity', value: 'P0', matchType: '==' }] };
    expect(validateAlertmanagerConfig({ ...config, spec: { ...config.spec, inhibitRules: [badRule] } })).not.toEqual([]);
  });

  test.each(ROUTED)('%s/%s: a P0 inhibits P2 and P3 of its own namespace, job and service', (s, e) => {
    expect(routingOf(s, e).spec.inhibitRules).toEqual([{
      sourceMatch: [{ name: 'severity', value: 'P0', matchType: '=' }],
      targetMatch: [{ name: 'severity', value: 'P2|P3', matchType: '=~' }],
      equal: ['namespace', 'job', 'service'],
    }]);
  });

  test.each(ROUTED)('%s/%s: grouping, and a shorter repeat the higher the severity', (s, e) => {
    const route = routingOf(s, e).spec.route;
    expect(route.groupBy).toEqual(['alertname', 'namespace', 'job']);
    const repeat = (severity: string) => route.routes.find((r: K8sObject) => r.matchers[0].value === severity).repeatInterval;
    expect(['P0', 'P1', 'P2', 'P3'].map(repeat)).toEqual(['15m', '1h', '4h', '24h']);
  });

  test.each(ROUTED)('%s/%s: no secret value in any object; credentials are Secret references', (s, e) => {
    const { objects } = env(s, e);
    expect(objects.flatMap((o) => findSecretValues(o, `${o.kind}/${o.metadata.name}`))).toEqual([]);
    const config = routingOf(s, e);
    for (const receiver of config.spec.receivers) {
      for (const mail of receiver.emailConfigs ?? []) expect(mail.authPassword).toEqual({ name: 'alerting-secret', key: 'smtp-password' });
      for (const wechat of receiver.wechatConfigs ?? []) expect(wechat.apiSecret).toEqual({ name: 'alerting-secret', key: 'wecom-api-secret' });
    }
  });

  test('prod: the secret manager creates the alerting Secret with every key the routing and the DingTalk adapter read', () => {
    for (const s of ['logistics', 'real-estate']) {
      const external = all(env(s, 'prod').objects, 'ExternalSecret').find((x) => x.metadata.name === 'alerting-secret');
      expect(external?.spec.data.map((d: K8sObject) => d.secretKey)).toEqual([
        'dingtalk-on-call-sign', 'dingtalk-on-call-url', 'dingtalk-tech-lead-sign', 'dingtalk-tech-lead-url', 'smtp-password', 'wecom-api-secret',
      ]);
    }
  });

  test('prod: every level has its channels (e-mail, SMS, WeCom, DingTalk for on-call and tech lead)', () => {
    const config = routingOf('logistics', 'prod');
    const byName = Object.fromEntries(config.spec.receivers.map((r: K8sObject) => [r.name, r]));
    expect(byName[L1].emailConfigs.map((m: K8sObject) => m.to)).toEqual(['oncall@logistics.example.com']);
    expect(byName[L1].webhookConfigs.map((w: K8sObject) => w.url)).toEqual([
      'https://sms-gateway.example.com/alertmanager/logistics-on-call',
      'http://dingtalk-webhook.logistics-prod.svc:8060/dingtalk/level-1-on-call/send',
    ]);
    expect(byName[L1].wechatConfigs).toEqual([{
      corpID: 'ww0123456789abcdef', agentID: '1000002', apiSecret: { name: 'alerting-secret', key: 'wecom-api-secret' }, toParty: '2', sendResolved: true,
    }]);
    expect(byName[L2].webhookConfigs.map((w: K8sObject) => w.url)).toContain('http://dingtalk-webhook.logistics-prod.svc:8060/dingtalk/level-2-tech-lead/send');
    expect(byName[L3].webhookConfigs).toBeUndefined();
    expect(byName[L3].emailConfigs.map((m: K8sObject) => m.to)).toEqual(['management@logistics.example.com']);
  });
});

describe('alert routing refuses', () => {
  const logistics = SOLUTIONS.find((s) => s.definition.name === 'logistics')! as Solution<AppTierSettings>;
  const withProd = (prod: Record<string, unknown>): Solution<AppTierSettings> => ({
    definition: { ...logistics.definition, environments: { ...logistics.definition.environments, prod } },
    build: logistics.build,
  });
  const prod = logistics.definition.environments.prod as Record<string, any>;

  test('a production environment without monitoring.alerting, naming solution, environment and field', () => {
    expect(() => buildEnvironment(withProd({ ...prod, monitoring: undefined }), 'prod', outdir))
      .toThrow('logistics/prod: monitoring.alerting must be set where production is true (production alerts must reach the on-call, tech lead and management) but undefined was provided');
  });

  const base: AlertRoutingSettings = prod.monitoring.alerting;
  test.each([
    [{ management: {} }, /monitoring\.alerting\.management must be at least one of emails, smsWebhookUrl, wecomToParty, dingtalk/],
    [{ email: undefined }, /monitoring\.alerting\.email must be set where a level has emails/],
    [{ wecom: undefined }, /monitoring\.alerting\.wecom must be set where a level has wecomToParty/],
    [{ onCall: { smsWebhookUrl: 'https://user:pw@sms.example.com/x' } }, /monitoring\.alerting\.onCall\.smsWebhookUrl must be a URL without user:password@ .* but "https:\/\/\*\*\*@sms/],
    [{ onCall: { emails: ['oncall'] } }, /monitoring\.alerting\.onCall\.emails\[0\] must be an e-mail address but "oncall"/],
    [{ email: { ...base.email!, smarthost: 'smtp.example.com' } }, /monitoring\.alerting\.email\.smarthost must be host:port/],
    [{ email: { ...base.email!, authPasswordSecret: undefined } }, /monitoring\.alerting\.email\.authPasswordSecret must be set together with authUsername/],
    [{ groupBy: [] }, /monitoring\.alerting\.groupBy must be a list of at least one label name/],
  ])('%j', (change, message) => {
    expect(() => buildEnvironment(withProd({ ...prod, monitoring: { alerting: { ...base, ...change } } }), 'prod', outdir)).toThrow(message);
  });

  test('an AlertRouting outside a namespaced chart', () => {
    const app = Testing.app();
    expect(() => new AlertRouting(new Chart(app, 'c'), 'routing', { onCall: { smsWebhookUrl: 'https://sms.example.com/a' }, techLead: { smsWebhookUrl: 'https://sms.example.com/b' }, management: { smsWebhookUrl: 'https://sms.example.com/c' } }))
      .toThrow(/routing\.namespace must be the namespace of the chart/);
  });

  test('the DingTalk adapter runs 2 pods in production, 1 elsewhere', () => {
    const build = (production: boolean) => {
      const app = Testing.app();
      app.node.setContext(PRODUCTION_CONTEXT_KEY, production);
      const chart = new Chart(app, 'c', { namespace: 'shop' });
      const robot = { dingtalk: { urlSecret: { name: 's', key: 'u' } } };
      return new AlertRouting(chart, 'routing', { onCall: robot, techLead: robot, management: robot }).dingtalk!.replicas;
    };
    expect([build(true), build(false)]).toEqual([2, 1]);
  });
});

describeWithBinaries('alert routing checked by Alertmanager', ALERTMANAGER_BINARIES, 'prometheus-alertmanager', () => {
  test.each(ROUTED)('%s/%s: amtool check-config accepts the operator\'s rendering', (s, e) => {
    const config = writeConfig(operatorConfig([routingOf(s, e)]));
    try {
      const result = amtool(['check-config', config.file]);
      expect(result.output).toMatch(/SUCCESS/);
      expect(result.status).toBe(0);
    } finally {
      config.remove();
    }
  });

  test.each(ROUTED)('%s/%s: P0 reaches all three levels, P1 two, P2 and P3 the on-call; other namespaces none', (s, e) => {
    const config = routingOf(s, e);
    // Both solutions' configs in one Alertmanager, as in a shared cluster: neither routes the other's alerts.
    const neighbours = ROUTED.filter(([s2, e2]) => `${s2}/${e2}` !== `${s}/${e}`).map(([s2, e2]) => routingOf(s2, e2));
    const file = writeConfig(operatorConfig([config, ...neighbours]));
    const { namespace } = env(s, e);
    const receiver = (level: EscalationLevel) => `${namespace}/${config.metadata.name}/${level}`;
    try {
      for (const [severity, levels] of EXPECTED) {
        expect([severity, receiversFor(file.file, { alertname: 'Test', severity, namespace, job: 'api' })]).toEqual([severity, levels.map(receiver).sort()]);
      }
      // No known severity: still the on-call, never dropped.
      expect(receiversFor(file.file, { alertname: 'Test', severity: 'critical', namespace })).toEqual([receiver(L1)]);
      expect(receiversFor(file.file, { alertname: 'Test', namespace })).toEqual([receiver(L1)]);
      // Another namespace (no AlertmanagerConfig there): the cluster's default only.
      expect(receiversFor(file.file, { alertname: 'Test', severity: 'P0', namespace: 'somebody-else' })).toEqual(['null']);
    } finally {
      file.remove();
    }
  });

  describe('a real Alertmanager', () => {
    let server: ServerProcess;
    let url: string;
    let dir: { path: string; remove: () => void };
    const namespace = env('logistics', 'prod').namespace;

    beforeAll(async () => {
      // The routing of logistics/prod with its receivers' integrations left out: this test is
      // about inhibition and must not send e-mail or webhooks to example.com.
      const config = operatorConfig([routingOf('logistics', 'prod')]);
      config.receivers = config.receivers.map((r: K8sObject) => ({ name: r.name }));
      dir = tempDir('alertmanager');
      writeFileSync(join(dir.path, 'alertmanager.yml'), dump(config, { lineWidth: -1 }));
      const port = await freePort();
      const clusterPort = await freePort();
      url = `http://127.0.0.1:${port}`;
      server = new ServerProcess(ALERTMANAGER_BINARIES.alertmanager!, [
        '--config.file=alertmanager.yml', `--storage.path=${join(dir.path, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`, `--cluster.listen-address=127.0.0.1:${clusterPort}`,
      ], { cwd: dir.path });
      await waitFor('Alertmanager to be ready', async () => {
        server.assertRunning('alertmanager');
        return (await fetch(`${url}/-/ready`)).ok;
      }, 30_000);
    }, 60_000);

    afterAll(async () => {
      await server?.stop();
      dir?.remove();
    });

    test('a firing P0 suppresses the P2 and P3 of its job, not a P1, nor a P2 of another job or namespace', async () => {
      const alert = (alertname: string, severity: string, job: string, ns = namespace) => ({ labels: { alertname, severity, job, namespace: ns } });
      const alerts = [
        alert('ApiDown', 'P0', 'api'),
        alert('ApiLatencyHigh', 'P2', 'api'),
        alert('ApiSlowStart', 'P3', 'api'),
        alert('ApiErrorsHigh', 'P1', 'api'),
        alert('MysqlSlowQueries', 'P2', 'mysql'),
        alert('ApiLatencyHigh', 'P2', 'api', 'somebody-else'),
      ];
      const posted = await fetch(`${url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts) });
      expect(posted.status).toBe(200);
      const state = async () => {
        const body = await (await fetch(`${url}/api/v2/alerts`)).json() as { labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } }[];
        return Object.fromEntries(body.map((a) => [`${a.labels.alertname}/${a.labels.severity}/${a.labels.job}/${a.labels.namespace}`, a.status]));
      };
      await waitFor('the P2 of the P0\'s job to be inhibited', async () => (await state())[`ApiLatencyHigh/P2/api/${namespace}`]?.state === 'suppressed', 20_000, 250);
      const states = await state();
      const summary = Object.fromEntries(Object.entries(states).map(([k, v]) => [k, [v.state, v.inhibitedBy.length > 0]]));
      expect(summary).toEqual({
        [`ApiDown/P0/api/${namespace}`]: ['active', false],
        [`ApiLatencyHigh/P2/api/${namespace}`]: ['suppressed', true],
        [`ApiSlowStart/P3/api/${namespace}`]: ['suppressed', true],
        [`ApiErrorsHigh/P1/api/${namespace}`]: ['active', false],
        [`MysqlSlowQueries/P2/mysql/${namespace}`]: ['active', false],
        // Another namespace's P2: this P0 does not silence it.
        'ApiLatencyHigh/P2/api/somebody-else': ['active', false],
      });
    });
  });
});
