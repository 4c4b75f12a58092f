import type { RolloutMode } from '../config/agent-config';
import type { HypothesisCause } from './hypothesis-cause';
import type { Resolver, Verdict } from './verdict';
import type { PredictionCheck } from '../followup/prediction';

/**
 * Outcome and feedback items live in the audit table, beside the incident's audit items (same partition, same TTL,
 * same `byTime` index), under their own sort-key prefixes. They carry `action: record` and a readable `detail`, so
 * `pd-agent audit` lists them with the rest of the incident's history. Append-only: one item per webhook event,
 * written with a conditional put; a later feedback item overrides the inferred verdict when reading.
 */
export const OUTCOME_SK_PREFIX = 'outcome#';
export const FEEDBACK_SK_PREFIX = 'feedback#';

/** What the agent did with the incident, as the report groups it. */
export interface TriageFacts {
  serviceId?: string;
  /** A RecordedDecision from the incident's progress (older items: `hold`, `escalate`, `resolve` or `left-with-human`). */
  decision?: string;
  /** The rollout stage the incident was in (the worker records it with the decision; `act` before rollout modes). */
  mode: RolloutMode;
  cause?: HypothesisCause;
}

interface OutcomeItemBase extends TriageFacts {
  incidentId: string;
  sk: string;
  day: string;
  at: string;
  env: string;
  action: 'record';
  outcome: 'recorded';
  eventId: string;
  eventType: string;
  detail: string;
  expiresAt: number;
}

export interface OutcomeItem extends OutcomeItemBase {
  kind: 'outcome';
  ending: 'resolved' | 'reopened';
  /** When the event happened (PagerDuty's `occurred_at`), else when the agent received it. */
  endedAt: string;
  resolver: Resolver;
  agentAcknowledgedAt?: string;
  /** The agent's first note (its `completedAt` in the audit trail). */
  noteAt?: string;
  /** The first thing a person did after the note: a note, an acknowledgement, a resolve, a reopen. */
  firstHumanActionAt?: string;
  /** `firstHumanActionAt - noteAt`: the head start the note gave the humans. */
  headStartMs?: number;
  /** The agent held or resolved it in act mode, and a person acted on it anyway. */
  humanTookOver: boolean;
  /** People's notes on the incident (bounded), what the verdict was inferred from. */
  humanNotes: string[];
  verdict: Verdict;
  verdictReason: string;
  /** What a follow-up found of the note's prediction (the prediction itself is in `cause`). */
  predictionCheck?: PredictionCheck;
}

export interface FeedbackItem extends OutcomeItemBase {
  kind: 'feedback';
  verdict: 'confirmed' | 'contradicted';
  comment: string;
  /** The responder who wrote the note (PagerDuty user id). */
  by: string;
  /** Their name as the webhook gave it when the note was written (items recorded before it was kept have none). */
  byName?: string;
}

export type OutcomeRecordItem = OutcomeItem | FeedbackItem;
