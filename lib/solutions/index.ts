import { logisticsSolution } from './logistics';
import { realEstateSolution } from './real-estate';

/** Every solution `npm run synth` writes to dist/. Adding a solution: define it and list it here. */
export const SOLUTIONS = [logisticsSolution, realEstateSolution] as const;
