import { SandboxRefusal, type AccountState } from './account-state';
import type { Route } from './rest-routes';

/**
 * The sandbox's levels carry no delay of their own; each level reads as PagerDuty's documented default so a reader of
 * the policy sees a complete escalation rule.
 */
export const SANDBOX_LEVEL_DELAY_MINUTES = 30;

/** `GET /escalation_policies/{id}` as PagerDuty answers it: one escalation rule per level, its users as targets. */
export function escalationPolicyRoutes(state: AccountState): Route[] {
  return [
    {
      method: 'GET',
      pattern: '/escalation_policies/{id}',
      scope: 'escalation_policies.read',
      handle: ({ params }) => {
        const policy = state.escalationPolicies.get(params.id);
        if (policy === undefined) throw new SandboxRefusal(404, 2100, 'Not Found', [`No escalation policy ${params.id}`]);
        return {
          status: 200,
          body: {
            escalation_policy: {
              ...state.policyRef(policy.id),
              type: 'escalation_policy',
              name: policy.name,
              num_loops: 0,
              escalation_rules: policy.levels.map((userIds, index) => ({
                id: `${policy.id}R${index + 1}`,
                escalation_delay_in_minutes: SANDBOX_LEVEL_DELAY_MINUTES,
                targets: userIds.map((userId) => state.userRef(userId)),
              })),
            },
          },
        };
      },
    },
  ];
}
