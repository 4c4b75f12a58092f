import type { Prediction } from '../followup/prediction';
import type { ContextSnapshot } from '../followup/snapshot';

/**
 * The SQS message the ingress writes and the worker reads: the verified raw body, byte for byte, plus the delivery
 * headers the worker needs. Group id = incident id (or `event-<id>`); dedup id = event id.
 *
 * The contract is versioned (`version`) because messages outlive a deploy: the event queue and its dead-letter queue
 * keep what the previous release wrote for up to 14 days, and a rollback meets what the newer one wrote. A release
 * reads every version it knows (READERS) and refuses a newer one without losing it: the message fails, stays on the
 * queue and then the dead-letter queue, and the handback can still hand its incident back from what it can read
 * (`readDeadLetteredEvent`). To change the shape: bump QUEUED_EVENT_VERSION, keep a reader for the previous version,
 * and add a fixture of the previous release's message to `test/fixtures/queued-events/`.
 *
 * Version 2 added a second kind of message on the same queue, in the incident's group: a scheduled check (a hold that
 * ends, a follow-up), put there by the scheduler (lib/scheduling/) when it is due, so it is serialized with the
 * incident's webhook events. Webhook events keep version 1's shape, so a release that reads only version 1 still reads
 * every webhook event and leaves only the checks on the queue.
 */
export const QUEUED_EVENT_VERSION = 1;
/** The newest message version this release reads (version 2: scheduled checks). */
export const QUEUED_MESSAGE_VERSION = 2;

export interface QueuedEvent {
  version: typeof QUEUED_EVENT_VERSION;
  eventId: string;
  eventType: string;
  incidentId: string | null;
  /** The exact bytes PagerDuty signed, base64. */
  rawBodyBase64: string;
  webhookId: string | null;
  subscriptionId: string | null;
  /** ISO-8601 time the ingress received the delivery. */
  receivedAt: string;
}

/** Which event a message is about: all the handback needs, and readable from any release's message. */
export type QueuedEventHeader = Pick<QueuedEvent, 'eventId' | 'eventType' | 'incidentId'>;

/** What a scheduled check is for: the end of a hold, or a follow-up of a triaged incident. */
export type CheckKind = 'hold-expiry' | 'follow-up';
export const CHECK_KINDS: readonly CheckKind[] = ['hold-expiry', 'follow-up'];

/** A check the agent scheduled on an incident, from the delay queue to the event queue to the worker. */
export interface ScheduledCheck {
  version: typeof QUEUED_MESSAGE_VERSION;
  kind: 'scheduled-check';
  check: CheckKind;
  /** Stable for one check of one triggering event: the claim key, the FIFO deduplication id and the note's token. */
  checkId: string;
  incidentId: string;
  /** The triggering event whose triage scheduled it: a check of an earlier trigger (the incident reopened) is stale. */
  triggerEventId: string;
  /** When it is due (ISO-8601). */
  dueAt: string;
  /** 1 for a hold's end and the first follow-up, n for the n-th follow-up. */
  sequence: number;
  scheduledAt: string;
  /** Follow-ups: what the agent's last note was based on, and the prediction its first note made. */
  baseline?: ContextSnapshot;
  prediction?: Prediction;
}

/** The event type a check goes by in logs, the audit trail and the handback. */
export const checkEventType = (check: CheckKind): string => `pd-agent.check.${check}`;
export const HOLD_EXPIRY_EVENT_TYPE = checkEventType('hold-expiry');

/** A scheduled check as the worker and the handback read it, named like an event (its id is the check id). */
export interface QueuedCheck extends QueuedEventHeader {
  incidentId: string;
  check: ScheduledCheck;
}

/** What the worker reads from the event queue: a webhook event or a scheduled check. */
export type WorkerMessage = QueuedEvent | QueuedCheck;

export const isQueuedCheck = (message: WorkerMessage): message is QueuedCheck => 'check' in message;

