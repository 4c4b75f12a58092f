import type { RequestAnswerer } from '../requests/answer-request';
import type { AuditSubject, AuditTrail } from '../audit/audit-log';
import type { EventFilters } from '../config/agent-config';
import type { OutcomeRecorder } from '../outcomes/outcome-recorder';
import type { RolloutDecision, PagerDutyWrites } from '../rollout/rollout';
import type { EscalationTarget, Incident } from '../pagerduty/types';
import type { IncidentLedger, IncidentProgress, RecordedDecision } from '../state/incident-ledger';
import type { WorkLedger } from '../state/work-ledger';
import type { RefinementResult } from '../triage/bedrock-refiner';
import type { Hypothesis, IncidentContext } from '../triage/types';
import type { WebhookEvent } from '../webhook/webhook-event';
import type { RuleTrust } from '../trust/rule-trust';
import { AgentActions, fallbackPagingOf } from './agent-actions';
import type { AgentConnection, AgentSettings, Invocation, MetricsSink, NoteRenderer } from './agent-ports';
import type { AlertsRun, GatherDeps, GatherSettings } from './gather-context';
import type { CheckSchedulingDeps } from './schedule-checks';
import type { RetryPolicy, RetrySettings } from './retry-policy';

/**
 * What the steps of one triggering event share (docs/how-it-works.md "The agent: what it does to an incident"): the
 * worker's dependencies, the run each step reads and updates, and what ownership the agent took.
 */

export interface ProcessEventDeps {
  env: string;
  settings: AgentSettings & { filters: EventFilters };
  connect: () => Promise<AgentConnection>;
  workLedger: WorkLedger;
  incidentLedger: IncidentLedger;
  audit: AuditTrail;
  notes: NoteRenderer;
  /** The rules' hypothesis, with the rules' trust (demotions, holdout) read once for the incident. */
  triage: (context: IncidentContext, trust: RuleTrust) => Hypothesis;
  /**
   * Whether `triage` could leave this incident with the agent, judged from the incident alone before anything else is
   * read (lib/triage/rules-engine.ts rulesMayKeep). False: the agent hands it to on-call at once instead of
   * acknowledging it first. Absent: it could, and the agent acknowledges first.
   */
  mayKeep?: (incident: Incident, trust: RuleTrust) => boolean;
  /**
   * The rules' trust for one incident (lib/trust/): the demoted rules, read once per incident (one small batch read),
   * and whether the incident is in the holdout. Absent: every rule is trusted and nothing is held out.
   */
  ruleTrust?: (incidentId: string) => Promise<RuleTrust>;
  /** The optional Bedrock refinement, under its own deadline, with the rules' hypothesis as the fallback. */
  refine?: (hypothesis: Hypothesis, context: IncidentContext) => Promise<RefinementResult>;
  metrics: MetricsSink;
  clock?: () => Date;
  retry?: { sleep?: (ms: number) => Promise<void>; random?: () => number; settings?: Partial<RetrySettings> };
  gather?: Partial<GatherSettings>;
  /** The AWS context providers and the alert reader (worker only; without `aws` no AWS context is gathered). */
  context?: Pick<GatherDeps, 'aws' | 'understandAlert' | 'shared'>;
  /** Added to the Lambda's remaining time to form the claim's lease. */
  leaseMarginMs?: number;
  /** Seconds before an event whose operation used its own retries is delivered again (default 20). */
  retryLaterSeconds?: number;
  /** Records what became of triaged incidents (resolves, reopens, feedback notes); absent, they are only audited. */
  outcomes?: Pick<OutcomeRecorder, 'observe'>;
  /** Answers `pd-agent:` requests in `incident.annotated` notes (lib/requests/); absent, they are only audited. */
  requests?: Pick<RequestAnswerer, 'answer'>;
  /** Schedules a hold's end and the follow-ups (lib/agent/schedule-checks.ts); absent, none is scheduled. */
  scheduler?: CheckSchedulingDeps['scheduler'];
}

export type ProcessOutcome =
  | { status: 'already-finished' | 'ignored' | 'recorded' | 'resolved-already' | 'gave-up' }
  /** `noteId` is null when the rollout mode kept the note out of PagerDuty (observe). */
  | { status: 'triaged'; decision: RecordedDecision; noteId: string | null }
  | { status: 'handed-back'; reason: string };

/** The worker's dependencies as the steps see them: the clock resolved. */
export type StepDeps = ProcessEventDeps & { clock: () => Date };

export type IncidentSubject = AuditSubject & { incidentId: string };

/** How far ownership got, kept up to date by the steps, so that a step that stops the agent knows what to hand back. */
export interface Holding {
  /** The incident as last read (or gathered); undefined until the first read answered. */
  incident?: Incident;
  /** True once the acknowledgement as the agent is known to have landed (now or on an earlier delivery). */
  acknowledgedByAgent: boolean;
  /** True once the agent handed the incident to on-call before triage, without acknowledging it: never silenced. */
  handedToOnCall: boolean;
  /**
   * The incident pages only the agent (assigned to it alone, or to nobody) and no rule could keep it: until its
   * escalation is confirmed, stopping must escalate it, as for an incident the agent acknowledged.
   */
  mustHandOver: boolean;
}

