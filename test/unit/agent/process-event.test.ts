import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { DeadLetterHandback } from '../../../lib/agent/handback';
import {
  AcknowledgementUnknownError,
  EventProcessor,
  LeaseHeldError,
  NoTimeToStartError,
  RetryLaterError,
  type ProcessEventDeps,
} from '../../../lib/agent/process-event';
import { createWorkerHandler } from '../../../lib/adapters/queue-handlers';
import { OutcomeUnknownError, RetryBudgetExhaustedError, ThrottledError } from '../../../lib/agent/retry-policy';
import { ACKNOWLEDGE_SETTINGS, parseAgentConfig, type AcknowledgeSetting, type AgentConfig } from '../../../lib/config/agent-config';
import { acknowledgesOnStart, takenOverBefore } from '../../../lib/agent/take-ownership';
import type { Incident } from '../../../lib/pagerduty/types';
import { MetricName } from '../../../lib/observability/telemetry';
import { PagerDutyNetworkError } from '../../../lib/pagerduty/errors';
import { encodeQueuedEvent, type QueuedEvent } from '../../../lib/queue/queued-event';
import { rulesMayKeep } from '../../../lib/triage/rules-engine';
import { triageIncident } from '../../../lib/triage/triage';
import { ruleTrustFor, type Demotion } from '../../../lib/trust/rule-trust';
import type { Hypothesis, IncidentContext } from '../../../lib/triage/types';
import { MemoryAuditTrail, MemoryIncidentLedger, MemoryWorkLedger, RecordingMetrics, testNotes } from '../../support/fake-agent-state';
import { BOT, FakePagerDuty, HUMAN, makeIncident } from '../../support/fake-pagerduty';
import { makeAlert } from '../../support/incident-context';

const INCIDENT = 'PINC001';

function queued(eventType: string, options: { eventId?: string; agentId?: string; incidentId?: string } = {}): QueuedEvent {
  const eventId = options.eventId ?? 'EVT001';
  const incidentId = options.incidentId ?? INCIDENT;
  const body = {
    event: {
      id: eventId,
      event_type: eventType,
      resource_type: 'incident',
      occurred_at: new Date(Date.now() - 1000).toISOString(),
      agent: { id: options.agentId ?? 'PMONITOR', type: 'service_reference' },
      client: null,
      data: {
        id: incidentId,
        type: 'incident',
        number: 1,
        status: 'triggered',
        title: 'High error rate on checkout',
        urgency: 'high',
        service: { id: 'PSVC001', type: 'service_reference', summary: 'checkout' },
        escalation_policy: { id: 'PEP0001', type: 'escalation_policy_reference' },
        assignees: [],
        teams: [],
        priority: null,
        html_url: `https://sandbox.pagerduty.com/incidents/${incidentId}`,
      },
    },
  };
  return {
    version: 1,
    eventId,
    eventType,
    incidentId,
    rawBodyBase64: Buffer.from(JSON.stringify(body)).toString('base64'),
    webhookId: null,
    subscriptionId: null,
    receivedAt: new Date().toISOString(),
  };
}

const hypothesis = (decision: Hypothesis['decision'], ruleId: string | undefined = 'rule-1'): Hypothesis => ({
  summary: `cache node restarted (${decision})`,
  confidence: 0.9,
  evidence: [],
  nextSteps: [],
  decision,
  decisionReason: `test decides ${decision}`,
  ruleId,
  producedBy: 'rules',
});

const plenty = { remainingTimeMs: () => 50_000 };

/** One on-call entry of the fake's escalation policy PEP0001. */
const oncall = (user: typeof HUMAN, level: number) => ({
  user,
  escalation_level: level,
  escalation_policy: { id: 'PEP0001', type: 'escalation_policy_reference' as const },
  schedule: null,
  start: null,
  end: null,
});

/** The Lambda dies the first time the ledger's `method` is called (the call does not happen); later calls go through. */
function dieOnceAt<M extends 'recordNote' | 'recordDecision' | 'confirmEscalation' | 'markAcknowledged'>(
  ledger: MemoryIncidentLedger,
  method: M,
): void {
  const original = ledger[method].bind(ledger) as (...args: Parameters<MemoryIncidentLedger[M]>) => Promise<void>;
  let crashes = 1;
  (ledger[method] as (...args: Parameters<MemoryIncidentLedger[M]>) => Promise<void>) = async (...args) => {
    if (crashes-- > 0) throw new Error('Lambda died');
    return original(...args);
  };
}

/**
 * A rule that could hold any incident whose alert shows a database host: before the alerts are read the agent cannot
 * rule a hold out, so it acknowledges first. The fake's incidents have no such alert, so triage then escalates.
 */
const MAY_HOLD = parseAgentConfig(
  JSON.stringify({
    triage: { rules: [{ id: 'db-host', match: { alertFields: { host: '^db-' } }, hypothesis: 'db', confidence: 0.9, action: 'hold' }] },
  }),
);
/**
 * No rules: every incident goes to on-call. By default (acknowledge: agent-first) the agent acknowledges only what
 * PagerDuty assigned to it (or to nobody), and leaves the rest with the people paged.
 */
const NO_RULES = parseAgentConfig(undefined);
/** No rules, and the agent acknowledges only what a rule could keep: an incident paging only it is escalated at once. */
const MAY_KEEP_ONLY = parseAgentConfig(JSON.stringify({ acknowledge: 'may-keep' }));

function setup(options: { pd?: FakePagerDuty; config?: AgentConfig; triage?: ProcessEventDeps['triage'] } = {}) {
  const pd = options.pd ?? new FakePagerDuty();
  const work = new MemoryWorkLedger();
  const incidents = new MemoryIncidentLedger();
  const audit = new MemoryAuditTrail();
  const metrics = new RecordingMetrics();
  const sleeps: number[] = [];
  const config = options.config ?? MAY_HOLD;
  const deps: ProcessEventDeps = {
    env: 'test',
    settings: config,
    connect: async () => ({ api: pd, events: pd.eventsApi, botUserId: BOT.id }),
    workLedger: work,
    incidentLedger: incidents,
    audit,
    notes: testNotes,
    triage: options.triage ?? ((context) => triageIncident(context, config.triage)),
    // An injected triage stands for rules this predicate cannot see: the agent then acknowledges first, as it must when unsure.
    ...(options.triage === undefined
      ? { mayKeep: (incident) => rulesMayKeep(config.triage.rules, incident, config.triage.holdMinConfidence) }
      : {}),
    metrics,
    retry: { sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 },
  };
  return { pd, work, incidents, audit, metrics, sleeps, deps, processor: new EventProcessor(deps) };
}

