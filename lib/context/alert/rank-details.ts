import type { RankedDetail } from '../evidence';
import { flattenDetails, leafText } from './payload';

/**
 * Every detail an alert carried, scored by how much it tells the on-call: a value near a limit, a state reason, an
 * error, a threshold or the resource it happened on ranks above what only identifies the notification (timestamps,
 * ids, signatures, links to certificates), empty values and long blobs. Scores are 0..1; the order of equal scores is
 * the payload's.
 */

/** A value longer than this is a blob (a JSON document, a stack trace): kept, but ranked low unless it names an error. */
const BLOB_LENGTH = 400;
/** Details keep values up to this length, so one giant value cannot crowd a note or the audit. */
export const MAX_DETAIL_VALUE_LENGTH = 2000;

const SIGNING_KEY = /(signature|signing|cert(ificate)?url|unsubscribe|token|secret|password|api_?key|routing_?key|snapshot|image|^src$)/i;
const TIME_KEY = /(time(stamp)?|date|_at|updated|created|modified|since|until|starts_?at|ends_?at)$|[a-z]At$/i;
const ID_KEY =
  /(^|[._ -])(id|uuid|guid|fingerprint|dedup_?key|incident_key|event_id|message_?id|aggreg_key|alert_cycle_key|version|org(_id)?)$|Id$|MessageId$/i;
const RESOURCE_KEY =
  /(host|instance|pod|container|node|mount|device|path|volume|disk|fs|filesystem|function|table|queue|topic|cluster|service|db|database|arn|resource|dimension|bucket|endpoint|job|target|namespace|entity|entities|component)/i;
const REASON_KEY = /(reason|error|exception|message|status|description|summary|details|firing|body|text|cause|condition)/i;
const LEVEL_KEY =
  /(percent|pct|used|usage|utili[sz]ation|util|ratio|load|latency|value|current|observed|count|rate|free|available|remaining|size|bytes|lag|depth|age)/i;
const LIMIT_KEY = /(threshold|critical|warning|limit|max|min|trigger|operator|comparison)/i;
const NAME_KEY = /(alarm_?name|alertname|alert_?name|monitor_?name|title|^name$|\.name$|metric)/i;

const ISO_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/;
const EPOCH = /^\d{10}(\d{3})?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX_ID = /^(?=[0-9a-f]*\d)[0-9a-f]{16,}$/i;
const ERROR_WORDS =
  /\b(error|errors|exception|fail(ed|ure|ing)?|timed? ?out|timeout|refused|denied|oom|out of memory|unreachable|unavailable|crash\w*|panic|throttl\w+|5\d\d)\b/i;
const LIMIT_WORDS = /\b(threshold|greater than|less than|exceed\w*|above|below|full|crossed|breach\w*|saturat\w+|exhaust\w*|over)\b/i;
const PERCENT = /(-?\d+(?:\.\d+)?)\s*%/;
const PATH = /^\/[\w.-]+/;
const ARN = /^arn:[a-z-]+:/;

function percentIn(key: string, value: string): number | undefined {
  const written = PERCENT.exec(value);
  if (written) return Number(written[1]);
  if (/(percent|pct|utili[sz]ation|usage|used)/i.test(key)) {
    const number = Number(value.trim());
    if (value.trim() !== '' && Number.isFinite(number) && number >= 0 && number <= 100) return number;
  }
  return undefined;
}

/** How telling one detail is, 0..1 (rounded to hundredths). */
export function scoreDetail(key: string, value: string): number {
  const last = key.split('.').pop() ?? key;
  const trimmed = value.trim();
  if (trimmed === '' || trimmed === '[]' || trimmed === '{}' || /^(null|undefined|none|n\/a|-)$/i.test(trimmed)) return 0;
  if (SIGNING_KEY.test(last)) return 0.05;
  if (/^(true|false)$/i.test(trimmed)) return 0.1;
  if (ISO_TIME.test(trimmed) || (EPOCH.test(trimmed) && !LEVEL_KEY.test(last)) || (TIME_KEY.test(last) && !LEVEL_KEY.test(last)))
    return 0.1;
  const identifiesResource = RESOURCE_KEY.test(last) || ARN.test(trimmed);
  if ((UUID.test(trimmed) || HEX_ID.test(trimmed) || ID_KEY.test(last)) && !identifiesResource) return 0.15;
  if (trimmed.length > BLOB_LENGTH) return REASON_KEY.test(last) || ERROR_WORDS.test(trimmed) ? 0.4 : 0.2;
  // One character that is not a number ("x", "-") says nothing.
  if (trimmed.length < 2 && !/\d/.test(trimmed)) return 0.2;

  let score = 0.4;
  if (REASON_KEY.test(last)) score += 0.25;
  if (ERROR_WORDS.test(trimmed)) score += 0.2;
  if (LIMIT_WORDS.test(trimmed)) score += 0.15;
  const percent = percentIn(last, trimmed);
  if (percent !== undefined) score += percent >= 95 ? 0.45 : percent >= 80 ? 0.35 : 0.1;
  else if (LEVEL_KEY.test(last) && /\d/.test(trimmed)) score += 0.15;
  if (LIMIT_KEY.test(last)) score += 0.15;
  if (identifiesResource) score += 0.15;
  if (PATH.test(trimmed)) score += 0.05;
  if (NAME_KEY.test(last)) score += 0.1;
  return Math.round(Math.min(1, score) * 100) / 100;
}

/** Every detail of a payload (any JSON, or text), most telling first. */
export function rankDetails(details: unknown): RankedDetail[] {
  return [...flattenDetails(details)]
    .map(([key, raw], order) => {
      const value = leafText(raw).slice(0, MAX_DETAIL_VALUE_LENGTH);
      return { detail: { key, value, score: scoreDetail(key, value) }, order };
    })
    .sort((a, b) => b.detail.score - a.detail.score || a.order - b.order)
    .map(({ detail }) => detail);
}