/** One triggering event's pass through the steps: what each step needs, built once. */
export interface IncidentRun {
  event: WebhookEvent;
  subject: IncidentSubject;
  connection: AgentConnection;
  invocation: Invocation;
  retry: RetryPolicy;
  actions: AgentActions;
  holding: Holding;
  /** The rollout stage of this incident (AGENT_CONFIG.rollout) and the PagerDuty writes it allows. */
  rollout: RolloutDecision;
  writes: PagerDutyWrites;
  /** Read once per incident before ownership is taken, given to `mayKeep` and to triage alike. */
  trust: RuleTrust;
}

export interface Ownership {
  incident: Incident;
  /** Read with the incident, in the same request when PagerDuty embedded it in its alerts. */
  alerts: AlertsRun;
  /** Who acknowledged it before the agent; null when the agent holds it. */
  humanAcknowledger: string | null;
  everEscalated: boolean;
  /**
   * The agent does not acknowledge it (AGENT_CONFIG.acknowledge, or observe and note modes): `already-theirs` when
   * PagerDuty already pages people with it (it is assigned to someone other than the agent), `escalate` when it is
   * assigned to the agent alone (a policy that pages the agent first) or to nobody, and must be escalated as the
   * gathering starts; null when the agent took it (or it was no hand-over's to make).
   */
  handOver: 'already-theirs' | 'escalate' | null;
  /**
   * PagerDuty pages people for it and AGENT_CONFIG.acknowledge would not let the agent take it: in act mode it is left
   * with them, so that is also what observe and note modes record as the decision they did not carry out.
   */
  staysWithOnCall: boolean;
  /** An escalation an earlier delivery of this event began: repeated as it was unless PagerDuty confirmed it. */
  earlierEscalation?: { target: EscalationTarget; confirmed: boolean };
}

/** Acknowledged, and by nobody but the agent as far as PagerDuty lists: silenced unless the agent finishes the job. */
export function acknowledgedByAgentAlone(incident: Incident, botUserId: string): boolean {
  return incident.status === 'acknowledged' && incident.acknowledgements.every((ack) => ack.acknowledger.id === botUserId);
}

/** The ledger records the agent's acknowledgement for this triggering event (an earlier delivery's, possibly). */
export function acknowledgedForEvent(progress: IncidentProgress | undefined, triggerEventId: string): boolean {
  return progress?.triggerEventId === triggerEventId && progress.acknowledgedByAgentAt !== undefined;
}

/**
 * Triggered and assigned to the agent alone, or to nobody: PagerDuty pages no person until its escalation policy's
 * timeout, so, like an incident the agent acknowledged, it must not be left so.
 */
export function pagesOnlyTheAgent(incident: Incident, botUserId: string): boolean {
  return incident.status === 'triggered' && incident.assignments.every((assignment) => assignment.assignee.id === botUserId);
}

/** The acknowledger, when someone other than the agent acknowledged the incident. */
export function humanAcknowledger(incident: Incident, botUserId: string): string | null {
  if (incident.status !== 'acknowledged') return null;
  const others = incident.acknowledgements.filter((ack) => ack.acknowledger.id !== botUserId);
  if (incident.acknowledgements.length > 0 && others.length === 0) return null;
  return others[0]?.acknowledger.summary ?? others[0]?.acknowledger.id ?? 'someone';
}

/**
 * What a person did to the incident between two reads (`seen`, then `current`) that takes it out of the agent's
 * hands: resolved it, acknowledged it, or reassigned it to someone the agent did not see assigned. Null when nothing
 * changed hands; the agent's own acknowledgement (and the assignment to it that comes with it) is no takeover.
 */
export function takeoverSince(seen: Incident, current: Incident, botUserId: string): string | null {
  if (current.status === 'resolved') return 'It was resolved';
  const people = current.acknowledgements.filter((ack) => ack.acknowledger.id !== botUserId);
  if (current.status === 'acknowledged' && people.length > 0) {
    return `${people[0].acknowledger.summary ?? people[0].acknowledger.id} acknowledged it`;
  }
  const assignedBefore = new Set([botUserId, ...seen.assignments.map((assignment) => assignment.assignee.id)]);
  const newcomer = current.assignments.find((assignment) => !assignedBefore.has(assignment.assignee.id));
  if (newcomer !== undefined) return `It was reassigned to ${newcomer.assignee.summary ?? newcomer.assignee.id}`;
  return null;
}

/** The PagerDuty mutations of this run, under the given retry policy (the run's own, or the last chance's). */
export function actionsFor(deps: StepDeps, run: Pick<IncidentRun, 'subject' | 'connection'>, retry: RetryPolicy): AgentActions {
  const { audit, incidentLedger, notes, env, settings, metrics } = deps;
  return new AgentActions({
    api: run.connection.api,
    audit,
    incidentLedger,
    retry,
    notes,
    env,
    settings,
    subject: run.subject,
    botUserId: run.connection.botUserId,
    metrics,
    fallbackPaging: fallbackPagingOf(run.connection),
    clock: deps.clock,
  });
}

/** What scheduling the checks after triage needs from the worker's dependencies. */
export function checkScheduling(deps: StepDeps): CheckSchedulingDeps {
  return { scheduler: deps.scheduler, settings: deps.settings, audit: deps.audit, clock: deps.clock };
}
