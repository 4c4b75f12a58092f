import { startLocalStack, type LocalStack } from '../../local/local-stack';
import { SANDBOX_BOT_USER, SANDBOX_PRIMARY_USER, type Sandbox, type SandboxSeed } from '../../local/sandbox';
import { ACKNOWLEDGE_FIRST_CONFIG } from '../support/agent-stack';

/**
 * The escalation chain through the bundled functions (the local stack's runner, dynalite, local-aws-sqs) and the
 * sandbox, on a policy that pages the agent first: whatever PagerDuty refuses, a person is paged at the end, and the
 * agent's note is on the incident.
 */
const FALLBACK_PERSON = { id: 'PUSR009', name: 'Fallback Responder', email: 'fallback@sandbox.example' };
const FALLBACK_KEY = 'fallbackroutingkey'.padEnd(32, '0');
const AGENT_FIRST_SERVICE = 'PSVCAF1';
const FALLBACK_SERVICE = 'PSVCFB1';
const SEED: SandboxSeed = {
  users: [SANDBOX_BOT_USER, SANDBOX_PRIMARY_USER, FALLBACK_PERSON],
  escalationPolicies: [
    { id: 'PEPAGENT', name: 'Agent first', levels: [[SANDBOX_BOT_USER.id], [SANDBOX_PRIMARY_USER.id]], escalationDelayInMinutes: [5] },
    { id: 'PEPFALLB', name: 'Fallback responders', levels: [[FALLBACK_PERSON.id]] },
  ],
  services: [
    { id: AGENT_FIRST_SERVICE, name: 'payments', escalationPolicyId: 'PEPAGENT' },
    { id: FALLBACK_SERVICE, name: 'pd-agent fallback', escalationPolicyId: 'PEPFALLB', integrationKey: FALLBACK_KEY },
  ],
};

describe('an escalation PagerDuty refuses still pages a person, with the note', () => {
  let stack: LocalStack;
  let sandbox: Sandbox;
  const assignees = (incidentId: string) => sandbox.incident(incidentId).assignments.map((assignment) => assignment.assignee.id);
  const agentNotes = (incidentId: string) => sandbox.notes(incidentId).filter((note) => note.user.id === SANDBOX_BOT_USER.id);

  beforeAll(async () => {
    stack = await startLocalStack({
      port: 0,
      writeState: false,
      // The fallback service stays out of the agent's filters: its people take its pages, the agent does not triage them.
      agentConfig: JSON.stringify({ ...ACKNOWLEDGE_FIRST_CONFIG, filters: { services: [AGENT_FIRST_SERVICE] } }),
      sandboxSeed: SEED,
      fallbackRoutingKey: FALLBACK_KEY,
    });
    sandbox = stack.sandbox as Sandbox;
  }, 90_000);

  afterAll(async () => {
    await stack.stop();
  });

  afterEach(() => {
    sandbox.allow('escalate');
    sandbox.allow('assign');
  });

  it('escalates to the level above the agent when PagerDuty accepts', async () => {
    const incident = sandbox.triggerIncident({ serviceId: AGENT_FIRST_SERVICE, title: 'Payments latency' });
    await stack.settled({ timeoutMs: 30_000 });
    expect(assignees(incident.id)).toEqual([SANDBOX_PRIMARY_USER.id]);
    expect(sandbox.escalationLevel(incident.id)).toBe(2);
    expect(agentNotes(incident.id)).toHaveLength(1);
  });

  it('assigns the next level people directly when the escalation is refused', async () => {
    sandbox.refuse('escalate');
    const incident = sandbox.triggerIncident({ serviceId: AGENT_FIRST_SERVICE, title: 'Payments errors' });
    await stack.settled({ timeoutMs: 30_000 });
    expect(sandbox.requests({ incidentId: incident.id, route: 'PUT /incidents/{id}' }).map((request) => request.status)).toContain(400);
    expect(sandbox.incident(incident.id)).toMatchObject({ status: 'triggered', assigned_via: 'direct_assignment' });
    expect(assignees(incident.id)).toEqual([SANDBOX_PRIMARY_USER.id]);
    expect(agentNotes(incident.id)).toHaveLength(1);
    const changes = sandbox.history({ incidentId: incident.id }).map((entry) => entry.eventType);
    expect(changes.indexOf('incident.annotated')).toBeLessThan(changes.indexOf('incident.reassigned'));
    expect(sandbox.receivedEvents()).toEqual([]);
  });

  it('pages the fallback service through the Events API when the assignment is refused too', async () => {
    sandbox.refuse('escalate');
    sandbox.refuse('assign');
    const incident = sandbox.triggerIncident({ serviceId: AGENT_FIRST_SERVICE, title: 'Payments down' });
    await stack.settled({ timeoutMs: 30_000 });
    expect(sandbox.receivedEvents()).toEqual([
      expect.objectContaining({
        routingKey: FALLBACK_KEY,
        action: 'trigger',
        dedupKey: `pd-agent/local/nobody-paged/${incident.id}`,
        summary: expect.stringContaining('"Payments down"'),
      }),
    ]);
    const fallback = sandbox.incidents().filter((candidate) => candidate.service.id === FALLBACK_SERVICE);
    expect(fallback.map((opened) => opened.assignments.map((assignment) => assignment.assignee.id))).toEqual([[FALLBACK_PERSON.id]]);
    expect(agentNotes(incident.id)).toHaveLength(1);
  });
});
