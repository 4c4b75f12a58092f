import { build, type BuildOptions } from 'esbuild';
import { readdirSync, statSync } from 'node:fs';
import { join, basename } from 'node:path';

/**
 * Bundles every Lambda entry point in functions/ into dist/<function>/index.js: CommonJS for nodejs22.x, minified,
 * with source maps and the AWS SDK bundled (pinned by package-lock.json, not whatever the runtime ships). These files
 * are what the CDK stack deploys and what the tests and benchmarks measure.
 */
const root = join(__dirname, '..');
const functionsDir = join(root, 'functions');

export const functionNames = (): string[] =>
  readdirSync(functionsDir)
    .filter((file) => file.endsWith('.ts'))
    .map((file) => basename(file, '.ts'));

/** The esbuild options every deployed function is built with; benchmarks build their floor bundles the same way. */
export function bundleOptions(entryPoint: string, outfile: string): BuildOptions {
  return {
    entryPoints: [entryPoint],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    legalComments: 'none',
    logLevel: 'warning',
  };
}

export async function buildFunctions(): Promise<{ name: string; bytes: number }[]> {
  const names = functionNames();
  await Promise.all(names.map((name) => build(bundleOptions(join(functionsDir, `${name}.ts`), join(root, 'dist', name, 'index.js')))));
  return names.map((name) => ({ name, bytes: statSync(join(root, 'dist', name, 'index.js')).size }));
}

if (require.main === module) {
  buildFunctions()
    .then((built) => {
      for (const { name, bytes } of built) console.log(`dist/${name}/index.js  ${(bytes / 1024).toFixed(1)} KiB`);
    })
    .catch((error: unknown) => {
      console.error(`Build failed: ${(error as Error).message}`);
      process.exit(1);
    });
}
