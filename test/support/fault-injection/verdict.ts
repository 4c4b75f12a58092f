import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditItem } from '../../../lib/audit/audit-record';
import { FINISHED_STATUSES, MAX_RETRIES_PER_EVENT, type EventWork } from '../../../lib/state/work-ledger';
import { TRIGGERING_EVENT_TYPES } from '../../../lib/agent/process-event';
import { FEEDBACK_SK_PREFIX } from '../../../lib/outcomes/outcome-record';
import { SANDBOX_BOT_USER, type IncidentHistoryEntry, type Sandbox } from '../../../local/sandbox';
import { retriesPerEvent } from './call-recorder';
import type { FaultStack } from './fault-stack';

/** What the test knows about each incident it triggered. */
export interface TriggeredIncident {
  id: string;
  /** A human acknowledged it before the agent could: the agent must not take it over. */
  humanFirst: boolean;
  /** The worker crashes after every acknowledgement of it (until the test lifts that): only the handback can save it. */
  doomed: boolean;
  /** Its alerts cleared while it stayed open: the `resolve-if-cleared` rule lets the agent resolve it, unless the agent escalated it. */
  alertsCleared: boolean;
  /**
   * PagerDuty applies this mutation of the agent's and the answer is lost (the connection drops), after `readFailures`
   * failed reads of the incident spent that much of the retry budget (5 or more: all of it).
   */
  /** The PUT after `putsBefore` others is applied and its answer lost, after `readFailures` failed reads. */
  lostAnswer?: { call: 'acknowledge' | 'escalate'; readFailures: number; putsBefore: number };
}

export interface Verdict {
  counts: Record<string, number | string>;
  violations: string[];
}

/** The plain-text note's second line; outside text never starts a line, so only the agent's hypothesis has it. */
const HYPOTHESIS_MARK = '\nDecision: ';
/**
 * Calls the worker makes outside the retry budget, one attempt each, when it must stop: the read that learns whether a
 * lost acknowledgement landed, and the handback's escalation and its note's dedup check.
 */
const LAST_CHANCE_CALLS = 3;
const HANDBACK_MARK = 'could not finish triage';

async function scanAll<T>(client: DynamoDBDocumentClient, table: string): Promise<T[]> {
  const items: T[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start, ConsistentRead: true }));
    items.push(...((page.Items ?? []) as T[]));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

