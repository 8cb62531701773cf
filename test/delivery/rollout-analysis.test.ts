/**
 * The rollout analyses (lib/delivery/rollout-analysis.ts) against Prometheus' own evaluator: every
 * query is a valid rule expression, the 5% boundary holds (4.9% passes, 5.1% fails), only the new
 * version's pods count, and no traffic, a version without any 5xx series, and NaN give the stated
 * values instead of an empty result.
 */
import { Testing } from 'cdk8s';
import { ApiService } from '../../lib/api-service';
import { AppConfig } from '../../lib/app-config';
import { DeliveryStrategy } from '../../lib/delivery/delivery-options';
import { errorRatioQuery, latencyP95Query, NOT_ENOUGH_TRAFFIC, notAbove, restartsQuery } from '../../lib/delivery/rollout-analysis';
import { checkRules, PROMETHEUS_BINARIES, testRules } from '../support/prometheus';
import { describeWithBinaries } from '../support/real-servers';

const NS = 'ns';
const TARGET = { namespace: NS, job: 'api' };
const NEW = 'new5f7c9';
const OLD = 'old8d2e1';

/** An Argo Rollouts condition of the form the analyses use (`result[0] <= 0.05`), evaluated on `value`. */
function holds(condition: string, value: number): boolean {
  const m = /^result\[0\] (<=|>) (-?[\d.]+)$/.exec(condition);
  if (!m) throw new Error(`unexpected condition ${condition}`);
  return m[1] === '<=' ? value <= Number(m[2]) : value > Number(m[2]);
}

/** The query as Argo Rollouts sends it for the version with hash `hash`. */
const forVersion = (query: string, hash = NEW) => query.split('{{args.pod-template-hash}}').join(hash);

/** Request counters of one version: `ok` 2xx and `failed` 5xx requests per minute (no 5xx series when 0). */
function traffic(hash: string, ok: number, failed: number): { series: string; values: string }[] {
  const series = (status: string) => `http_requests_total{namespace="${NS}", job="api", rollouts_pod_template_hash="${hash}", handler="/orders", method="GET", status="${status}"}`;
  return [
    { series: series('2xx'), values: `0+${ok}x30` },
    ...(failed > 0 ? [{ series: series('5xx'), values: `0+${failed}x30` }] : []),
    // Probes and scrapes never count.
    { series: `http_requests_total{namespace="${NS}", job="api", rollouts_pod_template_hash="${hash}", handler="/health", method="GET", status="5xx"}`, values: '0+500x30' },
  ];
}

function errorRatioAt(input: { series: string; values: string }[], expected: number) {
  return testRules({ groups: [] }, [{
    interval: '1m',
    input_series: input,
    promql_expr_test: [{ expr: forVersion(errorRatioQuery(TARGET, 20)), eval_time: '20m', exp_samples: [{ value: expected }] }],
  }]);
}

