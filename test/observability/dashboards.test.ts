/**
 * The environments' Grafana dashboards over the whole matrix: one ConfigMap per dashboard with the
 * sidecar label, an overview and one dashboard per store kind present, the data source variable
 * (no import-time inputs), every query valid PromQL (promtool), limited to the namespace and made
 * of metric names something provides, the size limit of `kubectl apply`, deterministic output.
 */
import { Chart, Testing } from 'cdk8s';
import { BusinessMonitoring } from '../../lib/observability/business-metrics';
import { buildDashboard, DATASOURCE_VARIABLE, MAX_UID_LENGTH, PanelSpec } from '../../lib/observability/dashboards/dashboard-builder';
import { GRAFANA_DEFAULTS, GrafanaDashboard, MAX_DASHBOARD_CONFIGMAP_BYTES } from '../../lib/observability/dashboards/grafana-dashboard';
import { KUBERNETES_DASHBOARD_METRICS } from '../../lib/observability/dashboards/overview-dashboard';
import { STORE_METRIC_NAMES } from '../../lib/observability/dashboards/store-metrics';
import { HTTP_METRICS } from '../../lib/observability/http-metrics';
import { LATENCY_P95_RECORD, SERVER_ERROR_RATIO_RECORD } from '../../lib/observability/rules/app-http-rules';
import { EnvironmentAlerts } from '../../lib/observability/rules/environment-alerts';
import { SOLUTIONS } from '../../lib/solutions';
import { logisticsBusinessMonitoring } from '../../lib/solutions/logistics';
import { realEstateBusinessMonitoring } from '../../lib/solutions/real-estate';
import { buildEnvironment } from '../../lib/solutions/solution';
import { KubernetesSchema } from '../support/kubernetes-schema';
import { checkRules, PROMETHEUS_BINARIES } from '../support/prometheus';
import { describeWithBinaries } from '../support/real-servers';
import { all, env, K8sObject, MATRIX, outdir } from '../support/solution-objects';
import { metricNamesOf, selectorsOf } from '../support/promql';

const BUSINESS: Record<string, BusinessMonitoring> = { 'logistics': logisticsBusinessMonitoring, 'real-estate': realEstateBusinessMonitoring };
const SIDECAR_KEY = Object.keys(GRAFANA_DEFAULTS.sidecarLabel)[0];

interface Found {
  readonly configMap: K8sObject;
  readonly key: string;
  readonly dashboard: Record<string, any>;
}

/** The dashboard ConfigMaps of an environment, each with its parsed dashboard. */
function dashboardsOf(solution: string, environment: string): Found[] {
  return all(env(solution, environment).app, 'ConfigMap')
    .filter((c) => c.metadata.labels?.[SIDECAR_KEY] !== undefined)
    .map((configMap) => {
      const keys = Object.keys(configMap.data ?? {});
      return { configMap, key: keys[0], dashboard: keys.length === 1 ? JSON.parse(configMap.data[keys[0]]) : undefined };
    });
}

function panelsOf(dashboard: Record<string, any>): Record<string, any>[] {
  return dashboard.panels.filter((p: any) => p.type !== 'row');
}

/** Every query of a dashboard with the title of its panel. */
function queriesOf(dashboard: Record<string, any>): { panel: string; expr: string }[] {
  return panelsOf(dashboard).flatMap((p) => p.targets.map((t: any) => ({ panel: p.title, expr: t.expr as string })));
}

/** Grafana's interval variables, as Prometheus would receive them. */
function asPromql(expr: string): string {
  return expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m');
}

/** Store kinds the environment runs, read from its workloads' images (independently of the dashboards' own detection). */
function storeKindsOf(objects: K8sObject[]): string[] {
  const images = [...all(objects, 'StatefulSet'), ...all(objects, 'Deployment')].flatMap((s) => s.spec.template.spec.containers.map((c: any) => c.image as string));
  const kinds: [string, RegExp][] = [['mysql', /^mysql:/], ['postgresql', /^postgres:/], ['redis', /^redis:/], ['milvus', /^milvusdb\/milvus:/]];
  return kinds.filter(([, image]) => images.some((i) => image.test(i))).map(([kind]) => kind).sort();
}

