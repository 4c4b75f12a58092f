import type { AccountState } from './account-state';

/** PagerDuty's default `escalation_delay_in_minutes` for a level that names none. */
export const DEFAULT_ESCALATION_DELAY_MINUTES = 30;

interface DueTimer {
  incidentId: string;
  dueAt: number;
  kind: 'escalate' | 'unacknowledge';
}

/**
 * The timer of one open incident, if it has one: triggered and assigned through its policy below the last level, the
 * level's delay since it was paged (a direct assignment never escalates); acknowledged on a service with an
 * `acknowledgement_timeout`, that many seconds since the acknowledgement.
 */
function timerOf(state: AccountState, incidentId: string): DueTimer | null {
  const incident = state.requireIncident(incidentId);
  const since = Date.parse(incident.last_status_change_at);
  if (incident.status === 'triggered' && incident.assigned_via === 'escalation_policy') {
    const policy = state.escalationPolicies.get(incident.escalation_policy.id);
    const level = state.escalationLevel(incident.id);
    if (policy === undefined || level >= policy.levels.length) return null;
    const delayMinutes = policy.escalationDelayInMinutes?.[level - 1] ?? DEFAULT_ESCALATION_DELAY_MINUTES;
    return { incidentId, dueAt: since + delayMinutes * 60_000, kind: 'escalate' };
  }
  if (incident.status === 'acknowledged') {
    const timeoutSeconds = state.services.get(incident.service.id)?.acknowledgementTimeoutSeconds ?? null;
    if (timeoutSeconds === null || timeoutSeconds <= 0) return null;
    return { incidentId, dueAt: since + timeoutSeconds * 1000, kind: 'unacknowledge' };
  }
  return null;
}

/**
 * Fires, in time order, every escalation and acknowledgement timeout due by `now`, each at the time it was due (so a
 * test that moves the clock an hour ahead sees every level the hour covers). Returns how many fired.
 */
export function runDueTimers(state: AccountState, now: Date): number {
  let fired = 0;
  for (;;) {
    const due = [...state.incidents.keys()]
      .map((incidentId) => timerOf(state, incidentId))
      .filter((timer): timer is DueTimer => timer !== null && timer.dueAt <= now.getTime())
      .sort((a, b) => a.dueAt - b.dueAt)[0];
    if (due === undefined) return fired;
    if (due.kind === 'escalate') state.escalateOnTimeout(due.incidentId, new Date(due.dueAt));
    else state.unacknowledgeOnTimeout(due.incidentId, new Date(due.dueAt));
    fired += 1;
  }
}
