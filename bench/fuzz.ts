import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { FUZZ_PROPERTIES } from '../test/support/fuzz-properties';

/**
 * `npm run fuzz`: the verifier and parser properties of `npm test`, for at least 100,000 cases in total (FUZZ_RUNS
 * to change it, FUZZ_SEED to replay). Prints how many cases ran and how long each property took.
 */
const TOTAL = Number(process.env.FUZZ_RUNS ?? 100_000);
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

function main(): void {
  const weights = FUZZ_PROPERTIES.reduce((sum, item) => sum + item.weight, 0);
  let ran = 0;
  let failed = 0;
  const started = performance.now();
  console.log(`fuzzing ${FUZZ_PROPERTIES.length} properties, ${TOTAL} cases, FUZZ_SEED=${seed}`);
  for (const item of FUZZ_PROPERTIES) {
    const numRuns = Math.ceil((TOTAL * item.weight) / weights);
    const at = performance.now();
    const details = item.check({ numRuns, seed });
    ran += details.numRuns;
    const seconds = ((performance.now() - at) / 1000).toFixed(1);
    if (details.failed) {
      failed += 1;
      console.log(`FAIL ${item.name}: ${details.numRuns} cases in ${seconds} s\n${fc.defaultReportMessage(details) ?? ''}`);
    } else {
      console.log(`ok   ${item.name}: ${details.numRuns} cases in ${seconds} s`);
    }
  }
  console.log(
    `${ran} cases ran in ${((performance.now() - started) / 1000).toFixed(1)} s; ${failed} propert${failed === 1 ? 'y' : 'ies'} failed`,
  );
  if (failed > 0 || ran < TOTAL) process.exitCode = 1;
}

main();
