import { rmSync } from 'fs';
import { environmentsOf } from './config/solution-definition';
import { buildEnvironment } from './solutions/solution';
import { SOLUTIONS } from './solutions';
import { ConfigError } from './validation';

/**
 * Builds and writes every environment of every solution into `<outdir>/<solution>/<environment>/`,
 * replacing what was there, so files of removed objects do not linger. A configuration error is
 * printed as one line (no stack trace) and the process exits 1.
 */
export function synthesizeAll(outdir: string): void {
  try {
    const apps = SOLUTIONS.flatMap((solution) =>
      environmentsOf(solution.definition).map((environment) => buildEnvironment(solution as never, environment, outdir)));
    // Build everything before deleting anything: a bad config leaves the last good dist/ in place.
    rmSync(outdir, { recursive: true, force: true });
    for (const app of apps) app.synth();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`synth failed: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}
