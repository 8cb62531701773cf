/**
 * Every environment's alert rules through Prometheus' own promtool: `check rules` accepts them,
 * and `test rules` proves each alert fires above its threshold (after `for`, not before) and stays
 * silent below it. The series are generated per alert from the thresholds the configuration sets
 * (or the defaults), not from the rules, so a rule that drifted from its configuration fails.
 */
import { DEFAULT_ALERT_THRESHOLDS, DEFAULT_API_LATENCY_P95_SECONDS, DEFAULT_MODEL_LATENCY_P95_SECONDS } from '../../lib/observability/alert-thresholds';
import { BusinessMonitoring } from '../../lib/observability/business-metrics';
import { durationSeconds } from '../../lib/observability/rules';
import { LATENCY_HISTOGRAM } from '../../lib/observability/rules/app-http-rules';
import { DocumentedAlertRule } from '../../lib/observability/rules/promql';
import { logisticsBusinessMonitoring } from '../../lib/solutions/logistics';
import { realEstateBusinessMonitoring } from '../../lib/solutions/real-estate';
import { checkRules, PROMETHEUS_BINARIES, ruleFileOf, RuleUnitTest, testRules } from '../support/prometheus';
import { describeWithBinaries } from '../support/real-servers';
import { all, env, MATRIX, settingsOf } from '../support/solution-objects';

const BUSINESS: Record<string, BusinessMonitoring> = { 'logistics': logisticsBusinessMonitoring, 'real-estate': realEstateBusinessMonitoring };

/** What a scenario needs to know about the environment, read from the configuration. */
interface Expected {
  readonly namespace: string;
  readonly cpuLimitRatio: number;
  readonly memoryLimitRatio: number;
  readonly volumeUsageRatio: number;
  readonly serverErrorRatio: number;
  /** job -> p95 threshold (seconds) */
  readonly latency: Record<string, number>;
  readonly scrapedJobs: string[];
  readonly business: Record<string, number>;
}

function expectedOf(solution: string, environment: string): Expected {
  const settings = settingsOf(solution, environment);
  const configured = settings.monitoring?.thresholds ?? {};
  const e = env(solution, environment);
  const latency: Record<string, number> = { api: configured.latencyP95Seconds?.api ?? DEFAULT_API_LATENCY_P95_SECONDS };
  for (const model of Object.keys(settings.models)) latency[model] = configured.latencyP95Seconds?.[model] ?? DEFAULT_MODEL_LATENCY_P95_SECONDS;
  const declared = BUSINESS[solution].thresholds;
  return {
    namespace: e.namespace,
    ...DEFAULT_ALERT_THRESHOLDS,
    ...Object.fromEntries(Object.entries(configured).filter(([, v]) => typeof v === 'number')),
    latency,
    scrapedJobs: all(e.objects, 'PodMonitor').map((m) => m.spec.selector.matchLabels[m.spec.jobLabel]),
    business: Object.fromEntries(Object.entries(declared).map(([k, t]) => [k, configured.business?.[k] ?? t.defaultValue])),
  };
}

const SAMPLES = 60;
/** `{a="b", ...}` */
const labels = (l: Record<string, string>): string => `{${Object.entries(l).map(([k, v]) => `${k}="${v}"`).join(', ')}}`;
const series = (metric: string, l: Record<string, string>, values: string) => ({ series: `${metric}${labels(l)}`, values });
/** A counter growing by `perSecond` (samples a minute apart). */
const counter = (perSecond: number): string => `0+${perSecond * 60}x${SAMPLES}`;
const gauge = (value: number): string => `${value}x${SAMPLES}`;

/** A case: its input series, and the labels the alert fires with (none: it must stay silent). */
interface Case {
  readonly name: string;
  readonly input: { series: string; values: string }[];
  readonly fires?: Record<string, string>;
}

