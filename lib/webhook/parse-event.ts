import type { AgentRef, IncidentSummary, WebhookEvent } from './webhook-event';

/** Why a (signed) body is not a PagerDuty V3 event pd-agent can route. */
export type ParseFailureReason =
  'not-json' | 'not-an-envelope' | 'missing-event-id' | 'missing-event-type' | 'incident-without-id' | 'unusable-id';

export type ParseResult = { ok: true; event: WebhookEvent } | { ok: false; reason: ParseFailureReason; detail: string };

type JsonObject = Record<string, unknown>;

/**
 * Event and incident ids become the SQS deduplication and group ids (at most 128 printable ASCII characters) and
 * DynamoDB keys; PagerDuty's are short ULIDs or base-36 ids, so anything else cannot be routed.
 */
const ROUTABLE_ID = /^[\x21-\x7e]{1,120}$/;

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);

const objectAt = (parent: JsonObject, key: string): JsonObject | null => {
  const value = parent[key];
  return isObject(value) ? value : null;
};

const idOf = (value: unknown): string | null => (isObject(value) ? text(value.id) : null);

const idsOf = (value: unknown): string[] => (Array.isArray(value) ? value.map(idOf).filter((id): id is string => id !== null) : []);

function oneOf<T extends string>(value: unknown, allowed: readonly T[]): T | null {
  return typeof value === 'string' && (allowed as readonly string[]).includes(value) ? (value as T) : null;
}

function agentOf(value: unknown): AgentRef | null {
  if (!isObject(value)) return null;
  const id = text(value.id);
  const type = text(value.type);
  return id !== null && type !== null ? { id, type } : null;
}

function incidentSummary(data: JsonObject, id: string): IncidentSummary {
  const service = objectAt(data, 'service');
  const priority = objectAt(data, 'priority');
  return {
    id,
    number: typeof data.number === 'number' && Number.isFinite(data.number) ? data.number : null,
    title: text(data.title),
    status: oneOf(data.status, ['triggered', 'acknowledged', 'resolved'] as const),
    urgency: oneOf(data.urgency, ['high', 'low'] as const),
    // A priority reference names the priority in `summary`; the REST API's full priority object uses `name`.
    priorityName: priority === null ? null : (text(priority.summary) ?? text(priority.name)),
    serviceId: service === null ? null : text(service.id),
    serviceName: service === null ? null : (text(service.summary) ?? text(service.name)),
    escalationPolicyId: idOf(data.escalation_policy),
    teamIds: idsOf(data.teams),
    assigneeIds: idsOf(data.assignees),
    incidentKey: text(data.incident_key),
    htmlUrl: text(data.html_url),
  };
}

/**
 * Reads a V3 webhook body leniently: only `event.id` and `event.event_type` are required, every other field PagerDuty
 * has been seen to omit or null (incident_key, created_at, priority, agent, client, teams, …) is optional. The incident
 * is `data` itself when `data.type == "incident"`, otherwise the reference in `data.incident`. Takes the raw bytes, or
 * their UTF-8 text when the caller already has it. Never throws.
 */
export function parseWebhookEvent(raw: Buffer | string): ParseResult {
  let json: unknown;
  try {
    json = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch (error) {
    return { ok: false, reason: 'not-json', detail: `the body is not JSON (${(error as Error).message})` };
  }
  const envelope = isObject(json) ? objectAt(json, 'event') : null;
  if (envelope === null) {
    return { ok: false, reason: 'not-an-envelope', detail: 'the body has no `event` object (not a V3 webhook)' };
  }
  const eventId = text(envelope.id);
  if (eventId === null) return { ok: false, reason: 'missing-event-id', detail: '`event.id` is missing or not a string' };
  if (!ROUTABLE_ID.test(eventId)) {
    return { ok: false, reason: 'unusable-id', detail: '`event.id` is not 1-120 printable ASCII characters' };
  }
  const eventType = text(envelope.event_type);
  if (eventType === null) {
    return { ok: false, reason: 'missing-event-type', detail: '`event.event_type` is missing or not a string' };
  }
  const data = objectAt(envelope, 'data');
  const dataType = data === null ? null : text(data.type);
  let incidentId: string | null = null;
  let incident: IncidentSummary | null = null;
  if (data !== null && dataType === 'incident') {
    incidentId = text(data.id);
    if (incidentId === null) {
      return { ok: false, reason: 'incident-without-id', detail: '`event.data` is an incident without an `id`' };
    }
    incident = incidentSummary(data, incidentId);
  } else if (data !== null) {
    incidentId = idOf(data.incident);
  }
  if (incidentId !== null && !ROUTABLE_ID.test(incidentId)) {
    return { ok: false, reason: 'unusable-id', detail: 'the incident id is not 1-120 printable ASCII characters' };
  }
  return {
    ok: true,
    event: {
      eventId,
      eventType,
      resourceType: text(envelope.resource_type) ?? eventType.split('.')[0],
      dataType,
      occurredAt: text(envelope.occurred_at),
      agent: agentOf(envelope.agent),
      incidentId,
      incident,
    },
  };
}
