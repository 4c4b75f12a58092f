import { apiKeyAuth } from '../../lib/pagerduty/auth';
import { createPagerDutyClient } from '../../lib/pagerduty/rest-client';
import type { PagerDutyApi } from '../../lib/pagerduty/types';
import {
  SANDBOX_API_TOKEN,
  SANDBOX_BOT_USER,
  SANDBOX_PRIMARY_USER,
  SANDBOX_SECONDARY_USER,
  startSandbox,
  type Sandbox,
  type SandboxSeed,
} from '../../local/sandbox';

/**
 * The sandbox's escalation policies behave as PagerDuty's: levels with delays, the service's acknowledgement timeout,
 * direct assignment, and refusals answered with PagerDuty's codes. Time moves with `advanceTime`, never by waiting.
 */
const AGENT_FIRST = 'PEPAGENT';
const SERVICE = 'PSVCAF1';
const SEED: SandboxSeed = {
  users: [SANDBOX_BOT_USER, SANDBOX_PRIMARY_USER, SANDBOX_SECONDARY_USER],
  escalationPolicies: [
    {
      id: AGENT_FIRST,
      name: 'Agent first',
      levels: [[SANDBOX_BOT_USER.id], [SANDBOX_PRIMARY_USER.id], [SANDBOX_SECONDARY_USER.id]],
      escalationDelayInMinutes: [5, 15],
    },
  ],
  services: [{ id: SERVICE, name: 'payments', escalationPolicyId: AGENT_FIRST, acknowledgementTimeoutSeconds: 1800 }],
};
const MINUTE = 60_000;

describe('sandbox escalation policies, timers and refusals', () => {
  let sandbox: Sandbox;
  let client: PagerDutyApi;
  const assignees = (incidentId: string) => sandbox.incident(incidentId).assignments.map((assignment) => assignment.assignee.id);

  beforeEach(async () => {
    sandbox = await startSandbox({ seed: SEED });
    client = createPagerDutyClient({ apiUrl: sandbox.apiUrl, auth: apiKeyAuth(SANDBOX_API_TOKEN), fromEmail: SANDBOX_BOT_USER.email });
  });

  afterEach(async () => {
    await sandbox.stop();
  });

  it('escalates an unacknowledged incident one level each time its delay passes, and stops at the last level', async () => {
    const incident = sandbox.triggerIncident({ serviceId: SERVICE, title: 'Payments down' });
    expect([sandbox.escalationLevel(incident.id), assignees(incident.id)]).toEqual([1, [SANDBOX_BOT_USER.id]]);
    sandbox.advanceTime(4 * MINUTE);
    expect(sandbox.escalationLevel(incident.id)).toBe(1);
    sandbox.advanceTime(MINUTE);
    expect([sandbox.escalationLevel(incident.id), assignees(incident.id)]).toEqual([2, [SANDBOX_PRIMARY_USER.id]]);
    sandbox.advanceTime(10 * 60 * MINUTE);
    expect([sandbox.escalationLevel(incident.id), assignees(incident.id)]).toEqual([3, [SANDBOX_SECONDARY_USER.id]]);
    // Each escalation happened when it was due, not when the clock was moved.
    expect(Date.parse(sandbox.incident(incident.id).last_status_change_at) - Date.parse(incident.created_at)).toBe(20 * MINUTE);
    expect(sandbox.history({ incidentId: incident.id }).map((entry) => [entry.eventType, entry.agentId])).toEqual([
      ['incident.triggered', SERVICE],
      ['incident.escalated', SERVICE],
      ['incident.escalated', SERVICE],
    ]);
  });

  it('never escalates an acknowledged incident, and triggers it again after the acknowledgement timeout', async () => {
    const incident = sandbox.triggerIncident({ serviceId: SERVICE, title: 'Payments down' });
    await client.acknowledgeIncident(incident.id);
    sandbox.advanceTime(29 * MINUTE);
    expect(sandbox.incident(incident.id).status).toBe('acknowledged');
    sandbox.advanceTime(MINUTE);
    expect(sandbox.incident(incident.id)).toMatchObject({ status: 'triggered', acknowledgements: [] });
    expect(assignees(incident.id)).toEqual([SANDBOX_BOT_USER.id]);
    expect(sandbox.history({ incidentId: incident.id }).at(-1)?.eventType).toBe('incident.unacknowledged');
    // Triggered again, the level's timer starts over.
    sandbox.advanceTime(5 * MINUTE);
    expect(assignees(incident.id)).toEqual([SANDBOX_PRIMARY_USER.id]);
  });

  it('assigns users directly through PUT /incidents/{id}: paged at once, and no longer escalated by the policy', async () => {
    const incident = sandbox.triggerIncident({ serviceId: SERVICE, title: 'Payments down' });
    const assigned = await client.assignIncident(incident.id, [SANDBOX_SECONDARY_USER.id]);
    expect(assigned.value.assignments.map((assignment) => assignment.assignee.id)).toEqual([SANDBOX_SECONDARY_USER.id]);
    expect(sandbox.incident(incident.id).assigned_via).toBe('direct_assignment');
    sandbox.advanceTime(60 * MINUTE);
    expect(assignees(incident.id)).toEqual([SANDBOX_SECONDARY_USER.id]);
    expect(sandbox.history({ incidentId: incident.id }).map((entry) => entry.eventType)).toEqual([
      'incident.triggered',
      'incident.reassigned',
    ]);
  });

  it("refuses escalations and assignments with PagerDuty's codes when told to, for one incident or all", async () => {
    const refused = sandbox.triggerIncident({ serviceId: SERVICE, title: 'Refused' });
    const other = sandbox.triggerIncident({ serviceId: SERVICE, title: 'Other' });
    sandbox.refuse('escalate', refused.id);
    sandbox.refuse('assign');
    await expect(client.escalateIncident(refused.id, { mode: 'next_level', level: 2 })).rejects.toMatchObject({ status: 400, code: 1006 });
    await expect(client.assignIncident(other.id, [SANDBOX_PRIMARY_USER.id])).rejects.toMatchObject({ status: 403, code: 2010 });
    await expect(client.escalateIncident(other.id, { mode: 'next_level', level: 2 })).resolves.toMatchObject({ status: 200 });
    sandbox.allow('escalate', refused.id);
    await expect(client.escalateIncident(refused.id, { mode: 'next_level', level: 3 })).resolves.toMatchObject({ status: 200 });
    expect(sandbox.escalationLevel(refused.id)).toBe(3);
  });

  it('answers GET /escalation_policies/{id} with its rules, and a service with its acknowledgement timeout', async () => {
    const headers = { Authorization: `Token token=${SANDBOX_API_TOKEN}`, Accept: 'application/vnd.pagerduty+json;version=2' };
    const policy = (await (await fetch(`${sandbox.apiUrl}/escalation_policies/${AGENT_FIRST}`, { headers })).json()) as {
      escalation_policy: { escalation_rules: { escalation_delay_in_minutes: number; targets: { id: string; type: string }[] }[] };
    };
    expect(
      policy.escalation_policy.escalation_rules.map((rule) => [rule.escalation_delay_in_minutes, rule.targets.map((target) => target.id)]),
    ).toEqual([
      [5, [SANDBOX_BOT_USER.id]],
      [15, [SANDBOX_PRIMARY_USER.id]],
      [30, [SANDBOX_SECONDARY_USER.id]],
    ]);
    const service = (await (await fetch(`${sandbox.apiUrl}/services/${SERVICE}`, { headers })).json()) as {
      service: { acknowledgement_timeout: number | null };
    };
    expect(service.service.acknowledgement_timeout).toBe(1800);
  });
});
