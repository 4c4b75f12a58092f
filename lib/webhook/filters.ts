import type { EventFilters } from '../config/filters-config';
import type { WebhookEvent } from './webhook-event';

export type FilterVerdict = { pass: true } | { pass: false; reason: string };

const PASS: FilterVerdict = { pass: true };
const drop = (reason: string): FilterVerdict => ({ pass: false, reason });

/** `incident.*` matches every type under `incident.` (including `incident.responder.added`); `*` matches all. */
export function eventTypeMatches(eventType: string, pattern: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return eventType.startsWith(pattern.slice(0, -1));
  return eventType === pattern;
}

/**
 * Decides whether the agent takes an event on, following the docs/configuration.md "Filters" table. Events that carry only an
 * incident reference (a note, a responder, …) cannot be judged on service, team, priority or urgency here: they pass
 * those filters and the worker decides with what it knows about the incident.
 */
export function evaluateFilters(event: WebhookEvent, filters: EventFilters): FilterVerdict {
  if (!filters.eventTypes.some((pattern) => eventTypeMatches(event.eventType, pattern))) {
    return drop(`event type ${event.eventType} is not in filters.eventTypes`);
  }
  const incident = event.incident;
  if (incident === null) return PASS;

  if (filters.services.length > 0) {
    if (incident.serviceId === null) return drop('the incident names no service and filters.services is set');
    if (!filters.services.includes(incident.serviceId)) {
      return drop(`service ${incident.serviceId} is not in filters.services`);
    }
  }

  if (filters.teams.length > 0) {
    if (incident.teamIds.length === 0) {
      if (filters.withoutTeams === 'drop') return drop('the incident has no team and filters.withoutTeams is "drop"');
    } else if (!incident.teamIds.some((team) => filters.teams.includes(team))) {
      return drop(`teams ${incident.teamIds.join(', ')} are not in filters.teams`);
    }
  }

  if (filters.minPriority !== undefined) {
    const limit = filters.priorityRanks.indexOf(filters.minPriority);
    const rank = incident.priorityName === null ? -1 : filters.priorityRanks.indexOf(incident.priorityName);
    if (rank === -1) {
      // No priority, or one the account names differently from priorityRanks: both mean the rank is unknown.
      if (filters.withoutPriority === 'drop') {
        const what = incident.priorityName === null ? 'no priority' : `priority ${incident.priorityName}, not in filters.priorityRanks,`;
        return drop(`the incident has ${what} and filters.withoutPriority is "drop"`);
      }
    } else if (rank > limit) {
      return drop(`priority ${incident.priorityName} is below filters.minPriority ${filters.minPriority}`);
    }
  }

  if (filters.minUrgency === 'high' && incident.urgency !== 'high') {
    return drop(`urgency ${incident.urgency ?? 'unknown'} is below filters.minUrgency high`);
  }
  return PASS;
}
