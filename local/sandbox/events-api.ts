import { randomUUID } from 'node:crypto';
import type { AccountState } from './account-state';

export interface ReceivedEvent {
  routingKey: string;
  action: 'trigger' | 'acknowledge' | 'resolve';
  dedupKey: string;
  summary: string | null;
  severity: string | null;
  receivedAt: string;
}

interface EventBody {
  routing_key?: unknown;
  event_action?: unknown;
  dedup_key?: unknown;
  payload?: { summary?: unknown; source?: unknown; severity?: unknown };
}

const SEVERITIES = ['critical', 'error', 'warning', 'info'];

/**
 * Events API v2 `POST /v2/enqueue` (202 `{status, message, dedup_key}`). A trigger whose routing key belongs to a
 * seeded service's integration opens an incident there, unless one with the same dedup key is still open. Every
 * accepted event is kept for inspection.
 */
export function handleEventsApi(state: AccountState, received: ReceivedEvent[], rawBody: string): { status: number; body: unknown } {
  let body: EventBody;
  try {
    body = JSON.parse(rawBody) as EventBody;
  } catch {
    return {
      status: 400,
      body: { status: 'Unrecognized object', message: 'Event object format is unrecognized', errors: ['JSON parse error'] },
    };
  }
  const errors: string[] = [];
  if (typeof body.routing_key !== 'string' || body.routing_key.length !== 32)
    errors.push("'routing_key' must be a 32 character integration key");
  if (body.event_action !== 'trigger' && body.event_action !== 'acknowledge' && body.event_action !== 'resolve')
    errors.push("'event_action' is invalid");
  if (body.event_action === 'trigger') {
    if (typeof body.payload?.summary !== 'string') errors.push("'payload.summary' is missing");
    if (typeof body.payload?.source !== 'string') errors.push("'payload.source' is missing");
    if (typeof body.payload?.severity !== 'string' || !SEVERITIES.includes(body.payload.severity))
      errors.push("'payload.severity' is invalid");
  } else if (typeof body.dedup_key !== 'string') {
    errors.push("'dedup_key' is required to acknowledge or resolve");
  }
  if (errors.length > 0) return { status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors } };

  const dedupKey = typeof body.dedup_key === 'string' ? body.dedup_key : randomUUID().replace(/-/g, '');
  const event: ReceivedEvent = {
    routingKey: body.routing_key as string,
    action: body.event_action as ReceivedEvent['action'],
    dedupKey,
    summary: typeof body.payload?.summary === 'string' ? body.payload.summary : null,
    severity: typeof body.payload?.severity === 'string' ? body.payload.severity : null,
    receivedAt: new Date().toISOString(),
  };
  received.push(event);
  const service = [...state.services.values()].find((item) => item.integrationKey === event.routingKey);
  if (service !== undefined) {
    const open = [...state.incidents.values()].find(
      (incident) => incident.service.id === service.id && incident.incident_key === dedupKey && incident.status !== 'resolved',
    );
    if (event.action === 'trigger' && open === undefined) {
      state.triggerIncident({
        serviceId: service.id,
        title: event.summary ?? dedupKey,
        incidentKey: dedupKey,
        urgency: event.severity === 'critical' || event.severity === 'error' ? 'high' : 'low',
      });
    }
  }
  return { status: 202, body: { status: 'success', message: 'Event processed', dedup_key: dedupKey } };
}
