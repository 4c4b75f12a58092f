import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EVENT_RECORD_TTL_SECONDS } from '../infra/resource-definitions';
import { epochSeconds, stateKeys } from './state-keys';
import { messageOf } from '../errors/message-of';

/**
 * The worker's attributes on the `event#<id>` item of STATE_TABLE. The ingress owns the other attributes of the same
 * item (ingressStatus, eventType, incidentId, …); every write here is an UpdateItem that touches only these:
 *
 * - `workStatus`: `processing` while an attempt holds the lease; `released` when an attempt gave the event back to
 *   the queue; `done` | `handed-back` | `ignored` once finished (a finished event is never processed again).
 * - `leaseUntil` (epoch ms): a crashed attempt's claim expires then, and the next delivery may claim the event.
 * - `attempt`: incremented by every claim; a late writer from an older attempt cannot finish or release the event.
 * - `retriesUsed`: the per-webhook retry budget, counted across redeliveries.
 * - `retries#<operation>`: the retries one operation took for this webhook, across redeliveries (its own cap: 3 for an
 *   idempotent call, 1 for a note); `optionalReadRetries`: those taken by optional context reads (at most 2 of the 5).
 *   One conditional update takes a retry from all the counts that apply, or from none.
 * - `failedCalls` (string set): the PagerDuty operations that failed at least once for this webhook; a later delivery
 *   counts their first attempt as a retry, so the cap holds across deliveries.
 * - `lastChanceAt`: set by the one last-chance handback this webhook may make beyond its budget.
 */
export type WorkStatus = 'processing' | 'released' | FinishedStatus;
export type FinishedStatus = 'done' | 'handed-back' | 'ignored';

export const FINISHED_STATUSES: readonly FinishedStatus[] = ['done', 'handed-back', 'ignored'];

/** At most this many retries per webhook event, whatever the number of deliveries. */
export const MAX_RETRIES_PER_EVENT = 5;
/** Of those, optional context reads may take at most this many, so they never starve the writes. */
export const MAX_OPTIONAL_READ_RETRIES = 2;

/** What one retry is taken for: the operation, its own cap, and whether it is an optional context read. */
export interface RetryCharge {
  operation: string;
  operationMax: number;
  optional: boolean;
}

/** `granted`, or which cap refused it: the webhook's 5, the operation's own, or the optional reads' share. */
export type RetryGrant = 'granted' | 'event-spent' | 'operation-spent' | 'optional-spent';

/** The item attribute that counts one operation's retries. */
export const operationRetriesAttribute = (operation: string): `retries#${string}` => `retries#${operation}`;

export interface EventWork {
  workStatus?: WorkStatus;
  leaseUntil?: number;
  attempt?: number;
  retriesUsed?: number;
  optionalReadRetries?: number;
  failedCalls?: Set<string>;
  finishedAt?: string;
  finishDetail?: string;
  lastChanceAt?: string;
  /** `retries#<operation>` counts. */
  [operationRetries: `retries#${string}`]: number | undefined;
}

export type ClaimResult =
  | { claimed: true; attempt: number; retriesUsed: number; failedCalls: string[] }
  | { claimed: false; reason: 'finished'; workStatus: FinishedStatus }
  | { claimed: false; reason: 'leased'; leaseUntil: number };

export interface ClaimRequest {
  eventId: string;
  /** How long this attempt may hold the event before another delivery may take it over. */
  leaseMs: number;
  now?: Date;
}

export interface WorkLedger {
  claim(request: ClaimRequest): Promise<ClaimResult>;
  /** Marks the event finished for this attempt. False when another attempt took the claim over meanwhile. */
  finish(eventId: string, attempt: number, status: FinishedStatus, detail: string): Promise<boolean>;
  /** Gives the event back (it failed or was deferred) so the next delivery can claim it at once. */
  release(eventId: string, attempt: number, detail: string): Promise<boolean>;
  /**
   * Takes one retry from the event's budget and, with a charge, from its operation's cap and (optional reads) from
   * their share, atomically; says which cap refused it otherwise.
   */
  consumeRetry(eventId: string, charge?: RetryCharge): Promise<RetryGrant>;
  /** The one last-chance handback of this webhook beyond its budget: true for the first caller only. */
  claimLastChance(eventId: string, now?: Date): Promise<boolean>;
  /** Remembers that a PagerDuty operation failed for this event (idempotent). */
  recordFailedCall(eventId: string, operation: string): Promise<void>;
  /** Marks a dead-lettered event handed back whatever its lease (the handback function owns it now). */
  markHandedBack(eventId: string, detail: string, now?: Date): Promise<void>;
  get(eventId: string): Promise<EventWork | undefined>;
}