describe('EventProcessor: a triggered incident', () => {
  it('is acknowledged once, gets one note, and is escalated to on-call when no rule holds it', async () => {
    const { pd, processor, audit, incidents, metrics } = setup();
    const outcome = await processor.process(queued('incident.triggered'), plenty);

    expect(outcome).toEqual({ status: 'triaged', decision: 'escalated', noteId: 'PNOTE1' });
    expect(pd.count('acknowledgeIncident')).toBe(1);
    expect(pd.count('createNote')).toBe(1);
    expect(pd.count('escalateIncident')).toBe(1);
    expect(pd.count('resolveIncident')).toBe(0);
    expect(pd.calls.find((call) => call.operation === 'escalateIncident')?.detail).toEqual({
      mode: 'escalation_policy',
      escalationPolicyId: 'PEP0001',
    });
    expect(pd.notes.get(INCIDENT)?.[0]?.content).toContain('ref pda:test:PINC001:EVT001');
    // Every mutation has its intent completed with an outcome.
    const mutations = audit.items.filter((item) => ['acknowledge', 'note', 'escalate'].includes(item.action));
    expect(mutations.map((item) => [item.action, item.outcome])).toEqual([
      ['acknowledge', 'succeeded'],
      ['note', 'succeeded'],
      ['escalate', 'succeeded'],
    ]);
    expect(audit.of('note')[0]).toMatchObject({ noteId: 'PNOTE1', httpStatus: 200, attempts: 1, hypothesisSummary: expect.any(String) });
    expect(await incidents.get(INCIDENT)).toMatchObject({
      noteId: 'PNOTE1',
      decision: 'escalated',
      finished: true,
      escalatedAt: expect.any(String),
    });
    expect(metrics.total(MetricName.incidentAcknowledged)).toBe(1);
    expect(metrics.total(MetricName.notePosted)).toBe(1);
    expect(metrics.total(MetricName.incidentEscalated)).toBe(1);
    expect(metrics.values.some((entry) => entry.name === MetricName.timeToAcknowledge && entry.unit === 'Milliseconds')).toBe(true);
    expect(metrics.values.some((entry) => entry.name === MetricName.triageDuration)).toBe(true);
  });

  it('uses at most 7 PagerDuty requests for a held incident (incident with its alerts, ack, 4 context reads, note)', async () => {
    const pd = new FakePagerDuty([makeIncident(), makeIncident({ id: 'POLD001', status: 'resolved', created_at: '2026-02-28T10:00:00Z' })]);
    pd.alerts.set(INCIDENT, [makeAlert()]);
    const { processor } = setup({ pd, triage: () => hypothesis('hold') });
    await processor.process(queued('incident.triggered'), plenty);
    expect(pd.calls.map((call) => call.operation).sort()).toEqual(
      [
        'acknowledgeIncident',
        'createNote',
        'listAlertsWithIncident',
        'listIncidents',
        'listNotes',
        'listOncalls',
        'listRelatedChangeEvents',
      ].sort(),
    );
  });

  it('reads the incident by itself when no alert embeds it, before acknowledging', async () => {
    const { pd, processor } = setup({ triage: () => hypothesis('hold') });
    await processor.process(queued('incident.triggered'), plenty);
    const operations = pd.calls.map((call) => call.operation);
    expect(operations.slice(0, 3)).toEqual(['listAlertsWithIncident', 'getIncident', 'acknowledgeIncident']);
    expect(operations).not.toContain('listAlerts');
  });

  it('reads the incident by itself when PagerDuty refuses its alerts, and notes the alerts as unavailable', async () => {
    const pd = new FakePagerDuty().fail('listAlertsWithIncident', 403);
    pd.alerts.set(INCIDENT, [makeAlert()]);
    const seen: IncidentContext[] = [];
    const { processor } = setup({ pd, triage: (context) => (seen.push(context), hypothesis('hold')) });
    const outcome = await processor.process(queued('incident.triggered'), plenty);
    expect(outcome).toMatchObject({ status: 'triaged', decision: 'held' });
    expect(pd.count('getIncident')).toBe(1);
    expect(pd.count('listAlerts')).toBe(0);
    expect(seen[0]?.unavailable).toEqual([{ source: 'alerts', reason: expect.stringContaining('403') }]);
  });

  it('acknowledges and notes once under duplicate deliveries; a finished event is never processed again', async () => {
    const { pd, processor } = setup();
    await processor.process(queued('incident.triggered'), plenty);
    const again = await processor.process(queued('incident.triggered'), plenty);
    const third = await processor.process(queued('incident.triggered'), plenty);

    expect(again).toEqual({ status: 'already-finished' });
    expect(third).toEqual({ status: 'already-finished' });
    expect(pd.count('acknowledgeIncident')).toBe(1);
    expect(pd.count('createNote')).toBe(1);
    // Once alone (its alerts did not embed it), once more just before the escalation.
    expect(pd.count('getIncident')).toBe(2);
  });

  it('holds an incident a confident rule allows it to hold', async () => {
    const { pd, processor, metrics, incidents } = setup({ triage: () => hypothesis('hold') });
    const outcome = await processor.process(queued('incident.triggered'), plenty);
    expect(outcome).toMatchObject({ status: 'triaged', decision: 'held' });
    expect(pd.count('escalateIncident')).toBe(0);
    expect(pd.incident().status).toBe('acknowledged');
    expect(metrics.total(MetricName.incidentHeld)).toBe(1);
    expect(await incidents.get(INCIDENT)).toMatchObject({ finished: true, decision: 'held' });
  });

  it('resolves only where a rule allows it', async () => {
    const { pd, processor } = setup({ triage: () => hypothesis('resolve') });
    const outcome = await processor.process(queued('incident.triggered'), plenty);
    expect(outcome).toMatchObject({ decision: 'resolved' });
    expect(pd.incident().status).toBe('resolved');

    const { ruleId: _ruleId, ...withoutRule } = hypothesis('resolve');
    const noRule = setup({ triage: () => withoutRule });
    await noRule.processor.process(queued('incident.triggered'), plenty);
    expect(noRule.pd.count('resolveIncident')).toBe(0);
    expect(noRule.pd.count('escalateIncident')).toBe(1);
  });
});

