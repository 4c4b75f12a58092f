/**
 * The SQS message the ingress writes and the worker reads: the verified raw body, byte for byte, plus the delivery
 * headers the worker needs. Group id = incident id; dedup id = event id.
 */
export interface QueuedEvent {
  version: 1;
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

export class QueuedEventError extends Error {
  override readonly name = 'QueuedEventError';
  constructor(
    readonly messageId: string,
    reason: string,
  ) {
    super(
      `SQS message ${messageId} is not a pd-agent queued event: ${reason}. It was not written by this version of the ingress; inspect it in the dead-letter queue.`,
    );
  }
}

export function encodeQueuedEvent(event: QueuedEvent): string {
  return JSON.stringify(event);
}

export function decodeQueuedEvent(body: string, messageId: string): QueuedEvent {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new QueuedEventError(messageId, 'the body is not JSON');
  }
  const event = value as Partial<QueuedEvent> | null;
  if (event === null || typeof event !== 'object' || event.version !== 1) {
    throw new QueuedEventError(messageId, 'missing or unknown version');
  }
  if (typeof event.eventId !== 'string' || typeof event.rawBodyBase64 !== 'string' || typeof event.eventType !== 'string') {
    throw new QueuedEventError(messageId, 'eventId, eventType or rawBodyBase64 is missing');
  }
  return event as QueuedEvent;
}

/** FIFO group for an event: its incident, or a group of its own so an incident-less event never blocks others. */
export function messageGroupFor(event: Pick<QueuedEvent, 'incidentId' | 'eventId'>): string {
  return event.incidentId ?? `event-${event.eventId}`;
}
