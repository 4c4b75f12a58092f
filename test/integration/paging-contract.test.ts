import type { AcknowledgeSetting } from '../../lib/config/agent-config';
import {
  DEFAULT_SANDBOX_SEED,
  SANDBOX_BOT_USER,
  SANDBOX_PRIMARY_USER,
  SANDBOX_SECONDARY_USER,
  SANDBOX_SERVICE_ID,
  type SandboxSeed,
} from '../../local/sandbox';
import { settle, startAgentStack, type AgentStack } from '../support/agent-stack';

/**
 * The paging contract through ingress, queue and worker against the sandbox, judged by the sandbox's own incident
 * history (who changed what, in order), for both policy shapes and every AGENT_CONFIG.acknowledge setting. No rule
 * could keep any incident, so every triage ends with people paged.
 */
jest.setTimeout(90_000);

const AGENT_FIRST_POLICY = 'PEPAGENT';
/** The recommended shape: the agent's user alone at level 1, people at level 2. */
const AGENT_FIRST_SERVICE = 'PSVCAGENT';
/** The same shape, in observe mode. */
const OBSERVED_SERVICE = 'PSVCOBSERVED';
/** DEFAULT_SANDBOX_SEED's service: people at level 1. */
const PEOPLE_FIRST_SERVICE = SANDBOX_SERVICE_ID;

const SEED: SandboxSeed = {
  ...DEFAULT_SANDBOX_SEED,
  escalationPolicies: [
    ...(DEFAULT_SANDBOX_SEED.escalationPolicies ?? []),
    {
      id: AGENT_FIRST_POLICY,
      name: 'Agent first',
      levels: [[SANDBOX_BOT_USER.id], [SANDBOX_PRIMARY_USER.id], [SANDBOX_SECONDARY_USER.id]],
    },
  ],
  services: [
    ...(DEFAULT_SANDBOX_SEED.services ?? []),
    { id: AGENT_FIRST_SERVICE, name: 'payments-api', escalationPolicyId: AGENT_FIRST_POLICY },
    { id: OBSERVED_SERVICE, name: 'search-api', escalationPolicyId: AGENT_FIRST_POLICY },
  ],
};

/** What the agent did to the incident, in the order PagerDuty recorded it. */
const byAgent = (stack: AgentStack, incidentId: string) =>
  stack.sandbox
    .history({ incidentId })
    .filter((entry) => entry.agentId === SANDBOX_BOT_USER.id)
    .map((entry) => entry.eventType);
const assignees = (stack: AgentStack, incidentId: string) =>
  stack.sandbox.incident(incidentId).assignments.map((assignment) => assignment.assignee.id);

/** Per setting and policy shape: what the agent does, in order. */
const EXPECTED: Record<AcknowledgeSetting, Record<'agentFirst' | 'peopleFirst', string[]>> = {
  'agent-first': {
    agentFirst: ['incident.acknowledged', 'incident.annotated', 'incident.escalated'],
    peopleFirst: ['incident.annotated'],
  },
  always: {
    agentFirst: ['incident.acknowledged', 'incident.annotated', 'incident.escalated'],
    // Acknowledging assigns the incident to the agent; the escalation reassigns it to the policy, whose level 1 is people.
    peopleFirst: ['incident.acknowledged', 'incident.annotated', 'incident.delegated'],
  },
  'may-keep': {
    // No rule could keep it: handed to the level above the agent as the gathering starts, the note follows.
    agentFirst: ['incident.escalated', 'incident.annotated'],
    peopleFirst: ['incident.annotated'],
  },
};

