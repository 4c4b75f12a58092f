import { generateCase } from '../../eval/generated/generate-case';
import { formatGenerated, GENERATED_CASES, meetsTargets, runGenerated, TARGETS } from '../../eval/generated/score';

/** A fixed seed here; `npm run eval` draws a new one each run and prints it. */
const SEED = 20261207;

describe('generated evaluation (fixed seed)', () => {
  const report = runGenerated(SEED, GENERATED_CASES);

  it('spans at least 8 AWS namespaces and every scenario', () => {
    expect(report.namespaces).toBeGreaterThanOrEqual(8);
    expect(Object.keys(report.byScenario).sort()).toEqual(['change-step', 'climb', 'logs-step', 'quiet', 'spike', 'step', 'story']);
  });

  it(`reports at least ${TARGETS.steps * 100}% of steps within one period, names no decoy and claims no cause without a signal`, () => {
    // On failure, the table and the seeds to replay (npm run eval -- --case <seed>) say what went wrong.
    const table = formatGenerated(report);
    expect({ meets: meetsTargets(report), table }).toEqual({ meets: true, table });
    expect(report.decoysNamed).toBe(0);
    expect(report.falseClaims).toBe(0);
  });

  it('rebuilds a case exactly from its seed', () => {
    const seed = report.scores[0]?.seed ?? 0;
    expect(generateCase(seed)).toEqual(generateCase(seed));
  });
});