describe('EventProcessor: an incident no rule could keep goes to on-call at once (acknowledge: may-keep, or people paged)', () => {
  const NEXT_LEVEL = parseAgentConfig(JSON.stringify({ acknowledge: 'may-keep', escalation: { mode: 'next_level' } }));

  const assignedToAgent = () => new FakePagerDuty([makeIncident({ assignments: [{ at: '2026-03-01T10:00:00Z', assignee: BOT }] })]);

  it('is left with the people PagerDuty pages: never acknowledged, never escalated, one note', async () => {
    const { pd, processor, audit, incidents, metrics } = setup({ config: NO_RULES });
    const outcome = await processor.process(queued('incident.triggered'), plenty);

    expect(outcome).toEqual({ status: 'triaged', decision: 'left-with-on-call', noteId: 'PNOTE1' });
    expect(
      pd.calls.map((call) => call.operation).filter((operation) => !operation.startsWith('list') && operation !== 'getIncident'),
    ).toEqual(['createNote']);
    expect(audit.of('triage')[0]).toMatchObject({
      decision: 'left-with-on-call',
      detail: expect.stringContaining('The agent never took it'),
    });
    const progress = await incidents.get(INCIDENT);
    expect(progress).toMatchObject({
      decision: 'left-with-on-call',
      finished: true,
      leftWithOnCallFor: 'EVT001',
      leftWithOnCallAt: expect.any(String),
    });
    // No escalation happened, so none is recorded.
    expect(progress?.escalatedAt).toBeUndefined();
    expect(metrics.total(MetricName.incidentLeftWithOnCall)).toBe(1);
    expect((await incidents.get(INCIDENT))?.acknowledgedByAgentAt).toBeUndefined();
    expect(metrics.total(MetricName.incidentAcknowledged)).toBe(0);
    expect(metrics.total(MetricName.incidentEscalated)).toBe(0);
  });

  it('is escalated before the note and never acknowledged when PagerDuty assigned it to the agent', async () => {
    const { pd, processor, audit, incidents, metrics } = setup({ pd: assignedToAgent(), config: MAY_KEEP_ONLY });
    const outcome = await processor.process(queued('incident.triggered'), plenty);

    expect(outcome).toEqual({ status: 'triaged', decision: 'escalated', noteId: 'PNOTE1' });
    expect(pd.count('acknowledgeIncident')).toBe(0);
    const writes = pd.calls.map((call) => call.operation).filter((operation) => ['escalateIncident', 'createNote'].includes(operation));
    expect(writes).toEqual(['escalateIncident', 'createNote']);
    expect(audit.items.filter((item) => ['acknowledge', 'note', 'escalate'].includes(item.action)).map((item) => item.action)).toEqual([
      'escalate',
      'note',
    ]);
    expect(audit.of('triage')[0]).toMatchObject({
      decision: 'escalated',
      detail: expect.stringContaining('On-call took it before triage'),
    });
    expect(await incidents.get(INCIDENT)).toMatchObject({ decision: 'escalated', finished: true, escalatedFor: 'EVT001' });
    expect(metrics.total(MetricName.incidentAcknowledged)).toBe(0);
    expect(metrics.total(MetricName.incidentEscalated)).toBe(1);
  });

  it('pages the level above the one paged, read from the on-calls before the escalation', async () => {
    const pd = assignedToAgent();
    pd.oncalls = [oncall(BOT, 1), oncall(HUMAN, 2)];
    const { processor } = setup({ pd, config: NEXT_LEVEL });
    await processor.process(queued('incident.triggered'), plenty);
    const escalateAt = pd.calls.findIndex((call) => call.operation === 'escalateIncident');
    expect(pd.calls[escalateAt]?.detail).toEqual({ mode: 'next_level', level: 2 });
    expect(pd.calls.findIndex((call) => call.operation === 'listOncalls')).toBeLessThan(escalateAt);
  });

  it('escalates an incident assigned to nobody: nobody would be paged otherwise', async () => {
    const pd = new FakePagerDuty([makeIncident({ assignments: [] })]);
    const { processor } = setup({ pd, config: MAY_KEEP_ONLY });
    await processor.process(queued('incident.triggered'), plenty);
    expect(pd.count('acknowledgeIncident')).toBe(0);
    expect(pd.calls.filter((call) => call.operation === 'escalateIncident').map((call) => call.detail)).toEqual([
      { mode: 'escalation_policy', escalationPolicyId: 'PEP0001' },
    ]);
  });

  it('pages the level above the agent even in escalation_policy mode: reassigning to the policy would page the agent again', async () => {
    const pd = assignedToAgent();
    pd.oncalls = [oncall(BOT, 1), oncall(HUMAN, 2)];
    const { processor } = setup({ pd, config: MAY_KEEP_ONLY });
    await processor.process(queued('incident.triggered'), plenty);
    expect(pd.calls.filter((call) => call.operation === 'escalateIncident').map((call) => call.detail)).toEqual([
      { mode: 'next_level', level: 2 },
    ]);
  });

  it('repeats an escalation PagerDuty never confirmed (a crash right after the call) as it was, never one level further', async () => {
    const pd = assignedToAgent();
    pd.oncalls = [oncall(BOT, 1), oncall(HUMAN, 2)];
    const { processor, incidents } = setup({ pd, config: NEXT_LEVEL });
    dieOnceAt(incidents, 'confirmEscalation');
    await expect(processor.process(queued('incident.triggered'), plenty)).rejects.toThrow('Lambda died');
    // The escalation landed and assigned it to level 2; working the level out again from them would page level 3.
    pd.oncalls = [oncall(HUMAN, 2)];
    const outcome = await processor.process(queued('incident.triggered'), plenty);
    expect(outcome).toMatchObject({ status: 'triaged', decision: 'escalated' });
    expect(pd.calls.filter((call) => call.operation === 'escalateIncident').map((call) => call.detail)).toEqual([
      { mode: 'next_level', level: 2 },
      { mode: 'next_level', level: 2 },
    ]);
    expect(pd.count('createNote')).toBe(1);
    expect(pd.count('acknowledgeIncident')).toBe(0);
  });

  it('does not page again on a redelivery once PagerDuty confirmed the escalation', async () => {
    const { pd, processor, incidents } = setup({ pd: assignedToAgent(), config: MAY_KEEP_ONLY });
    dieOnceAt(incidents, 'recordDecision');
    await expect(processor.process(queued('incident.triggered'), plenty)).rejects.toThrow('Lambda died');
    const outcome = await processor.process(queued('incident.triggered'), plenty);
    expect(outcome).toMatchObject({ status: 'triaged', decision: 'escalated' });
    expect(pd.count('escalateIncident')).toBe(1);
    expect(pd.count('createNote')).toBe(1);
  });

  it('is never acknowledged on a redelivery, even when a changed configuration would now let a rule keep it', async () => {
    const first = setup({ config: NO_RULES });
    // Left with its on-call people on the first delivery; a hold rule deployed before the redelivery must not take it.
    dieOnceAt(first.incidents, 'recordDecision');
    await expect(first.processor.process(queued('incident.triggered'), plenty)).rejects.toThrow('Lambda died');
    const holdAll = parseAgentConfig(
      JSON.stringify({ triage: { rules: [{ id: 'all', match: {}, hypothesis: 'known', confidence: 0.9, action: 'hold' }] } }),
    );
    const redelivered = new EventProcessor({
      ...first.deps,
      settings: holdAll,
      mayKeep: () => true,
      triage: (context) => triageIncident(context, holdAll.triage),
    });
    await redelivered.process(queued('incident.triggered'), plenty);
    expect(first.pd.count('acknowledgeIncident')).toBe(0);
    expect(first.pd.count('escalateIncident')).toBe(0);
    expect(first.audit.of('triage').at(-1)).toMatchObject({ decision: 'left-with-on-call' });
  });

  it('stops at the cap, saying so, an incident paging only the agent that it never acknowledged (PagerDuty keeps its timer)', async () => {
    const pd = assignedToAgent().fail('escalateIncident', 500, 50);
    pd.oncalls = [oncall(BOT, 1), oncall(HUMAN, 2)];
    const { processor, audit } = setup({ pd, config: MAY_KEEP_ONLY });
    const outcomes: unknown[] = [];
    for (let delivery = 0; delivery < 8; delivery += 1) {
      outcomes.push(await processor.process(queued('incident.triggered'), plenty).catch((error: unknown) => error));
    }
    expect(outcomes[0]).toBeInstanceOf(RetryLaterError);
    expect(outcomes[1]).toEqual({ status: 'gave-up' });
    expect(pd.count('acknowledgeIncident')).toBe(0);
    // The escalation's own 3 retries, counted across deliveries: 4 attempts for the webhook, none beyond the cap.
    expect(pd.count('escalateIncident')).toBe(4);
    expect(audit.of('handback')).toHaveLength(0);
    expect(audit.of('record').at(-1)?.detail).toMatch(/never acknowledged, so PagerDuty's escalation policy pages the next level/);
  });

  it('escalates an incident assigned to the agent above it even without on-calls at hand, reading them (escalation_policy mode)', async () => {
    const pd = assignedToAgent();
    pd.oncalls = [oncall(BOT, 1), oncall(HUMAN, 2)];
    pd.fail('listOncalls', 403);
    const { processor } = setup({ pd, config: MAY_KEEP_ONLY });
    await processor.process(queued('incident.triggered'), plenty);
    // The gathering's on-calls read was refused; the escalation read them itself and got them.
    expect(pd.calls.filter((call) => call.operation === 'escalateIncident').map((call) => call.detail)).toEqual([
      { mode: 'next_level', level: 2 },
    ]);
  });

  it('hands an incident PagerDuty un-acknowledged back to the people above the agent when it pages only the agent', async () => {
    const pd = assignedToAgent();
    pd.oncalls = [oncall(BOT, 1), oncall(HUMAN, 2)];
    const { processor, audit } = setup({ pd, config: MAY_KEEP_ONLY });
    const outcome = await processor.process(queued('incident.unacknowledged', { eventId: 'EVTUNACK' }), plenty);
    expect(outcome).toMatchObject({ status: 'handed-back' });
    expect(pd.calls.filter((call) => call.operation === 'escalateIncident').map((call) => call.detail)).toEqual([
      { mode: 'next_level', level: 2 },
    ]);
    expect(pd.incident().assignments.map((assignment) => assignment.assignee.id)).toEqual([HUMAN.id]);
    expect(pd.count('acknowledgeIncident')).toBe(0);
    expect(audit.of('escalate').at(-1)?.detail).toMatch(/took the acknowledgement back/);
  });

  it('leaves an un-acknowledged incident that pages people alone', async () => {
    const { pd, processor } = setup({ config: MAY_KEEP_ONLY });
    await expect(processor.process(queued('incident.unacknowledged'), plenty)).resolves.toEqual({ status: 'recorded' });
    expect(pd.count('escalateIncident')).toBe(0);
  });

  it('stops without a handback when the budget runs out after the escalation: on-call has it, nothing is silenced', async () => {
    const pd = assignedToAgent().fail('createNote', 500, 50);
    const { processor, audit, metrics } = setup({ pd, config: MAY_KEEP_ONLY });
    let outcome: Awaited<ReturnType<EventProcessor['process']>> | undefined;
    for (let delivery = 0; delivery < 8 && outcome === undefined; delivery += 1) {
      outcome = await processor.process(queued('incident.triggered'), plenty).catch((error: unknown) => {
        if (error instanceof RetryLaterError) return undefined;
        throw error;
      });
    }
    expect(outcome).toEqual({ status: 'gave-up' });
    expect(pd.count('escalateIncident')).toBe(1);
    expect(pd.count('acknowledgeIncident')).toBe(0);
    expect(audit.of('handback')).toHaveLength(0);
    expect(audit.of('record').at(-1)?.detail).toContain('on-call already had it: the agent never acknowledged it');
    expect(metrics.total(MetricName.handedBack)).toBe(0);
  });

  it('leaves an incident a human acknowledged first with them: no escalation', async () => {
    const pd = new FakePagerDuty([
      makeIncident({ status: 'acknowledged', acknowledgements: [{ at: '2026-03-01T10:01:00Z', acknowledger: HUMAN }] }),
    ]);
    const { processor } = setup({ pd, config: NO_RULES });
    const outcome = await processor.process(queued('incident.triggered'), plenty);
    expect(outcome).toMatchObject({ status: 'triaged', decision: 'left-with-on-call' });
    expect(pd.count('escalateIncident')).toBe(0);
    expect(pd.count('acknowledgeIncident')).toBe(0);
  });
});

describe('EventProcessor: the paging contract (AGENT_CONFIG.acknowledge)', () => {
  const toAgent = [{ at: '2026-03-01T10:00:00Z', assignee: BOT }];
  const toHuman = [{ at: '2026-03-01T10:00:00Z', assignee: HUMAN }];
  const config = (acknowledge: string) => parseAgentConfig(JSON.stringify({ acknowledge }));
  const writesIn = (pd: FakePagerDuty) =>
    pd.calls
      .map((call) => call.operation)
      .filter((operation) => ['acknowledgeIncident', 'createNote', 'escalateIncident', 'resolveIncident'].includes(operation));

  it('agent-first (the default): an incident paging only the agent is acknowledged, noted, then escalated above the agent', async () => {
    for (const assignments of [toAgent, []]) {
      const pd = new FakePagerDuty([makeIncident({ assignments })]);
      pd.oncalls = [oncall(BOT, 1), oncall(HUMAN, 2)];
      const { processor, metrics, incidents } = setup({ pd, config: NO_RULES });
      const outcome = await processor.process(queued('incident.triggered'), plenty);

      expect(outcome).toEqual({ status: 'triaged', decision: 'escalated', noteId: 'PNOTE1' });
      expect(writesIn(pd)).toEqual(['acknowledgeIncident', 'createNote', 'escalateIncident']);
      expect(pd.incident().assignments.map((assignment) => assignment.assignee.id)).toEqual([HUMAN.id]);
      expect(metrics.total(MetricName.incidentAcknowledged)).toBe(1);
      expect(metrics.values.filter((metric) => metric.name === MetricName.timeToAcknowledge)).toHaveLength(1);
      expect(await incidents.get(INCIDENT)).toMatchObject({ decision: 'escalated', acknowledgedByAgentAt: expect.any(String) });
    }
  });

  it('agent-first pages the level above the agent after the note', async () => {
    const pd = new FakePagerDuty([makeIncident({ assignments: toAgent })]);
    pd.oncalls = [oncall(BOT, 1), oncall(HUMAN, 2)];
    const { processor } = setup({ pd, config: NO_RULES });
    await processor.process(queued('incident.triggered'), plenty);
    expect(pd.calls.filter((call) => call.operation === 'escalateIncident').map((call) => call.detail)).toEqual([
      { mode: 'next_level', level: 2 },
    ]);
  });

  it('always: an incident PagerDuty already pages people for is acknowledged too, noted, then escalated', async () => {
    const pd = new FakePagerDuty([makeIncident({ assignments: toHuman })]);
    const { processor } = setup({ pd, config: config('always') });
    const outcome = await processor.process(queued('incident.triggered'), plenty);
    expect(outcome).toMatchObject({ status: 'triaged', decision: 'escalated' });
    expect(writesIn(pd)).toEqual(['acknowledgeIncident', 'createNote', 'escalateIncident']);
  });

  it('agent-first and may-keep leave an incident PagerDuty pages people for with them, note only', async () => {
    for (const setting of ['agent-first', 'may-keep']) {
      const pd = new FakePagerDuty([makeIncident({ assignments: toHuman })]);
      const { processor } = setup({ pd, config: config(setting) });
      const outcome = await processor.process(queued('incident.triggered'), plenty);
      expect(outcome).toMatchObject({ status: 'triaged', decision: 'left-with-on-call' });
      expect(writesIn(pd)).toEqual(['createNote']);
    }
  });

  it('observe and note record what act mode would do with an incident it leaves with the people paged: left with on-call', async () => {
    for (const mode of ['observe', 'note']) {
      const { pd, processor, incidents } = setup({ config: parseAgentConfig(JSON.stringify({ rollout: { mode } })) });
      const outcome = await processor.process(queued('incident.triggered'), plenty);
      expect(outcome).toMatchObject({ status: 'triaged', decision: 'left-with-on-call' });
      expect(await incidents.get(INCIDENT)).toMatchObject({ decision: 'left-with-on-call', rolloutMode: mode });
      expect(pd.count('escalateIncident') + pd.count('acknowledgeIncident')).toBe(0);
    }
  });

  it("a person's acknowledgement answered as 1002 is their takeover, never the agent's: nothing escalated, no ack recorded", async () => {
    const pd = new FakePagerDuty([makeIncident({ assignments: toAgent })]);
    pd.oncalls = [oncall(BOT, 1), oncall(HUMAN, 2)];
    const acknowledgeIncident = pd.acknowledgeIncident.bind(pd);
    // The person acknowledges between the agent's read and its acknowledgement, which PagerDuty then refuses (1002).
    pd.acknowledgeIncident = (incidentId) => {
      const incident = pd.incident(incidentId);
      incident.status = 'acknowledged';
      incident.acknowledgements = [{ at: '2026-03-01T10:00:30Z', acknowledger: HUMAN }];
      incident.assignments = toHuman;
      return acknowledgeIncident(incidentId);
    };
    const { processor, incidents, metrics, audit } = setup({ pd, config: NO_RULES });
    const outcome = await processor.process(queued('incident.triggered'), plenty);

    expect(outcome).toEqual({ status: 'triaged', decision: 'left-with-on-call', noteId: 'PNOTE1' });
    expect(writesIn(pd)).toEqual(['acknowledgeIncident', 'createNote']);
    expect((await incidents.get(INCIDENT))?.acknowledgedByAgentAt).toBeUndefined();
    expect(metrics.total(MetricName.incidentAcknowledged)).toBe(0);
    expect(audit.of('record').map((item) => item.detail)).toContainEqual(
      expect.stringContaining(`shows ${HUMAN.summary} as its acknowledger`),
    );
  });

  it("an 'already acknowledged' answer showing only the agent's acknowledgement (an earlier delivery's) is the agent's own", async () => {
    const pd = new FakePagerDuty([
      makeIncident({ status: 'acknowledged', assignments: toAgent, acknowledgements: [{ at: '2026-03-01T10:00:30Z', acknowledger: BOT }] }),
    ]);
    const { processor, incidents } = setup({ pd, config: NO_RULES });
    const outcome = await processor.process(queued('incident.triggered'), plenty);
    expect(outcome).toMatchObject({ status: 'triaged', decision: 'escalated' });
    expect((await incidents.get(INCIDENT))?.acknowledgedByAgentAt).toEqual(expect.any(String));
  });

  it('a person who acknowledges, reassigns or resolves the incident while the agent triages wins: no escalation, no resolve', async () => {
    const takeovers: [string, (incident: Incident) => void][] = [
      [
        'acknowledged',
        (incident) => {
          incident.acknowledgements = [...incident.acknowledgements, { at: '2026-03-01T10:02:00Z', acknowledger: HUMAN }];
        },
      ],
      ['reassigned', (incident) => void (incident.assignments = toHuman)],
      ['resolved', (incident) => void (incident.status = 'resolved')],
    ];
    for (const [what, takeOver] of takeovers) {
      for (const decision of ['escalate', 'resolve'] as const) {
        const pd = new FakePagerDuty([makeIncident({ assignments: toAgent })]);
        pd.afterCreateNote = () => takeOver(pd.incident());
        const { processor, incidents, audit } = setup({ pd, triage: () => hypothesis(decision) });
        const outcome = await processor.process(queued('incident.triggered'), plenty);

        expect([what, outcome]).toEqual([what, { status: 'triaged', decision: 'left-with-on-call', noteId: 'PNOTE1' }]);
        expect(writesIn(pd)).toEqual(['acknowledgeIncident', 'createNote']);
        expect(await incidents.get(INCIDENT)).toMatchObject({
          decision: 'left-with-on-call',
          finished: true,
          leftWithOnCallAt: expect.any(String),
        });
        expect(audit.of('triage')[0]?.detail).toContain('since the agent read it');
      }
    }
  });
});

describe("takenOverBefore: who the answer to the agent's acknowledgement shows", () => {
  const acknowledged = (...by: (typeof HUMAN)[]) =>
    makeIncident({ status: 'acknowledged', acknowledgements: by.map((acknowledger) => ({ at: '2026-03-01T10:01:00Z', acknowledger })) });

  it("is nobody when the agent's acknowledgement is listed, whatever the answer", () => {
    for (const alreadyDone of [true, false]) {
      expect(takenOverBefore(acknowledged(BOT), alreadyDone, BOT.id)).toBeNull();
      expect(takenOverBefore(acknowledged(HUMAN, BOT), alreadyDone, BOT.id)).toBeNull();
    }
  });

  it('is the person listed without the agent, on a 1002 and on a 200 that left the incident unchanged', () => {
    for (const alreadyDone of [true, false]) expect(takenOverBefore(acknowledged(HUMAN), alreadyDone, BOT.id)).toBe(HUMAN.summary);
  });

  it("never takes a 1002 listing nobody as the agent's own; a plain success listing nobody is", () => {
    expect(takenOverBefore(acknowledged(), true, BOT.id)).toBe('someone');
    expect(takenOverBefore(acknowledged(), false, BOT.id)).toBeNull();
  });
});

describe('acknowledgesOnStart', () => {
  it('follows the setting: agent-first takes what pages only the agent or a rule could keep, always takes all, may-keep what a rule could keep', () => {
    const table: [AcknowledgeSetting, boolean, boolean, boolean][] = [];
    for (const setting of ACKNOWLEDGE_SETTINGS) {
      for (const pagesOnlyAgent of [true, false]) {
        for (const ruleMayKeep of [true, false]) {
          table.push([setting, pagesOnlyAgent, ruleMayKeep, acknowledgesOnStart(setting, { pagesOnlyAgent, ruleMayKeep })]);
        }
      }
    }
    expect(table).toEqual([
      ['agent-first', true, true, true],
      ['agent-first', true, false, true],
      ['agent-first', false, true, true],
      ['agent-first', false, false, false],
      ['always', true, true, true],
      ['always', true, false, true],
      ['always', false, true, true],
      ['always', false, false, true],
      ['may-keep', true, true, true],
      ['may-keep', true, false, false],
      ['may-keep', false, true, true],
      ['may-keep', false, false, false],
    ]);
  });

  it('defaults to agent-first', () => {
    expect(parseAgentConfig(undefined).acknowledge).toBe('agent-first');
    expect(() => parseAgentConfig(JSON.stringify({ acknowledge: 'never' }))).toThrow(/acknowledge/);
  });
});

describe('EventProcessor: an acknowledged incident escalated, then redelivered', () => {
  it('repeats an unconfirmed escalation as it was instead of paging one level further', async () => {
    const pd = new FakePagerDuty();
    pd.oncalls = [oncall(HUMAN, 1)];
    const config = parseAgentConfig(
      JSON.stringify({
        escalation: { mode: 'next_level' },
        triage: { rules: [{ id: 'db-host', match: { alertFields: { host: '^db-' } }, hypothesis: 'db', confidence: 0.9, action: 'hold' }] },
      }),
    );
    const { processor, incidents } = setup({ pd, config });
    dieOnceAt(incidents, 'confirmEscalation');
    await expect(processor.process(queued('incident.triggered'), plenty)).rejects.toThrow('Lambda died');
    pd.oncalls = [oncall(HUMAN, 2)];
    await processor.process(queued('incident.triggered'), plenty);
    expect(pd.calls.filter((call) => call.operation === 'escalateIncident').map((call) => call.detail)).toEqual([
      { mode: 'next_level', level: 2 },
      { mode: 'next_level', level: 2 },
    ]);
    expect(pd.count('acknowledgeIncident')).toBe(1);
  });
});

describe('EventProcessor: the escalate path never reaches resolve', () => {
  it('does not resolve an incident the agent escalated before, even when a rule says resolve', async () => {
    const { pd, processor, incidents, audit } = setup({ triage: () => hypothesis('resolve') });
    await incidents.beginEscalation(INCIDENT, new Date('2026-03-01T09:00:00Z'));
    const outcome = await processor.process(queued('incident.reopened', { eventId: 'EVT-REOPEN' }), plenty);
    expect(outcome).toMatchObject({ status: 'triaged', decision: 'held' });
    expect(pd.count('resolveIncident')).toBe(0);
    expect(audit.of('resolve')).toHaveLength(0);
  });

  it('escalates when triage says escalate and makes no resolve call', async () => {
    const { pd, processor } = setup({ triage: () => hypothesis('escalate') });
    await processor.process(queued('incident.triggered'), plenty);
    expect(pd.count('escalateIncident')).toBe(1);
    expect(pd.count('resolveIncident')).toBe(0);
    expect(pd.incident().status).toBe('triggered');
  });

  it('raises the escalation level in next_level mode when the current level is known', async () => {
    const config = parseAgentConfig(JSON.stringify({ escalation: { mode: 'next_level' } }));
    const pd = new FakePagerDuty();
    pd.oncalls = [oncall(HUMAN, 1)];
    const { processor } = setup({ pd, config, triage: () => hypothesis('escalate') });
    await processor.process(queued('incident.triggered'), plenty);
    expect(pd.calls.find((call) => call.operation === 'escalateIncident')?.detail).toEqual({ mode: 'next_level', level: 2 });
  });
});

describe('EventProcessor: what the agent leaves alone', () => {
  it('records its own events without triaging them', async () => {
    const { pd, processor, audit, work } = setup();
    const outcome = await processor.process(queued('incident.acknowledged', { agentId: BOT.id }), plenty);
    const triggeredByBot = await processor.process(queued('incident.triggered', { eventId: 'EVT-BOT', agentId: BOT.id }), plenty);
    expect(outcome).toEqual({ status: 'recorded' });
    expect(triggeredByBot).toEqual({ status: 'recorded' });
    expect(pd.calls).toHaveLength(0);
    expect(audit.items.map((item) => item.detail)).toEqual([
      expect.stringContaining('caused by the agent'),
      expect.stringContaining('caused by the agent'),
    ]);
    expect((await work.get('EVT001'))?.workStatus).toBe('ignored');
  });

  it('records other non-triggering event types in the audit trail', async () => {
    const { pd, processor, audit } = setup();
    expect(await processor.process(queued('incident.acknowledged', { agentId: HUMAN.id }), plenty)).toEqual({ status: 'recorded' });
    expect(pd.calls).toHaveLength(0);
    expect(audit.items[0]).toMatchObject({ action: 'record', outcome: 'recorded', eventType: 'incident.acknowledged' });
  });

  it('re-applies the filters', async () => {
    const config = parseAgentConfig(JSON.stringify({ filters: { services: ['POTHER'] } }));
    const { pd, processor, audit } = setup({ config });
    expect(await processor.process(queued('incident.triggered'), plenty)).toEqual({ status: 'ignored' });
    expect(pd.calls).toHaveLength(0);
    expect(audit.items[0]).toMatchObject({ outcome: 'skipped', detail: expect.stringContaining('filtered out') });
  });

  it('leaves a resolved incident alone', async () => {
    const pd = new FakePagerDuty([makeIncident({ status: 'resolved' })]);
    pd.alerts.set(INCIDENT, [makeAlert({ status: 'resolved' })]);
    const { processor } = setup({ pd });
    expect(await processor.process(queued('incident.triggered'), plenty)).toEqual({ status: 'resolved-already' });
    expect(pd.calls.map((call) => call.operation)).toEqual(['listAlertsWithIncident']);
  });

  it('does not take over a human acknowledgement, but still triages and notes', async () => {
    const pd = new FakePagerDuty([
      makeIncident({ status: 'acknowledged', acknowledgements: [{ at: '2026-03-01T10:01:00Z', acknowledger: HUMAN }] }),
    ]);
    const { processor, incidents, metrics } = setup({ pd });
    const outcome = await processor.process(queued('incident.triggered'), plenty);
    expect(outcome).toEqual({ status: 'triaged', decision: 'left-with-on-call', noteId: 'PNOTE1' });
    expect(pd.count('acknowledgeIncident')).toBe(0);
    expect(pd.count('escalateIncident')).toBe(0);
    expect(pd.count('createNote')).toBe(1);
    expect(pd.notes.get(INCIDENT)?.[0]?.content).toContain('(hold)');
    expect((await incidents.get(INCIDENT))?.acknowledgedByAgentAt).toBeUndefined();
    expect(metrics.total(MetricName.incidentAcknowledged)).toBe(0);
  });
});

describe('EventProcessor: the optional Bedrock refinement', () => {
  const withBedrock = parseAgentConfig(JSON.stringify({ triage: { bedrock: { enabled: true } } }));

  it("keeps the escalation the refiner chose over the rules' hold: a refinement may only make the agent safer", async () => {
    const { deps, pd } = setup({ config: withBedrock, triage: () => hypothesis('hold') });
    deps.refine = async (rules) => ({
      hypothesis: {
        ...rules,
        confidence: 0.4,
        decision: 'escalate',
        decisionReason: 'confidence fell below the hold threshold',
        producedBy: 'bedrock',
      },
      refined: true,
    });
    const outcome = await new EventProcessor(deps).process(queued('incident.triggered'), plenty);
    expect(outcome).toMatchObject({ status: 'triaged', decision: 'escalated' });
    expect(pd.count('escalateIncident')).toBe(1);
  });

  it("never lets the refiner turn the rules' escalation into a hold", async () => {
    const { deps, pd } = setup({ config: withBedrock, triage: () => hypothesis('escalate') });
    deps.refine = async (rules) => ({
      hypothesis: { ...rules, summary: 'reworded', decision: 'hold', producedBy: 'bedrock' },
      refined: true,
    });
    const outcome = await new EventProcessor(deps).process(queued('incident.triggered'), plenty);
    expect(outcome).toMatchObject({ status: 'triaged', decision: 'escalated' });
    expect(pd.notes.get(INCIDENT)?.[0]?.content).toContain('reworded');
  });

  it("audits why the rules' hypothesis stood when the refinement fell back", async () => {
    const { deps, audit } = setup({ config: withBedrock, triage: () => hypothesis('escalate') });
    deps.refine = async (rules) => ({ hypothesis: rules, refined: false, fallbackReason: 'no answer within 4000 ms' });
    await new EventProcessor(deps).process(queued('incident.triggered'), plenty);
    expect(audit.items).toContainEqual(
      expect.objectContaining({ action: 'triage', outcome: 'skipped', detail: expect.stringContaining('no answer within 4000 ms') }),
    );
  });
});

describe('EventProcessor: failures', () => {
  it('returns a throttled event to the queue for ratelimit-reset seconds without sleeping', async () => {
    const pd = new FakePagerDuty().throttle('acknowledgeIncident', 7);
    const { processor, sleeps, work, metrics } = setup({ pd });
    const error = await processor.process(queued('incident.triggered'), plenty).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ThrottledError);
    expect((error as ThrottledError).retryAfterSeconds).toBe(7);
    expect(sleeps).toEqual([]);
    expect((await work.get('EVT001'))?.workStatus).toBe('released');
    expect(metrics.total(MetricName.throttled)).toBe(1);

    // The next delivery finishes the job, with one acknowledgement.
    await processor.process(queued('incident.triggered'), plenty);
    expect(pd.count('acknowledgeIncident', INCIDENT)).toBe(2);
    expect(pd.count('createNote')).toBe(1);
    expect(pd.count('escalateIncident')).toBe(1);
  });

  it('retries 5xx within the budget, with backoff, and counts the retries', async () => {
    const pd = new FakePagerDuty().fail('getIncident', 503, 2).drop('acknowledgeIncident', 1);
    const { processor, sleeps, work, metrics } = setup({ pd });
    const outcome = await processor.process(queued('incident.triggered'), plenty);
    expect(outcome).toMatchObject({ status: 'triaged' });
    expect(sleeps).toHaveLength(3);
    expect((await work.get('EVT001'))?.retriesUsed).toBe(3);
    expect(metrics.total(MetricName.retriesUsed)).toBe(3);
    expect(pd.count('acknowledgeIncident')).toBe(2);
  });

  it('gives the event back for a later delivery when an operation used its own retries', async () => {
    const pd = new FakePagerDuty().fail('getIncident', 500, 4);
    const { processor, work } = setup({ pd });
    const error = await processor.process(queued('incident.triggered'), plenty).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RetryLaterError);
    expect((await work.get('EVT001'))?.retriesUsed).toBe(3);
    expect(pd.count('acknowledgeIncident')).toBe(0);
  });

  it('leaves one note when a crash separates posting the note from recording it', async () => {
    const { pd, processor, incidents } = setup();
    dieOnceAt(incidents, 'recordNote');
    await expect(processor.process(queued('incident.triggered'), plenty)).rejects.toThrow('Lambda died');
    expect(pd.notes.get(INCIDENT)).toHaveLength(1);

    const outcome = await processor.process(queued('incident.triggered'), plenty);
    expect(outcome).toMatchObject({ status: 'triaged', noteId: 'PNOTE1' });
    expect(pd.notes.get(INCIDENT)).toHaveLength(1);
    expect(pd.count('createNote')).toBe(1);
    expect(pd.count('acknowledgeIncident')).toBe(1);
  });

  it('never posts a note twice after its answer was lost, though PagerDuty does not list it yet: the next delivery finds it', async () => {
    const pd = new FakePagerDuty().loseAnswer('createNote');
    pd.lagNoteLists = true;
    const { processor, work, incidents, audit } = setup({ pd });

    const error = await processor.process(queued('incident.triggered'), plenty).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(RetryLaterError);
    expect((error as RetryLaterError).cause).toBeInstanceOf(OutcomeUnknownError);
    expect(pd.count('createNote')).toBe(1);
    expect(pd.count('escalateIncident')).toBe(0);
    // Still the agent's and unfinished: the next delivery, or the dead-letter handback, takes it from here.
    expect(pd.incident().status).toBe('acknowledged');
    expect(await incidents.get(INCIDENT)).toMatchObject({ acknowledgedByAgentAt: expect.any(String), finished: false });
    expect((await work.get('EVT001'))?.workStatus).toBe('released');

    pd.settleNoteLists();
    const outcome = await processor.process(queued('incident.triggered'), plenty);

    expect(outcome).toMatchObject({ status: 'triaged', decision: 'escalated', noteId: 'PNOTE1' });
    expect(pd.notes.get(INCIDENT)).toHaveLength(1);
    expect(pd.count('createNote')).toBe(1);
    expect(pd.count('acknowledgeIncident')).toBe(1);
    expect(audit.of('note').map((item) => item.outcome)).toEqual(['failed', 'skipped']);
    expect((await work.get('EVT001'))?.retriesUsed).toBe(0);
  });

  it('posts a lost note again on the next delivery, after the dedup check, as one retry of the budget', async () => {
    const pd = new FakePagerDuty().drop('createNote');
    const { processor, work } = setup({ pd });
    await expect(processor.process(queued('incident.triggered'), plenty)).rejects.toBeInstanceOf(RetryLaterError);
    expect(pd.count('listNotes')).toBe(0);
    expect((await work.get('EVT001'))?.retriesUsed).toBe(0);

    const outcome = await processor.process(queued('incident.triggered'), plenty);

    expect(outcome).toMatchObject({ status: 'triaged', noteId: 'PNOTE1' });
    expect(pd.calls.filter((call) => ['listNotes', 'createNote'].includes(call.operation)).map((call) => call.operation)).toEqual([
      'createNote',
      'listNotes',
      'createNote',
    ]);
    expect(pd.notes.get(INCIDENT)).toHaveLength(1);
    expect((await work.get('EVT001'))?.retriesUsed).toBe(1);
  });

  it('hands back from the dead-letter queue an incident whose note lost its answer on the last receive', async () => {
    const pd = new FakePagerDuty().drop('createNote');
    const { processor, deps, audit } = setup({ pd });
    await expect(processor.process(queued('incident.triggered'), plenty)).rejects.toBeInstanceOf(RetryLaterError);

    const handback = new DeadLetterHandback({ ...deps, retry: { sleep: async () => undefined } });
    expect(await handback.handle(queued('incident.triggered'), plenty)).toBe('handed-back');
    expect(pd.incident().status).toBe('triggered');
    expect(pd.count('escalateIncident')).toBe(1);
    expect(audit.of('handback')).toHaveLength(1);
  });

  it('hands back an incident whose note lost its answer when the next delivery finds the budget spent', async () => {
    const pd = new FakePagerDuty().drop('createNote');
    const { processor, work, incidents, metrics } = setup({ pd });
    await expect(processor.process(queued('incident.triggered'), plenty)).rejects.toBeInstanceOf(RetryLaterError);
    for (let i = 0; i < 5; i += 1) await work.consumeRetry('EVT001');

    const outcome = await processor.process(queued('incident.triggered'), plenty);

    expect(outcome).toMatchObject({ status: 'handed-back', reason: expect.stringContaining('retry budget is spent') });
    expect(pd.count('escalateIncident')).toBe(1);
    expect(pd.incident().status).toBe('triggered');
    expect(pd.notes.get(INCIDENT)?.map((note) => note.content)).toEqual([expect.stringContaining('Handing PINC001 back')]);
    expect(await incidents.get(INCIDENT)).toMatchObject({ handedBackAt: expect.any(String), finished: true });
    expect(metrics.total(MetricName.gaveUp)).toBe(0);
  });

  it("records its acknowledgement and goes on when the acknowledgement's audit item cannot be completed", async () => {
    const { pd, processor, incidents, audit, metrics } = setup();
    const complete = audit.complete.bind(audit);
    audit.complete = async (handle, completion) => {
      if (handle.sk.includes('#acknowledge#')) throw new Error('ProvisionedThroughputExceededException: the audit table is throttled');
      return complete(handle, completion);
    };

    const outcome = await processor.process(queued('incident.triggered'), plenty);

    expect(outcome).toMatchObject({ status: 'triaged', decision: 'escalated' });
    expect(await incidents.get(INCIDENT)).toMatchObject({ acknowledgedByAgentAt: expect.any(String), finished: true });
    expect(pd.count('acknowledgeIncident')).toBe(1);
    expect(audit.of('acknowledge').map((item) => item.outcome)).toEqual(['intent']);
    expect(metrics.total(MetricName.auditIncomplete)).toBe(1);
    expect(metrics.total(MetricName.incidentAcknowledged)).toBe(1);
  });

  it('hands the incident back when the budget is spent after the agent acknowledged it', async () => {
    const pd = new FakePagerDuty().fail('createNote', 503, 3);
    const { processor, work, incidents, audit, metrics } = setup({ pd });
    await work.claim({ eventId: 'EVT001', leaseMs: -1 });
    for (let i = 0; i < 5; i += 1) await work.consumeRetry('EVT001');

    const outcome = await processor.process(queued('incident.triggered'), plenty);
    expect(outcome).toMatchObject({ status: 'handed-back', reason: expect.stringContaining('retry budget is spent') });
    expect(pd.count('escalateIncident')).toBe(1);
    expect(pd.incident().status).toBe('triggered');
    expect(pd.count('resolveIncident')).toBe(0);
    expect((await work.get('EVT001'))?.workStatus).toBe('handed-back');
    expect(await incidents.get(INCIDENT)).toMatchObject({ handedBackAt: expect.any(String), finished: true });
    expect(audit.of('handback')).toHaveLength(1);
    expect(audit.of('note').map((item) => item.outcome)).toEqual(['failed', 'failed']);
    expect(metrics.total(MetricName.handedBack)).toBe(1);
  });

  it('hands back when the Lambda runs out of time after acknowledging', async () => {
    const { pd, processor } = setup();
    let remaining = 50_000;
    const original = pd.acknowledgeIncident.bind(pd);
    pd.acknowledgeIncident = async (id) => {
      remaining = 5_000;
      return original(id);
    };
    const outcome = await processor.process(queued('incident.triggered'), { remainingTimeMs: () => remaining });
    expect(outcome).toMatchObject({ status: 'handed-back' });
    expect(pd.count('createNote')).toBe(1);
    expect(pd.notes.get(INCIDENT)?.[0]?.content).toContain('Handing PINC001 back');
  });

  it('gives up without handing back when the agent never acknowledged', async () => {
    const pd = new FakePagerDuty().fail('getIncident', 503, 2);
    const { processor, work, metrics } = setup({ pd });
    await work.claim({ eventId: 'EVT001', leaseMs: -1 });
    for (let i = 0; i < 5; i += 1) await work.consumeRetry('EVT001');
    expect(await processor.process(queued('incident.triggered'), plenty)).toEqual({ status: 'gave-up' });
    expect(pd.count('escalateIncident')).toBe(0);
    expect(metrics.total(MetricName.gaveUp)).toBe(1);
  });
});

