/** @type {import('jest').Config['transform']} */
const transform = {
  // Type checking runs once in `npm run typecheck`; here ts-jest only transpiles, which keeps runs fast on 2 cores.
  '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }],
};

/** @returns {import('jest').Config} */
const project = (name, extra = {}) => ({
  displayName: name,
  // Node, with the console of passing tests held back (test/support/quiet-console-environment.ts).
  testEnvironment: '<rootDir>/test/support/quiet-console-environment.ts',
  transform,
  testMatch: [`<rootDir>/test/${name}/**/*.test.ts`],
  setupFiles: ['<rootDir>/test/support/test-env.ts'],
  ...extra,
});

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    project('unit'),
    project('integration', { setupFilesAfterEnv: ['<rootDir>/test/support/timeouts/integration.ts'] }),
    project('cdk', { setupFilesAfterEnv: ['<rootDir>/test/support/timeouts/cdk.ts'] }),
  ],
};
