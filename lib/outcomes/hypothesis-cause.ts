import type { TriagePolicy } from '../config/agent-config';
import type { Prediction } from '../followup/prediction';
import { changesBeforeTrigger } from '../triage/analysers/recent-change';
import { resolutionOf, similarPastIncidents } from '../triage/analysers/recurrence';
import { oneLine, truncate } from '../triage/text';
import type { Hypothesis, IncidentContext } from '../triage/types';

/**
 * What the hypothesis named as the cause, kept at triage time (on the incident's progress in the state table) so the
 * outcome can be compared with it when the incident resolves, without the context the worker gathered then.
 */
export type CauseKind = 'likely-cause' | 'recent-change' | 'recurrence' | 'flapping' | 'alert-details' | 'bedrock' | 'none';

export interface HypothesisCause {
  /** The strongest finding behind the hypothesis: what kind of explanation the agent gave. */
  kind: CauseKind;
  /** The rule that matched, if any. */
  ruleId?: string;
  /** The hypothesis as posted, bounded. */
  summary: string;
  /** The change the agent named (whenever its note cited one, whatever the strongest finding). */
  change?: { id: string; summary: string; isDeploy: boolean };
  /** The similar past incident the note cited, and how the last one with a note was resolved. */
  pastIncident?: { id: string; number: number; fix?: string };
  /** Trust withheld the rule's hold (a demoted rule, or an incident in the holdout): on-call had it. */
  withheld?: 'demoted' | 'held-out';
  /** The prediction the note stated (lib/followup/prediction.ts), checked by the follow-ups. */
  prediction?: Prediction;
}

const KNOWN_KINDS: readonly CauseKind[] = ['likely-cause', 'recent-change', 'recurrence', 'flapping', 'alert-details', 'bedrock'];
const DAY_MS = 86_400_000;
const MAX_TEXT = 200;

/** The evidence is ordered rule first, then findings by weight: the first finding's source is the named cause. */
function strongestKind(hypothesis: Hypothesis): CauseKind {
  const source = hypothesis.evidence.find((evidence) => !evidence.source.startsWith('rule:'))?.source;
  return KNOWN_KINDS.find((kind) => kind === source) ?? 'none';
}

export function hypothesisCause(hypothesis: Hypothesis, context: IncidentContext, policy: TriagePolicy): HypothesisCause {
  const kind = strongestKind(hypothesis);
  const cause: HypothesisCause = { kind, summary: truncate(oneLine(hypothesis.summary), MAX_TEXT) };
  if (hypothesis.ruleId !== undefined) cause.ruleId = hypothesis.ruleId;
  if (hypothesis.withheld !== undefined) cause.withheld = hypothesis.withheld;
  if (hypothesis.prediction !== undefined) cause.prediction = hypothesis.prediction;
  const cited = new Set(hypothesis.evidence.map((evidence) => evidence.source));
  if (cited.has('recent-change')) {
    const closest = changesBeforeTrigger(context, policy.changeWindowMinutes)[0];
    if (closest !== undefined) {
      cause.change = { id: closest.change.id, summary: truncate(oneLine(closest.change.summary), MAX_TEXT), isDeploy: closest.isDeploy };
    }
  }
  if (cited.has('recurrence')) {
    const similar = similarPastIncidents(context, policy.recurrenceWindowDays * DAY_MS);
    const newest = similar[0];
    const withFix = similar.find((past) => resolutionOf(context, past.id) !== undefined);
    if (newest !== undefined) {
      const past = withFix ?? newest;
      const fix = resolutionOf(context, past.id);
      cause.pastIncident = { id: past.id, number: past.number, ...(fix === undefined ? {} : { fix }) };
    }
  }
  return cause;
}