export class WorkLedgerError extends Error {
  override readonly name = 'WorkLedgerError';
  constructor(
    readonly operation: string,
    readonly eventId: string,
    cause: unknown,
  ) {
    super(
      `State table ${operation} for event ${eventId} failed: ${messageOf(cause)}. ` +
        'The message goes back to the queue; check the STATE_TABLE permissions and throttling if this repeats.',
      { cause },
    );
  }
}

/** Which cap a refused retry hit, read from the counts (the webhook's own first: it is what stops the run). */
export function refusedBy(work: EventWork | undefined, charge: RetryCharge | undefined): Exclude<RetryGrant, 'granted'> {
  if ((work?.retriesUsed ?? 0) >= MAX_RETRIES_PER_EVENT || charge === undefined) return 'event-spent';
  if ((work?.[operationRetriesAttribute(charge.operation)] ?? 0) >= charge.operationMax) return 'operation-spent';
  return charge.optional ? 'optional-spent' : 'event-spent';
}

const isConditionFailure = (error: unknown): boolean =>
  error instanceof ConditionalCheckFailedException || (error as Error)?.name === 'ConditionalCheckFailedException';

export class DynamoWorkLedger implements WorkLedger {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async claim({ eventId, leaseMs, now = new Date() }: ClaimRequest): Promise<ClaimResult> {
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: stateKeys.event(eventId) },
          // Creates the item when the ingress record is absent; `expiresAt` only if the ingress did not set one.
          UpdateExpression:
            'SET workStatus = :processing, leaseUntil = :leaseUntil, claimedAt = :now, ' +
            'attempt = if_not_exists(attempt, :zero) + :one, retriesUsed = if_not_exists(retriesUsed, :zero), ' +
            'expiresAt = if_not_exists(expiresAt, :expiresAt)',
          ConditionExpression:
            'attribute_not_exists(workStatus) OR workStatus = :released OR (workStatus = :processing AND leaseUntil < :nowMs)',
          ExpressionAttributeValues: {
            ':processing': 'processing',
            ':released': 'released',
            ':leaseUntil': now.getTime() + leaseMs,
            ':nowMs': now.getTime(),
            ':now': now.toISOString(),
            ':zero': 0,
            ':one': 1,
            ':expiresAt': epochSeconds(now) + EVENT_RECORD_TTL_SECONDS,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const item = result.Attributes as EventWork;
      return { claimed: true, attempt: item.attempt ?? 1, retriesUsed: item.retriesUsed ?? 0, failedCalls: [...(item.failedCalls ?? [])] };
    } catch (error) {
      if (!isConditionFailure(error)) throw new WorkLedgerError('claim', eventId, error);
    }
    // dynalite ignores ReturnValuesOnConditionCheckFailure, so read the item to say why the claim was refused.
    const current = await this.get(eventId);
    const status = current?.workStatus;
    if (status !== undefined && (FINISHED_STATUSES as readonly string[]).includes(status)) {
      return { claimed: false, reason: 'finished', workStatus: status as FinishedStatus };
    }
    return { claimed: false, reason: 'leased', leaseUntil: current?.leaseUntil ?? now.getTime() + leaseMs };
  }

  async finish(eventId: string, attempt: number, status: FinishedStatus, detail: string): Promise<boolean> {
    return this.updateOwned('finish', eventId, attempt, {
      UpdateExpression: 'SET workStatus = :status, finishedAt = :now, finishDetail = :detail REMOVE leaseUntil',
      values: { ':status': status, ':now': new Date().toISOString(), ':detail': detail.slice(0, 500) },
    });
  }

  async release(eventId: string, attempt: number, detail: string): Promise<boolean> {
    return this.updateOwned('release', eventId, attempt, {
      UpdateExpression: 'SET workStatus = :released, releasedAt = :now, releaseDetail = :detail REMOVE leaseUntil',
      values: { ':released': 'released', ':now': new Date().toISOString(), ':detail': detail.slice(0, 500) },
    });
  }

  async consumeRetry(eventId: string, charge?: RetryCharge): Promise<RetryGrant> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':zero': 0, ':one': 1, ':max': MAX_RETRIES_PER_EVENT };
    const sets = ['retriesUsed = if_not_exists(retriesUsed, :zero) + :one'];
    const conditions = ['(attribute_not_exists(retriesUsed) OR retriesUsed < :max)'];
    if (charge !== undefined) {
      names['#operation'] = operationRetriesAttribute(charge.operation);
      values[':operationMax'] = charge.operationMax;
      sets.push('#operation = if_not_exists(#operation, :zero) + :one');
      conditions.push('(attribute_not_exists(#operation) OR #operation < :operationMax)');
      if (charge.optional) {
        values[':optionalMax'] = MAX_OPTIONAL_READ_RETRIES;
        sets.push('optionalReadRetries = if_not_exists(optionalReadRetries, :zero) + :one');
        conditions.push('(attribute_not_exists(optionalReadRetries) OR optionalReadRetries < :optionalMax)');
      }
    }
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: stateKeys.event(eventId) },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: conditions.join(' AND '),
          ...(charge === undefined ? {} : { ExpressionAttributeNames: names }),
          ExpressionAttributeValues: values,
        }),
      );
      return 'granted';
    } catch (error) {
      if (!isConditionFailure(error)) throw new WorkLedgerError('retry budget update', eventId, error);
    }
    return refusedBy(await this.get(eventId), charge);
  }

  async claimLastChance(eventId: string, now = new Date()): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: stateKeys.event(eventId) },
          UpdateExpression: 'SET lastChanceAt = :now',
          ConditionExpression: 'attribute_not_exists(lastChanceAt)',
          ExpressionAttributeValues: { ':now': now.toISOString() },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw new WorkLedgerError('last-chance mark', eventId, error);
    }
  }

  async recordFailedCall(eventId: string, operation: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: stateKeys.event(eventId) },
          UpdateExpression: 'ADD failedCalls :operation',
          ExpressionAttributeValues: { ':operation': new Set([operation]) },
        }),
      );
    } catch (error) {
      throw new WorkLedgerError('failed-call record', eventId, error);
    }
  }

  async markHandedBack(eventId: string, detail: string, now = new Date()): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: stateKeys.event(eventId) },
          UpdateExpression:
            'SET workStatus = :handedBack, finishedAt = :now, finishDetail = :detail, ' +
            'expiresAt = if_not_exists(expiresAt, :expiresAt) REMOVE leaseUntil',
          ExpressionAttributeValues: {
            ':handedBack': 'handed-back',
            ':now': now.toISOString(),
            ':detail': detail.slice(0, 500),
            ':expiresAt': epochSeconds(now) + EVENT_RECORD_TTL_SECONDS,
          },
        }),
      );
    } catch (error) {
      throw new WorkLedgerError('handback mark', eventId, error);
    }
  }

  async get(eventId: string): Promise<EventWork | undefined> {
    try {
      const result = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: { pk: stateKeys.event(eventId) }, ConsistentRead: true }),
      );
      return result.Item as EventWork | undefined;
    } catch (error) {
      throw new WorkLedgerError('read', eventId, error);
    }
  }

  private async updateOwned(
    operation: string,
    eventId: string,
    attempt: number,
    update: { UpdateExpression: string; values: Record<string, unknown> },
  ): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: stateKeys.event(eventId) },
          UpdateExpression: update.UpdateExpression,
          ConditionExpression: 'workStatus = :processing AND attempt = :attempt',
          ExpressionAttributeValues: { ...update.values, ':processing': 'processing', ':attempt': attempt },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw new WorkLedgerError(operation, eventId, error);
    }
  }
}
