import { AgentActions, onCallPeopleAbove, type FallbackPaging } from '../../../lib/agent/agent-actions';
import { RetryPolicy, RetryBudgetExhaustedError, localBudget } from '../../../lib/agent/retry-policy';
import { parseAgentConfig } from '../../../lib/config/agent-config';
import { MetricName } from '../../../lib/observability/telemetry';
import type { Oncall } from '../../../lib/pagerduty/types';
import { MemoryAuditTrail, MemoryIncidentLedger, RecordingMetrics, testNotes } from '../../support/fake-agent-state';
import { BOT, FakePagerDuty, HUMAN, makeIncident } from '../../support/fake-pagerduty';

/**
 * The escalation chain (docs/how-it-works.md "The escalation chain"): whatever PagerDuty refuses, an incident the
 * agent escalates ends with a person paged (by the escalation, a direct assignment, or the fallback service's alert),
 * or with NobodyPaged counted and audited.
 */
const INCIDENT = 'PINC001';
const POLICY = { id: 'PEP0001', type: 'escalation_policy_reference' };
const SECOND = { id: 'PUSR002', type: 'user_reference', summary: 'Bo Second' };
const FALLBACK_KEY = 'f'.repeat(32);

const oncall = (user: typeof BOT, level: number, policy = POLICY): Oncall => ({
  user,
  escalation_level: level,
  escalation_policy: policy,
  schedule: null,
  start: null,
  end: null,
});

/** An agent-first policy: the agent at level 1, two people at level 2; the incident acknowledged by the agent. */
function setup(options: { fallback?: boolean; budget?: number } = {}) {
  const pd = new FakePagerDuty([
    makeIncident({
      status: 'acknowledged',
      assignments: [{ at: '2026-03-01T10:00:01Z', assignee: BOT }],
      acknowledgements: [{ at: '2026-03-01T10:00:01Z', acknowledger: BOT }],
    }),
  ]);
  pd.oncalls = [oncall(BOT, 1), oncall(HUMAN, 2), oncall(SECOND, 2)];
  const audit = new MemoryAuditTrail();
  const incidents = new MemoryIncidentLedger();
  const metrics = new RecordingMetrics();
  const fallbackPaging: FallbackPaging | undefined =
    options.fallback === false ? undefined : { events: pd.eventsApi, routingKey: FALLBACK_KEY };
  const actions = new AgentActions({
    api: pd,
    audit,
    incidentLedger: incidents,
    retry: new RetryPolicy({ budget: localBudget(options.budget ?? 5), remainingTimeMs: () => 50_000, sleep: async () => undefined }),
    notes: testNotes,
    botUserId: BOT.id,
    env: 'test',
    settings: parseAgentConfig(undefined),
    subject: { incidentId: INCIDENT, eventId: 'EVT001', eventType: 'incident.triggered' },
    metrics,
    fallbackPaging,
  });
  return { pd, audit, incidents, metrics, actions };
}

const writes = (pd: FakePagerDuty) =>
  pd.calls
    .filter((call) => ['escalateIncident', 'assignIncident', 'sendEvent'].includes(call.operation))
    .map((call) => ({ operation: call.operation, detail: call.detail }));

describe('escalate: the level above the agent', () => {
  it('pages the next level and stops there when PagerDuty assigns a person', async () => {
    const { pd, actions, metrics } = setup();
    const outcome = await actions.escalate(pd.incident(), [], 'no rule keeps it', { forEvent: 'EVT001' });
    expect(outcome.pagedBy).toBe('escalation');
    expect(writes(pd)).toEqual([{ operation: 'escalateIncident', detail: { mode: 'next_level', level: 2 } }]);
    expect(metrics.total(MetricName.nobodyPaged)).toBe(0);
  });

  it('never reassigns to the policy when PagerDuty refuses the level: it assigns the next level people directly', async () => {
    const { pd, actions, audit, incidents } = setup();
    pd.fail('escalateIncident', 400, 1, 1006);
    const outcome = await actions.escalate(pd.incident(), [], 'no rule keeps it', { forEvent: 'EVT001' });
    expect(outcome.pagedBy).toBe('assignment');
    expect(writes(pd)).toEqual([
      { operation: 'escalateIncident', detail: { mode: 'next_level', level: 2 } },
      { operation: 'assignIncident', detail: [HUMAN.id, SECOND.id] },
    ]);
    expect(pd.incident().assignments.map((assignment) => assignment.assignee.id)).toEqual([HUMAN.id, SECOND.id]);
    expect(
      audit
        .of('escalate')
        .filter((item) => item.outcome !== 'intent')
        .map((item) => item.outcome),
    ).toEqual(['failed', 'succeeded']);
    expect((await incidents.get(INCIDENT))?.escalationConfirmedFor).toBe('EVT001');
  });

  it('assigns people directly when an accepted escalation lands on the agent again', async () => {
    const { pd, actions } = setup();
    pd.escalationPages = [BOT];
    const outcome = await actions.escalate(pd.incident(), [], 'no rule keeps it');
    expect(outcome.pagedBy).toBe('assignment');
    expect(writes(pd).map((write) => write.operation)).toEqual(['escalateIncident', 'assignIncident']);
  });
});

