import type { AuditSubject, AuditTrail } from '../audit/audit-log';
import type { EventFilters } from '../config/agent-config';
import { MetricName } from '../observability/telemetry';
import { hypothesisCause } from '../outcomes/hypothesis-cause';
import { allowedWrites, resolveRollout, WOULD_BE_NOTE_LABEL, type PagerDutyWrites, type RolloutDecision } from '../rollout/rollout';
import { OUTCOME_READ_RETRIES, type OutcomeRecorder } from '../outcomes/outcome-recorder';
import { isPagerDutyError } from '../pagerduty/errors';
import type { AlertsWithIncident, EscalationTarget, Incident, Oncall } from '../pagerduty/types';
import type { QueuedEvent } from '../queue/queued-event';
import type { DecisionFacts, IncidentLedger, IncidentProgress } from '../state/incident-ledger';
import { ResolveRefusedError } from '../state/incident-ledger';
import type { FinishedStatus, WorkLedger } from '../state/work-ledger';
import { MAX_RETRIES_PER_EVENT } from '../state/work-ledger';
import type { Hypothesis, IncidentContext } from '../triage/types';
import type { RefinementResult } from '../triage/bedrock-refiner';
import { evaluateFilters } from '../webhook/filters';
import { parseWebhookEvent } from '../webhook/parse-event';
import type { WebhookEvent } from '../webhook/webhook-event';
import { AgentActions } from './agent-actions';
import type { AgentConnection, AgentSettings, Invocation, MetricsSink, NoteRenderer } from './agent-ports';
import { startGathering, type AlertsRun, type GatherDeps, type GatherSettings } from './gather-context';
import { explainPagerDutyFailure } from '../context/pagerduty/pagerduty-providers';
import {
  DEFAULT_RETRY_SETTINGS,
  OperationFailedError,
  RetryPolicy,
  RetryStopError,
  ThrottledError,
  localBudget,
  type RetryDeps,
  type RetrySettings,
} from './retry-policy';
import { messageOf } from '../errors/message-of';
import { scheduleChecksAfterTriage, withPrediction, type CheckSchedulingDeps } from './schedule-checks';

/**
 * What the worker does with one queued webhook event (docs/how-it-works.md "The agent: what it does to an incident"): claim it, parse, filter, and for
 * `incident.triggered` / `incident.reopened`: read, acknowledge as the agent, gather, triage, post one note, act.
 * When the retry budget or the Lambda's time runs out after the agent acknowledged: audit, hand back, stop. When it
 * runs out and the agent cannot know whether its acknowledgement landed (the answer was lost), PagerDuty's state
 * decides: one read, and a handback if the agent holds the incident; without that read the event fails and comes
 * back (or reaches the dead-letter handback), it is never given up on.
 */
export const TRIGGERING_EVENT_TYPES = ['incident.triggered', 'incident.reopened'];

export interface ProcessEventDeps {
  env: string;
  settings: AgentSettings & { filters: EventFilters };
  connect: () => Promise<AgentConnection>;
  workLedger: WorkLedger;
  incidentLedger: IncidentLedger;
  audit: AuditTrail;
  notes: NoteRenderer;
  triage: (context: IncidentContext) => Hypothesis;
  /**
   * Whether `triage` could leave this incident with the agent, judged from the incident alone before anything else is
   * read (lib/triage/rules-engine.ts rulesMayKeep). False: the agent hands it to on-call at once instead of
   * acknowledging it first. Absent: it could, and the agent acknowledges first.
   */
  mayKeep?: (incident: Incident) => boolean;
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
  /** Schedules a hold's end and the follow-ups (lib/agent/schedule-checks.ts); absent, none is scheduled. */
  scheduler?: CheckSchedulingDeps['scheduler'];
}

export type ProcessOutcome =
  | { status: 'already-finished' | 'ignored' | 'recorded' | 'resolved-already' | 'gave-up' }
  /** `noteId` is null when the rollout mode kept the note out of PagerDuty (observe). */
  | { status: 'triaged'; decision: Hypothesis['decision'] | 'left-with-human'; noteId: string | null }
  | { status: 'handed-back'; reason: string };

/** The claim is held by another attempt; the message comes back when its lease ends. */
export class LeaseHeldError extends Error {
  override readonly name = 'LeaseHeldError';
  constructor(
    readonly eventId: string,
    readonly retryAfterSeconds: number,
  ) {
    super(
      `Event ${eventId} is being processed by another attempt; it is retried in ${retryAfterSeconds} s, when that attempt's lease ends.`,
    );
  }
}

/** A failure worth another delivery (the operation's retries were used up, the budget is not). */
export class RetryLaterError extends Error {
  override readonly name = 'RetryLaterError';
  constructor(
    readonly eventId: string,
    readonly retryAfterSeconds: number,
    cause: unknown,
  ) {
    super(`Event ${eventId} failed (${messageOf(cause)}); it is delivered again in ${retryAfterSeconds} s.`, {
      cause,
    });
  }
}

