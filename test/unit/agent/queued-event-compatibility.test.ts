import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSRecord } from 'aws-lambda';
import { DeadLetterHandback } from '../../../lib/agent/handback';
import { createHandbackHandler, createWorkerHandler } from '../../../lib/adapters/queue-handlers';
import { EventProcessor } from '../../../lib/agent/process-event';
import { parseAgentConfig } from '../../../lib/config/agent-config';
import { triageIncident } from '../../../lib/triage/triage';
import { MemoryAuditTrail, MemoryIncidentLedger, MemoryWorkLedger, RecordingMetrics, testNotes } from '../../support/fake-agent-state';
import { BOT, FakePagerDuty, makeIncident } from '../../support/fake-pagerduty';

/**
 * Messages outlive a deploy: the worker and the handback of this release, through their real Lambda handlers, read
 * what the previous release wrote (a committed fixture), and a newer release's message is refused by the worker
 * without being lost while the handback still hands its incident back.
 */
interface CapturedMessage {
  MessageBody: string;
  MessageGroupId: string;
  MessageDeduplicationId: string;
}

const previousRelease = JSON.parse(
  readFileSync(join(__dirname, '../../fixtures/queued-events/version-1-incident-triggered.json'), 'utf8'),
) as CapturedMessage;
const INCIDENT = previousRelease.MessageGroupId;
const EVENT = previousRelease.MessageDeduplicationId;

/** A newer release's message: a version this release does not know, fields renamed. */
const newerRelease: CapturedMessage = {
  MessageBody: JSON.stringify({ version: 3, event: { id: EVENT, type: 'incident.triggered' }, payload: 'e30=' }),
  MessageGroupId: INCIDENT,
  MessageDeduplicationId: EVENT,
};

function record(message: CapturedMessage, messageId = 'm-1'): SQSRecord {
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body: message.MessageBody,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '0',
      SenderId: 's',
      ApproximateFirstReceiveTimestamp: '0',
      MessageGroupId: message.MessageGroupId,
      MessageDeduplicationId: message.MessageDeduplicationId,
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:pd-agent-prod-events.fifo',
    awsRegion: 'us-east-1',
  };
}

const context = { getRemainingTimeInMillis: () => 50_000 } as Context;
const config = parseAgentConfig(undefined);

function agent() {
  const pd = new FakePagerDuty([makeIncident({ id: INCIDENT, status: 'triggered', acknowledgements: [] })]);
  const work = new MemoryWorkLedger();
  const incidents = new MemoryIncidentLedger();
  const audit = new MemoryAuditTrail();
  const logger = { info: jest.fn(), warn: jest.fn(), error: jest.fn() };
  const connect = async () => ({ api: pd, events: pd.eventsApi, botUserId: BOT.id });
  const shared = { env: 'prod', settings: config, connect, workLedger: work, incidentLedger: incidents, audit, notes: testNotes };
  const retry = { sleep: async () => undefined, random: () => 0 };
  const worker = createWorkerHandler({
    processor: new EventProcessor({
      ...shared,
      triage: (gathered) => triageIncident(gathered, config.triage),
      metrics: new RecordingMetrics(),
      retry,
    }),
    sqs: new SQSClient({}),
    queueUrl: undefined,
    logger,
    metrics: new RecordingMetrics(),
  });
  const handback = createHandbackHandler({
    handback: new DeadLetterHandback({ ...shared, metrics: new RecordingMetrics(), retry }),
    sqs: new SQSClient({}),
    logger,
    metrics: new RecordingMetrics(),
  });
  return { pd, incidents, logger, worker, handback };
}

/** The agent acknowledged the incident and died: only the handback can give it back to humans. */
async function silencedByAgent(pd: FakePagerDuty, incidents: MemoryIncidentLedger): Promise<void> {
  pd.incidents.set(
    INCIDENT,
    makeIncident({ id: INCIDENT, status: 'acknowledged', acknowledgements: [{ at: '2026-11-30T12:00:01Z', acknowledger: BOT }] }),
  );
  await incidents.markAcknowledged(INCIDENT, EVENT, new Date());
}

describe('queued events across a deploy', () => {
  it("the worker processes the previous release's message: acknowledged once, one note", async () => {
    const { pd, worker } = agent();

    const response = await worker({ Records: [record(previousRelease)] }, context);

    expect(response.batchItemFailures).toEqual([]);
    expect(pd.count('acknowledgeIncident')).toBe(1);
    expect(pd.notes.get(INCIDENT)).toHaveLength(1);
  });

  it("the worker refuses a newer release's message and keeps it on the queue, saying why", async () => {
    const { pd, logger, worker } = agent();

    const response = await worker({ Records: [record(newerRelease)] }, context);

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-1' }]);
    expect(pd.calls).toEqual([]);
    const [, logged] = logger.warn.mock.calls[0] as [string, { error: string }];
    expect(logged.error).toMatch(/version 3 is newer than this release reads \(up to 2\).*roll forward/);
  });

  it.each([
    ["the previous release's message", previousRelease],
    ["a newer release's message, which it can only partly read (the incident from the message group)", newerRelease],
  ])('the handback hands back the incident of %s', async (_name, message) => {
    const { pd, incidents, handback } = agent();
    await silencedByAgent(pd, incidents);

    const response = await handback({ Records: [record(message)] }, context);

    expect(response.batchItemFailures).toEqual([]);
    expect(pd.calls.filter((call) => call.operation === 'escalateIncident').map((call) => call.incidentId)).toEqual([INCIDENT]);
    expect(pd.notes.get(INCIDENT)?.[0]?.content).toContain(EVENT);
  });
});
