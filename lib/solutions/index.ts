import { AppTierSettings } from '../config/app-tier-settings';
import { logisticsSolution } from './logistics';
import { realEstateSolution } from './real-estate';
import { Solution } from './solution';

/** Every solution `npm run synth` writes to dist/. Adding a solution: define it and list it here. */
export const SOLUTIONS: readonly Solution<AppTierSettings>[] = [logisticsSolution, realEstateSolution];
