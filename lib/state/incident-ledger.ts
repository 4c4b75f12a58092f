import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EVENT_RECORD_TTL_SECONDS } from '../infra/resource-definitions';
import type { RolloutMode } from '../config/agent-config';
import type { EscalationTarget } from '../pagerduty/types';
import type { HypothesisCause } from '../outcomes/hypothesis-cause';
import type { PredictionCheck } from '../followup/prediction';
import { epochSeconds, stateKeys } from './state-keys';
import { messageOf } from '../errors/message-of';

/**
 * What the agent has done to one incident (`incident#<id>`), and the note tokens (`note#<incidentId>#<triggerEventId>`)
 * that make "one note per triggering event" hold across crashes and redeliveries.
 *
 * The handback function reads `acknowledgedByAgentAt` and `finished`: an incident the agent acknowledged and did
 * not finish is silenced with nobody behind it, and must be handed back. `acknowledgementUnconfirmedBy` marks an
 * acknowledgement attempted and not confirmed (the worker died before recording the answer, or the answer was lost):
 * it may have landed, so the incident is not finished until PagerDuty's own state says who holds it.
 */
export interface IncidentProgress {
  incidentId: string;
  /** The triggering event the current progress belongs to (a reopened incident starts again). */
  triggerEventId?: string;
  acknowledgedByAgentAt?: string;
  /** The triggering event whose acknowledgement was attempted (written before the call; it may have landed), until one is confirmed. */
  acknowledgementUnconfirmedBy?: string;
  acknowledgementUnconfirmedAt?: string;
  noteId?: string;
  /** A RecordedDecision; items written before those names hold `escalate`, `hold`, `resolve` or `left-with-human` (see decisionOf). */
  decision?: string;
  /** What the hypothesis named as the cause, compared with the outcome when the incident resolves. */
  cause?: HypothesisCause;
  /** The rollout stage the decision was made in (absent: `act`, as before rollout modes). */
  rolloutMode?: RolloutMode;
  /** Set before the escalation call: from then on the agent never resolves this incident. */
  escalatedAt?: string;
  /** The triggering event whose escalation was begun, and where it sent the incident: a redelivery repeats it, never goes a level further. */
  escalatedFor?: string;
  escalationTarget?: EscalationTarget;
  /** The triggering event whose escalation PagerDuty confirmed: a redelivery of it does not page again. */
  escalationConfirmedFor?: string;
  /** The triggering event the agent left with the people PagerDuty pages, without acknowledging or escalating it. */
  leftWithOnCallFor?: string;
  /**
   * When it was first left so: from then on the agent never resolves it. Items written before this field set
   * `escalatedAt` instead, which forbids the resolve as well.
   */
  leftWithOnCallAt?: string;
  resolvedAt?: string;
  handedBackAt?: string;
  handbackReason?: string;
  finished?: boolean;
  /** What a follow-up found of the first note's prediction, once it held or failed (lib/agent/scheduled-check.ts). */
  predictionCheck?: PredictionCheck;
}

/**
 * What the agent did with a triaged incident, as the ledger, the audit trail and the outcome report name it:
 * `escalated` (people above the agent were paged), `held` (the agent keeps its acknowledgement), `left-with-on-call`
 * (the people PagerDuty already pages, or a person who took it over, have it; the agent paged nobody), `resolved`.
 */
export const RECORDED_DECISIONS = ['escalated', 'held', 'left-with-on-call', 'resolved'] as const;
export type RecordedDecision = (typeof RECORDED_DECISIONS)[number];

/** The names written before RECORDED_DECISIONS, still found in older ledger and outcome items. */
const EARLIER_DECISION_NAMES: Record<string, RecordedDecision> = {
  escalate: 'escalated',
  hold: 'held',
  resolve: 'resolved',
  'left-with-human': 'left-with-on-call',
};

/** A decision name as written by any version of the agent, in today's names; undefined when it is none of them. */
export function recordedDecision(name: string | undefined): RecordedDecision | undefined {
  if (name === undefined) return undefined;
  if ((RECORDED_DECISIONS as readonly string[]).includes(name)) return name as RecordedDecision;
  return EARLIER_DECISION_NAMES[name];
}

/**
 * The decision an incident's progress records. Older items recorded an incident left with on-call as `escalate`;
 * their `leftWithOnCallFor` tells it apart from an escalation.
 */
export function decisionOf(progress: Pick<IncidentProgress, 'decision' | 'leftWithOnCallFor'>): RecordedDecision | undefined {
  if (progress.decision === 'escalate' && progress.leftWithOnCallFor !== undefined) return 'left-with-on-call';
  return recordedDecision(progress.decision);
}

/** Kept with the decision so the outcome, days later, can be compared with what the agent said and how far it acted. */
export interface DecisionFacts {
  cause?: HypothesisCause;
  rolloutMode?: RolloutMode;
}

export interface EscalationIntent {
  triggerEventId: string;
  target: EscalationTarget;
}

export type NoteReservation =
  | { state: 'reserved' }
  /** A previous attempt reserved the token and did not record a note id: it may have posted. */
  | { state: 'unconfirmed' }
  | { state: 'posted'; noteId: string };

