/** Unit specs live beside the code; integration, conformance and e2e suites under test/. */
module.exports = {
  rootDir: '.',
  roots: ['<rootDir>/src', '<rootDir>/connectors', '<rootDir>/test', '<rootDir>/scripts', '<rootDir>/bench'],
  testRegex: '.*\\.spec\\.ts$',
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  testEnvironment: 'node',
  testTimeout: 60000,
  // Most suites wait on loopback HTTP to in-process sandboxes, so two workers keep both cores busy.
  maxWorkers: 2,
  setupFiles: ['reflect-metadata', '<rootDir>/test/support/jest-env.ts'],
};
