import type { MonitorKind } from '../evidence';
import { asRecord, asString, parseJsonContainer, type AlertPayload } from './payload';
import { applyThresholdReading, type MonitorNormaliser, type MonitorReading } from './reading';
import { parseArn, regionCode } from './regions';
import { readThresholdText } from './thresholds';

/**
 * Prometheus Alertmanager and Grafana alerting send Events API v2 events whose custom details carry the firing
 * alerts. Alertmanager up to v0.29 (and Grafana) write them as text:
 *   Labels:\n - alertname = DiskFull\n - instance = db-1\nAnnotations:\n - summary = …\nSource: http://…
 * with Grafana adding `Value: A=97.3` (or `[ var='A' … value=97.3 ]`), `Silence:`, `Dashboard:` and `Panel:` lines.
 * Alertmanager from v0.30 writes `firing` as a JSON array of {labels, annotations, startsAt, generatorURL}.
 */

interface FiringAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value?: string;
  source?: string;
  startsAt?: string;
}

const SECTION = /^(Labels|Annotations):\s*$/;
const PAIR = /^\s*-\s*([^=]+?)\s*=\s*(.*)$/;
const LINE = /^(Value|Source|Silence|Dashboard|Panel):\s*(.*)$/;
/** The first alert is all that is read: text and lines are bounded so a huge `firing` list costs bounded work. */
const MAX_LINES = 400;
const MAX_TEXT_LENGTH = 20_000;
const MAX_LINE_LENGTH = 1_000;

/** The first alert of a text `firing` list (the one PagerDuty's summary names). */
function parseFiringText(text: string): FiringAlert | undefined {
  const alert: FiringAlert = { labels: {}, annotations: {} };
  let section: 'Labels' | 'Annotations' | undefined;
  let seen = false;
  for (const line of text
    .slice(0, MAX_TEXT_LENGTH)
    .split('\n')
    .slice(0, MAX_LINES)
    .map((entry) => entry.slice(0, MAX_LINE_LENGTH))) {
    const header = SECTION.exec(line);
    if (header) {
      if (header[1] === 'Labels' && seen && Object.keys(alert.labels).length > 0) break;
      section = header[1] as 'Labels' | 'Annotations';
      seen = true;
      continue;
    }
    const pair = PAIR.exec(line);
    if (pair && section !== undefined) {
      const target = section === 'Labels' ? alert.labels : alert.annotations;
      target[pair[1] ?? ''] = pair[2] ?? '';
      continue;
    }
    const field = LINE.exec(line.trim());
    if (field) {
      seen = true;
      section = undefined;
      if (field[1] === 'Value' && alert.value === undefined) alert.value = field[2];
      if (field[1] === 'Source' && alert.source === undefined && field[2]) alert.source = field[2];
    }
  }
  return seen ? alert : undefined;
}

function stringRecord(value: unknown): Record<string, string> {
  const record: Record<string, string> = {};
  for (const [key, entry] of Object.entries(asRecord(value) ?? {})) {
    const text = asString(entry);
    if (text !== undefined) record[key] = text;
  }
  return record;
}

function parseFiringJson(list: unknown[]): FiringAlert | undefined {
  const first = asRecord(list[0]);
  if (first === undefined) return undefined;
  const alert: FiringAlert = { labels: stringRecord(first['labels']), annotations: stringRecord(first['annotations']) };
  const source = asString(first['generatorURL']);
  const startsAt = asString(first['startsAt']);
  const value = asString(first['valueString']);
  if (source !== undefined) alert.source = source;
  if (startsAt !== undefined) alert.startsAt = startsAt;
  if (value !== undefined) alert.value = value;
  return alert;
}

function firingAlert(details: Record<string, unknown>): FiringAlert | undefined {
  const firing = details['firing'];
  if (Array.isArray(firing)) return parseFiringJson(firing);
  if (typeof firing !== 'string') return undefined;
  const json = parseJsonContainer(firing);
  if (Array.isArray(json)) return parseFiringJson(json);
  return parseFiringText(firing);
}

/** The observed value from Grafana's `Value:` line: `A=97.3, B=1` or `[ var='A' labels={…} value=97.3 ]`. */
function grafanaValue(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /value=(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)/i.exec(value) ?? /^\s*\w+=(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)/.exec(value);
  return match ? Number(match[1]) : undefined;
}

function isGrafana({ details, client }: AlertPayload): boolean {
  if (client !== undefined && /grafana/i.test(client)) return true;
  const firing = typeof details['firing'] === 'string' ? details['firing'] : '';
  return /^(Value|Silence|Dashboard|Panel):/m.test(firing) || /grafana_folder|__alert_rule_uid__/.test(firing);
}

function isAlertmanager(payload: AlertPayload): boolean {
  const { details, client } = payload;
  if (client !== undefined && /alert ?manager|prometheus/i.test(client)) return true;
  return ('firing' in details || 'num_firing' in details) && firingAlert(details) !== undefined;
}

function read(payload: AlertPayload): MonitorReading {
  const reading: MonitorReading = {};
  const { details, clientUrl } = payload;
  const alert = firingAlert(details) ?? { labels: {}, annotations: {} };
  const { labels, annotations } = alert;
  const name = labels['alertname'];
  if (name !== undefined) reading.name = name;
  const firingCount = Number(asString(details['num_firing']) ?? (Object.keys(labels).length > 0 ? 1 : 0));
  reading.state = firingCount > 0 ? 'firing' : 'resolved';
  const metricName = labels['__name__'] ?? labels['metric'] ?? labels['metric_name'];
  if (metricName !== undefined) reading.metric = { name: metricName };
  const dimensions = Object.fromEntries(Object.entries(labels).filter(([key]) => key !== 'alertname'));
  if (Object.keys(dimensions).length > 0) reading.resource = { dimensions };
  const observed = grafanaValue(alert.value);
  if (observed !== undefined) reading.observed = { value: observed };
  for (const text of [annotations['summary'], annotations['description'], annotations['message']]) {
    if (text !== undefined) applyThresholdReading(reading, readThresholdText(text));
  }
  const arnLabel = Object.values(labels).find((value) => value.startsWith('arn:'));
  const arn = parseArn(arnLabel);
  if (arn?.accountId !== undefined) reading.accountId = arn.accountId;
  const region = arn?.region ?? regionCode(labels['region'] ?? labels['aws_region']);
  if (region !== undefined) reading.region = region;
  if (arn !== undefined && arnLabel !== undefined && reading.resource !== undefined) reading.resource.arn = arnLabel;
  if (alert.startsAt !== undefined) reading.triggeredAt = alert.startsAt;
  const link = alert.source ?? clientUrl;
  if (link !== undefined) reading.sourceUrl = link;
  return reading;
}

function normaliser(monitor: MonitorKind, recognises: (payload: AlertPayload) => boolean): MonitorNormaliser {
  return { monitor, recognises, read };
}

export const grafana = normaliser('grafana', isGrafana);
export const alertmanager = normaliser('prometheus', isAlertmanager);
