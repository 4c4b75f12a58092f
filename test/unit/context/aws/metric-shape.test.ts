import fc from 'fast-check';
import { Random } from '../../../eval/generated/random';
import { analyseMetric, breaches, capacityKindOf, fitLine, sparkline, type MetricPoint } from '../../../../lib/context/aws/metric-shape';

const T0 = Date.parse('2026-03-10T02:00:00Z');
const MINUTE = 60_000;
const series = (values: number[], stepMs = MINUTE): MetricPoint[] => values.map((value, index) => ({ at: T0 + index * stepMs, value }));
const flat = (value: number, count: number): number[] => Array.from({ length: count }, () => value);

describe('analyseMetric on crafted series', () => {
  it('says no-data with fewer than two points', () => {
    expect(analyseMetric({ points: [] })).toEqual({ shape: 'no-data', sparkline: '', latest: undefined });
    expect(analyseMetric({ points: series([4]) }).shape).toBe('no-data');
  });

  it('says steady for a flat series and one wobbling within a few percent', () => {
    expect(analyseMetric({ points: series(flat(40, 30)) }).shape).toBe('steady');
    expect(analyseMetric({ points: series([100, 101, 99, 100, 102, 100, 98, 101, 100, 100]) }).shape).toBe('steady');
  });

  it('finds a step, when it crossed and its level', () => {
    const values = [...flat(2, 40), ...flat(30, 20)];
    const analysis = analyseMetric({ points: series(values), threshold: { comparison: '>', value: 5 } });
    expect(analysis).toMatchObject({ shape: 'step', crossedAt: T0 + 40 * MINUTE, latest: 30, baseline: 2 });
  });

  it('finds a spike that came back', () => {
    const values = [...flat(10, 30), 90, 85, ...flat(10, 10)];
    expect(analyseMetric({ points: series(values) }).shape).toBe('spike');
  });

  it('finds a steady climb, its rate per minute and, for a percent metric, the minutes to 100 %', () => {
    const values = Array.from({ length: 60 }, (_, minute) => 40 + minute * 0.5);
    const analysis = analyseMetric({ points: series(values), capacity: 'percent-used', threshold: { comparison: '>=', value: 65 } });
    expect(analysis.shape).toBe('climb');
    expect(analysis.ratePerMinute).toBeCloseTo(0.5, 6);
    expect(analysis.minutesToExhaustion).toBeCloseTo((100 - 69.5) / 0.5, 6);
    expect(analysis.crossedAt).toBe(T0 + 50 * MINUTE);
  });

  it('finds free space draining as a drop and the minutes until it is gone', () => {
    const values = Array.from({ length: 30 }, (_, minute) => 5000 - minute * 100);
    const analysis = analyseMetric({ points: series(values), capacity: 'free', threshold: { comparison: '<', value: 3000 } });
    expect(analysis.shape).toBe('drop');
    expect(analysis.ratePerMinute).toBeCloseTo(-100, 6);
    expect(analysis.minutesToExhaustion).toBeCloseTo(2100 / 100, 6);
  });

  it('finds a sudden fall as a drop', () => {
    expect(analyseMetric({ points: series([...flat(500, 40), ...flat(20, 15)]) }).shape).toBe('drop');
  });

  it('says noisy for large variation without a shape', () => {
    const values = [50, 20, 70, 30, 65, 25, 75, 35, 60, 22, 68, 28, 72, 33, 58, 26, 66, 31, 70, 24];
    expect(analyseMetric({ points: series(values) }).shape).toBe('noisy');
  });

  it('sorts points given out of order and drops non-finite values', () => {
    const points = series([...flat(2, 40), ...flat(30, 20)]).reverse();
    points.push({ at: T0 + 5 * MINUTE, value: Number.NaN });
    expect(analyseMetric({ points }).shape).toBe('step');
  });

  it('gives no crossing for a series beyond the threshold from its first point, or a band threshold', () => {
    expect(analyseMetric({ points: series(flat(10, 5)), threshold: { comparison: '>', value: 5 } }).crossedAt).toBeUndefined();
    expect(analyseMetric({ points: series([1, 1, 9, 9]), threshold: { comparison: 'outside-band', value: 5 } }).crossedAt).toBeUndefined();
  });
});

