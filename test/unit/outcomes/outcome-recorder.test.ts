import { EventProcessor, RetryLaterError, type ProcessEventDeps } from '../../../lib/agent/process-event';
import { parseAgentConfig } from '../../../lib/config/agent-config';
import { MetricName } from '../../../lib/observability/telemetry';
import { OUTCOME_READ_RETRIES, OutcomeRecorder } from '../../../lib/outcomes/outcome-recorder';
import type { QueuedEvent } from '../../../lib/queue/queued-event';
import type { Hypothesis } from '../../../lib/triage/types';
import { parseWebhookEvent } from '../../../lib/webhook/parse-event';
import {
  MemoryAuditTrail,
  MemoryIncidentLedger,
  MemoryOutcomeStore,
  MemoryWorkLedger,
  RecordingMetrics,
  testNotes,
} from '../../support/fake-agent-state';
import { BOT, FakePagerDuty, HUMAN } from '../../support/fake-pagerduty';

const INCIDENT = 'PINC001';
const plenty = { remainingTimeMs: () => 50_000 };
const MONITOR = { id: 'PMONITOR', type: 'service_reference', summary: 'Datadog' };

let sequence = 0;
function queued(
  eventType: string,
  agent: { id: string; type: string; summary?: string },
  data?: Record<string, unknown>,
  occurredAt = new Date().toISOString(),
): QueuedEvent {
  sequence += 1;
  const eventId = `EVT${sequence}`;
  const incidentData = {
    id: INCIDENT,
    type: 'incident',
    number: 1,
    status: eventType === 'incident.resolved' ? 'resolved' : 'triggered',
    title: 'High error rate on checkout',
    urgency: 'high',
    service: { id: 'PSVC001', type: 'service_reference', summary: 'checkout' },
    escalation_policy: { id: 'PEP0001', type: 'escalation_policy_reference' },
    assignees: [],
    teams: [],
    priority: null,
  };
  const body = {
    event: {
      id: eventId,
      event_type: eventType,
      resource_type: 'incident',
      occurred_at: occurredAt,
      agent,
      data: data ?? incidentData,
    },
  };
  return {
    version: 1,
    eventId,
    eventType,
    incidentId: INCIDENT,
    rawBodyBase64: Buffer.from(JSON.stringify(body)).toString('base64'),
    webhookId: null,
    subscriptionId: null,
    receivedAt: new Date().toISOString(),
  };
}

const noteData = (content: string) => ({
  id: 'PNOTEX',
  type: 'incident_note',
  content,
  trimmed: false,
  incident: { id: INCIDENT, type: 'incident_reference' },
});

const deployHypothesis = (decision: Hypothesis['decision']): Hypothesis => ({
  summary: 'Likely caused by deploy `checkout v2.3.1` 4 min before the trigger',
  confidence: 0.9,
  evidence: [
    { source: 'rule:checkout-deploys', text: 'Matched rule' },
    { source: 'recent-change', text: 'Deploy `checkout v2.3.1` 4 min before the trigger' },
  ],
  nextSteps: [],
  decision,
  decisionReason: `test decides ${decision}`,
  ruleId: 'checkout-deploys',
  producedBy: 'rules',
});

function setup(decision: Hypothesis['decision'] = 'hold', agentConfig?: string) {
  const pd = new FakePagerDuty();
  pd.changeEvents.set(INCIDENT, [{ id: 'CHG1', summary: 'Deployed checkout v2.3.1', timestamp: '2026-03-01T09:56:00Z' }]);
  const incidents = new MemoryIncidentLedger();
  const audit = new MemoryAuditTrail();
  const metrics = new RecordingMetrics();
  const store = new MemoryOutcomeStore();
  const perRule: [string | undefined, string, number][] = [];
  const ruleMetrics = {
    addRuleMetric: (ruleId: string | undefined, name: string, _unit: string, value: number) => void perRule.push([ruleId, name, value]),
  };
  const work = new MemoryWorkLedger();
  const deps: ProcessEventDeps = {
    env: 'test',
    settings: parseAgentConfig(agentConfig),
    connect: async () => ({ api: pd, events: pd.eventsApi, botUserId: BOT.id }),
    workLedger: work,
    incidentLedger: incidents,
    audit,
    notes: testNotes,
    triage: () => deployHypothesis(decision),
    metrics,
    retry: { sleep: async () => undefined, random: () => 0.5 },
    outcomes: new OutcomeRecorder({ incidentLedger: incidents, audit, store, metrics, ruleMetrics }),
  };
  return { pd, work, incidents, audit, metrics, store, perRule, processor: new EventProcessor(deps) };
}

