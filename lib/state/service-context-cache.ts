import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ChangeLookup } from '../context/aws/aws-input';
import type { ChangeEvent, Incident, Oncall } from '../pagerduty/types';
import { isConditionalCheckFailure } from './event-ledger';
import { epochSeconds, stateKeys } from './state-keys';

/**
 * The service-level context one incident read from PagerDuty, kept in the state table for the other incidents of a
 * burst on the same service (lib/context/shared-service-context.ts decides when to use it). Three kinds of item:
 *   `servicectx#<service>#<window>`: the shared context (or, while the first reader works, only its lease);
 *   `burst#<service>#<window>`: an atomic count of the incidents seen in the window and when the first was seen;
 *   `pastnotes#<incident>`: the notes of one resolved incident, read once for every incident whose title resembles it;
 *   `awschanges#<credentials>|<region>|<name>`: one resource name's CloudTrail lookup, for the incidents of a burst on it, keyed
 *   by the credentials used (`own`, or a hash of the role and external id; never an account an alert names).
 * Every item carries `expiresAt`, so DynamoDB's TTL removes it; readers also check it, since TTL deletes late.
 */

export interface SharedServiceContext {
  /** When the first reader read PagerDuty (ISO-8601). */
  readAt: string;
  /** The on-calls are those of this escalation policy; an incident with another one reads its own. */
  escalationPolicyId: string;
  /** Each source is present only when the first reader got it; the others read a missing one themselves. */
  recentIncidents?: Incident[];
  changeEvents?: ChangeEvent[];
  oncalls?: Oncall[];
}

export interface BurstMark {
  /** Incidents the agent has seen on the service in the window, this one included. */
  count: number;
  /** When the first of them was seen (ISO-8601). */
  since: string;
}

export interface ServiceContextCachePort {
  /** Counts the incident into its service's burst and answers the count so far. */
  joinBurst(serviceId: string, windowStart: Date, seenAt: Date, expiresAt: Date): Promise<BurstMark>;
  /** The service's shared context while it is fresh, or undefined when nobody has written it (yet) or it went stale. */
  read(serviceId: string, now: Date): Promise<SharedServiceContext | undefined>;
  /** Takes the reader's lease when no fresh context is written and no other lease runs; true when this caller reads. */
  claimRead(serviceId: string, now: Date, leaseUntil: Date): Promise<boolean>;
  /** Stores the context, fresh until `freshUntil`; false when it does not fit in an item even trimmed (the others then read themselves). */
  write(serviceId: string, context: SharedServiceContext, freshUntil: Date): Promise<boolean>;
  /** The same three steps for the notes of one past incident, shared by every incident whose title resembles it. */
  readPastNotes(incidentId: string, now: Date): Promise<string[] | undefined>;
  claimPastNotes(incidentId: string, now: Date, leaseUntil: Date): Promise<boolean>;
  writePastNotes(incidentId: string, notes: string[], freshUntil: Date): Promise<boolean>;
  /** The same three steps for one resource name's CloudTrail lookup. */
  readChangeLookup(key: string, now: Date): Promise<ChangeLookup | undefined>;
  claimChangeLookup(key: string, now: Date, leaseUntil: Date): Promise<boolean>;
  writeChangeLookup(key: string, lookup: ChangeLookup, freshUntil: Date): Promise<boolean>;
}

/** Well under DynamoDB's 400 KB item limit, leaving room for the key and the other attributes. */
export const MAX_SHARED_ITEM_BYTES = 300_000;
const MAX_TITLE_CHARS = 512;
/** TTL deletes late and readers check `freshUntil` themselves: the margin only keeps the table tidy. */
const TTL_MARGIN_SECONDS = 60;

