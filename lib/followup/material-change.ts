import type { ContextSnapshot } from './snapshot';

/**
 * What counts as worth a follow-up note: a change someone on call would want to hear about without asking. The metric
 * recovered, worsened or crossed its threshold again; a change landed (a rollback, a deploy); an error signature
 * appeared; the alarm changed state. Anything else (the metric wandering on the same side of its threshold, the same
 * changes read again) is not, and then the agent says nothing.
 */
export type MaterialChange =
  | { kind: 'metric-recovered'; label: string; latest: number; unit?: string }
  | { kind: 'metric-crossed-again'; label: string; latest: number; unit?: string }
  | { kind: 'metric-worsened'; label: string; from: number; latest: number; unit?: string }
  | { kind: 'new-change'; at: string; summary: string; onAlarmedResource: boolean }
  | { kind: 'new-error'; signature: string }
  | { kind: 'alarm-flipped'; flips: number }
  | { kind: 'alerts-cleared' };

/**
 * A crossed metric has worsened when it moved this much further past its threshold, as a share of how far past it
 * was (at least MIN_BREACH_SHARE of the threshold, so a value just over it does not make jitter news): a 50% worse
 * breach is news, jitter is not.
 */
export const WORSENED_SHARE = 0.5;
export const MIN_BREACH_SHARE = 0.1;

function metricChanges(before: ContextSnapshot, after: ContextSnapshot): MaterialChange[] {
  const was = before.metric;
  const now = after.metric;
  const threshold = after.threshold ?? before.threshold;
  if (now?.latest === undefined || now.crossed === undefined || threshold === undefined) return [];
  const unit = now.unit === undefined ? {} : { unit: now.unit };
  if (was?.crossed === true && !now.crossed) return [{ kind: 'metric-recovered', label: now.label, latest: now.latest, ...unit }];
  if (was?.crossed === false && now.crossed) return [{ kind: 'metric-crossed-again', label: now.label, latest: now.latest, ...unit }];
  if (was?.crossed === true && now.crossed && was.latest !== undefined) {
    const pastBefore = Math.abs(was.latest - threshold.value);
    const pastNow = Math.abs(now.latest - threshold.value);
    const scale = Math.max(pastBefore, MIN_BREACH_SHARE * Math.abs(threshold.value));
    if (scale > 0 && pastNow - pastBefore >= WORSENED_SHARE * scale) {
      return [{ kind: 'metric-worsened', label: now.label, from: was.latest, latest: now.latest, ...unit }];
    }
  }
  return [];
}

/** The material changes from `before` (what the last note said) to `after` (what the providers read now), oldest kind first. */
export function materialChanges(before: ContextSnapshot, after: ContextSnapshot): MaterialChange[] {
  const known = new Set(before.changes.map((change) => change.key));
  const seenSignatures = new Set(before.errorSignatures);
  const changes: MaterialChange[] = [...metricChanges(before, after)];
  for (const change of after.changes) {
    // Only what landed after the last look: a change older than it that the earlier read missed is not news of the incident.
    if (known.has(change.key) || Date.parse(change.at) < Date.parse(before.at)) continue;
    changes.push({ kind: 'new-change', at: change.at, summary: change.summary, onAlarmedResource: change.onAlarmedResource });
  }
  for (const signature of after.errorSignatures) if (!seenSignatures.has(signature)) changes.push({ kind: 'new-error', signature });
  if (before.alarmFlips !== undefined && after.alarmFlips !== undefined && after.alarmFlips > before.alarmFlips) {
    changes.push({ kind: 'alarm-flipped', flips: after.alarmFlips - before.alarmFlips });
  }
  if (before.alertsCleared !== true && after.alertsCleared === true) changes.push({ kind: 'alerts-cleared' });
  return changes;
}
