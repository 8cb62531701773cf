import { createMilvus } from '../data/milvus';
import { MySql } from '../data/mysql';
import { RedisCluster } from '../data/redis';
import { logistics, LogisticsSettings } from '../config/logistics';
import { BusinessMonitoring, businessCounter } from '../observability/business-metrics';
import { HTTP_METRICS } from '../observability/http-metrics';
import { DocumentedAlertRule, selector } from '../observability/rules/promql';
import { Severity } from '../observability/severity';
import { AppTier, StoreBinding } from './app-tier';
import { EnvironmentApp } from './environment-app';
import { Solution } from './solution';

/** Business metrics of logistics (R22, seed 000 business monitoring), exposed by its apps at `/metrics`. */
export const LOGISTICS_METRICS = {
  ordersProcessed: businessCounter('logistics_orders_processed_total', 'Orders the platform finished processing.'),
  routesPlanned: businessCounter('logistics_routes_planned_total', 'Routes the route planner produced.'),
  riskAlerts: businessCounter('logistics_risk_alerts_total', 'Risk alerts raised on shipments (risk prediction above risk.alert_threshold).'),
} as const;

/**
 * Orders or routes that stop while users keep calling the API: the business has stalled though
 * every service looks up. The threshold is how busy the API must be for silence to be an anomaly.
 */
export const logisticsBusinessMonitoring: BusinessMonitoring = {
  solution: 'logistics',
  metrics: Object.values(LOGISTICS_METRICS),
  thresholds: {
    busyApiRequestsPerSecond: {
      defaultValue: 0.1, min: 0.001, max: 10_000,
      description: 'API requests per second (probes and scrapes left out) above which no order or route in 15 minutes is an anomaly',
    },
  },
  alerts: (c) => {
    const busy = c.thresholds.busyApiRequestsPerSecond;
    const apiBusy = `sum by (namespace) (rate(${selector(HTTP_METRICS.requestsTotal, ...c.apiRequestMatchers)}[15m])) > ${busy}`;
    const stalled = (alert: string, metric: string, what: string): DocumentedAlertRule => ({
      alert,
      expr: `${apiBusy}
unless on (namespace) sum by (namespace) (rate(${selector(metric, c.namespaceMatcher)}[15m])) > 0`,
      forDuration: '15m',
      severity: Severity.P1,
      summary: `No ${what} in {{ $labels.namespace }} while the API is in use`,
      description: `The API serves requests but ${metric} has not grown for 15 minutes (or is not exposed): a worker, queue or model behind it has stopped. Check the API logs and the model services.`,
      threshold: `0 ${what} in 15m while the API serves > ${busy} req/s`,
      expressionSummary: `rate of ${metric} while the API's request rate is above the threshold`,
    });
    return [
      stalled('LogisticsOrdersStalled', LOGISTICS_METRICS.ordersProcessed.name, 'orders processed'),
      stalled('LogisticsRoutePlanningStalled', LOGISTICS_METRICS.routesPlanned.name, 'routes planned'),
    ];
  },
};

/** Logistics (R3): web tier and load balancer, API, three AI services, MySQL, Redis cluster, Milvus. */
export const logisticsSolution: Solution<LogisticsSettings> = {
  definition: logistics,
  build(app: EnvironmentApp, settings: LogisticsSettings): void {
    const mysql = new MySql(app.dataChart, 'mysql', settings.mysql);
    const redis = new RedisCluster(app.dataChart, 'redis', settings.redis);
    const milvus = createMilvus(app.dataChart, 'milvus', settings.milvus);
    const stores: StoreBinding[] = [
      {
        endpoints: { DB: mysql.writeEndpoint, DB_READ: mysql.readEndpoint },
        settings: { DB_NAME: mysql.database, ...(mysql.appUser ? { DB_USER: mysql.appUser.name } : {}) },
      },
      { endpoints: { REDIS: redis.endpoint }, settings: { REDIS_CLUSTER: 'true' } },
      { endpoints: { MILVUS: milvus.endpoint } },
    ];
    new AppTier(app.appChart, 'app', { settings, environment: app.environment, stores, business: logisticsBusinessMonitoring });
  },
};
