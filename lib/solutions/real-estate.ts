import { realEstate, RealEstateSettings } from '../config/real-estate';
import { AppTier } from './app-tier';
import { EnvironmentApp } from './environment-app';
import { Solution } from './solution';

/** Real estate (R4): API behind an Ingress, recommendation and valuation models. */
export const realEstateSolution: Solution<RealEstateSettings> = {
  definition: realEstate,
  build(app: EnvironmentApp, settings: RealEstateSettings): void {
    new AppTier(app.appChart, 'app', { settings, environment: app.environment, stores: [] });
  },
};
