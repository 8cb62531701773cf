import { createHash } from 'crypto';
import { Dashboard, Panel, PrometheusQuery, RowPanel, StatPanel, Threshold, TimeseriesPanel, VariableModel } from './grafana-model';

/**
 * A small typed builder of Grafana dashboards: rows of panels over Prometheus queries, laid out on
 * Grafana's 24-column grid, with ids and uids derived from names so the output is the same on
 * every synth. Every panel reads the dashboard's data source variable {@link DATASOURCE_VARIABLE}.
 */

/** The cluster's Prometheus data source in Grafana. */
export interface GrafanaDatasource {
  /** Its uid: what a panel's `datasource.uid` holds. */
  readonly uid: string;
  /** Its name, shown in the data source picker. */
  readonly name: string;
}

/** Name of the dashboard variable every panel takes its data source from: `${datasource}`. */
export const DATASOURCE_VARIABLE = 'datasource';

/** A query and its series' legend (`{{job}}`). */
export interface QuerySpec {
  /** PromQL expression, run as a range query against the dashboard's `${datasource}`. */
  readonly expr: string;
  /** Grafana legend format of each series the query returns: `{{label}}` is replaced by the label's value. */
  readonly legend: string;
}

/** One panel of a {@link RowSpec}: a time series graph or a stat, over 1 to 26 queries, 8 grid rows high. */
export interface PanelSpec {
  /** Panel title, shown at its top. */
  readonly title: string;
  /** What it shows and how to read it: the panel's (i) tooltip. */
  readonly description: string;
  /**
   * Grafana panel type: a time series graph, or a stat showing each series' last value.
   * @default 'timeseries'
   */
  readonly kind?: 'timeseries' | 'stat';
  /** Grafana unit id (`percentunit`, `s`, `bytes`, `reqps`, `cps`, `short`). */
  readonly unit: string;
  /** The queries the panel draws, `refId` A, B, ... in order: 1 to 26 (more or none throws at synth). */
  readonly queries: readonly QuerySpec[];
  /** Columns of the 24-column grid. @default 8 */
  readonly width?: number;
  /**
   * Lower end of the value axis, in the panel's `unit` (`fieldConfig.defaults.min`).
   * @default - from the data
   */
  readonly min?: number;
  /**
   * Upper end of the value axis, in the panel's `unit` (`fieldConfig.defaults.max`).
   * @default - from the data
   */
  readonly max?: number;
  /** A threshold every series is read against, drawn as a dashed line (an alert's threshold). @default - none */
  readonly threshold?: number;
  /** Thresholds per series, by legend name, each drawn as a dashed line. @default - none */
  readonly seriesThresholds?: Readonly<Record<string, number>>;
  /** 1 is up (green), 0 is down (red): a scrape or server state. @default false */
  readonly upDown?: boolean;
}

/** A row of a dashboard: a row header, then its panels left to right, wrapping at 24 columns. */
export interface RowSpec {
  /** Text of the row header. */
  readonly title: string;
  /** The row's panels, in reading order. */
  readonly panels: readonly PanelSpec[];
}

/** What {@link buildDashboard} turns into a Grafana dashboard JSON model. */
export interface DashboardSpec {
  /** Stable across synths and unique in the Grafana instance (it holds every environment's dashboards). */
  readonly uid: string;
  /** Dashboard title, as Grafana lists and searches it. */
  readonly title: string;
  /** What the dashboard shows: the dashboard's description in Grafana. */
  readonly description: string;
  /** Grafana tags (solution, environment, namespace) the dashboard is searched and linked by. */
  readonly tags: readonly string[];
  /** A menu of the dashboards carrying this tag (the environment's others). @default - no links */
  readonly linkTag?: string;
  /** The rows, top to bottom. */
  readonly rows: readonly RowSpec[];
}

/** Grafana keeps dashboard uids to 40 characters. */
export const MAX_UID_LENGTH = 40;
/** Dashboard JSON schema version written: Grafana 10.4/11 (later versions migrate it on load). */
export const SCHEMA_VERSION = 39;
const GRID_COLUMNS = 24;
const PANEL_HEIGHT = 8;
const DEFAULT_WIDTH = 8;

