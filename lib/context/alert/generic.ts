import { asNumber, asRecord, asString, type AlertPayload } from './payload';
import { applyThresholdReading, type MonitorNormaliser, type MonitorReading } from './reading';
import { parseArn, regionCode } from './regions';
import { comparisonOfText, readThresholdText } from './thresholds';

/**
 * Any other custom details (a script, a Lambda, a monitor the agent has no reader for): the usual key names for the
 * metric, threshold, observed value, resource, region and account, and what the free text says.
 */

const METRIC_KEYS = ['metric', 'metric_name', 'metricname', 'alert_metric', 'check', 'check_name'];
const THRESHOLD_KEYS = ['threshold', 'limit', 'critical', 'threshold_value', 'max', 'critical_threshold'];
const OBSERVED_KEYS = [
  'value',
  'current_value',
  'observed',
  'observed_value',
  'current',
  'used_percent',
  'usage',
  'percent',
  'used_pct',
  'utilization',
];
const COMPARISON_KEYS = ['comparison', 'operator', 'comparison_operator', 'condition'];
const NAME_KEYS = ['alarm_name', 'alert_name', 'alertname', 'name', 'check', 'title', 'monitor'];
const RESOURCE_KEYS =
  /^(host|hostname|instance|instance_id|pod|container|node|mountpoint|mount|device|path|volume|function|function_name|table|queue|cluster|service|db|database|resource|bucket|endpoint|namespace|job|target)$/i;
const TEXT_KEYS = ['summary', 'description', 'message', 'reason', 'details', 'text', 'error', 'state_reason'];
const PERCENT = /(-?\d+(?:\.\d+)?)\s*%/;
/** Texts are scanned for a percentage this far only: the pattern's work grows with the square of a digit run's length. */
const MAX_SCANNED_LENGTH = 2000;

function lowerKeys(details: Record<string, unknown>): Map<string, unknown> {
  return new Map(Object.entries(details).map(([key, value]) => [key.toLowerCase(), value]));
}

function first<T>(keys: string[], lookup: (key: string) => T | undefined): T | undefined {
  for (const key of keys) {
    const found = lookup(key);
    if (found !== undefined) return found;
  }
  return undefined;
}

function read({ details, summary }: AlertPayload): MonitorReading {
  const reading: MonitorReading = {};
  const fields = lowerKeys(details);
  const text = (key: string): string | undefined => asString(fields.get(key));
  const numberIn = (key: string): number | undefined => {
    const raw = text(key);
    return raw === undefined ? undefined : (asNumber(raw) ?? asNumber(PERCENT.exec(raw.slice(0, MAX_SCANNED_LENGTH))?.[1]));
  };
  const name = first(NAME_KEYS, text);
  if (name !== undefined) reading.name = name;
  const state = text('state') ?? text('status');
  if (state !== undefined) reading.state = state;
  const metric = first(METRIC_KEYS, text);
  if (metric !== undefined) reading.metric = { name: metric };
  const threshold = first(THRESHOLD_KEYS, numberIn);
  if (threshold !== undefined) {
    const comparisonText = first(COMPARISON_KEYS, text) ?? first(THRESHOLD_KEYS, text) ?? '';
    reading.threshold = { comparison: comparisonOfText(comparisonText) ?? '>', value: threshold };
  }
  const observed = first(OBSERVED_KEYS, numberIn);
  if (observed !== undefined) reading.observed = { value: observed };
  const texts = [...TEXT_KEYS.map(text), summary].filter((entry): entry is string => entry !== undefined);
  for (const entry of texts) applyThresholdReading(reading, readThresholdText(entry));
  if (reading.observed === undefined) {
    // The alert's summary often names the limit ("above 5%"); only the monitor's own text says what was measured.
    const measured = TEXT_KEYS.map(text).filter((entry): entry is string => entry !== undefined);
    const percent = measured.map((entry) => PERCENT.exec(entry.slice(0, MAX_SCANNED_LENGTH))?.[1]).find((match) => match !== undefined);
    if (percent !== undefined) reading.observed = { value: Number(percent) };
  }

  const dimensions: Record<string, string> = {};
  for (const [key, value] of Object.entries(details)) {
    const valueText = asString(value);
    if (valueText !== undefined && RESOURCE_KEYS.test(key)) dimensions[key] = valueText;
  }
  for (const [key, value] of Object.entries(asRecord(details['labels']) ?? asRecord(details['dimensions']) ?? {})) {
    const valueText = asString(value);
    if (valueText !== undefined) dimensions[key] = valueText;
  }
  const arnText = Object.values(details)
    .map(asString)
    .find((value) => value?.startsWith('arn:'));
  const arn = parseArn(arnText);
  if (Object.keys(dimensions).length > 0 || arnText !== undefined)
    reading.resource = arnText === undefined ? { dimensions } : { arn: arnText, dimensions };
  const region = arn?.region ?? regionCode(text('region') ?? text('aws_region'));
  if (region !== undefined) reading.region = region;
  const accountId = arn?.accountId ?? text('account_id') ?? text('aws_account_id') ?? text('account');
  if (accountId !== undefined && /^\d{12}$/.test(accountId)) reading.accountId = accountId;
  const url = text('url') ?? text('link') ?? text('dashboard');
  if (url !== undefined && /^https?:\/\//i.test(url)) reading.sourceUrl = url;
  return reading;
}

export const generic: MonitorNormaliser = { monitor: 'generic', recognises: () => true, read };
