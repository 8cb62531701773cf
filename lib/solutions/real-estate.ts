import { createMilvus } from '../data/milvus';
import { Postgres } from '../data/postgres/postgres';
import { Redis } from '../data/redis';
import { realEstate, RealEstateSettings } from '../config/real-estate';
import { BusinessMonitoring, businessCounter, businessGauge } from '../observability/business-metrics';
import { selector } from '../observability/rules/promql';
import { percent } from '../observability/alert-thresholds';
import { Severity } from '../observability/severity';
import { AppTier, StoreBinding } from './app-tier';
import { EnvironmentApp } from './environment-app';
import { Solution } from './solution';

/** Business metrics of real estate (R22, seed 004 11.4 business monitoring), exposed by its apps at `/metrics`. */
export const REAL_ESTATE_METRICS = {
  recommendationTasks: businessCounter('real_estate_recommendation_tasks_total', 'Recommendation tasks finished, by result (success, failure).', ['result']),
  valuationTasks: businessCounter('real_estate_valuation_tasks_total', 'Valuation (evaluation) tasks finished, by result (success, failure).', ['result']),
  valuationAccuracy: businessGauge(
    'real_estate_valuation_accuracy_ratio',
    'Share (0-1) of recent valuations within tolerance of the realized price, as last measured; absent until first measured.',
  ),
} as const;

/** Recommendation success and valuation accuracy below 90% (R23, seed 004 11.4). */
export const realEstateBusinessMonitoring: BusinessMonitoring = {
  solution: 'real-estate',
  metrics: Object.values(REAL_ESTATE_METRICS),
  thresholds: {
    recommendationSuccessRatio: { defaultValue: 0.9, min: 0.01, max: 1, description: 'successful recommendation tasks / all, over 15 minutes' },
    valuationAccuracyRatio: { defaultValue: 0.9, min: 0.01, max: 1, description: 'the valuation accuracy the apps report' },
  },
  alerts: (c) => {
    const tasks = REAL_ESTATE_METRICS.recommendationTasks.name;
    const success = c.thresholds.recommendationSuccessRatio;
    const accuracy = c.thresholds.valuationAccuracyRatio;
    return [
      {
        alert: 'RealEstateRecommendationSuccessLow',
        expr: `sum by (namespace) (rate(${selector(tasks, c.namespaceMatcher, 'result="success"')}[15m]))
`
          + `  / (sum by (namespace) (rate(${selector(tasks, c.namespaceMatcher)}[15m])) > 0)
  < ${success}`,
        forDuration: '15m',
        severity: Severity.P2,
        summary: `Under ${percent(success)} of recommendation tasks succeed in {{ $labels.namespace }}`,
        description: 'Recommendation tasks fail more than the target allows. Check the recommendation model service, Milvus (vector search) and the API logs for the failing step.',
        threshold: `< ${percent(success)} success`,
        expressionSummary: `${tasks} result="success" / all, over 15m`,
      },
      {
        alert: 'RealEstateValuationAccuracyLow',
        expr: `min by (namespace) (${selector(REAL_ESTATE_METRICS.valuationAccuracy.name, c.namespaceMatcher)}) < ${accuracy}`,
        forDuration: '15m',
        severity: Severity.P2,
        summary: `Valuation accuracy under ${percent(accuracy)} in {{ $labels.namespace }}`,
        description: 'Valuations drift from realized prices: the model is stale or its input data changed. Compare model versions (a canary?) and retrain or roll back.',
        threshold: `< ${percent(accuracy)} accuracy`,
        expressionSummary: `lowest ${REAL_ESTATE_METRICS.valuationAccuracy.name} reported`,
      },
    ];
  },
};

/** Real estate (R4): API behind an Ingress, recommendation and valuation models, PostgreSQL, Redis, Milvus. */
export const realEstateSolution: Solution<RealEstateSettings> = {
  definition: realEstate,
  build(app: EnvironmentApp, settings: RealEstateSettings): void {
    const postgres = new Postgres(app.dataChart, 'postgres', settings.postgres);
    const redis = new Redis(app.dataChart, 'redis', settings.redis);
    const milvus = createMilvus(app.dataChart, 'milvus', settings.milvus);

    const stores: StoreBinding[] = [
      {
        endpoints: { DB: postgres.endpoint, ...(postgres.readEndpoint ? { DB_READ: postgres.readEndpoint } : {}) },
        settings: { DB_NAME: settings.postgres.database },
      },
      { endpoints: { REDIS: redis.endpoint, ...(redis.readEndpoint ? { REDIS_READ: redis.readEndpoint } : {}) } },
      { endpoints: { MILVUS: milvus.endpoint } },
    ];
    new AppTier(app.appChart, 'app', { settings, environment: app.environment, stores, business: realEstateBusinessMonitoring });
  },
};
