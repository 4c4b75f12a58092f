import type { SandboxSeed } from './account-state';

/**
 * The account a sandbox starts with unless told otherwise: the agent's bot user, two humans on a two-level escalation
 * policy, and one service. Tests and the local stack refer to these ids and emails.
 */
export const SANDBOX_BOT_USER = { id: 'PBOT001', name: 'SRE Agent (sandbox)', email: 'sre-agent@sandbox.example' } as const;
export const SANDBOX_PRIMARY_USER = { id: 'PUSR001', name: 'Ada Oncall', email: 'ada@sandbox.example' } as const;
export const SANDBOX_SECONDARY_USER = { id: 'PUSR002', name: 'Grace Backup', email: 'grace@sandbox.example' } as const;
export const SANDBOX_ESCALATION_POLICY_ID = 'PEP0001';
export const SANDBOX_SERVICE_ID = 'PSVC001';
export const SANDBOX_API_TOKEN = 'sandbox-rest-api-key';
export const SANDBOX_INTEGRATION_KEY = 'sandboxintegrationkey00000000001';

export const DEFAULT_SANDBOX_SEED: SandboxSeed = {
  users: [SANDBOX_BOT_USER, SANDBOX_PRIMARY_USER, SANDBOX_SECONDARY_USER],
  escalationPolicies: [
    { id: SANDBOX_ESCALATION_POLICY_ID, name: 'Checkout on call', levels: [[SANDBOX_PRIMARY_USER.id], [SANDBOX_SECONDARY_USER.id]] },
  ],
  services: [
    {
      id: SANDBOX_SERVICE_ID,
      name: 'checkout-api',
      escalationPolicyId: SANDBOX_ESCALATION_POLICY_ID,
      integrationKey: SANDBOX_INTEGRATION_KEY,
    },
  ],
};
