/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  testTimeout: 60_000,
  // Two cores: two test files at a time, each with its own database and task queue.
  maxWorkers: 2,
  forceExit: false,
};