/** A uid from a name: the name itself when it fits, else a prefix and a hash of the whole name. */
export function dashboardUid(name: string): string {
  if (name.length <= MAX_UID_LENGTH) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, MAX_UID_LENGTH - hash.length - 1).replace(/-+$/, '')}-${hash}`;
}

/** The data source variable: a picker of Prometheus data sources, preset to the cluster's. */
export function datasourceVariable(datasource: GrafanaDatasource): VariableModel {
  return {
    type: 'datasource',
    name: DATASOURCE_VARIABLE,
    label: 'Data source',
    query: 'prometheus',
    current: { selected: true, text: datasource.name, value: datasource.uid },
    hide: 0,
    refresh: 1,
    regex: '',
    options: [],
  };
}

/** The dashboard: each row header followed by its panels, left to right, wrapping at 24 columns. */
export function buildDashboard(spec: DashboardSpec, datasource: GrafanaDatasource): Dashboard {
  const panels: (Panel | RowPanel)[] = [];
  let id = 0;
  let y = 0;
  for (const row of spec.rows) {
    panels.push({ type: 'row', id: ++id, title: row.title, collapsed: false, gridPos: { h: 1, w: GRID_COLUMNS, x: 0, y }, panels: [] });
    y += 1;
    let x = 0;
    for (const p of row.panels) {
      const w = p.width ?? DEFAULT_WIDTH;
      if (x + w > GRID_COLUMNS) {
        x = 0;
        y += PANEL_HEIGHT;
      }
      panels.push(buildPanel(p, ++id, { h: PANEL_HEIGHT, w, x, y }));
      x += w;
    }
    if (x > 0) y += PANEL_HEIGHT;
  }
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: [...spec.tags],
    timezone: 'browser',
    // Provisioned from a ConfigMap: an edit saved in Grafana would be lost on the sidecar's next sync.
    editable: false,
    graphTooltip: 1,
    time: { from: 'now-6h', to: 'now' },
    refresh: '1m',
    schemaVersion: SCHEMA_VERSION,
    version: 1,
    links: spec.linkTag === undefined ? [] : [{
      title: 'Environment', type: 'dashboards', tags: [spec.linkTag], asDropdown: true,
      icon: 'external link', tooltip: '', targetBlank: false, includeVars: false, keepTime: true,
    }],
    annotations: { list: [] },
    templating: { list: [datasourceVariable(datasource)] },
    panels,
  };
}

const PANEL_DATASOURCE = { type: 'prometheus', uid: `\${${DATASOURCE_VARIABLE}}` };
const QUERY_REF_IDS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

function buildPanel(p: PanelSpec, id: number, gridPos: { h: number; w: number; x: number; y: number }): Panel {
  if (p.queries.length === 0 || p.queries.length > QUERY_REF_IDS.length) throw new Error(`panel ${p.title}: 1 to ${QUERY_REF_IDS.length} queries, not ${p.queries.length}`);
  const targets: PrometheusQuery[] = p.queries.map((q, i) => ({
    refId: QUERY_REF_IDS[i],
    datasource: PANEL_DATASOURCE,
    editorMode: 'code',
    expr: q.expr,
    legendFormat: q.legend,
    range: true,
    instant: false,
  }));
  const common = { id, title: p.title, description: p.description, datasource: PANEL_DATASOURCE, gridPos, targets };
  const thresholds = { mode: 'absolute' as const, steps: thresholdSteps(p) };
  const mappings = p.upDown
    ? [{ type: 'value' as const, options: { 0: { text: 'down', color: 'red', index: 0 }, 1: { text: 'up', color: 'green', index: 1 } } }]
    : [];
  const defaults = { unit: p.unit, min: p.min, max: p.max, thresholds, mappings };
  if (p.kind === 'stat') {
    const panel: StatPanel = {
      type: 'stat',
      ...common,
      options: {
        graphMode: 'area',
        colorMode: p.upDown ? 'background' : 'value',
        justifyMode: 'auto',
        textMode: 'auto',
        wideLayout: true,
        showPercentChange: false,
        percentChangeColorMode: 'standard',
        orientation: 'auto',
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      },
      fieldConfig: { defaults: { ...defaults, color: { mode: 'thresholds' } }, overrides: [] },
    };
    return panel;
  }
  const dashed = p.threshold !== undefined || p.seriesThresholds !== undefined;
  const panel: TimeseriesPanel = {
    type: 'timeseries',
    ...common,
    options: {
      legend: { displayMode: 'list', placement: 'bottom', showLegend: true, calcs: [] },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
    fieldConfig: {
      defaults: {
        ...defaults,
        color: { mode: 'palette-classic' },
        custom: {
          drawStyle: 'line',
          lineWidth: 1,
          fillOpacity: 10,
          showPoints: 'never',
          spanNulls: false,
          thresholdsStyle: { mode: dashed ? 'dashed' : 'off' },
        },
      },
      // Code-point order: localeCompare would load ICU's collator, a few ms of synth for nothing.
      overrides: Object.entries(p.seriesThresholds ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([series, value]) => ({
        matcher: { id: 'byName', options: series },
        properties: [{ id: 'thresholds', value: { mode: 'absolute', steps: [{ value: null, color: 'green' }, { value, color: 'red' }] } }],
      })),
    },
  };
  return panel;
}

function thresholdSteps(p: PanelSpec): Threshold[] {
  if (p.upDown) return [{ value: null, color: 'red' }, { value: 1, color: 'green' }];
  if (p.threshold !== undefined) return [{ value: null, color: 'green' }, { value: p.threshold, color: 'red' }];
  return [{ value: null, color: 'green' }];
}
