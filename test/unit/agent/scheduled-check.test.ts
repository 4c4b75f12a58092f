import { ScheduledCheckProcessor } from '../../../lib/agent/scheduled-check';
import { parseAgentConfig } from '../../../lib/config/agent-config';
import type { Prediction } from '../../../lib/followup/prediction';
import type { ContextSnapshot } from '../../../lib/followup/snapshot';
import { MetricName } from '../../../lib/observability/telemetry';
import { checkEventType, type QueuedCheck, type ScheduledCheck } from '../../../lib/queue/queued-event';
import type { CheckRequest } from '../../../lib/scheduling/check-scheduler';
import { MemoryAuditTrail, MemoryIncidentLedger, MemoryWorkLedger, RecordingMetrics, testNotes } from '../../support/fake-agent-state';
import { BOT, FakePagerDuty, HUMAN, makeIncident } from '../../support/fake-pagerduty';
import { makeAlert } from '../../support/incident-context';

const invocation = { remainingTimeMs: () => 50_000 };
const NOW = new Date('2026-03-01T10:45:00.000Z');

function queued(check: ScheduledCheck['check'], extra: Partial<ScheduledCheck> = {}): QueuedCheck {
  const scheduled: ScheduledCheck = {
    version: 2,
    kind: 'scheduled-check',
    check,
    checkId: `check-${check}-1-abc`,
    incidentId: 'PINC001',
    triggerEventId: 'EVT001',
    dueAt: NOW.toISOString(),
    sequence: 1,
    scheduledAt: '2026-03-01T10:15:00.000Z',
    ...extra,
  };
  return { eventId: scheduled.checkId, eventType: checkEventType(check), incidentId: 'PINC001', check: scheduled };
}

function setup(options: { agentConfig?: object; held?: boolean } = {}) {
  const held = options.held ?? true;
  const pd = new FakePagerDuty([
    makeIncident(
      held
        ? {
            status: 'acknowledged',
            assignments: [{ at: '2026-03-01T10:00:00Z', assignee: BOT }],
            acknowledgements: [{ at: '2026-03-01T10:00:01Z', acknowledger: BOT }],
          }
        : {},
    ),
  ]);
  pd.alerts.set('PINC001', [makeAlert({ status: 'triggered' })]);
  const work = new MemoryWorkLedger();
  const incidents = new MemoryIncidentLedger();
  const audit = new MemoryAuditTrail();
  const metrics = new RecordingMetrics();
  const scheduled: CheckRequest[] = [];
  const processor = new ScheduledCheckProcessor({
    env: 'prod',
    settings: parseAgentConfig(JSON.stringify(options.agentConfig ?? {})),
    connect: async () => ({ api: pd, events: pd.eventsApi, botUserId: BOT.id }),
    workLedger: work,
    incidentLedger: incidents,
    audit,
    notes: testNotes,
    metrics,
    scheduler: {
      schedule: async (request) => {
        scheduled.push(request);
        return queued('follow-up', { sequence: request.sequence }).check;
      },
    },
    clock: () => NOW,
    retry: { sleep: async () => undefined, random: () => 0 },
  });
  return { pd, work, incidents, audit, metrics, processor, scheduled };
}

describe('hold expiry', () => {
  it('escalates a held incident whose alerts have not cleared, with one short note saying so', async () => {
    const { pd, processor, metrics } = setup();
    await expect(processor.process(queued('hold-expiry'), invocation)).resolves.toEqual({ status: 'escalated' });
    expect(pd.count('escalateIncident')).toBe(1);
    const notes = pd.notes.get('PINC001') ?? [];
    expect(notes).toHaveLength(1);
    expect(notes[0]?.content).toMatch(
      /held this incident for 30 min and it has not cleared \(1 of 1 alerts are still triggered\): on-call takes it now/,
    );
    expect(metrics.values.filter((metric) => metric.name === MetricName.holdExpired)).toHaveLength(1);
  });

  it('escalates once and posts one note across duplicate deliveries of the same check', async () => {
    const { pd, processor } = setup();
    await processor.process(queued('hold-expiry'), invocation);
    await expect(processor.process(queued('hold-expiry'), invocation)).resolves.toEqual({ status: 'already-finished' });
    expect(pd.count('escalateIncident')).toBe(1);
    expect(pd.notes.get('PINC001')).toHaveLength(1);
  });

  it('a failed note is retried once after its dedup check, without escalating again, and a redelivery adds nothing', async () => {
    const { pd, processor } = setup();
    pd.fail('createNote', 500, 1);
    await expect(processor.process(queued('hold-expiry'), invocation)).resolves.toEqual({ status: 'escalated' });
    await expect(processor.process(queued('hold-expiry'), invocation)).resolves.toEqual({ status: 'already-finished' });
    expect(pd.count('escalateIncident')).toBe(1);
    expect(pd.count('createNote')).toBe(2);
    expect(pd.notes.get('PINC001')).toHaveLength(1);
  });

  it("stops once the note's one retry for the check is spent: people were already paged, and nothing is escalated again", async () => {
    const { pd, processor } = setup();
    pd.fail('createNote', 500, 50);
    await expect(processor.process(queued('hold-expiry'), invocation)).rejects.toThrow();
    await expect(processor.process(queued('hold-expiry'), invocation)).rejects.toThrow(/retries for this webhook are spent/);
    expect(pd.count('escalateIncident')).toBe(1);
    expect(pd.count('createNote')).toBe(2);
  });

  it.each([
    [
      'a person acknowledged it',
      { status: 'acknowledged' as const, acknowledgements: [{ at: '2026-03-01T10:20:00Z', acknowledger: HUMAN }] },
    ],
    ['it is resolved', { status: 'resolved' as const }],
  ])('ends the hold without a write when %s', async (_name, change) => {
    const { pd, processor, audit } = setup();
    Object.assign(pd.incident('PINC001'), change);
    const outcome = await processor.process(queued('hold-expiry'), invocation);
    expect(outcome.status).toBe('skipped');
    expect(pd.count('escalateIncident') + pd.count('createNote')).toBe(0);
    expect(audit.items.some((item) => item.outcome === 'skipped' && item.detail?.startsWith('hold-expiry:'))).toBe(true);
  });

  it('ends the hold without paging when every alert cleared', async () => {
    const { pd, processor } = setup();
    pd.alerts.set('PINC001', [makeAlert({ status: 'resolved' })]);
    await expect(processor.process(queued('hold-expiry'), invocation)).resolves.toMatchObject({ status: 'skipped' });
    expect(pd.count('escalateIncident')).toBe(0);
  });
});