/**
 * Reached with too little Lambda time to make a first PagerDuty call: nothing was claimed or spent, and the message
 * goes straight back to the queue (keeping its place in its incident's FIFO group) for the next delivery.
 */
export class NoTimeToStartError extends Error {
  override readonly name = 'NoTimeToStartError';
  readonly retryAfterSeconds = 0;
  constructor(
    readonly eventId: string,
    readonly remainingMs: number,
    readonly minRemainingMs: number,
  ) {
    super(
      `Event ${eventId} was not started: ${remainingMs} ms of Lambda time left, ${minRemainingMs} ms needed. It goes back to the ` +
        "queue in its place and is triaged on the next delivery; if this is frequent, lower the worker's batch size or raise its timeout.",
    );
  }
}

/** The agent had to stop, its acknowledgement may have landed, and PagerDuty could not be asked: the event comes back. */
export class AcknowledgementUnknownError extends Error {
  override readonly name = 'AcknowledgementUnknownError';
  constructor(
    readonly eventId: string,
    readonly incidentId: string,
    readonly retryAfterSeconds: number,
    stopped: unknown,
    cause: unknown,
  ) {
    super(
      `Event ${eventId}: the agent stopped (${messageOf(stopped)}) without knowing whether its ` +
        `acknowledgement of ${incidentId} landed, and could not read the incident (${messageOf(cause)}). ` +
        `The event is delivered again in ${retryAfterSeconds} s (or handed back from the dead-letter queue), so that PagerDuty's state decides.`,
      { cause },
    );
  }
}

type IncidentSubject = AuditSubject & { incidentId: string };

/** How far ownership got, kept up to date by the steps, so that a step that stops the agent knows what to hand back. */
interface Holding {
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
interface IncidentRun {
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
}

interface Ownership {
  incident: Incident;
  /** Read with the incident, in the same request when PagerDuty embedded it in its alerts. */
  alerts: AlertsRun;
  /** Who acknowledged it before the agent; null when the agent holds it. */
  humanAcknowledger: string | null;
  everEscalated: boolean;
  /**
   * No rule could leave it with the agent, so it is never acknowledged: `already-theirs` when PagerDuty already pages
   * people with it (it is assigned to someone other than the agent), `escalate` when it is assigned to the agent alone
   * (a policy that pages the agent first) or to nobody, and must be escalated as the gathering starts; null when the
   * agent may keep it.
   */
  handOver: 'already-theirs' | 'escalate' | null;
  /** An escalation an earlier delivery of this event began: repeated as it was unless PagerDuty confirmed it. */
  earlierEscalation?: { target: EscalationTarget; confirmed: boolean };
}

const DEFAULT_LEASE_MARGIN_MS = 10_000;
const RETRY_LATER_SECONDS = 20;
/** Enough for the escalation and the handback note (one request each, 5 s timeout) to start. */
const HANDBACK_MIN_REMAINING_MS = 1500;

/** Acknowledged, and by nobody but the agent as far as PagerDuty lists: silenced unless the agent finishes the job. */
export function acknowledgedByAgentAlone(incident: Incident, botUserId: string): boolean {
  return incident.status === 'acknowledged' && incident.acknowledgements.every((ack) => ack.acknowledger.id === botUserId);
}

/** The ledger records the agent's acknowledgement for this triggering event (an earlier delivery's, possibly). */
function acknowledgedForEvent(progress: IncidentProgress | undefined, triggerEventId: string): boolean {
  return progress?.triggerEventId === triggerEventId && progress.acknowledgedByAgentAt !== undefined;
}

/**
 * Triggered and assigned to the agent alone, or to nobody: PagerDuty pages no person until its escalation policy's
 * timeout, so, like an incident the agent acknowledged, it must not be left so.
 */
export function pagesOnlyTheAgent(incident: Incident, botUserId: string): boolean {
  return incident.status === 'triggered' && incident.assignments.every((assignment) => assignment.assignee.id === botUserId);
}

/** Why stopping leaves nobody silenced, for the audit trail. */
function givenUpBecause(acknowledgementMayHaveLanded: boolean, handedToOnCall: boolean): string {
  if (handedToOnCall) return 'on-call already had it: the agent never acknowledged it';
  if (acknowledgementMayHaveLanded) return 'PagerDuty does not show it held by the agent alone, PagerDuty keeps paging';
  return 'the agent had not acknowledged it, PagerDuty keeps paging';
}

/** The acknowledger, when someone other than the agent acknowledged the incident. */
function humanAcknowledger(incident: Incident, botUserId: string): string | null {
  if (incident.status !== 'acknowledged') return null;
  const others = incident.acknowledgements.filter((ack) => ack.acknowledger.id !== botUserId);
  if (incident.acknowledgements.length > 0 && others.length === 0) return null;
  return others[0]?.acknowledger.summary ?? others[0]?.acknowledger.id ?? 'someone';
}

/**
 * The model may reword the hypothesis; it never chooses a less safe action than the rules did. It may only turn a hold
 * or resolve into an escalation (the refiner does so when it lowers confidence below the hold threshold).
 */
export function keepSaferDecision(rules: Hypothesis, refined: Hypothesis): Hypothesis {
  if (refined.decision === 'escalate') return refined;
  return { ...refined, decision: rules.decision, decisionReason: rules.decisionReason, ruleId: rules.ruleId };
}

export class EventProcessor {
  private readonly clock: () => Date;

