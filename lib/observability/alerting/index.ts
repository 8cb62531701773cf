export * from './alert-routing';
export * from './alert-routing-checks';
export * from './alert-routing-settings';
export * from './dingtalk-webhook';
