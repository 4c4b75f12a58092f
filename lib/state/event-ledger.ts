import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EVENT_RECORD_TTL_SECONDS } from '../infra/resource-definitions';
import { epochSeconds, stateKeys } from './state-keys';

/**
 * The ingress's part of an event's item in the state table. The worker keeps its own attributes (work status, lease,
 * retries) on the same item, so every write here either creates the item or SETs only these attributes.
 */
export type IngressStatus = 'received' | 'enqueued';

export interface ReceivedEvent {
  eventId: string;
  eventType: string;
  incidentId: string | null;
  webhookId: string | null;
  subscriptionId: string | null;
  receivedAt: Date;
}

export interface QuarantinedBody {
  body: Buffer;
  /** Delivery headers worth keeping to understand the body; never credentials. */
  headers: Record<string, string>;
  reason: string;
  receivedAt: Date;
}

/** The ledger as the ingress handler uses it; tests may substitute it. */
export interface EventLedgerPort {
  /** `recorded` when this call created the record, `exists` when the event was recorded before. */
  recordReceived(event: ReceivedEvent): Promise<'recorded' | 'exists'>;
  /** The recorded ingress status, read consistently; null when the item has none (or no item exists). */
  ingressStatus(eventId: string): Promise<IngressStatus | null>;
  markEnqueued(eventId: string, at: Date): Promise<void>;
  /** Keeps a signed body that could not be parsed; returns its SHA-256 (hex), the quarantine key. */
  quarantine(entry: QuarantinedBody): Promise<string>;
}

export class EventLedger implements EventLedgerPort {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async recordReceived(event: ReceivedEvent): Promise<'recorded' | 'exists'> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: stateKeys.event(event.eventId),
            ingressStatus: 'received' satisfies IngressStatus,
            eventType: event.eventType,
            incidentId: event.incidentId,
            webhookId: event.webhookId,
            subscriptionId: event.subscriptionId,
            receivedAt: event.receivedAt.toISOString(),
            expiresAt: epochSeconds(event.receivedAt) + EVENT_RECORD_TTL_SECONDS,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return 'recorded';
    } catch (error) {
      if (isConditionalCheckFailure(error)) return 'exists';
      throw error;
    }
  }

  async ingressStatus(eventId: string): Promise<IngressStatus | null> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: stateKeys.event(eventId) },
        ConsistentRead: true,
        ProjectionExpression: 'ingressStatus',
      }),
    );
    const status: unknown = result.Item?.ingressStatus;
    return status === 'received' || status === 'enqueued' ? status : null;
  }

  async markEnqueued(eventId: string, at: Date): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: stateKeys.event(eventId) },
        UpdateExpression: 'SET ingressStatus = :enqueued, enqueuedAt = :at',
        ExpressionAttributeValues: { ':enqueued': 'enqueued' satisfies IngressStatus, ':at': at.toISOString() },
      }),
    );
  }

  async quarantine(entry: QuarantinedBody): Promise<string> {
    const sha256 = createHash('sha256').update(entry.body).digest('hex');
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: stateKeys.quarantine(sha256),
            bodyBase64: entry.body.toString('base64'),
            bodyBytes: entry.body.length,
            headers: entry.headers,
            reason: entry.reason,
            receivedAt: entry.receivedAt.toISOString(),
            expiresAt: epochSeconds(entry.receivedAt) + EVENT_RECORD_TTL_SECONDS,
          },
          // The same body redelivered is already kept: the first copy stays as it was.
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw error;
    }
    return sha256;
  }
}

export function isConditionalCheckFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as Error | null)?.name === 'ConditionalCheckFailedException';
}
