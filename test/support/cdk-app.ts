import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../cdk/app';
import { DIST_DIR } from '../../cdk/constructs/agent-function';
import type { PdAgentStack } from '../../cdk/pd-agent-stack';

const ROOT = join(__dirname, '..', '..');

/** The `context` of the repository's cdk.json: the environments the tests synthesize are the ones users deploy. */
export function cdkJsonContext(): { environments: Record<string, Record<string, unknown>> } & Record<string, unknown> {
  return JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context;
}

export const BUNDLED_FUNCTIONS = ['ingress', 'worker', 'handback', 'rotate-secret', 'scheduler'] as const;

/** The stack deploys dist/; the tests check the real bundles, so they must exist (npm test builds them first). */
export function requireBundles(): void {
  const missing = BUNDLED_FUNCTIONS.filter((name) => !existsSync(join(DIST_DIR, name, 'index.js')));
  if (missing.length > 0) {
    throw new Error(`Missing ${missing.map((name) => `dist/${name}/index.js`).join(', ')}: run npm run build first (npm test does it).`);
  }
}

export interface SynthesizedEnvironment {
  app: App;
  stack: PdAgentStack;
  template: Template;
}

/**
 * Synthesizes one environment as `cdk synth -c env=<name>` would, optionally with the cdk.json block changed and with
 * `amend` adding to the stack before synthesis (a test's deliberately bad construct: synthesis is cached once done).
 */
export function synthEnvironment(
  env: string,
  overrides: Record<string, unknown> = {},
  amend?: (stack: PdAgentStack) => void,
): SynthesizedEnvironment {
  requireBundles();
  const context = cdkJsonContext();
  const environments = { ...context.environments, [env]: { ...context.environments[env], ...overrides } };
  const app = new App({ context: { ...context, environments, env } });
  const stack = buildApp(app);
  amend?.(stack);
  return { app, stack, template: Template.fromStack(stack) };
}