describe('EventProcessor: claims', () => {
  it('defers while another attempt holds the lease, and takes over once it expired', async () => {
    const { processor, work, pd } = setup();
    const start = Date.now();
    await work.claim({ eventId: 'EVT001', leaseMs: 30_000, now: new Date(start) });

    const held = await processor.process(queued('incident.triggered'), plenty).catch((caught: unknown) => caught);
    expect(held).toBeInstanceOf(LeaseHeldError);
    expect((held as LeaseHeldError).retryAfterSeconds).toBeGreaterThan(0);
    expect(pd.calls).toHaveLength(0);

    await work.claim({ eventId: 'EVT002', leaseMs: -1, now: new Date(start) });
    const crashedThenRedelivered = await processor.process(queued('incident.triggered', { eventId: 'EVT002' }), plenty);
    expect(crashedThenRedelivered).toMatchObject({ status: 'triaged' });
    expect((await work.get('EVT002'))?.attempt).toBe(2);
  });
});

describe('EventProcessor: an acknowledgement whose answer was lost is never silenced', () => {
  const spendBudget = async (work: MemoryWorkLedger, eventId = 'EVT001') => {
    await work.claim({ eventId, leaseMs: -1 });
    for (let i = 0; i < 5; i += 1) await work.consumeRetry(eventId);
  };

  it('reads the incident once outside the spent budget and hands it back: PagerDuty shows the agent holding it', async () => {
    const pd = new FakePagerDuty().loseAnswer('acknowledgeIncident');
    const { processor, work, incidents, audit, metrics } = setup({ pd });
    await spendBudget(work);

    const outcome = await processor.process(queued('incident.triggered'), plenty);

    expect(outcome).toMatchObject({ status: 'handed-back', reason: expect.stringContaining('retry budget is spent') });
    expect(pd.count('acknowledgeIncident')).toBe(1);
    expect(pd.count('getIncident')).toBe(2);
    expect(pd.count('escalateIncident')).toBe(1);
    expect(pd.incident().status).toBe('triggered');
    expect(pd.notes.get(INCIDENT)?.[0]?.content).toContain('Handing PINC001 back');
    expect(await incidents.get(INCIDENT)).toMatchObject({ acknowledgedByAgentAt: expect.any(String), handedBackAt: expect.any(String) });
    expect((await work.get('EVT001'))?.workStatus).toBe('handed-back');
    expect(audit.items.some((item) => item.detail?.startsWith('gave up') === true)).toBe(false);
    expect(metrics.total(MetricName.gaveUp)).toBe(0);
    expect(metrics.total(MetricName.acknowledgementUnconfirmed)).toBe(1);
  });

  it('gives up only when the read shows the acknowledgement did not land (PagerDuty keeps paging)', async () => {
    const pd = new FakePagerDuty().drop('acknowledgeIncident');
    const { processor, work, metrics } = setup({ pd });
    await spendBudget(work);
    expect(await processor.process(queued('incident.triggered'), plenty)).toEqual({ status: 'gave-up' });
    expect(pd.incident().status).toBe('triggered');
    expect(pd.count('getIncident')).toBe(2);
    expect(pd.count('escalateIncident')).toBe(0);
    expect(metrics.total(MetricName.gaveUp)).toBe(1);
  });

  it('without time to read, fails the event instead of giving up; the next delivery or the dead-letter handback hands it back', async () => {
    const pd = new FakePagerDuty();
    const { processor, work, incidents, audit, deps } = setup({ pd });
    let remaining = 50_000;
    const acknowledge = pd.acknowledgeIncident.bind(pd);
    pd.acknowledgeIncident = async (id) => {
      remaining = 1_000;
      await acknowledge(id);
      throw new PagerDutyNetworkError('acknowledgeIncident', 'timeout', new Error('no answer within 5000 ms'));
    };

    const error = await processor
      .process(queued('incident.triggered'), { remainingTimeMs: () => remaining })
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(AcknowledgementUnknownError);
    expect((error as AcknowledgementUnknownError).retryAfterSeconds).toBeGreaterThan(0);
    expect((await work.get('EVT001'))?.workStatus).toBe('released');
    expect(await incidents.get(INCIDENT)).toMatchObject({ acknowledgementUnconfirmedBy: 'EVT001', finished: false });
    expect(pd.incident().status).toBe('acknowledged');

    // Dead-lettered from here: the handback reads PagerDuty's state and hands the incident back.
    const handback = new DeadLetterHandback({ ...deps, retry: { sleep: async () => undefined } });
    expect(await handback.handle(queued('incident.triggered'), plenty)).toBe('handed-back');
    expect(pd.incident().status).toBe('triggered');
    expect(audit.of('handback')).toHaveLength(1);
  });

  it('hands back when an earlier delivery died between the acknowledgement and recording it, and the incident cannot be read now', async () => {
    const pd = new FakePagerDuty();
    const { processor, work, incidents, audit, metrics } = setup({ pd });
    dieOnceAt(incidents, 'markAcknowledged');
    await expect(processor.process(queued('incident.triggered'), plenty)).rejects.toThrow('Lambda died');
    expect(pd.incident().status).toBe('acknowledged');

    // The next delivery's read of the incident fails with the budget spent: the ledger alone cannot say who holds it.
    for (let i = 0; i < 5; i += 1) await work.consumeRetry('EVT001');
    pd.fail('getIncident', 503, 1);
    const outcome = await processor.process(queued('incident.triggered'), plenty);

    expect(outcome).toMatchObject({ status: 'handed-back', reason: expect.stringContaining('retry budget is spent') });
    expect(pd.count('acknowledgeIncident')).toBe(1);
    expect(pd.count('escalateIncident')).toBe(1);
    expect(pd.incident().status).toBe('triggered');
    expect(pd.notes.get(INCIDENT)?.[0]?.content).toContain('Handing PINC001 back');
    expect(await incidents.get(INCIDENT)).toMatchObject({ handedBackAt: expect.any(String), finished: true });
    expect(audit.items.some((item) => item.detail?.startsWith('gave up') === true)).toBe(false);
    expect(metrics.total(MetricName.gaveUp)).toBe(0);
  });

  it('hands back when an earlier delivery recorded its acknowledgement and died, and the incident cannot be read now', async () => {
    const pd = new FakePagerDuty();
    const { processor, work, incidents, metrics } = setup({ pd });
    incidents.reserveNote = async () => {
      throw new Error('Lambda died');
    };
    await expect(processor.process(queued('incident.triggered'), plenty)).rejects.toThrow('Lambda died');
    expect(await incidents.get(INCIDENT)).toMatchObject({ acknowledgedByAgentAt: expect.any(String), triggerEventId: 'EVT001' });

    for (let i = 0; i < 5; i += 1) await work.consumeRetry('EVT001');
    pd.fail('getIncident', 503, 1);
    const outcome = await processor.process(queued('incident.triggered'), plenty);

    expect(outcome).toMatchObject({ status: 'handed-back', reason: expect.stringContaining('retry budget is spent') });
    expect(pd.count('escalateIncident')).toBe(1);
    expect(pd.incident().status).toBe('triggered');
    expect(metrics.total(MetricName.gaveUp)).toBe(0);
  });

  it('hands back when the budget runs out on an escalation whose answer was lost, escalating again on its last chance', async () => {
    const pd = new FakePagerDuty().loseAnswer('escalateIncident');
    const { processor, work, incidents } = setup({ pd, triage: () => hypothesis('escalate') });
    await spendBudget(work);
    const outcome = await processor.process(queued('incident.triggered'), plenty);
    expect(outcome).toMatchObject({ status: 'handed-back' });
    expect(pd.count('escalateIncident')).toBe(2);
    expect(pd.incident().status).toBe('triggered');
    expect(await incidents.get(INCIDENT)).toMatchObject({ handedBackAt: expect.any(String), finished: true });
  });
});

