import { Construct } from 'constructs';
import { ENVIRONMENT_CONTEXT_KEY, SOLUTION_CONTEXT_KEY } from '../../validation';
import { Workload } from '../../workload';
import { EnvironmentAlerts } from '../rules/environment-alerts';
import { buildDashboard, dashboardUid, GrafanaDatasource, RowSpec } from './dashboard-builder';
import { GRAFANA_DEFAULTS, GrafanaDashboard } from './grafana-dashboard';
import { overviewRows } from './overview-dashboard';
import { STORE_KINDS, storeJobs } from './store-dashboards';

/** Props of {@link EnvironmentDashboards}. */
export interface EnvironmentDashboardsProps {
  /** The environment's alerts: its namespace, thresholds, HTTP services and business metrics. */
  readonly alerts: EnvironmentAlerts;
  /**
   * The cluster's Prometheus data source: the default of every dashboard's `datasource` variable.
   * @default GRAFANA_DEFAULTS.datasource (uid `prometheus`, kube-prometheus-stack's)
   */
  readonly datasource?: GrafanaDatasource;
  /**
   * Labels the Grafana sidecar selects dashboard ConfigMaps by.
   * @default GRAFANA_DEFAULTS.sidecarLabel (`grafana_dashboard: "1"`)
   */
  readonly sidecarLabel?: Readonly<Record<string, string>>;
}

/**
 * An environment's Grafana dashboards, one ConfigMap each in its namespace: an overview (system,
 * application, business) and one per store kind whose workloads are in the environment (MySQL,
 * PostgreSQL, Redis, Milvus with its etcd, MinIO and Kafka). Names and uids start with the
 * namespace: the sidecar writes every dashboard of the cluster into one folder by data key, and
 * Grafana's uids are global. Build the stores first: they are found in the construct tree.
 */
export class EnvironmentDashboards extends Construct {
  /** The environment's namespace (from `alerts`): prefix of every dashboard's ConfigMap name and uid. */
  public readonly namespace: string;
  /** The overview first, then one per store kind found in the construct tree, in {@link STORE_KINDS} order. */
  public readonly dashboards: readonly GrafanaDashboard[];

  constructor(scope: Construct, id: string, props: EnvironmentDashboardsProps) {
    super(scope, id);
    const alerts = props.alerts;
    const namespace = alerts.namespace;
    this.namespace = namespace;
    const datasource = props.datasource ?? GRAFANA_DEFAULTS.datasource;
    const solution: string = this.node.tryGetContext(SOLUTION_CONTEXT_KEY) ?? namespace;
    const environment: string | undefined = this.node.tryGetContext(ENVIRONMENT_CONTEXT_KEY);
    const where = environment ? `${solution} / ${environment}` : solution;
    const tags = ['ai-platform', solution, ...(environment ? [environment] : []), namespace];

    const dashboard = (kind: string, title: string, description: string, rows: RowSpec[]): GrafanaDashboard => {
      const name = `${namespace}-dashboard-${kind}`;
      return new GrafanaDashboard(this, kind, {
        name,
        sidecarLabel: props.sidecarLabel,
        dashboard: buildDashboard({ uid: dashboardUid(`${namespace}-${kind}`), title: `${where}: ${title}`, description, tags, linkTag: namespace, rows }, datasource),
      });
    };

    const workloads = this.node.root.node.findAll().filter((c): c is Workload => c instanceof Workload);
    this.dashboards = [
      dashboard('overview', 'overview', `Containers, workloads, services and business metrics of namespace ${namespace}.`, overviewRows({
        namespace,
        thresholds: alerts.thresholds,
        latencyP95Seconds: alerts.latencyP95Seconds,
        business: alerts.business,
      })),
      ...STORE_KINDS.flatMap((kind) => {
        const jobs = storeJobs(kind, workloads);
        return jobs ? [dashboard(kind.id, kind.title, `${kind.title} of namespace ${namespace}, from its exporters' metrics.`, kind.rows({ namespace, jobs }))] : [];
      }),
    ];
  }
}
