import { explainPagerDutyFailure } from '../context/pagerduty/pagerduty-providers';
import { MetricName } from '../observability/telemetry';
import type { AlertsWithIncident, Incident } from '../pagerduty/types';
import type { AlertsRun } from './gather-context';
import { acknowledgedForEvent, humanAcknowledger, type IncidentRun, type Ownership, type StepDeps } from './incident-run';
import { OperationFailedError } from './retry-policy';

/** The first step of a triggering event: read the incident, and acknowledge it as the agent when it should. */

/**
 * Reads the incident and makes it the agent's: acknowledges it unless a human already did (or the agent did, for this
 * event, on an earlier delivery), or unless no rule could leave it with the agent: acknowledging an incident only to
 * escalate it seconds later silences it for nothing, flips its state in front of the responders and costs a write,
 * so such an incident is left with the people PagerDuty pages, or escalated to them when it is assigned to the agent
 * (`handOver`). `'resolved-already'` when there is nothing left to own.
 */
export async function takeOwnership(deps: StepDeps, run: IncidentRun): Promise<Ownership | 'resolved-already'> {
  const { audit, incidentLedger } = deps;
  const { event, subject, holding } = run;
  const { botUserId } = run.connection;
  const { incident, alerts } = await readIncident(run);
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
  const handToOnCallFirst = mayAcknowledge && !holding.acknowledgedByAgent && (handedOverBefore || deps.mayKeep?.(incident) === false);
  if (mayAcknowledge && !handToOnCallFirst) await acknowledge(deps, run);
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
async function readIncident(run: IncidentRun): Promise<{ incident: Incident; alerts: AlertsRun }> {
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
async function acknowledge(deps: StepDeps, run: IncidentRun): Promise<void> {
  const { incidentLedger, metrics } = deps;
  const { event, subject } = run;
  // Written before the call: a delivery that dies between PagerDuty's answer and markAcknowledged (or loses the
  // answer) leaves this mark, so a later delivery that must stop before it can read the incident asks PagerDuty who
  // holds it instead of giving up on an incident the agent silenced.
  await incidentLedger.markAcknowledgementUnconfirmed(subject.incidentId, event.eventId, deps.clock());
  const ack = await run.actions.acknowledge();
  await incidentLedger.markAcknowledged(subject.incidentId, event.eventId, deps.clock());
  run.holding.acknowledgedByAgent = true;
  if (ack.response.alreadyDone === true) return;
  metrics.addMetric(MetricName.incidentAcknowledged, 'Count', 1);
  if (event.occurredAt !== null) {
    metrics.addMetric(MetricName.timeToAcknowledge, 'Milliseconds', Math.max(0, deps.clock().getTime() - Date.parse(event.occurredAt)));
  }
}