describe('EventProcessor: the retry cap counts across deliveries', () => {
  it('attempts the acknowledgement at most 1 + 3 times when every PagerDuty write fails through 8 receives', async () => {
    const pd = new FakePagerDuty().fail('acknowledgeIncident', 500, 50).fail('createNote', 500, 50).fail('escalateIncident', 500, 50);
    const { processor, work, metrics } = setup({ pd });
    const outcomes: unknown[] = [];
    for (let receive = 1; receive <= 8; receive += 1) {
      outcomes.push(await processor.process(queued('incident.triggered'), plenty).catch((caught: unknown) => caught));
    }
    expect(pd.count('acknowledgeIncident')).toBe(4);
    expect((await work.get('EVT001'))?.retriesUsed).toBe(3);
    expect(metrics.total(MetricName.retriesUsed)).toBe(3);
    expect(outcomes[0]).toBeInstanceOf(RetryLaterError);
    expect(outcomes[1]).toEqual({ status: 'gave-up' });
    expect(outcomes.slice(2)).toEqual(Array.from({ length: 6 }, () => ({ status: 'already-finished' })));
    expect(pd.incident().status).toBe('triggered');
  });

  it('charges the first attempt of a read that failed in an earlier delivery, so its 3 retries hold across deliveries', async () => {
    const pd = new FakePagerDuty().fail('getIncident', 500, 4);
    const { processor, work } = setup({ pd });
    await expect(processor.process(queued('incident.triggered'), plenty)).rejects.toBeInstanceOf(RetryLaterError);
    expect(await work.get('EVT001')).toMatchObject({ retriesUsed: 3, 'retries#read incident': 3 });
    expect(await processor.process(queued('incident.triggered'), plenty)).toMatchObject({ status: 'gave-up' });
    expect(pd.count('getIncident')).toBe(4);
    expect((await work.get('EVT001'))?.retriesUsed).toBe(3);
  });
});

