import type { OutcomeItem } from '../outcomes/outcome-record';
import type { IncidentOutcomes } from '../outcomes/outcome-store';
import { median } from '../outcomes/outcome-report';
import { recordedDecision } from '../state/incident-ledger';

/**
 * Held against held-out (docs/rollout-and-outcomes.md "Trust"): of the resolved incidents a rule would keep, those the
 * agent kept (held or resolved, in act mode) against those the holdout left with on-call. The only honest estimate of
 * what keeping saves (people did not have to act) and what it risks (longer to resolve).
 */
export interface HoldoutGroup {
  incidents: number;
  /** A person noted, acknowledged, resolved or reopened it after the agent's note. */
  peopleActed: number;
  /** peopleActed / incidents; null without incidents. */
  actedShare: number | null;
  /** Median time from the agent's note to the resolve; null when none had both. */
  medianResolveMs: number | null;
}

export interface HoldoutComparison {
  held: HoldoutGroup;
  heldOut: HoldoutGroup;
}

function group(outcomes: OutcomeItem[]): HoldoutGroup {
  const peopleActed = outcomes.filter((outcome) => outcome.firstHumanActionAt !== undefined).length;
  const resolveTimes = outcomes.flatMap((outcome) =>
    outcome.noteAt === undefined ? [] : [Math.max(0, Date.parse(outcome.endedAt) - Date.parse(outcome.noteAt))],
  );
  return {
    incidents: outcomes.length,
    peopleActed,
    actedShare: outcomes.length === 0 ? null : peopleActed / outcomes.length,
    medianResolveMs: median(resolveTimes),
  };
}

const keptByAgent = (outcome: OutcomeItem): boolean => {
  const decision = recordedDecision(outcome.decision);
  return outcome.mode === 'act' && outcome.cause?.withheld === undefined && (decision === 'held' || decision === 'resolved');
};

export function compareHoldout(entries: readonly IncidentOutcomes[], serviceId?: string): HoldoutComparison {
  const resolved = entries.flatMap(({ outcome }) =>
    outcome === undefined ||
    outcome.ending !== 'resolved' ||
    outcome.cause?.ruleId === undefined ||
    (serviceId !== undefined && outcome.serviceId !== serviceId)
      ? []
      : [outcome],
  );
  return {
    held: group(resolved.filter(keptByAgent)),
    heldOut: group(resolved.filter((outcome) => outcome.cause?.withheld === 'held-out')),
  };
}
