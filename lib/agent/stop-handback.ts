import { MetricName } from '../observability/telemetry';
import { isPagerDutyError } from '../pagerduty/errors';
import type { Incident } from '../pagerduty/types';
import type { WebhookEvent } from '../webhook/webhook-event';
import type { AgentConnection } from './agent-ports';
import { AcknowledgementUnknownError, RETRY_LATER_SECONDS } from './event-errors';
import {
  acknowledgedByAgentAlone,
  acknowledgedForEvent,
  actionsFor,
  type IncidentRun,
  type IncidentSubject,
  type ProcessOutcome,
  type StepDeps,
} from './incident-run';
import { OperationFailedError, RetryPolicy, RetryStopError, ThrottledError, localBudget } from './retry-policy';

/** Enough for the escalation and the handback note (one request each, 5 s timeout) to start. */
const HANDBACK_MIN_REMAINING_MS = 1500;

/** Why stopping leaves nobody silenced, for the audit trail. */
function givenUpBecause(acknowledgementMayHaveLanded: boolean, handedToOnCall: boolean): string {
  if (handedToOnCall) return 'on-call already had it: the agent never acknowledged it';
  if (acknowledgementMayHaveLanded) return 'PagerDuty does not show it held by the agent alone, PagerDuty keeps paging';
  return 'the agent had not acknowledged it, PagerDuty keeps paging';
}

/**
 * The agent had to stop (budget or time spent, or PagerDuty refused for good). Acknowledged by the agent: hand back
 * with one attempt per call. Not acknowledged as far as this delivery knows: give up (PagerDuty keeps paging), unless
 * this delivery's acknowledgement lost its answer or the ledger shows one for this event (an earlier delivery's,
 * confirmed or not), when PagerDuty's state decides. Any other error goes up for another delivery.
 */
export async function handBackOnStop(deps: StepDeps, run: IncidentRun, error: unknown): Promise<ProcessOutcome> {
  const { audit, incidentLedger, metrics } = deps;
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
  // Paging only the agent but never acknowledged: PagerDuty's escalation timer runs, so past the cap the agent stops.
  if (holding.mustHandOver && !holding.acknowledgedByAgent) {
    metrics.addMetric(MetricName.gaveUp, 'Count', 1);
    const detail = `stopped at the retry cap before its hand-over escalation landed; never acknowledged, so PagerDuty's escalation policy pages the next level when this one times out: ${reason}`;
    await audit.record({ ...subject, action: 'record', outcome: 'failed', detail });
    return { status: 'gave-up' };
  }
  if (!holding.acknowledgedByAgent || incident === undefined) {
    // Whether this delivery got to acknowledge says nothing about earlier ones: the ledger does, and PagerDuty decides.
    const progress = acknowledgementLost ? undefined : await incidentLedger.get(subject.incidentId);
    const mayHaveLanded =
      acknowledgementLost || progress?.acknowledgementUnconfirmedBy === event.eventId || acknowledgedForEvent(progress, event.eventId);
    const held = mayHaveLanded ? await heldByAgent(deps, event, subject, run.connection, lastChance, error) : undefined;
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
  // Beyond the budget once per webhook (its timer paused, the incident must not wait); then the dead-letter handback.
  if (!(await deps.workLedger.claimLastChance(event.eventId, deps.clock()))) throw error;
  await actionsFor(deps, run, lastChance).handBack(incident, reason, { note: run.writes.note });
  metrics.addMetric(MetricName.handedBack, 'Count', 1);
  return { status: 'handed-back', reason };
}

/**
 * The agent must stop and its acknowledgement may have landed: one read outside the budget says. The incident when
 * the agent holds it (acknowledged by nobody else), undefined when it does not; without an answer the event fails
 * and comes back, so that a later delivery or the dead-letter handback finds out.
 */
async function heldByAgent(
  deps: StepDeps,
  event: WebhookEvent,
  subject: IncidentSubject,
  connection: AgentConnection,
  lastChance: RetryPolicy,
  stopped: unknown,
): Promise<Incident | undefined> {
  deps.metrics.addMetric(MetricName.acknowledgementUnconfirmed, 'Count', 1);
  let current: Incident;
  try {
    current = (await lastChance.idempotent('read incident', () => connection.api.getIncident(subject.incidentId))).response.value;
  } catch (readError) {
    const retryAfter = readError instanceof ThrottledError ? readError.retryAfterSeconds : (deps.retryLaterSeconds ?? RETRY_LATER_SECONDS);
    throw new AcknowledgementUnknownError(event.eventId, subject.incidentId, retryAfter, stopped, readError);
  }
  if (!acknowledgedByAgentAlone(current, connection.botUserId)) return undefined;
  await deps.incidentLedger.markAcknowledged(subject.incidentId, event.eventId, deps.clock());
  return current;
}
