import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { parseEventFilters } from '../../lib/config/filters-config';
import { createIngressHandler, type IngressHandler } from '../../lib/adapters/api-gateway';
import { MAX_BODY_BYTES } from '../../lib/ingress/receive-delivery';
import { createTelemetry } from '../../lib/observability/telemetry';
import { EventQueue } from '../../lib/queue/event-queue';
import { SECRET_REFRESH_INTERVAL_MS } from '../../lib/secrets/secret-stage';
import { SingleDocumentSigningSecretSource } from '../../lib/secrets/signing-secret-source';
import { EventLedger } from '../../lib/state/event-ledger';
import { startLocalAws, type LocalAws } from '../../local/emulators';
import { WEBHOOK_PATH } from '../../lib/infra/deployment-contract';
import { WEBHOOK_ROUTE } from '../../local/runner/runner';
import { startApiGatewayServer, type ApiGatewayServer } from '../../local/runner/http-server';
import { startSecretsManagerEmulator, type SecretsManagerEmulator } from '../../local/secrets-manager-emulator';
import { apiGatewayEvent, loadFixture, TEST_WEBHOOK_SECRET } from '../support/webhooks';

/**
 * The ingress against hostile and broken deliveries, with real dynalite, local-aws-sqs and Secrets Manager emulators.
 * Unsigned input never reaches the state table or the queue; signed input is never answered 4xx (PagerDuty would
 * drop it and disable the subscription after three); no input makes the function fail.
 */
const OTHER_SECRET = 'not-the-configured-secret';
const TRIGGER = loadFixture('triggered_v3.json');

interface Case {
  name: string;
  event: APIGatewayProxyEventV2;
  /** The documented answer (docs/how-it-works.md "Ingress: what PagerDuty gets back"). */
  status: number;
}

const signedWith = (body: Buffer, secret = TEST_WEBHOOK_SECRET) => apiGatewayEvent(body, { secrets: [secret] });
const oneByteAltered = (body: Buffer): APIGatewayProxyEventV2 => {
  const altered = Buffer.from(body);
  const at = Math.floor(altered.length / 2);
  altered[at] = altered[at] === 0x41 ? 0x42 : 0x41;
  return { ...apiGatewayEvent(body), body: altered.toString('utf8') };
};
const deeplyNested = (depth: number): Buffer => Buffer.from(`${'['.repeat(depth)}${']'.repeat(depth)}`);
const envelope = (event: Record<string, unknown>): Buffer => Buffer.from(JSON.stringify({ event }));
const hugeEnvelope = (bytes: number): Buffer => {
  const base = JSON.parse(TRIGGER.toString('utf8')) as { event: { data: Record<string, unknown> } };
  base.event.data.title = 'x'.repeat(bytes);
  return Buffer.from(JSON.stringify(base));
};

const UNSIGNED: Case[] = [
  { name: 'no signature header', event: apiGatewayEvent(TRIGGER, { signature: null }), status: 401 },
  { name: 'empty signature header', event: apiGatewayEvent(TRIGGER, { signature: '' }), status: 401 },
  { name: 'blank signature header', event: apiGatewayEvent(TRIGGER, { signature: '   ' }), status: 401 },
  { name: 'scheme without a value', event: apiGatewayEvent(TRIGGER, { signature: 'v1=' }), status: 401 },
  { name: 'unknown scheme', event: apiGatewayEvent(TRIGGER, { signature: 'v2=' + 'a'.repeat(64) }), status: 401 },
  { name: 'non-hex value', event: apiGatewayEvent(TRIGGER, { signature: 'v1=' + 'z'.repeat(64) }), status: 401 },
  { name: 'truncated value', event: apiGatewayEvent(TRIGGER, { signature: 'v1=' + 'a'.repeat(63) }), status: 401 },
  {
    name: 'ten thousand entries',
    event: apiGatewayEvent(TRIGGER, { signature: Array.from({ length: 10_000 }, () => 'v1=' + '0'.repeat(64)).join(',') }),
    status: 401,
  },
  { name: 'signed with another secret', event: signedWith(TRIGGER, OTHER_SECRET), status: 401 },
  { name: 'right signature, then one byte of the body altered', event: oneByteAltered(TRIGGER), status: 401 },
  {
    name: 'right signature of the base64 text instead of the bytes',
    event: { ...apiGatewayEvent(Buffer.from(TRIGGER.toString('base64'))), body: TRIGGER.toString('base64'), isBase64Encoded: true },
    status: 401,
  },
  { name: 'GET', event: apiGatewayEvent(TRIGGER, { method: 'GET' }), status: 405 },
  { name: 'PUT, signed', event: apiGatewayEvent(TRIGGER, { method: 'PUT' }), status: 405 },
  { name: 'DELETE', event: apiGatewayEvent(TRIGGER, { method: 'DELETE', signature: null }), status: 405 },
  { name: 'body over the cap, unsigned', event: apiGatewayEvent(Buffer.alloc(MAX_BODY_BYTES + 1, 0x20), { signature: null }), status: 413 },
  { name: 'body over the cap, base64', event: apiGatewayEvent(Buffer.alloc(MAX_BODY_BYTES + 1024, 0x20), { base64: true }), status: 413 },
  { name: 'body of 5 MB', event: apiGatewayEvent(Buffer.alloc(5 * 1024 * 1024, 0x7b), { signature: 'v1=' + 'a'.repeat(64) }), status: 413 },
  {
    name: 'multi-byte characters over the cap',
    event: apiGatewayEvent(Buffer.from('é'.repeat(MAX_BODY_BYTES / 2 + 1)), { signature: null }),
    status: 413,
  },
];

