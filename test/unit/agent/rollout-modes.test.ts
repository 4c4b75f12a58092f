import { EventProcessor, type ProcessEventDeps } from '../../../lib/agent/process-event';
import { parseAgentConfig, type AgentConfig } from '../../../lib/config/agent-config';
import type { QueuedEvent } from '../../../lib/queue/queued-event';
import { samplePoint } from '../../../lib/rollout/rollout';
import { triageIncident } from '../../../lib/triage/triage';
import { MemoryAuditTrail, MemoryIncidentLedger, MemoryWorkLedger, RecordingMetrics, testNotes } from '../../support/fake-agent-state';
import type { Incident } from '../../../lib/pagerduty/types';
import { BOT, FakePagerDuty, HUMAN, makeIncident } from '../../support/fake-pagerduty';

const SERVICE = 'PSVC001';
const WRITES = ['acknowledgeIncident', 'createNote', 'escalateIncident', 'resolveIncident'] as const;
const plenty = { remainingTimeMs: () => 50_000 };

function triggered(incidentId: string, eventId = `EVT-${incidentId}`): QueuedEvent {
  const body = {
    event: {
      id: eventId,
      event_type: 'incident.triggered',
      resource_type: 'incident',
      occurred_at: new Date(Date.now() - 1000).toISOString(),
      agent: { id: 'PMONITOR', type: 'service_reference' },
      data: {
        id: incidentId,
        type: 'incident',
        number: 1,
        status: 'triggered',
        title: 'High error rate on checkout',
        urgency: 'high',
        service: { id: SERVICE, type: 'service_reference', summary: 'checkout' },
        escalation_policy: { id: 'PEP0001', type: 'escalation_policy_reference' },
        html_url: `https://sandbox.pagerduty.com/incidents/${incidentId}`,
      },
    },
  };
  return {
    version: 1,
    eventId,
    eventType: 'incident.triggered',
    incidentId,
    rawBodyBase64: Buffer.from(JSON.stringify(body)).toString('base64'),
    webhookId: null,
    subscriptionId: null,
    receivedAt: new Date().toISOString(),
  };
}

function setup(rollout: unknown, incidentId = 'PINC001', assignments?: Incident['assignments']) {
  const pd = new FakePagerDuty();
  pd.incidents.set(
    incidentId,
    makeIncident({
      id: incidentId,
      service: { id: SERVICE, type: 'service_reference', summary: 'checkout' },
      ...(assignments === undefined ? {} : { assignments }),
    }),
  );
  const config: AgentConfig = parseAgentConfig(JSON.stringify({ rollout }));
  const audit = new MemoryAuditTrail();
  const incidents = new MemoryIncidentLedger();
  const deps: ProcessEventDeps = {
    env: 'test',
    settings: config,
    connect: async () => ({ api: pd, events: pd.eventsApi, botUserId: BOT.id }),
    workLedger: new MemoryWorkLedger(),
    incidentLedger: incidents,
    audit,
    notes: testNotes,
    triage: (context) => triageIncident(context, config.triage),
    metrics: new RecordingMetrics(),
    retry: { sleep: async () => undefined, random: () => 0.5 },
  };
  return { pd, audit, incidents, processor: new EventProcessor(deps) };
}

const writesOf = (pd: FakePagerDuty) => Object.fromEntries(WRITES.map((operation) => [operation, pd.count(operation)]));

