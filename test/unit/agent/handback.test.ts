import type { Context, SQSRecord } from 'aws-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createHandbackHandler } from '../../../lib/adapters/queue-handlers';
import { DeadLetterHandback, healthDedupKey } from '../../../lib/agent/handback';
import { parseAgentConfig } from '../../../lib/config/agent-config';
import { MetricName } from '../../../lib/observability/telemetry';
import { OutcomeRecorder } from '../../../lib/outcomes/outcome-recorder';
import { OutcomeStoreError, type NewFeedback, type NewOutcome } from '../../../lib/outcomes/outcome-store';
import {
  HOLD_EXPIRY_EVENT_TYPE,
  checkEventType,
  encodeQueuedEvent,
  type DeadLetteredEvent,
  type QueuedEvent,
} from '../../../lib/queue/queued-event';
import {
  MemoryAuditTrail,
  MemoryIncidentLedger,
  MemoryOutcomeStore,
  MemoryWorkLedger,
  RecordingMetrics,
  testNotes,
} from '../../support/fake-agent-state';
import { BOT, FakePagerDuty, HUMAN, makeIncident } from '../../support/fake-pagerduty';

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

function setup(routingKey?: string, agentConfig?: string) {
  const pd = new FakePagerDuty([
    makeIncident({ status: 'acknowledged', acknowledgements: [{ at: '2026-03-01T10:00:01Z', acknowledger: BOT }] }),
  ]);
  const work = new MemoryWorkLedger();
  const incidents = new MemoryIncidentLedger();
  const audit = new MemoryAuditTrail();
  const metrics = new RecordingMetrics();
  const store = new MemoryOutcomeStore();
  const handback = new DeadLetterHandback({
    env: 'prod',
    settings: parseAgentConfig(agentConfig),
    connect: async () => ({ api: pd, events: pd.eventsApi, botUserId: BOT.id, eventsRoutingKey: routingKey }),
    workLedger: work,
    incidentLedger: incidents,
    audit,
    notes: testNotes,
    metrics,
    outcomes: new OutcomeRecorder({ incidentLedger: incidents, audit, store, metrics }),
    retry: { sleep: async () => undefined, random: () => 0 },
  });
  return { pd, work, incidents, audit, metrics, store, handback };
}

/** A dead-lettered `incident.annotated` event: a note on PINC001, as the worker's queue carried it. */
function deadNote(content: string, eventId = 'EVT-NOTE', author: { id: string; type: string; summary: string } = HUMAN): DeadLetteredEvent {
  const body = {
    event: {
      id: eventId,
      event_type: 'incident.annotated',
      resource_type: 'incident',
      occurred_at: '2026-03-01T10:30:00Z',
      agent: author,
      data: { id: 'PNOTE1', type: 'incident_note', content, trimmed: false, incident: { id: 'PINC001', type: 'incident_reference' } },
    },
  };
  return {
    eventId,
    eventType: 'incident.annotated',
    incidentId: 'PINC001',
    rawBodyBase64: Buffer.from(JSON.stringify(body)).toString('base64'),
  };
}

/** The worker triaged PINC001 and holds it (acknowledged, note posted, finished). */
async function triagedAndHeld(incidents: MemoryIncidentLedger): Promise<void> {
  await incidents.markAcknowledged('PINC001', 'EVT001', new Date());
  await incidents.recordDecision('PINC001', 'held', { rolloutMode: 'act' });
  await incidents.markFinished('PINC001');
}

