import { randomBytes } from 'node:crypto';
import type { IncidentChange, StoredIncident } from './account-state';
import type { WebhookEnvelope } from './webhook-delivery';

const ULID_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Event ids look like the captured ones (26 characters, ULID-like); consumers must not rely on the format. */
export function webhookEventId(): string {
  return [...randomBytes(26)].map((byte) => ULID_ALPHABET[byte % ULID_ALPHABET.length]).join('');
}

/** `event.data` of `data.type == "incident"` (DD-OV): the webhook's own incident shape, with `number` and `assignees`. */
function incidentData(incident: StoredIncident): Record<string, unknown> {
  return {
    id: incident.id,
    type: 'incident',
    self: incident.self,
    html_url: incident.html_url,
    number: incident.incident_number,
    status: incident.status,
    incident_key: incident.incident_key ?? null,
    created_at: incident.created_at,
    reopened_at: null,
    title: incident.title,
    service: incident.service,
    assignees: incident.assignments.map((assignment) => assignment.assignee),
    escalation_policy: incident.escalation_policy,
    teams: incident.teams,
    priority: incident.priority === undefined ? null : { ...incident.priority, name: undefined },
    urgency: incident.urgency,
    conference_bridge: null,
    resolve_reason: null,
    incident_type: incident.incident_type,
  };
}

export function incidentEnvelope(change: IncidentChange, occurredAt: string): WebhookEnvelope {
  const { incident } = change;
  const data =
    change.note === undefined
      ? incidentData(incident)
      : {
          incident: {
            id: incident.id,
            type: 'incident_reference',
            self: incident.self,
            html_url: incident.html_url,
            summary: incident.title,
          },
          id: change.note.id,
          content: change.note.content,
          trimmed: false,
          type: 'incident_note',
        };
  return {
    event: {
      id: webhookEventId(),
      event_type: change.eventType,
      resource_type: 'incident',
      occurred_at: occurredAt,
      agent: { ...change.agent },
      client: null,
      data,
    },
  };
}

/** `pagey.ping` is undocumented; this is the shape that circulates (fixtures/pagerduty-webhooks/pagey_ping.json). */
export function pingEnvelope(occurredAt: string): WebhookEnvelope {
  return {
    event: {
      id: webhookEventId(),
      event_type: 'pagey.ping',
      resource_type: 'pagey',
      occurred_at: occurredAt,
      agent: null,
      client: null,
      data: { message: 'Hello from your friend Pagey!', type: 'ping' },
    },
  };
}