describe('rollout modes in the worker', () => {
  it('observe: triages in full, writes the note and the decision to the audit trail, and nothing to PagerDuty', async () => {
    const { pd, audit, incidents, processor } = setup({ mode: 'observe' });
    const outcome = await processor.process(triggered('PINC001'), plenty);

    expect(outcome).toEqual({ status: 'triaged', decision: 'escalated', noteId: null });
    expect(writesOf(pd)).toEqual({ acknowledgeIncident: 0, createNote: 0, escalateIncident: 0, resolveIncident: 0 });
    const observedNote = audit.of('note')[0];
    expect(observedNote).toMatchObject({ outcome: 'skipped' });
    expect(observedNote?.detail).toContain('observe mode');
    expect(observedNote?.detail).toContain('ref pda:test:PINC001:EVT-PINC001');
    expect(audit.of('triage')[0]?.detail).toContain('Not carried out: observe mode');
    expect(await incidents.get('PINC001')).toMatchObject({ decision: 'escalated', rolloutMode: 'observe', finished: true });
    // Nothing may claim the agent acknowledged: a later stop or the dead-letter handback would escalate on that word.
    expect((await incidents.get('PINC001'))?.acknowledgedByAgentAt).toBeUndefined();
  });

  it('note: posts the note once and nothing else: no acknowledgement, escalation, hold or resolve', async () => {
    const { pd, incidents, processor } = setup({ mode: 'note' });
    const outcome = await processor.process(triggered('PINC001'), plenty);

    expect(outcome).toMatchObject({ status: 'triaged', decision: 'escalated', noteId: 'PNOTE1' });
    expect(writesOf(pd)).toEqual({ acknowledgeIncident: 0, createNote: 1, escalateIncident: 0, resolveIncident: 0 });
    expect(await incidents.get('PINC001')).toMatchObject({ rolloutMode: 'note' });
  });

  describe('an incident PagerDuty assigned to the agent alone, or to nobody (a policy that pages the agent first)', () => {
    const toAgent = [{ at: '2026-03-01T10:00:00Z', assignee: BOT }];

    it('observe: handed at once to the people above the agent, the one write; nothing acknowledged, no note', async () => {
      for (const assignments of [toAgent, []]) {
        const { pd, audit, incidents, processor } = setup({ mode: 'observe' }, 'PINC001', assignments);
        pd.oncalls = [
          {
            user: BOT,
            escalation_level: 1,
            escalation_policy: { id: 'PEP0001', type: 'escalation_policy_reference' },
            schedule: null,
            start: null,
            end: null,
          },
          {
            user: HUMAN,
            escalation_level: 2,
            escalation_policy: { id: 'PEP0001', type: 'escalation_policy_reference' },
            schedule: null,
            start: null,
            end: null,
          },
        ];
        const outcome = await processor.process(triggered('PINC001'), plenty);

        expect(outcome).toEqual({ status: 'triaged', decision: 'escalated', noteId: null });
        expect(writesOf(pd)).toEqual({ acknowledgeIncident: 0, createNote: 0, escalateIncident: 1, resolveIncident: 0 });
        expect(pd.incident().assignments.map((assignment) => assignment.assignee.id)).toEqual([HUMAN.id]);
        // Recorded as the hand-over observe mode allows: the escalation's own audit item and the ledger's escalation.
        expect(audit.of('escalate')[0]?.detail).toContain('Hand-over in observe mode, the one write it allows');
        expect(await incidents.get('PINC001')).toMatchObject({
          decision: 'escalated',
          escalatedFor: 'EVT-PINC001',
          rolloutMode: 'observe',
        });
        expect((await incidents.get('PINC001'))?.acknowledgedByAgentAt).toBeUndefined();
      }
    });

    it('note: handed over at once, then the note; never acknowledged', async () => {
      const { pd, processor } = setup({ mode: 'note' }, 'PINC001', toAgent);
      await processor.process(triggered('PINC001'), plenty);
      expect(writesOf(pd)).toEqual({ acknowledgeIncident: 0, createNote: 1, escalateIncident: 1, resolveIncident: 0 });
      const writes = pd.calls.map((call) => call.operation).filter((operation) => (WRITES as readonly string[]).includes(operation));
      expect(writes).toEqual(['escalateIncident', 'createNote']);
    });

    it('observe and note leave an incident PagerDuty pages people for with them: no hand-over', async () => {
      for (const mode of ['observe', 'note']) {
        const { pd, processor } = setup({ mode }, 'PINC001', [{ at: '2026-03-01T10:00:00Z', assignee: HUMAN }]);
        await processor.process(triggered('PINC001'), plenty);
        expect(pd.count('escalateIncident')).toBe(0);
        expect(pd.count('acknowledgeIncident')).toBe(0);
      }
    });
  });

  it('act, or no rollout at all: acknowledges, notes and escalates as before', async () => {
    for (const rollout of [{ mode: 'act' }, undefined]) {
      const { pd, processor } = setup(rollout);
      await processor.process(triggered('PINC001'), plenty);
      expect(writesOf(pd)).toEqual({ acknowledgeIncident: 1, createNote: 1, escalateIncident: 1, resolveIncident: 0 });
    }
  });

  it('a service stage overrides the environment: that service acts while the rest observes', async () => {
    const { pd, processor } = setup({ mode: 'observe', services: { [SERVICE]: { mode: 'act' } } });
    await processor.process(triggered('PINC001'), plenty);
    expect(pd.count('acknowledgeIncident')).toBe(1);
  });

  it('hands back an incident the agent acknowledged in act mode before a deploy switched it to observe', async () => {
    const { pd, incidents, processor } = setup({ mode: 'observe' });
    const earlier = new Date(Date.now() - 60_000);
    pd.incidents.set(
      'PINC001',
      makeIncident({
        id: 'PINC001',
        status: 'acknowledged',
        service: { id: SERVICE, type: 'service_reference', summary: 'checkout' },
        acknowledgements: [{ at: earlier.toISOString(), acknowledger: { id: BOT.id, type: 'user_reference', summary: 'agent' } }],
      }),
    );
    await incidents.markAcknowledged('PINC001', 'EVT-PINC001', earlier);

    const outcome = await processor.process(triggered('PINC001'), plenty);

    expect(outcome).toMatchObject({ status: 'triaged', decision: 'escalated' });
    expect(writesOf(pd)).toEqual({ acknowledgeIncident: 0, createNote: 0, escalateIncident: 1, resolveIncident: 0 });
  });

  it('hands back an incident the agent acknowledged before a deploy took its service out of the sample', async () => {
    const outside = ['PINC001', 'PINC002', 'PINC003', 'PINC004', 'PINC005'].find((id) => samplePoint(id) >= 0.5) ?? '';
    const { pd, incidents, processor } = setup({ mode: 'act', sampleRate: 0.5 }, outside);
    const earlier = new Date(Date.now() - 60_000);
    pd.incidents.set(
      outside,
      makeIncident({
        id: outside,
        status: 'acknowledged',
        service: { id: SERVICE, type: 'service_reference', summary: 'checkout' },
        acknowledgements: [{ at: earlier.toISOString(), acknowledger: { id: BOT.id, type: 'user_reference', summary: 'agent' } }],
      }),
    );
    await incidents.markAcknowledged(outside, `EVT-${outside}`, earlier);

    await processor.process(triggered(outside), plenty);

    expect(writesOf(pd)).toMatchObject({ acknowledgeIncident: 0, escalateIncident: 1, resolveIncident: 0 });
  });

  it('outside the sample: no triage, no read, no write, one audit row saying why', async () => {
    // An incident id whose sample point lies above 50%, so a 0.5 sample leaves it out.
    const outside = ['PINC001', 'PINC002', 'PINC003', 'PINC004', 'PINC005'].find((id) => samplePoint(id) >= 0.5) ?? '';
    expect(outside).not.toBe('');
    const { pd, audit, processor } = setup({ mode: 'act', sampleRate: 0.5 }, outside);
    const outcome = await processor.process(triggered(outside), plenty);

    expect(outcome).toEqual({ status: 'ignored' });
    expect(pd.calls).toEqual([]);
    expect(audit.items.map((item) => [item.action, item.outcome])).toEqual([['record', 'skipped']]);
    expect(audit.items[0]?.detail).toContain('not in the rollout sample');
  });
});