const SIGNED: Case[] = [
  { name: 'empty body', event: signedWith(Buffer.alloc(0)), status: 200 },
  { name: 'not JSON', event: signedWith(Buffer.from('hello, PagerDuty')), status: 200 },
  {
    name: 'invalid UTF-8 (base64 delivery)',
    event: apiGatewayEvent(Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0xff, 0xfe, 0x22, 0x7d]), { base64: true }),
    status: 200,
  },
  { name: 'deeply nested arrays (100,000 levels)', event: signedWith(deeplyNested(100_000)), status: 200 },
  {
    name: 'deeply nested objects under event',
    event: signedWith(Buffer.from(`{"event":${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}}`)),
    status: 200,
  },
  { name: 'JSON null', event: signedWith(Buffer.from('null')), status: 200 },
  { name: 'JSON array', event: signedWith(Buffer.from('[{"event":{}}]')), status: 200 },
  { name: 'JSON string', event: signedWith(Buffer.from('"incident.triggered"')), status: 200 },
  { name: 'event is not an object', event: signedWith(Buffer.from('{"event":42}')), status: 200 },
  { name: 'event without an id', event: signedWith(envelope({ event_type: 'incident.triggered' })), status: 200 },
  { name: 'event id of the wrong type', event: signedWith(envelope({ id: 12345, event_type: 'incident.triggered' })), status: 200 },
  {
    name: 'event id with spaces and controls',
    event: signedWith(envelope({ id: 'a b\u0000c', event_type: 'incident.triggered' })),
    status: 200,
  },
  {
    name: 'event id of 10,000 characters',
    event: signedWith(envelope({ id: 'A'.repeat(10_000), event_type: 'incident.triggered' })),
    status: 200,
  },
  { name: 'event without a type', event: signedWith(envelope({ id: 'EVTNOTYPE' })), status: 200 },
  {
    name: 'incident without an id',
    event: signedWith(envelope({ id: 'EVTNOINC', event_type: 'incident.triggered', data: { type: 'incident' } })),
    status: 200,
  },
  {
    name: 'prototype pollution keys',
    event: signedWith(Buffer.from('{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}},"event":{"__proto__":{"id":"X"}}}')),
    status: 200,
  },
  {
    name: 'unknown event type',
    event: signedWith(
      envelope({ id: 'EVTUNKNOWN01', event_type: 'service.created', resource_type: 'service', data: { id: 'PSVC', type: 'service' } }),
    ),
    status: 200,
  },
  { name: 'ping', event: signedWith(loadFixture('pagey_ping.json')), status: 200 },
  { name: 'valid trigger just under the size cap', event: signedWith(hugeEnvelope(MAX_BODY_BYTES - TRIGGER.length - 1024)), status: 202 },
];