/**
 * A dead-lettered message as the handback reads it: always which event it is about, and the signed body when this
 * release reads the message's version (a responder's feedback note is in it).
 */
export type DeadLetteredEvent = QueuedEventHeader & Partial<Pick<QueuedEvent, 'rawBodyBase64'>>;

/** The parts of an SQS record the readers use (a Lambda `SQSRecord` has them). */
export interface QueuedMessage {
  messageId: string;
  body: string;
  attributes: { MessageGroupId?: string; MessageDeduplicationId?: string };
}

export class QueuedEventError extends Error {
  override readonly name: string = 'QueuedEventError';
  constructor(
    readonly messageId: string,
    reason: string,
  ) {
    super(
      `SQS message ${messageId} is not a pd-agent queued event: ${reason}. It was not processed and stays on the queue, ` +
        'then the dead-letter queue; inspect it there.',
    );
  }
}

/** A message written by a newer release (a rollback, or a deploy still rolling out): kept, not guessed at. */
export class QueuedEventVersionError extends QueuedEventError {
  override readonly name = 'QueuedEventVersionError';
  constructor(
    messageId: string,
    readonly version: unknown,
  ) {
    super(
      messageId,
      `its version ${JSON.stringify(version)} is newer than this release reads (up to ${QUEUED_MESSAGE_VERSION}), so a newer release ` +
        'wrote it. Deploy that release again (roll forward) so it is read; until then it waits on the queues and the handback ' +
        'hands its incident back from the message group id',
    );
  }
}

type JsonObject = Record<string, unknown>;

/** Version 2: a scheduled check (webhook events are still written as version 1). */
function readCheck(body: JsonObject, messageId: string): ScheduledCheck {
  const { check, checkId, incidentId, triggerEventId, dueAt, sequence, scheduledAt } = body;
  if (body.kind !== 'scheduled-check')
    throw new QueuedEventError(messageId, `version 2 message of unknown kind ${JSON.stringify(body.kind)}`);
  if (
    !CHECK_KINDS.includes(check as CheckKind) ||
    typeof checkId !== 'string' ||
    typeof incidentId !== 'string' ||
    typeof triggerEventId !== 'string' ||
    typeof dueAt !== 'string' ||
    Number.isNaN(Date.parse(dueAt)) ||
    typeof sequence !== 'number' ||
    !Number.isInteger(sequence) ||
    sequence < 1
  ) {
    throw new QueuedEventError(messageId, 'a scheduled check lacks its check, checkId, incidentId, triggerEventId, dueAt or sequence');
  }
  return {
    version: QUEUED_MESSAGE_VERSION,
    kind: 'scheduled-check',
    check: check as CheckKind,
    checkId,
    incidentId,
    triggerEventId,
    dueAt,
    sequence,
    scheduledAt: typeof scheduledAt === 'string' ? scheduledAt : '',
    // Written by this agent (the scheduler), never by PagerDuty: carried as written.
    ...(typeof body.baseline === 'object' && body.baseline !== null ? { baseline: body.baseline as ContextSnapshot } : {}),
    ...(typeof body.prediction === 'object' && body.prediction !== null ? { prediction: body.prediction as Prediction } : {}),
  };
}

export function encodeScheduledCheck(check: ScheduledCheck): string {
  return JSON.stringify(check);
}

