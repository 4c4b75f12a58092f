import { createHash } from 'node:crypto';
import type { TrustConfig } from '../config/agent-config';

/**
 * Rules that earn and lose trust (docs/rollout-and-outcomes.md "Trust"): the pure part. A rule whose rolling record
 * turns bad is demoted (it stops holding until a person promotes it); a deterministic share of the incidents a rule
 * would hold is held out (left with on-call), so that held and held-out incidents can be compared.
 */

/** A demotion as the state table keeps it (lib/trust/demotion-store.ts). */
export interface Demotion {
  ruleId: string;
  demotedAt: string;
  /** Why the record turned bad, in one line. */
  reason: string;
  /** The incident whose outcome broke the record. */
  incidentId: string;
}

/** What the worker reads once per incident and gives to `mayKeep` and to triage. */
export interface RuleTrust {
  /** Demoted rules by id: they never hold or resolve, their incidents are escalated with the note. */
  demoted: ReadonlyMap<string, Demotion>;
  /** This incident is in the holdout: a rule that would hold it leaves it with on-call instead. */
  heldOut: boolean;
  /** The configured holdout share, for the decision reason. */
  holdoutShare: number;
}

export const FULL_TRUST: RuleTrust = { demoted: new Map(), heldOut: false, holdoutShare: 0 };

/** A rule's precision is judged over at most this many of its latest judged outcomes. */
export const TRUST_PRECISION_WINDOW = 20;
/** A contradicted hold this recent demotes the rule whatever its precision. */
export const CONTRADICTED_HOLD_DAYS = 7;
const DAY_MS = 86_400_000;

/**
 * Where an incident falls in [0, 1), from a hash of its id: every delivery of its events, and every worker, agree
 * on whether it is held out.
 */
export function holdoutPosition(incidentId: string): number {
  return createHash('sha256').update(incidentId).digest().readUInt32BE(0) / 2 ** 32;
}

export function isHeldOut(incidentId: string, share: number): boolean {
  return share > 0 && holdoutPosition(incidentId) < share;
}

export function ruleTrustFor(
  incidentId: string,
  demoted: ReadonlyMap<string, Demotion>,
  settings: Pick<TrustConfig, 'holdout'>,
): RuleTrust {
  return { demoted, heldOut: isHeldOut(incidentId, settings.holdout), holdoutShare: settings.holdout };
}

/** One judged outcome of a rule, as its record is read back (the responders' feedback overriding the inferred verdict). */
export interface JudgedOutcome {
  incidentId: string;
  /** When the outcome (or the feedback that overrides it) was recorded. */
  at: string;
  verdict: 'confirmed' | 'contradicted';
  /** The agent kept the incident (held or resolved it), or would have but held it out. */
  kept: boolean;
}

export type RecordJudgement = { bad: false; judged: number; precision?: number } | { bad: true; reason: string };

const percent = (value: number): string => `${Math.round(value * 100)}%`;

/**
 * Whether a rule's record is bad: a contradicted keep within CONTRADICTED_HOLD_DAYS, or a precision below
 * `minPrecision` over its latest TRUST_PRECISION_WINDOW judged outcomes. Only outcomes after `since` (the rule's
 * last promotion) count: a person who promoted it has seen what came before.
 */
export function judgeRecord(outcomes: readonly JudgedOutcome[], now: Date, minPrecision: number, since?: string): RecordJudgement {
  const counted = outcomes
    .filter((outcome) => since === undefined || Date.parse(outcome.at) > Date.parse(since))
    .sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
  const recentLimit = now.getTime() - CONTRADICTED_HOLD_DAYS * DAY_MS;
  const badHold = counted.find((outcome) => outcome.kept && outcome.verdict === 'contradicted' && Date.parse(outcome.at) >= recentLimit);
  if (badHold !== undefined) {
    return { bad: true, reason: `a hold was contradicted in the last ${CONTRADICTED_HOLD_DAYS} days (incident ${badHold.incidentId})` };
  }
  const window = counted.slice(0, TRUST_PRECISION_WINDOW);
  if (window.length === 0) return { bad: false, judged: 0 };
  const precision = window.filter((outcome) => outcome.verdict === 'confirmed').length / window.length;
  if (precision < minPrecision) {
    return {
      bad: true,
      reason: `precision ${percent(precision)} over its last ${window.length} judged outcomes, below the ${percent(minPrecision)} required`,
    };
  }
  return { bad: false, judged: window.length, precision };
}