describe('bad input: hostile and broken deliveries to the ingress', () => {
  let aws: LocalAws;
  let secretsManager: SecretsManagerEmulator;
  let ingress: IngressHandler;
  let documents: DynamoDBDocumentClient;
  let sqs: SQSClient;
  const savedEnv = { ...process.env };
  // A signature that matches no cached secret is refused only after a re-read, which the ingress allows once per
  // interval: each unsigned or forged delivery below arrives an interval after the last, except in the burst that
  // tests that limit.
  const clock = { now: Date.now() };
  const nextInterval = (): void => {
    clock.now += SECRET_REFRESH_INTERVAL_MS;
  };

  const stateItems = async (): Promise<Record<string, unknown>[]> =>
    (await documents.send(new ScanCommand({ TableName: aws.stateTable, ConsistentRead: true }))).Items ?? [];
  const queueDepth = async (): Promise<number> => {
    const attributes =
      (
        await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: aws.queueUrl,
            AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
          }),
        )
      ).Attributes ?? {};
    return Number(attributes.ApproximateNumberOfMessages ?? 0) + Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
  };

  beforeAll(async () => {
    aws = await startLocalAws({ agentEnv: 'bad-input' });
    secretsManager = await startSecretsManagerEmulator();
    Object.assign(process.env, aws.env, { AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.endpoint });
    const secrets = new SecretsManagerClient({});
    await secrets.send(
      new CreateSecretCommand({
        Name: 'pd-agent/bad-input',
        SecretString: JSON.stringify({
          apiToken: 'token',
          fromEmail: 'sre-agent@acme.example',
          botUserId: 'PBOT1',
          webhookSecrets: [{ subscriptionId: 'PSUB1', secret: TEST_WEBHOOK_SECRET }],
        }),
      }),
    );
    secrets.destroy();
    const telemetry = createTelemetry('ingress', { AGENT_ENV: 'bad-input' });
    jest.spyOn(telemetry.metrics, 'publishStoredMetrics').mockImplementation(() => telemetry.metrics);
    ingress = createIngressHandler({
      secrets: new SingleDocumentSigningSecretSource({
        client: new SecretsManagerClient({}),
        secretId: 'pd-agent/bad-input',
        now: () => clock.now,
      }),
      ledger: new EventLedger(DynamoDBDocumentClient.from(new DynamoDBClient({})), aws.stateTable),
      queue: new EventQueue(new SQSClient({}), aws.queueUrl),
      filters: parseEventFilters(undefined),
      telemetry,
      now: () => new Date(clock.now),
    });
    documents = DynamoDBDocumentClient.from(new DynamoDBClient({}));
    sqs = new SQSClient({});
  });

  afterAll(async () => {
    documents.destroy();
    sqs.destroy();
    await secretsManager.stop();
    await aws.stop();
    process.env = savedEnv;
  });

  describe('unsigned or not a delivery: refused, and nothing reaches the state table or the queue', () => {
    it.each(UNSIGNED.map((item) => [item.name, item] as const))('%s', async (_name, item) => {
      nextInterval();
      const answer = await ingress(item.event);
      expect(answer.statusCode).toBe(item.status);
    });

    it('a burst of forged signatures within one re-read interval: one re-read refuses the first, the rest are answered 503 (retried, never recorded)', async () => {
      nextInterval();
      const statuses: number[] = [];
      for (let index = 0; index < 5; index++) {
        clock.now += 100;
        statuses.push((await ingress(signedWith(TRIGGER, `${OTHER_SECRET}-${index}`))).statusCode);
      }
      expect(statuses).toEqual([401, 503, 503, 503, 503]);
    });

    it('left no item in the state table and no message in the queue', async () => {
      expect(await stateItems()).toEqual([]);
      expect(await queueDepth()).toBe(0);
    });
  });

  describe('signed: never answered 4xx, kept or ignored, never queued unless it is a usable event', () => {
    it.each(SIGNED.map((item) => [item.name, item] as const))('%s', async (_name, item) => {
      const answer = await ingress(item.event);
      expect(answer.statusCode).toBe(item.status);
    });

    it('queued only the usable trigger, recorded only it and the quarantined bodies', async () => {
      const items = await stateItems();
      const kinds = items.map((item) => String(item.pk).split('#')[0]);
      expect(kinds.filter((kind) => kind === 'event')).toHaveLength(1);
      expect(kinds.every((kind) => kind === 'event' || kind === 'quarantine')).toBe(true);
      // Every unusable signed body is kept for inspection (identical bodies share one quarantine item).
      expect(kinds.filter((kind) => kind === 'quarantine').length).toBeGreaterThanOrEqual(14);
      const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: aws.queueUrl, MaxNumberOfMessages: 10 }));
      expect(received.Messages).toHaveLength(1);
    });
  });

  describe('through API Gateway: only POST on the webhook route reaches the function', () => {
    let gateway: ApiGatewayServer;
    let invoked = 0;

    beforeAll(async () => {
      gateway = await startApiGatewayServer({
        ingress: async (event, context) => {
          invoked += 1;
          return ingress(event, context);
        },
        routes: [WEBHOOK_ROUTE],
        host: '127.0.0.1',
        port: 0,
        functionTimeoutMs: 10_000,
      });
    });
    afterAll(async () => {
      await gateway.stop();
    });

    it.each([
      ['POST', '/'],
      ['POST', '/webhooks'],
      ['POST', `${WEBHOOK_PATH}/extra`],
      ['POST', '/WEBHOOKS/PAGERDUTY'],
      ['GET', WEBHOOK_PATH],
    ])('%s %s is answered 4xx without invoking the function', async (method, path) => {
      const before = invoked;
      const response = await fetch(`${gateway.url}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: method === 'GET' ? undefined : TRIGGER,
      });
      await response.arrayBuffer();
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
      expect(invoked).toBe(before);
    });
  });
});
