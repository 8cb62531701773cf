import { renameSync, rmSync } from 'fs';
import { environmentsOf } from './config/solution-definition';
import { buildEnvironment } from './solutions/solution';
import { SOLUTIONS } from './solutions';
import { ConfigError } from './validation';

/**
 * Builds and writes every environment of every solution into `<outdir>/<solution>/<environment>/`.
 * Everything is written to a staging folder first and swapped in at the end, so a failed synth
 * leaves the last good output untouched and files of removed objects do not linger. A configuration
 * error or a policy violation is printed without a stack trace and the process exits 1.
 */
export function synthesizeAll(outdir: string): void {
  const staging = `${outdir}.staging`;
  rmSync(staging, { recursive: true, force: true });
  try {
    for (const solution of SOLUTIONS) {
      for (const environment of environmentsOf(solution.definition)) {
        buildEnvironment(solution, environment, staging).synth();
      }
    }
    rmSync(outdir, { recursive: true, force: true });
    renameSync(staging, outdir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    // cdk8s reports failed validations (the policy engine's) as "Validation failed with ...".
    if (error instanceof ConfigError || (error instanceof Error && error.message.startsWith('Validation failed'))) {
      process.stderr.write(`synth failed: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}
