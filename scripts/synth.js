#!/usr/bin/env node
// `npm run synth` and `cdk8s synth`: bundle main.ts and lib/ with esbuild (dependencies stay in
// node_modules), then run the bundle in this same process. One node process, no tsc: the type
// check is `npm run compile`, part of `npm test`.
const { buildSync } = require('esbuild');
const { join } = require('path');

const root = join(__dirname, '..');
const outfile = join(root, '.build', 'main.js');
buildSync({
  entryPoints: [join(root, 'main.ts')],
  bundle: true,
  platform: 'node',
  target: 'node20',
  packages: 'external',
  outfile,
  logLevel: 'warning',
});
require(outfile);
