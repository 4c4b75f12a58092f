import {
  decodeQueuedEvent,
  encodeQueuedEvent,
  QueuedEventError,
  QueuedEventVersionError,
  readDeadLetteredEvent,
  type QueuedEvent,
} from '../../../lib/queue/queued-event';

const event: QueuedEvent = {
  version: 1,
  eventId: 'EVT1',
  eventType: 'incident.triggered',
  incidentId: 'PINC1',
  rawBodyBase64: 'e30=',
  webhookId: 'w',
  subscriptionId: 's',
  receivedAt: '2026-03-01T10:00:00.000Z',
};
const message = (body: string, attributes: { MessageGroupId?: string; MessageDeduplicationId?: string }) => ({
  messageId: 'm-1',
  body,
  attributes,
});

describe('decodeQueuedEvent', () => {
  it('reads what the encoder writes', () => {
    expect(decodeQueuedEvent(encodeQueuedEvent(event), 'm-1')).toEqual(event);
  });

  it.each([
    ['a newer version', JSON.stringify({ ...event, version: 7 }), QueuedEventVersionError, /version 7 is newer than this release reads/],
    ['no version', JSON.stringify({ ...event, version: undefined }), QueuedEventError, /missing or unknown version/],
    ['a body that is not JSON', 'not json', QueuedEventError, /the body is not JSON.*stays on the queue/],
    ['a JSON array', '[1]', QueuedEventError, /not a JSON object/],
    ['missing fields', JSON.stringify({ version: 1, eventId: 'E' }), QueuedEventError, /eventId, eventType or rawBodyBase64 is missing/],
  ])('refuses %s with a clear error', (_name, body, type, text) => {
    expect(() => decodeQueuedEvent(body, 'm-1')).toThrow(type);
    expect(() => decodeQueuedEvent(body, 'm-1')).toThrow(text);
  });
});

describe('readDeadLetteredEvent', () => {
  it('takes a readable message whole, with its signed body', () => {
    expect(readDeadLetteredEvent(message(encodeQueuedEvent(event), { MessageGroupId: 'PINC1' }))).toEqual({
      eventId: 'EVT1',
      eventType: 'incident.triggered',
      incidentId: 'PINC1',
      rawBodyBase64: 'e30=',
    });
  });

  it("falls back to SQS's group and deduplication ids for a message it cannot read", () => {
    expect(
      readDeadLetteredEvent(message('{"version":9}', { MessageGroupId: 'PINC9', MessageDeduplicationId: 'EVT9.redrive-1767225600000' })),
    ).toEqual({ eventId: 'EVT9', eventType: 'unreadable', incidentId: 'PINC9' });
    expect(readDeadLetteredEvent(message('garbage', { MessageGroupId: 'event-EVT8', MessageDeduplicationId: 'EVT8' }))).toEqual({
      eventId: 'EVT8',
      eventType: 'unreadable',
      incidentId: null,
    });
  });

  it('keeps the identity fields a newer body still carries, and not its body', () => {
    const newer = JSON.stringify({
      version: 2,
      eventId: 'EVT2',
      eventType: 'incident.reopened',
      incidentId: 'PINC2',
      rawBodyBase64: 'e30=',
    });
    expect(readDeadLetteredEvent(message(newer, { MessageGroupId: 'PINC2' }))).toEqual({
      eventId: 'EVT2',
      eventType: 'incident.reopened',
      incidentId: 'PINC2',
    });
  });

  it('refuses a message that names no event at all', () => {
    expect(() => readDeadLetteredEvent(message('garbage', {}))).toThrow(QueuedEventError);
  });
});