describe.each(['agent-first', 'always', 'may-keep'] as const)('acknowledge: %s', (setting) => {
  let stack: AgentStack;

  beforeAll(async () => {
    stack = await startAgentStack({
      agentEnv: `paging-${setting}`,
      config: { acknowledge: setting, rollout: { mode: 'act', services: { [OBSERVED_SERVICE]: { mode: 'observe' } } } },
      sandbox: { seed: SEED, repeatedStatusAnswer: 'error' },
    });
  });

  afterAll(async () => {
    await stack.stop();
  });

  afterEach(() => {
    stack.hooks.beforeAcknowledge = undefined;
  });

  it('agent first in the policy: the agent acts in the contract’s order and a person holds the incident at the end', async () => {
    const incident = stack.sandbox.triggerIncident({ serviceId: AGENT_FIRST_SERVICE, title: 'Payments latency' });
    expect(assignees(stack, incident.id)).toEqual([SANDBOX_BOT_USER.id]);
    await settle(stack);

    expect(byAgent(stack, incident.id)).toEqual(EXPECTED[setting].agentFirst);
    expect(stack.sandbox.notes(incident.id)).toHaveLength(1);
    expect(assignees(stack, incident.id)).toEqual([SANDBOX_PRIMARY_USER.id]);
    expect(stack.sandbox.incident(incident.id).status).toBe('triggered');
    expect(await stack.incidentLedger.get(incident.id)).toMatchObject({ decision: 'escalated', finished: true });
  });

  it('people first in the policy: a person holds the incident at the end, with the note', async () => {
    const incident = stack.sandbox.triggerIncident({ serviceId: PEOPLE_FIRST_SERVICE, title: 'Checkout latency' });
    await settle(stack);

    expect(byAgent(stack, incident.id)).toEqual(EXPECTED[setting].peopleFirst);
    expect(stack.sandbox.notes(incident.id)).toHaveLength(1);
    expect(assignees(stack, incident.id)).toEqual([SANDBOX_PRIMARY_USER.id]);
    expect(stack.sandbox.incident(incident.id).status).toBe('triggered');
    const decision = setting === 'always' ? 'escalated' : 'left-with-on-call';
    expect(await stack.incidentLedger.get(incident.id)).toMatchObject({ decision, finished: true });
  });

  if (setting !== 'agent-first') return;

  it('observe mode on an agent-first policy pages a person at once and writes nothing else', async () => {
    const incident = stack.sandbox.triggerIncident({ serviceId: OBSERVED_SERVICE, title: 'Search latency' });
    await settle(stack);

    expect(byAgent(stack, incident.id)).toEqual(['incident.escalated']);
    const writes = stack.sandbox.requests({ incidentId: incident.id }).filter((entry) => entry.method !== 'GET');
    expect(writes.map((entry) => [entry.route, entry.status])).toEqual([['PUT /incidents/{id}', 200]]);
    expect(stack.sandbox.notes(incident.id)).toHaveLength(0);
    expect(stack.sandbox.acknowledgements(incident.id)).toHaveLength(0);
    expect(assignees(stack, incident.id)).toEqual([SANDBOX_PRIMARY_USER.id]);
    const audit = (await stack.audit.byIncident(incident.id, { limit: 50 })).items;
    expect(audit.find((item) => item.action === 'escalate')?.detail).toContain('Hand-over in observe mode, the one write it allows');
  });

  it("a person's acknowledgement answered as 1002 is never taken as the agent's", async () => {
    // The person acknowledges just before the agent's acknowledgement reaches PagerDuty, which refuses it (1002).
    stack.hooks.beforeAcknowledge = (incidentId) => void stack.sandbox.acknowledgeAs(incidentId, SANDBOX_PRIMARY_USER.id);
    const incident = stack.sandbox.triggerIncident({ serviceId: AGENT_FIRST_SERVICE, title: 'Payments errors' });
    await settle(stack);

    const refused = stack.sandbox.requests({ incidentId: incident.id, route: 'PUT /incidents/{id}' });
    expect(refused.map((entry) => entry.status)).toEqual([400]);
    expect(stack.sandbox.acknowledgements(incident.id).map((ack) => ack.acknowledger.id)).toEqual([SANDBOX_PRIMARY_USER.id]);
    expect(byAgent(stack, incident.id)).toEqual(['incident.annotated']);
    const progress = await stack.incidentLedger.get(incident.id);
    expect(progress).toMatchObject({ decision: 'left-with-on-call' });
    expect(progress?.acknowledgedByAgentAt).toBeUndefined();
    expect(stack.sandbox.incident(incident.id)).toMatchObject({ status: 'acknowledged' });
    expect(assignees(stack, incident.id)).toEqual([SANDBOX_PRIMARY_USER.id]);
  });
});
