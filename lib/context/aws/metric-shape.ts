import type { Comparison, MetricShapeKind } from '../evidence';

/**
 * How a metric behaved around the trigger, from its datapoints alone (pure: no AWS here).
 *   step   a sudden rise that stayed          drop    a fall (sudden or gradual) that stayed
 *   climb  a gradual, steady rise             spike   an excursion (either way) that came back
 *   steady within a few percent of its level  noisy   large variation without one of the shapes above
 *   no-data fewer than two datapoints
 * A step is found by change point, wherever it sits in the window (the split that best explains the series as two
 * levels, when the jump stands far beyond the noise and two levels fit better than one level or a line); the noise is
 * measured on successive differences, which a step or a spike barely moves.
 */

export interface MetricPoint {
  /** Epoch milliseconds. */
  at: number;
  value: number;
}

/** Capacity metrics run out: percent-used ones at 100, free-space ones at 0. */
export type CapacityKind = 'percent-used' | 'free';

export interface ShapeInput {
  points: readonly MetricPoint[];
  threshold?: { comparison: Comparison; value: number };
  capacity?: CapacityKind;
  /** The recent window the rate of change is fitted over (default 15 min, at least the last 3 points). */
  recentMinutes?: number;
  /** Sparkline width in characters (default 24). */
  sparklineWidth?: number;
}

export interface ShapeAnalysis {
  shape: MetricShapeKind;
  crossedAt?: number;
  ratePerMinute?: number;
  minutesToExhaustion?: number;
  latest?: number;
  baseline?: number;
  /** A step or drop found at a change point: the first point of the new level and the levels either side. */
  levelChange?: { at: number; before: number; after: number };
  /** A spike that came back: its peak and the first point back near the level. */
  excursion?: { peakAt: number; peak: number; backAt: number; backTo: number };
  sparkline: string;
}

const SPARK_BARS = '▁▂▃▄▅▆▇█';
const DEFAULT_RECENT_MINUTES = 15;
const DEFAULT_SPARKLINE_WIDTH = 24;
/** Variation within this fraction of the level is "steady". */
const STEADY_FRACTION = 0.05;
/** A fitted line explaining this share of the variance is a trend. */
const TREND_R2 = 0.8;
/** After a change point, the new level's trend must explain this share of its variance to count as heading somewhere. */
const SETTLED_TREND_R2 = 0.5;
/** A single move larger than this share of the range is sudden, not gradual. */
const SUDDEN_FRACTION = 0.4;
/** Deviations beyond this many robust standard deviations of the rest are significant. */
/** A spike stands this many noise deviations away from the series' level. */
const SPIKE_SIGMAS = 6;
/** A spike is back once within this many noise deviations of the level. */
const BACK_SIGMAS = 3;
/** An excursion longer than this many points (or a fifth of the series) is not a spike. */
const MAX_SPIKE_POINTS = 5;
/** The new level of a change point spans at least two points, so a step in the last two datapoints is found… */
const MIN_AFTER = 2;
/** …and the level before it at least five, enough to know it was a level. */
const MIN_BEFORE = 5;
/** A level with at least this many points has its noise measured on its own. */
const SEGMENT_NOISE_POINTS = 15;
/** A step's jump is at least this many noise deviations… */
const STEP_SIGMAS = 3;
/** …its levels differ by this many standard errors (a two-sample t statistic)… */
const STEP_T = 4.5;
/** …and two levels leave this many noise variances less unexplained than one level or a straight line. */
const STEP_GAIN_VARIANCES = 9;
/** The noise estimate never goes below this share of the series' magnitude (exact series have no noise). */
const TINY_FRACTION = 1e-9;

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

export interface LineFit {
  /** Units per millisecond. */
  slope: number;
  r2: number;
}

