import pc from 'picocolors';
import { renderOutcomeReport } from '../../lib/cli/commands/report';
import { buildOutcomeReport, type OutcomeReport, type ReportRow } from '../../lib/outcomes/outcome-report';
import type { IncidentOutcomes } from '../../lib/outcomes/outcome-store';
import { samplePoint, WOULD_BE_NOTE_LABEL } from '../../lib/rollout/rollout';
import {
  SANDBOX_BOT_USER,
  SANDBOX_ESCALATION_POLICY_ID,
  SANDBOX_PRIMARY_USER,
  type IncidentChange,
  type StoredIncident,
} from '../../local/sandbox';
import { settle, startAgentStack, type AgentStack } from '../support/agent-stack';

/**
 * A month of incidents through the real local stack, one service per rollout stage, judged by the sandbox's own
 * records (request log, notes, acknowledgement and incident history) rather than by what the agent says it did.
 */
jest.setTimeout(120_000);

const OBSERVE = 'PSVCOBS';
const NOTE = 'PSVCNOTE';
const ACT = 'PSVCACT';
const SAMPLED = 'PSVCHALF';
const SERVICES = [OBSERVE, NOTE, ACT, SAMPLED];
/** Incidents per service: 30 in the month. */
const PER_SERVICE: Record<string, number> = { [OBSERVE]: 7, [NOTE]: 7, [ACT]: 8, [SAMPLED]: 8 };
const ROLLBACK_NOTE = 'Rolled back checkout v2.3.1; latency is back to normal.';
const WRONG_NOTE = 'pd-agent: wrong - the cache cluster failed over at the same time';

/**
 * What the report must show per service, stated from how the month is built, not from what the agent did, so that a
 * wrong counting rule cannot pass: every latency incident matches the hold rule and no rule keeps the others, which stay
 * with the people the sandbox's policy pages first (left with on-call, in act mode; nothing escalated); a person resolves every incident, naming the rollback on the latency ones; the first act
 * latency incident gets `pd-agent: wrong`. Observe and note: 7 incidents, 4 latency. Act: 8, 4 latency, 1 judged wrong.
 */
const EXPECTED_REPORT: Record<string, Partial<ReportRow>> = {
  [OBSERVE]: {
    incidents: 7,
    modes: { observe: 7 },
    observed: 7,
    noted: 0,
    held: 0,
    escalated: 0,
    takenBack: 0,
    confirmed: 4,
    contradicted: 0,
    unknown: 3,
  },
  [NOTE]: {
    incidents: 7,
    modes: { note: 7 },
    observed: 0,
    noted: 7,
    held: 0,
    escalated: 0,
    takenBack: 0,
    confirmed: 4,
    contradicted: 0,
    unknown: 3,
  },
  [ACT]: {
    incidents: 8,
    modes: { act: 8 },
    observed: 0,
    noted: 0,
    held: 4,
    // The sandbox's policy pages people first: what no rule keeps stays with them, nothing is escalated.
    escalated: 0,
    leftWithOnCall: 4,
    takenBack: 4,
    confirmed: 3,
    contradicted: 1,
    unknown: 4,
  },
};
/** Whether a person took the incident back from the agent, per service and kind of incident (all are resolved by a person). */
const TAKEN_BACK: Record<string, Record<'held by the rule' | 'escalated', boolean>> = {
  [OBSERVE]: { 'held by the rule': false, escalated: false },
  [NOTE]: { 'held by the rule': false, escalated: false },
  [ACT]: { 'held by the rule': true, escalated: false },
  [SAMPLED]: { 'held by the rule': true, escalated: false },
};

let stack: AgentStack;
const startedAt = new Date(Date.now() - 60_000);

interface MonthIncident {
  incident: StoredIncident;
  serviceId: string;
  latency: boolean;
  sampled: boolean;
}
const month: MonthIncident[] = [];