/** Progress and note items outlive the event records: an incident can stay open for days. */
const INCIDENT_RECORD_TTL_SECONDS = 30 * 24 * 3600;

export class ResolveRefusedError extends Error {
  override readonly name = 'ResolveRefusedError';
  constructor(readonly incidentId: string) {
    super(
      `Refusing to resolve incident ${incidentId}: the agent escalated it, handed it back or left it with on-call, so the humans on call own it. ` +
        "Nothing to do; this is the agent's safety rule, not a fault.",
    );
  }
}

export class IncidentLedgerError extends Error {
  override readonly name = 'IncidentLedgerError';
  constructor(
    readonly operation: string,
    readonly key: string,
    cause: unknown,
  ) {
    super(
      `State table ${operation} of ${key} failed: ${messageOf(cause)}. ` +
        'The message goes back to the queue; check the STATE_TABLE permissions and throttling if this repeats.',
      { cause },
    );
  }
}

export interface IncidentLedger {
  get(incidentId: string): Promise<IncidentProgress | undefined>;
  /** Starts (or restarts, for a reopened incident) the progress of a triggering event; clears `finished`. */
  markAcknowledged(incidentId: string, triggerEventId: string, at: Date): Promise<void>;
  /** The acknowledgement for this triggering event is about to be attempted, or got no answer: it may land; clears `finished`. */
  markAcknowledgementUnconfirmed(incidentId: string, triggerEventId: string, at: Date): Promise<void>;
  recordDecision(incidentId: string, decision: RecordedDecision, facts?: DecisionFacts): Promise<void>;
  /**
   * Written before the escalation call, so that a crash mid-call still forbids a later resolve; with `intent`, also
   * which triggering event escalated and to where, so that a redelivery of that event repeats the same escalation.
   */
  beginEscalation(incidentId: string, at: Date, intent?: EscalationIntent): Promise<void>;
  /** PagerDuty answered the escalation begun for this triggering event. */
  confirmEscalation(incidentId: string, triggerEventId: string): Promise<void>;
  /**
   * The agent leaves this triggering event's incident with the people PagerDuty pages, never acknowledging it: on-call
   * owns it, so, as after an escalation, the agent never resolves it.
   */
  markLeftWithOnCall(incidentId: string, triggerEventId: string, at: Date): Promise<void>;
  /** The agent holds the incident with its note, or left it with the human who acknowledged it. */
  markFinished(incidentId: string): Promise<void>;
  /** Conditional: throws ResolveRefusedError when the incident was ever escalated or handed back. */
  beginResolve(incidentId: string): Promise<void>;
  markResolved(incidentId: string, at: Date): Promise<void>;
  markHandedBack(incidentId: string, reason: string, at: Date): Promise<void>;
  reserveNote(incidentId: string, triggerEventId: string, ref: string): Promise<NoteReservation>;
  recordNote(incidentId: string, triggerEventId: string, noteId: string, recordOnIncident: boolean): Promise<void>;
  /** A follow-up settled the first note's prediction (held or failed); the outcome's verdict uses it. */
  recordPredictionCheck(incidentId: string, check: PredictionCheck): Promise<void>;
}

const isConditionFailure = (error: unknown): boolean =>
  error instanceof ConditionalCheckFailedException || (error as Error)?.name === 'ConditionalCheckFailedException';

const ttl = (at: Date = new Date()): number => epochSeconds(at) + Math.max(INCIDENT_RECORD_TTL_SECONDS, EVENT_RECORD_TTL_SECONDS);