describe('EventProcessor: what each retry may be spent on, per webhook', () => {
  it('lets optional context reads spend at most 2 of the 5, so the note and the escalation still get theirs', async () => {
    const pd = new FakePagerDuty()
      .fail('listIncidents', 500, 50)
      .fail('listRelatedChangeEvents', 500, 50)
      .fail('createNote', 500, 1)
      .fail('escalateIncident', 500, 2);
    pd.oncalls = [oncall(BOT, 1), oncall(HUMAN, 2)];
    const { processor, work } = setup({ pd });
    expect(await processor.process(queued('incident.triggered'), plenty)).toMatchObject({ status: 'triaged', decision: 'escalated' });
    expect(await work.get('EVT001')).toMatchObject({ retriesUsed: 5, optionalReadRetries: 2 });
    expect(pd.notes.get(INCIDENT)).toHaveLength(1);
    expect(pd.incident().assignments.map((assignment) => assignment.assignee.id)).toEqual([HUMAN.id]);
  });

  it('gives an incident it acknowledged one last-chance handback per webhook, then leaves it to the dead-letter handback', async () => {
    const pd = new FakePagerDuty().fail('createNote', 500, 50).fail('escalateIncident', 500, 50);
    pd.oncalls = [oncall(BOT, 1), oncall(HUMAN, 2)];
    const { processor, metrics } = setup({ pd });
    const outcomes: unknown[] = [];
    for (let receive = 1; receive <= 8; receive += 1) {
      outcomes.push(await processor.process(queued('incident.triggered'), plenty).catch((caught: unknown) => caught));
    }
    expect(pd.count('acknowledgeIncident')).toBe(1);
    expect(outcomes[0]).toBeInstanceOf(RetryLaterError);
    expect(outcomes.slice(1).every((outcome) => outcome instanceof RetryBudgetExhaustedError)).toBe(true);
    // The note's 1 retry across deliveries, then the last chance's single escalation attempt, and nothing more.
    expect(pd.count('escalateIncident')).toBe(1);
    expect(pd.count('createNote')).toBe(3);
    expect(metrics.total(MetricName.nobodyPaged)).toBe(1);
  });
});

