import type { Comparison, MetricShapeKind } from '../evidence';

/**
 * How a metric behaved around the trigger, from its datapoints alone (pure: no AWS here).
 *   step   a sudden rise that stayed          drop    a fall (sudden or gradual) that stayed
 *   climb  a gradual, steady rise             spike   an excursion (either way) that came back
 *   steady within a few percent of its level  noisy   large variation without one of the shapes above
 *   no-data fewer than two datapoints
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
  sparkline: string;
}

const SPARK_BARS = '▁▂▃▄▅▆▇█';
const DEFAULT_RECENT_MINUTES = 15;
const DEFAULT_SPARKLINE_WIDTH = 24;
/** Variation within this fraction of the level is "steady". */
const STEADY_FRACTION = 0.05;
/** A fitted line explaining this share of the variance is a trend. */
const TREND_R2 = 0.8;
/** A single move larger than this share of the range is sudden, not gradual. */
const SUDDEN_FRACTION = 0.4;
/** Deviations beyond this many robust standard deviations of the rest are significant. */
const SIGNIFICANT_SIGMAS = 3;

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/** Median absolute deviation scaled to a normal standard deviation: robust to the very outliers we look for. */
const robustSd = (values: readonly number[]): number => {
  if (values.length === 0) return 0;
  const centre = median(values);
  return 1.4826 * median(values.map((value) => Math.abs(value - centre)));
};

export interface LineFit {
  /** Units per millisecond. */
  slope: number;
  r2: number;
}

/** Ordinary least squares of value on time. */
export function fitLine(points: readonly MetricPoint[]): LineFit {
  const n = points.length;
  if (n < 2) return { slope: 0, r2: 0 };
  // Centred on the first timestamp so epoch milliseconds do not swamp the arithmetic.
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

function classify(values: readonly number[], points: readonly MetricPoint[]): MetricShapeKind {
  const n = values.length;
  const low = Math.min(...values);
  const high = Math.max(...values);
  const range = high - low;
  const level = Math.max(Math.abs(median(values)), Math.abs(high), Math.abs(low));
  if (range <= STEADY_FRACTION * level || range === 0) return 'steady';

  const recentCount = Math.max(1, Math.floor(n / 4));
  const baseline = values.slice(0, n - recentCount);
  const recent = values.slice(n - recentCount);
  const baseLevel = median(baseline);
  const recentLevel = median(recent);
  const latest = values[n - 1];

  // The point furthest from the baseline, and how unusual it is against everything else.
  let peakIndex = 0;
  values.forEach((value, index) => {
    if (Math.abs(value - baseLevel) > Math.abs(values[peakIndex] - baseLevel)) peakIndex = index;
  });
  const peakDeviation = Math.abs(values[peakIndex] - baseLevel);
  const rest = values.filter((_, index) => index !== peakIndex);
  const cameBack = Math.abs(latest - baseLevel) < 0.5 * peakDeviation && peakIndex !== n - 1;
  if (cameBack && peakDeviation > SIGNIFICANT_SIGMAS * robustSd(rest) && peakDeviation >= 0.5 * range) return 'spike';

  let largestMove = 0;
  for (let i = 1; i < n; i += 1) largestMove = Math.max(largestMove, Math.abs(values[i] - values[i - 1]));
  const fit = fitLine(points);
  if (n >= 4 && fit.r2 >= TREND_R2 && largestMove <= SUDDEN_FRACTION * range) return fit.slope > 0 ? 'climb' : 'drop';

  const shift = recentLevel - baseLevel;
  if (Math.abs(shift) >= 0.5 * range && Math.abs(shift) > SIGNIFICANT_SIGMAS * robustSd(baseline)) return shift > 0 ? 'step' : 'drop';
  return 'noisy';
}

/** Shape, crossing, rate, time to exhaustion and sparkline of one series (points in any order; sorted here). */
export function analyseMetric(input: ShapeInput): ShapeAnalysis {
  const points = input.points.filter((point) => Number.isFinite(point.value) && Number.isFinite(point.at)).sort((a, b) => a.at - b.at);
  const values = points.map((point) => point.value);
  const line = sparkline(values, input.sparklineWidth);
  if (points.length < 2) return { shape: 'no-data', sparkline: line, latest: values[0] };

  const shape = classify(values, points);
  const latest = values[values.length - 1];
  const analysis: ShapeAnalysis = {
    shape,
    sparkline: line,
    latest,
    baseline: median(values.slice(0, Math.max(1, values.length - Math.max(1, Math.floor(values.length / 4))))),
  };
  const crossedAt = crossingTime(points, input.threshold);
  if (crossedAt !== undefined) analysis.crossedAt = crossedAt;

  if (shape === 'climb' || shape === 'drop' || shape === 'step') {
    const lastAt = points[points.length - 1].at;
    const windowStart = lastAt - (input.recentMinutes ?? DEFAULT_RECENT_MINUTES) * 60_000;
    const inWindow = points.filter((point) => point.at >= windowStart);
    const recent = inWindow.length >= 3 ? inWindow : points.slice(-3);
    const ratePerMinute = fitLine(recent).slope * 60_000;
    analysis.ratePerMinute = ratePerMinute;
    const toExhaustion = minutesToExhaustion(latest, ratePerMinute, input.capacity);
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
