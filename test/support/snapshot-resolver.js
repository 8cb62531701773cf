// Keeps every snapshot in the top-level __snapshots__/ folder (the layout the project names),
// named after its test file: test/solutions/logistics.test.ts -> __snapshots__/solutions/logistics.test.ts.snap
const path = require('path');

const root = path.resolve(__dirname, '..', '..');
const testDir = path.join(root, 'test');
const snapshotDir = path.join(root, '__snapshots__');

module.exports = {
  resolveSnapshotPath: (testPath, extension) =>
    path.join(snapshotDir, path.relative(testDir, testPath) + extension),
  resolveTestPath: (snapshotPath, extension) =>
    path.join(testDir, path.relative(snapshotDir, snapshotPath).slice(0, -extension.length)),
  testPathForConsistencyCheck: path.join(testDir, 'api-service.test.ts'),
};
