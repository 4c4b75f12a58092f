import type { Comparison } from '../evidence';

/** CloudWatch `ComparisonOperator` values. */
const OPERATORS: Record<string, Comparison> = {
  GreaterThanThreshold: '>',
  GreaterThanOrEqualToThreshold: '>=',
  LessThanThreshold: '<',
  LessThanOrEqualToThreshold: '<=',
  LessThanLowerOrGreaterThanUpperThreshold: 'outside-band',
  GreaterThanUpperThreshold: 'outside-band',
  LessThanLowerThreshold: 'outside-band',
};

export function comparisonOfOperator(operator: string | undefined): Comparison | undefined {
  return operator === undefined ? undefined : OPERATORS[operator];
}

/** A comparison written as a symbol or in words ("was greater than or equal to", "above", ">="). */
export function comparisonOfText(text: string): Comparison | undefined {
  const lower = text.toLowerCase();
  if (/lower thresholds?.*upper thresholds?|outside (of )?the band/.test(lower)) return 'outside-band';
  if (/>=|≥|greater than or equal|at or above|at least/.test(lower)) return '>=';
  if (/<=|≤|less than or equal|at or below|at most/.test(lower)) return '<=';
  if (/>|greater than|above|exceed/.test(lower)) return '>';
  if (/<|less than|below|under/.test(lower)) return '<';
  return undefined;
}

export interface ThresholdReading {
  comparison?: Comparison;
  threshold?: number;
  observed?: number;
  observedAt?: string;
}

/** Reasons are short; a longer text is read only up to here so a pathological payload costs bounded work. */
const MAX_READ_LENGTH = 2000;
const NUMBER = String.raw`-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?`;

/**
 * What a state reason says: CloudWatch's "Threshold Crossed: 1 out of the last 1 datapoints [97.3 (02/10/19 16:59:00)]
 * was greater than the threshold (90.0)", Datadog's "system.mem.used over host:api was > 7516192768.0 on average",
 * or a person's "value 97 above threshold 90".
 */
export function readThresholdText(untrusted: string): ThresholdReading {
  const text = untrusted.slice(0, MAX_READ_LENGTH);
  const reading: ThresholdReading = {};
  const datapoint = new RegExp(String.raw`\[(${NUMBER})\s*\(([^)]*)\)`).exec(text);
  if (datapoint) {
    reading.observed = Number(datapoint[1]);
    if (datapoint[2]) reading.observedAt = datapoint[2].trim();
  }
  const cloudWatch = new RegExp(String.raw`was (not )?([a-z ]{1,40}?) the (?:lower |upper )?thresholds? [(\[](${NUMBER})`, 'i').exec(text);
  if (cloudWatch && !cloudWatch[1]) {
    reading.threshold = Number(cloudWatch[3]);
    reading.comparison = comparisonOfText(cloudWatch[2] ?? '') ?? 'other';
  }
  if (/lower thresholds?.*upper thresholds?/i.test(text)) reading.comparison = 'outside-band';
  if (reading.threshold === undefined) {
    const symbolic = new RegExp(String.raw`(>=|<=|>|<|≥|≤)\s*(${NUMBER})`).exec(text);
    const worded = new RegExp(String.raw`threshold(?: of|:|=)?\s*\(?(${NUMBER})`, 'i').exec(text);
    if (symbolic) {
      reading.comparison = comparisonOfText(symbolic[1] ?? '') ?? 'other';
      reading.threshold = Number(symbolic[2]);
    } else if (worded) {
      reading.threshold = Number(worded[1]);
      const comparison = comparisonOfText(text);
      if (comparison !== undefined) reading.comparison = comparison;
    }
  }
  if (reading.observed === undefined) {
    const value = new RegExp(String.raw`(?:value|measured|current(?:ly)?|observed|is at|was)\s*[:=]?\s*(${NUMBER})`, 'i').exec(text);
    if (value) reading.observed = Number(value[1]);
  }
  return reading;
}
