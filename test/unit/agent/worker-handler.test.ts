import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { LeaseHeldError } from '../../../lib/agent/process-event';
import { RateLimitWindowSpentError, ThrottledError } from '../../../lib/agent/retry-policy';
import { createWorkerHandler } from '../../../lib/adapters/queue-handlers';
import { encodeQueuedEvent, type QueuedEvent } from '../../../lib/queue/queued-event';
import { RecordingMetrics } from '../../support/fake-agent-state';

const sqsMock = mockClient(SQSClient);
const QUEUE_URL = 'http://127.0.0.1:1/000000000000/local-events.fifo';

const queued = (eventId: string, incidentId: string): QueuedEvent => ({
  version: 1,
  eventId,
  eventType: 'incident.triggered',
  incidentId,
  rawBodyBase64: '',
  webhookId: null,
  subscriptionId: null,
  receivedAt: '2026-03-01T10:00:00Z',
});

function record(eventId: string, group: string): SQSRecord {
  return {
    messageId: `m-${eventId}`,
    receiptHandle: `rh-${eventId}`,
    body: encodeQueuedEvent(queued(eventId, group)),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '0',
      SenderId: 's',
      ApproximateFirstReceiveTimestamp: '0',
      MessageGroupId: group,
      MessageDeduplicationId: eventId,
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:local-events.fifo',
    awsRegion: 'us-east-1',
  };
}

const context = { getRemainingTimeInMillis: () => 50_000 } as Context;
const logger = { info: jest.fn(), warn: jest.fn(), error: jest.fn() };

beforeEach(() => sqsMock.reset());

describe('createWorkerHandler', () => {
  it('fails a throttled message and the rest of its group, defers them by ratelimit-reset, and goes on with other groups', async () => {
    const processed: string[] = [];
    const processor = {
      process: jest.fn(async (event: QueuedEvent) => {
        processed.push(event.eventId);
        if (event.eventId === 'A1') throw new ThrottledError('acknowledge', 1, 17, new RateLimitWindowSpentError(17_000));
        return { status: 'recorded' as const };
      }),
    };
    const metrics = new RecordingMetrics();
    const handler = createWorkerHandler({ processor, sqs: new SQSClient({}), queueUrl: QUEUE_URL, logger, metrics });
    const event: SQSEvent = { Records: [record('A1', 'PINCA'), record('B1', 'PINCB'), record('A2', 'PINCA'), record('B2', 'PINCB')] };

    const response = await handler(event, context);

    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual(['m-A1', 'm-A2']);
    expect(processed).toEqual(['A1', 'B1', 'B2']);
    const visibility = sqsMock.commandCalls(ChangeMessageVisibilityCommand).map((call) => call.args[0].input);
    expect(visibility).toEqual([
      { QueueUrl: QUEUE_URL, ReceiptHandle: 'rh-A1', VisibilityTimeout: 17 },
      { QueueUrl: QUEUE_URL, ReceiptHandle: 'rh-A2', VisibilityTimeout: 17 },
    ]);
    expect(metrics.published).toBe(1);
  });

  it('keeps an incident in order: nothing after a failed event of the same group runs', async () => {
    const processor = {
      process: jest.fn(async (event: QueuedEvent) => {
        if (event.eventId === 'A1') throw new Error('state table unavailable');
        return { status: 'recorded' as const };
      }),
    };
    const handler = createWorkerHandler({
      processor,
      sqs: new SQSClient({}),
      queueUrl: QUEUE_URL,
      logger,
      metrics: new RecordingMetrics(),
    });
    const response = await handler({ Records: [record('A1', 'PINCA'), record('A2', 'PINCA')] }, context);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-A1' }, { itemIdentifier: 'm-A2' }]);
    expect(processor.process).toHaveBeenCalledTimes(1);
    // No deferral asked: the queue's own visibility timeout applies.
    expect(sqsMock.commandCalls(ChangeMessageVisibilityCommand)).toHaveLength(0);
  });

  it('defers a message whose claim another attempt holds until that lease ends', async () => {
    const processor = { process: jest.fn(async () => Promise.reject(new LeaseHeldError('A1', 42))) };
    const handler = createWorkerHandler({
      processor,
      sqs: new SQSClient({}),
      queueUrl: QUEUE_URL,
      logger,
      metrics: new RecordingMetrics(),
    });
    const response = await handler({ Records: [record('A1', 'PINCA')] }, context);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-A1' }]);
    expect(sqsMock.commandCalls(ChangeMessageVisibilityCommand)[0]?.args[0].input.VisibilityTimeout).toBe(42);
  });

  it('reports a message that is not a queued event as failed instead of dropping it', async () => {
    const processor = { process: jest.fn() };
    const handler = createWorkerHandler({
      processor,
      sqs: new SQSClient({}),
      queueUrl: QUEUE_URL,
      logger,
      metrics: new RecordingMetrics(),
    });
    const bad = { ...record('X1', 'PINCX'), body: 'not json' };
    const response = await handler({ Records: [bad] }, context);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-X1' }]);
    expect(processor.process).not.toHaveBeenCalled();
  });
});