describe('helpers', () => {
  it('draws a sparkline from the lowest to the highest bucket', () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7])).toBe('▁▂▃▄▅▆▇█');
    expect(sparkline(flat(3, 4))).toBe('▁▁▁▁');
    expect(
      sparkline(
        Array.from({ length: 100 }, (_, i) => i),
        10,
      ),
    ).toHaveLength(10);
  });

  it('knows which metrics run out and where', () => {
    expect(capacityKindOf('FreeStorageSpace')).toBe('free');
    expect(capacityKindOf('CPUUtilization')).toBe('percent-used');
    expect(capacityKindOf('disk_used_percent')).toBe('percent-used');
    expect(capacityKindOf('Errors', 'Count')).toBeUndefined();
  });

  it('fits a line through exact points', () => {
    const fit = fitLine(series([1, 3, 5, 7]));
    expect(fit.slope * MINUTE).toBeCloseTo(2, 9);
    expect(fit.r2).toBeCloseTo(1, 9);
  });
});

const finiteValue = fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true });
const valueSeries = fc.array(finiteValue, { minLength: 0, maxLength: 80 });

describe('analyseMetric invariants', () => {
  it('always answers a known shape and a sparkline of at most its width in the bar characters', () => {
    fc.assert(
      fc.property(valueSeries, fc.integer({ min: 1, max: 40 }), (values, width) => {
        const analysis = analyseMetric({ points: series(values), sparklineWidth: width });
        expect(['step', 'spike', 'climb', 'drop', 'steady', 'noisy', 'no-data']).toContain(analysis.shape);
        expect(analysis.sparkline.length).toBe(Math.min(values.length, width));
        expect(analysis.sparkline).toMatch(/^[▁▂▃▄▅▆▇█]*$/);
        expect(analysis.shape === 'no-data').toBe(values.length < 2);
      }),
    );
  });

  it('places a crossing on a breaching point whose predecessor did not breach', () => {
    const comparison = fc.constantFrom('>' as const, '>=' as const, '<' as const, '<=' as const);
    fc.assert(
      fc.property(valueSeries, finiteValue, comparison, (values, value, op) => {
        const threshold = { comparison: op, value };
        const points = series(values);
        const { crossedAt } = analyseMetric({ points, threshold });
        if (crossedAt === undefined) return;
        const index = points.findIndex((point) => point.at === crossedAt);
        expect(index).toBeGreaterThan(0);
        expect(breaches(values[index], threshold)).toBe(true);
        expect(breaches(values[index - 1], threshold)).toBe(false);
        // It is the latest entry into the breach: no later point enters it again.
        for (let later = index + 1; later < values.length; later += 1) {
          expect(breaches(values[later], threshold) === true && breaches(values[later - 1], threshold) === false).toBe(false);
        }
      }),
    );
  });

  it('calls every constant series steady and every linear one of four points or more, moving more than 5 % of its level, a climb or drop', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1000, max: 1000 }),
        fc.integer({ min: 4, max: 60 }),
        fc.integer({ min: 1, max: 50 }),
        fc.boolean(),
        (start, count, step, rising) => {
          expect(analyseMetric({ points: series(flat(start, count)) }).shape).toBe('steady');
          const line = Array.from({ length: count }, (_, i) => start + (rising ? 1 : -1) * i * step * 100);
          const level = Math.max(...line.map(Math.abs));
          fc.pre(Math.max(...line) - Math.min(...line) > 0.05 * level);
          const analysis = analyseMetric({ points: series(line) });
          expect(analysis.shape).toBe(rising ? 'climb' : 'drop');
          expect(analysis.ratePerMinute).toBeCloseTo((rising ? 1 : -1) * step * 100, 3);
        },
      ),
    );
  });

  it('is unchanged when the whole series moves in time', () => {
    fc.assert(
      fc.property(valueSeries, fc.integer({ min: -1e9, max: 1e9 }), (values, shift) => {
        const base = analyseMetric({ points: series(values) });
        const moved = analyseMetric({ points: series(values).map((point) => ({ ...point, at: point.at + shift })) });
        expect(moved.shape).toBe(base.shape);
        expect(moved.sparkline).toBe(base.sparkline);
      }),
    );
  });

  it('never answers a negative time to exhaustion', () => {
    fc.assert(
      fc.property(valueSeries, fc.constantFrom('percent-used' as const, 'free' as const), (values, capacity) => {
        const { minutesToExhaustion } = analyseMetric({ points: series(values), capacity });
        if (minutesToExhaustion !== undefined) expect(minutesToExhaustion).toBeGreaterThanOrEqual(0);
      }),
    );
  });
});

