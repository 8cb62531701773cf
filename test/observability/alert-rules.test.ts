/** The AlertRules construct: what it writes, what it refuses, and that promtool accepts it. */
import { Chart, Testing } from 'cdk8s';
import { AlertRules } from '../../lib/observability/alert-rules';
import { MONITORING_CONTEXT_KEY } from '../../lib/observability/monitoring-settings';
import { AlertRule, RuleGroup } from '../../lib/observability/rules';
import { Severity } from '../../lib/observability/severity';
import { describeWithBinaries } from '../support/real-servers';
import { checkRules, PROMETHEUS_BINARIES, ruleFileOf, testRules } from '../support/prometheus';

const alert = (overrides: Partial<AlertRule> = {}): AlertRule => ({
  alert: 'ApiDown', expr: 'sum(rate(http_requests_total{job="api"}[5m])) == 0', forDuration: '5m', severity: Severity.P1,
  summary: 'the API answers nothing', description: 'no request reached the API for 5 minutes', threshold: 'no requests', ...overrides,
});

function synth(groups: RuleGroup[], context: Record<string, unknown> = {}): any {
  const app = Testing.app();
  for (const [k, v] of Object.entries(context)) app.node.setContext(k, v);
  const chart = new Chart(app, 'test');
  new AlertRules(chart, 'rules', { groups });
  return Testing.synth(chart)[0];
}

describe('AlertRules', () => {
  test('writes a PrometheusRule with discovery labels, severity and runbook annotations', () => {
    const rule = synth([{ name: 'api', rules: [alert(), { record: 'job:http_requests:rate5m', expr: 'sum by (job) (rate(http_requests_total[5m]))' }] }],
      { [MONITORING_CONTEXT_KEY]: { discoveryLabels: { release: 'prom' }, runbookBaseUrl: 'https://x.example.com/runbooks.md' } });
    expect(rule.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(rule.kind).toBe('PrometheusRule');
    expect(rule.metadata.labels.release).toBe('prom');
    expect(rule.spec.groups[0].rules[0]).toEqual({
      alert: 'ApiDown', expr: 'sum(rate(http_requests_total{job="api"}[5m])) == 0', for: '5m', labels: { severity: 'P1' },
      annotations: { summary: 'the API answers nothing', description: 'no request reached the API for 5 minutes', runbook_url: 'https://x.example.com/runbooks.md#apidown' },
    });
    expect(rule.spec.groups[0].rules[1]).toEqual({ record: 'job:http_requests:rate5m', expr: 'sum by (job) (rate(http_requests_total[5m]))' });
  });

  test('the default discovery label is kube-prometheus-stack\'s release', () => {
    expect(synth([{ name: 'api', rules: [alert()] }]).metadata.labels.release).toBe('kube-prometheus-stack');
  });

  test.each([
    [{ alert: 'api_down' }, /api\.api_down must be a PascalCase alert name/],
    [{ forDuration: '1m' }, /api\.ApiDown\.forDuration must be at least the longest range in the expression \(300s\)/],
    [{ forDuration: 'soon' }, /forDuration must be a Prometheus duration/],
    [{ severity: 'P5' as Severity }, /severity must be one of P0, P1, P2, P3/],
  ])('refuses %j', (overrides, message) => {
    expect(() => synth([{ name: 'api', rules: [alert(overrides)] }])).toThrow(message);
  });

  test('refuses a repeated alert name and a badly named recording rule', () => {
    expect(() => synth([{ name: 'api', rules: [alert(), alert()] }])).toThrow(/an alert name used once per rule object but "ApiDown"/);
    expect(() => synth([{ name: 'api', rules: [{ record: 'http_rate', expr: 'up' }] }])).toThrow(/a recording rule name level:metric:operations/);
  });
});

describeWithBinaries('AlertRules with promtool', PROMETHEUS_BINARIES, 'prometheus', () => {
  test('promtool accepts what it writes and refuses a broken expression', () => {
    const rule = synth([{ name: 'api', rules: [alert()] }]);
    expect(checkRules(ruleFileOf([rule]))).toMatchObject({ status: 0 });
    const broken = synth([{ name: 'api', rules: [alert({ expr: 'sum(rate(http_requests_total[5m]) ==' })] }]);
    expect(checkRules(ruleFileOf([broken])).status).not.toBe(0);
  });

  test('promtool test rules: the alert fires after for, and not before', () => {
    const rule = synth([{ name: 'api', rules: [alert()] }]);
    const result = testRules(ruleFileOf([rule]), [{
      interval: '1m',
      input_series: [{ series: 'http_requests_total{job="api"}', values: '0+60x10 600x20' }],
      alert_rule_test: [
        { eval_time: '10m', alertname: 'ApiDown', exp_alerts: [] },
        { eval_time: '14m', alertname: 'ApiDown', exp_alerts: [] },
        { eval_time: '22m', alertname: 'ApiDown', exp_alerts: [{ exp_labels: { severity: 'P1' }, exp_annotations: rule.spec.groups[0].rules[0].annotations }] },
      ],
    }]);
    expect(result.output).toMatch(/SUCCESS/);
    expect(result.status).toBe(0);
  });
});
