import { SANDBOX_BOT_USER, SANDBOX_PRIMARY_USER, SANDBOX_SERVICE_ID } from '../../local/sandbox';
import { effectiveVerdict } from '../../lib/outcomes/outcome-report';
import { settle, startAgentStack, type AgentStack } from '../support/agent-stack';

/** Outcomes through the real local stack: the sandbox's humans resolve, reopen and write feedback notes. */
jest.setTimeout(60_000);

let stack: AgentStack;
const startedAt = new Date(Date.now() - 60_000);

beforeAll(async () => {
  stack = await startAgentStack({
    agentEnv: 'ito',
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
          // The first test's `pd-agent: wrong` demotes checkout-latency (docs/rollout-and-outcomes.md "Trust"): the
          // reopen test holds with a rule of its own.
          { id: 'checkout-errors', match: { title: 'Checkout errors' }, hypothesis: 'Known errors', confidence: 0.9, action: 'hold' },
        ],
      },
    },
  });
  stack.sandbox.seed({
    changeEvents: [
      { serviceId: SANDBOX_SERVICE_ID, summary: 'Deployed checkout v2.3.1', timestamp: new Date(Date.now() - 5 * 60_000).toISOString() },
    ],
  });
});

afterAll(async () => {
  await stack.stop();
});

const outcomeOf = async (incidentId: string) =>
  (await stack.outcomes.byTimeRange(startedAt, new Date(Date.now() + 60_000))).find((entry) => entry.incidentId === incidentId);

describe('outcomes against the sandbox', () => {
  it('a held incident a human resolves with a note naming the deploy is confirmed; pd-agent: wrong then overrides it', async () => {
    const incident = stack.sandbox.triggerIncident({ serviceId: SANDBOX_SERVICE_ID, title: 'Checkout latency above 2s' });
    await settle(stack);
    expect((await stack.incidentLedger.get(incident.id))?.cause).toMatchObject({ kind: 'recent-change', ruleId: 'checkout-latency' });
    // Everything the agent wrote during triage; recording the outcome and the feedback must add nothing to it.
    const writesAfterTriage = stack.sandbox.requests({ incidentId: incident.id }).filter((entry) => entry.method !== 'GET').length;

    stack.sandbox.resolveAs(incident.id, SANDBOX_PRIMARY_USER.id, {
      resolutionNote: 'Rolled back checkout v2.3.1; latency is back to normal.',
    });
    await settle(stack);

    const recorded = await outcomeOf(incident.id);
    expect(recorded?.outcome).toMatchObject({
      kind: 'outcome',
      decision: 'held',
      mode: 'act',
      resolver: { kind: 'human', id: SANDBOX_PRIMARY_USER.id, name: SANDBOX_PRIMARY_USER.name },
      humanTookOver: true,
      verdict: 'confirmed',
      humanNotes: ['Rolled back checkout v2.3.1; latency is back to normal.'],
    });
    expect(recorded?.outcome?.headStartMs).toBeGreaterThanOrEqual(0);
    expect(stack.sandbox.deliveries({ incidentId: incident.id }).map((delivery) => delivery.eventType)).toEqual(
      expect.arrayContaining(['incident.annotated', 'incident.resolved']),
    );
    expect(effectiveVerdict(recorded!)).toEqual({
      verdict: 'confirmed',
      source: 'inferred',
      reason: expect.stringContaining('rolled back'),
    });

    stack.sandbox.addNoteAs(incident.id, SANDBOX_PRIMARY_USER.id, 'pd-agent: wrong - the cache cluster failed over at the same time');
    await settle(stack);
    const overridden = await outcomeOf(incident.id);
    expect(overridden?.feedback).toMatchObject({ verdict: 'contradicted', comment: 'the cache cluster failed over at the same time' });
    expect(effectiveVerdict(overridden!)).toMatchObject({ verdict: 'contradicted', source: 'feedback' });

    // Recording outcomes reads the notes and never writes to PagerDuty: the agent's only note is its triage note.
    expect(stack.sandbox.notes(incident.id).filter((note) => note.user.id === SANDBOX_BOT_USER.id)).toHaveLength(1);
    expect(stack.sandbox.requests({ incidentId: incident.id }).filter((entry) => entry.method !== 'GET')).toHaveLength(writesAfterTriage);
    expect(stack.sandbox.requests({ incidentId: incident.id, route: 'POST /incidents/{id}/notes' })).toHaveLength(1);
  });

  it('a reopen after the agent held it records an outcome and the agent triages the incident again', async () => {
    const incident = stack.sandbox.triggerIncident({ serviceId: SANDBOX_SERVICE_ID, title: 'Checkout errors above 3%' });
    await settle(stack);
    expect((await stack.incidentLedger.get(incident.id))?.decision).toBe('held');
    stack.sandbox.resolveAs(incident.id, SANDBOX_PRIMARY_USER.id);
    await settle(stack);
    stack.sandbox.reopenAs(incident.id, SANDBOX_PRIMARY_USER.id);
    await settle(stack);
    const audit = (await stack.audit.byIncident(incident.id, { limit: 200 })).items;
    const outcomes = audit.filter((item) => item.sk.startsWith('outcome#'));
    expect(outcomes.map((item) => item.eventType)).toEqual(expect.arrayContaining(['incident.resolved', 'incident.reopened']));
    expect(stack.sandbox.notes(incident.id).filter((note) => note.user.id === SANDBOX_BOT_USER.id)).toHaveLength(2);
  });
});
