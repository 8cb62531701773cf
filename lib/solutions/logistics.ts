import { createMilvus } from '../data/milvus';
import { logistics, LogisticsSettings } from '../config/logistics';
import { AppTier, StoreBinding } from './app-tier';
import { EnvironmentApp } from './environment-app';
import { Solution } from './solution';

/** Logistics (R3): web tier and load balancer, API, three AI services, MySQL, Redis cluster, Milvus. */
export const logisticsSolution: Solution<LogisticsSettings> = {
  definition: logistics,
  build(app: EnvironmentApp, settings: LogisticsSettings): void {
    const milvus = createMilvus(app.dataChart, 'milvus', settings.milvus);
    const stores: StoreBinding[] = [
      { endpoints: { MILVUS: milvus.endpoint } },
    ];
    new AppTier(app.appChart, 'app', { settings, environment: app.environment, stores });
  },
};