/** Cases per alert: at least one that fires above the threshold and one that stays silent below it. */
function casesOf(alert: string, x: Expected): Case[] {
  const ns = { namespace: x.namespace };
  const container = { ...ns, pod: 'app-0', container: 'app' };
  const above = 1.1;
  const below = 0.9;
  const httpJobs = Object.keys(x.latency);
  switch (alert) {
    case 'ContainerCpuNearLimit': {
      const cpu = (ratio: number, where = container) => [
        series('container_cpu_usage_seconds_total', where, counter(2 * ratio)),
        series('kube_pod_container_resource_limits', { ...where, resource: 'cpu' }, gauge(2)),
      ];
      return [
        // The same saturation in another namespace is another environment's alert.
        { name: 'above', input: [...cpu(x.cpuLimitRatio * above), ...cpu(0.99, { ...container, namespace: 'other' })], fires: container },
        { name: 'below', input: cpu(x.cpuLimitRatio * below) },
      ];
    }
    case 'ContainerMemoryNearLimit': {
      const memory = (ratio: number) => [
        series('container_memory_working_set_bytes', container, gauge(Math.round(2 ** 30 * ratio))),
        series('kube_pod_container_resource_limits', { ...container, resource: 'memory' }, gauge(2 ** 30)),
      ];
      return [{ name: 'above', input: memory(x.memoryLimitRatio * above), fires: container }, { name: 'below', input: memory(x.memoryLimitRatio * below) }];
    }
    case 'VolumeNearlyFull': {
      const pvc = { ...ns, persistentvolumeclaim: 'data-db-0' };
      const volume = (ratio: number) => [
        series('kubelet_volume_stats_used_bytes', pvc, gauge(Math.round(1e10 * ratio))),
        series('kubelet_volume_stats_capacity_bytes', pvc, gauge(1e10)),
      ];
      return [{ name: 'above', input: volume(Math.min(1, x.volumeUsageRatio * above)), fires: pvc }, { name: 'below', input: volume(x.volumeUsageRatio * below) }];
    }
    case 'WorkloadUnavailable': {
      const deployment = { ...ns, deployment: 'api' };
      const statefulset = { ...ns, statefulset: 'db' };
      const rollout = { ...ns, name: 'web' };
      return [
        { name: 'deployment', input: [series('kube_deployment_status_replicas_available', deployment, gauge(0)), series('kube_deployment_spec_replicas', deployment, gauge(2))], fires: deployment },
        { name: 'statefulset', input: [series('kube_statefulset_status_replicas_ready', statefulset, gauge(0)), series('kube_statefulset_replicas', statefulset, gauge(3))], fires: statefulset },
        { name: 'one ready', input: [series('kube_deployment_status_replicas_available', deployment, gauge(1)), series('kube_deployment_spec_replicas', deployment, gauge(2))] },
        { name: 'scaled to zero', input: [series('kube_statefulset_status_replicas_ready', statefulset, gauge(0)), series('kube_statefulset_replicas', statefulset, gauge(0))] },
        // Argo Rollouts' controller metrics name the Rollout `name`; the alert names it `rollout`.
        { name: 'rollout', input: [series('rollout_info_replicas_available', rollout, gauge(0)), series('rollout_info_replicas_desired', rollout, gauge(3))], fires: { ...rollout, rollout: 'web' } },
        { name: 'rollout with one ready', input: [series('rollout_info_replicas_available', rollout, gauge(1)), series('rollout_info_replicas_desired', rollout, gauge(3))] },
      ];
    }
    case 'PodCrashLooping': {
      const waiting = { ...container, reason: 'CrashLoopBackOff' };
      return [
        { name: 'crash looping', input: [series('kube_pod_container_status_waiting_reason', waiting, gauge(1))], fires: waiting },
        { name: 'running', input: [series('kube_pod_container_status_waiting_reason', waiting, gauge(0))] },
      ];
    }
    case 'ScrapeTargetDown': {
      const target = { ...ns, job: x.scrapedJobs[0], pod: `${x.scrapedJobs[0]}-0`, instance: '10.0.0.1:8000' };
      return [{ name: 'down', input: [series('up', target, gauge(0))], fires: target }, { name: 'up', input: [series('up', target, gauge(1))] }];
    }
    case 'ServiceDown': {
      const up = (job: string, value: number) => series('up', { ...ns, job, instance: `${job}:8000` }, gauge(value));
      return x.scrapedJobs.flatMap((job): Case[] => [
        { name: `${job} down`, input: x.scrapedJobs.map((j) => up(j, j === job ? 0 : 1)), fires: { ...ns, job } },
        { name: `${job} gone`, input: x.scrapedJobs.filter((j) => j !== job).map((j) => up(j, 1)).concat(job === x.scrapedJobs[0] ? [up('other', 1)] : []), fires: { ...ns, job } },
      ]).concat([{ name: 'all up', input: x.scrapedJobs.map((j) => up(j, 1)) }]);
    }
    case 'HttpServerErrorRatioHigh': {
      const requests = (job: string, ratio: number) => [
        series('http_requests_total', { ...ns, job, handler: '/work', method: 'POST', status: '2xx' }, counter(10 * (1 - ratio))),
        series('http_requests_total', { ...ns, job, handler: '/work', method: 'POST', status: '5xx' }, counter(10 * ratio)),
        // Probes answer 2xx much more often than the work: counted, they would hide the errors.
        series('http_requests_total', { ...ns, job, handler: '/health', method: 'GET', status: '2xx' }, counter(1000)),
      ];
      return httpJobs.flatMap((job) => [
        { name: `${job} above`, input: requests(job, x.serverErrorRatio * above), fires: { ...ns, job } },
        { name: `${job} below`, input: requests(job, x.serverErrorRatio * below) },
      ]);
    }
    case 'HttpLatencyP95High': {
      // All requests in one bucket: (T, 2T] puts the p95 above T, (T/2, T] below it.
      const histogram = (job: string, t: number, slow: boolean) => [t / 2, t, 2 * t, '+Inf'].map((le, i) =>
        series(`${LATENCY_HISTOGRAM}_bucket`, { ...ns, job, le: String(le) }, counter(i === 0 || (slow && i === 1) ? 0 : 10)));
      return httpJobs.flatMap((job) => [
        { name: `${job} slow`, input: histogram(job, x.latency[job], true), fires: { ...ns, job } },
        { name: `${job} fast`, input: histogram(job, x.latency[job], false) },
      ]);
    }
    case 'LogisticsOrdersStalled':
    case 'LogisticsRoutePlanningStalled': {
      const metric = alert === 'LogisticsOrdersStalled' ? 'logistics_orders_processed_total' : 'logistics_routes_planned_total';
      const busy = x.business.busyApiRequestsPerSecond;
      const api = (handler: string, perSecond: number) => series('http_requests_total', { ...ns, job: 'api', handler, method: 'POST', status: '2xx' }, counter(perSecond));
      return [
        { name: 'api busy, nothing done', input: [api('/orders', busy * 2), series(metric, ns, gauge(5))], fires: ns },
        { name: 'api busy, metric missing', input: [api('/orders', busy * 2)], fires: ns },
        { name: 'api busy, work done', input: [api('/orders', busy * 2), series(metric, ns, counter(1))] },
        { name: 'api quiet', input: [api('/orders', busy / 2), series(metric, ns, gauge(5))] },
        { name: 'only probes', input: [api('/health', busy * 100), series(metric, ns, gauge(5))] },
      ];
    }
    case 'RealEstateRecommendationSuccessLow': {
      const ratio = x.business.recommendationSuccessRatio;
      const tasks = (success: number) => [
        series('real_estate_recommendation_tasks_total', { ...ns, result: 'success' }, counter(10 * success)),
        series('real_estate_recommendation_tasks_total', { ...ns, result: 'failure' }, counter(10 * (1 - success))),
      ];
      return [{ name: 'below', input: tasks(ratio * below), fires: ns }, { name: 'above', input: tasks((ratio + 1) / 2) }];
    }
    case 'RealEstateValuationAccuracyLow': {
      const ratio = x.business.valuationAccuracyRatio;
      return [
        { name: 'below', input: [series('real_estate_valuation_accuracy_ratio', { ...ns, pod: 'api-0' }, gauge(ratio * below))], fires: ns },
        { name: 'above', input: [series('real_estate_valuation_accuracy_ratio', { ...ns, pod: 'api-0' }, gauge((ratio + 1) / 2))] },
      ];
    }
    default:
      return [];
  }
}

