import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { parseEventFilters } from '../config/filters-config';
import { requireEnv } from '../config/runtime-env';
import { createIngressHandler, createMisconfiguredIngressHandler, type IngressHandler } from '../adapters/api-gateway';
import { createTelemetry, type Telemetry } from '../observability/telemetry';
import { EventQueue } from '../queue/event-queue';
import type { WebhookSecretProvider } from '../secrets/signing-secret-source';
import { webhookSecretProviderFromEnv } from '../secrets/webhook-secret-provider';
import { EventLedger } from '../state/event-ledger';

/**
 * The ingress function's wiring, built once per execution environment so clients, the secret cache and the parsed
 * policy outlive invocations. Only what the ingress path needs is imported here: the bundle must stay lean.
 */
export interface IngressWiringOptions {
  /** The runtime contract's variables (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  clients?: { dynamodb?: DynamoDBClient; sqs?: SQSClient; secretsManager?: SecretsManagerClient };
  /** The signing secrets; by default read from WEBHOOK_SECRET_ID (and/or SECRET_ID) through Secrets Manager. */
  secrets?: WebhookSecretProvider;
  telemetry?: Telemetry;
  now?: () => Date;
}

/** A configuration that cannot be read yields a handler answering 503 to every delivery, so PagerDuty retries. */
export function buildIngress(options: IngressWiringOptions = {}): IngressHandler {
  const env = options.env ?? process.env;
  const telemetry = options.telemetry ?? createTelemetry('ingress', env);
  const clients = options.clients ?? {};
  try {
    const filters = parseEventFilters(env.AGENT_CONFIG);
    const ledger = new EventLedger(DynamoDBDocumentClient.from(clients.dynamodb ?? new DynamoDBClient({})), requireEnv('STATE_TABLE', env));
    const queue = new EventQueue(clients.sqs ?? new SQSClient({}), requireEnv('QUEUE_URL', env));
    const secrets = options.secrets ?? webhookSecretProviderFromEnv(clients.secretsManager ?? new SecretsManagerClient({}), env);
    return createIngressHandler({ secrets, ledger, queue, filters, telemetry, now: options.now });
  } catch (error) {
    return createMisconfiguredIngressHandler(error as Error, telemetry);
  }
}
