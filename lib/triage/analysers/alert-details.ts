import type { Alert } from '../../pagerduty/types';
import type { Evidence, Finding, IncidentContext } from '../types';
import { oneLine, shortValue, truncate } from '../text';
import { describeNotRead, type Analyser } from './analyser';

type AlertDetails = NonNullable<Alert['body']>['details'];

const ANALYSER = 'alert-details';
const MAX_ALERTS_DESCRIBED = 3;
const MAX_FIELDS_PER_ALERT = 8;
const MAX_VALUE_LENGTH = 160;
const MAX_FLATTEN_DEPTH = 6;
const MAX_FLATTENED_FIELDS = 500;

/**
 * Custom-details keys an on-call engineer looks for first, by the last segment of the flattened key, in the order
 * they are shown.
 */
const SALIENT_KEYS = [
  'error',
  'error_message',
  'exception',
  'message',
  'reason',
  'host',
  'hostname',
  'instance',
  'instance_id',
  'node',
  'pod',
  'container',
  'namespace',
  'cluster',
  'service',
  'component',
  'job',
  'region',
  'availability_zone',
  'az',
  'environment',
  'env',
  'metric',
  'metric_name',
  'query',
  'threshold',
  'value',
  'current_value',
  'status_code',
  'url',
  'endpoint',
];

/**
 * Alert `body.details` flattened to `a.b.c` keys with leaf values (arrays by index). A string `details` (monitoring
 * tools that send plain text) becomes the single key `details`. Depth and size are bounded.
 */
export function flattenDetails(details: AlertDetails): Map<string, unknown> {
  const flat = new Map<string, unknown>();
  if (details === undefined || details === null) return flat;
  if (typeof details === 'string') {
    flat.set('details', details);
    return flat;
  }
  const walk = (value: unknown, prefix: string, depth: number): void => {
    if (flat.size >= MAX_FLATTENED_FIELDS) return;
    if (value !== null && typeof value === 'object' && depth < MAX_FLATTEN_DEPTH) {
      const entries = Array.isArray(value) ? value.map((item, index) => [String(index), item] as const) : Object.entries(value);
      for (const [key, child] of entries) walk(child, prefix === '' ? key : `${prefix}.${key}`, depth + 1);
      return;
    }
    flat.set(prefix, value);
  };
  walk(details, '', 0);
  return flat;
}

/** The alert's details to show, most useful first: salient keys, bounded in count and length. */
export function salientFields(alert: Alert): [string, string][] {
  const flat = flattenDetails(alert.body?.details);
  const ranked: { key: string; rank: number }[] = [];
  for (const key of flat.keys()) {
    const last = key.split('.').pop()?.toLowerCase() ?? key;
    const rank = SALIENT_KEYS.indexOf(last);
    if (rank >= 0) ranked.push({ key, rank });
  }
  ranked.sort((a, b) => a.rank - b.rank);
  return ranked.slice(0, MAX_FIELDS_PER_ALERT).map(({ key }) => [truncate(key, 60), shortValue(flat.get(key), MAX_VALUE_LENGTH)]);
}

function countBy(values: string[]): string {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts].map(([value, count]) => (count > 1 ? `${value} ×${count}` : value)).join(', ');
}

function describe(alert: Alert): Evidence {
  const fields = salientFields(alert).map(([key, value]) => `${key}=${value}`);
  const head = `Alert "${truncate(oneLine(alert.summary), 120)}" (${alert.status}${alert.severity ? `, ${alert.severity}` : ''})`;
  const evidence: Evidence = { source: ANALYSER, text: fields.length > 0 ? `${head}: ${fields.join('; ')}` : head };
  if (alert.html_url) evidence.link = alert.html_url;
  return evidence;
}

/**
 * What the alerts say: how many, how severe, still firing or cleared, and the details an engineer reads first. It is
 * context for the other findings, not an explanation, so its weight is 0.
 */
export const alertDetails: Analyser = (context: IncidentContext): Finding | null => {
  const { alerts } = context;
  if (alerts.length === 0) return null;
  const triggered = alerts.filter((alert) => alert.status === 'triggered').length;
  const severities = alerts
    .map((alert) => alert.severity)
    .filter((severity): severity is string => typeof severity === 'string' && severity !== '');
  const plural = alerts.length === 1 ? 'alert' : 'alerts';
  let summary = `${alerts.length} ${plural} (${triggered} triggered, ${alerts.length - triggered} resolved)`;
  if (severities.length > 0) summary += `; severities: ${countBy(severities)}`;
  const evidence = [{ source: ANALYSER, text: summary }, ...alerts.slice(0, MAX_ALERTS_DESCRIBED).map(describe)];
  if (alerts.length > MAX_ALERTS_DESCRIBED)
    evidence.push({ source: ANALYSER, text: `and ${alerts.length - MAX_ALERTS_DESCRIBED} more alerts` });
  if (context.alertsNotRead !== undefined && context.alertsNotRead !== 0)
    evidence.push({
      source: ANALYSER,
      text: `The agent read the first ${alerts.length} alerts only: ${describeNotRead(context.alertsNotRead)}`,
    });
  return { analyser: ANALYSER, summary, weight: 0, evidence, nextSteps: [] };
};
