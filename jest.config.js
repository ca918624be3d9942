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
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
};
