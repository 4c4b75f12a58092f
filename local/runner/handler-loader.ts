import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** A Lambda handler as the bundles export it (async style; no callback). */
export type LambdaHandler<TEvent, TResult> = (event: TEvent, context: import('aws-lambda').Context) => Promise<TResult>;

export class BundleNotBuiltError extends Error {
  override readonly name = 'BundleNotBuiltError';
  constructor(readonly path: string) {
    super(
      `The Lambda bundle ${path} does not exist. Build the functions first: \`npm run build\` (or buildFunctions() from local/build.ts).`,
    );
  }
}

export class BundleHandlerError extends Error {
  override readonly name = 'BundleHandlerError';
  constructor(readonly path: string) {
    super(`${path} does not export a \`handler\` function. Check that functions/<name>.ts has \`export const handler\` and rebuild.`);
  }
}

export const DEFAULT_DIST_DIR = join(__dirname, '..', '..', 'dist');

/**
 * Loads `dist/<name>/index.js`, the bundle AWS runs, after putting `env` into process.env: the bundles read their
 * configuration at module scope, as they do in a Lambda execution environment. A bundle already loaded in this
 * process is loaded again, so a second local stack gets its own clients and configuration.
 */
export function loadBundledHandler<TEvent, TResult>(
  name: string,
  env: Record<string, string>,
  distDir: string = DEFAULT_DIST_DIR,
): LambdaHandler<TEvent, TResult> {
  const path = join(distDir, name, 'index.js');
  if (!existsSync(path)) throw new BundleNotBuiltError(path);
  Object.assign(process.env, env);
  const resolved = require.resolve(path);
  if (require.cache !== undefined) delete require.cache[resolved];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const module = require(resolved) as { handler?: unknown };
  if (typeof module.handler !== 'function') throw new BundleHandlerError(path);
  return module.handler as LambdaHandler<TEvent, TResult>;
}
