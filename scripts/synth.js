#!/usr/bin/env node
// `npm run synth` and `cdk8s synth`: bundle main.ts, lib/ and imports/ with esbuild (dependencies
// stay in node_modules) when any of them changed, then run the bundle in this same process. One
// node process, no tsc: the type check is `npm run compile`, part of `npm test`.
//
// The bundle is rebuilt when the SHA-256 of its inputs (every .ts file it can include, tsconfig,
// the lockfile and this script) differs from the one recorded at the last build. Contents, not
// modification times, so a checkout or copy that keeps old timestamps cannot leave a stale bundle.
const { createHash } = require('crypto');
const { existsSync, readdirSync, readFileSync, writeFileSync } = require('fs');
const { join, relative } = require('path');

const root = join(__dirname, '..');
const outfile = join(root, '.build', 'main.js');
const stampFile = `${outfile}.inputs-sha256`;

function sourceFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function inputsHash() {
  const files = [
    join(root, 'main.ts'), join(root, 'tsconfig.json'), join(root, 'package-lock.json'), __filename,
    ...sourceFiles(join(root, 'lib')), ...sourceFiles(join(root, 'imports')),
  ].sort();
  const hash = createHash('sha256');
  for (const file of files) hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  return hash.digest('hex');
}

const hash = inputsHash();
const fresh = existsSync(outfile) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === hash;
if (!fresh) {
  require('esbuild').buildSync({
    entryPoints: [join(root, 'main.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    packages: 'external',
    outfile,
    logLevel: 'warning',
    // A key written twice in a configuration object silently drops the first value: refuse it.
    logOverride: { 'duplicate-object-key': 'error' },
  });
  writeFileSync(stampFile, hash);
}

require(outfile);
