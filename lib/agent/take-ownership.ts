import { explainPagerDutyFailure } from '../context/pagerduty/pagerduty-providers';
import { MetricName } from '../observability/telemetry';
import type { AlertsWithIncident, Incident } from '../pagerduty/types';
import type { AlertsRun } from './gather-context';
import type { AcknowledgeSetting } from '../config/agent-config';
import {
  acknowledgedForEvent,
  humanAcknowledger,
  pagesOnlyTheAgent,
  type IncidentRun,
  type Ownership,
  type StepDeps,
} from './incident-run';
import { OperationFailedError } from './retry-policy';

/** The first step of a triggering event: read the incident, and acknowledge it as the agent when it should. */

/**
 * Whether the agent acknowledges a triggering incident as itself when it starts triaging (AGENT_CONFIG.acknowledge).
 * `pagesOnlyAgent`: PagerDuty assigned it to the agent alone or to nobody, so nobody else was paged and the
 * acknowledgement is silent to the team. `ruleMayKeep`: a rule could leave it with the agent.
 */
export function acknowledgesOnStart(setting: AcknowledgeSetting, facts: { pagesOnlyAgent: boolean; ruleMayKeep: boolean }): boolean {
  if (setting === 'always') return true;
  if (setting === 'agent-first') return facts.pagesOnlyAgent || facts.ruleMayKeep;
  return facts.ruleMayKeep;
}

/**
 * Reads the incident and makes it the agent's: acknowledges it unless a person already did (or the agent did, for this
 * event, on an earlier delivery), or unless AGENT_CONFIG.acknowledge says not to (`acknowledgesOnStart`): an incident
 * not acknowledged is left with the people PagerDuty pages, or escalated to them at once when it pages only the agent
 * (`handOver`). In observe and note modes the agent never acknowledges, and an incident paging only the agent is
 * handed over at once, the one write those modes allow. `'resolved-already'` when there is nothing left to own.
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
  let human =
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
  // An earlier delivery that handed this event over without acknowledging it had decided so: never take it back.
  const handedOverBefore = earlierEscalation !== undefined || progress?.leftWithOnCallFor === event.eventId;
  const onlyAgentPaged = pagesOnlyTheAgent(incident, botUserId);
  const acknowledgeNow = acknowledgesOnStart(deps.settings.acknowledge, {
    pagesOnlyAgent: onlyAgentPaged,
    ruleMayKeep: deps.mayKeep?.(incident, run.trust) !== false,
  });
  const handToOnCallFirst = mayAcknowledge && !holding.acknowledgedByAgent && (handedOverBefore || !acknowledgeNow);
  if (mayAcknowledge && !handToOnCallFirst) human = await acknowledge(deps, run);
  // Observe and note: nothing is acknowledged, so an incident paging only the agent would wait for PagerDuty's timeout.
  const handOverWithoutActing =
    !run.writes.acknowledge && human === null && !holding.acknowledgedByAgent && (onlyAgentPaged || earlierEscalation !== undefined);
  // Someone other than the agent is assigned: PagerDuty pages them. Nobody, or only the agent: it must be escalated.
  const pagedPeople = incident.assignments.some((assignment) => assignment.assignee.id !== botUserId);
  const handOver: Ownership['handOver'] = handOverWithoutActing
    ? 'escalate'
    : !handToOnCallFirst
      ? null
      : pagedPeople && earlierEscalation === undefined
        ? 'already-theirs'
        : 'escalate';
  holding.mustHandOver = handOver === 'escalate' && earlierEscalation?.confirmed !== true;
  return {
    incident,
    alerts,
    humanAcknowledger: human,
    everEscalated: progress?.escalatedAt !== undefined || progress?.leftWithOnCallAt !== undefined || progress?.handedBackAt !== undefined,
    handOver,
    staysWithOnCall: pagedPeople && !acknowledgeNow,
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

/**
 * Who acknowledged the incident before the agent's acknowledgement reached PagerDuty, as its answer shows it: null
 * when the agent's own acknowledgement is there (now, or from an earlier delivery). PagerDuty answers a repeated
 * acknowledgement with "already acknowledged" (1002; the REST client reads the incident then) or, on some accounts,
 * 200 with the incident unchanged: either way a person listed without the agent took it over. A 1002 whose incident
 * lists nobody is never taken as the agent's own.
 */
export function takenOverBefore(answer: Incident, alreadyDone: boolean, botUserId: string): string | null {
  if (answer.acknowledgements.some((entry) => entry.acknowledger.id === botUserId)) return null;
  if (!alreadyDone && answer.acknowledgements.length === 0) return null;
  return humanAcknowledger(answer, botUserId) ?? 'someone';
}

/**
 * The acknowledgement as the agent, and the ledger's record of it; from here on the agent must finish or hand back.
 * Returns the person who acknowledged it first (`takenOverBefore`), or null when the agent holds it.
 */
async function acknowledge(deps: StepDeps, run: IncidentRun): Promise<string | null> {
  const { audit, incidentLedger, metrics } = deps;
  const { event, subject } = run;
  const { botUserId } = run.connection;
  // Written before the call: a delivery that dies between PagerDuty's answer and markAcknowledged (or loses the
  // answer) leaves this mark, so a later delivery that must stop before it can read the incident asks PagerDuty who
  // holds it instead of giving up on an incident the agent silenced.
  await incidentLedger.markAcknowledgementUnconfirmed(subject.incidentId, event.eventId, deps.clock());
  const ack = await run.actions.acknowledge();
  const person = takenOverBefore(ack.response.value, ack.response.alreadyDone === true, botUserId);
  if (person !== null) {
    run.holding.incident = ack.response.value;
    await audit.record({
      ...subject,
      action: 'record',
      outcome: 'recorded',
      detail: `PagerDuty answered the acknowledgement${ack.response.alreadyDone === true ? ' with "already acknowledged"' : ''} and the incident shows ${person} as its acknowledger: their takeover, not the agent's acknowledgement`,
    });
    return person;
  }
  await incidentLedger.markAcknowledged(subject.incidentId, event.eventId, deps.clock());
  run.holding.acknowledgedByAgent = true;
  if (ack.response.alreadyDone === true) return null;
  metrics.addMetric(MetricName.incidentAcknowledged, 'Count', 1);
  if (event.occurredAt !== null) {
    metrics.addMetric(MetricName.timeToAcknowledge, 'Milliseconds', Math.max(0, deps.clock().getTime() - Date.parse(event.occurredAt)));
  }
  return null;
}
