/**
 * Synthesizes every environment of every solution into dist/<solution>/<environment>/.
 * `npm run synth` bundles and runs this file; so does `cdk8s synth` (cdk8s.yaml). The cdk8s CLI
 * deletes its output folder before it runs the app, so cdk8s.yaml points it at a scratch folder
 * (CDK8S_OUTDIR) that receives a copy, and dist/ itself is replaced only by a synth that succeeded.
 * SYNTH_OUTDIR writes somewhere else than dist/ (the benchmark does).
 */
import { synthesizeAll } from './lib/synthesize';

synthesizeAll(process.env.SYNTH_OUTDIR || 'dist', process.env.CDK8S_OUTDIR || undefined);
