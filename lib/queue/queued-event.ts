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
 */
export const QUEUED_EVENT_VERSION = 1;

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
      `its version ${JSON.stringify(version)} is newer than this release reads (up to ${QUEUED_EVENT_VERSION}), so a newer release ` +
        'wrote it. Deploy that release again (roll forward) so it is read; until then it waits on the queues and the handback ' +
        'hands its incident back from the message group id',
    );
  }
}

type JsonObject = Record<string, unknown>;

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

export function decodeQueuedEvent(body: string, messageId: string): QueuedEvent {
  const event = parseObject(body, messageId);
  const { version } = event;
  if (typeof version === 'number' && Number.isInteger(version) && version > QUEUED_EVENT_VERSION) {
    throw new QueuedEventVersionError(messageId, version);
  }
  const read = typeof version === 'number' ? READERS[version] : undefined;
  if (read === undefined) throw new QueuedEventError(messageId, `missing or unknown version ${JSON.stringify(version)}`);
  return read(event, messageId);
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
    const { eventId, eventType, incidentId, rawBodyBase64 } = decodeQueuedEvent(message.body, message.messageId);
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
