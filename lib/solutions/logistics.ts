import { logistics, LogisticsSettings } from '../config/logistics';
import { AppTier } from './app-tier';
import { EnvironmentApp } from './environment-app';
import { Solution } from './solution';

/** Logistics (R3): web tier and load balancer, API, three AI services. */
export const logisticsSolution: Solution<LogisticsSettings> = {
  definition: logistics,
  build(app: EnvironmentApp, settings: LogisticsSettings): void {
    new AppTier(app.appChart, 'app', { settings, environment: app.environment, stores: [] });
  },
};
