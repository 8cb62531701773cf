/** Jest: TypeScript via ts-jest (type-checking is done once by `tsc --noEmit` in `npm test`). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  },
  snapshotResolver: '<rootDir>/test/support/snapshot-resolver.js',
  testTimeout: 120000,
  // The real-server suites spend much of their time waiting on servers (a 2-core CI run with two
  // workers used 1.3 cores): three workers even on a 2-core machine (Jest's default there is one)
  // keep the whole run well within CI's 15 minutes.
  maxWorkers: 3,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
};