export class DynamoIncidentLedger implements IncidentLedger {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(incidentId: string): Promise<IncidentProgress | undefined> {
    const key = stateKeys.incident(incidentId);
    try {
      const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk: key }, ConsistentRead: true }));
      if (result.Item === undefined) return undefined;
      const { pk: _pk, expiresAt: _expiresAt, ...progress } = result.Item;
      return { ...progress, incidentId };
    } catch (error) {
      throw new IncidentLedgerError('read', key, error);
    }
  }

  async markAcknowledged(incidentId: string, triggerEventId: string, at: Date): Promise<void> {
    await this.update(
      incidentId,
      'SET acknowledgedByAgentAt = :at, triggerEventId = :trigger, finished = :false, expiresAt = :ttl ' +
        'REMOVE acknowledgementUnconfirmedBy, acknowledgementUnconfirmedAt',
      { ':at': at.toISOString(), ':trigger': triggerEventId, ':false': false, ':ttl': ttl(at) },
    );
  }

  async markAcknowledgementUnconfirmed(incidentId: string, triggerEventId: string, at: Date): Promise<void> {
    await this.update(
      incidentId,
      'SET acknowledgementUnconfirmedBy = :trigger, acknowledgementUnconfirmedAt = :at, finished = :false, expiresAt = :ttl',
      { ':at': at.toISOString(), ':trigger': triggerEventId, ':false': false, ':ttl': ttl(at) },
    );
  }

  async recordDecision(incidentId: string, decision: RecordedDecision, facts: DecisionFacts = {}): Promise<void> {
    const sets = ['decision = :decision', 'expiresAt = :ttl'];
    const values: Record<string, unknown> = { ':decision': decision, ':ttl': ttl() };
    if (facts.cause !== undefined) {
      sets.push('cause = :cause');
      values[':cause'] = facts.cause;
    }
    if (facts.rolloutMode !== undefined) {
      sets.push('rolloutMode = :mode');
      values[':mode'] = facts.rolloutMode;
    }
    await this.update(incidentId, `SET ${sets.join(', ')}`, values);
  }

  async beginEscalation(incidentId: string, at: Date, intent?: EscalationIntent): Promise<void> {
    const values: Record<string, unknown> = { ':at': at.toISOString(), ':ttl': ttl(at) };
    let expression = 'SET escalatedAt = if_not_exists(escalatedAt, :at), expiresAt = :ttl';
    if (intent !== undefined) {
      expression += ', escalatedFor = :trigger, escalationTarget = :target';
      values[':trigger'] = intent.triggerEventId;
      values[':target'] = intent.target;
    }
    await this.update(incidentId, expression, values);
  }

  async confirmEscalation(incidentId: string, triggerEventId: string): Promise<void> {
    await this.update(incidentId, 'SET escalationConfirmedFor = :trigger, expiresAt = :ttl', { ':trigger': triggerEventId, ':ttl': ttl() });
  }

  async markLeftWithOnCall(incidentId: string, triggerEventId: string, at: Date): Promise<void> {
    await this.update(
      incidentId,
      'SET leftWithOnCallAt = if_not_exists(leftWithOnCallAt, :at), leftWithOnCallFor = :trigger, expiresAt = :ttl',
      {
        ':at': at.toISOString(),
        ':trigger': triggerEventId,
        ':ttl': ttl(at),
      },
    );
  }

  async markFinished(incidentId: string): Promise<void> {
    await this.update(incidentId, 'SET finished = :true, expiresAt = :ttl', { ':true': true, ':ttl': ttl() });
  }

  async beginResolve(incidentId: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: stateKeys.incident(incidentId) },
          UpdateExpression: 'SET resolvingAt = :now',
          ConditionExpression:
            'attribute_not_exists(escalatedAt) AND attribute_not_exists(leftWithOnCallAt) AND attribute_not_exists(handedBackAt)',
          ExpressionAttributeValues: { ':now': new Date().toISOString() },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new ResolveRefusedError(incidentId);
      throw new IncidentLedgerError('resolve guard', stateKeys.incident(incidentId), error);
    }
  }

  async markResolved(incidentId: string, at: Date): Promise<void> {
    await this.update(incidentId, 'SET resolvedAt = :at, finished = :true, expiresAt = :ttl', {
      ':at': at.toISOString(),
      ':true': true,
      ':ttl': ttl(at),
    });
  }

  async markHandedBack(incidentId: string, reason: string, at: Date): Promise<void> {
    await this.update(incidentId, 'SET handedBackAt = :at, handbackReason = :reason, finished = :true, expiresAt = :ttl', {
      ':at': at.toISOString(),
      ':reason': reason.slice(0, 500),
      ':true': true,
      ':ttl': ttl(at),
    });
  }

  async reserveNote(incidentId: string, triggerEventId: string, ref: string): Promise<NoteReservation> {
    const key = stateKeys.note(incidentId, triggerEventId);
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: key, ref, reservedAt: new Date().toISOString(), expiresAt: ttl() },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { state: 'reserved' };
    } catch (error) {
      if (!isConditionFailure(error)) throw new IncidentLedgerError('note reservation', key, error);
    }
    try {
      const existing = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk: key }, ConsistentRead: true }));
      const noteId = existing.Item?.noteId as string | undefined;
      return noteId === undefined ? { state: 'unconfirmed' } : { state: 'posted', noteId };
    } catch (error) {
      throw new IncidentLedgerError('note token read', key, error);
    }
  }

  async recordNote(incidentId: string, triggerEventId: string, noteId: string, recordOnIncident: boolean): Promise<void> {
    const key = stateKeys.note(incidentId, triggerEventId);
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: key },
          UpdateExpression: 'SET noteId = :noteId, postedAt = :now',
          ExpressionAttributeValues: { ':noteId': noteId, ':now': new Date().toISOString() },
        }),
      );
    } catch (error) {
      throw new IncidentLedgerError('note record', key, error);
    }
    if (recordOnIncident) await this.update(incidentId, 'SET noteId = :noteId, expiresAt = :ttl', { ':noteId': noteId, ':ttl': ttl() });
  }

  async recordPredictionCheck(incidentId: string, check: PredictionCheck): Promise<void> {
    await this.update(incidentId, 'SET predictionCheck = :check, expiresAt = :ttl', { ':check': check, ':ttl': ttl() });
  }

  private async update(incidentId: string, expression: string, values: Record<string, unknown>): Promise<void> {
    const key = stateKeys.incident(incidentId);
    try {
      await this.client.send(
        new UpdateCommand({ TableName: this.tableName, Key: { pk: key }, UpdateExpression: expression, ExpressionAttributeValues: values }),
      );
    } catch (error) {
      throw new IncidentLedgerError('update', key, error);
    }
  }
}