function humanNote(pd: FakePagerDuty, content: string, at: string): void {
  pd.notes.get(INCIDENT)?.push({ id: `PN${content.length}`, content, created_at: at, user: HUMAN });
}

describe('outcomes of triaged incidents', () => {
  it('keeps the named cause with the decision at triage time', async () => {
    const { processor, incidents } = setup();
    await processor.process(queued('incident.triggered', MONITOR), plenty);
    expect((await incidents.get(INCIDENT))?.cause).toEqual({
      kind: 'recent-change',
      ruleId: 'checkout-deploys',
      summary: 'Likely caused by deploy `checkout v2.3.1` 4 min before the trigger',
      change: { id: 'CHG1', summary: 'Deployed checkout v2.3.1', isDeploy: true },
      // No metric was read: the note's prediction is that the alert is still triggered when the agent looks again.
      prediction: expect.objectContaining({
        kind: 'alert-persists',
        text: expect.stringMatching(/^Unless someone acts, the alert is still triggered at/),
      }),
    });
  });

  it('records a human resolve of a held incident: confirmed by the note, head start, takeover, no PagerDuty write', async () => {
    const { processor, pd, store, metrics, perRule } = setup('hold');
    await processor.process(queued('incident.triggered', MONITOR), plenty);
    const noteAt = pd.notes.get(INCIDENT)?.[0]?.created_at as string;
    const humanAt = new Date(Date.parse(noteAt) + 60_000).toISOString();
    humanNote(pd, 'Rolled back checkout v2.3.1, error rate normal', humanAt);
    const writesBefore = pd.calls.filter((call) => call.operation !== 'listNotes' && call.operation !== 'getIncident').length;

    const resolvedAt = new Date(Date.parse(noteAt) + 300_000).toISOString();
    const outcome = await processor.process(queued('incident.resolved', HUMAN, undefined, resolvedAt), plenty);

    expect(outcome).toEqual({ status: 'recorded' });
    expect(pd.calls.filter((call) => call.operation !== 'listNotes' && call.operation !== 'getIncident')).toHaveLength(writesBefore);
    expect(store.items).toHaveLength(1);
    expect(store.items[0]).toMatchObject({
      kind: 'outcome',
      incidentId: INCIDENT,
      ending: 'resolved',
      decision: 'held',
      mode: 'act',
      serviceId: 'PSVC001',
      resolver: { kind: 'human', id: HUMAN.id, name: HUMAN.summary },
      humanNotes: ['Rolled back checkout v2.3.1, error rate normal'],
      humanTookOver: true,
      verdict: 'confirmed',
      verdictReason: 'responders rolled back the change `Deployed checkout v2.3.1` the agent named',
      firstHumanActionAt: humanAt,
    });
    expect((store.items[0] as { headStartMs: number }).headStartMs).toBeGreaterThan(0);
    expect((store.items[0] as { headStartMs: number }).headStartMs).toBeLessThanOrEqual(60_000);
    expect(metrics.total(MetricName.outcomeConfirmed)).toBe(1);
    expect(metrics.values.some((entry) => entry.name === MetricName.headStart)).toBe(true);
    expect(perRule.map(([rule, name]) => [rule, name])).toEqual([
      ['checkout-deploys', MetricName.outcomeConfirmed],
      ['checkout-deploys', MetricName.headStart],
    ]);
  });

  it('a hold decided in note mode was never carried out, so a human resolving it is no takeover', async () => {
    const { processor, pd, store, metrics } = setup('hold', JSON.stringify({ rollout: { mode: 'note' } }));
    await processor.process(queued('incident.triggered', MONITOR), plenty);
    expect(pd.count('acknowledgeIncident')).toBe(0);
    await processor.process(queued('incident.resolved', HUMAN), plenty);
    expect(store.items[0]).toMatchObject({ decision: 'held', mode: 'note', resolver: { kind: 'human' }, humanTookOver: false });
    expect(metrics.total(MetricName.humanTookOver)).toBe(0);
  });

  it('an alert its monitor resolved after an escalation is not a takeover and stays unknown for a named deploy', async () => {
    const { processor, store } = setup('escalate');
    await processor.process(queued('incident.triggered', MONITOR), plenty);
    await processor.process(queued('incident.resolved', MONITOR), plenty);
    expect(store.items[0]).toMatchObject({
      resolver: { kind: 'integration', id: MONITOR.id, name: 'Datadog' },
      humanTookOver: false,
      verdict: 'unknown',
    });
  });

  it('records a pd-agent: wrong note as feedback and ignores ordinary notes', async () => {
    const { processor, store, pd } = setup();
    await processor.process(queued('incident.triggered', MONITOR), plenty);
    await processor.process(queued('incident.annotated', HUMAN, noteData('checking the database')), plenty);
    await processor.process(queued('incident.annotated', HUMAN, noteData('pd-agent: wrong - it was the DB failover')), plenty);
    expect(store.items).toEqual([
      expect.objectContaining({
        kind: 'feedback',
        verdict: 'contradicted',
        comment: 'it was the DB failover',
        by: HUMAN.id,
        byName: HUMAN.summary,
      }),
    ]);
    expect(store.items[0]).toMatchObject({ cause: { ruleId: 'checkout-deploys' } });
    expect(pd.count('createNote')).toBe(1);
  });

  it('a resolve whose notes cannot be read is delivered again rather than recorded without them', async () => {
    const { processor, pd, store } = setup('hold');
    await processor.process(queued('incident.triggered', MONITOR), plenty);
    pd.fail('listNotes', 503, 10);
    await expect(processor.process(queued('incident.resolved', HUMAN), plenty)).rejects.toThrow(RetryLaterError);
    expect(store.items).toEqual([]);
  });

  it('records nothing for incidents the agent never triaged', async () => {
    const { processor, store, pd } = setup();
    await processor.process(queued('incident.resolved', HUMAN), plenty);
    expect(store.items).toEqual([]);
    expect(pd.count('listNotes')).toBe(0);
  });

  it('a reopen after the agent resolved is contradicted, and triage goes on even when the notes cannot be read', async () => {
    const { processor, store, pd, audit } = setup('resolve');
    pd.alerts.set(INCIDENT, []);
    await processor.process(queued('incident.triggered', MONITOR), plenty);
    pd.incident(INCIDENT).status = 'triggered';
    await processor.process(queued('incident.reopened', MONITOR), plenty);
    expect(store.items[0]).toMatchObject({ kind: 'outcome', ending: 'reopened', verdict: 'contradicted' });

    const second = setup('hold');
    await second.processor.process(queued('incident.triggered', MONITOR), plenty);
    second.pd.fail('listNotes', 403, 1);
    const outcome = await second.processor.process(queued('incident.reopened', HUMAN), plenty);
    expect(outcome).toMatchObject({ status: 'triaged' });
    expect(second.store.items).toEqual([]);
    expect(
      second.audit.items.some(
        (item) => item.outcome === 'failed' && /outcome of the reopened incident not recorded/.test(item.detail ?? ''),
      ),
    ).toBe(true);
    expect(audit.items.length).toBeGreaterThan(0);
  });

  it("a reopen's failing outcome read spends none of the event's budget: its triage gets all of it", async () => {
    const { processor, pd, work, store, audit } = setup('hold');
    await processor.process(queued('incident.triggered', MONITOR), plenty);
    Object.assign(pd.incident(INCIDENT), { status: 'triggered', acknowledgements: [] });
    // The notes stay unreadable; the acknowledgement needs three retries, more than the old shared budget left it.
    pd.fail('listNotes', 500, 10).fail('acknowledgeIncident', 500, 3);
    const reopen = queued('incident.reopened', HUMAN);

    const outcome = await processor.process(reopen, plenty);

    expect(outcome).toMatchObject({ status: 'triaged', decision: 'held' });
    expect(pd.count('listNotes')).toBe(1 + OUTCOME_READ_RETRIES);
    expect(pd.count('acknowledgeIncident')).toBe(1 + 1 + 3);
    expect(pd.incident(INCIDENT).status).toBe('acknowledged');
    expect(store.items).toEqual([]);
    expect(audit.items).toContainEqual(
      expect.objectContaining({ outcome: 'failed', detail: expect.stringContaining('outcome of the reopened incident not recorded') }),
    );
    expect(await work.get(reopen.eventId)).toMatchObject({ workStatus: 'done', retriesUsed: 3, failedCalls: new Set(['acknowledge']) });
  });
});