const stringOrNull = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** Version 1 (the first release's shape, unchanged since). */
function readVersion1(event: JsonObject, messageId: string): QueuedEvent {
  if (typeof event.eventId !== 'string' || typeof event.rawBodyBase64 !== 'string' || typeof event.eventType !== 'string') {
    throw new QueuedEventError(messageId, 'eventId, eventType or rawBodyBase64 is missing');
  }
  return {
    version: QUEUED_EVENT_VERSION,
    eventId: event.eventId,
    eventType: event.eventType,
    incidentId: stringOrNull(event.incidentId),
    rawBodyBase64: event.rawBodyBase64,
    webhookId: stringOrNull(event.webhookId),
    subscriptionId: stringOrNull(event.subscriptionId),
    receivedAt: typeof event.receivedAt === 'string' ? event.receivedAt : '',
  };
}

/** Every version this release reads, each to the current shape. */
const READERS: Record<number, (event: JsonObject, messageId: string) => QueuedEvent> = { 1: readVersion1 };

export function encodeQueuedEvent(event: QueuedEvent): string {
  return JSON.stringify(event);
}

function parseObject(body: string, messageId: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new QueuedEventError(messageId, 'the body is not JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new QueuedEventError(messageId, 'the body is not a JSON object');
  return value as JsonObject;
}

/** A webhook event or a scheduled check, whichever the message is; a newer release's message is refused, not guessed at. */
export function decodeWorkerMessage(body: string, messageId: string): WorkerMessage {
  const message = parseObject(body, messageId);
  const { version } = message;
  if (typeof version === 'number' && Number.isInteger(version) && version > QUEUED_MESSAGE_VERSION) {
    throw new QueuedEventVersionError(messageId, version);
  }
  if (version === QUEUED_MESSAGE_VERSION) {
    const check = readCheck(message, messageId);
    return { eventId: check.checkId, eventType: checkEventType(check.check), incidentId: check.incidentId, check };
  }
  const read = typeof version === 'number' ? READERS[version] : undefined;
  if (read === undefined) throw new QueuedEventError(messageId, `missing or unknown version ${JSON.stringify(version)}`);
  return read(message, messageId);
}

/** A webhook event; a scheduled check is refused (only the worker reads those, through decodeWorkerMessage). */
export function decodeQueuedEvent(body: string, messageId: string): QueuedEvent {
  const message = decodeWorkerMessage(body, messageId);
  if (isQueuedCheck(message)) throw new QueuedEventError(messageId, 'it is a scheduled check, not a webhook event');
  return message;
}

/** `redrive` may resend under `<eventId>.redrive-<time>` (see lib/cli/commands/redrive.ts). */
const eventIdFromDedupId = (dedupId: string | undefined): string | null => dedupId?.replace(/\.redrive-\d+$/, '') ?? null;

/**
 * Which event a message is about, from any release's message: the decoded event (with its body) when this release
 * reads its version; otherwise what the body's identity fields and SQS's own attributes still say (group id =
 * incident id, or `event-<id>` for an event without one; deduplication id = event id), and no body: a newer release's
 * body is not guessed at. Throws only when neither names the event.
 */
export function readDeadLetteredEvent(message: QueuedMessage): DeadLetteredEvent {
  try {
    const decoded = decodeWorkerMessage(message.body, message.messageId);
    if (isQueuedCheck(decoded)) return { eventId: decoded.eventId, eventType: decoded.eventType, incidentId: decoded.incidentId };
    const { eventId, eventType, incidentId, rawBodyBase64 } = decoded;
    return { eventId, eventType, incidentId, rawBodyBase64 };
  } catch (error) {
    if (!(error instanceof QueuedEventError)) throw error;
    let body: JsonObject = {};
    try {
      body = parseObject(message.body, message.messageId);
    } catch {
      // Unreadable body: the attributes alone identify the event.
    }
    const group = message.attributes.MessageGroupId;
    const eventId = stringOrNull(body.eventId) ?? eventIdFromDedupId(message.attributes.MessageDeduplicationId);
    if (eventId === null) throw error;
    // SQS's group id is the authority on the incident: it does not depend on the body's shape.
    const incidentId = group === undefined ? stringOrNull(body.incidentId) : group.startsWith('event-') ? null : group;
    return { eventId, eventType: stringOrNull(body.eventType) ?? 'unreadable', incidentId };
  }
}

/** FIFO group for an event: its incident, or a group of its own so an incident-less event never blocks others. */
export function messageGroupFor(event: Pick<QueuedEvent, 'incidentId' | 'eventId'>): string {
  return event.incidentId ?? `event-${event.eventId}`;
}
