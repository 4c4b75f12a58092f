/**
 * Statistics over raw datapoints and the arithmetic part of CloudWatch metric math, for GetMetricData. The emulator
 * evaluates `+ - * /`, parentheses, numbers and query ids; metric-math functions (`FILL`, `METRICS()`, `ANOMALY_DETECTION_BAND`, …)
 * are refused with a message that says so, rather than answered wrongly.
 */

export type TimeSeries = Map<number, number>;

const PERCENTILE = /^p(\d{1,2}(?:\.\d+)?|100)$/;

/** Whether `stat` is one the emulator computes: the five basic statistics and percentiles `pNN`/`pNN.NN`. */
export function isSupportedStat(stat: string): boolean {
  return ['Average', 'Sum', 'Minimum', 'Maximum', 'SampleCount'].includes(stat) || PERCENTILE.test(stat);
}

export function aggregate(values: number[], stat: string): number {
  switch (stat) {
    case 'Sum':
      return values.reduce((sum, value) => sum + value, 0);
    case 'Average':
      return values.reduce((sum, value) => sum + value, 0) / values.length;
    case 'Minimum':
      return Math.min(...values);
    case 'Maximum':
      return Math.max(...values);
    case 'SampleCount':
      return values.length;
    default: {
      // Nearest-rank percentile: the smallest value with at least p% of the samples at or below it.
      const percentile = Number(PERCENTILE.exec(stat)?.[1] ?? 100);
      const sorted = [...values].sort((a, b) => a - b);
      return sorted[Math.max(0, Math.ceil((percentile / 100) * sorted.length) - 1)];
    }
  }
}

/** Buckets `points` (ms, value) into `periodSeconds` periods aligned to the epoch and aggregates each with `stat`. */
export function bucket(points: { at: number; value: number }[], periodSeconds: number, stat: string): TimeSeries {
  const periodMs = periodSeconds * 1000;
  const buckets = new Map<number, number[]>();
  for (const point of points) {
    const start = Math.floor(point.at / periodMs) * periodMs;
    buckets.set(start, [...(buckets.get(start) ?? []), point.value]);
  }
  return new Map([...buckets].map(([start, values]) => [start, aggregate(values, stat)]));
}

export class MetricMathError extends Error {}

type Token = { kind: 'number'; value: number } | { kind: 'id'; name: string } | { kind: 'op'; op: string };
type Operand = number | TimeSeries;

function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s*(?:(\d+(?:\.\d+)?)|([a-z][a-zA-Z0-9_]*)|([-+*/()])|(\S))/gy;
  for (let match = pattern.exec(expression); match !== null && match[0] !== ''; match = pattern.exec(expression)) {
    const [, number, id, op, other] = match;
    if (number !== undefined) tokens.push({ kind: 'number', value: Number(number) });
    else if (id !== undefined) tokens.push({ kind: 'id', name: id });
    else if (op !== undefined) tokens.push({ kind: 'op', op });
    else throw new MetricMathError(`unexpected "${other}"`);
  }
  return tokens;
}

function combine(left: Operand, right: Operand, op: string): Operand {
  const apply = (a: number, b: number): number => (op === '+' ? a + b : op === '-' ? a - b : op === '*' ? a * b : a / b);
  if (typeof left === 'number' && typeof right === 'number') return apply(left, right);
  const result: TimeSeries = new Map();
  if (typeof left === 'number') for (const [at, value] of right as TimeSeries) result.set(at, apply(left, value));
  else if (typeof right === 'number') for (const [at, value] of left) result.set(at, apply(value, right));
  // Two series: only the timestamps both have, as metric math drops points missing on either side.
  else for (const [at, value] of left) if (right.has(at)) result.set(at, apply(value, right.get(at) as number));
  for (const [at, value] of result) if (!Number.isFinite(value)) result.delete(at);
  return result;
}

/** Evaluates an arithmetic metric-math expression over the series of other queries, by id. */
export function evaluate(expression: string, series: (id: string) => TimeSeries | undefined): TimeSeries {
  if (/[A-Z_]{2,}\s*\(/.test(expression)) {
    throw new MetricMathError('metric-math functions are not emulated; only + - * / on query ids and numbers');
  }
  const tokens = tokenize(expression);
  let position = 0;
  const peek = (): Token | undefined => tokens[position];
  const primary = (): Operand => {
    const token = tokens[position++];
    if (token === undefined) throw new MetricMathError('the expression ends too early');
    if (token.kind === 'number') return token.value;
    if (token.kind === 'id') {
      const found = series(token.name);
      if (found === undefined) throw new MetricMathError(`"${token.name}" is not the id of another query in this request`);
      return found;
    }
    if (token.op === '-') return combine(0, primary(), '-');
    if (token.op === '(') {
      const inner = sum();
      const close = tokens[position++];
      if (close?.kind !== 'op' || close.op !== ')') throw new MetricMathError('a "(" is not closed');
      return inner;
    }
    throw new MetricMathError(`unexpected "${token.op}"`);
  };
  const product = (): Operand => {
    let left = primary();
    for (let next = peek(); next?.kind === 'op' && (next.op === '*' || next.op === '/'); next = peek()) {
      position += 1;
      left = combine(left, primary(), next.op);
    }
    return left;
  };
  const sum = (): Operand => {
    let left = product();
    for (let next = peek(); next?.kind === 'op' && (next.op === '+' || next.op === '-'); next = peek()) {
      position += 1;
      left = combine(left, product(), next.op);
    }
    return left;
  };
  const result = sum();
  if (position !== tokens.length) throw new MetricMathError('unexpected text after the expression');
  if (typeof result === 'number') throw new MetricMathError('the expression must refer to at least one query id');
  return result;
}