  constructor(private readonly deps: ProcessEventDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  async process(queued: QueuedEvent, invocation: Invocation): Promise<ProcessOutcome> {
    const { workLedger } = this.deps;
    // Not starting is not trying: an event with no time for its first call is returned untouched, never given up on.
    const minRemainingMs = this.deps.retry?.settings?.minRemainingMs ?? DEFAULT_RETRY_SETTINGS.minRemainingMs;
    const remainingMs = invocation.remainingTimeMs();
    if (remainingMs < minRemainingMs) {
      this.deps.metrics.addMetric(MetricName.deferredForLackOfTime, 'Count', 1);
      throw new NoTimeToStartError(queued.eventId, remainingMs, minRemainingMs);
    }
    const claim = await workLedger.claim({
      eventId: queued.eventId,
      leaseMs: invocation.remainingTimeMs() + (this.deps.leaseMarginMs ?? DEFAULT_LEASE_MARGIN_MS),
      now: this.clock(),
    });
    if (!claim.claimed) {
      if (claim.reason === 'finished') return { status: 'already-finished' };
      throw new LeaseHeldError(queued.eventId, Math.max(1, Math.ceil((claim.leaseUntil - this.clock().getTime()) / 1000)));
    }
    const subject: AuditSubject = { incidentId: queued.incidentId, eventId: queued.eventId, eventType: queued.eventType };
    const finish = (status: FinishedStatus, detail: string) => workLedger.finish(queued.eventId, claim.attempt, status, detail);
    try {
      const outcome = await this.handle(queued, subject, invocation, claim.failedCalls);
      const status: FinishedStatus = outcome.status === 'handed-back' ? 'handed-back' : outcome.status === 'triaged' ? 'done' : 'ignored';
      await finish(status, outcome.status);
      return outcome;
    } catch (error) {
      await workLedger.release(queued.eventId, claim.attempt, messageOf(error));
      if (error instanceof ThrottledError) {
        this.deps.metrics.addMetric(MetricName.throttled, 'Count', 1);
        throw error;
      }
      if (error instanceof RetryStopError && error.kind === 'failed')
        throw new RetryLaterError(queued.eventId, this.deps.retryLaterSeconds ?? RETRY_LATER_SECONDS, error);
      throw error;
    }
  }

  private async handle(queued: QueuedEvent, subject: AuditSubject, invocation: Invocation, failedCalls: string[]): Promise<ProcessOutcome> {
    const { audit } = this.deps;
    // Parsed again from the bytes the ingress verified (it parsed them too, but the queue carries only the signed
    // bytes and a few routing fields), so the worker acts on nothing the signature did not cover.
    const parsed = parseWebhookEvent(Buffer.from(queued.rawBodyBase64, 'base64'));
    if (!parsed.ok) {
      await audit.record({ ...subject, action: 'record', outcome: 'failed', detail: `unparseable (${parsed.reason}): ${parsed.detail}` });
      return { status: 'ignored' };
    }
    const event = parsed.event;
    const verdict = evaluateFilters(event, this.deps.settings.filters);
    if (!verdict.pass) {
      await audit.record({ ...subject, action: 'record', outcome: 'skipped', detail: `filtered out: ${verdict.reason}` });
      return { status: 'ignored' };
    }
    const connection = await this.deps.connect();
    if (event.agent !== null && event.agent.id === connection.botUserId) {
      await audit.record({ ...subject, action: 'record', outcome: 'recorded', detail: 'caused by the agent itself; not triaged' });
      return { status: 'recorded' };
    }
    if (this.deps.outcomes !== undefined) {
      const retry = this.outcomeRetryPolicy(invocation, connection);
      await this.deps.outcomes.observe({ event, rawBody: Buffer.from(queued.rawBodyBase64, 'base64'), connection, retry });
    }
    if (!TRIGGERING_EVENT_TYPES.includes(event.eventType) || event.incidentId === null) {
      await audit.record({ ...subject, action: 'record', outcome: 'recorded', detail: `${event.eventType}: recorded, nothing to triage` });
      return { status: 'recorded' };
    }
    return this.triageIncident(event, { ...subject, incidentId: event.incidentId }, connection, invocation, failedCalls);
  }

  /**
   * The steps of one triggering event, in order: take ownership (read, acknowledge), gather, decide, post the note,
   * act. Any step that stops the agent lands in `handBackOnStop`, which reads from `run.holding` how far ownership got.
   */
  private async triageIncident(
    event: WebhookEvent,
    subject: IncidentSubject,
    connection: AgentConnection,
    invocation: Invocation,
    failedCalls: string[],
  ): Promise<ProcessOutcome> {
    const run = this.startRun(event, subject, connection, invocation, failedCalls);
    if (!run.rollout.sampled && !(await this.mayHoldFromEarlierDelivery(run))) return this.leaveUnsampled(run);
    try {
      const ownership = await this.takeOwnership(run);
      if (ownership === 'resolved-already') return { status: 'resolved-already' };
      const context = await this.gather(run, ownership);
      const hypothesis = await this.decide(run, context, ownership.humanAcknowledger);
      const noteId = await this.postNote(run, context, hypothesis);
      const outcome =
        ownership.humanAcknowledger !== null
          ? await this.leaveWithHuman(run, context, hypothesis, noteId)
          : { status: 'triaged' as const, decision: await this.act(run, context, hypothesis, ownership), noteId };
      await scheduleChecksAfterTriage(this.checkScheduling(), {
        subject: run.subject,
        triggerEventId: event.eventId,
        decision: outcome.status === 'triaged' ? outcome.decision : 'left-with-human',
        heldByAgent: run.holding.acknowledgedByAgent,
        hypothesis,
        context,
        escalateUnboundedHold: (reason) =>
          run.actions.escalate(context.incident, context.oncalls, reason, { forEvent: event.eventId }).then(() => undefined),
      });
      return outcome;
    } catch (error) {
      return this.handBackOnStop(run, error);
    }
  }

  private startRun(
    event: WebhookEvent,
    subject: IncidentSubject,
    connection: AgentConnection,
    invocation: Invocation,
    failedCalls: string[],
  ): IncidentRun {
    const retry = this.eventRetryPolicy(event.eventId, invocation, connection, failedCalls);
    const rollout = resolveRollout(this.deps.settings, event.incident?.serviceId ?? null, subject.incidentId);
    const run = {
      event,
      subject,
      connection,
      invocation,
      retry,
      holding: { acknowledgedByAgent: false, handedToOnCall: false, mustHandOver: false },
    };
    return { ...run, actions: this.actionsFor(run, retry), rollout, writes: allowedWrites(rollout) };
  }

  /** The event's retry policy: every repeat of a failed call, in this delivery or an earlier one, spends its budget. */
  private eventRetryPolicy(eventId: string, invocation: Invocation, connection: AgentConnection, failedCalls: string[]): RetryPolicy {
    return this.retryPolicy(invocation, connection, {
      budget: {
        tryConsume: () => this.deps.workLedger.consumeRetry(eventId, MAX_RETRIES_PER_EVENT),
        recordFailedCall: (operation) => this.deps.workLedger.recordFailedCall(eventId, operation),
      },
      failedCalls,
    });
  }

  /**
   * Outcome reads retry from a small budget of their own, never the event's: a reopen whose outcome reads fail leaves
   * all of the event's budget to its triage (the recorder audits the failure and triage goes on).
   */
  private outcomeRetryPolicy(invocation: Invocation, connection: AgentConnection): RetryPolicy {
    return this.retryPolicy(invocation, connection, {
      budget: localBudget(OUTCOME_READ_RETRIES),
      settings: { idempotentRetries: OUTCOME_READ_RETRIES },
    });
  }

  private retryPolicy(
    invocation: Invocation,
    connection: AgentConnection,
    own: Pick<RetryDeps, 'budget' | 'failedCalls' | 'settings'>,
  ): RetryPolicy {
    return new RetryPolicy({
      ...own,
      remainingTimeMs: () => invocation.remainingTimeMs(),
      pacer: connection.pacer,
      sleep: this.deps.retry?.sleep,
      random: this.deps.retry?.random,
      settings: { ...this.deps.retry?.settings, ...own.settings },
      onRetry: () => this.deps.metrics.addMetric(MetricName.retriesUsed, 'Count', 1),
    });
  }

  /** The PagerDuty mutations of this run, under the given retry policy (the run's own, or the last chance's). */
  private actionsFor(run: Pick<IncidentRun, 'subject' | 'connection'>, retry: RetryPolicy): AgentActions {
    const { audit, incidentLedger, notes, env, settings, metrics } = this.deps;
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
      clock: this.clock,
    });
  }

