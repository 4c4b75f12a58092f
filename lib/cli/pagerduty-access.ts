import { authFromSecret } from '../pagerduty/auth';
import { createPagerDutyClient } from '../pagerduty/rest-client';
import type { PagerDutyApi } from '../pagerduty/types';
import type { AgentSecret } from '../secrets/agent-secret';
import type { StackTarget } from './stack-target';

/** A PagerDuty REST client acting with the environment's own credentials and identity. */
export function pagerDutyFor(target: StackTarget, secret: AgentSecret): PagerDutyApi {
  return createPagerDutyClient({
    apiUrl: target.pagerDutyApiUrl,
    auth: authFromSecret(secret, { apiUrl: target.pagerDutyApiUrl, secretId: target.secretId }),
    fromEmail: secret.fromEmail,
  });
}