/** Reads the end state from the sandbox (PagerDuty's truth) and the tables, and lists every broken promise. */
export async function judge(stack: FaultStack, incidents: readonly TriggeredIncident[]): Promise<Verdict> {
  const { sandbox, observations, aws } = stack;
  const violations: string[] = [];
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: aws.dynamodbEndpoint, region: aws.region }));
  const stateItems = await scanAll<EventWork & { pk: string; ingressStatus?: string }>(documents, aws.stateTable);
  const auditItems = await scanAll<AuditItem>(documents, aws.auditTable);
  documents.destroy();
  const bot = SANDBOX_BOT_USER.id;

  // 1. Nothing lost: every delivery the sandbox emitted was answered 2xx in the end (it retries non-2xx, bounded).
  const deliveries = sandbox.deliveries();
  const deliveredPairs = new Set(
    deliveries.filter((record) => record.outcome === 'delivered').map((record) => `${record.eventId}|${record.subscriptionId}`),
  );
  for (const record of deliveries) {
    if (!deliveredPairs.has(`${record.eventId}|${record.subscriptionId}`)) {
      violations.push(
        `event ${record.eventId} (${record.eventType}) was never answered 2xx on subscription ${record.subscriptionId}: ${record.outcome}`,
      );
    }
  }

  // 2. Every event answered 2xx was processed or handed back.
  const work = new Map(stateItems.filter((item) => item.pk.startsWith('event#')).map((item) => [item.pk.slice('event#'.length), item]));
  const deadLettered = new Set(
    auditItems
      .filter((item) => item.detail?.startsWith('dead-lettered') === true || item.action === 'handback')
      .map((item) => item.eventId),
  );
  const accepted = new Set(
    observations.ingressAnswers
      .filter((answer) => answer.status >= 200 && answer.status < 300 && answer.eventId !== null)
      .map((answer) => answer.eventId as string),
  );
  let processed = 0;
  let handedBackEvents = 0;
  for (const eventId of accepted) {
    const status = work.get(eventId)?.workStatus;
    const finished = status !== undefined && (FINISHED_STATUSES as readonly string[]).includes(status);
    if (status === 'handed-back' || deadLettered.has(eventId)) handedBackEvents += 1;
    else if (finished) processed += 1;
    if (!finished && !deadLettered.has(eventId))
      violations.push(`event ${eventId} was answered 2xx but neither processed nor handed back (work status ${status ?? 'none'})`);
  }

  // Who caused what, from PagerDuty's own history of each incident (not from what the agent wrote down).
  const historyOf = new Map<string, IncidentHistoryEntry[]>();
  for (const entry of sandbox.history()) historyOf.set(entry.incidentId, [...(historyOf.get(entry.incidentId) ?? []), entry]);

  // 3. One acknowledgement and one hypothesis note per triggering event (triggered or reopened); no resolve after an
  // escalation; none silenced.
  const auditBy = (incidentId: string, action: AuditItem['action']) =>
    auditItems.filter((item) => item.incidentId === incidentId && item.action === action);
  let agentAcks = 0;
  let hypothesisNotes = 0;
  let handbackNotes = 0;
  let triaged = 0;
  let escalatedByAgent = 0;
  let resolvedByAgent = 0;
  let resolvesRefusedAfterEscalation = 0;
  let reopened = 0;
  let handedBackIncidents = 0;
  let leftToPagerDutyTimer = 0;
  for (const incident of incidents) {
    const acks = sandbox.acknowledgements(incident.id).filter((ack) => ack.acknowledger.id === bot).length;
    const notes = sandbox.notes(incident.id).filter((note) => note.user.id === bot);
    const hypotheses = notes.filter((note) => note.content.includes(HYPOTHESIS_MARK)).length;
    const handbacks = notes.filter((note) => note.content.includes(HANDBACK_MARK)).length;
    const changes = historyOf.get(incident.id) ?? [];
    const byAgent = (...types: string[]) => changes.filter((change) => change.agentId === bot && types.includes(change.eventType));
    // A direct assignment to the next level's people (PagerDuty refused the escalation) is the agent's escalation too.
    const escalations = byAgent('incident.escalated', 'incident.delegated', 'incident.reassigned');
    const resolves = byAgent('incident.resolved');
    const triggers = changes.filter((change) => TRIGGERING_EVENT_TYPES.includes(change.eventType));
    const triagedEvents = new Set(
      auditBy(incident.id, 'triage')
        .filter((item) => item.outcome === 'recorded')
        .map((item) => item.eventId),
    );
    const firstEscalation = escalations[0]?.seq;
    const resolvedAfterEscalation = firstEscalation !== undefined && resolves.some((change) => change.seq > firstEscalation);
    // The agent triaged a triggering event that came after its own escalation: a cleared incident is then a resolve it must refuse.
    const triagedAfterEscalation =
      firstEscalation !== undefined && triggers.some((change) => change.seq > firstEscalation && triagedEvents.has(change.eventId));
    agentAcks += acks;
    hypothesisNotes += hypotheses;
    handbackNotes += handbacks;
    if (triagedEvents.size > 0) triaged += 1;
    if (escalations.length > 0) escalatedByAgent += 1;
    if (resolves.length > 0) resolvedByAgent += 1;
    if (incident.alertsCleared && triagedAfterEscalation && !resolvedAfterEscalation) resolvesRefusedAfterEscalation += 1;
    if (triggers.some((change) => change.eventType === 'incident.reopened')) reopened += 1;
    if (auditBy(incident.id, 'handback').length > 0) handedBackIncidents += 1;

    if (incident.humanFirst && acks > 0)
      violations.push(`incident ${incident.id}: a human acknowledged it first, yet the agent acknowledged it ${acks} time(s)`);
    if (acks > triggers.length)
      violations.push(`incident ${incident.id}: acknowledged ${acks} times by the agent for ${triggers.length} triggering event(s)`);
    if (hypotheses > triggers.length)
      violations.push(`incident ${incident.id}: ${hypotheses} hypothesis notes for ${triggers.length} triggering event(s)`);
    if (hypotheses < triagedEvents.size)
      violations.push(`incident ${incident.id}: ${triagedEvents.size} triggering event(s) triaged but ${hypotheses} hypothesis notes`);
    if (incident.humanFirst && escalations.length > 0)
      violations.push(`incident ${incident.id}: a human acknowledged it first, yet the agent escalated it ${escalations.length} time(s)`);
    if (resolvedAfterEscalation)
      violations.push(
        `incident ${incident.id}: the agent resolved it after escalating it (PagerDuty history: ${changes.map((change) => `${change.eventType} by ${change.agentId}`).join(', ')})`,
      );
    if (resolves.length > 0 && !incident.alertsCleared)
      violations.push(`incident ${incident.id}: the agent resolved it while its alerts were still triggered`);
    const decidedEscalation = auditBy(incident.id, 'triage').some((item) => item.decision === 'escalated');
    const heldByAgentAlone =
      sandbox.incident(incident.id).status === 'acknowledged' &&
      sandbox.incident(incident.id).acknowledgements.every((ack) => ack.acknowledger.id === bot);
    if (decidedEscalation && escalations.length === 0 && heldByAgentAlone) {
      violations.push(`incident ${incident.id}: the agent decided to escalate it, never did, and still holds it (silenced)`);
    }
    if (acks > 0 && hypotheses === 0 && escalations.length === 0) {
      violations.push(
        `incident ${incident.id}: acknowledged by the agent, but neither its note nor an escalation followed (silenced; status ${sandbox.incident(incident.id).status})`,
      );
    }
    // Nobody is left paging only the agent: an open, triggered incident has a person assigned, unless the agent stopped
    // on it at the cap without acknowledging it and PagerDuty's own escalation timer still runs (it pages people next).
    const current = sandbox.incident(incident.id);
    const pagesOnlyAgent = current.status === 'triggered' && current.assignments.every((assignment) => assignment.assignee.id === bot);
    const stoppedOnTimer =
      current.assigned_via === 'escalation_policy' &&
      auditBy(incident.id, 'record').some((item) => item.outcome === 'failed') &&
      acks === 0;
    if (pagesOnlyAgent && stoppedOnTimer) leftToPagerDutyTimer += 1;
    if (pagesOnlyAgent && !stoppedOnTimer)
      violations.push(
        `incident ${incident.id}: ends paging only the agent (${current.assignments.length === 0 ? 'nobody assigned' : 'assigned to the agent'}, ${current.assigned_via}); ` +
          `its history: ${(historyOf.get(incident.id) ?? []).map((entry) => `${entry.eventType} by ${entry.agentId}`).join(' → ')}; ` +
          `its audit: ${auditItems
            .filter((item) => item.incidentId === incident.id)
            .map((item) => `${item.action}/${item.outcome}${item.decision === undefined ? '' : `/${item.decision}`}`)
            .join(' → ')}`,
      );
    // Every mutation PagerDuty saw from the agent has its audit item (an intent at least).
    if (acks > 0 && auditBy(incident.id, 'acknowledge').length === 0)
      violations.push(`incident ${incident.id}: acknowledged by the agent without an audit item`);
    if (notes.length > 0 && auditBy(incident.id, 'note').length === 0)
      violations.push(`incident ${incident.id}: noted by the agent without an audit item`);
    if (escalations.length > 0 && auditBy(incident.id, 'escalate').length === 0)
      violations.push(`incident ${incident.id}: escalated by the agent without an audit item`);
    if (resolves.length > 0 && auditBy(incident.id, 'resolve').length === 0)
      violations.push(`incident ${incident.id}: resolved by the agent without an audit item`);
  }

  // 4. At most 5 retries per webhook across deliveries: measured from the calls PagerDuty received (with the last-chance
  // calls made outside the budget), and as the ledger counted them.
  const retries = retriesPerEvent(observations.calls);
  const maxRetries = Math.max(0, ...retries.values());
  for (const [eventId, count] of retries)
    if (count > MAX_RETRIES_PER_EVENT + LAST_CHANCE_CALLS)
      violations.push(
        `event ${eventId}: ${count} retries across deliveries (limit ${MAX_RETRIES_PER_EVENT} + ${LAST_CHANCE_CALLS} last-chance calls)`,
      );
  const maxLedgerRetries = Math.max(0, ...[...work.values()].map((item) => item.retriesUsed ?? 0));
  if (maxLedgerRetries > MAX_RETRIES_PER_EVENT) violations.push(`the state table counts ${maxLedgerRetries} retries for an event`);

  // 5. Every audit intent has its outcome, or stays visibly unfinished because the invocation died or its completion failed.
  const crashed = observations.crashes.crashedEvents();
  const failedCompletions = new Set(
    observations.awsFaults.filter((fault) => fault.command === 'UpdateItemCommand' && fault.key.includes('"sk"')).map((fault) => fault.key),
  );
  const unfinished = auditItems.filter((item) => item.outcome === 'intent');
  for (const item of unfinished) {
    const completionThrottled = [...failedCompletions].some((key) => key.includes(item.sk));
    if (!crashed.has(item.eventId) && !completionThrottled) {
      violations.push(
        `audit intent ${item.incidentId}/${item.sk} has no outcome, yet its invocation neither crashed nor failed to complete it`,
      );
    }
  }

  const requests = sandbox.requests();
  const crashPoints = new Map<string, number>();
  for (const crash of observations.crashes.crashes) crashPoints.set(crash.point, (crashPoints.get(crash.point) ?? 0) + 1);
  const answers = observations.ingressAnswers;
  return {
    violations,
    counts: {
      incidents: incidents.length,
      'incidents a human acknowledged first': incidents.filter((incident) => incident.humanFirst).length,
      'incidents the worker can never finish': incidents.filter((incident) => incident.doomed).length,
      'incidents whose alerts cleared': incidents.filter((incident) => incident.alertsCleared).length,
      'incidents reopened': reopened,
      'acknowledgements applied with their answer lost (failed reads before: count)': lostAnswerSummary(incidents, 'acknowledge'),
      'escalations applied with their answer lost (failed reads before: count)': lostAnswerSummary(incidents, 'escalate'),
      'events emitted': new Set(deliveries.map((record) => record.eventId)).size,
      'deliveries to the ingress': answers.length,
      'answered 2xx': answers.filter((answer) => answer.status < 300).length,
      'answered 5xx (retried)': answers.filter((answer) => answer.status >= 500).length,
      'answered 4xx': answers.filter((answer) => answer.status >= 400 && answer.status < 500).length,
      'events accepted': accepted.size,
      'events processed': processed,
      'events handed back (dead-lettered)': handedBackEvents,
      'agent acknowledgements': agentAcks,
      'incidents triaged': triaged,
      'hypothesis notes': hypothesisNotes,
      'handback notes': handbackNotes,
      'incidents escalated by the agent': escalatedByAgent,
      'incidents resolved by the agent': resolvedByAgent,
      'resolves refused after an escalation': resolvesRefusedAfterEscalation,
      'incidents handed back': handedBackIncidents,
      "incidents the agent stopped on at the cap, left to PagerDuty's escalation timer": leftToPagerDutyTimer,
      'PagerDuty requests': requests.length,
      'PagerDuty faults injected': requests.filter((request) => request.fault).length,
      'PagerDuty 429s': requests.filter((request) => request.status === 429).length,
      'DynamoDB throttles injected': observations.awsFaults.filter((fault) => fault.service === 'dynamodb').length,
      'SQS sends refused': observations.awsFaults.filter((fault) => fault.service === 'sqs').length,
      'events deferred for lack of time (returned unstarted)': observations.deferredForLackOfTime,
      'worker invocations': observations.invocations.filter((invocation) => invocation.role === 'worker').length,
      'handback invocations': observations.invocations.filter((invocation) => invocation.role === 'handback').length,
      'worker kills': observations.crashes.crashes.length,
      'kill points': [...crashPoints.entries()].map(([point, count]) => `${point}: ${count}`).join('; '),
      'max retries for one webhook across deliveries (PagerDuty calls)': maxRetries,
      'max retries for one webhook (ledger)': maxLedgerRetries,
      'audit items': auditItems.length,
      'audit intents left unfinished': unfinished.length,
    },
  };
}