describe('environment dashboards over the matrix', () => {
  test.each(MATRIX)('%s/%s: an overview and one dashboard per store kind present, each a ConfigMap with the sidecar label and one key <name>.json', (solution, environment) => {
    const e = env(solution, environment);
    const found = dashboardsOf(solution, environment);
    const kinds = found.map((f) => f.configMap.metadata.name.slice(`${e.namespace}-dashboard-`.length)).sort();
    expect(kinds).toEqual(['overview', ...storeKindsOf(e.objects)].sort());
    expect(storeKindsOf(e.objects).length).toBeGreaterThanOrEqual(3);
    for (const { configMap, key, dashboard } of found) {
      expect(configMap.metadata.name.startsWith(`${e.namespace}-dashboard-`)).toBe(true);
      expect(configMap.metadata.namespace).toBe(e.namespace);
      expect(configMap.metadata.labels).toMatchObject(GRAFANA_DEFAULTS.sidecarLabel);
      expect(Object.keys(configMap.data)).toEqual([`${configMap.metadata.name}.json`]);
      expect(key).toBe(`${configMap.metadata.name}.json`);
      expect(dashboard.title).toContain(`${solution} / ${environment}`);
    }
  });

  test('uids are at most 40 characters and unique over the whole matrix (one Grafana holds every environment)', () => {
    const uids = MATRIX.flatMap(([s, e]) => dashboardsOf(s, e).map((f) => f.dashboard.uid as string));
    expect(uids.filter((u) => u.length > MAX_UID_LENGTH)).toEqual([]);
    expect(new Set(uids).size).toBe(uids.length);
    const keys = MATRIX.flatMap(([s, e]) => dashboardsOf(s, e).map((f) => f.key));
    expect(new Set(keys).size).toBe(keys.length);
  });

  test.each(MATRIX)('%s/%s: the data source is the datasource variable, preset to the cluster\'s Prometheus; no import-time input', (solution, environment) => {
    for (const { configMap, key, dashboard } of dashboardsOf(solution, environment)) {
      const text: string = configMap.data[key];
      expect(dashboard.__inputs).toBeUndefined();
      expect(text).not.toMatch(/\$\{DS_/);
      expect(dashboard.templating.list).toEqual([expect.objectContaining({
        type: 'datasource', name: DATASOURCE_VARIABLE, query: 'prometheus',
        current: expect.objectContaining({ value: GRAFANA_DEFAULTS.datasource.uid, text: GRAFANA_DEFAULTS.datasource.name }),
      })]);
      for (const panel of panelsOf(dashboard)) {
        expect(panel.datasource).toEqual({ type: 'prometheus', uid: `\${${DATASOURCE_VARIABLE}}` });
        for (const target of panel.targets) expect(target.datasource).toEqual(panel.datasource);
      }
    }
  });

  test.each(MATRIX)('%s/%s: panel ids are unique, panels lie on the 24-column grid without overlapping', (solution, environment) => {
    for (const { dashboard } of dashboardsOf(solution, environment)) {
      const ids = dashboard.panels.map((p: any) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      const cells = new Set<string>();
      for (const p of dashboard.panels) {
        const g = p.gridPos;
        expect(g.x + g.w).toBeLessThanOrEqual(24);
        for (let x = g.x; x < g.x + g.w; x++) {
          for (let y = g.y; y < g.y + g.h; y++) {
            expect(cells.has(`${x},${y}`)).toBe(false);
            cells.add(`${x},${y}`);
          }
        }
      }
    }
  });

  test.each(MATRIX)('%s/%s: every metric of every query is selected with the namespace matcher', (solution, environment) => {
    const { namespace } = env(solution, environment);
    const problems: string[] = [];
    for (const { dashboard } of dashboardsOf(solution, environment)) {
      for (const q of queriesOf(dashboard)) {
        const names = metricNamesOf(asPromql(q.expr));
        if (names.length === 0) problems.push(`${q.panel}: no metric`);
        for (const metric of names) {
          for (const matchers of selectorsOf(q.expr, metric)) {
            if (!matchers?.includes(`namespace="${namespace}"`)) problems.push(`${dashboard.title} / ${q.panel}: ${metric}${matchers ?? ''}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test.each(MATRIX)('%s/%s: every metric name is the app contract, a recording rule of the environment, a Kubernetes metric or a store exporter metric', (solution, environment) => {
    const e = env(solution, environment);
    const recorded = all(e.app, 'PrometheusRule').filter((r) => r.metadata.name === `${e.namespace}-alerts`)
      .flatMap((r) => r.spec.groups.flatMap((g: any) => g.rules)).filter((r: any) => r.record).map((r: any) => r.record as string);
    expect(recorded).toEqual(expect.arrayContaining([SERVER_ERROR_RATIO_RECORD, LATENCY_P95_RECORD]));
    const allowed = new Set<string>([
      HTTP_METRICS.requestsTotal,
      ...BUSINESS[solution].metrics.map((m) => m.name),
      ...recorded,
      ...Object.values(KUBERNETES_DASHBOARD_METRICS),
      ...STORE_METRIC_NAMES,
    ]);
    const unknown = dashboardsOf(solution, environment).flatMap(({ dashboard }) => queriesOf(dashboard)
      .flatMap((q) => metricNamesOf(asPromql(q.expr)).filter((n) => !allowed.has(n)).map((n) => `${dashboard.title} / ${q.panel}: ${n}`)));
    expect(unknown).toEqual([]);
  });

  test.each(MATRIX)('%s/%s: the overview shows the application from the recording rules and each declared business metric', (solution, environment) => {
    const { namespace } = env(solution, environment);
    const overview = dashboardsOf(solution, environment).find((f) => f.configMap.metadata.name === `${namespace}-dashboard-overview`)!.dashboard;
    const rows = overview.panels.filter((p: any) => p.type === 'row').map((p: any) => p.title);
    expect(rows).toEqual(['System', 'Application', `Business (${solution})`]);
    const byTitle = (title: string) => panelsOf(overview).find((p) => p.title === title)!;
    expect(byTitle('5xx ratio').targets[0].expr).toBe(`${SERVER_ERROR_RATIO_RECORD}{namespace="${namespace}"}`);
    expect(byTitle('p95 latency').targets[0].expr).toBe(`${LATENCY_P95_RECORD}{namespace="${namespace}"}`);
    // Dashed thresholds at the values the alerts use: the 5xx ratio's, and each service's p95.
    const app = buildEnvironment(SOLUTIONS.find((s) => s.definition.name === solution)!, environment, outdir);
    const alerts = app.node.findAll().find((c): c is EnvironmentAlerts => c instanceof EnvironmentAlerts)!;
    expect(byTitle('5xx ratio').fieldConfig.defaults.thresholds.steps[1].value).toBe(alerts.thresholds.serverErrorRatio);
    const overrides = byTitle('p95 latency').fieldConfig.overrides.map((o: any) => [o.matcher.options, o.properties[0].value.steps[1].value]);
    expect(overrides).toEqual(Object.entries(alerts.latencyP95Seconds).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(overrides.length).toBeGreaterThan(1);
    // The business row: one panel per metric the solution declares, in its order.
    const businessRow = overview.panels.findIndex((p: any) => p.type === 'row' && p.title.startsWith('Business'));
    expect(overview.panels.slice(businessRow + 1).map((p: any) => p.title)).toEqual(BUSINESS[solution].metrics.map((m) => m.name));
  });

  test.each(MATRIX)('%s/%s: every dashboard ConfigMap fits kubectl\'s last-applied annotation and is a valid 1.27 ConfigMap', (solution, environment) => {
    const schema = new KubernetesSchema();
    for (const { configMap } of dashboardsOf(solution, environment)) {
      expect(Buffer.byteLength(JSON.stringify(configMap))).toBeLessThan(MAX_DASHBOARD_CONFIGMAP_BYTES - 100);
      expect(schema.validate(configMap)).toEqual([]);
    }
  });

  test('the output is the same on every build', () => {
    const [solution, environment] = MATRIX[0];
    const first = dashboardsOf(solution, environment).map((f) => f.configMap.data);
    const again = buildEnvironment(SOLUTIONS.find((s) => s.definition.name === solution)!, environment, outdir);
    const second = again.appChart.toJson().filter((o: any) => o.kind === 'ConfigMap' && o.metadata.labels?.[SIDECAR_KEY]).map((o: any) => o.data);
    expect(second).toEqual(first);
  });
});

describeWithBinaries('dashboard queries through promtool', PROMETHEUS_BINARIES, 'prometheus', () => {
  /** Each query as a recording rule: `promtool check rules` parses its expression with Prometheus' own parser. */
  function check(queries: { name: string; expr: string }[]): { status: number | null; output: string } {
    return checkRules({ groups: [{ name: 'dashboards', rules: queries.map((q, i) => ({ record: `dashboard:query${i}:promql`, expr: asPromql(q.expr) })) }] });
  }

  test('every query of every dashboard of the matrix parses as PromQL', () => {
    const queries = MATRIX.flatMap(([s, e]) => dashboardsOf(s, e).flatMap(({ dashboard }) => queriesOf(dashboard)
      .map((q) => ({ name: `${dashboard.title} / ${q.panel}`, expr: q.expr }))));
    expect(queries.length).toBeGreaterThan(100);
    const result = check(queries);
    expect(result.output).toMatch(/SUCCESS/);
    expect(result.status).toBe(0);
  });

  test('a malformed query is caught (the check is not vacuous)', () => {
    const result = check([{ name: 'broken', expr: 'sum by (job (rate(up{namespace="x"}[$__rate_interval]))' }]);
    expect(result.status).not.toBe(0);
  });
});

describe('dashboard constructs', () => {
  const many = (count: number): PanelSpec[] => Array.from({ length: count }, (_, i) => ({
    title: `panel ${i}`, description: 'x'.repeat(200), unit: 'short', queries: [{ expr: `up{namespace="ns", job="job-${i}"}`, legend: '{{pod}}' }],
  }));

  test('a dashboard over the size kubectl apply can store is refused at synth, naming the key and the size', () => {
    const chart = new Chart(Testing.app(), 'test', { namespace: 'ns' });
    const dashboard = buildDashboard({ uid: 'big', title: 'big', description: '', tags: [], rows: [{ title: 'r', panels: many(400) }] }, GRAFANA_DEFAULTS.datasource);
    expect(() => new GrafanaDashboard(chart, 'big', { name: 'ns-dashboard-big', dashboard }))
      .toThrow(/big\.ns-dashboard-big\.json must be at most 262144 bytes as kubectl's last-applied-configuration annotation .* but "\d+ bytes" was provided/);
  });

  test('a dashboard under the limit is accepted, its size measured as kubectl would store it', () => {
    const chart = new Chart(Testing.app(), 'test', { namespace: 'ns' });
    const dashboard = buildDashboard({ uid: 'ok', title: 'ok', description: '', tags: [], rows: [{ title: 'r', panels: many(100) }] }, GRAFANA_DEFAULTS.datasource);
    const built = new GrafanaDashboard(chart, 'ok', { name: 'ns-dashboard-ok', dashboard });
    expect(built.appliedSizeBytes).toBeLessThanOrEqual(MAX_DASHBOARD_CONFIGMAP_BYTES);
    // Exactly what kubectl would store: the rendered object as JSON under the annotation's key.
    const [rendered] = Testing.synth(chart);
    expect(built.appliedSizeBytes).toBe(Buffer.byteLength('kubectl.kubernetes.io/last-applied-configuration') + Buffer.byteLength(`${JSON.stringify(rendered)}\n`));
  });

  test('a configured sidecar label replaces the default', () => {
    const chart = new Chart(Testing.app(), 'test', { namespace: 'ns' });
    const dashboard = buildDashboard({ uid: 'x', title: 'x', description: '', tags: [], rows: [] }, GRAFANA_DEFAULTS.datasource);
    new GrafanaDashboard(chart, 'x', { name: 'x', dashboard, sidecarLabel: { 'grafana-dashboards': 'platform' } });
    const [configMap] = Testing.synth(chart);
    expect(configMap.metadata.labels['grafana-dashboards']).toBe('platform');
    expect(configMap.metadata.labels.grafana_dashboard).toBeUndefined();
  });
});
