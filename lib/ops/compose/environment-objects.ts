import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parseAllDocuments } from 'yaml';
import { AppTierSettings } from '../../config/app-tier-settings';
import { buildEnvironment, Solution } from '../../solutions/solution';
import { ManifestObject } from './compose-file';

/**
 * The objects `npm run synth` writes to `dist/<solution>/<environment>/` (not its `restore/`),
 * synthesized now from the configuration into a scratch folder, with every check of a synth.
 * @throws ConfigError or PolicyViolationError as the synth does
 */
export function environmentObjects(solution: Solution<AppTierSettings>, environment: string): ManifestObject[] {
  const scratch = mkdtempSync(join(tmpdir(), 'compose-'));
  try {
    const { outdir } = buildEnvironment(solution, environment, scratch).synth();
    return readdirSync(outdir).filter((f) => f.endsWith('.yaml')).sort()
      .flatMap((f) => parseAllDocuments(readFileSync(join(outdir, f), 'utf8')).map((d) => d.toJSON()))
      .filter((o): o is ManifestObject => o !== null && o !== undefined);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