const baseline: ContextSnapshot = { at: '2026-03-01T10:15:00.000Z', changes: [], errorSignatures: [], alertsCleared: false };
const prediction: Prediction = {
  kind: 'alert-persists',
  text: 'Unless someone acts, the alert is still triggered at 10:30 UTC.',
  madeAt: '2026-03-01T10:15:00.000Z',
  deadline: '2026-03-01T10:30:00.000Z',
};

describe('follow-up', () => {
  it('posts nothing when nothing material changed, and schedules the next one against the same baseline', async () => {
    const { pd, processor, scheduled, audit } = setup({ held: false });
    await expect(processor.process(queued('follow-up', { baseline, prediction }), invocation)).resolves.toEqual({ status: 'quiet' });
    expect(pd.count('createNote')).toBe(0);
    expect(scheduled).toEqual([expect.objectContaining({ check: 'follow-up', sequence: 2, baseline })]);
    expect(audit.items.some((item) => /nothing material changed/.test(item.detail ?? ''))).toBe(true);
  });

  it('notes alerts that cleared, says whether the prediction held, and records the settled prediction', async () => {
    const { pd, processor, incidents } = setup({ held: false });
    pd.alerts.set('PINC001', [makeAlert({ status: 'resolved' })]);
    const outcome = await processor.process(queued('follow-up', { baseline, prediction }), invocation);
    expect(outcome).toMatchObject({ status: 'noted' });
    const content = pd.notes.get('PINC001')?.[0]?.content ?? '';
    expect(content).toContain('Every alert of this incident has cleared.');
    expect(content).toContain(`Prediction: ${prediction.text}`);
    expect(content).toContain('Checked: The prediction did not hold: the alert cleared.');
    expect((await incidents.get('PINC001'))?.predictionCheck?.status).toBe('failed');
  });

  it('posts no follow-up once the incident is resolved, after pd-agent: stop, or beyond followUp.max', async () => {
    const resolved = setup({ held: false });
    Object.assign(resolved.pd.incident('PINC001'), { status: 'resolved' });
    await expect(resolved.processor.process(queued('follow-up', { baseline }), invocation)).resolves.toMatchObject({ status: 'skipped' });

    const stopped = setup({ held: false });
    stopped.pd.alerts.set('PINC001', [makeAlert({ status: 'resolved' })]);
    await stopped.pd.createNote('PINC001', 'pd-agent: stop, we are on it');
    stopped.pd.notes.get('PINC001')![0].user = HUMAN;
    await expect(stopped.processor.process(queued('follow-up', { baseline }), invocation)).resolves.toMatchObject({
      status: 'skipped',
      reason: expect.stringContaining('pd-agent: stop'),
    });

    const beyond = setup({ held: false, agentConfig: { followUp: { max: 1 } } });
    await expect(beyond.processor.process(queued('follow-up', { baseline, sequence: 2 }), invocation)).resolves.toMatchObject({
      status: 'skipped',
    });
    for (const { pd } of [resolved, beyond]) expect(pd.count('createNote')).toBe(0);
    expect(stopped.pd.notes.get('PINC001')).toHaveLength(1);
  });

  it('writes the follow-up to the audit trail only in observe mode', async () => {
    const { pd, processor, audit } = setup({ held: false, agentConfig: { rollout: { mode: 'observe' } } });
    pd.alerts.set('PINC001', [makeAlert({ status: 'resolved' })]);
    await expect(processor.process(queued('follow-up', { baseline }), invocation)).resolves.toEqual({ status: 'noted', noteId: null });
    expect(pd.count('createNote')).toBe(0);
    expect(audit.items.find((item) => item.action === 'note')?.detail).toMatch(/observe mode.*Every alert of this incident has cleared/s);
  });
});