  /**
   * Reads the incident and makes it the agent's: acknowledges it unless a human already did (or the agent did, for this
   * event, on an earlier delivery), or unless no rule could leave it with the agent: acknowledging an incident only to
   * escalate it seconds later silences it for nothing, flips its state in front of the responders and costs a write,
   * so such an incident is left with the people PagerDuty pages, or escalated to them when it is assigned to the agent
   * (`handOver`). `'resolved-already'` when there is nothing left to own.
   */
  private async takeOwnership(run: IncidentRun): Promise<Ownership | 'resolved-already'> {
    const { audit, incidentLedger } = this.deps;
    const { event, subject, holding } = run;
    const { botUserId } = run.connection;
    const { incident, alerts } = await this.readIncident(run);
    holding.incident = incident;
    if (incident.status === 'resolved') {
      await audit.record({ ...subject, action: 'record', outcome: 'skipped', detail: 'the incident is already resolved; left alone' });
      return 'resolved-already';
    }
    const progress = await incidentLedger.get(subject.incidentId);
    const ackedForThisEvent = acknowledgedForEvent(progress, event.eventId);
    // After the agent's own acknowledgement only an explicit human acknowledger counts as a takeover.
    const human =
      ackedForThisEvent && incident.acknowledgements.every((ack) => ack.acknowledger.id === botUserId)
        ? null
        : humanAcknowledger(incident, botUserId);
    holding.acknowledgedByAgent = ackedForThisEvent || (incident.status === 'acknowledged' && human === null);
    const earlierEscalation =
      progress?.escalatedFor === event.eventId && progress.escalationTarget !== undefined
        ? { target: progress.escalationTarget, confirmed: progress.escalationConfirmedFor === event.eventId }
        : undefined;
    // Only `act` acknowledges: in `observe` and `note` PagerDuty keeps paging the humans as if the agent were absent.
    const mayAcknowledge = human === null && !ackedForThisEvent && run.writes.acknowledge;
    // An earlier delivery that handed this event over without acknowledging it had found no rule to keep it: never take it back.
    const handedOverBefore = earlierEscalation !== undefined || progress?.leftWithOnCallFor === event.eventId;
    const handToOnCallFirst =
      mayAcknowledge && !holding.acknowledgedByAgent && (handedOverBefore || this.deps.mayKeep?.(incident) === false);
    if (mayAcknowledge && !handToOnCallFirst) await this.acknowledge(run);
    // Someone other than the agent is assigned: PagerDuty pages them. Nobody, or only the agent: it must be escalated.
    const pagedPeople = incident.assignments.some((assignment) => assignment.assignee.id !== botUserId);
    const handOver = !handToOnCallFirst ? null : pagedPeople && earlierEscalation === undefined ? 'already-theirs' : 'escalate';
    holding.mustHandOver = handOver === 'escalate' && earlierEscalation?.confirmed !== true;
    return {
      incident,
      alerts,
      humanAcknowledger: human,
      everEscalated: progress?.escalatedAt !== undefined || progress?.handedBackAt !== undefined,
      handOver,
      ...(earlierEscalation === undefined ? {} : { earlierEscalation }),
    };
  }

