// Prints one plain closing line ("jest: N passed, N failed, N skipped") and writes the counts to
// .build/test-summary.json, which .ci/run reads to fail a CI run in which any test was skipped.
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
    process.stdout.write(`jest: ${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped\n`);
  }
}

module.exports = SummaryReporter;
