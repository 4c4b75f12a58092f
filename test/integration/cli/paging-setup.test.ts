import { acknowledgementOutcome, PagingSetupReader } from '../../../lib/cli/paging-setup';
import type { AgentSecret } from '../../../lib/secrets/agent-secret';
import {
  SANDBOX_API_TOKEN,
  SANDBOX_BOT_USER,
  SANDBOX_PRIMARY_USER,
  SANDBOX_SECONDARY_USER,
  startSandbox,
  type Sandbox,
} from '../../../local/sandbox';
import { DEFAULT_ESCALATION_DELAY_MINUTES } from '../../../local/sandbox/escalation-timers';

/** Both policy shapes doctor and send-test tell apart, read over HTTP from the sandbox as from PagerDuty. */
describe('who PagerDuty pages first, per service', () => {
  let sandbox: Sandbox;
  let reader: PagingSetupReader;
  const secret: AgentSecret = { apiToken: SANDBOX_API_TOKEN, fromEmail: SANDBOX_BOT_USER.email, botUserId: SANDBOX_BOT_USER.id };

  beforeAll(async () => {
    sandbox = await startSandbox({
      seed: {
        users: [SANDBOX_BOT_USER, SANDBOX_PRIMARY_USER, SANDBOX_SECONDARY_USER],
        escalationPolicies: [
          { id: 'PEPAGNT', name: 'Agent first', levels: [[SANDBOX_BOT_USER.id], [SANDBOX_PRIMARY_USER.id, SANDBOX_SECONDARY_USER.id]] },
          { id: 'PEPPPL1', name: 'People first', levels: [[SANDBOX_PRIMARY_USER.id], [SANDBOX_BOT_USER.id]] },
        ],
        services: [
          { id: 'PSVCAGT', name: 'payments', escalationPolicyId: 'PEPAGNT', acknowledgementTimeoutSeconds: 1800 },
          { id: 'PSVCPPL', name: 'checkout', escalationPolicyId: 'PEPPPL1' },
        ],
      },
    });
    reader = new PagingSetupReader({ pagerDutyApiUrl: sandbox.apiUrl, secretId: 'pd-agent/test' }, secret);
  });
  afterAll(async () => sandbox.stop());

  it('a policy whose level 1 is the agent: agent first, with the level delay and the service acknowledgement timeout', async () => {
    const setup = await reader.setupOf('PSVCAGT');
    expect(setup).toEqual({
      serviceId: 'PSVCAGT',
      serviceName: 'payments',
      policyId: 'PEPAGNT',
      policyName: 'Agent first',
      agentFirst: true,
      firstLevel: ['the agent'],
      firstLevelDelayMinutes: DEFAULT_ESCALATION_DELAY_MINUTES,
      acknowledgementTimeoutSeconds: 1800,
    });
    expect(acknowledgementOutcome(setup)).toContain('it acknowledges on triage start');
  });

  it('a policy that pages a person first, the agent only at level 2: not agent first, no acknowledgement timeout', async () => {
    const setup = await reader.setupOf('PSVCPPL');
    expect(setup).toMatchObject({ agentFirst: false, firstLevel: [SANDBOX_PRIMARY_USER.name], acknowledgementTimeoutSeconds: null });
    expect(acknowledgementOutcome(setup)).toContain('PagerDuty keeps paging the people');
  });

  it('reads each escalation policy once per reader, however many of its services are asked about', async () => {
    const shared = new PagingSetupReader({ pagerDutyApiUrl: sandbox.apiUrl, secretId: 'pd-agent/test' }, secret);
    const before = sandbox.requests({ route: 'GET /escalation_policies/{id}' }).length;
    await shared.setupOf('PSVCPPL');
    await shared.setupOf('PSVCPPL');
    expect(sandbox.requests({ route: 'GET /escalation_policies/{id}' })).toHaveLength(before + 1);
  });

  it('the services in scope: the one a service subscription names, every service for an account-wide one', async () => {
    expect(await reader.servicesInScope({ type: 'service_reference', id: 'PSVCPPL' })).toEqual(['PSVCPPL']);
    expect((await reader.servicesInScope({ type: 'account_reference' })).sort()).toEqual(['PSVCAGT', 'PSVCPPL']);
  });

  it('a service PagerDuty does not know is an error naming the read, never a guess', async () => {
    await expect(reader.setupOf('PNOSUCH')).rejects.toMatchObject({ name: 'PagerDutyApiError', status: 404 });
  });
});
