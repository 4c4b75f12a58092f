import type { AuditSubject } from '../audit/audit-log';
import { messageOf } from '../errors/message-of';
import { MetricName } from '../observability/telemetry';
import { OUTCOME_READ_RETRIES } from '../outcomes/outcome-recorder';
import { allowedWrites, resolveRollout } from '../rollout/rollout';
import type { QueuedEvent } from '../queue/queued-event';
import type { FinishedStatus } from '../state/work-ledger';
import { evaluateFilters } from '../webhook/filters';
import { parseWebhookEvent } from '../webhook/parse-event';
import type { WebhookEvent } from '../webhook/webhook-event';
import { act, leaveWithHuman } from './act';
import { scheduleChecksAfterTriage } from './schedule-checks';
import type { AgentConnection, Invocation } from './agent-ports';
import { decide } from './decide';
import { LeaseHeldError, NoTimeToStartError, RETRY_LATER_SECONDS, RetryLaterError } from './event-errors';
import { gather } from './gather-step';
import {
  acknowledgedForEvent,
  actionsFor,
  checkScheduling,
  pagesOnlyTheAgent,
  type IncidentRun,
  type IncidentSubject,
  type ProcessEventDeps,
  type ProcessOutcome,
  type StepDeps,
} from './incident-run';
import { postNote } from './post-note';
import {
  DEFAULT_RETRY_SETTINGS,
  RetryPolicy,
  RetryStopError,
  ThrottledError,
  localBudget,
  webhookBudget,
  type RetryDeps,
} from './retry-policy';
import { handBackOnStop } from './stop-handback';
import { takeOwnership } from './take-ownership';
import { FULL_TRUST, type RuleTrust } from '../trust/rule-trust';

export { AcknowledgementUnknownError, LeaseHeldError, NoTimeToStartError, RetryLaterError } from './event-errors';
export { acknowledgedByAgentAlone, pagesOnlyTheAgent, type ProcessEventDeps, type ProcessOutcome } from './incident-run';
export { keepSaferDecision } from './decide';

/**
 * What the worker does with one queued webhook event (docs/how-it-works.md "The agent: what it does to an incident"): claim it, parse, filter, and for
 * `incident.triggered` / `incident.reopened`: read, acknowledge as the agent, gather, triage, post one note, act.
 * When the retry budget or the Lambda's time runs out after the agent acknowledged: audit, hand back, stop. When it
 * runs out and the agent cannot know whether its acknowledgement landed (the answer was lost), PagerDuty's state
 * decides: one read, and a handback if the agent holds the incident; without that read the event fails and comes
 * back (or reaches the dead-letter handback), it is never given up on.
 */
export const TRIGGERING_EVENT_TYPES = ['incident.triggered', 'incident.reopened'];

const DEFAULT_LEASE_MARGIN_MS = 10_000;

/** Runs the steps (take-ownership, gather-step, decide, post-note, act, stop-handback) for each event it is given. */
export class EventProcessor {
  private readonly deps: StepDeps;