const WRONG = 'pd-agent: wrong - the cache cluster failed over';
const feedbackItem = expect.objectContaining({
  kind: 'feedback',
  incidentId: 'PINC001',
  eventId: 'EVT-NOTE',
  verdict: 'contradicted',
  comment: 'the cache cluster failed over',
  by: HUMAN.id,
  decision: 'held',
});

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

  it('hands back a held incident whose hold-expiry check was dead-lettered, though the worker had finished with it', async () => {
    const { pd, incidents, handback } = setup();
    await triagedAndHeld(incidents);
    const check = { eventId: 'check-hold-expiry-1-abc', eventType: HOLD_EXPIRY_EVENT_TYPE, incidentId: 'PINC001' };
    expect(await handback.handle(check, invocation)).toBe('handed-back');
    expect(pd.count('escalateIncident')).toBe(1);
    expect(pd.notes.get('PINC001')?.[0]?.content).toContain("the end of the agent's hold could not be checked");
    // A dead-lettered follow-up silences nothing: the finished incident is trusted and left alone.
    const other = setup();
    await triagedAndHeld(other.incidents);
    const followUp = { eventId: 'check-follow-up-1-abc', eventType: checkEventType('follow-up'), incidentId: 'PINC001' };
    expect(await other.handback.handle(followUp, invocation)).toBe('recorded');
    expect(other.pd.count('escalateIncident')).toBe(0);
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

  it('hands back a dead trigger whose incident pages only the agent (a policy paging it first), to the level above the agent', async () => {
    const { pd, incidents, handback } = setup();
    pd.incidents.set('PINC001', makeIncident({ status: 'triggered', assignments: [{ at: '2026-03-01T10:00:00Z', assignee: BOT }] }));
    pd.oncalls = [1, 2].map((level) => ({
      user: level === 1 ? BOT : HUMAN,
      escalation_level: level,
      escalation_policy: { id: 'PEP0001', type: 'escalation_policy_reference' as const },
      schedule: null,
      start: null,
      end: null,
    }));
    expect(await handback.handle(dead('EVT-E'), invocation)).toBe('handed-back');
    expect(pd.calls.filter((call) => call.operation === 'escalateIncident').map((call) => call.detail)).toEqual([
      { mode: 'next_level', level: 2 },
    ]);
    expect(await incidents.get('PINC001')).toMatchObject({ handedBackAt: expect.any(String) });
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

describe('DeadLetterHandback: a dead-lettered feedback note', () => {
  it('becomes its feedback item through the outcome recorder, reading nothing from PagerDuty, once however often it is redelivered', async () => {
    const { pd, incidents, audit, metrics, store, handback } = setup();
    await triagedAndHeld(incidents);

    expect(await handback.handle(deadNote(WRONG), invocation)).toBe('recorded');
    expect(await handback.handle(deadNote(WRONG), invocation)).toBe('recorded');

    expect(store.items).toEqual([feedbackItem]);
    expect(metrics.total(MetricName.feedbackWrong)).toBe(1);
    expect(pd.calls).toEqual([]);
    expect(audit.items.map((item) => [item.action, item.outcome])).toEqual([
      ['record', 'recorded'],
      ['record', 'recorded'],
    ]);
  });

  it('comes after the handback of the incident it is on: the silenced incident is escalated first, then the feedback recorded', async () => {
    const { pd, incidents, store, handback } = setup();
    await incidents.markAcknowledged('PINC001', 'EVT001', new Date());
    await incidents.recordDecision('PINC001', 'held', { rolloutMode: 'act' });
    const escalationsWhenRecorded: number[] = [];
    const append = store.append.bind(store);
    store.append = async (item: NewOutcome | NewFeedback) => {
      escalationsWhenRecorded.push(pd.count('escalateIncident'));
      return append(item);
    };
    // The handback spends its whole retry budget on the incident read: the feedback has its own and is still recorded.
    pd.fail('getIncident', 500, 3);

    expect(await handback.handle(deadNote(WRONG), invocation)).toBe('handed-back');

    expect(pd.incident().status).toBe('triggered');
    expect(escalationsWhenRecorded).toEqual([1]);
    expect(store.items).toEqual([feedbackItem]);
  });

  it('waits for the handback: while the incident cannot be handed back, the message fails and no feedback is recorded yet', async () => {
    const { pd, incidents, store, handback } = setup();
    await incidents.markAcknowledged('PINC001', 'EVT001', new Date());
    await incidents.recordDecision('PINC001', 'held', { rolloutMode: 'act' });
    pd.fail('getIncident', 500, 4);

    await expect(handback.handle(deadNote(WRONG), invocation)).rejects.toThrow();
    expect(store.items).toEqual([]);

    expect(await handback.handle(deadNote(WRONG), invocation)).toBe('handed-back');
    expect(store.items).toEqual([feedbackItem]);
  });

  it('a feedback write that fails fails the message after the handback; its retry records the feedback and hands back nothing twice', async () => {
    const { pd, incidents, store, handback } = setup();
    await incidents.markAcknowledged('PINC001', 'EVT001', new Date());
    await incidents.recordDecision('PINC001', 'held', { rolloutMode: 'act' });
    const append = store.append.bind(store);
    let failures = 1;
    store.append = async (item: NewOutcome | NewFeedback) => {
      if (failures-- > 0)
        throw new OutcomeStoreError('feedback write for incident PINC001', new Error('ProvisionedThroughputExceededException'));
      return append(item);
    };

    await expect(handback.handle(deadNote(WRONG), invocation)).rejects.toThrow(OutcomeStoreError);
    expect(pd.count('escalateIncident')).toBe(1);
    expect(await incidents.get('PINC001')).toMatchObject({ handedBackAt: expect.any(String), finished: true });

    expect(await handback.handle(deadNote(WRONG), invocation)).toBe('recorded');
    expect(pd.count('escalateIncident')).toBe(1);
    expect(store.items).toEqual([feedbackItem]);
  });

  it.each<[string, () => DeadLetteredEvent, string | undefined, boolean]>([
    ['an ordinary note', () => deadNote('checking the database'), undefined, true],
    ["the agent's own note", () => deadNote('pd-agent: right', 'EVT-BOT', BOT), undefined, true],
    [
      'a note the environment filters out',
      () => deadNote(WRONG),
      JSON.stringify({ filters: { eventTypes: ['incident.triggered'] } }),
      true,
    ],
    ['a note on an incident the agent never triaged', () => deadNote(WRONG), undefined, false],
    ["a newer release's message, whose body is not read", () => ({ ...deadNote(WRONG), rawBodyBase64: undefined }), undefined, true],
  ])('ignores what the worker would: %s', async (_name, dead, agentConfig, triaged) => {
    const { pd, incidents, store, audit, handback } = setup(undefined, agentConfig);
    if (triaged) await triagedAndHeld(incidents);
    else pd.incidents.set('PINC001', makeIncident({ status: 'triggered' }));
    expect(await handback.handle(dead(), invocation)).toBe('recorded');
    expect(store.items).toEqual([]);
    expect(audit.items).toHaveLength(1);
  });

  it('reaches the recorder from an SQS record through the real batch handler', async () => {
    const { incidents, store, handback } = setup();
    await triagedAndHeld(incidents);
    const handler = createHandbackHandler({
      handback,
      sqs: new SQSClient({}),
      logger: { info: jest.fn(), warn: jest.fn(), error: jest.fn() },
      metrics: new RecordingMetrics(),
    });
    const queued: QueuedEvent = {
      version: 1,
      ...deadNote(WRONG),
      rawBodyBase64: deadNote(WRONG).rawBodyBase64 as string,
      webhookId: null,
      subscriptionId: null,
      receivedAt: '2026-03-01T10:30:01Z',
    };
    const record = { messageId: 'm-2', receiptHandle: 'rh-2', body: encodeQueuedEvent(queued), attributes: { MessageGroupId: 'PINC001' } };
    const response = await handler({ Records: [record as unknown as SQSRecord] }, { getRemainingTimeInMillis: () => 50_000 } as Context);
    expect(response.batchItemFailures).toEqual([]);
    expect(store.items).toEqual([feedbackItem]);
  });
});