describeWithBinaries('rollout analysis queries (promtool)', PROMETHEUS_BINARIES, 'prometheus', () => {
  test('every query of an analysis template is a valid rule expression', () => {
    const chart = Testing.chart();
    const config = new AppConfig(chart, 'application', { settings: {}, properties: {} });
    new ApiService(chart, 'api', {
      config,
      image: { repository: 'registry.example.com/x/api', tag: '1.0.0' },
      resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } },
      delivery: { strategy: DeliveryStrategy.CANARY },
    });
    const template = Testing.synth(chart).find((o) => o.kind === 'AnalysisTemplate')!;
    const rules = template.spec.metrics.map((m: any) => ({ record: `analysis:${m.name.replace(/-/g, '_')}:value`, expr: forVersion(m.provider.prometheus.query) }));
    expect(rules.map((r: any) => r.record)).toEqual(['analysis:restarts:value', 'analysis:error_ratio:value', 'analysis:latency_p95:value']);
    const result = checkRules({ groups: [{ name: 'analysis', rules }] });
    expect(result.output).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });

  test.each([
    [49, true],
    [51, false],
  ])('%i failed requests in 1000 per minute (4.9%%, 5.1%%): the version passes: %s', (failed, passes) => {
    // As Prometheus computes it: per-second rates divided.
    const ratio = (failed / 60) / (1000 / 60);
    const result = errorRatioAt([...traffic(NEW, 1000 - failed, failed), ...traffic(OLD, 500, 500)], ratio);
    expect(result.output).toContain('SUCCESS');
    const { successCondition, failureCondition } = notAbove(0.05);
    expect(holds(successCondition, ratio)).toBe(passes);
    expect(holds(failureCondition, ratio)).toBe(!passes);
  });

  test('a version that never returned a 5xx (no 5xx series yet) measures 0, not an empty result', () => {
    expect(errorRatioAt(traffic(NEW, 1000, 0), 0).output).toContain('SUCCESS');
  });

  test('a version with fewer requests than the minimum measures -1 (the stated no-data policy), also when its counters stopped (NaN)', () => {
    expect(errorRatioAt(traffic(NEW, 3, 3), NOT_ENOUGH_TRAFFIC).output).toContain('SUCCESS');
    const stopped = [{ series: `http_requests_total{namespace="${NS}", job="api", rollouts_pod_template_hash="${NEW}", handler="/orders", method="GET", status="5xx"}`, values: '100x30' }];
    expect(errorRatioAt(stopped, NOT_ENOUGH_TRAFFIC).output).toContain('SUCCESS');
    expect(errorRatioAt([], NOT_ENOUGH_TRAFFIC).output).toContain('SUCCESS');
    expect(holds(notAbove(0.05).successCondition, NOT_ENOUGH_TRAFFIC)).toBe(true);
  });

  test('latency: the new version\'s p95 from its own histogram, -1 without traffic', () => {
    const bucket = (hash: string, le: string, perMinute: number) => ({
      series: `http_request_duration_highr_seconds_bucket{namespace="${NS}", job="api", rollouts_pod_template_hash="${hash}", le="${le}"}`,
      values: `0+${perMinute}x30`,
    });
    // New version: every request under 0.5 s; the old one: all slow. p95 of the new one is 0.5 s at most.
    const input = [...traffic(NEW, 1000, 0), bucket(NEW, '0.25', 0), bucket(NEW, '0.5', 1000), bucket(NEW, '+Inf', 1000),
      bucket(OLD, '0.25', 0), bucket(OLD, '0.5', 0), bucket(OLD, '+Inf', 1000)];
    const result = testRules({ groups: [] }, [
      { interval: '1m', input_series: input, promql_expr_test: [{ expr: forVersion(latencyP95Query(TARGET, 20)), eval_time: '20m', exp_samples: [{ value: 0.4875 }] }] },
      { interval: '1m', input_series: [bucket(NEW, '+Inf', 0)], promql_expr_test: [{ expr: forVersion(latencyP95Query(TARGET, 20)), eval_time: '20m', exp_samples: [{ value: NOT_ENOUGH_TRAFFIC }] }] },
    ]);
    expect(result.output).toContain('SUCCESS');
  });

  test('restarts: only the new version\'s pods, 0 when none restarted', () => {
    const restarts = (pod: string, values: string) => ({ series: `kube_pod_container_status_restarts_total{namespace="${NS}", pod="${pod}", container="api"}`, values });
    const query = forVersion(restartsQuery(NS, 'api'));
    const result = testRules({ groups: [] }, [
      { interval: '1m', input_series: [restarts(`api-${NEW}-x7k2p`, '0x10 1x20'), restarts(`api-${OLD}-q9w8e`, '0+1x30')], promql_expr_test: [{ expr: query, eval_time: '12m', exp_samples: [{ value: 1 }] }] },
      { interval: '1m', input_series: [restarts(`api-${NEW}-x7k2p`, '0x30'), restarts(`api-${OLD}-q9w8e`, '0+1x30')], promql_expr_test: [{ expr: query, eval_time: '20m', exp_samples: [{ value: 0 }] }] },
    ]);
    expect(result.output).toContain('SUCCESS');
  });
});
