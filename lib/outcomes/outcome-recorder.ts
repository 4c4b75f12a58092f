import type { AuditLog, AuditTrail } from '../audit/audit-log';
import type { AgentConnection, MetricsSink } from '../agent/agent-ports';
import type { RetryPolicy } from '../agent/retry-policy';
import { MetricName, type RuleMetricsSink } from '../observability/telemetry';
import type { Note } from '../pagerduty/types';
import { decisionOf, type IncidentLedger, type IncidentProgress } from '../state/incident-ledger';
import { oneLine, truncate } from '../triage/text';
import type { WebhookEvent } from '../webhook/webhook-event';
import type { TriageFacts } from './outcome-record';
import type { NewFeedback, NewOutcome, OutcomeWriter } from './outcome-store';
import { inferVerdict, parseFeedback, type Resolver, type Verdict } from './verdict';
import { messageOf } from '../errors/message-of';
import type { RuleCircuitBreaker } from '../trust/circuit-breaker';

/**
 * Records what became of an incident the agent triaged (docs/rollout-and-outcomes.md): on `incident.resolved`, on
 * `incident.reopened` after the agent resolved or held it, and responders' `pd-agent: right|wrong` notes from
 * `incident.annotated`. It reads the incident's notes once and never writes to PagerDuty.
 */
export const OUTCOME_EVENT_TYPES = ['incident.resolved', 'incident.reopened', 'incident.annotated'];

/**
 * Retries of the outcome's notes read, from a budget of their own: never the event's, which a reopened incident's
 * triage needs more.
 */
export const OUTCOME_READ_RETRIES = 1;

export interface OutcomeRecorderDeps {
  incidentLedger: Pick<IncidentLedger, 'get'>;
  audit: AuditTrail & Pick<AuditLog, 'byIncident'>;
  store: OutcomeWriter;
  metrics: MetricsSink;
  /** The same verdict counts and head start per rule (dimension `rule`), for the dashboard. */
  ruleMetrics?: RuleMetricsSink;
  /** Judges the rule's record after a contradiction and demotes it when bad (lib/trust/circuit-breaker.ts). */
  breaker?: Pick<RuleCircuitBreaker, 'afterOutcome'>;
  clock?: () => Date;
}

export interface OutcomeObservation {
  event: WebhookEvent;
  /** The webhook body as received: the note's text and the actor's name are not part of WebhookEvent. */
  rawBody: Buffer;
  connection: Pick<AgentConnection, 'api' | 'botUserId'>;
  /** Its own small budget (OUTCOME_READ_RETRIES), separate from the event's. */
  retry: RetryPolicy;
}

export type ObserveResult =
  | { status: 'not-an-outcome' | 'not-triaged' | 'not-feedback' | 'already-recorded' }
  | { status: 'recorded'; kind: 'outcome' | 'feedback'; verdict: string }
  | { status: 'failed'; reason: string };

const MAX_NOTES = 10;
const MAX_NOTE_CHARS = 500;

interface RawDetails {
  actorName?: string;
  noteContent?: string;
}

/** The actor's display name and, for `incident.annotated`, the note's text: read leniently, absent when missing. */
function rawDetails(rawBody: Buffer): RawDetails {
  try {
    const envelope = (JSON.parse(rawBody.toString('utf8')) as { event?: { agent?: { summary?: unknown }; data?: { content?: unknown } } })
      .event;
    const actorName = envelope?.agent?.summary;
    const noteContent = envelope?.data?.content;
    return {
      ...(typeof actorName === 'string' ? { actorName: truncate(oneLine(actorName), 120) } : {}),
      ...(typeof noteContent === 'string' ? { noteContent } : {}),
    };
  } catch {
    return {};
  }
}

/** PagerDuty names a person as `user_reference`; a monitor, integration or service closing it means it cleared by itself. */
function resolverOf(event: WebhookEvent, actorName: string | undefined): Resolver {
  if (event.agent === null) return { kind: 'unknown' };
  const named = actorName === undefined ? {} : { name: actorName };
  return event.agent.type.startsWith('user')
    ? { kind: 'human', id: event.agent.id, ...named }
    : { kind: 'integration', id: event.agent.id, ...named };
}

function triageFacts(event: WebhookEvent, progress: IncidentProgress): TriageFacts {
  const facts: TriageFacts = { mode: progress.rolloutMode ?? 'act' };
  if (event.incident?.serviceId) facts.serviceId = event.incident.serviceId;
  const decision = decisionOf(progress);
  if (decision !== undefined) facts.decision = decision;
  if (progress.cause !== undefined) facts.cause = progress.cause;
  return facts;
}

