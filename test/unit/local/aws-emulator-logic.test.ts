import { compileFilterPattern, FilterPatternError } from '../../../local/aws-emulators/filter-pattern';
import { aggregate, bucket, evaluate, MetricMathError } from '../../../local/aws-emulators/metric-math';
import { resolveSeedTime } from '../../../local/aws-emulators/seed';

describe('CloudWatch Logs filter patterns (unstructured terms)', () => {
  const lines = ['ERROR boom', 'WARN slow', 'ERROR timed out', 'INFO ok', 'Exception in thread main'];
  const matching = (pattern: string): string[] => lines.filter(compileFilterPattern(pattern));

  it.each([
    ['ERROR', ['ERROR boom', 'ERROR timed out']],
    ['ERROR timed', ['ERROR timed out']],
    ['?ERROR ?Exception', ['ERROR boom', 'ERROR timed out', 'Exception in thread main']],
    ['ERROR -"timed out"', ['ERROR boom']],
    ['-ERROR', ['WARN slow', 'INFO ok', 'Exception in thread main']],
    ['?"ERROR" "boom" ?"WARN"', ['ERROR boom', 'WARN slow']],
    ['"in thread"', ['Exception in thread main']],
    ['%^(ERROR|WARN)%', undefined],
    ['%^[EW][A-Z]+ %', ['ERROR boom', 'WARN slow', 'ERROR timed out']],
    ['   ', lines],
  ])('%j', (pattern, expected) => {
    if (expected === undefined) expect(() => compileFilterPattern(pattern)).toThrow(FilterPatternError);
    else expect(matching(pattern)).toEqual(expected);
  });

  it.each(['{ $.level = "ERROR" }', '[ip, user, status=500]', '"unclosed', 'a{b}'])(
    'refuses %j with a message saying what to do',
    (pattern) => {
      expect(() => compileFilterPattern(pattern)).toThrow(FilterPatternError);
    },
  );
});

describe('GetMetricData statistics and metric math', () => {
  it('computes the basic statistics and nearest-rank percentiles', () => {
    const values = [1, 2, 3, 4, 100];
    expect(['Sum', 'Average', 'Minimum', 'Maximum', 'SampleCount', 'p50', 'p99'].map((stat) => aggregate(values, stat))).toEqual([
      110, 22, 1, 100, 5, 3, 100,
    ]);
  });

  it('buckets points into epoch-aligned periods', () => {
    const series = bucket(
      [
        { at: 60_000, value: 1 },
        { at: 119_999, value: 2 },
        { at: 120_000, value: 5 },
      ],
      60,
      'Sum',
    );
    expect([...series]).toEqual([
      [60_000, 3],
      [120_000, 5],
    ]);
  });

  it('evaluates arithmetic with precedence, keeps only timestamps both series have, drops divisions by zero', () => {
    const a = new Map([
      [1, 10],
      [2, 20],
      [3, 30],
    ]);
    const b = new Map([
      [1, 2],
      [2, 0],
    ]);
    const series = (id: string) => ({ a, b })[id as 'a' | 'b'];
    expect([...evaluate('a + b * 2', series)]).toEqual([
      [1, 14],
      [2, 20],
    ]);
    expect([...evaluate('(a - 5) / b', series)]).toEqual([[1, 2.5]]);
    expect(() => evaluate('FILL(a, 0)', series)).toThrow(MetricMathError);
    expect(() => evaluate('a + c', series)).toThrow(/"c" is not the id/);
    expect(() => evaluate('1 + 2', series)).toThrow(/at least one query id/);
  });
});

describe('seed times', () => {
  const now = new Date('2026-11-30T12:00:00.000Z');
  it.each([
    ['now', '2026-11-30T12:00:00.000Z'],
    ['now-6m', '2026-11-30T11:54:00.000Z'],
    ['now-3d+12m', '2026-11-27T12:12:00.000Z'],
    ['now-44m+120ms', '2026-11-30T11:16:00.120Z'],
    ['2026-01-02T03:04:05Z', '2026-01-02T03:04:05.000Z'],
  ])('%s', (time, expected) => {
    expect(new Date(resolveSeedTime(time, now)).toISOString()).toBe(expected);
  });
});
