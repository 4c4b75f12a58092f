/**
 * A PagerDuty V3 webhook event reduced to what pd-agent acts on. Produced by `parseWebhookEvent` from the raw body;
 * every field PagerDuty may omit or null is optional or nullable here.
 */
export interface AgentRef {
  id: string;
  type: string;
}

export interface IncidentSummary {
  id: string;
  number: number | null;
  title: string | null;
  status: 'triggered' | 'acknowledged' | 'resolved' | null;
  urgency: 'high' | 'low' | null;
  priorityName: string | null;
  serviceId: string | null;
  serviceName: string | null;
  escalationPolicyId: string | null;
  teamIds: string[];
  assigneeIds: string[];
  incidentKey: string | null;
  htmlUrl: string | null;
}

export interface WebhookEvent {
  eventId: string;
  eventType: string;
  /** Leftmost part of the event type: `incident`, `service`, `pagey`, … */
  resourceType: string;
  /** `data.type`: `incident`, `incident_note`, `service`, `ping`, … */
  dataType: string | null;
  occurredAt: string | null;
  agent: AgentRef | null;
  /** `data.id` when `data.type == "incident"`, `data.incident.id` otherwise; null for events without an incident. */
  incidentId: string | null;
  /** Present when `data.type == "incident"`; other data types only carry an incident reference. */
  incident: IncidentSummary | null;
}
