/**
 * The environment's alert rules over the whole matrix, read statically: one PrometheusRule per
 * environment, every selector limited to the namespace, every metric name from the contract, `for`
 * at least every rate window (those behind recording rules included), every scraped job watched
 * for disappearing; thresholds from the configuration, and what the construct refuses.
 */
import { Chart, Testing } from 'cdk8s';
import { AlertThresholds, DEFAULT_ALERT_THRESHOLDS } from '../../lib/observability/alert-thresholds';
import { BusinessMonitoring, businessCounter } from '../../lib/observability/business-metrics';
import { HTTP_METRICS } from '../../lib/observability/http-metrics';
import { DEFAULT_MONITORING, MONITORING_CONTEXT_KEY } from '../../lib/observability/monitoring-settings';
import { durationSeconds, isAlertRule, longestRangeSeconds, RecordingRule } from '../../lib/observability/rules';
import { LATENCY_HISTOGRAM } from '../../lib/observability/rules/app-http-rules';
import { EnvironmentAlerts, EnvironmentAlertsProps } from '../../lib/observability/rules/environment-alerts';
import { KUBERNETES_METRICS } from '../../lib/observability/rules/kubernetes-metrics';
import { SOLUTIONS } from '../../lib/solutions';
import { buildEnvironment } from '../../lib/solutions/solution';
import { all, env, MATRIX, outdir, settingsOf } from '../support/solution-objects';
import { metricNamesOf, selectorsOf } from '../support/promql';

/** The EnvironmentAlerts construct of one environment, and its rendered PrometheusRule. */
function alertsOf(solution: string, environment: string): { alerts: EnvironmentAlerts; rule: Record<string, any>; namespace: string } {
  const app = buildEnvironment(SOLUTIONS.find((s) => s.definition.name === solution)!, environment, outdir);
  const found = app.node.findAll().filter((c): c is EnvironmentAlerts => c instanceof EnvironmentAlerts);
  expect(found).toHaveLength(1);
  const namespace = env(solution, environment).namespace;
  const rules = all(env(solution, environment).app, 'PrometheusRule').filter((r) => r.metadata.name === `${namespace}-alerts`);
  expect(rules).toHaveLength(1);
  return { alerts: found[0], rule: rules[0], namespace };
}