describe('escalate: the fallback service', () => {
  it('alerts the fallback service when the assignment is refused too, and counts and audits it', async () => {
    const { pd, actions, audit, metrics, incidents } = setup();
    pd.fail('escalateIncident', 400, 1, 1006).fail('assignIncident', 403, 1);
    const outcome = await actions.escalate(pd.incident(), [], 'no rule keeps it', { forEvent: 'EVT001' });
    expect(outcome.pagedBy).toBe('fallback-alert');
    expect(pd.events).toEqual([
      expect.objectContaining({
        routingKey: FALLBACK_KEY,
        action: 'trigger',
        dedupKey: `pd-agent/test/nobody-paged/${INCIDENT}`,
        severity: 'critical',
        summary: expect.stringContaining('"High error rate on checkout"'),
      }),
    ]);
    expect(metrics.total(MetricName.nobodyPaged)).toBe(1);
    expect(audit.of('events-api').find((item) => item.outcome === 'succeeded')?.detail).toMatch(/refused the direct assignment/);
    expect((await incidents.get(INCIDENT))?.escalationConfirmedFor).toBe('EVT001');
  });

  it('without a fallback key says nobody is paged, what to configure, and leaves the escalation unconfirmed', async () => {
    const { pd, actions, audit, metrics, incidents } = setup({ fallback: false });
    pd.fail('escalateIncident', 400, 1, 1006).fail('assignIncident', 400, 1);
    const outcome = await actions.escalate(pd.incident(), [], 'no rule keeps it', { forEvent: 'EVT001' });
    expect(outcome.pagedBy).toBe('nobody');
    expect(metrics.total(MetricName.nobodyPaged)).toBe(1);
    expect(audit.of('escalate').at(-1)).toMatchObject({ outcome: 'failed', detail: expect.stringContaining('set fallbackRoutingKey') });
    expect((await incidents.get(INCIDENT))?.escalationConfirmedFor).toBeUndefined();
  });

  it('goes straight to the fallback when nobody but the agent is on call above it', async () => {
    const { pd, actions } = setup();
    pd.oncalls = [oncall(BOT, 1)];
    pd.escalationPages = [BOT];
    const outcome = await actions.escalate(pd.incident(), [], 'no rule keeps it');
    expect(outcome.pagedBy).toBe('fallback-alert');
    expect(pd.count('assignIncident')).toBe(0);
  });

  it('in a handback whose escalation fails for good, alerts the fallback, still posts the note, then throws', async () => {
    const { pd, actions, incidents } = setup({ budget: 0 });
    pd.fail('escalateIncident', 503, 1);
    const error = await actions.handBack(pd.incident(), 'the retry budget is spent').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RetryBudgetExhaustedError);
    expect(pd.events).toHaveLength(1);
    expect(pd.notes.get(INCIDENT)?.map((note) => note.content)).toEqual([expect.stringContaining('Handing PINC001 back')]);
    expect((await incidents.get(INCIDENT))?.handedBackAt).toBeUndefined();
  });
});

describe('handBack in a mode that writes no notes (observe)', () => {
  it('escalates above the agent, posts no note, and says so in the audit trail', async () => {
    const { pd, actions, audit } = setup();
    await actions.handBack(pd.incident(), 'the retry budget is spent', { note: false });
    expect(writes(pd)).toEqual([{ operation: 'escalateIncident', detail: { mode: 'next_level', level: 2 } }]);
    expect(pd.count('createNote')).toBe(0);
    expect(audit.of('handback').at(-1)?.detail).toMatch(/no handback note: the rollout mode writes no notes/);
  });
});

describe('onCallPeopleAbove', () => {
  it("takes the lowest level above every one of the agent's levels, without the agent", () => {
    const other = { id: 'PEP0002', type: 'escalation_policy_reference' };
    const oncalls = [oncall(BOT, 1), oncall(BOT, 2), oncall(HUMAN, 1), oncall(SECOND, 3), oncall(HUMAN, 4), oncall(HUMAN, 3, other)];
    expect(onCallPeopleAbove(oncalls, POLICY.id, BOT.id)).toEqual([SECOND.id]);
    expect(onCallPeopleAbove([oncall(HUMAN, 2), oncall(SECOND, 1)], POLICY.id, BOT.id)).toEqual([SECOND.id]);
    expect(onCallPeopleAbove([oncall(BOT, 1)], POLICY.id, BOT.id)).toEqual([]);
  });
});

describe('escalate: a fallback page that cannot be escalated either', () => {
  it('sends no further fallback alert (each would open another incident) and says to filter the fallback service out', async () => {
    const { pd, actions, audit } = setup();
    pd.incident().incident_key = `pd-agent/test/nobody-paged/PINC999`;
    pd.fail('escalateIncident', 400, 1, 1006).fail('assignIncident', 403, 1);
    const outcome = await actions.escalate(pd.incident(), [], 'no rule keeps it');
    expect(outcome.pagedBy).toBe('nobody');
    expect(pd.events).toEqual([]);
    expect(audit.of('escalate').at(-1)?.detail).toMatch(/itself a fallback page.*keep the fallback service out of the agent's filters/);
  });
});
