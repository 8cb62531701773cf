/*
 * Grafana's dashboard JSON model, typed with the types of @grafana/grafana-foundation-sdk (Grafana's
 * own generated model, Apache-2.0), imported as types only: the compiler checks every field this
 * folder writes against Grafana's model, and nothing of the SDK is loaded at synth time.
 *
 * Why not the SDK's builders: its modules are only reachable through package `exports` subpaths
 * (`@grafana/grafana-foundation-sdk/dashboard`), which this project's `moduleResolution: node`
 * cannot resolve; the `dist/...` paths below resolve for types, and `import type` is erased before
 * anything runs. With `moduleResolution: node16` the imports become `.../dashboard` etc.
 */
import type * as dashboard from '@grafana/grafana-foundation-sdk/dist/dashboard/types.gen';
import type * as prometheus from '@grafana/grafana-foundation-sdk/dist/prometheus/types.gen';
import type * as stat from '@grafana/grafana-foundation-sdk/dist/stat/types.gen';
import type * as timeseries from '@grafana/grafana-foundation-sdk/dist/timeseries/types.gen';

/**
 * The JSON form of a model type: the SDK declares closed sets as string enums, whose JSON values
 * are their strings (`` `${E}` `` turns a string enum into the union of its values).
 */
export type Json<T> = T extends string ? `${T}`
  : T extends (infer U)[] ? Json<U>[]
    : T extends object ? { [K in keyof T]: Json<T[K]> }
      : T;

/** A Prometheus query of a panel (the SDK's marker method left out: it is not JSON). */
export type PrometheusQuery = Json<Omit<prometheus.Dataquery, '_implementsDataqueryVariant'>>;

/** Field defaults of a panel, with the panel type's own `custom` options. */
export type FieldConfigSource<Custom> = Json<Omit<dashboard.FieldConfigSource, 'defaults'>> & {
  /** What every field (series) of the panel gets unless an override says otherwise: unit, min, max, thresholds. */
  defaults: Json<Omit<dashboard.FieldConfig, 'custom'>> & {
    /** The panel type's own field options (a time series' line style); absent for stat panels. */
    custom?: Custom;
  };
};

/** The fields every panel has: Grafana's panel without the parts each panel type narrows, with its id and Prometheus queries. */
export type PanelBase = Json<Omit<dashboard.Panel, 'targets' | 'options' | 'fieldConfig' | 'type'>> & {
  /** The panel's id, unique within its dashboard. */
  id: number;
  /** The Prometheus queries the panel draws. */
  targets: PrometheusQuery[];
};

/** A time series graph panel. */
export type TimeseriesPanel = PanelBase & {
  /** Grafana's panel plugin id. */
  type: 'timeseries';
  /** Panel options: legend and tooltip. */
  options: Json<timeseries.Options>;
  /** Field defaults (with line style as `custom`) and per-series overrides. */
  fieldConfig: FieldConfigSource<Json<timeseries.FieldConfig>>;
};

/** A single-value stat panel. */
export type StatPanel = PanelBase & {
  /** Grafana's panel plugin id. */
  type: 'stat';
  /** Panel options: how the value is reduced (last non-null), colored and laid out. */
  options: Json<stat.Options>;
  /** Field defaults and overrides; a stat panel has no `custom` field options. */
  fieldConfig: FieldConfigSource<never>;
};

/** A panel that draws queries: a time series or a stat. */
export type Panel = TimeseriesPanel | StatPanel;

/** A row header: the panels after it, up to the next row, belong to it (an expanded row holds none itself). */
export type RowPanel = Json<Omit<dashboard.RowPanel, 'panels'>> & {
  /** Always empty: the row is expanded, its panels follow it in the dashboard's `panels`. */
  panels: [];
};

/** A dashboard variable (templating), such as the `datasource` picker. */
export type VariableModel = Json<dashboard.VariableModel>;

/** A Grafana dashboard JSON model, as the Grafana sidecar loads it from a ConfigMap. */
export type Dashboard = Json<Omit<dashboard.Dashboard, 'panels' | 'templating'>> & {
  /** Row headers and panels in grid order; each row's panels follow its header. */
  panels: (Panel | RowPanel)[];
  /** The dashboard's variables. */
  templating: {
    /** The variables, in the order Grafana shows them: here the `datasource` picker. */
    list: VariableModel[];
  };
};

/** A threshold step: from `value` up (from minus infinity when `null`), values are drawn in `color`. */
export type Threshold = Json<dashboard.Threshold>;
