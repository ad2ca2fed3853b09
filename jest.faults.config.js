/**
 * The fault suite (`pnpm test:faults`): real processes, a private redis-server and Postgres per
 * test file, faults injected on purpose. Files run one at a time: they kill processes, stop
 * databases and measure time, so they must not compete for the machine.
 */
const base = require('./jest.config');

module.exports = {
  testEnvironment: base.testEnvironment,
  transform: base.transform,
  moduleNameMapper: base.moduleNameMapper,
  setupFiles: ['<rootDir>/test/support/redis-error-origin.js'],
  testMatch: ['<rootDir>/test/faults/**/*.fault.ts'],
  maxWorkers: 1,
  // The rate-limit test alone needs ≈ 2 minutes by design (60 requests at 30 per minute).
  testTimeout: 240_000,
  // One migrated Postgres template per run; each file starts its own copy.
  globalSetup: '<rootDir>/test/faults/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/faults/support/global-teardown.ts',
};
