import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, PutCommand, ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { messageOf } from '../errors/message-of';
import { stateKeys } from '../state/state-keys';
import type { Demotion } from './rule-trust';

/**
 * One item per rule that was ever demoted (`rule#<id>` in the state table, no TTL): `demoted` until a person promotes
 * it, then `promoted` with who and when. Both changes are conditional writes, so two workers that see the same bad
 * record demote it once, and a promotion never undoes a demotion it did not see.
 */
export interface RuleStanding extends Demotion {
  state: 'demoted' | 'promoted';
  promotedAt?: string;
  promotedBy?: string;
}

export interface DemotionReader {
  /** The standing of each of these rules that has one (rules never demoted have none). */
  standings(ruleIds: readonly string[]): Promise<Map<string, RuleStanding>>;
}

export class DemotionStoreError extends Error {
  override readonly name = 'DemotionStoreError';
  constructor(
    readonly operation: string,
    cause: unknown,
  ) {
    super(
      `Rule standing ${operation} in the state table failed: ${messageOf(cause)}. ` +
        'Check the STATE_TABLE permissions and throttling; the worker retries the event, the CLI can be run again.',
      { cause },
    );
  }
}

/** BatchGetItem takes at most 100 keys. */
const BATCH_KEYS = 100;
/** Unprocessed keys (throttling) are asked again this many times before the read fails. */
const UNPROCESSED_ROUNDS = 3;

const isConditionFailure = (error: unknown): boolean =>
  error instanceof ConditionalCheckFailedException || (error as Error)?.name === 'ConditionalCheckFailedException';

export class DemotionStore implements DemotionReader {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async standings(ruleIds: readonly string[]): Promise<Map<string, RuleStanding>> {
    const found = new Map<string, RuleStanding>();
    const unique = [...new Set(ruleIds)];
    for (let start = 0; start < unique.length; start += BATCH_KEYS) {
      let keys: Record<string, unknown>[] = unique.slice(start, start + BATCH_KEYS).map((id) => ({ pk: stateKeys.ruleStanding(id) }));
      for (let round = 0; keys.length > 0; round += 1) {
        if (round === UNPROCESSED_ROUNDS) throw new DemotionStoreError('read', new Error(`${keys.length} keys stayed unprocessed`));
        let result;
        try {
          result = await this.client.send(
            new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }),
          );
        } catch (error) {
          throw new DemotionStoreError('read', error);
        }
        for (const item of (result.Responses?.[this.tableName] ?? []) as (RuleStanding & { pk: string })[]) {
          const { pk, ...standing } = item;
          if (pk === stateKeys.ruleStanding(standing.ruleId)) found.set(standing.ruleId, standing);
        }
        keys = (result.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Record<string, unknown>[];
      }
    }
    return found;
  }

  /**
   * Every rule's standing, for the CLI (`report`, `doctor`), which does not know the deployed rules: a filtered scan
   * of the state table. The worker never scans; it reads its configured rules' keys (`demoted`).
   */
  async all(): Promise<RuleStanding[]> {
    const found: RuleStanding[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      let result;
      try {
        result = await this.client.send(
          new ScanCommand({
            TableName: this.tableName,
            FilterExpression: 'begins_with(pk, :prefix)',
            ExpressionAttributeValues: { ':prefix': stateKeys.ruleStanding('') },
            ExclusiveStartKey: startKey,
          }),
        );
      } catch (error) {
        throw new DemotionStoreError('scan', error);
      }
      for (const item of (result.Items ?? []) as (RuleStanding & { pk: string })[]) {
        const { pk, ...standing } = item;
        if (pk === stateKeys.ruleStanding(standing.ruleId)) found.push(standing);
      }
      startKey = result.LastEvaluatedKey;
    } while (startKey !== undefined);
    return found.sort((a, b) => a.ruleId.localeCompare(b.ruleId));
  }

  /** The demoted ones among these rules. */
  async demoted(ruleIds: readonly string[]): Promise<Map<string, Demotion>> {
    const standings = await this.standings(ruleIds);
    return new Map([...standings].filter(([, standing]) => standing.state === 'demoted'));
  }

  /** False when the rule is demoted already (another worker, or a redelivery, got there first): nothing is overwritten. */
  async demote(demotion: Demotion): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: stateKeys.ruleStanding(demotion.ruleId), state: 'demoted', ...demotion },
          ConditionExpression: 'attribute_not_exists(pk) OR #state = :promoted',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':promoted': 'promoted' },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw new DemotionStoreError(`demotion of rule ${demotion.ruleId}`, error);
    }
  }

  /** False when the rule is not demoted (never was, or promoted already): nothing changes. */
  async promote(ruleId: string, by: string, at: Date): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: stateKeys.ruleStanding(ruleId) },
          UpdateExpression: 'SET #state = :promoted, promotedAt = :at, promotedBy = :by',
          ConditionExpression: '#state = :demoted',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':promoted': 'promoted', ':demoted': 'demoted', ':at': at.toISOString(), ':by': by },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw new DemotionStoreError(`promotion of rule ${ruleId}`, error);
    }
  }
}
