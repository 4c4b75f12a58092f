import { timeOf } from './text';
import type { IncidentContext } from './types';

/** A monitor's own trigger time further than this from the incident's creation is not trusted (a stale or odd clock). */
const MAX_TRIGGER_SKEW_MS = 6 * 3_600_000;

/**
 * When the condition started, in ms: the monitor's own state-change time when it is close to the incident's creation
 * (PagerDuty opens the incident after the monitor notifies), else the incident's creation.
 */
export function triggerTime(context: IncidentContext): number {
  const created = timeOf(context.incident.created_at);
  const monitorSaid = timeOf(context.alert?.triggeredAt);
  return Number.isFinite(monitorSaid) && Math.abs(monitorSaid - created) <= MAX_TRIGGER_SKEW_MS ? monitorSaid : created;
}
