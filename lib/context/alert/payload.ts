import type { Alert } from '../../pagerduty/types';

/**
 * The parts of a PagerDuty alert a monitor filled: the custom details (`body.details`, else the copy in
 * `body.cef_details.details`, which PagerDuty documents as the less reliable of the two), the client the event named
 * and the alert's own summary. Every value is untrusted data from the monitor.
 */
export interface AlertPayload {
  /** The details as PagerDuty stored them (any JSON, or text). */
  raw: unknown;
  /** The same as a record, opened when they were one JSON string or an SNS envelope. */
  details: Record<string, unknown>;
  client?: string;
  clientUrl?: string;
  summary: string;
  createdAt: string;
}

const MAX_FLATTEN_DEPTH = 6;
const MAX_FLATTENED_FIELDS = 500;

export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

export function asString(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? undefined : value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** A finite number from a number or a numeric string ("97", "97.3", "1e3"); undefined otherwise. */
export function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const parsed = Number(value.trim());
  return Number.isFinite(parsed) ? parsed : undefined;
}

/** A JSON object or array encoded in a string, or undefined (plain text, a number, malformed JSON). */
export function parseJsonContainer(text: string): Record<string, unknown> | unknown[] | undefined {
  const trimmed = text.trim();
  if (!(trimmed.startsWith('{') || trimmed.startsWith('['))) return undefined;
  try {
    const parsed: unknown = JSON.parse(trimmed);
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown> | unknown[]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A monitor's details as a record. A string that is a JSON object becomes that object; other text becomes
 * `{ details: text }`. An SNS envelope (HTTPS POST body, or a Lambda SNS event) is opened to its `Message`, which is
 * what CloudWatch wrote.
 */
function detailsRecord(raw: unknown): Record<string, unknown> {
  if (typeof raw === 'string') {
    const parsed = parseJsonContainer(raw);
    return asRecord(parsed) ?? (raw === '' ? {} : { details: raw });
  }
  return asRecord(raw) ?? {};
}

export function openSnsEnvelope(details: Record<string, unknown>): Record<string, unknown> {
  const records = details['Records'];
  const firstRecord = Array.isArray(records) ? asRecord(records[0]) : undefined;
  const sns = asRecord(firstRecord?.['Sns']) ?? (details['Type'] === 'Notification' ? details : undefined);
  const message = sns?.['Message'];
  if (typeof message !== 'string') return details;
  return asRecord(parseJsonContainer(message)) ?? details;
}

export function alertPayload(alert: Alert): AlertPayload {
  const body = asRecord(alert.body) ?? {};
  const cef = asRecord(body['cef_details']) ?? {};
  const raw = body['details'] ?? cef['details'];
  const payload: AlertPayload = { raw, details: openSnsEnvelope(detailsRecord(raw)), summary: alert.summary, createdAt: alert.created_at };
  const client = asString(cef['client']) ?? asString(body['client']);
  const clientUrl = asString(cef['client_url']) ?? asString(body['client_url']);
  if (client !== undefined) payload.client = client;
  if (clientUrl !== undefined) payload.clientUrl = clientUrl;
  return payload;
}

/** How a leaf value reads in a detail: strings as sent, numbers and booleans as text, null as empty. */
export function leafText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value) ?? typeof value;
}

/**
 * Details flattened to `a.b.c` keys with leaf values (arrays by index). A string `details` (monitoring tools that
 * send plain text) becomes the single key `details`. A string holding a JSON object or array is kept as sent and its
 * content is flattened under its key too, so an SNS `Message` yields `Message.AlarmName`. Depth and size are bounded:
 * a subtree below the depth limit is one leaf (its JSON).
 */
export function flattenDetails(details: unknown): Map<string, unknown> {
  const flat = new Map<string, unknown>();
  if (details === undefined || details === null) return flat;
  if (typeof details !== 'object') {
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
    // `{"a.b": 1, "a": {"b": 2}}` flattens both to `a.b`: the second keeps its value under a numbered key.
    const key = flat.has(prefix) ? `${prefix}#${flat.size}` : prefix;
    flat.set(key, value);
    if (typeof value === 'string' && depth < MAX_FLATTEN_DEPTH) {
      const nested = parseJsonContainer(value);
      if (nested !== undefined) walk(nested, key, depth + 1);
    }
  };
  walk(details, '', 0);
  return flat;
}
