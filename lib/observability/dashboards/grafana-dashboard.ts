import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { StandardLabels } from '../../labels';
import { Validator } from '../../validation';
import { GrafanaDatasource } from './dashboard-builder';
import { Dashboard } from './grafana-model';

/**
 * How the cluster's Grafana finds dashboards and which Prometheus they read. The values are
 * kube-prometheus-stack's defaults: its Grafana sidecar loads every ConfigMap labelled
 * `grafana_dashboard: "1"` in any namespace (`grafana.sidecar.dashboards.label`, `labelValue`,
 * `searchNamespace: ALL`), and its Prometheus data source has uid `prometheus`, name `Prometheus`
 * (`grafana.sidecar.datasources.uid`, `name`). A cluster configured otherwise needs these changed.
 */
export const GRAFANA_DEFAULTS: {
  /** Label the Grafana sidecar loads dashboard ConfigMaps by: `grafana_dashboard: "1"`. */
  readonly sidecarLabel: Readonly<Record<string, string>>;
  /** kube-prometheus-stack's Prometheus data source: uid `prometheus`, name `Prometheus`. */
  readonly datasource: GrafanaDatasource;
} = {
  sidecarLabel: { grafana_dashboard: '1' },
  datasource: { uid: 'prometheus', name: 'Prometheus' },
};

/**
 * Largest dashboard ConfigMap: `kubectl apply` (client-side) copies the whole object into the
 * `kubectl.kubernetes.io/last-applied-configuration` annotation, and a object's annotations are
 * limited to 256 KiB together (the 1 MiB object limit comes later).
 */
export const MAX_DASHBOARD_CONFIGMAP_BYTES = 256 * 1024;
const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/** Props of {@link GrafanaDashboard}. */
export interface GrafanaDashboardProps {
  /** Name of the ConfigMap; the dashboard is its one key `<name>.json`. */
  readonly name: string;
  /** The dashboard JSON model (e.g. from {@link buildDashboard}), written pretty-printed under `<name>.json`. */
  readonly dashboard: Dashboard;
  /**
   * Labels the Grafana sidecar selects dashboard ConfigMaps by.
   * @default GRAFANA_DEFAULTS.sidecarLabel
   */
  readonly sidecarLabel?: Readonly<Record<string, string>>;
}

/**
 * A Grafana dashboard as a ConfigMap for the Grafana sidecar, in the chart's namespace, with one
 * data key `<name>.json`. Refused at synth when the ConfigMap would be too large for
 * `kubectl apply` ({@link MAX_DASHBOARD_CONFIGMAP_BYTES}).
 */
export class GrafanaDashboard extends Construct {
  /** Name of the ConfigMap: `props.name`, a DNS subdomain. */
  public readonly name: string;
  /** The dashboard JSON model as given. */
  public readonly dashboard: Dashboard;
  /** The data key: `<name>.json`. */
  public readonly key: string;
  /** The `last-applied-configuration` annotation kubectl would write, in bytes (key and value). */
  public readonly appliedSizeBytes: number;
  /** The synthesized ConfigMap, labelled for the Grafana sidecar. */
  public readonly resource: k8s.KubeConfigMap;

  constructor(scope: Construct, id: string, props: GrafanaDashboardProps) {
    super(scope, id);
    const v = Validator.of(this, id);
    this.name = v.dnsSubdomain('name', props.name);
    this.dashboard = props.dashboard;
    this.key = `${this.name}.json`;
    const metadata = {
      name: this.name,
      labels: { ...new StandardLabels(this, { name: this.name, component: 'monitoring' }).labels, ...(props.sidecarLabel ?? GRAFANA_DEFAULTS.sidecarLabel) },
    };
    const data = { [this.key]: `${JSON.stringify(props.dashboard, null, 2)}\n` };
    this.resource = new k8s.KubeConfigMap(this, 'Resource', { metadata, data });
    // What kubectl would store: the object as JSON (measured from its parts, not rendered a second time).
    const applied = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { ...metadata, namespace: Chart.of(this).namespace }, data };
    this.appliedSizeBytes = Buffer.byteLength(LAST_APPLIED_ANNOTATION) + Buffer.byteLength(`${JSON.stringify(applied)}\n`);
    if (this.appliedSizeBytes > MAX_DASHBOARD_CONFIGMAP_BYTES) {
      v.fail(this.key, `at most ${MAX_DASHBOARD_CONFIGMAP_BYTES} bytes as kubectl's last-applied-configuration annotation `
        + '(256 KiB for all annotations of an object): split the dashboard or remove panels', `${this.appliedSizeBytes} bytes`);
    }
  }
}
