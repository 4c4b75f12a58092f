import { CliError } from '../../../lib/cli/cli-error';
import { parseDuration, parseTimePoint } from '../../../lib/cli/duration';

describe('durations and time points for --since/--until', () => {
  const now = new Date('2026-03-12T12:00:00Z');

  it('parses s, m, h, d and w durations', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('24h')).toBe(86_400_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('2W')).toBe(1_209_600_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('24')).toBeNull();
    expect(parseDuration('h')).toBeNull();
  });

  it('turns a duration into a time that long ago, and accepts ISO dates and now', () => {
    expect(parseTimePoint('24h', '--since', now).toISOString()).toBe('2026-03-11T12:00:00.000Z');
    expect(parseTimePoint('2026-03-01T08:00:00Z', '--since', now).toISOString()).toBe('2026-03-01T08:00:00.000Z');
    expect(parseTimePoint('2026-03-01', '--since', now).toISOString()).toBe('2026-03-01T00:00:00.000Z');
    expect(parseTimePoint('now', '--until', now)).toBe(now);
  });

  it('rejects anything else with what to give instead', () => {
    expect(() => parseTimePoint('yesterday', '--since', now)).toThrow(CliError);
    expect(() => parseTimePoint('yesterday', '--since', now)).toThrow('--since "yesterday" is neither a duration nor a date.');
    const thrown = ((): unknown => {
      try {
        return parseTimePoint('2026-13-45', '--until', now);
      } catch (error) {
        return error;
      }
    })();
    expect(thrown).toBeInstanceOf(CliError);
    expect((thrown as CliError).hint).toContain('24h');
  });
});