  /**
   * The incident as PagerDuty holds it now, with its alerts: one request when its alerts embed it (`include[]=incidents`),
   * a second one when they cannot (no alert yet, or an embedded incident too thin to decide on). A refusal of the alerts
   * alone (plan, permission) degrades the evidence as it would in the gathering, and the incident is read by itself.
   */
  private async readIncident(run: IncidentRun): Promise<{ incident: Incident; alerts: AlertsRun }> {
    const { api } = run.connection;
    const { incidentId } = run.subject;
    let alerts: AlertsRun;
    let incident: Incident | null = null;
    try {
      // The retry policy hands back the answer it accepted, typed as the call's.
      const read = (await run.retry.idempotent('read incident and alerts', () => api.listAlertsWithIncident(incidentId)))
        .response as AlertsWithIncident;
      alerts = { results: { alerts: { alerts: read.value, notRead: read.notRead } }, unavailable: [] };
      incident = read.incident;
    } catch (error) {
      const refused = error instanceof OperationFailedError && !error.retryable ? explainPagerDutyFailure(error) : null;
      if (refused === null) throw error;
      alerts = { results: {}, unavailable: [{ source: 'alerts', reason: refused }] };
    }
    incident ??= (await run.retry.idempotent('read incident', () => api.getIncident(incidentId))).response.value;
    return { incident, alerts };
  }

  /** The acknowledgement as the agent, and the ledger's record of it; from here on the agent must finish or hand back. */
  private async acknowledge(run: IncidentRun): Promise<void> {
    const { incidentLedger, metrics } = this.deps;
    const { event, subject } = run;
    // Written before the call: a delivery that dies between PagerDuty's answer and markAcknowledged (or loses the
    // answer) leaves this mark, so a later delivery that must stop before it can read the incident asks PagerDuty who
    // holds it instead of giving up on an incident the agent silenced.
    await incidentLedger.markAcknowledgementUnconfirmed(subject.incidentId, event.eventId, this.clock());
    const ack = await run.actions.acknowledge();
    await incidentLedger.markAcknowledged(subject.incidentId, event.eventId, this.clock());
    run.holding.acknowledgedByAgent = true;
    if (ack.response.alreadyDone === true) return;
    metrics.addMetric(MetricName.incidentAcknowledged, 'Count', 1);
    if (event.occurredAt !== null) {
      metrics.addMetric(MetricName.timeToAcknowledge, 'Milliseconds', Math.max(0, this.clock().getTime() - Date.parse(event.occurredAt)));
    }
  }