/** Only what triage reads of a past incident: no assignments, acknowledgements or teams. */
function trimIncident(incident: Incident): Incident {
  const asRead = incident as Incident & { last_status_change_by?: unknown };
  return {
    id: incident.id,
    type: incident.type,
    number: incident.number,
    title: incident.title.slice(0, MAX_TITLE_CHARS),
    status: incident.status,
    urgency: incident.urgency,
    html_url: incident.html_url,
    created_at: incident.created_at,
    incident_key: null,
    service: incident.service,
    escalation_policy: incident.escalation_policy,
    priority: incident.priority,
    teams: [],
    assignments: [],
    acknowledgements: [],
    last_status_change_at: incident.last_status_change_at,
    resolved_at: incident.resolved_at,
    ...(asRead.last_status_change_by === undefined ? {} : { last_status_change_by: asRead.last_status_change_by }),
  };
}

const byteLength = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8');

/**
 * The context as stored: trimmed incidents; when still too large, change events lose their custom details, then the
 * oldest recent incidents go. Undefined when even that does not fit.
 */
export function trimForStorage(context: SharedServiceContext, maxBytes = MAX_SHARED_ITEM_BYTES): SharedServiceContext | undefined {
  let trimmed: SharedServiceContext = { ...context, recentIncidents: context.recentIncidents?.map(trimIncident) };
  if (byteLength(trimmed) <= maxBytes) return trimmed;
  trimmed = { ...trimmed, changeEvents: trimmed.changeEvents?.map((event) => ({ ...event, custom_details: undefined })) };
  // Halving keeps the newest (the list is newest first) and ends in a few steps.
  while (byteLength(trimmed) > maxBytes && (trimmed.recentIncidents?.length ?? 0) > 0) {
    const recent = trimmed.recentIncidents ?? [];
    trimmed = { ...trimmed, recentIncidents: recent.slice(0, Math.floor(recent.length / 2)) };
  }
  return byteLength(trimmed) <= maxBytes ? trimmed : undefined;
}

function parseContext(value: unknown): SharedServiceContext | undefined {
  if (typeof value !== 'string') return undefined;
  const parsed = JSON.parse(value) as Partial<SharedServiceContext>;
  const listOrAbsent = (list: unknown): boolean => list === undefined || Array.isArray(list);
  const complete =
    typeof parsed.readAt === 'string' &&
    typeof parsed.escalationPolicyId === 'string' &&
    listOrAbsent(parsed.recentIncidents) &&
    listOrAbsent(parsed.changeEvents) &&
    listOrAbsent(parsed.oncalls);
  return complete ? (parsed as SharedServiceContext) : undefined;
}

/** A stored lookup, or undefined when it is not one (another release wrote it, or it was damaged): the reader then looks up itself. */
function parseChangeLookup(stored: string): ChangeLookup | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stored);
  } catch {
    return undefined;
  }
  const lookup = parsed as Partial<ChangeLookup> | null;
  const valid =
    typeof lookup?.start === 'string' &&
    typeof lookup.end === 'string' &&
    Array.isArray(lookup.changes) &&
    lookup.changes.every(
      (entry) =>
        typeof entry?.id === 'string' &&
        typeof entry.change?.at === 'string' &&
        typeof entry.change.action === 'string' &&
        typeof entry.change.summary === 'string',
    );
  return valid ? (lookup as ChangeLookup) : undefined;
}

