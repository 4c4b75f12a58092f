import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { parseAgentConfig } from '../lib/config/agent-config';
import { requireEnv } from '../lib/config/runtime-env';
import { createIngressHandler, createMisconfiguredIngressHandler, type IngressHandler } from '../lib/ingress/ingress-handler';
import { createTelemetry } from '../lib/observability/telemetry';
import { EventQueue } from '../lib/queue/event-queue';
import { webhookSecretProviderFromEnv } from '../lib/secrets/webhook-secret-provider';
import { EventLedger } from '../lib/state/event-ledger';

const telemetry = createTelemetry('ingress');

/** Built once per execution environment, so clients, the secret cache and the parsed policy outlive invocations. */
function buildHandler(): IngressHandler {
  try {
    const filters = parseAgentConfig(process.env.AGENT_CONFIG).filters;
    const ledger = new EventLedger(DynamoDBDocumentClient.from(new DynamoDBClient({})), requireEnv('STATE_TABLE'));
    const queue = new EventQueue(new SQSClient({}), requireEnv('QUEUE_URL'));
    const secrets = webhookSecretProviderFromEnv(new SecretsManagerClient({}), process.env);
    return createIngressHandler({ secrets, ledger, queue, filters, telemetry });
  } catch (error) {
    return createMisconfiguredIngressHandler(error as Error, telemetry);
  }
}

export const handler: IngressHandler = buildHandler();
