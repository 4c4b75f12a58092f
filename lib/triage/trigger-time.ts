import { MAX_TRIGGER_CLAIM_SKEW_MS } from '../context/aws/trust';
import { timeOf } from './text';
import type { IncidentContext } from './types';

/**
 * When the condition started, in ms: the monitor's own state-change time when it is within the same 15 minutes of the
 * incident's creation that bound the AWS windows (alert text is a claim: a stale or forged clock is not followed), else
 * the incident's creation.
 */
export function triggerTime(context: IncidentContext): number {
  const created = timeOf(context.incident.created_at);
  const monitorSaid = timeOf(context.alert?.triggeredAt);
  return Number.isFinite(monitorSaid) && Math.abs(monitorSaid - created) <= MAX_TRIGGER_CLAIM_SKEW_MS ? monitorSaid : created;
}