beforeAll(async () => {
  stack = await startAgentStack({
    agentEnv: 'month',
    config: {
      triage: {
        rules: [
          {
            id: 'checkout-latency',
            match: { title: 'Checkout latency' },
            hypothesis: 'A checkout deploy slowed it',
            confidence: 0.9,
            action: 'hold',
          },
        ],
      },
      rollout: {
        mode: 'act',
        sampleRate: 1,
        services: {
          [OBSERVE]: { mode: 'observe', sampleRate: 1 },
          [NOTE]: { mode: 'note', sampleRate: 1 },
          [ACT]: { mode: 'act', sampleRate: 1 },
          [SAMPLED]: { mode: 'act', sampleRate: 0.5 },
        },
      },
    },
  });
  const deployedAt = new Date(Date.now() - 5 * 60_000).toISOString();
  stack.sandbox.seed({
    services: SERVICES.map((id) => ({ id, name: `rollout-${id.toLowerCase()}`, escalationPolicyId: SANDBOX_ESCALATION_POLICY_ID })),
    changeEvents: SERVICES.map((serviceId) => ({ serviceId, summary: 'Deployed checkout v2.3.1', timestamp: deployedAt })),
  });

  for (const serviceId of SERVICES) {
    // The half-sampled service's incident ids are random: it gets incidents until both sides of the sample have some
    // (latency ones among the sampled), so that neither side's checks can pass on an empty list.
    const enough = (): boolean => {
      const ofService = month.filter((entry) => entry.serviceId === serviceId);
      if (ofService.length < PER_SERVICE[serviceId]) return false;
      if (serviceId !== SAMPLED) return true;
      return ofService.some((entry) => entry.sampled && entry.latency) && ofService.some((entry) => !entry.sampled);
    };
    for (let index = 0; !enough(); index += 1) {
      const latency = index % 2 === 0;
      const title = latency ? `Checkout latency above ${index + 2}s` : `Disk full on db-${index}`;
      const incident = stack.sandbox.triggerIncident({ serviceId, title });
      const sampled = serviceId !== SAMPLED || samplePoint(incident.id) < 0.5;
      month.push({ incident, serviceId, latency, sampled });
    }
  }
  await settle(stack, 60_000);
});

afterAll(async () => {
  await stack.stop();
});

const of = (serviceId: string, filter: (entry: MonthIncident) => boolean = () => true) =>
  month.filter((entry) => entry.serviceId === serviceId && filter(entry));
/** Every request the agent made that changes the incident in PagerDuty. */
const writesTo = (incidentId: string) => stack.sandbox.requests({ incidentId }).filter((entry) => entry.method !== 'GET');
const botChanges = (incidentId: string, eventTypes: IncidentChange['eventType'][]) =>
  stack.sandbox.history({ incidentId }).filter((entry) => entry.agentId === SANDBOX_BOT_USER.id && eventTypes.includes(entry.eventType));
const botNotes = (incidentId: string) => stack.sandbox.notes(incidentId).filter((note) => note.user.id === SANDBOX_BOT_USER.id);
const botAcknowledged = (incidentId: string) =>
  stack.sandbox.acknowledgements(incidentId).some((entry) => entry.acknowledger.id === SANDBOX_BOT_USER.id);
const escalatedByBot = (incidentId: string) => botChanges(incidentId, ['incident.escalated', 'incident.delegated']).length > 0;

