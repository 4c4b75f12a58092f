import type { Context, SQSRecord } from 'aws-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createHandbackHandler } from '../../../lib/adapters/queue-handlers';
import { DeadLetterHandback, healthDedupKey } from '../../../lib/agent/handback';
import { parseAgentConfig } from '../../../lib/config/agent-config';
import { MetricName } from '../../../lib/observability/telemetry';
import { encodeQueuedEvent, type QueuedEvent } from '../../../lib/queue/queued-event';
import { MemoryAuditTrail, MemoryIncidentLedger, MemoryWorkLedger, RecordingMetrics, testNotes } from '../../support/fake-agent-state';
import { BOT, FakePagerDuty, makeIncident } from '../../support/fake-pagerduty';

const dead = (eventId = 'EVT001', incidentId: string | null = 'PINC001'): QueuedEvent => ({
  version: 1,
  eventId,
  eventType: 'incident.triggered',
  incidentId,
  rawBodyBase64: '',
  webhookId: null,
  subscriptionId: null,
  receivedAt: '2026-03-01T10:00:00Z',
});

const invocation = { remainingTimeMs: () => 50_000 };

function setup(routingKey?: string) {
  const pd = new FakePagerDuty([
    makeIncident({ status: 'acknowledged', acknowledgements: [{ at: '2026-03-01T10:00:01Z', acknowledger: BOT }] }),
  ]);
  const work = new MemoryWorkLedger();
  const incidents = new MemoryIncidentLedger();
  const audit = new MemoryAuditTrail();
  const metrics = new RecordingMetrics();
  const handback = new DeadLetterHandback({
    env: 'prod',
    settings: parseAgentConfig(undefined),
    connect: async () => ({ api: pd, events: pd.eventsApi, botUserId: BOT.id, eventsRoutingKey: routingKey }),
    workLedger: work,
    incidentLedger: incidents,
    audit,
    notes: testNotes,
    metrics,
    retry: { sleep: async () => undefined, random: () => 0 },
  });
  return { pd, work, incidents, audit, metrics, handback };
}

describe('DeadLetterHandback', () => {
  it('escalates an incident the agent acknowledged and did not finish, with one note, and marks it handed back', async () => {
    const { pd, work, incidents, audit, metrics, handback } = setup();
    await incidents.markAcknowledged('PINC001', 'EVT001', new Date());

    expect(await handback.handle(dead(), invocation)).toBe('handed-back');
    expect(await handback.handle(dead(), invocation)).toBe('recorded');

    expect(pd.count('escalateIncident')).toBe(1);
    expect(pd.incident().status).toBe('triggered');
    expect(pd.notes.get('PINC001')).toHaveLength(1);
    expect(pd.notes.get('PINC001')?.[0]?.content).toContain('dead-lettered');
    expect(await incidents.get('PINC001')).toMatchObject({ handedBackAt: expect.any(String), finished: true });
    expect((await work.get('EVT001'))?.workStatus).toBe('handed-back');
    expect(audit.of('escalate')[0]).toMatchObject({ outcome: 'succeeded', httpStatus: 200 });
    expect(metrics.total(MetricName.handedBack)).toBe(1);
    expect(pd.events).toHaveLength(0);
  });

  it('raises one health alert with a stable dedup key when a routing key is set', async () => {
    const { pd, incidents, audit, handback } = setup('routing-key-123');
    await incidents.markAcknowledged('PINC001', 'EVT001', new Date());
    await handback.handle(dead(), invocation);
    expect(pd.events).toEqual([
      expect.objectContaining({ action: 'trigger', dedupKey: healthDedupKey('prod'), routingKey: 'routing-key-123' }),
    ]);
    expect(healthDedupKey('prod')).toBe('pd-agent/prod/handback');
    const eventsAudit = audit.of('events-api');
    expect(eventsAudit).toHaveLength(1);
    expect(JSON.stringify(eventsAudit)).not.toContain('routing-key-123');
  });

  it('only records events whose incident the agent never acknowledged, or finished', async () => {
    const { pd, incidents, audit, handback } = setup('routing-key-123');
    pd.incidents.set('PINC001', makeIncident({ status: 'triggered', acknowledgements: [] }));
    expect(await handback.handle(dead('EVT-A'), invocation)).toBe('recorded');
    await incidents.markAcknowledged('PINC001', 'EVT-B', new Date());
    await incidents.markFinished('PINC001');
    expect(await handback.handle(dead('EVT-B'), invocation)).toBe('recorded');
    expect(await handback.handle(dead('EVT-C', null), invocation)).toBe('recorded');
    expect(pd.calls.map((call) => call.operation)).toEqual(['getIncident']);
    expect(audit.items.every((item) => item.action === 'record')).toBe(true);
  });

  it('hands back an incident PagerDuty shows acknowledged by the agent alone, though the ledger missed it (worker killed in between)', async () => {
    const { pd, incidents, handback } = setup();
    expect(await handback.handle(dead('EVT-D'), invocation)).toBe('handed-back');
    expect(pd.count('escalateIncident')).toBe(1);
    expect(await incidents.get('PINC001')).toMatchObject({ handedBackAt: expect.any(String), finished: true });
  });

  it('reports a message it could not hand back as a batch item failure', async () => {
    const { pd, incidents, handback } = setup();
    await incidents.markAcknowledged('PINC001', 'EVT001', new Date());
    pd.fail('getIncident', 500, 10);
    const metrics = new RecordingMetrics();
    const handler = createHandbackHandler({
      handback,
      sqs: new SQSClient({}),
      logger: { info: jest.fn(), warn: jest.fn(), error: jest.fn() },
      metrics,
    });
    const record = {
      messageId: 'm-1',
      receiptHandle: 'rh-1',
      body: encodeQueuedEvent(dead()),
      attributes: { MessageGroupId: 'PINC001' },
    } as unknown as SQSRecord;
    const response = await handler({ Records: [record] }, { getRemainingTimeInMillis: () => 50_000 } as Context);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-1' }]);
    expect(metrics.total(MetricName.handbackFailed)).toBe(1);
  });
});
