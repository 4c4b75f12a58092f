import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DEFAULT_PAGERDUTY_API_URL, DEFAULT_PAGERDUTY_EVENTS_URL, optionalEnv, requireEnv } from '../lib/config/runtime-env';
import { createTelemetry } from '../lib/observability/telemetry';
import { authFromSecret } from '../lib/pagerduty/auth';
import { createEventsClient } from '../lib/pagerduty/events-client';
import { createPagerDutyClient } from '../lib/pagerduty/rest-client';
import { createRotationHandler, type RotationEvent } from '../lib/secrets/rotation';

const apiUrl = optionalEnv('PAGERDUTY_API_URL', DEFAULT_PAGERDUTY_API_URL);
const eventsUrl = optionalEnv('PAGERDUTY_EVENTS_URL', DEFAULT_PAGERDUTY_EVENTS_URL);

const rotate = createRotationHandler({
  secretsManager: new SecretsManagerClient({}),
  pagerDutyFor: (secret) => createPagerDutyClient({ apiUrl, auth: authFromSecret(secret, { apiUrl }), fromEmail: secret.fromEmail }),
  eventsApi: createEventsClient({ eventsUrl }),
  environment: requireEnv('AGENT_ENV'),
  telemetry: createTelemetry('rotate-secret'),
});

/** Secrets Manager rotation entry point: one call per step (createSecret, setSecret, testSecret, finishSecret). */
export const handler = (event: RotationEvent): Promise<void> => rotate(event);
