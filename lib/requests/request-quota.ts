import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RequestsConfig } from '../config/agent-config';
import { messageOf } from '../errors/message-of';
import { epochSeconds, stateKeys } from '../state/state-keys';

/**
 * At most `maxAnswers` answered requests per incident per window (fixed windows of `windowMinutes`), so a busy or
 * hostile timeline cannot make the agent write note after note. One state-table item per incident and window holds
 * the ids of the requests it let through; a conditional write adds one, so two workers never both take the last slot,
 * and a redelivered request finds its own id and is let through again without spending another.
 */
export interface RequestQuota {
  /** True when the request may be answered (it was let through now or before), false when the window is full. */
  admit(incidentId: string, requestId: string, now: Date): Promise<boolean>;
}

export class RequestQuotaError extends Error {
  constructor(
    readonly key: string,
    cause: unknown,
  ) {
    super(
      `the request quota ${key} could not be written (${messageOf(cause)}); the request is answered when the event is delivered again`,
      {
        cause,
      },
    );
    this.name = 'RequestQuotaError';
  }
}

const isConditionFailure = (error: unknown): boolean =>
  error instanceof ConditionalCheckFailedException || (error as Error)?.name === 'ConditionalCheckFailedException';

export function quotaWindowStart(now: Date, windowMinutes: number): Date {
  const windowMs = windowMinutes * 60_000;
  return new Date(Math.floor(now.getTime() / windowMs) * windowMs);
}

export class DynamoRequestQuota implements RequestQuota {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly settings: RequestsConfig,
  ) {}

  async admit(incidentId: string, requestId: string, now: Date): Promise<boolean> {
    const windowStart = quotaWindowStart(now, this.settings.windowMinutes);
    const key = stateKeys.requestQuota(incidentId, windowStart);
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: key },
          UpdateExpression: 'ADD requestIds :ids SET expiresAt = :ttl',
          ConditionExpression: 'attribute_not_exists(requestIds) OR contains(requestIds, :id) OR size(requestIds) < :max',
          ExpressionAttributeValues: {
            ':ids': new Set([requestId]),
            ':id': requestId,
            ':max': this.settings.maxAnswers,
            ':ttl': epochSeconds(windowStart) + 2 * this.settings.windowMinutes * 60,
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw new RequestQuotaError(key, error);
    }
  }
}