  /**
   * Gathers the context. An incident handed over before triage is left with its on-call people at once (the ledger keeps
   * it), or escalated as soon as the on-calls are read (they say which level to page) while the other reads go on; both
   * are waited for, and a failed escalation is the error that counts.
   */
  private async gather(run: IncidentRun, ownership: Ownership): Promise<IncidentContext> {
    const gathering = startGathering(ownership.incident, {
      ...this.deps.context,
      alertsRead: ownership.alerts,
      api: run.connection.api,
      retry: run.retry,
      policy: this.deps.settings.triage,
      settings: this.deps.gather,
      now: this.clock,
    });
    if (ownership.handOver === null) return gathering.context;
    if (ownership.handOver === 'already-theirs') {
      await this.deps.incidentLedger.markLeftWithOnCall(run.subject.incidentId, run.event.eventId, this.clock());
      run.holding.handedToOnCall = true;
      return gathering.context;
    }
    const handing = gathering.oncalls().then((oncalls) => this.handToOnCall(run, ownership, oncalls ?? []));
    const [handed, gathered] = await Promise.allSettled([handing, gathering.context]);
    if (handed.status === 'rejected') throw handed.reason;
    if (gathered.status === 'rejected') throw gathered.reason;
    return gathered.value;
  }

  /** The escalation before triage, of an incident the agent never acknowledged but PagerDuty assigned to it. */
  private async handToOnCall(run: IncidentRun, ownership: Ownership, oncalls: Oncall[]): Promise<void> {
    if (ownership.earlierEscalation?.confirmed !== true) {
      const reason = 'No rule lets the agent keep an incident like this: on-call takes it at once, and the hypothesis note follows.';
      await run.actions.escalate(ownership.incident, oncalls, reason, {
        forEvent: run.event.eventId,
        repeat: ownership.earlierEscalation?.target,
      });
      this.deps.metrics.addMetric(MetricName.incidentEscalated, 'Count', 1);
    }
    run.holding.handedToOnCall = true;
    run.holding.mustHandOver = false;
  }

  private checkScheduling(): CheckSchedulingDeps {
    return { scheduler: this.deps.scheduler, settings: this.deps.settings, audit: this.deps.audit, clock: this.clock };
  }

  /** The rules' hypothesis (refined when Bedrock is on); a human who acknowledged first turns any decision into a hold. */
  private async decide(run: IncidentRun, context: IncidentContext, human: string | null): Promise<Hypothesis> {
    const hypothesis = withPrediction(await this.runTriage(context, run.subject), context, this.checkScheduling());
    if (human === null) return hypothesis;
    return {
      ...hypothesis,
      decision: 'hold',
      decisionReason: `${human} acknowledged it before the agent: the agent leaves it with them, pages nobody and changes nothing.`,
    };
  }

  /** Posts the hypothesis note exactly once per trigger event; returns its id. */
  private async postNote(run: IncidentRun, context: IncidentContext, hypothesis: Hypothesis): Promise<string | null> {
    const { eventId } = run.event;
    const footer = run.actions.footer(eventId);
    const markdown = this.deps.notes.hypothesisNote(hypothesis, context, footer);
    if (!run.writes.note) {
      // Observe mode: the note goes to the audit trail, where the team reads what the agent would have said.
      await this.deps.audit.record({
        ...run.subject,
        action: 'note',
        outcome: 'skipped',
        hypothesisSummary: hypothesis.summary,
        detail: `${run.rollout.mode} mode (${run.rollout.reason}): not posted to PagerDuty. ${WOULD_BE_NOTE_LABEL}\n${markdown}`,
      });
      return null;
    }
    const note = await run.actions.postNote(eventId, markdown, footer.ref, hypothesis.summary, true);
    if (note.postedNow) this.deps.metrics.addMetric(MetricName.notePosted, 'Count', 1);
    return note.noteId;
  }

  private async leaveWithHuman(
    run: IncidentRun,
    context: IncidentContext,
    hypothesis: Hypothesis,
    noteId: string | null,
  ): Promise<ProcessOutcome> {
    await this.deps.incidentLedger.recordDecision(run.subject.incidentId, 'left-with-human', this.decisionFacts(run, context, hypothesis));
    await this.deps.audit.record({
      ...run.subject,
      action: 'triage',
      outcome: 'recorded',
      decision: 'left-with-human',
      hypothesisSummary: hypothesis.summary,
      detail: hypothesis.decisionReason,
    });
    return { status: 'triaged', decision: 'left-with-human', noteId };
  }

  /** What the outcome is later compared with: the named cause, and the rollout stage the decision was made in. */
  private decisionFacts(run: IncidentRun, context: IncidentContext, hypothesis: Hypothesis): DecisionFacts {
    return { cause: hypothesisCause(hypothesis, context, this.deps.settings.triage), rolloutMode: run.rollout.mode };
  }