const resolverLabel = (resolver: Resolver): string =>
  resolver.kind === 'unknown'
    ? 'someone unknown'
    : `${resolver.name ?? resolver.id}${resolver.kind === 'integration' ? ' (integration)' : ''}`;

export class OutcomeRecorder {
  private readonly clock: () => Date;

  constructor(private readonly deps: OutcomeRecorderDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  /**
   * A reopened incident goes on to be triaged again: a failure here is audited and never stops that. For a resolve
   * or a note, a failure propagates so the event is delivered again and the outcome is not lost.
   */
  async observe(observation: OutcomeObservation): Promise<ObserveResult> {
    const { event } = observation;
    if (!OUTCOME_EVENT_TYPES.includes(event.eventType) || event.incidentId === null) return { status: 'not-an-outcome' };
    if (event.eventType !== 'incident.reopened') return this.record(observation, event.incidentId);
    try {
      return await this.record(observation, event.incidentId);
    } catch (error) {
      const reason = messageOf(error);
      await this.deps.audit.record({
        incidentId: event.incidentId,
        eventId: event.eventId,
        eventType: event.eventType,
        action: 'record',
        outcome: 'failed',
        detail: `outcome of the reopened incident not recorded (triage goes on): ${reason}`,
      });
      return { status: 'failed', reason };
    }
  }

  private async record(observation: OutcomeObservation, incidentId: string): Promise<ObserveResult> {
    const { event } = observation;
    const progress = await this.deps.incidentLedger.get(incidentId);
    if (progress?.decision === undefined) return { status: 'not-triaged' };
    const facts = triageFacts(event, progress);
    const details = rawDetails(observation.rawBody);
    if (event.eventType === 'incident.annotated') return this.recordFeedback(event, incidentId, facts, details);
    const agentResolved = progress.resolvedAt !== undefined;
    if (event.eventType === 'incident.reopened' && !agentResolved && decisionOf(progress) !== 'held') return { status: 'not-an-outcome' };

    const { api, botUserId } = observation.connection;
    const notes = (await observation.retry.idempotent('list notes (outcome)', () => api.listNotes(incidentId))).response.value;
    const humanNotes = notes
      .filter((note) => note.user.id !== botUserId && parseFeedback(note.content) === null)
      .sort((a, b) => a.created_at.localeCompare(b.created_at));
    const resolver = resolverOf(event, details.actorName);
    const endedAt = event.occurredAt ?? this.clock().toISOString();
    const noteAt = await this.firstNoteAt(incidentId);
    const firstHumanActionAt = firstHumanAction(humanNotes, resolver, endedAt, noteAt);
    const ending = event.eventType === 'incident.reopened' ? 'reopened' : 'resolved';
    const noteTexts = humanNotes.slice(0, MAX_NOTES).map((note) => truncate(note.content, MAX_NOTE_CHARS));
    const { verdict, reason } = inferVerdict({
      cause: facts.cause,
      ending,
      resolver,
      agentResolved,
      humanNotes: noteTexts,
      ...(progress.predictionCheck === undefined ? {} : { predictionCheck: progress.predictionCheck }),
    });
    // Only in act mode did the agent carry out its hold or resolve; in observe and note mode the humans had it all along.
    const agentKeptIt = facts.mode === 'act' && (facts.decision === 'held' || facts.decision === 'resolved');
    const humanTookOver = agentKeptIt && firstHumanActionAt !== undefined;
    const headStartMs =
      noteAt === undefined || firstHumanActionAt === undefined ? undefined : Date.parse(firstHumanActionAt) - Date.parse(noteAt);

    const item: NewOutcome = {
      ...facts,
      kind: 'outcome',
      incidentId,
      eventId: event.eventId,
      eventType: event.eventType,
      detail: `outcome ${verdict}: ${reason}; ${ending} by ${resolverLabel(resolver)}; the agent's decision: ${facts.decision ?? 'none'}`,
      ending,
      endedAt,
      resolver,
      humanTookOver,
      humanNotes: noteTexts,
      verdict,
      verdictReason: reason,
      ...(progress.predictionCheck === undefined ? {} : { predictionCheck: progress.predictionCheck }),
      ...(progress.acknowledgedByAgentAt === undefined ? {} : { agentAcknowledgedAt: progress.acknowledgedByAgentAt }),
      ...(noteAt === undefined ? {} : { noteAt }),
      ...(firstHumanActionAt === undefined ? {} : { firstHumanActionAt }),
      ...(headStartMs === undefined ? {} : { headStartMs }),
    };
    const appended = await this.deps.store.append(item);
    const ruleId = facts.cause?.ruleId;
    await this.judgeRule(event, incidentId, ruleId, verdict);
    if (!appended) return { status: 'already-recorded' };
    this.deps.metrics.addMetric(VERDICT_METRIC[verdict], 'Count', 1);
    this.deps.ruleMetrics?.addRuleMetric(ruleId, VERDICT_METRIC[verdict], 'Count', 1);
    if (headStartMs !== undefined) {
      this.deps.metrics.addMetric(MetricName.headStart, 'Milliseconds', headStartMs);
      this.deps.ruleMetrics?.addRuleMetric(ruleId, MetricName.headStart, 'Milliseconds', headStartMs);
    }
    if (humanTookOver) this.deps.metrics.addMetric(MetricName.humanTookOver, 'Count', 1);
    return { status: 'recorded', kind: 'outcome', verdict };
  }

  private async recordFeedback(event: WebhookEvent, incidentId: string, facts: TriageFacts, details: RawDetails): Promise<ObserveResult> {
    const feedback = details.noteContent === undefined ? null : parseFeedback(details.noteContent);
    if (feedback === null) return { status: 'not-feedback' };
    const by = details.actorName ?? event.agent?.id ?? 'someone';
    const item: NewFeedback = {
      ...facts,
      kind: 'feedback',
      incidentId,
      eventId: event.eventId,
      eventType: event.eventType,
      detail: `feedback from ${by}: ${feedback.verdict}${feedback.comment === '' ? '' : ` (${feedback.comment})`}`,
      verdict: feedback.verdict,
      comment: feedback.comment,
      by: event.agent?.id ?? 'unknown',
      ...(details.actorName === undefined ? {} : { byName: details.actorName }),
    };
    const appended = await this.deps.store.append(item);
    await this.judgeRule(event, incidentId, facts.cause?.ruleId, feedback.verdict);
    if (!appended) return { status: 'already-recorded' };
    const metric = feedback.verdict === 'confirmed' ? MetricName.feedbackRight : MetricName.feedbackWrong;
    this.deps.metrics.addMetric(metric, 'Count', 1);
    this.deps.ruleMetrics?.addRuleMetric(facts.cause?.ruleId, metric, 'Count', 1);
    return { status: 'recorded', kind: 'feedback', verdict: feedback.verdict };
  }

  /** Also on a redelivery (the item found written): a crash between the write and the judgement is made good. */
  private async judgeRule(event: WebhookEvent, incidentId: string, ruleId: string | undefined, verdict: Verdict): Promise<void> {
    if (ruleId === undefined || this.deps.breaker === undefined) return;
    await this.deps.breaker.afterOutcome({ incidentId, eventId: event.eventId, eventType: event.eventType }, ruleId, verdict);
  }

  /** When the agent's first note landed, from the audit trail (the note's completion, or its intent's time). */
  private async firstNoteAt(incidentId: string): Promise<string | undefined> {
    let cursor: string | undefined;
    do {
      const page = await this.deps.audit.byIncident(incidentId, { cursor });
      const note = page.items.find((item) => item.action === 'note' && (item.outcome === 'succeeded' || item.outcome === 'already-done'));
      if (note !== undefined) return note.completedAt ?? note.at;
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return undefined;
  }
}

const VERDICT_METRIC = {
  confirmed: MetricName.outcomeConfirmed,
  contradicted: MetricName.outcomeContradicted,
  unknown: MetricName.outcomeUnknown,
} as const;

/** The first note, resolve or reopen by a person at or after the agent's note (before it, the note gave no head start). */
function firstHumanAction(humanNotes: Note[], resolver: Resolver, endedAt: string, noteAt: string | undefined): string | undefined {
  const times = humanNotes.map((note) => note.created_at).filter((at) => Date.parse(at) <= Date.parse(endedAt));
  if (resolver.kind === 'human') times.push(endedAt);
  const after = noteAt === undefined ? times : times.filter((at) => Date.parse(at) >= Date.parse(noteAt));
  return after.sort((a, b) => Date.parse(a) - Date.parse(b))[0];
}