/** Centred sums of squares and products of value on time (centred on the first timestamp, so epoch ms do not swamp them). */
function leastSquares(points: readonly MetricPoint[]): { sxx: number; sxy: number; syy: number } {
  const n = points.length;
  const origin = points[0].at;
  const xs = points.map((point) => point.at - origin);
  const ys = points.map((point) => point.value);
  const meanX = xs.reduce((sum, x) => sum + x, 0) / n;
  const meanY = ys.reduce((sum, y) => sum + y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i += 1) {
    const dx = xs[i] - meanX;
    const dy = ys[i] - meanY;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  return { sxx, sxy, syy };
}

/** Ordinary least squares of value on time. */
export function fitLine(points: readonly MetricPoint[]): LineFit {
  if (points.length < 2) return { slope: 0, r2: 0 };
  const { sxx, sxy, syy } = leastSquares(points);
  if (sxx === 0) return { slope: 0, r2: 0 };
  const slope = sxy / sxx;
  const r2 = syy === 0 ? 0 : (sxy * sxy) / (sxx * syy);
  return { slope, r2 };
}

export function breaches(value: number, threshold: { comparison: Comparison; value: number }): boolean | undefined {
  switch (threshold.comparison) {
    case '>':
      return value > threshold.value;
    case '>=':
      return value >= threshold.value;
    case '<':
      return value < threshold.value;
    case '<=':
      return value <= threshold.value;
    default:
      return undefined;
  }
}

/** The start of the latest run of breaching points, when the series entered it inside the window. */
export function crossingTime(points: readonly MetricPoint[], threshold: ShapeInput['threshold']): number | undefined {
  if (threshold === undefined) return undefined;
  for (let i = points.length - 1; i >= 1; i -= 1) {
    const now = breaches(points[i].value, threshold);
    const before = breaches(points[i - 1].value, threshold);
    if (now === undefined) return undefined;
    if (now && !before) return points[i].at;
  }
  return undefined;
}

/** A text sparkline: the series averaged into at most `width` buckets, scaled from its minimum to its maximum. */
export function sparkline(values: readonly number[], width = DEFAULT_SPARKLINE_WIDTH): string {
  if (values.length === 0 || width < 1) return '';
  const buckets: number[] = [];
  const count = Math.min(width, values.length);
  for (let bucket = 0; bucket < count; bucket += 1) {
    const from = Math.floor((bucket * values.length) / count);
    const to = Math.floor(((bucket + 1) * values.length) / count);
    const slice = values.slice(from, to);
    buckets.push(slice.reduce((sum, value) => sum + value, 0) / slice.length);
  }
  const low = Math.min(...buckets);
  const range = Math.max(...buckets) - low;
  const top = SPARK_BARS.length - 1;
  return buckets.map((value) => SPARK_BARS[range === 0 ? 0 : Math.round(((value - low) / range) * top)]).join('');
}

/** Robust standard deviation of the noise, from successive differences (a level change moves only one of them). */
export function noiseSd(values: readonly number[]): number {
  const scale = Math.max(1, ...values.map(Math.abs));
  const floor = TINY_FRACTION * scale;
  if (values.length < 3) return floor;
  const diffs = values.slice(1).map((value, index) => value - values[index]);
  const centre = median(diffs);
  const deviations = diffs.map((diff) => Math.abs(diff - centre)).sort((a, b) => a - b);
  const fromMedian = (1.4826 * median(deviations)) / Math.SQRT2;
  // A series of whole numbers is a count, and counts scatter like Poisson counts at least: by the square root of their
  // level, and never less than 1 (0, 0, 3, 0 is three errors, not a spike of infinitely many deviations; a count that
  // is mostly 0 leaves the median deviation at 0).
  const counts = values.every(Number.isInteger) ? Math.sqrt(Math.max(1, Math.abs(median(values)))) : 0;
  return Math.max(fromMedian, counts, floor);
}

export interface LevelSplit {
  /** Index of the first point of the second level. */
  index: number;
  /** Residual sum of squares around the two segment means. */
  sse: number;
  before: number;
  after: number;
}

/** The split that best explains the series as two levels (least squares), with at least so many points either side. */
export function bestLevelSplit(values: readonly number[], minBefore = MIN_BEFORE, minAfter = MIN_AFTER): LevelSplit | undefined {
  const n = values.length;
  if (n < minBefore + minAfter) return undefined;
  const sums = [0];
  const squares = [0];
  values.forEach((value, index) => {
    sums.push(sums[index] + value);
    squares.push(squares[index] + value * value);
  });
  const sseOf = (from: number, to: number): number => {
    const count = to - from;
    const sum = sums[to] - sums[from];
    return Math.max(0, squares[to] - squares[from] - (sum * sum) / count);
  };
  let best: { index: number; sse: number } | undefined;
  for (let index = minBefore; index <= n - minAfter; index += 1) {
    const sse = sseOf(0, index) + sseOf(index, n);
    if (best === undefined || sse < best.sse) best = { index, sse };
  }
  if (best === undefined) return undefined;
  return { ...best, before: median(values.slice(0, best.index)), after: median(values.slice(best.index)) };
}

function linearSse(points: readonly MetricPoint[]): number {
  const { sxx, sxy, syy } = leastSquares(points);
  return sxx === 0 ? syy : Math.max(0, syy - (sxy * sxy) / sxx);
}

interface Excursion {
  peakIndex: number;
  /** First index back near the level after the excursion. */
  backIndex: number;
}

/**
 * A short excursion that came back: the point furthest from the series' median, far beyond its noise, inside a run
 * of points away from the level that is short and ended before the last point.
 */
function findExcursion(values: readonly number[], sigma: number): Excursion | undefined {
  const n = values.length;
  const level = median(values);
  let peakIndex = 0;
  values.forEach((value, index) => {
    if (Math.abs(value - level) > Math.abs(values[peakIndex] - level)) peakIndex = index;
  });
  const deviation = Math.abs(values[peakIndex] - level);
  if (deviation < SPIKE_SIGMAS * sigma) return undefined;
  const away = (index: number): boolean => Math.abs(values[index] - level) >= 0.5 * deviation;
  let first = peakIndex;
  while (first > 0 && away(first - 1)) first -= 1;
  let last = peakIndex;
  while (last < n - 1 && away(last + 1)) last += 1;
  const length = last - first + 1;
  // A spike is short beside the level before it: a few points away at the start are a step seen from its far side.
  // …and it came back for at least as long as it was away (two points at least), or it may be a new level.
  if (first < length || n - 1 - last < Math.max(2, length)) return undefined;
  if (length > Math.max(MAX_SPIKE_POINTS, Math.floor(n / 5))) return undefined;
  // It came back when every point after it stays near the level, not a second excursion or a new level.
  const after = values.slice(last + 1);
  if (after.some((value) => Math.abs(value - level) >= 0.5 * deviation)) return undefined;
  // …and the series sits near the level on both sides: a rise that stayed at a lower height (a step with a peak on
  // it) did not come back, and a level that only held before it is a step.
  const near = Math.max(0.1 * deviation, BACK_SIGMAS * sigma);
  const settled = (part: readonly number[]): boolean => Math.abs(median(part) - level) <= Math.max(near, 0.25 * deviation);
  if (!settled(after) || !settled(values.slice(0, first))) return undefined;
  // "Back" is the first point after the peak within the noise (or a tenth of the excursion) of the level.
  let backIndex = last + 1;
  while (backIndex < n - 1 && Math.abs(values[backIndex] - level) > near) backIndex += 1;
  return { peakIndex, backIndex };
}

interface Classification {
  shape: MetricShapeKind;
  split?: LevelSplit;
  excursion?: Excursion;
}

function classify(values: readonly number[], points: readonly MetricPoint[]): Classification {
  const n = values.length;
  const low = Math.min(...values);
  const high = Math.max(...values);
  const range = high - low;
  const level = Math.max(Math.abs(median(values)), Math.abs(high), Math.abs(low));
  if (range <= STEADY_FRACTION * level || range === 0) return { shape: 'steady' };

  const sigma = noiseSd(values);
  const excursion = findExcursion(values, sigma);
  if (excursion !== undefined) return { shape: 'spike', excursion };

  // A change point: two levels explain the series far better than one level or a line, by a jump well beyond the noise.
  const split = bestLevelSplit(values);
  if (split !== undefined) {
    const jump = split.after - split.before;
    // Each level's own noise where it has enough points (error counts grow noisier as they grow), else the series';
    // the jump is measured against the noise of the level it left.
    const noiseOf = (part: readonly number[]): number => (part.length >= SEGMENT_NOISE_POINTS ? noiseSd(part) : sigma);
    const [n1, n2] = [split.index, n - split.index];
    const [before, after] = [noiseOf(values.slice(0, n1)), noiseOf(values.slice(n1))];
    const pooled = Math.sqrt((n1 * before * before + n2 * after * after) / n);
    const spread = Math.sqrt((before * before) / n1 + (after * after) / n2);
    const oneLevelSse = linearSse(points.map((point) => ({ ...point, at: 0 })));
    const betterThanLine = linearSse(points) - split.sse;
    const betterThanLevel = oneLevelSse - split.sse;
    const variance = pooled * pooled;
    if (
      Math.abs(jump) >= STEP_SIGMAS * before &&
      Math.abs(jump) / spread >= STEP_T &&
      betterThanLine >= STEP_GAIN_VARIANCES * variance &&
      betterThanLevel >= STEP_GAIN_VARIANCES * variance
    ) {
      return { shape: jump > 0 ? 'step' : 'drop', split };
    }
  }

  let largestMove = 0;
  for (let i = 1; i < n; i += 1) largestMove = Math.max(largestMove, Math.abs(values[i] - values[i - 1]));
  const fit = fitLine(points);
  if (n >= 4 && fit.r2 >= TREND_R2 && largestMove <= SUDDEN_FRACTION * range) return { shape: fit.slope > 0 ? 'climb' : 'drop' };
  return { shape: 'noisy' };
}

/** Shape, crossing, rate, time to exhaustion and sparkline of one series (points in any order; sorted here). */
export function analyseMetric(input: ShapeInput): ShapeAnalysis {
  const points = input.points.filter((point) => Number.isFinite(point.value) && Number.isFinite(point.at)).sort((a, b) => a.at - b.at);
  const values = points.map((point) => point.value);
  const line = sparkline(values, input.sparklineWidth);
  if (points.length < 2) return { shape: 'no-data', sparkline: line, latest: values[0] };

  const { shape, split, excursion } = classify(values, points);
  const latest = values[values.length - 1];
  const analysis: ShapeAnalysis = {
    shape,
    sparkline: line,
    latest,
    baseline:
      split?.before ??
      (excursion === undefined
        ? median(values.slice(0, Math.max(1, values.length - Math.max(1, Math.floor(values.length / 4)))))
        : median(values)),
  };
  if (split !== undefined) analysis.levelChange = { at: points[split.index].at, before: split.before, after: split.after };
  if (excursion !== undefined) {
    const peak = points[excursion.peakIndex];
    const back = points[excursion.backIndex];
    analysis.excursion = { peakAt: peak.at, peak: peak.value, backAt: back.at, backTo: back.value };
  }
  const crossedAt = crossingTime(points, input.threshold);
  if (crossedAt !== undefined) analysis.crossedAt = crossedAt;

  if (shape === 'climb' || shape === 'drop' || shape === 'step') {
    // After a change point the rate is measured on the new level only: the jump itself is no trend.
    const settled = split === undefined ? points : points.slice(split.index);
    const lastAt = points[points.length - 1].at;
    const windowStart = lastAt - (input.recentMinutes ?? DEFAULT_RECENT_MINUTES) * 60_000;
    const inWindow = settled.filter((point) => point.at >= windowStart);
    const recent = inWindow.length >= 3 ? inWindow : settled.length >= 2 ? settled.slice(-3) : points.slice(-3);
    const fit = fitLine(recent);
    const ratePerMinute = fit.slope * 60_000;
    analysis.ratePerMinute = ratePerMinute;
    // On a new level, only a trend that stands out of the noise is heading anywhere.
    const trending = split === undefined || fit.r2 >= SETTLED_TREND_R2;
    const toExhaustion = trending ? minutesToExhaustion(latest, ratePerMinute, input.capacity) : undefined;
    if (toExhaustion !== undefined) analysis.minutesToExhaustion = toExhaustion;
  }
  return analysis;
}

/** Minutes until a capacity metric runs out at `ratePerMinute`; undefined when it is not heading there. */
export function minutesToExhaustion(latest: number, ratePerMinute: number, capacity: CapacityKind | undefined): number | undefined {
  if (capacity === 'percent-used' && ratePerMinute > 0) return Math.max(0, (100 - latest) / ratePerMinute);
  if (capacity === 'free' && ratePerMinute < 0) return Math.max(0, latest / -ratePerMinute);
  return undefined;
}

/** Which capacity metrics run out, by unit and name (CPUUtilization, disk_used_percent → 100; FreeStorageSpace → 0). */
export function capacityKindOf(metricName: string, unit?: string): CapacityKind | undefined {
  if (/free|available|remaining|balance/i.test(metricName)) return 'free';
  if (unit === 'Percent' || /utili[sz]ation|percent|pct/i.test(metricName)) return 'percent-used';
  return undefined;
}