describe("the worker's batch handler: an event it has no time for", () => {
  const sqsMock = mockClient(SQSClient);
  afterAll(() => sqsMock.restore());

  const sqsRecord = (event: QueuedEvent): SQSRecord => ({
    messageId: `m-${event.eventId}`,
    receiptHandle: `rh-${event.eventId}`,
    body: encodeQueuedEvent(event),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '0',
      SenderId: 's',
      ApproximateFirstReceiveTimestamp: '0',
      MessageGroupId: event.incidentId ?? event.eventId,
      MessageDeduplicationId: event.eventId,
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:local-events.fifo',
    awsRegion: 'us-east-1',
  });

  it('goes back to the queue untouched, keeping its place, and is triaged on the next delivery', async () => {
    sqsMock.reset();
    const pd = new FakePagerDuty([makeIncident(), makeIncident({ id: 'PINC002' })]);
    const { deps, work, metrics } = setup({ pd });
    let remainingMs = 50_000;
    // The first event's escalation ends its work: the batch's last record is reached with 7.5 s left.
    const escalate = pd.escalateIncident.bind(pd);
    pd.escalateIncident = async (...args) => {
      remainingMs = 7_500;
      return escalate(...args);
    };
    const logger = { info: jest.fn(), warn: jest.fn(), error: jest.fn() };
    const handler = createWorkerHandler({
      processor: new EventProcessor(deps),
      sqs: new SQSClient({}),
      queueUrl: 'http://127.0.0.1:1/000000000000/local-events.fifo',
      logger,
      metrics,
    });
    const first = queued('incident.triggered', { eventId: 'EVT-A', incidentId: INCIDENT });
    const last = queued('incident.triggered', { eventId: 'EVT-B', incidentId: 'PINC002' });
    const context = { getRemainingTimeInMillis: () => remainingMs } as Context;

    const response = await handler({ Records: [sqsRecord(first), sqsRecord(last)] }, context);

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-EVT-B' }]);
    expect(pd.calls.filter((call) => call.incidentId === 'PINC002')).toHaveLength(0);
    expect(await work.get('EVT-B')).toBeUndefined();
    expect(metrics.total(MetricName.deferredForLackOfTime)).toBe(1);
    expect(metrics.total(MetricName.gaveUp)).toBe(0);
    expect(metrics.total(MetricName.workerError)).toBe(0);
    expect(sqsMock.calls().map((call) => call.args[0].input)).toEqual([
      expect.objectContaining({ ReceiptHandle: 'rh-EVT-B', VisibilityTimeout: 0 }),
    ]);

    remainingMs = 50_000;
    const next = await handler({ Records: [sqsRecord(last)] }, context);
    expect(next.batchItemFailures).toEqual([]);
    expect(pd.count('acknowledgeIncident', 'PINC002')).toBe(1);
    expect(pd.notes.get('PINC002')).toHaveLength(1);
    expect((await work.get('EVT-B'))?.workStatus).toBe('done');
  });

  it('is deferred before it is claimed or any budget is spent', async () => {
    const { processor, work, pd } = setup();
    const error = await processor
      .process(queued('incident.triggered'), { remainingTimeMs: () => 7_500 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NoTimeToStartError);
    expect(error).toMatchObject({ retryAfterSeconds: 0, remainingMs: 7_500, minRemainingMs: 8_000 });
    expect(await work.get('EVT001')).toBeUndefined();
    expect(pd.calls).toHaveLength(0);
  });
});

describe("EventProcessor: the rules' trust, read once per incident and given to mayKeep and triage", () => {
  const HOLD_ALL = parseAgentConfig(
    JSON.stringify({ triage: { rules: [{ id: 'all', match: {}, hypothesis: 'known', confidence: 0.9, action: 'hold' }] } }),
  );
  const demotion: Demotion = { ruleId: 'all', demotedAt: '2026-03-01T00:00:00Z', reason: 'a hold was contradicted', incidentId: 'PBAD' };

  function withTrust(demoted: Map<string, Demotion>) {
    const harness = setup({ config: HOLD_ALL });
    const reads: string[] = [];
    const processor = new EventProcessor({
      ...harness.deps,
      ruleTrust: async (incidentId) => {
        reads.push(incidentId);
        return ruleTrustFor(incidentId, demoted, { holdout: 0 });
      },
      triage: (context, trust) => triageIncident(context, HOLD_ALL.triage, { trust }),
      mayKeep: (incident, trust) => rulesMayKeep(HOLD_ALL.triage.rules, incident, HOLD_ALL.triage.holdMinConfidence, trust),
    });
    return { ...harness, processor, reads };
  }

  it('a trusted rule acknowledges and holds', async () => {
    const { pd, processor, reads } = withTrust(new Map());
    expect(await processor.process(queued('incident.triggered'), plenty)).toMatchObject({ status: 'triaged', decision: 'held' });
    expect(pd.count('acknowledgeIncident')).toBe(1);
    expect(reads).toEqual([INCIDENT]);
  });

  it('a demoted rule neither acknowledges nor holds: the incident stays with on-call with the note saying why', async () => {
    const { pd, processor, audit, incidents, reads } = withTrust(new Map([['all', demotion]]));
    expect(await processor.process(queued('incident.triggered'), plenty)).toMatchObject({
      status: 'triaged',
      decision: 'left-with-on-call',
    });
    expect(pd.count('acknowledgeIncident')).toBe(0);
    expect(pd.count('createNote')).toBe(1);
    expect(reads).toEqual([INCIDENT]);
    expect(audit.of('triage')[0]?.detail).toContain('pd-agent rule promote all');
    expect((await incidents.get(INCIDENT))?.cause).toMatchObject({ ruleId: 'all', withheld: 'demoted' });
  });

  it('a failed read of the demotions sends the event back before anything is written to PagerDuty', async () => {
    const { pd, deps } = setup({ config: HOLD_ALL });
    const processor = new EventProcessor({
      ...deps,
      ruleTrust: () => Promise.reject(new Error('state table throttled')),
    });
    await expect(processor.process(queued('incident.triggered'), plenty)).rejects.toThrow('state table throttled');
    expect(pd.calls.filter((call) => !call.operation.startsWith('list') && call.operation !== 'getIncident')).toEqual([]);
  });
});