/** How many incidents got a lost answer of this call, by how many failed reads came first ("0: 3; 5: 2"). */
function lostAnswerSummary(incidents: readonly TriggeredIncident[], call: 'acknowledge' | 'escalate'): string {
  const byReads = new Map<number, number>();
  for (const incident of incidents) {
    if (incident.lostAnswer?.call !== call) continue;
    byReads.set(incident.lostAnswer.readFailures, (byReads.get(incident.lostAnswer.readFailures) ?? 0) + 1);
  }
  const total = [...byReads.values()].reduce((sum, count) => sum + count, 0);
  const detail = [...byReads.entries()]
    .sort(([a], [b]) => a - b)
    .map(([reads, count]) => `${reads}: ${count}`)
    .join('; ');
  return `${total} (${detail})`;
}

/** How many notes the agent wrote on an incident (its hypothesis and handback notes). */
export function agentNotes(sandbox: Sandbox, incidentId: string): number {
  return sandbox.notes(incidentId).filter((note) => note.user.id === SANDBOX_BOT_USER.id).length;
}

/**
 * Agent notes that are neither a hypothesis nor a handback note: a reply. (A reopened incident's new hypothesis may
 * land after a responder's note; `judge` already holds those to one per triggering event.)
 */
function agentReplies(sandbox: Sandbox, incidentId: string): number {
  return sandbox
    .notes(incidentId)
    .filter(
      (note) => note.user.id === SANDBOX_BOT_USER.id && !note.content.includes(HYPOTHESIS_MARK) && !note.content.includes(HANDBACK_MARK),
    ).length;
}