/** An annotation as Prometheus renders it for an alert with `labels`. */
const render = (template: string, l: Record<string, string>): string => template.replace(/\{\{ \$labels\.([a-z_]+) \}\}/g, (_, name) => l[name] ?? '');

/** The promtool unit tests of one alert: before `for` nothing fires, after it exactly the expected alert. */
function unitTests(rule: Record<string, any>, cases: Case[]): RuleUnitTest[] {
  const forMinutes = durationSeconds(rule.for)! / 60;
  const after = `${forMinutes + 10}m`;
  return cases.map((c) => ({
    interval: '1m',
    input_series: c.input,
    alert_rule_test: c.fires
      ? [
        { eval_time: `${forMinutes - 1}m`, alertname: rule.alert, exp_alerts: [] },
        {
          eval_time: after,
          alertname: rule.alert,
          exp_alerts: [{
            exp_labels: { ...c.fires, ...rule.labels },
            exp_annotations: Object.fromEntries(Object.entries(rule.annotations as Record<string, string>).map(([k, v]) => [k, render(v, c.fires!)])),
          }],
        },
      ]
      : [{ eval_time: after, alertname: rule.alert, exp_alerts: [] }],
  }));
}

function prometheusRuleOf(solution: string, environment: string): Record<string, any> {
  const e = env(solution, environment);
  return all(e.app, 'PrometheusRule').find((r) => r.metadata.name === `${e.namespace}-alerts`)!;
}

