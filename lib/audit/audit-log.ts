import { PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AUDIT_TIME_INDEX } from '../infra/resource-definitions';
import { isConditionalCheckFailure } from '../state/event-ledger';
import type { AuditAction, AuditItem, AuditOutcome } from './audit-record';

/**
 * The audit trail in AUDIT_TABLE. A PagerDuty mutation is written as an `intent` before the call and completed with
 * its outcome after it, so a crash in between leaves a visible intent. Reads: by incident (the table's key) and by
 * time range (the `byTime` GSI, one partition per UTC day).
 *
 * Append-only: every put is conditional on its key being new, and the only update fills an existing intent's outcome
 * once (conditional on the item being an intent still). No write here can replace or remove an item; the functions'
 * IAM grants hold no delete or batch action either (`cdk/pd-agent-stack.ts`).
 */
export const DEFAULT_AUDIT_RETENTION_DAYS = 90;

/** Incident id used for events that carry none (pings, service events). */
export const NO_INCIDENT = 'none';

export interface AuditSubject {
  incidentId: string | null;
  eventId: string;
  eventType?: string;
}

export interface AuditIntent extends AuditSubject {
  action: Extract<AuditAction, 'acknowledge' | 'note' | 'escalate' | 'resolve' | 'events-api'>;
  detail?: string;
  hypothesisSummary?: string;
}

export interface AuditCompletion {
  outcome: Exclude<AuditOutcome, 'intent' | 'recorded'>;
  detail?: string;
  httpStatus?: number;
  requestId?: string | null;
  attempts?: number;
  durationMs?: number;
  noteId?: string;
  hypothesisSummary?: string;
}

export interface AuditEntry extends AuditSubject {
  action: AuditAction;
  outcome: Extract<AuditOutcome, 'recorded' | 'skipped' | 'failed' | 'succeeded'>;
  detail?: string;
  decision?: string;
  hypothesisSummary?: string;
  durationMs?: number;
}

/** The key of an intent item, to complete it after the call. */
export interface AuditHandle {
  incidentId: string;
  sk: string;
}

export interface TimeRangeFilters {
  action?: AuditAction;
  outcome?: AuditOutcome;
  incidentId?: string;
  /** Items per page (default 100). */
  limit?: number;
  /** From a previous page's `nextCursor`. */
  cursor?: string;
}

export interface AuditPage {
  items: AuditItem[];
  /** Absent on the last page. */
  nextCursor?: string;
}

export interface AuditTrail {
  begin(intent: AuditIntent): Promise<AuditHandle>;
  complete(handle: AuditHandle, completion: AuditCompletion): Promise<void>;
  record(entry: AuditEntry): Promise<void>;
}

export class AuditWriteError extends Error {
  override readonly name = 'AuditWriteError';
  constructor(
    readonly operation: string,
    readonly incidentId: string,
    cause: unknown,
  ) {
    super(
      `Audit ${operation} for incident ${incidentId} failed: ${(cause as Error)?.message ?? String(cause)}. ` +
        'No PagerDuty change is made without its audit intent; check the AUDIT_TABLE permissions and throttling.',
      { cause },
    );
  }
}

/** Why a conditional audit write was refused: the trail never overwrites an item or a completed outcome. */
export class AuditAppendOnlyError extends Error {
  override readonly name = 'AuditAppendOnlyError';
  constructor(
    readonly operation: 'intent' | 'record' | 'completion',
    readonly incidentId: string,
    readonly sk: string,
  ) {
    super(
      operation === 'completion'
        ? `Audit item ${sk} of incident ${incidentId} is not an open intent (missing, or its outcome is already recorded); ` +
            'the audit trail is append-only, so the recorded outcome stands. Look at the item with pd-agent audit.'
        : `Audit item ${sk} of incident ${incidentId} already exists; the audit trail is append-only, so it was not ` +
            'overwritten. Repeat the write: a new item gets a new time in its key.',
    );
  }
}

export class AuditCursorError extends Error {
  override readonly name = 'AuditCursorError';
  constructor() {
    super('The audit cursor is not one this version wrote; start the query again without a cursor.');
  }
}

