import { AlertRoutingSettings } from './alerting/alert-routing-settings';
import { AlertThresholds } from './alert-thresholds';
import { MonitoringSettings } from './monitoring-settings';

/** An environment's monitoring configuration (`monitoring` in the settings). */
export interface EnvironmentMonitoringSettings extends MonitoringSettings {
  /** @default - the defaults of each threshold */
  readonly thresholds?: AlertThresholds;
  /** @default - no AlertmanagerConfig: alerts go wherever the cluster's Alertmanager routes them */
  readonly alerting?: AlertRoutingSettings;
}