  /** An earlier delivery of this event acknowledged (or may have) before the rollout stage changed. */
  private async mayHoldFromEarlierDelivery(run: IncidentRun): Promise<boolean> {
    const progress = await this.deps.incidentLedger.get(run.subject.incidentId);
    return acknowledgedForEvent(progress, run.event.eventId) || progress?.acknowledgementUnconfirmedBy === run.event.eventId;
  }

  /** Outside the rollout sample the agent leaves the incident alone entirely: no triage, no writes, one audit row. */
  private async leaveUnsampled(run: IncidentRun): Promise<ProcessOutcome> {
    await this.deps.audit.record({
      ...run.subject,
      action: 'record',
      outcome: 'skipped',
      detail: `not in the rollout sample; the agent leaves it to the humans (${run.rollout.reason})`,
    });
    return { status: 'ignored' };
  }

  /**
   * The agent had to stop (budget or time spent, or PagerDuty refused for good). Acknowledged by the agent: hand back
   * with one attempt per call. Not acknowledged as far as this delivery knows: give up (PagerDuty keeps paging), unless
   * this delivery's acknowledgement lost its answer or the ledger shows one for this event (an earlier delivery's,
   * confirmed or not), when PagerDuty's state decides. Any other error goes up for another delivery.
   */
  private async handBackOnStop(run: IncidentRun, error: unknown): Promise<ProcessOutcome> {
    const { audit, incidentLedger, metrics } = this.deps;
    const { event, subject, holding } = run;
    // An acknowledgement without an answer may have landed (its mark was written before the call).
    const acknowledgementLost = !holding.acknowledgedByAgent && run.retry.outcomeUnknown('acknowledge');
    const stop = error instanceof RetryStopError && (error.kind === 'budget-exhausted' || error.kind === 'out-of-time');
    const hopeless = error instanceof OperationFailedError && isPagerDutyError(error.cause) && !error.retryable;
    if (!stop && !hopeless) throw error;
    const reason = (error as Error).message;
    // The last chance: no retries left to spend, one attempt per call while any time is left.
    const lastChance = new RetryPolicy({
      budget: localBudget(0),
      remainingTimeMs: () => run.invocation.remainingTimeMs(),
      pacer: run.connection.pacer,
      settings: { minRemainingMs: HANDBACK_MIN_REMAINING_MS },
    });
    let incident = holding.incident;
    // An incident paging only the agent is as good as silenced: it is handed back like one the agent acknowledged.
    if (holding.mustHandOver && incident !== undefined) {
      await this.actionsFor(run, lastChance).handBack(incident, reason);
      metrics.addMetric(MetricName.handedBack, 'Count', 1);
      return { status: 'handed-back', reason };
    }
    if (!holding.acknowledgedByAgent || incident === undefined) {
      // Whether this delivery got to acknowledge says nothing about earlier ones: the ledger does, and PagerDuty decides.
      const progress = acknowledgementLost ? undefined : await incidentLedger.get(subject.incidentId);
      const mayHaveLanded =
        acknowledgementLost || progress?.acknowledgementUnconfirmedBy === event.eventId || acknowledgedForEvent(progress, event.eventId);
      const held = mayHaveLanded ? await this.heldByAgent(event, subject, run.connection, lastChance, error) : undefined;
      if (held === undefined) {
        metrics.addMetric(MetricName.gaveUp, 'Count', 1);
        await audit.record({
          ...subject,
          action: 'record',
          outcome: 'failed',
          detail: `gave up (${givenUpBecause(mayHaveLanded, holding.handedToOnCall)}): ${reason}`,
        });
        return { status: 'gave-up' };
      }
      incident = held;
    }
    await this.actionsFor(run, lastChance).handBack(incident, reason);
    metrics.addMetric(MetricName.handedBack, 'Count', 1);
    return { status: 'handed-back', reason };
  }

  /**
   * The agent must stop and its acknowledgement may have landed: one read outside the budget says. The incident when
   * the agent holds it (acknowledged by nobody else), undefined when it does not; without an answer the event fails
   * and comes back, so that a later delivery or the dead-letter handback finds out.
   */
  private async heldByAgent(
    event: WebhookEvent,
    subject: IncidentSubject,
    connection: AgentConnection,
    lastChance: RetryPolicy,
    stopped: unknown,
  ): Promise<Incident | undefined> {
    this.deps.metrics.addMetric(MetricName.acknowledgementUnconfirmed, 'Count', 1);
    let current: Incident;
    try {
      current = (await lastChance.idempotent('read incident', () => connection.api.getIncident(subject.incidentId))).response.value;
    } catch (readError) {
      const retryAfter =
        readError instanceof ThrottledError ? readError.retryAfterSeconds : (this.deps.retryLaterSeconds ?? RETRY_LATER_SECONDS);
      throw new AcknowledgementUnknownError(event.eventId, subject.incidentId, retryAfter, stopped, readError);
    }
    if (!acknowledgedByAgentAlone(current, connection.botUserId)) return undefined;
    await this.deps.incidentLedger.markAcknowledged(subject.incidentId, event.eventId, this.clock());
    return current;
  }

