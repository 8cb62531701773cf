/**
 * Synthesizes every environment of every solution into dist/<solution>/<environment>/.
 * `npm run synth` bundles and runs this file; `cdk8s synth` runs the same bundle (cdk8s.yaml)
 * with CDK8S_OUTDIR set.
 */
import { synthesizeAll } from './lib/synthesize';

synthesizeAll(process.env.CDK8S_OUTDIR ?? 'dist');
