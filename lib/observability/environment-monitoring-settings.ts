import { AlertRoutingSettings } from './alerting/alert-routing-settings';
import { AlertThresholds } from './alert-thresholds';
import { MonitoringSettings } from './monitoring-settings';

/** An environment's monitoring configuration (`monitoring` in the settings). */
export interface EnvironmentMonitoringSettings extends MonitoringSettings {
  /**
   * Thresholds of the environment's alerts (ratios as fractions, latencies in seconds, business
   * thresholds by name), each over its default.
   * @default - the defaults of each threshold
   */
  readonly thresholds?: AlertThresholds;
  /**
   * Where the environment's alerts are sent: receivers per escalation level, rendered as an
   * AlertmanagerConfig in the environment's namespace (see {@link AlertRouting}).
   * @default - no AlertmanagerConfig: alerts go wherever the cluster's Alertmanager routes them
   */
  readonly alerting?: AlertRoutingSettings;
}
