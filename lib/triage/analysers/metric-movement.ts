import type { MetricBehaviour } from '../../context/evidence';
import { humanDuration, roundedForReading, timeOf } from '../text';

/**
 * What a metric did, as one short plain sentence for the likely cause and the evidence: "stepped from ~0 to 42 at
 * 23:02, 6 min before the trigger", "spiked to 950 s at 22:41, back to 5 s by 22:43". Plain text, no markup: the note
 * renders it as the agent's own words.
 */

const UNIT_SUFFIXES: Record<string, string> = {
  Percent: '%',
  Seconds: ' s',
  Milliseconds: ' ms',
  Microseconds: ' µs',
  Bytes: ' bytes',
  Kilobytes: ' KB',
  Megabytes: ' MB',
  Gigabytes: ' GB',
  'Bytes/Second': ' bytes/s',
  'Count/Second': '/s',
};

/** A value with its unit, rounded for reading ("950 s", "97.5%", "42"). */
export function withUnit(value: number, unit: string | undefined): string {
  if (unit === 'Bytes' && Math.abs(value) >= 1024 ** 2) {
    const [scale, name] = Math.abs(value) >= 1024 ** 3 ? [1024 ** 3, 'GiB'] : [1024 ** 2, 'MiB'];
    return `${roundedForReading(value / scale)} ${name}`;
  }
  const suffix = unit === undefined || unit === 'None' || unit === 'Count' ? '' : (UNIT_SUFFIXES[unit] ?? ` ${unit}`);
  return `${roundedForReading(value)}${suffix}`;
}

/** A level read at a glance: a level within 1 % of the jump from zero is "~0". */
function level(value: number, jump: number, unit: string | undefined): string {
  return Math.abs(value) <= 0.01 * Math.abs(jump) ? '~0' : withUnit(value, unit);
}

/** "23:02": the agent's clock times are UTC, as the note says once. */
export function clock(ms: number): string {
  const date = new Date(ms);
  return `${String(date.getUTCHours()).padStart(2, '0')}:${String(date.getUTCMinutes()).padStart(2, '0')}`;
}

function relative(at: number, trigger: number): string {
  const gap = trigger - at;
  if (Math.abs(gap) < 60_000) return 'at the trigger';
  return `${humanDuration(gap)} ${gap > 0 ? 'before' : 'after'} the trigger`;
}

/** When the metric's move began (a change point, a spike's peak, else the threshold crossing), in ms. */
export function movementStart(metric: MetricBehaviour): number | undefined {
  const at = timeOf(metric.levelChange?.at ?? metric.excursion?.peakAt ?? metric.crossedAt);
  return Number.isFinite(at) ? at : undefined;
}

/** The move in a few words, without the metric's name; undefined for shapes that are no move (steady, noisy). */
export function describeMovement(
  metric: MetricBehaviour,
  trigger: number,
  { relativeToTrigger = true, zoneSuffix = '' } = {},
): string | undefined {
  const { unit } = metric;
  // The likely-cause line keeps its times bare to stay within 160 characters; a note section names the zone.
  const timeAt = (ms: number): string => `${clock(ms)}${zoneSuffix}`;
  const change = metric.levelChange;
  if (change !== undefined && (metric.shape === 'step' || metric.shape === 'drop')) {
    const at = timeOf(change.at);
    const jump = change.after - change.before;
    const verb = jump >= 0 ? 'stepped' : 'dropped';
    const when = relativeToTrigger ? `, ${relative(at, trigger)}` : '';
    return `${verb} from ${level(change.before, jump, unit)} to ${level(change.after, jump, unit)} at ${timeAt(at)}${when}`;
  }
  const excursion = metric.excursion;
  if (excursion !== undefined && metric.shape === 'spike') {
    const up = excursion.peak >= excursion.backTo;
    return `${up ? 'spiked' : 'dipped'} to ${withUnit(excursion.peak, unit)} at ${timeAt(timeOf(excursion.peakAt))}, back to ${withUnit(excursion.backTo, unit)} by ${timeAt(timeOf(excursion.backAt))}`;
  }
  if ((metric.shape === 'climb' || metric.shape === 'drop') && metric.ratePerMinute !== undefined) {
    const verb = metric.shape === 'climb' ? 'climbing' : 'dropping';
    const now = metric.latest === undefined ? '' : `, at ${withUnit(metric.latest, unit)}`;
    const eta =
      metric.minutesToExhaustion === undefined ? '' : `, exhausted in about ${Math.max(0, Math.round(metric.minutesToExhaustion))} min`;
    return `${verb} ${withUnit(Math.abs(metric.ratePerMinute), unit)}/min${now}${eta}`;
  }
  if (metric.shape === 'step' || metric.shape === 'spike') {
    const from = metric.baseline === undefined ? '' : ` from ${withUnit(metric.baseline, unit)}`;
    const to = metric.latest === undefined ? '' : ` to ${withUnit(metric.latest, unit)}`;
    const crossed = timeOf(metric.crossedAt);
    return `${metric.shape === 'step' ? 'stepped' : 'spiked'}${from}${to}${Number.isFinite(crossed) ? ` at ${timeAt(crossed)}` : ''}`;
  }
  return undefined;
}
