import { createMilvus } from '../data/milvus';
import { MySql } from '../data/mysql';
import { RedisCluster } from '../data/redis';
import { logistics, LogisticsSettings } from '../config/logistics';
import { AppTier, StoreBinding } from './app-tier';
import { EnvironmentApp } from './environment-app';
import { Solution } from './solution';

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
    new AppTier(app.appChart, 'app', { settings, environment: app.environment, stores });
  },
};
