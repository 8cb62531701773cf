import { createMilvus } from '../data/milvus';
import { Postgres } from '../data/postgres/postgres';
import { Redis } from '../data/redis';
import { realEstate, RealEstateSettings } from '../config/real-estate';
import { AppTier, StoreBinding } from './app-tier';
import { EnvironmentApp } from './environment-app';
import { Solution } from './solution';

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
    new AppTier(app.appChart, 'app', { settings, environment: app.environment, stores });
  },
};