  private async runTriage(context: IncidentContext, subject: IncidentSubject): Promise<Hypothesis> {
    const startedAt = Date.now();
    const rules = this.deps.triage(context);
    let hypothesis = rules;
    if (this.deps.settings.triage.bedrock.enabled && this.deps.refine !== undefined) {
      // The refiner keeps its own deadline and falls back to the rules' hypothesis on any failure.
      const result = await this.deps.refine(rules, context);
      hypothesis = keepSaferDecision(rules, result.hypothesis);
      if (!result.refined) {
        await this.deps.audit.record({
          ...subject,
          action: 'triage',
          outcome: 'skipped',
          detail: `Bedrock refinement not used, the rules' hypothesis stands: ${result.fallbackReason ?? 'no reason given'}`,
        });
      }
    }
    this.deps.metrics.addMetric(MetricName.triageDuration, 'Milliseconds', Date.now() - startedAt);
    return hypothesis;
  }

  /**
   * Records the decision and carries it out: escalate, resolve (only on a rule's word and never after an escalation),
   * or hold. Acts on the incident as gathered, which is also what a hand-back from here on starts from.
   */
  private async act(
    run: IncidentRun,
    context: IncidentContext,
    hypothesis: Hypothesis,
    ownership: Ownership,
  ): Promise<Hypothesis['decision']> {
    const { everEscalated } = ownership;
    const { subject, actions } = run;
    const incident = context.incident;
    run.holding.incident = incident;
    const { audit, incidentLedger, metrics } = this.deps;
    let decision = hypothesis.decision;
    let reason = hypothesis.decisionReason;
    if (decision === 'resolve' && (everEscalated || hypothesis.ruleId === undefined)) {
      decision = everEscalated ? 'hold' : 'escalate';
      reason = everEscalated
        ? 'The agent escalated this incident before: it never resolves it; the humans on call own it.'
        : 'Only a rule may let the agent resolve; none did, so on-call takes it.';
    }
    // Outside `act` (or outside the sample) the agent only escalates what it already holds: an acknowledgement from an
    // earlier delivery made in `act`, before a deploy changed the stage. Holding it without acting would silence it.
    const mayAct = run.writes.escalate;
    if (!mayAct && run.holding.acknowledgedByAgent) {
      decision = 'escalate';
      reason = `The agent held this incident when its rollout stage changed (${run.rollout.reason}): on-call takes it.`;
    }
    if (run.holding.handedToOnCall) {
      // mayKeep said no rule could keep it, and evidence and the model only ever lower a decision.
      decision = 'escalate';
      reason =
        ownership.handOver === 'already-theirs'
          ? `${reason} No rule could leave it with the agent, so it never took it: PagerDuty pages the people it is assigned to.`
          : `${reason} On-call took it before triage finished: no rule could leave it with the agent.`;
    }
    await incidentLedger.recordDecision(subject.incidentId, decision, this.decisionFacts(run, context, hypothesis));
    const carriedOut = mayAct || run.holding.acknowledgedByAgent;
    await audit.record({
      ...subject,
      action: 'triage',
      outcome: 'recorded',
      decision,
      hypothesisSummary: hypothesis.summary,
      detail: carriedOut ? reason : `${reason} Not carried out: ${run.rollout.mode} mode (${run.rollout.reason}).`,
    });
    if (!carriedOut) {
      // The agent never acknowledged, so there is nothing to hand back: PagerDuty pages the humans as it would without it.
      await incidentLedger.markFinished(subject.incidentId);
      return decision;
    }

    if (decision === 'escalate') {
      if (!run.holding.handedToOnCall && ownership.earlierEscalation?.confirmed !== true) {
        await actions.escalate(incident, context.oncalls, reason, {
          forEvent: run.event.eventId,
          repeat: ownership.earlierEscalation?.target,
        });
        metrics.addMetric(MetricName.incidentEscalated, 'Count', 1);
      }
      await incidentLedger.markFinished(subject.incidentId);
      return 'escalate';
    }
    if (decision === 'resolve') {
      try {
        await incidentLedger.beginResolve(subject.incidentId);
      } catch (error) {
        if (!(error instanceof ResolveRefusedError)) throw error;
        await audit.record({ ...subject, action: 'resolve', outcome: 'skipped', detail: error.message });
        await incidentLedger.markFinished(subject.incidentId);
        metrics.addMetric(MetricName.incidentHeld, 'Count', 1);
        return 'hold';
      }
      await actions.resolve(`${this.deps.settings.agentName}: ${reason}`);
      await incidentLedger.markResolved(subject.incidentId, this.clock());
      metrics.addMetric(MetricName.incidentResolved, 'Count', 1);
      return 'resolve';
    }
    await incidentLedger.markFinished(subject.incidentId);
    metrics.addMetric(MetricName.incidentHeld, 'Count', 1);
    return 'hold';
  }
}