describeWithBinaries('environment alerts with promtool', PROMETHEUS_BINARIES, 'prometheus', () => {
  test.each(MATRIX)('%s/%s: promtool check rules accepts the PrometheusRule', (solution, environment) => {
    const result = checkRules(ruleFileOf([prometheusRuleOf(solution, environment)]));
    expect(result.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(result.status).toBe(0);
  });

  test.each(MATRIX)('%s/%s: promtool test rules: every alert fires above its threshold after for, and is silent below it and before', (solution, environment) => {
    const rule = prometheusRuleOf(solution, environment);
    const expected = expectedOf(solution, environment);
    const alerts = rule.spec.groups.flatMap((g: any) => g.rules).filter((r: any) => r.alert);
    const tests: RuleUnitTest[] = [];
    const untested: string[] = [];
    for (const alert of alerts) {
      const cases = casesOf(alert.alert, expected);
      if (!cases.some((c) => c.fires) || !cases.some((c) => !c.fires)) untested.push(alert.alert);
      // The AlertmanagerConfig routes only alerts labelled with its namespace: each must carry it.
      if (cases.some((c) => c.fires && c.fires.namespace !== expected.namespace)) untested.push(`${alert.alert} without namespace`);
      tests.push(...unitTests(alert, cases));
    }
    expect(untested).toEqual([]);
    const result = testRules(ruleFileOf([rule]), tests);
    expect(result.output).toMatch(/SUCCESS/);
    expect(result.status).toBe(0);
  });

  test('a scenario catches a drifted threshold: the rules with the CPU threshold raised fail the test', () => {
    const rule = prometheusRuleOf('real-estate', 'dev');
    const drifted = JSON.parse(JSON.stringify(rule));
    const cpu = drifted.spec.groups.flatMap((g: any) => g.rules).find((r: any) => r.alert === 'ContainerCpuNearLimit');
    cpu.expr = cpu.expr.replace(/> [\d.]+$/, '> 0.995');
    const result = testRules(ruleFileOf([drifted]), unitTests(cpu, casesOf('ContainerCpuNearLimit', expectedOf('real-estate', 'dev'))));
    expect(result.status).not.toBe(0);
  });
});

test('every business alert of every solution has promtool cases (a new alert needs its own)', () => {
  const missing: string[] = [];
  for (const [solution, environment] of MATRIX) {
    const x = expectedOf(solution, environment);
    const business = BUSINESS[solution].alerts({ namespace: x.namespace, namespaceMatcher: '', apiRequestMatchers: [], thresholds: x.business }) as DocumentedAlertRule[];
    missing.push(...business.filter((a) => casesOf(a.alert, x).length === 0).map((a) => `${solution}: ${a.alert}`));
  }
  expect(missing).toEqual([]);
});
