import { MetricName } from '../observability/telemetry';
import { hypothesisCause } from '../outcomes/hypothesis-cause';
import type { Incident } from '../pagerduty/types';
import { ResolveRefusedError, type DecisionFacts, type RecordedDecision } from '../state/incident-ledger';
import type { Hypothesis, IncidentContext } from '../triage/types';
import { takeoverSince, type IncidentRun, type Ownership, type ProcessOutcome, type StepDeps } from './incident-run';

/** The last step: record the decision and carry it out, or leave the incident with the person who acknowledged it. */

/**
 * Records the decision and carries it out: escalate, resolve (only on a rule's word and never after an escalation),
 * or hold; or leaves the incident with the people PagerDuty pages. Acts on the incident as gathered, read again just
 * before an escalation or a resolve; that read is also what a hand-back from here on starts from.
 */
export async function act(
  deps: StepDeps,
  run: IncidentRun,
  context: IncidentContext,
  hypothesis: Hypothesis,
  ownership: Ownership,
): Promise<RecordedDecision> {
  const { everEscalated } = ownership;
  const { subject, actions } = run;
  const incident = context.incident;
  run.holding.incident = incident;
  const { audit, incidentLedger, metrics } = deps;
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
    if (ownership.handOver === 'already-theirs') {
      const why = `${reason} The agent never took it: PagerDuty pages the people it is assigned to.`;
      return leaveWithOnCall(deps, run, context, hypothesis, why);
    }
    // Escalated as the gathering started (no rule could keep it, or observe and note modes' hand-over).
    const why = `${reason} On-call took it before triage finished: it paged only the agent, and the agent did not keep it.`;
    await record(deps, run, context, hypothesis, 'escalated', why);
    await incidentLedger.markFinished(subject.incidentId);
    return 'escalated';
  }
  const carriedOut = mayAct || run.holding.acknowledgedByAgent;
  if (!carriedOut) {
    // The agent never acknowledged, so there is nothing to hand back: PagerDuty pages the humans as it would without it.
    const named = ownership.staysWithOnCall ? 'left-with-on-call' : NAMED[decision];
    await record(deps, run, context, hypothesis, named, `${reason} Not carried out: ${run.rollout.mode} mode (${run.rollout.reason}).`);
    await incidentLedger.markFinished(subject.incidentId);
    return named;
  }
  const escalating = decision === 'escalate' && ownership.earlierEscalation?.confirmed !== true;
  if (escalating || decision === 'resolve') {
    const taker = await takenOverMeanwhile(run, incident);
    if (taker !== null) {
      const why = `${taker} since the agent read it: they have it, so the agent neither ${decision === 'resolve' ? 'resolves' : 'escalates'} it nor changes anything.`;
      await incidentLedger.markLeftWithOnCall(subject.incidentId, run.event.eventId, deps.clock());
      return leaveWithOnCall(deps, run, context, hypothesis, why);
    }
  }
  if (decision === 'escalate') {
    await record(deps, run, context, hypothesis, 'escalated', reason);
    if (escalating) {
      await actions.escalate(incident, context.oncalls, reason, {
        forEvent: run.event.eventId,
        repeat: ownership.earlierEscalation?.target,
      });
      metrics.addMetric(MetricName.incidentEscalated, 'Count', 1);
    }
    await incidentLedger.markFinished(subject.incidentId);
    return 'escalated';
  }
  if (decision === 'resolve') {
    try {
      await incidentLedger.beginResolve(subject.incidentId);
    } catch (error) {
      if (!(error instanceof ResolveRefusedError)) throw error;
      await record(deps, run, context, hypothesis, 'held', `${reason} ${error.message}`);
      await audit.record({ ...subject, action: 'resolve', outcome: 'skipped', detail: error.message });
      await incidentLedger.markFinished(subject.incidentId);
      metrics.addMetric(MetricName.incidentHeld, 'Count', 1);
      return 'held';
    }
    await record(deps, run, context, hypothesis, 'resolved', reason);
    await actions.resolve(`${deps.settings.agentName}: ${reason}`);
    await incidentLedger.markResolved(subject.incidentId, deps.clock());
    metrics.addMetric(MetricName.incidentResolved, 'Count', 1);
    return 'resolved';
  }
  await record(deps, run, context, hypothesis, 'held', reason);
  await incidentLedger.markFinished(subject.incidentId);
  metrics.addMetric(MetricName.incidentHeld, 'Count', 1);
  return 'held';
}

/** What the rules' decision becomes in the record when it is carried out. */
const NAMED: Record<Hypothesis['decision'], RecordedDecision> = { escalate: 'escalated', hold: 'held', resolve: 'resolved' };

/**
 * The incident read again just before an escalation or a resolve: a person who acknowledged, reassigned or resolved it
 * since the agent read it wins. Their name and what they did, or null when nothing changed hands.
 */
async function takenOverMeanwhile(run: IncidentRun, seen: Incident): Promise<string | null> {
  const { api, botUserId } = run.connection;
  const { response } = await run.retry.idempotent('read incident (before acting)', () => api.getIncident(run.subject.incidentId));
  run.holding.incident = response.value;
  return takeoverSince(seen, response.value, botUserId);
}

/** Leaves the incident with the people PagerDuty pages, or with the person who took it over: the agent pages nobody. */
async function leaveWithOnCall(
  deps: StepDeps,
  run: IncidentRun,
  context: IncidentContext,
  hypothesis: Hypothesis,
  reason: string,
): Promise<RecordedDecision> {
  await record(deps, run, context, hypothesis, 'left-with-on-call', reason);
  await deps.incidentLedger.markFinished(run.subject.incidentId);
  deps.metrics.addMetric(MetricName.incidentLeftWithOnCall, 'Count', 1);
  return 'left-with-on-call';
}

/** The decision in the ledger (with what the outcome is later compared with) and in the audit trail. */
async function record(
  deps: StepDeps,
  run: IncidentRun,
  context: IncidentContext,
  hypothesis: Hypothesis,
  decision: RecordedDecision,
  reason: string,
): Promise<void> {
  await deps.incidentLedger.recordDecision(run.subject.incidentId, decision, decisionFacts(deps, run, context, hypothesis));
  await deps.audit.record({
    ...run.subject,
    action: 'triage',
    outcome: 'recorded',
    decision,
    hypothesisSummary: hypothesis.summary,
    detail: reason,
  });
}

/** A person acknowledged the incident before the agent did: the agent posted its note and leaves it with them. */
export async function leaveWithHuman(
  deps: StepDeps,
  run: IncidentRun,
  context: IncidentContext,
  hypothesis: Hypothesis,
  noteId: string | null,
): Promise<ProcessOutcome> {
  const decision = await leaveWithOnCall(deps, run, context, hypothesis, hypothesis.decisionReason);
  return { status: 'triaged', decision, noteId };
}

/** What the outcome is later compared with: the named cause, and the rollout stage the decision was made in. */
function decisionFacts(deps: StepDeps, run: IncidentRun, context: IncidentContext, hypothesis: Hypothesis): DecisionFacts {
  return { cause: hypothesisCause(hypothesis, context, deps.settings.triage), rolloutMode: run.rollout.mode };
}
