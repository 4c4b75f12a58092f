import type { TriagePolicy } from '../../config/agent-config';
import type { Alert, Incident, Reference } from '../../pagerduty/types';
import type { Finding, IncidentContext } from '../types';

/** An analyser reads the gathered context and reports at most one finding; it never decides what to do. */
export type Analyser = (context: IncidentContext, policy: TriagePolicy) => Finding | null;

/**
 * Fields PagerDuty returns on an incident that the shared `Incident` contract leaves out. They are read defensively
 * (absent on some plans, sandboxes and older payloads), so a missing value only means less evidence.
 */
export type IncidentAsRead = Incident & {
  last_status_change_by?: (Reference & { name?: string }) | null;
  alert_counts?: { all?: number; triggered?: number; resolved?: number } | null;
};

/** Who last changed an incident's status, when PagerDuty said so ("Alice Smith", or "Datadog (integration)"). */
export function statusChangedBy(incident: Incident): string | undefined {
  const by = (incident as IncidentAsRead).last_status_change_by;
  if (!by) return undefined;
  const name = by.summary ?? by.name;
  if (!name) return undefined;
  return by.type.startsWith('user') ? name : `${name} (${by.type.replace(/_reference$/, '').replace(/_/g, ' ')})`;
}

/** Service references name the service in `summary`; fall back to the id. */
export function serviceName(incident: Incident): string {
  return incident.service.summary ?? incident.service.id;
}

export function alertIsCleared(alert: Alert): boolean {
  return alert.status === 'resolved';
}

/** `IncidentContext.alertsNotRead` in words, for the note and for a refused resolve. */
export function describeNotRead(notRead: number | null): string {
  if (notRead === null) return 'PagerDuty holds more alerts than were read';
  return `${notRead} more alert${notRead === 1 ? '' : 's'} not read`;
}
