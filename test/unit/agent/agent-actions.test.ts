import { AgentActions } from '../../../lib/agent/agent-actions';
import { OperationFailedError, RetryPolicy, localBudget } from '../../../lib/agent/retry-policy';
import type { AuditHandle } from '../../../lib/audit/audit-log';
import { parseAgentConfig } from '../../../lib/config/agent-config';
import { MetricName } from '../../../lib/observability/telemetry';
import { MemoryAuditTrail, MemoryIncidentLedger, RecordingMetrics, testNotes } from '../../support/fake-agent-state';
import { BOT, FakePagerDuty, makeIncident } from '../../support/fake-pagerduty';

const INCIDENT = 'PINC001';
const throttled = new Error('ProvisionedThroughputExceededException: the audit table is throttled');

/** Actions whose audit trail cannot complete the items of `failingAction` (their intents are written). */
function setup(failingAction: string) {
  const pd = new FakePagerDuty([
    makeIncident({ status: 'acknowledged', acknowledgements: [{ at: '2026-03-01T10:00:01Z', acknowledger: BOT }] }),
  ]);
  const audit = new MemoryAuditTrail();
  const complete = audit.complete.bind(audit);
  audit.complete = async (handle: AuditHandle, completion) => {
    if (handle.sk.includes(`#${failingAction}#`)) throw throttled;
    return complete(handle, completion);
  };
  const incidents = new MemoryIncidentLedger();
  const metrics = new RecordingMetrics();
  const actions = new AgentActions({
    api: pd,
    audit,
    incidentLedger: incidents,
    retry: new RetryPolicy({ budget: localBudget(5), remainingTimeMs: () => 50_000, sleep: async () => undefined }),
    notes: testNotes,
    botUserId: 'PBOT001',
    env: 'test',
    settings: parseAgentConfig(undefined),
    subject: { incidentId: INCIDENT, eventId: 'EVT001', eventType: 'incident.triggered' },
    metrics,
  });
  return { pd, audit, incidents, metrics, actions };
}

describe('AgentActions: an audit item that cannot be completed', () => {
  it("returns the call's result, counts the failure and leaves the intent showing the attempt", async () => {
    const { pd, audit, metrics, actions } = setup('resolve');
    const resolved = await actions.resolve('cleared');
    expect(resolved.response.value.status).toBe('resolved');
    expect(pd.incident().status).toBe('resolved');
    expect(audit.of('resolve').map((item) => item.outcome)).toEqual(['intent']);
    expect(metrics.total(MetricName.auditIncomplete)).toBe(1);
  });

  it("rethrows the call's own error, not the audit's", async () => {
    const { pd, audit, metrics, actions } = setup('resolve');
    pd.fail('resolveIncident', 400);
    const error = await actions.resolve('cleared').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OperationFailedError);
    expect(error).toMatchObject({ httpStatus: 400 });
    expect(audit.of('resolve').map((item) => item.outcome)).toEqual(['intent']);
    expect(metrics.total(MetricName.auditIncomplete)).toBe(1);
  });

  it('still posts the handback note and marks the incident handed back after the escalation went through', async () => {
    const { pd, audit, incidents, metrics, actions } = setup('escalate');
    await actions.handBack(pd.incident(), 'the retry budget is spent');
    expect(pd.incident().status).toBe('triggered');
    expect(pd.notes.get(INCIDENT)?.map((note) => note.content)).toEqual([expect.stringContaining('Handing PINC001 back')]);
    expect(await incidents.get(INCIDENT)).toMatchObject({ handedBackAt: expect.any(String), finished: true });
    expect(audit.of('handback')).toHaveLength(1);
    expect(metrics.total(MetricName.auditIncomplete)).toBe(1);
  });
});