describe('environment alerts over the matrix', () => {
  test.each(MATRIX)('%s/%s: one PrometheusRule <namespace>-alerts with the discovery labels', (solution, environment) => {
    const { rule } = alertsOf(solution, environment);
    const discovery = settingsOf(solution, environment).monitoring?.discoveryLabels ?? DEFAULT_MONITORING.discoveryLabels;
    expect(rule.metadata.labels).toMatchObject(discovery);
    expect(rule.spec.groups.map((g: any) => g.name)).toEqual(expect.arrayContaining(['kubernetes-resources', 'kubernetes-workloads', 'scrape-targets', 'app-http', `${solution}-business`]));
  });

  test.each(MATRIX)('%s/%s: every metric of every expression is selected with the namespace matcher', (solution, environment) => {
    const { rule, namespace } = alertsOf(solution, environment);
    const problems: string[] = [];
    for (const r of rule.spec.groups.flatMap((g: any) => g.rules)) {
      for (const metric of metricNamesOf(r.expr)) {
        for (const matchers of selectorsOf(r.expr, metric)) {
          if (!matchers?.includes(`namespace="${namespace}"`)) problems.push(`${r.alert ?? r.record}: ${metric}${matchers ?? ''}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test.each(MATRIX)('%s/%s: every metric name is the app contract, a recording rule of the rule, or a known cluster metric', (solution, environment) => {
    const { alerts, rule } = alertsOf(solution, environment);
    const rules = rule.spec.groups.flatMap((g: any) => g.rules);
    const allowed = new Set<string>([
      HTTP_METRICS.requestsTotal, `${LATENCY_HISTOGRAM}_bucket`,
      ...(alerts.business?.metrics ?? []).map((m) => m.name),
      ...rules.filter((r: any) => r.record).map((r: any) => r.record),
      ...Object.values(KUBERNETES_METRICS),
    ]);
    const unknown = rules.flatMap((r: any) => metricNamesOf(r.expr).filter((m) => !allowed.has(m)).map((m) => `${r.alert ?? r.record}: ${m}`));
    expect(unknown).toEqual([]);
    // The tokenizer finds what it must, or this test proves nothing.
    expect(metricNamesOf(rules.find((r: any) => r.alert === 'ContainerCpuNearLimit').expr).sort())
      .toEqual([KUBERNETES_METRICS.containerCpuUsageSeconds, KUBERNETES_METRICS.containerResourceLimits].sort());
  });

  test.each(MATRIX)('%s/%s: for >= every rate window, the windows of the recording rules an alert reads included', (solution, environment) => {
    const { alerts } = alertsOf(solution, environment);
    const records = new Map(alerts.groups.flatMap((g) => g.rules).filter((r): r is RecordingRule => !isAlertRule(r)).map((r) => [r.record, r.expr]));
    const short = alerts.alerts.filter((a) => {
      const windows = [a.expr, ...metricNamesOf(a.expr).map((m) => records.get(m) ?? '')].map(longestRangeSeconds);
      return durationSeconds(a.forDuration)! < Math.max(...windows);
    }).map((a) => `${a.alert} for ${a.forDuration}`);
    expect(short).toEqual([]);
    expect(records.size).toBeGreaterThan(0);
  });

  test.each(MATRIX)('%s/%s: every scraped job (PodMonitor) is watched for disappearing by ServiceDown', (solution, environment) => {
    const { alerts, namespace } = alertsOf(solution, environment);
    const jobs = all(env(solution, environment).objects, 'PodMonitor').map((m) => m.spec.selector.matchLabels[m.spec.jobLabel]);
    expect(jobs.length).toBeGreaterThan(0);
    const serviceDown = alerts.alerts.find((a) => a.alert === 'ServiceDown')!;
    for (const job of jobs) expect(serviceDown.expr).toContain(`absent_over_time(up{namespace="${namespace}", job="${job}"}[5m])`);
  });

  test.each(MATRIX)('%s/%s: every alert has a severity, a summary, a description, a threshold and an expression summary', (solution, environment) => {
    const { alerts } = alertsOf(solution, environment);
    for (const a of alerts.alerts) {
      expect({ alert: a.alert, ok: [a.summary, a.description, a.threshold, a.expressionSummary].every((t) => typeof t === 'string' && t.trim().length > 0) }).toEqual({ alert: a.alert, ok: true });
      // Annotations may only name labels: the promtool tests render them, and `$value` is never exact.
      expect(`${a.summary} ${a.description}`.replace(/\{\{ \$labels\.[a-z_]+ \}\}/g, '')).not.toMatch(/\{\{/);
    }
  });

  test('the thresholds of the alerts are the defaults where the configuration sets none', () => {
    const { alerts } = alertsOf('real-estate', 'prod');
    expect(settingsOf('real-estate', 'prod').monitoring?.thresholds).toBeUndefined();
    expect(alerts.thresholds).toEqual(DEFAULT_ALERT_THRESHOLDS);
    expect(alerts.latencyP95Seconds).toEqual({ api: 1, recommendation: 5, valuation: 5 });
    expect(alerts.businessThresholds).toEqual({ recommendationSuccessRatio: 0.9, valuationAccuracyRatio: 0.9 });
  });
});

const business: BusinessMonitoring = {
  solution: 'shop',
  metrics: [businessCounter('shop_orders_total', 'orders')],
  thresholds: { minOrdersRatio: { defaultValue: 0.5, min: 0, max: 1, description: 'a ratio' } },
  alerts: (c) => [{
    alert: 'ShopOrdersLow', expr: `sum by (namespace) (rate(shop_orders_total{${c.namespaceMatcher}}[5m])) < ${c.thresholds.minOrdersRatio}`, forDuration: '5m',
    severity: 'P2' as any, summary: 's', description: 'd', threshold: 't', expressionSummary: 'e',
  }],
};

function synth(props: Partial<EnvironmentAlertsProps> = {}, monitoring?: { thresholds?: AlertThresholds }): { alerts: EnvironmentAlerts; rule: any } {
  const app = Testing.app();
  if (monitoring) app.node.setContext(MONITORING_CONTEXT_KEY, monitoring);
  const chart = new Chart(app, 'shop-dev', { namespace: 'shop-dev' });
  const alerts = new EnvironmentAlerts(chart, 'alerts', {
    scrapedJobs: ['api', 'ranker'], httpServices: [{ job: 'api', defaultLatencyP95Seconds: 1 }, { job: 'ranker', defaultLatencyP95Seconds: 5 }],
    apiJob: 'api', business, ...props,
  });
  return { alerts, rule: Testing.synth(chart).find((o) => o.kind === 'PrometheusRule') };
}

const exprOf = (rule: any, alert: string): string => rule.spec.groups.flatMap((g: any) => g.rules).find((r: any) => r.alert === alert).expr;

describe('EnvironmentAlerts', () => {
  test('named <namespace>-alerts, in the chart\'s namespace, with the defaults as thresholds', () => {
    const { rule } = synth();
    expect(rule.metadata.name).toBe('shop-dev-alerts');
    expect(exprOf(rule, 'ContainerCpuNearLimit')).toMatch(/> 0\.9$/);
    expect(exprOf(rule, 'HttpServerErrorRatioHigh')).toMatch(/> 0\.01$/);
    expect(exprOf(rule, 'HttpLatencyP95High')).toContain('job="api"} > 1\nor namespace_job:http_request_duration_highr_seconds:p95_rate5m{namespace="shop-dev", job="ranker"} > 5');
    expect(exprOf(rule, 'ShopOrdersLow')).toMatch(/< 0\.5$/);
  });

  test('thresholds come from monitoring.thresholds of the environment', () => {
    const { rule, alerts } = synth({}, {
      thresholds: { cpuLimitRatio: 0.8, memoryLimitRatio: 0.85, volumeUsageRatio: 0.75, serverErrorRatio: 0.05, latencyP95Seconds: { ranker: 2.5 }, business: { minOrdersRatio: 0.7 } },
    });
    expect(exprOf(rule, 'ContainerCpuNearLimit')).toMatch(/> 0\.8$/);
    expect(exprOf(rule, 'ContainerMemoryNearLimit')).toMatch(/> 0\.85$/);
    expect(exprOf(rule, 'VolumeNearlyFull')).toMatch(/> 0\.75$/);
    expect(exprOf(rule, 'HttpServerErrorRatioHigh')).toMatch(/> 0\.05$/);
    expect(exprOf(rule, 'HttpLatencyP95High')).toMatch(/job="ranker"} > 2\.5$/);
    expect(exprOf(rule, 'ShopOrdersLow')).toMatch(/< 0\.7$/);
    expect(alerts.alerts.find((a) => a.alert === 'ContainerCpuNearLimit')!.threshold).toBe('> 80% of the CPU limit');
  });

  test.each([
    [{ cpuLimitRatio: 90 }, /shop-dev: monitoring\.thresholds\.cpuLimitRatio must be a ratio above 0 and at most 1 \(0\.9 is 90%\) but 90 was provided/],
    [{ serverErrorRatio: 0 }, /monitoring\.thresholds\.serverErrorRatio must be a ratio above 0/],
    [{ latencyP95Seconds: { web: 1 } }, /monitoring\.thresholds\.latencyP95Seconds\.web must be a service that serves the metrics contract \(api, ranker\) but "web"/],
    [{ latencyP95Seconds: { api: 60 } }, /latencyP95Seconds\.api must be seconds above 0 and below 60 \(the latency histogram's highest bucket\) but 60/],
    [{ business: { minOrderRatio: 0.5 } }, /monitoring\.thresholds\.business\.minOrderRatio must be one of the solution's business thresholds \(minOrdersRatio\)/],
    [{ business: { minOrdersRatio: 2 } }, /monitoring\.thresholds\.business\.minOrdersRatio must be a number between 0 and 1 but 2/],
  ])('refuses thresholds %j', (thresholds, message) => {
    expect(() => synth({ thresholds: thresholds as AlertThresholds })).toThrow(message);
  });

  test('refuses business metrics that break the naming rules', () => {
    const bad = (metrics: BusinessMonitoring['metrics']) => () => synth({ business: { ...business, metrics } });
    expect(bad([businessCounter('orders_total', 'x')])).toThrow(/shop\.businessMetrics\[0\]\.name must be a snake_case metric name starting with shop_ but "orders_total"/);
    expect(bad([businessCounter('shop_orders', 'x')])).toThrow(/a counter name ending in _total/);
    expect(bad([{ name: 'shop_backlog_total', type: 'gauge', labels: [], help: 'x' }])).toThrow(/a gauge name not ending in _total/);
    expect(bad([businessCounter('shop_orders_total', 'x', ['severity'])])).toThrow(/businessMetrics\[0\]\.labels must be labels other than job.*but "severity"/);
    expect(bad([businessCounter('shop_orders_total', 'x'), businessCounter('shop_orders_total', 'y')])).toThrow(/businessMetrics\[1\]\.name must be a metric name declared once/);
  });

  test('no scraped job: no ServiceDown; no HTTP service: no app-http group', () => {
    const { rule } = synth({ scrapedJobs: [], httpServices: [], business: undefined });
    const names = rule.spec.groups.flatMap((g: any) => g.rules.map((r: any) => r.alert ?? r.record));
    expect(names).not.toContain('ServiceDown');
    expect(rule.spec.groups.map((g: any) => g.name)).toEqual(['kubernetes-resources', 'kubernetes-workloads', 'scrape-targets']);
  });
});