const MAX_DETAIL_CHARS = 1000;

/** Credentials never reach the audit table, even inside an error message that quoted a request. */
export function redactSecrets(text: string): string {
  return text
    .replace(/(Token token=)[^\s"',;]+/gi, '$1[redacted]')
    .replace(/(Bearer\s+)[^\s"',;]+/gi, '$1[redacted]')
    .replace(/("?(?:apiToken|clientSecret|secret|routing_key|routingKey|access_token)"?\s*[:=]\s*"?)[^\s"',;}]+/gi, '$1[redacted]')
    .slice(0, MAX_DETAIL_CHARS);
}

export const utcDay = (at: Date): string => at.toISOString().slice(0, 10);

/** The UTC days from `since` to `until`, both included: the `byTime` partitions of that range. */
export function daysBetween(since: Date, until: Date): string[] {
  const days: string[] = [];
  const cursor = new Date(Date.UTC(since.getUTCFullYear(), since.getUTCMonth(), since.getUTCDate()));
  while (cursor.getTime() <= until.getTime()) {
    days.push(utcDay(cursor));
    cursor.setUTCDate(cursor.getUTCDate() + 1);
  }
  return days;
}

interface TimeCursor {
  day: string;
  key?: Record<string, unknown>;
}

const encodeCursor = (cursor: TimeCursor): string => Buffer.from(JSON.stringify(cursor)).toString('base64url');

function decodeCursor(raw: string): TimeCursor {
  try {
    const value = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as TimeCursor;
    if (typeof value.day !== 'string') throw new AuditCursorError();
    return value;
  } catch {
    throw new AuditCursorError();
  }
}

function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== null)) as T;
}

export class AuditLog implements AuditTrail {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly env: string,
    private readonly retentionDays: number = DEFAULT_AUDIT_RETENTION_DAYS,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async begin(intent: AuditIntent): Promise<AuditHandle> {
    const item = this.item(intent, intent.action, 'intent', { detail: intent.detail, hypothesisSummary: intent.hypothesisSummary });
    await this.put(item);
    return { incidentId: item.incidentId, sk: item.sk };
  }

  async complete(handle: AuditHandle, completion: AuditCompletion): Promise<void> {
    const fields = defined({
      outcome: completion.outcome,
      detail: completion.detail === undefined ? undefined : redactSecrets(completion.detail),
      httpStatus: completion.httpStatus,
      requestId: completion.requestId ?? undefined,
      attempts: completion.attempts,
      durationMs: completion.durationMs,
      noteId: completion.noteId,
      hypothesisSummary: completion.hypothesisSummary,
      completedAt: this.clock().toISOString(),
    });
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets = Object.entries(fields).map(([name, value], index) => {
      names[`#f${index}`] = name;
      values[`:v${index}`] = value;
      return `#f${index} = :v${index}`;
    });
    names['#outcome'] = 'outcome';
    values[':intent'] = 'intent';
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { incidentId: handle.incidentId, sk: handle.sk },
          UpdateExpression: `SET ${sets.join(', ')}`,
          // Only an existing intent, once: never creates an item, never rewrites a recorded outcome.
          ConditionExpression: 'attribute_exists(sk) AND #outcome = :intent',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      const refused = isConditionalCheckFailure(error) ? new AuditAppendOnlyError('completion', handle.incidentId, handle.sk) : error;
      throw new AuditWriteError('completion', handle.incidentId, refused);
    }
  }

  async record(entry: AuditEntry): Promise<void> {
    await this.put(
      this.item(entry, entry.action, entry.outcome, {
        detail: entry.detail,
        decision: entry.decision,
        hypothesisSummary: entry.hypothesisSummary,
        durationMs: entry.durationMs,
        completedAt: undefined,
      }),
    );
  }

  /** Every item of one incident, oldest first, page by page. */
  async byIncident(incidentId: string, options: { limit?: number; cursor?: string } = {}): Promise<AuditPage> {
    const result = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'incidentId = :incidentId',
        ExpressionAttributeValues: { ':incidentId': incidentId },
        Limit: options.limit ?? 100,
        ExclusiveStartKey: options.cursor === undefined ? undefined : decodeCursor(options.cursor).key,
      }),
    );
    return {
      items: (result.Items ?? []) as AuditItem[],
      nextCursor: result.LastEvaluatedKey === undefined ? undefined : encodeCursor({ day: '', key: result.LastEvaluatedKey }),
    };
  }

  /** Items with `since <= at <= until`, oldest first, across the daily partitions of the `byTime` index. */
  async byTimeRange(since: Date, until: Date, filters: TimeRangeFilters = {}): Promise<AuditPage> {
    const limit = filters.limit ?? 100;
    const days = daysBetween(since, until);
    const start = filters.cursor === undefined ? { day: days[0] ?? utcDay(since) } : decodeCursor(filters.cursor);
    const items: AuditItem[] = [];
    let dayIndex = days.indexOf(start.day);
    let exclusiveStartKey = start.key;
    while (dayIndex >= 0 && dayIndex < days.length && items.length < limit) {
      const day = days[dayIndex];
      const filterParts: string[] = [];
      const values: Record<string, unknown> = { ':day': day, ':since': since.toISOString(), ':until': until.toISOString() };
      const names: Record<string, string> = { '#day': 'day', '#at': 'at' };
      if (filters.action !== undefined) {
        filterParts.push('#action = :action');
        names['#action'] = 'action';
        values[':action'] = filters.action;
      }
      if (filters.outcome !== undefined) {
        filterParts.push('#outcome = :outcome');
        names['#outcome'] = 'outcome';
        values[':outcome'] = filters.outcome;
      }
      if (filters.incidentId !== undefined) {
        filterParts.push('incidentId = :incidentId');
        values[':incidentId'] = filters.incidentId;
      }
      const result = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: AUDIT_TIME_INDEX,
          KeyConditionExpression: '#day = :day AND #at BETWEEN :since AND :until',
          FilterExpression: filterParts.length === 0 ? undefined : filterParts.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          Limit: limit - items.length,
          ExclusiveStartKey: exclusiveStartKey,
        }),
      );
      items.push(...((result.Items ?? []) as AuditItem[]));
      if (result.LastEvaluatedKey !== undefined) {
        exclusiveStartKey = result.LastEvaluatedKey;
        if (items.length >= limit) return { items, nextCursor: encodeCursor({ day, key: exclusiveStartKey }) };
      } else {
        exclusiveStartKey = undefined;
        dayIndex += 1;
      }
    }
    const nextDay = days[dayIndex];
    return { items, nextCursor: nextDay === undefined ? undefined : encodeCursor({ day: nextDay, key: exclusiveStartKey }) };
  }

  private item(
    subject: AuditSubject,
    action: AuditAction,
    outcome: AuditOutcome,
    extra: Partial<Pick<AuditItem, 'detail' | 'decision' | 'hypothesisSummary' | 'durationMs' | 'completedAt'>>,
  ): AuditItem {
    const now = this.clock();
    const at = now.toISOString();
    return defined({
      incidentId: subject.incidentId ?? NO_INCIDENT,
      sk: `${at}#${action}#${subject.eventId}`,
      day: utcDay(now),
      at,
      env: this.env,
      action,
      outcome,
      eventId: subject.eventId,
      eventType: subject.eventType,
      detail: extra.detail === undefined ? undefined : redactSecrets(extra.detail),
      decision: extra.decision,
      hypothesisSummary: extra.hypothesisSummary,
      durationMs: extra.durationMs,
      completedAt: outcome === 'intent' ? undefined : at,
      expiresAt: Math.floor(now.getTime() / 1000) + this.retentionDays * 24 * 3600,
    });
  }

  private async put(item: AuditItem): Promise<void> {
    const operation = item.outcome === 'intent' ? 'intent' : 'record';
    try {
      await this.client.send(new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(sk)' }));
    } catch (error) {
      const refused = isConditionalCheckFailure(error) ? new AuditAppendOnlyError(operation, item.incidentId, item.sk) : error;
      throw new AuditWriteError(operation, item.incidentId, refused);
    }
  }
}
