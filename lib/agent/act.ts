import { MetricName } from '../observability/telemetry';
import { hypothesisCause } from '../outcomes/hypothesis-cause';
import { ResolveRefusedError, type DecisionFacts } from '../state/incident-ledger';
import type { Hypothesis, IncidentContext } from '../triage/types';
import type { IncidentRun, Ownership, ProcessOutcome, StepDeps } from './incident-run';

/** The last step: record the decision and carry it out, or leave the incident with the person who acknowledged it. */

/**
 * Records the decision and carries it out: escalate, resolve (only on a rule's word and never after an escalation),
 * or hold. Acts on the incident as gathered, which is also what a hand-back from here on starts from.
 */
export async function act(
  deps: StepDeps,
  run: IncidentRun,
  context: IncidentContext,
  hypothesis: Hypothesis,
  ownership: Ownership,
): Promise<Hypothesis['decision']> {
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
    // mayKeep said no rule could keep it, and evidence and the model only ever lower a decision.
    decision = 'escalate';
    reason =
      ownership.handOver === 'already-theirs'
        ? `${reason} No rule could leave it with the agent, so it never took it: PagerDuty pages the people it is assigned to.`
        : `${reason} On-call took it before triage finished: no rule could leave it with the agent.`;
  }
  await incidentLedger.recordDecision(subject.incidentId, decision, decisionFacts(deps, run, context, hypothesis));
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
    await actions.resolve(`${deps.settings.agentName}: ${reason}`);
    await incidentLedger.markResolved(subject.incidentId, deps.clock());
    metrics.addMetric(MetricName.incidentResolved, 'Count', 1);
    return 'resolve';
  }
  await incidentLedger.markFinished(subject.incidentId);
  metrics.addMetric(MetricName.incidentHeld, 'Count', 1);
  return 'hold';
}

export async function leaveWithHuman(
  deps: StepDeps,
  run: IncidentRun,
  context: IncidentContext,
  hypothesis: Hypothesis,
  noteId: string | null,
): Promise<ProcessOutcome> {
  await deps.incidentLedger.recordDecision(run.subject.incidentId, 'left-with-human', decisionFacts(deps, run, context, hypothesis));
  await deps.audit.record({
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
function decisionFacts(deps: StepDeps, run: IncidentRun, context: IncidentContext, hypothesis: Hypothesis): DecisionFacts {
  return { cause: hypothesisCause(hypothesis, context, deps.settings.triage), rolloutMode: run.rollout.mode };
}