describe('the circuit breaker is asked after each outcome and feedback of a rule', () => {
  function withBreaker() {
    const harness = setup('hold');
    const asked: [string, string, string][] = [];
    const recorder = new OutcomeRecorder({
      incidentLedger: harness.incidents,
      audit: harness.audit,
      store: harness.store,
      metrics: harness.metrics,
      breaker: {
        afterOutcome: async (subject, ruleId, verdict) => {
          asked.push([subject.eventId, ruleId, verdict]);
          return 'record-good';
        },
      },
    });
    const connection = { api: harness.pd, botUserId: BOT.id };
    return { ...harness, asked, recorder, connection };
  }

  it("gives it the rule and the verdict, for a responder's feedback and on a redelivery of it (a crash between the two is made good)", async () => {
    const { processor, recorder, connection, asked } = withBreaker();
    await processor.process(queued('incident.triggered', MONITOR), plenty);
    const feedback = queued('incident.annotated', HUMAN, noteData('pd-agent: wrong, it was the cache'));
    const parsed = parseWebhookEvent(Buffer.from(feedback.rawBodyBase64, 'base64'));
    if (!parsed.ok) throw new Error('the test event does not parse');
    const retry = { idempotent: async <T>(_name: string, call: () => Promise<T>) => ({ response: { value: await call() } }) };
    const observation = {
      event: parsed.event,
      rawBody: Buffer.from(feedback.rawBodyBase64, 'base64'),
      connection,
      retry,
    } as unknown as Parameters<OutcomeRecorder['observe']>[0];
    expect(await recorder.observe(observation)).toMatchObject({ status: 'recorded', kind: 'feedback' });
    expect(await recorder.observe(observation)).toEqual({ status: 'already-recorded' });
    expect(asked).toEqual([
      [feedback.eventId, 'checkout-deploys', 'contradicted'],
      [feedback.eventId, 'checkout-deploys', 'contradicted'],
    ]);
  });

  it('lets a failure of the breaker propagate, so the event comes back and the judgement is not lost', async () => {
    const { processor, incidents, audit, store, metrics, pd } = withBreaker();
    await processor.process(queued('incident.triggered', MONITOR), plenty);
    const failing = new OutcomeRecorder({
      incidentLedger: incidents,
      audit,
      store,
      metrics,
      breaker: { afterOutcome: () => Promise.reject(new Error('state table throttled')) },
    });
    const feedback = queued('incident.annotated', HUMAN, noteData('pd-agent: wrong'));
    const parsed = parseWebhookEvent(Buffer.from(feedback.rawBodyBase64, 'base64'));
    if (!parsed.ok) throw new Error('the test event does not parse');
    const observation = {
      event: parsed.event,
      rawBody: Buffer.from(feedback.rawBodyBase64, 'base64'),
      connection: { api: pd, botUserId: BOT.id },
      retry: {},
    } as unknown as Parameters<OutcomeRecorder['observe']>[0];
    await expect(failing.observe(observation)).rejects.toThrow('state table throttled');
  });
});