/** Normal noise from a seed: fast-check shrinks the seed, so a failure is one reproducible series, not a hand-picked one. */
const gaussian = (seed: number, count: number): number[] => {
  const random = new Random(seed);
  return Array.from({ length: count }, () => random.normal());
};
const noisySeries = (noise: readonly number[], level: number, sd: number): number[] => noise.map((z) => level + z * sd);
const seeds = fc.integer({ min: 0, max: 2 ** 31 - 1 });

describe('analyseMetric by change point', () => {
  it('calls a Lambda Errors step from about 0 to 42 seven minutes before the trigger a step, with its time and levels', () => {
    // 60 one-minute points, the trigger at index 57 and two periods read after it: the step is at index 50.
    const values = [
      0,
      1,
      0,
      0,
      2,
      0,
      0,
      1,
      0,
      0,
      ...Array.from({ length: 40 }, (_, i) => (i % 7 === 3 ? 1 : 0)),
      41,
      43,
      42,
      40,
      44,
      42,
      41,
      43,
      42,
      42,
    ];
    const analysis = analyseMetric({ points: series(values), threshold: { comparison: '>', value: 10 } });
    expect(analysis).toMatchObject({ shape: 'step', baseline: 0, levelChange: { at: T0 + 50 * MINUTE, before: 0, after: 42 } });
  });

  it('finds a step in the last two datapoints', () => {
    const values = [...noisySeries([0.3, -0.5, 1, -1.2, 0.4, 0.8, -0.3, 0.1, -0.9, 0.6, 0.2, -0.4, 1.1, -0.7, 0.5, 0], 100, 2), 140, 141];
    expect(analyseMetric({ points: series(values) })).toMatchObject({ shape: 'step', levelChange: { at: T0 + 16 * MINUTE } });
  });

  it('gives a spike that came back its peak and when it was back', () => {
    const values = [...flat(5, 20), 950, 400, 5, 5, 4, 5, 6, 5, 4, 5];
    expect(analyseMetric({ points: series(values) })).toMatchObject({
      shape: 'spike',
      excursion: { peakAt: T0 + 20 * MINUTE, peak: 950, backAt: T0 + 22 * MINUTE, backTo: 5 },
    });
  });

  it('finds at least 95 % of steps of more than 4 noise deviations, anywhere in a noisy window, within one period', () => {
    const random = new Random(20261207);
    let found = 0;
    const runs = 400;
    for (let run = 0; run < runs; run += 1) {
      const at = random.integer(5, 58);
      const up = random.chance(0.5);
      const level = random.between(10, 1e4);
      const sd = level * 0.02;
      const sigmas = random.between(4.5, 40);
      const values = noisySeries(gaussian(random.integer(0, 2 ** 31), 60), level, sd).map((value, index) =>
        index >= at ? value + (up ? 1 : -1) * sigmas * sd : value,
      );
      const analysis = analyseMetric({ points: series(values) });
      if (analysis.shape === (up ? 'step' : 'drop') && Math.abs((analysis.levelChange?.at ?? 0) - (T0 + at * MINUTE)) <= MINUTE) found += 1;
    }
    expect(found / runs).toBeGreaterThanOrEqual(0.95);
  });

  it('finds no step and no spike in noise alone, and keeps a noisy climb a climb', () => {
    fc.assert(
      fc.property(seeds, fc.double({ min: 10, max: 1e4, noNaN: true }), (seed, level) => {
        const noise = gaussian(seed, 60);
        const flatShape = analyseMetric({ points: series(noisySeries(noise, level, level * 0.05)) }).shape;
        expect(['steady', 'noisy']).toContain(flatShape);
        const climbing = noisySeries(noise, level, level * 0.01).map((value, index) => value + index * level * 0.02);
        expect(analyseMetric({ points: series(climbing) }).shape).toBe('climb');
      }),
      { seed: 20261208, numRuns: 300 },
    );
  });
});