  constructor(deps: ProcessEventDeps) {
    this.deps = { ...deps, clock: deps.clock ?? (() => new Date()) };
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
      now: this.deps.clock(),
    });
    if (!claim.claimed) {
      if (claim.reason === 'finished') return { status: 'already-finished' };
      throw new LeaseHeldError(queued.eventId, Math.max(1, Math.ceil((claim.leaseUntil - this.deps.clock().getTime()) / 1000)));
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
    if (event.eventType === 'incident.annotated' && event.incidentId !== null) {
      const answered = await this.answerRequest(
        event,
        { ...subject, incidentId: event.incidentId },
        queued,
        connection,
        invocation,
        failedCalls,
      );
      if (answered !== undefined) return answered;
    }
    if (event.eventType === 'incident.unacknowledged' && event.incidentId !== null) {
      return this.handOverUnacknowledged(event, { ...subject, incidentId: event.incidentId }, connection, invocation, failedCalls);
    }
    if (!TRIGGERING_EVENT_TYPES.includes(event.eventType) || event.incidentId === null) {
      await audit.record({ ...subject, action: 'record', outcome: 'recorded', detail: `${event.eventType}: recorded, nothing to triage` });
      return { status: 'recorded' };
    }
    return this.triageIncident(event, { ...subject, incidentId: event.incidentId }, connection, invocation, failedCalls);
  }

  /**
   * PagerDuty took an acknowledgement back (the service's acknowledgement timeout, or a person un-acknowledging): on a
   * policy that pages the agent first the incident is then assigned to the agent alone and pages nobody. It is handed
   * to the people above the agent at once, the one write every rollout mode allows; one that pages people is left be.
   */
  private async handOverUnacknowledged(
    event: WebhookEvent,
    subject: IncidentSubject,
    connection: AgentConnection,
    invocation: Invocation,
    failedCalls: string[],
  ): Promise<ProcessOutcome> {
    // Only the people above the agent are paged here: no rule holds anything, so no rule's standing is read.
    const run = this.startRun(event, subject, connection, invocation, failedCalls, FULL_TRUST);
    const incident = (await run.retry.idempotent('read incident', () => connection.api.getIncident(subject.incidentId))).response.value;
    if (!pagesOnlyTheAgent(incident, connection.botUserId)) {
      const detail = 'incident.unacknowledged: it pages people (or is no longer triggered); nothing to hand over';
      await this.deps.audit.record({ ...subject, action: 'record', outcome: 'recorded', detail });
      return { status: 'recorded' };
    }
    const reason = 'PagerDuty took the acknowledgement back and the incident paged only the agent: the people above it take it now.';
    await run.actions.escalate(incident, [], reason, { forEvent: event.eventId });
    this.deps.metrics.addMetric(MetricName.incidentEscalated, 'Count', 1);
    return { status: 'handed-back', reason };
  }

  /**
   * A person's `pd-agent:` note answered with one note (lib/requests/answer-request.ts), its calls retried from the
   * event's budget. Undefined when the note asks nothing (plain notes and `right|wrong` feedback are only recorded).
   */
  private async answerRequest(
    event: WebhookEvent,
    subject: IncidentSubject,
    queued: QueuedEvent,
    connection: AgentConnection,
    invocation: Invocation,
    failedCalls: string[],
  ): Promise<ProcessOutcome | undefined> {
    if (this.deps.requests === undefined) return undefined;
    const retry = this.eventRetryPolicy(event.eventId, invocation, connection, failedCalls);
    const answered = await this.deps.requests.answer({
      event,
      rawBody: Buffer.from(queued.rawBodyBase64, 'base64'),
      connection,
      retry,
      actions: actionsFor(this.deps, { subject, connection }, retry),
    });
    if (answered.status === 'not-a-request' || answered.status === 'feedback') return undefined;
    return { status: 'recorded' };
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
    // Read before anything is acknowledged: a failed read sends the event back untouched.
    const trust = (await this.deps.ruleTrust?.(subject.incidentId)) ?? FULL_TRUST;
    const run = this.startRun(event, subject, connection, invocation, failedCalls, trust);
    if (!run.rollout.sampled && !(await this.mayHoldFromEarlierDelivery(run))) return this.leaveUnsampled(run);
    try {
      const ownership = await takeOwnership(this.deps, run);
      if (ownership === 'resolved-already') return { status: 'resolved-already' };
      const context = await gather(this.deps, run, ownership);
      const hypothesis = await decide(this.deps, run, context, ownership.humanAcknowledger);
      const noteId = await postNote(this.deps, run, context, hypothesis);
      const outcome =
        ownership.humanAcknowledger !== null
          ? await leaveWithHuman(this.deps, run, context, hypothesis, noteId)
          : { status: 'triaged' as const, decision: await act(this.deps, run, context, hypothesis, ownership), noteId };
      await scheduleChecksAfterTriage(checkScheduling(this.deps), {
        subject: run.subject,
        triggerEventId: event.eventId,
        decision: outcome.status === 'triaged' ? outcome.decision : 'left-with-on-call',
        heldByAgent: run.holding.acknowledgedByAgent,
        hypothesis,
        context,
        escalateUnboundedHold: (reason) =>
          run.actions.escalate(context.incident, context.oncalls, reason, { forEvent: event.eventId }).then(() => undefined),
      });
      return outcome;
    } catch (error) {
      return handBackOnStop(this.deps, run, error);
    }
  }

  private startRun(
    event: WebhookEvent,
    subject: IncidentSubject,
    connection: AgentConnection,
    invocation: Invocation,
    failedCalls: string[],
    trust: RuleTrust,
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
    return { ...run, actions: actionsFor(this.deps, run, retry), rollout, writes: allowedWrites(rollout), trust };
  }

  /** The event's retry policy: every repeat of a failed call, in this delivery or an earlier one, spends its budget. */
  private eventRetryPolicy(eventId: string, invocation: Invocation, connection: AgentConnection, failedCalls: string[]): RetryPolicy {
    return this.retryPolicy(invocation, connection, {
      budget: webhookBudget(this.deps.workLedger, eventId),
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
}
