import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `npm run bench`: runs every `bench/*.bench.ts` module's `run()` in turn, in name order. Each prints its own figures.
 * Run `npm run build` first: bundle benchmarks measure `dist/`.
 */
interface BenchModule {
  run(): Promise<void>;
}

async function main(): Promise<void> {
  const only = process.argv[2];
  const files = readdirSync(__dirname)
    .filter((file) => file.endsWith('.bench.ts'))
    .filter((file) => only === undefined || file.startsWith(only))
    .sort();
  for (const file of files) {
    console.log(`\n== ${file}`);
    const module = (await import(join(__dirname, file))) as Partial<BenchModule>;
    if (typeof module.run !== 'function') throw new Error(`${file} exports no run(): export async function run(): Promise<void>.`);
    await module.run();
  }
}

main().catch((error: unknown) => {
  console.error(`Benchmark failed: ${(error as Error).message}`);
  process.exit(1);
});
