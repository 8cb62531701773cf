export * from './grafana-model';
export * from './dashboard-builder';
export * from './grafana-dashboard';
export * from './store-metrics';
export * from './overview-dashboard';
export * from './store-dashboards';
export * from './environment-dashboards';
