#!/usr/bin/env node
// `npm run bench`: how long a full synth takes, against the way `cdk8s init typescript-app` runs an
// app and against the floor (npm starting node that only loads cdk8s and cdk8s-plus-27).
//   (a) `npm run synth`: the whole 2 solutions x 3 environments matrix, sources unchanged since the
//       last synth (the bundle is reused: scripts/synth.js rebuilds it only when an input changed)
//   (a') the same right after a source change: esbuild bundles again, then the app runs
//   (b) `cdk8s synth` with `app: npx ts-node main.ts` (cdk8s init's set-up), same app, same output
//   (c) `npm run bench:floor`
// Each is run BENCH_RUNS times (default 5) after one warm-up; the median is reported. Output goes
// to a temporary folder, so dist/ is not touched.
const { spawnSync } = require('child_process');
const { mkdtempSync, rmSync } = require('fs');
const { tmpdir } = require('os');
const { join } = require('path');

const root = join(__dirname, '..');
const stamp = join(root, '.build', 'main.js.inputs-sha256');
const runs = Number(process.env.BENCH_RUNS ?? 5);
const outdir = mkdtempSync(join(tmpdir(), 'bench-'));
const cdk8s = join(root, 'node_modules', '.bin', 'cdk8s');

function time(label, command, args, env = {}, before = () => {}) {
  const durations = [];
  for (let i = 0; i <= runs; i++) {
    before();
    const start = process.hrtime.bigint();
    const result = spawnSync(command, args, { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (result.status !== 0) {
      process.stderr.write(`${label} failed:\n${result.stdout}\n${result.stderr}\n`);
      process.exit(1);
    }
    if (i > 0) durations.push(seconds); // the first run warms caches
  }
  durations.sort((x, y) => x - y);
  const median = durations[Math.floor(durations.length / 2)];
  console.log(`${label.padEnd(52)} median ${median.toFixed(3)} s  (min ${durations[0].toFixed(3)}, max ${durations[durations.length - 1].toFixed(3)})`);
  return median;
}

try {
  console.log(`${runs} runs each after a warm-up, on ${require('os').cpus().length} cores, node ${process.version}\n`);
  const a = time('(a) npm run synth, sources unchanged', 'npm', ['run', '-s', 'synth'], { SYNTH_OUTDIR: join(outdir, 'a') });
  const rebuild = time("(a') npm run synth after a source change (rebuild)", 'npm', ['run', '-s', 'synth'], { SYNTH_OUTDIR: join(outdir, 'a') },
    () => rmSync(stamp, { force: true }));
  const b = time('(b) cdk8s synth, app: npx ts-node main.ts', cdk8s, ['synth', '--app', 'npx ts-node main.ts', '--output', join(outdir, 'b')],
    { SYNTH_OUTDIR: join(outdir, 'b') });
  const c = time('(c) floor: npm run bench:floor (load cdk8s + plus)', 'npm', ['run', '-s', 'bench:floor']);
  console.log('');
  console.log(`(b) / (a) = ${(b / a).toFixed(1)}x faster than cdk8s synth with ts-node   (target >= 8x)`);
  console.log(`(a) / (c) = ${(a / c).toFixed(2)}x the floor                               (target <= 2x)`);
  console.log(`(b) / (a') = ${(b / rebuild).toFixed(1)}x, (a') / (c) = ${(rebuild / c).toFixed(2)}x with a rebuild of the bundle`);
} finally {
  rmSync(outdir, { recursive: true, force: true });
}
