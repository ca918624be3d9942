// Three projects that can run alone (npm run test:unit / test:integration / test:e2e).
// unit: no network. integration: real PostgreSQL + AWS emulator, steps called directly.
// e2e: the whole state machine on the local platform.
const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
  ],
  // jose ships only ES modules; Jest's module system loads CommonJS, so its files are transformed too.
  '/node_modules/jose/.+\\.js$': [
    '@swc/jest',
    { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' }, module: { type: 'commonjs' } },
  ],
};

const project = (name) => ({
  displayName: name,
  testEnvironment: 'node',
  testMatch: [`<rootDir>/test/${name}/**/*.test.ts`],
  transform,
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  setupFiles: ['<rootDir>/test/setup-env.ts'],
});

module.exports = {
  projects: [project('unit'), project('integration'), project('e2e')],
  testTimeout: 180_000,
  // One test file per core: the e2e files wait on servers (PostgreSQL, the emulator, the platform's retries)
  // more than they compute, and each starts its own platform on free ports in its own state directory.
  // On a 2-core CI machine jest took 28 min with one worker and 22 with two (.ci/run: 34 min, then 24).
  maxWorkers: '100%',
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
};