export class DynamoServiceContextCache implements ServiceContextCachePort {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async joinBurst(serviceId: string, windowStart: Date, seenAt: Date, expiresAt: Date): Promise<BurstMark> {
    const result = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: stateKeys.burst(serviceId, windowStart) },
        UpdateExpression:
          'ADD burstCount :one SET firstSeenAt = if_not_exists(firstSeenAt, :seenAt), expiresAt = if_not_exists(expiresAt, :expiresAt)',
        ExpressionAttributeValues: { ':one': 1, ':seenAt': seenAt.toISOString(), ':expiresAt': epochSeconds(expiresAt) },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const count: unknown = result.Attributes?.burstCount;
    const since: unknown = result.Attributes?.firstSeenAt;
    return { count: typeof count === 'number' ? count : 1, since: typeof since === 'string' ? since : seenAt.toISOString() };
  }

  async read(serviceId: string, now: Date): Promise<SharedServiceContext | undefined> {
    return parseContext(await this.readFresh(stateKeys.serviceContext(serviceId), 'sharedContext', now));
  }

  claimRead(serviceId: string, now: Date, leaseUntil: Date): Promise<boolean> {
    return this.claim(stateKeys.serviceContext(serviceId), now, leaseUntil);
  }

  async write(serviceId: string, context: SharedServiceContext, freshUntil: Date): Promise<boolean> {
    const stored = trimForStorage(context);
    if (stored === undefined) return false;
    await this.writeFresh(stateKeys.serviceContext(serviceId), { sharedContext: JSON.stringify(stored) }, freshUntil);
    return true;
  }

  async readPastNotes(incidentId: string, now: Date): Promise<string[] | undefined> {
    const notes = await this.readFresh(stateKeys.pastNotes(incidentId), 'notes', now);
    return Array.isArray(notes) && notes.every((note) => typeof note === 'string') ? notes : undefined;
  }

  claimPastNotes(incidentId: string, now: Date, leaseUntil: Date): Promise<boolean> {
    return this.claim(stateKeys.pastNotes(incidentId), now, leaseUntil);
  }

  async writePastNotes(incidentId: string, notes: string[], freshUntil: Date): Promise<boolean> {
    // Whole notes: the agent's own are recognised by the reference in their footer, which a cut would drop.
    if (byteLength(notes) > MAX_SHARED_ITEM_BYTES) return false;
    await this.writeFresh(stateKeys.pastNotes(incidentId), { notes }, freshUntil);
    return true;
  }

  async readChangeLookup(key: string, now: Date): Promise<ChangeLookup | undefined> {
    const stored = await this.readFresh(stateKeys.changeLookup(key), 'lookup', now);
    return typeof stored === 'string' ? parseChangeLookup(stored) : undefined;
  }

  claimChangeLookup(key: string, now: Date, leaseUntil: Date): Promise<boolean> {
    return this.claim(stateKeys.changeLookup(key), now, leaseUntil);
  }

  async writeChangeLookup(key: string, lookup: ChangeLookup, freshUntil: Date): Promise<boolean> {
    const stored = JSON.stringify(lookup);
    if (Buffer.byteLength(stored) > MAX_SHARED_ITEM_BYTES) return false;
    await this.writeFresh(stateKeys.changeLookup(key), { lookup: stored }, freshUntil);
    return true;
  }

  /** The attribute while the item is fresh; undefined when it is stale, only leased, or absent. */
  private async readFresh(pk: string, attribute: string, now: Date): Promise<unknown> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk },
        ConsistentRead: true,
        ProjectionExpression: '#value, freshUntil',
        ExpressionAttributeNames: { '#value': attribute },
      }),
    );
    const freshUntil: unknown = result.Item?.freshUntil;
    return typeof freshUntil === 'number' && freshUntil > now.getTime() ? result.Item?.[attribute] : undefined;
  }

  /** The reader's lease, granted when nothing fresh is stored and no other lease runs. */
  private async claim(pk: string, now: Date, leaseUntil: Date): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk },
          UpdateExpression: 'SET readerLeaseUntil = :leaseUntil, expiresAt = :expiresAt',
          ConditionExpression:
            '(attribute_not_exists(freshUntil) OR freshUntil <= :now) AND (attribute_not_exists(readerLeaseUntil) OR readerLeaseUntil <= :now)',
          ExpressionAttributeValues: {
            ':leaseUntil': leaseUntil.getTime(),
            ':now': now.getTime(),
            ':expiresAt': epochSeconds(leaseUntil) + TTL_MARGIN_SECONDS,
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailure(error)) return false;
      throw error;
    }
  }

  /** A Put replaces the lease with the value: the next reader after `freshUntil` takes a new lease. */
  private async writeFresh(pk: string, value: Record<string, unknown>, freshUntil: Date): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk, ...value, freshUntil: freshUntil.getTime(), expiresAt: epochSeconds(freshUntil) + TTL_MARGIN_SECONDS },
      }),
    );
  }
}
