import type { Circus } from '@jest/types';
import { TestEnvironment } from 'jest-environment-node';

const CAPTURED_METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
type CapturedMethod = (typeof CAPTURED_METHODS)[number];

/**
 * The node environment, with the console of the code under test held back: a passing test prints nothing (the local
 * runner's diagnostics, a handler's console.error and their stack frames stayed in CI logs of green runs), and a
 * failing test, or a failing hook, prints everything logged since the previous test ended, through jest's console as
 * before. Tests that expect a message spy on console and assert it; this only decides what reaches the output.
 */
export default class QuietConsoleEnvironment extends TestEnvironment {
  private held: { method: CapturedMethod; args: unknown[] }[] = [];
  private jestConsole: Console | undefined;

  override async setup(): Promise<void> {
    await super.setup();
    const jestConsole = this.global.console;
    this.jestConsole = jestConsole;
    const quiet = Object.create(jestConsole) as Console;
    for (const method of CAPTURED_METHODS)
      quiet[method] = (...args: unknown[]) => {
        this.held.push({ method, args });
      };
    this.global.console = quiet;
  }

  handleTestEvent(event: Circus.Event): void {
    if (event.name === 'test_done') {
      if (event.test.errors.length > 0) this.release();
      else this.held = [];
    } else if (event.name === 'hook_failure') this.release();
  }

  override async teardown(): Promise<void> {
    this.held = [];
    await super.teardown();
  }

  private release(): void {
    const jestConsole = this.jestConsole;
    if (jestConsole === undefined) return;
    for (const { method, args } of this.held) jestConsole[method](...args);
    this.held = [];
  }
}
