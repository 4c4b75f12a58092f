import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DEFAULT_PAGERDUTY_API_URL, DEFAULT_PAGERDUTY_EVENTS_URL, optionalEnv, requireEnv } from '../config/runtime-env';
import { createTelemetry, type Telemetry } from '../observability/telemetry';
import { authFromSecret } from '../pagerduty/auth';
import { createEventsClient } from '../pagerduty/events-client';
import { createPagerDutyClient } from '../pagerduty/rest-client';
import { createRotationHandler, type RotationEvent } from '../rotation/rotate-credentials';

/** The rotation function's wiring: Secrets Manager calls it once per step with the secret and the pending version. */
export interface RotationWiringOptions {
  /** The runtime contract's variables (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  clients?: { secretsManager?: SecretsManagerClient };
  telemetry?: Telemetry;
  now?: () => Date;
}

export function buildRotation(options: RotationWiringOptions = {}): (event: RotationEvent) => Promise<void> {
  const env = options.env ?? process.env;
  const apiUrl = optionalEnv('PAGERDUTY_API_URL', DEFAULT_PAGERDUTY_API_URL, env);
  const eventsUrl = optionalEnv('PAGERDUTY_EVENTS_URL', DEFAULT_PAGERDUTY_EVENTS_URL, env);
  return createRotationHandler({
    secretsManager: options.clients?.secretsManager ?? new SecretsManagerClient({}),
    pagerDutyFor: (secret) => createPagerDutyClient({ apiUrl, auth: authFromSecret(secret, { apiUrl }), fromEmail: secret.fromEmail }),
    eventsApi: createEventsClient({ eventsUrl }),
    environment: requireEnv('AGENT_ENV', env),
    telemetry: options.telemetry ?? createTelemetry('rotate-secret', env),
    now: options.now,
  });
}
