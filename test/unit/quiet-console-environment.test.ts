import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

describe('the jest environment every project runs in', () => {
  it('prints nothing a passing test logged, and everything a failing test logged', () => {
    const config = {
      rootDir: ROOT,
      testEnvironment: '<rootDir>/test/support/quiet-console-environment.ts',
      transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }] },
      testMatch: ['<rootDir>/test/fixtures/quiet-console/console.fixture.ts'],
    };
    const run = spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '--config', JSON.stringify(config), '--ci'],
      {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      },
    );
    const output = `${run.stdout}${run.stderr}`;
    expect(output).toContain('Tests:       1 failed, 1 passed, 2 total');
    expect(output).toContain('printed-by-the-failing-test');
    expect(output).not.toContain('printed-by-the-passing-test');
    expect(output).not.toContain('logged-by-the-passing-test');
  });
});
