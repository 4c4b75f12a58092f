import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import type { SQSEvent } from 'aws-lambda';
import { MetricName } from '../../../lib/observability/telemetry';
import { decodeWorkerMessage, isQueuedCheck, readDeadLetteredEvent } from '../../../lib/queue/queued-event';
import { CheckScheduler, MAX_DELAY_SECONDS, ScheduleError, checkIdFor, timeScaleFrom } from '../../../lib/scheduling/check-scheduler';
import { relayBatch } from '../../../lib/scheduling/delay-relay';
import { RecordingMetrics } from '../../support/fake-agent-state';

const sqsMock = mockClient(SQSClient);
const NOW = new Date('2026-03-01T10:00:00.000Z');
const logger = { info: jest.fn(), warn: jest.fn(), error: jest.fn() };

beforeEach(() => sqsMock.reset());

const request = { check: 'hold-expiry' as const, incidentId: 'PINC001', triggerEventId: 'EVT001', afterMinutes: 30, sequence: 1 };

describe('CheckScheduler', () => {
  it('writes the check with at most SQS’s 900 s delay and a stable id', async () => {
    sqsMock.on(SendMessageCommand).resolves({});
    const metrics = new RecordingMetrics();
    const scheduler = new CheckScheduler({ sqs: new SQSClient({}), queueUrl: 'https://sqs/checks', metrics, clock: () => NOW });
    const check = await scheduler.schedule(request);
    expect(check).toMatchObject({ version: 2, dueAt: '2026-03-01T10:30:00.000Z', checkId: checkIdFor(request) });
    const sent = sqsMock.commandCalls(SendMessageCommand)[0].args[0].input;
    expect(sent).toMatchObject({ QueueUrl: 'https://sqs/checks', DelaySeconds: MAX_DELAY_SECONDS });
    expect(sent.MessageGroupId).toBeUndefined();
    const decoded = decodeWorkerMessage(sent.MessageBody!, 'm1');
    expect(isQueuedCheck(decoded) && decoded.check).toEqual(check);
    expect(metrics.values.map((metric) => metric.name)).toEqual([MetricName.scheduleCreated]);
  });

  it('shortens delays by the local time scale only', async () => {
    sqsMock.on(SendMessageCommand).resolves({});
    const scheduler = new CheckScheduler({
      sqs: new SQSClient({}),
      queueUrl: 'q',
      metrics: new RecordingMetrics(),
      clock: () => NOW,
      timeScale: 0.01,
    });
    expect((await scheduler.schedule(request)).dueAt).toBe('2026-03-01T10:00:18.000Z');
    expect(sqsMock.commandCalls(SendMessageCommand)[0].args[0].input.DelaySeconds).toBe(18);
    expect(timeScaleFrom({})).toBe(1);
    expect(() => timeScaleFrom({ SCHEDULER_TIME_SCALE: '2' })).toThrow(/at most 1 \(unset it outside the local stack\)/);
  });

  it('says what to check when the queue refuses, and counts the failure', async () => {
    sqsMock.on(SendMessageCommand).rejects(new Error('AccessDenied'));
    const metrics = new RecordingMetrics();
    const scheduler = new CheckScheduler({ sqs: new SQSClient({}), queueUrl: 'q', metrics, clock: () => NOW });
    await expect(scheduler.schedule(request)).rejects.toThrow(ScheduleError);
    await expect(scheduler.schedule(request)).rejects.toThrow(/AccessDenied.*sqs:SendMessage/);
    expect(metrics.values.map((metric) => metric.name)).toContain(MetricName.scheduleFailed);
  });
});

async function encoded(afterMinutes: number, clock: Date): Promise<string> {
  sqsMock.on(SendMessageCommand).resolves({});
  const scheduler = new CheckScheduler({ sqs: new SQSClient({}), queueUrl: 'q', metrics: new RecordingMetrics(), clock: () => clock });
  await scheduler.schedule({ ...request, afterMinutes });
  const body = sqsMock.commandCalls(SendMessageCommand)[0].args[0].input.MessageBody!;
  sqsMock.reset();
  return body;
}

const event = (...bodies: string[]): SQSEvent =>
  ({ Records: bodies.map((body, index) => ({ messageId: `m${index}`, body, attributes: {} })) }) as unknown as SQSEvent;

describe('the relay', () => {
  it('delays a check again until it is due, then puts it in its incident’s FIFO group deduplicated by its id', async () => {
    const body = await encoded(30, NOW);
    sqsMock.on(SendMessageCommand).resolves({});
    const metrics = new RecordingMetrics();
    const deps = { sqs: new SQSClient({}), checkQueueUrl: 'checks', eventQueueUrl: 'events.fifo', metrics, logger };
    await relayBatch(event(body), { ...deps, clock: () => new Date('2026-03-01T10:15:00.000Z') });
    expect(sqsMock.commandCalls(SendMessageCommand)[0].args[0].input).toMatchObject({ QueueUrl: 'checks', DelaySeconds: 900 });
    sqsMock.reset();
    sqsMock.on(SendMessageCommand).resolves({});
    await relayBatch(event(body), { ...deps, clock: () => new Date('2026-03-01T10:30:00.500Z') });
    const fired = sqsMock.commandCalls(SendMessageCommand)[0].args[0].input;
    expect(fired).toMatchObject({ QueueUrl: 'events.fifo', MessageGroupId: 'PINC001', MessageDeduplicationId: checkIdFor(request) });
    expect(metrics.values.map((metric) => metric.name)).toEqual([MetricName.scheduleFired]);
  });

  it('fails (never drops) a message it cannot read or move, and counts it', async () => {
    sqsMock.on(SendMessageCommand).rejects(new Error('throttled'));
    const metrics = new RecordingMetrics();
    const body = await encoded(0, NOW);
    sqsMock.on(SendMessageCommand).rejects(new Error('throttled'));
    const result = await relayBatch(event('garbage', body), {
      sqs: new SQSClient({}),
      checkQueueUrl: 'checks',
      eventQueueUrl: 'events.fifo',
      metrics,
      logger,
      clock: () => NOW,
    });
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm0' }, { itemIdentifier: 'm1' }]);
    expect(metrics.values.filter((metric) => metric.name === MetricName.scheduleFailed)).toHaveLength(2);
  });

  it('names a dead-lettered hold-expiry check by its incident for the handback', async () => {
    const body = await encoded(30, NOW);
    expect(readDeadLetteredEvent({ messageId: 'm', body, attributes: {} })).toEqual({
      eventId: checkIdFor(request),
      eventType: 'pd-agent.check.hold-expiry',
      incidentId: 'PINC001',
    });
  });
});
