/** One jest run over every package; workspace packages resolve to their sources. */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  moduleNameMapper: {
    '^@tsp/core$': '<rootDir>/packages/core/src',
    '^@tsp/db$': '<rootDir>/packages/db/src',
  },
  testMatch: ['<rootDir>/packages/*/test/**/*.test.ts', '<rootDir>/services/*/test/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
  testTimeout: 20_000,
  globalSetup: '<rootDir>/test/support/global-setup.js',
  setupFiles: ['<rootDir>/test/support/env.js', '<rootDir>/test/support/redis-error-origin.js'],
};