describe('a month of incidents in each rollout mode, as the sandbox recorded it', () => {
  it('observe wrote nothing to PagerDuty; the would-be note and decision are in the audit trail', async () => {
    for (const { incident } of of(OBSERVE)) {
      expect(writesTo(incident.id)).toEqual([]);
      expect(botChanges(incident.id, ['incident.acknowledged', 'incident.annotated', 'incident.escalated', 'incident.resolved'])).toEqual(
        [],
      );
      expect(stack.sandbox.incident(incident.id).status).toBe('triggered');
      const audit = (await stack.audit.byIncident(incident.id, { limit: 200 })).items;
      const wouldBe = audit.filter((item) => item.action === 'note');
      expect(wouldBe).toHaveLength(1);
      expect(wouldBe[0]).toMatchObject({ outcome: 'skipped', detail: expect.stringContaining(WOULD_BE_NOTE_LABEL) });
      expect(audit.find((item) => item.action === 'triage')?.detail).toContain('Not carried out: observe mode');
    }
  });

  it('note wrote exactly one note per incident and nothing else', () => {
    for (const { incident } of of(NOTE)) {
      expect(writesTo(incident.id).map((entry) => entry.route)).toEqual(['POST /incidents/{id}/notes']);
      expect(botNotes(incident.id)).toHaveLength(1);
      expect(botAcknowledged(incident.id)).toBe(false);
      expect(escalatedByBot(incident.id)).toBe(false);
      expect(stack.sandbox.incident(incident.id).status).toBe('triggered');
    }
  });

  it('act noted every incident, acknowledged and held the ones its rule explains and left the rest with on-call', () => {
    for (const { incident, latency } of [...of(ACT), ...of(SAMPLED, (entry) => entry.sampled)]) {
      expect(botNotes(incident.id)).toHaveLength(1);
      // No rule could keep a full disk: PagerDuty already pages the people it is assigned to, the agent only notes it.
      expect(botAcknowledged(incident.id)).toBe(latency);
      expect(escalatedByBot(incident.id)).toBe(false);
      expect(stack.sandbox.incident(incident.id).status).toBe(latency ? 'acknowledged' : 'triggered');
    }
  });

  it('outside the sample the agent made no write at all', () => {
    const unsampled = of(SAMPLED, (entry) => !entry.sampled);
    // The month's incident ids are random: the test would check nothing if none fell outside the sample.
    expect(unsampled.length).toBeGreaterThan(0);
    for (const { incident } of unsampled) {
      expect(writesTo(incident.id)).toEqual([]);
      expect(stack.sandbox.history({ incidentId: incident.id }).filter((entry) => entry.agentId === SANDBOX_BOT_USER.id)).toEqual([]);
    }
  });

  describe('after the humans resolved the month', () => {
    let report: OutcomeReport;
    let entries: IncidentOutcomes[];
    const reportFor = (serviceId: string) =>
      buildOutcomeReport(entries, { since: startedAt, until: new Date(Date.now() + 60_000), serviceId });
    let wrongIncidentId: string;

    beforeAll(async () => {
      wrongIncidentId = of(ACT, (entry) => entry.latency)[0].incident.id;
      for (const { incident, latency } of month) {
        if (incident.id === wrongIncidentId) stack.sandbox.resolveAs(incident.id, SANDBOX_PRIMARY_USER.id, { resolutionNote: WRONG_NOTE });
        else if (latency) stack.sandbox.resolveAs(incident.id, SANDBOX_PRIMARY_USER.id, { resolutionNote: ROLLBACK_NOTE });
        else stack.sandbox.resolveAs(incident.id, SANDBOX_PRIMARY_USER.id);
      }
      await settle(stack, 60_000);
      entries = await stack.outcomes.byTimeRange(startedAt, new Date(Date.now() + 60_000));
      report = buildOutcomeReport(entries, { since: startedAt, until: new Date(Date.now() + 60_000) });
    });

    it('resolving and annotating made the agent write nothing more', () => {
      for (const { incident } of month) expect(botNotes(incident.id).length).toBeLessThanOrEqual(1);
      const botResolves = month.flatMap(({ incident }) => botChanges(incident.id, ['incident.resolved']));
      expect(botResolves).toEqual([]);
    });

    it('counts every triaged incident once and none outside the sample', () => {
      const triaged = month.filter((entry) => entry.sampled);
      expect(report.total.incidents).toBe(triaged.length);
      expect(new Set(entries.map((entry) => entry.incidentId))).toEqual(new Set(triaged.map((entry) => entry.incident.id)));
    });

    it('per mode, the report shows the counts the month was built to produce', () => {
      for (const serviceId of [OBSERVE, NOTE, ACT]) expect(reportFor(serviceId).total).toMatchObject(EXPECTED_REPORT[serviceId]);
      // Which incidents fall in the half sample depends on their random ids: its counts follow from the month's own list.
      const sampled = of(SAMPLED, (entry) => entry.sampled);
      const latency = sampled.filter((entry) => entry.latency).length;
      expect(reportFor(SAMPLED).total).toMatchObject({
        incidents: sampled.length,
        modes: sampled.length === 0 ? {} : { act: sampled.length },
        observed: 0,
        noted: 0,
        held: latency,
        escalated: 0,
        leftWithOnCall: sampled.length - latency,
        takenBack: latency,
        confirmed: latency,
        contradicted: 0,
        unknown: sampled.length - latency,
      });
    });

    it('a human took back exactly the holds act mode carried out: never an escalation, never a hold observe or note mode only decided', () => {
      for (const { incident, serviceId, latency } of month.filter((entry) => entry.sampled)) {
        const recorded = entries.find((entry) => entry.incidentId === incident.id)?.outcome;
        expect({ serviceId, latency, humanTookOver: recorded?.humanTookOver }).toEqual({
          serviceId,
          latency,
          humanTookOver: TAKEN_BACK[serviceId][latency ? 'held by the rule' : 'escalated'],
        });
      }
    });

    it('verdicts: rollbacks naming the deploy confirm, pd-agent: wrong contradicts, silent resolves stay unknown', () => {
      const sampled = of(SAMPLED, (entry) => entry.sampled);
      const latency = sampled.filter((entry) => entry.latency).length;
      // Observe, note and act: 4 + 4 + 3 confirmed, 1 contradicted, 3 + 3 + 4 unknown; plus the half sample's.
      const total = { confirmed: 11 + latency, contradicted: 1, unknown: 10 + sampled.length - latency };
      expect(report.total).toMatchObject({ incidents: 22 + sampled.length, ...total });
      expect(report.byRule.find((row) => row.key === 'checkout-latency')).toMatchObject({
        incidents: 12 + latency,
        confirmed: total.confirmed,
        contradicted: 1,
        unknown: 0,
        contradictedHolds: 1,
      });
      const rendered = renderOutcomeReport(report, pc.createColors(false), false);
      expect(rendered).toContain(
        `${22 + sampled.length} incident(s): ${total.confirmed} confirmed, 1 contradicted, ${total.unknown} unknown`,
      );
    });
  });
});
