import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DEFAULT_AUDIT_RETENTION_DAYS, daysBetween, redactSecrets, utcDay } from '../audit/audit-log';
import { AUDIT_TIME_INDEX } from '../infra/resource-definitions';
import { FEEDBACK_SK_PREFIX, OUTCOME_SK_PREFIX, type FeedbackItem, type OutcomeItem, type OutcomeRecordItem } from './outcome-record';

/** An outcome or feedback item as the recorder builds it; the store adds the keys, day, environment and TTL. */
export type NewOutcome = Omit<OutcomeItem, 'sk' | 'day' | 'at' | 'env' | 'action' | 'outcome' | 'expiresAt'>;
export type NewFeedback = Omit<FeedbackItem, 'sk' | 'day' | 'at' | 'env' | 'action' | 'outcome' | 'expiresAt'>;

export interface OutcomeWriter {
  /** False when this event's item exists already (a redelivery): nothing is overwritten. */
  append(item: NewOutcome | NewFeedback): Promise<boolean>;
}

export class OutcomeStoreError extends Error {
  override readonly name = 'OutcomeStoreError';
  constructor(
    readonly operation: string,
    cause: unknown,
  ) {
    super(
      `Outcome ${operation} in the audit table failed: ${(cause as Error)?.message ?? String(cause)}. ` +
        'The webhook event is delivered again; check the AUDIT_TABLE permissions and throttling if this repeats.',
      { cause },
    );
  }
}

const isConditionFailure = (error: unknown): boolean =>
  error instanceof ConditionalCheckFailedException || (error as Error)?.name === 'ConditionalCheckFailedException';

/** Each incident's latest outcome and latest feedback, read for one time range. */
export interface IncidentOutcomes {
  incidentId: string;
  outcome?: OutcomeItem;
  feedback?: FeedbackItem;
}

export class OutcomeStore implements OutcomeWriter {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly env: string,
    private readonly retentionDays: number = DEFAULT_AUDIT_RETENTION_DAYS,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async append(item: NewOutcome | NewFeedback): Promise<boolean> {
    const now = this.clock();
    const at = now.toISOString();
    const prefix = item.kind === 'outcome' ? OUTCOME_SK_PREFIX : FEEDBACK_SK_PREFIX;
    const stored: OutcomeRecordItem = {
      ...item,
      detail: redactSecrets(item.detail),
      sk: `${prefix}${item.eventId}`,
      day: utcDay(now),
      at,
      env: this.env,
      action: 'record',
      outcome: 'recorded',
      expiresAt: Math.floor(now.getTime() / 1000) + this.retentionDays * 24 * 3600,
    };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: stored,
          ConditionExpression: 'attribute_not_exists(incidentId) AND attribute_not_exists(sk)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw new OutcomeStoreError(`${item.kind} write for incident ${item.incidentId}`, error);
    }
  }

  /**
   * Outcome and feedback items written in `[since, until]`, grouped by incident, the latest of each kind winning.
   * Reads the `byTime` index one UTC day at a time, keeping only the outcome and feedback prefixes.
   */
  async byTimeRange(since: Date, until: Date): Promise<IncidentOutcomes[]> {
    const byIncident = new Map<string, IncidentOutcomes>();
    for (const day of daysBetween(since, until)) {
      let startKey: Record<string, unknown> | undefined;
      do {
        let result;
        try {
          result = await this.client.send(
            new QueryCommand({
              TableName: this.tableName,
              IndexName: AUDIT_TIME_INDEX,
              KeyConditionExpression: '#day = :day AND #at BETWEEN :since AND :until',
              FilterExpression: 'begins_with(sk, :outcome) OR begins_with(sk, :feedback)',
              ExpressionAttributeNames: { '#day': 'day', '#at': 'at' },
              ExpressionAttributeValues: {
                ':day': day,
                ':since': since.toISOString(),
                ':until': until.toISOString(),
                ':outcome': OUTCOME_SK_PREFIX,
                ':feedback': FEEDBACK_SK_PREFIX,
              },
              ExclusiveStartKey: startKey,
            }),
          );
        } catch (error) {
          throw new OutcomeStoreError(`read of ${day}`, error);
        }
        for (const item of (result.Items ?? []) as OutcomeRecordItem[]) {
          const entry = byIncident.get(item.incidentId) ?? { incidentId: item.incidentId };
          if (item.kind === 'outcome' && (entry.outcome === undefined || entry.outcome.at <= item.at)) entry.outcome = item;
          if (item.kind === 'feedback' && (entry.feedback === undefined || entry.feedback.at <= item.at)) entry.feedback = item;
          byIncident.set(item.incidentId, entry);
        }
        startKey = result.LastEvaluatedKey;
      } while (startKey !== undefined);
    }
    return [...byIncident.values()];
  }
}
