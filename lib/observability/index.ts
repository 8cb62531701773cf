// Observability: what a store or a solution uses to be watched (severities, the metrics contract,
// alert rules, exporters, dashboards, alert routing).
export * from './alert-rules';
export * from './alert-table';
export * from './alert-thresholds';
export * from './alerting';
export * from './business-metrics';
export * from './dashboards';
export * from './environment-monitoring-settings';
export * from './exporters';
export * from './http-metrics';
export * from './monitoring-settings';
export * from './rules';
export * from './rules/environment-alerts';
export * from './severity';
export * from './store-rules';