export interface FeedbackVerdict {
  /** Incidents whose responder's feedback note was recorded as a feedback item. */
  recorded: number;
  violations: string[];
}

/**
 * Responders' `pd-agent: right|wrong` notes: never recorded twice (redeliveries included) and never answered by the
 * agent (no agent note on the incident other than its hypothesis and handback notes). A feedback event whose every delivery
 * failed under the injected faults is dead-lettered and only recorded there, so `recorded` may fall short of the notes.
 */
export async function judgeFeedback(stack: FaultStack, feedbackIncidents: ReadonlySet<string>): Promise<FeedbackVerdict> {
  const { sandbox, aws } = stack;
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: aws.dynamodbEndpoint, region: aws.region }));
  const feedbackItems = (await scanAll<{ incidentId: string; sk: string }>(documents, aws.auditTable)).filter((item) =>
    item.sk.startsWith(FEEDBACK_SK_PREFIX),
  );
  documents.destroy();
  const violations: string[] = [];
  for (const incidentId of feedbackIncidents) {
    const recorded = feedbackItems.filter((item) => item.incidentId === incidentId).length;
    if (recorded > 1) violations.push(`incident ${incidentId}: one feedback note, ${recorded} feedback items recorded`);
    const replies = agentReplies(sandbox, incidentId);
    if (replies > 0) violations.push(`incident ${incidentId}: the agent answered the feedback with ${replies} note(s)`);
  }
  const recorded = new Set(feedbackItems.map((item) => item.incidentId)).size;
  return { recorded, violations };
}
