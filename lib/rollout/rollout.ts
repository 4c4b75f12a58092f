import { createHash } from 'node:crypto';
import type { AgentConfig, RolloutMode } from '../config/agent-config';

/**
 * Which rollout stage applies to one incident (docs/rollout-and-outcomes.md). Pure: the worker asks it once per
 * triggering event and gets the same answer on every redelivery, because sampling hashes the incident id.
 *
 * - `observe`: triage runs, the note and decision go to the audit trail; nothing is written to PagerDuty.
 * - `note`: the note is posted; no acknowledgement, escalation, hold or resolve.
 * - `act`: the agent acknowledges, notes, escalates, holds or resolves.
 */
export interface RolloutDecision {
  mode: RolloutMode;
  /** False when the incident falls outside the sample: the agent leaves it alone entirely (no triage, no writes). */
  sampled: boolean;
  /** For the audit trail: which setting applied and why the incident is or is not in the sample. */
  reason: string;
}

/** The PagerDuty writes a mode allows. A hold is the agent keeping its acknowledgement, so it needs `acknowledge`. */
export interface PagerDutyWrites {
  acknowledge: boolean;
  note: boolean;
  escalate: boolean;
  hold: boolean;
  resolve: boolean;
}

const WRITES: Record<RolloutMode, PagerDutyWrites> = {
  observe: { acknowledge: false, note: false, escalate: false, hold: false, resolve: false },
  note: { acknowledge: false, note: true, escalate: false, hold: false, resolve: false },
  act: { acknowledge: true, note: true, escalate: true, hold: true, resolve: true },
};

const NO_WRITES: PagerDutyWrites = WRITES.observe;

/** Precedes the note observe mode kept out of PagerDuty in its audit row, where readers and tools find it. */
export const WOULD_BE_NOTE_LABEL = 'The note would have been:';

/** What the agent may write to PagerDuty for this incident; nothing at all outside the sample. */
export function allowedWrites(decision: RolloutDecision): PagerDutyWrites {
  return decision.sampled ? WRITES[decision.mode] : NO_WRITES;
}

export const allowsAcknowledge = (decision: RolloutDecision): boolean => allowedWrites(decision).acknowledge;
export const allowsNote = (decision: RolloutDecision): boolean => allowedWrites(decision).note;
export const allowsEscalate = (decision: RolloutDecision): boolean => allowedWrites(decision).escalate;
export const allowsHold = (decision: RolloutDecision): boolean => allowedWrites(decision).hold;
export const allowsResolve = (decision: RolloutDecision): boolean => allowedWrites(decision).resolve;

const HASH_SPACE = 2 ** 32;

/**
 * A stable point in [0, 1) for an incident id: the first 32 bits of its SHA-256. Every delivery of every event of
 * the incident lands on the same point, so an incident is either in the sample for its whole life or never.
 */
export function samplePoint(incidentId: string): number {
  return createHash('sha256').update(incidentId, 'utf8').digest().readUInt32BE(0) / HASH_SPACE;
}

const percent = (rate: number): string => `${Math.round(rate * 1000) / 10}%`;

/** The stage for one incident of one service. Without `rollout` in AGENT_CONFIG the agent acts on every incident. */
export function resolveRollout(config: Pick<AgentConfig, 'rollout'>, serviceId: string | null, incidentId: string): RolloutDecision {
  const rollout = config.rollout;
  if (rollout === undefined) return { mode: 'act', sampled: true, reason: 'no rollout configured: the agent acts on every incident' };
  const serviceStage = serviceId === null ? undefined : rollout.services[serviceId];
  const stage = serviceStage ?? rollout;
  const source = serviceStage === undefined ? 'the environment' : `service ${serviceId}`;
  const sampled = samplePoint(incidentId) < stage.sampleRate;
  const sample =
    stage.sampleRate >= 1
      ? 'every incident'
      : `${sampled ? 'in' : 'outside'} the ${percent(stage.sampleRate)} sample (by a hash of the incident id)`;
  return { mode: stage.mode, sampled, reason: `${stage.mode} mode from ${source}, ${sample}` };
}
