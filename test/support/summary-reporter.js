// Prints one plain closing line ("jest: N passed, N failed, N skipped") and writes the counts to
// .build/test-summary.json, which .ci/run reads to fail a CI run in which any test was skipped.
// Prints the slowest suites too: CI has a time budget, and this says where the time goes.
const { mkdirSync, writeFileSync } = require('fs');
const { join } = require('path');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const summary = {
      passed: results.numPassedTests,
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
    };
    const dir = join(__dirname, '..', '..', '.build');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'test-summary.json'), JSON.stringify(summary) + '\n');
    const slowest = results.testResults
      .map((r) => ({ file: r.testFilePath.slice(join(__dirname, '..', '..').length + 1), seconds: (r.perfStats.end - r.perfStats.start) / 1000 }))
      .sort((a, b) => b.seconds - a.seconds)
      .slice(0, 10);
    if (results.testResults.length > 1) {
      process.stdout.write(`slowest suites: ${slowest.map((s) => `${s.file} ${s.seconds.toFixed(0)}s`).join(', ')}\n`);
    }
    process.stdout.write(`jest: ${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped\n`);
  }
}

module.exports = SummaryReporter;
