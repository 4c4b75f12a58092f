import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { startLocalAws, type LocalAws } from '../../local/emulators';
import { parseEventFilters } from '../../lib/config/filters-config';
import { createIngressHandler, type IngressHandler } from '../../lib/adapters/api-gateway';
import { createTelemetry } from '../../lib/observability/telemetry';
import { EventQueue } from '../../lib/queue/event-queue';
import { decodeQueuedEvent, type QueuedEvent } from '../../lib/queue/queued-event';
import { SingleDocumentSigningSecretSource } from '../../lib/secrets/signing-secret-source';
import { EventLedger } from '../../lib/state/event-ledger';
import { stateKeys } from '../../lib/state/state-keys';
import { apiGatewayEvent, fixtureEventId, loadFixture, TEST_WEBHOOK_SECRET } from '../support/webhooks';

// No Secrets Manager emulator is used here: the secret's client is mocked, DynamoDB and SQS are real local emulators.
const secretsManager = mockClient(SecretsManagerClient);

let aws: LocalAws;
let dynamo: DynamoDBDocumentClient;
let sqs: SQSClient;
let savedEnv: NodeJS.ProcessEnv;

function ingress(queueUrl: string = aws.queueUrl): IngressHandler {
  const telemetry = createTelemetry('ingress', { AGENT_ENV: 'it' });
  jest.spyOn(telemetry.metrics, 'publishStoredMetrics').mockImplementation(() => telemetry.metrics);
  return createIngressHandler({
    // Clients built as functions/ingress.ts builds them: endpoints come from AWS_ENDPOINT_URL_* only.
    ledger: new EventLedger(DynamoDBDocumentClient.from(new DynamoDBClient({})), aws.stateTable),
    queue: new EventQueue(new SQSClient({}), queueUrl),
    secrets: new SingleDocumentSigningSecretSource({ client: new SecretsManagerClient({}), secretId: 'pd-agent/it' }),
    filters: parseEventFilters(undefined),
    telemetry,
  });
}

/** Every message now in the queue, removed from it. */
async function drainQueue(): Promise<QueuedEvent[]> {
  const events: QueuedEvent[] = [];
  for (;;) {
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: aws.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    const messages = received.Messages ?? [];
    if (messages.length === 0) return events;
    for (const message of messages) {
      events.push(decodeQueuedEvent(message.Body as string, message.MessageId as string));
      await sqs.send(new DeleteMessageCommand({ QueueUrl: aws.queueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
  }
}

const ingressStatus = async (eventId: string): Promise<unknown> =>
  (await dynamo.send(new GetCommand({ TableName: aws.stateTable, Key: { pk: stateKeys.event(eventId) }, ConsistentRead: true }))).Item
    ?.ingressStatus;

beforeEach(async () => {
  aws = await startLocalAws({ agentEnv: 'ingress-it' });
  savedEnv = { ...process.env };
  Object.assign(process.env, aws.env);
  dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  sqs = new SQSClient({});
  secretsManager.reset();
  secretsManager.on(GetSecretValueCommand, { VersionStage: 'AWSCURRENT' }).resolves({
    SecretString: JSON.stringify({
      apiToken: 'canary-api-token',
      fromEmail: 'sre-agent@acme.example',
      botUserId: 'PBOT123',
      webhookSecrets: [{ subscriptionId: 'PSUB1', secret: TEST_WEBHOOK_SECRET }],
    }),
    CreatedDate: new Date(),
  });
  for (const stage of ['AWSPENDING', 'AWSPREVIOUS']) {
    secretsManager
      .on(GetSecretValueCommand, { VersionStage: stage })
      .rejects(new ResourceNotFoundException({ message: 'no such stage', $metadata: {} }));
  }
});

afterEach(async () => {
  dynamo.destroy();
  sqs.destroy();
  process.env = savedEnv;
  jest.restoreAllMocks();
  await aws.stop();
});

const triggered = loadFixture('triggered_v3.json');
const eventId = fixtureEventId(triggered);

describe('ingress against local DynamoDB and SQS', () => {
  it('records a signed fixture and enqueues it once, byte for byte', async () => {
    const response = await ingress()(apiGatewayEvent(triggered, { webhookId: 'W1' }));
    expect(response.statusCode).toBe(202);
    expect(await ingressStatus(eventId)).toBe('enqueued');
    const queued = await drainQueue();
    expect(queued).toHaveLength(1);
    expect(queued[0]).toMatchObject({ eventId, incidentId: 'PFQZPSY', webhookId: 'W1' });
    expect(Buffer.from(queued[0].rawBodyBase64, 'base64').equals(triggered)).toBe(true);
  });

  it('answers a redelivery 200 and enqueues nothing', async () => {
    const handler = ingress();
    expect((await handler(apiGatewayEvent(triggered))).statusCode).toBe(202);
    expect(await drainQueue()).toHaveLength(1);
    const again = await handler(apiGatewayEvent(triggered, { webhookId: 'W1-retry' }));
    expect(again.statusCode).toBe(200);
    expect(JSON.parse(again.body)).toEqual({ status: 'duplicate', eventId });
    expect(await drainQueue()).toHaveLength(0);
  });

  it('answers 5xx when the queue is missing, and the retry enqueues the recorded event', async () => {
    const missingQueue = aws.queueUrl.replace(/[^/]+$/, 'missing-queue.fifo');
    expect((await ingress(missingQueue)(apiGatewayEvent(triggered))).statusCode).toBe(503);
    expect(await ingressStatus(eventId)).toBe('received');
    expect(await drainQueue()).toHaveLength(0);

    expect((await ingress()(apiGatewayEvent(triggered))).statusCode).toBe(202);
    expect(await ingressStatus(eventId)).toBe('enqueued');
    expect((await drainQueue()).map((event) => event.eventId)).toEqual([eventId]);
  });

  it('enqueues concurrent deliveries of one event once', async () => {
    const handlers = [ingress(), ingress(), ingress(), ingress(), ingress()];
    const responses = await Promise.all(handlers.map((handler) => handler(apiGatewayEvent(triggered))));
    for (const response of responses) expect([200, 202]).toContain(response.statusCode);
    expect(responses.some((response) => response.statusCode === 202)).toBe(true);
    expect(await drainQueue()).toHaveLength(1);
    expect(await ingressStatus(eventId)).toBe('enqueued');
  });

  it('writes nothing anywhere for a forged delivery', async () => {
    const response = await ingress()(apiGatewayEvent(triggered, { secrets: ['forged-secret'] }));
    expect(response.statusCode).toBe(401);
    const items = await dynamo.send(new ScanCommand({ TableName: aws.stateTable }));
    expect(items.Items).toEqual([]);
    expect(await drainQueue()).toHaveLength(0);
  });
});
