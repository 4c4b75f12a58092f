import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { parseEventFilters, type EventFilters } from '../../../lib/config/filters-config';
import { createIngressHandler, createMisconfiguredIngressHandler, type IngressResponse } from '../../../lib/adapters/api-gateway';
import { CLAIMED_VALUE_MAX_CHARS, claimedValue, MAX_BODY_BYTES, SIGNATURE_UNCONFIRMED } from '../../../lib/ingress/receive-delivery';
import { createTelemetry, MetricName, type Telemetry } from '../../../lib/observability/telemetry';
import { EventQueue } from '../../../lib/queue/event-queue';
import { decodeQueuedEvent } from '../../../lib/queue/queued-event';
import {
  SIGNING_SECRETS_MAX_AGE_MS,
  SigningSecretSource,
  SingleDocumentSigningSecretSource,
  type WebhookSecretProvider,
} from '../../../lib/secrets/signing-secret-source';
import { EventLedger } from '../../../lib/state/event-ledger';
import { buildIngress } from '../../../lib/wiring/ingress';
import { apiGatewayEvent, fixtureEventId, loadFixture, TEST_WEBHOOK_SECRET, type DeliveryOptions } from '../../support/webhooks';

const dynamo = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);
const secretsManager = mockClient(SecretsManagerClient);

const SECRET_ID = 'pd-agent/test';
const NOW = new Date('2026-04-01T02:07:31.000Z');
const triggered = loadFixture('triggered_v3.json');
const triggeredId = fixtureEventId(triggered);

const agentSecret = (webhookSecrets: string[]) =>
  JSON.stringify({
    apiToken: 'canary-api-token',
    fromEmail: 'sre-agent@acme.example',
    botUserId: 'PBOT123',
    webhookSecrets: webhookSecrets.map((secret, index) => ({ subscriptionId: `PSUB${index}`, secret })),
  });

const notFound = () => new ResourceNotFoundException({ message: 'not found', $metadata: {} });
const conditionalFailure = () => new ConditionalCheckFailedException({ message: 'exists', $metadata: {} });

function stageSecrets(stages: { current: string[]; currentCreated?: Date; pending?: string[]; previous?: string[] }): void {
  secretsManager.on(GetSecretValueCommand, { VersionStage: 'AWSCURRENT' }).resolves({
    SecretString: agentSecret(stages.current),
    CreatedDate: stages.currentCreated ?? new Date(NOW.getTime() - 30 * 86400_000),
  });
  for (const [stage, secrets] of [
    ['AWSPENDING', stages.pending],
    ['AWSPREVIOUS', stages.previous],
  ] as const) {
    if (secrets === undefined) secretsManager.on(GetSecretValueCommand, { VersionStage: stage }).rejects(notFound());
    else secretsManager.on(GetSecretValueCommand, { VersionStage: stage }).resolves({ SecretString: agentSecret(secrets) });
  }
}

interface Harness {
  deliver(body: Buffer, options?: DeliveryOptions): Promise<IngressResponse>;
  metrics: string[];
  logs: string[];
  clock: { now: number };
}

/** Telemetry whose metrics and log lines the test can read, and that publishes nothing. */
function spiedTelemetry(): { telemetry: Telemetry; metrics: string[]; logs: string[] } {
  const telemetry = createTelemetry('ingress', { AGENT_ENV: 'test' });
  const metrics: string[] = [];
  const logs: string[] = [];
  jest.spyOn(telemetry.metrics, 'addMetric').mockImplementation((name) => {
    metrics.push(name);
    return telemetry.metrics;
  });
  jest.spyOn(telemetry.metrics, 'hasStoredMetrics').mockReturnValue(false);
  jest.spyOn(telemetry.metrics, 'publishStoredMetrics').mockImplementation(() => telemetry.metrics);
  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    jest.spyOn(telemetry.logger, level).mockImplementation((...args: unknown[]) => {
      logs.push(JSON.stringify(args, (_key, value: unknown) => (value instanceof Error ? value.message : value)));
    });
  }
  return { telemetry, metrics, logs };
}

function harness(
  filters: EventFilters = parseEventFilters(undefined),
  secretsFor: (now: () => number) => WebhookSecretProvider = (now) =>
    new SingleDocumentSigningSecretSource({ client: new SecretsManagerClient({}), secretId: SECRET_ID, now }),
): Harness {
  const { telemetry, metrics, logs } = spiedTelemetry();
  const clock = { now: NOW.getTime() };
  const secrets = secretsFor(() => clock.now);
  const handler = createIngressHandler({
    secrets,
    ledger: new EventLedger(DynamoDBDocumentClient.from(new DynamoDBClient({})), 'state'),
    queue: new EventQueue(new SQSClient({}), 'https://sqs.us-east-1.amazonaws.com/123456789012/events.fifo'),
    filters,
    telemetry,
    now: () => new Date(clock.now),
  });
  return { deliver: (body, options) => handler(apiGatewayEvent(body, options)), metrics, logs, clock };
}

const bodyOf = (response: IngressResponse): Record<string, unknown> => JSON.parse(response.body) as Record<string, unknown>;
const nothingWritten = (): void => {
  expect(dynamo.commandCalls(PutCommand)).toHaveLength(0);
  expect(dynamo.commandCalls(UpdateCommand)).toHaveLength(0);
  expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
};

beforeEach(() => {
  dynamo.reset();
  sqs.reset();
  secretsManager.reset();
  stageSecrets({ current: [TEST_WEBHOOK_SECRET] });
  dynamo.on(PutCommand).resolves({});
  dynamo.on(UpdateCommand).resolves({});
  sqs.on(SendMessageCommand).resolves({ MessageId: 'message-1' });
});

afterEach(() => jest.restoreAllMocks());

describe('202: signed, new, recorded and enqueued', () => {
  it("records the event, enqueues the exact bytes in the incident's group, then marks it enqueued", async () => {
    const { deliver, metrics } = harness();
    const response = await deliver(triggered, { webhookId: 'W1', subscriptionId: 'PSUB0' });

    expect(response.statusCode).toBe(202);
    expect(bodyOf(response)).toEqual({ status: 'enqueued', eventId: triggeredId });
    const put = dynamo.commandCalls(PutCommand)[0].args[0].input;
    expect(put.ConditionExpression).toBe('attribute_not_exists(pk)');
    expect(put.Item).toEqual({
      pk: `event#${triggeredId}`,
      ingressStatus: 'received',
      eventType: 'incident.triggered',
      incidentId: 'PFQZPSY',
      webhookId: 'W1',
      subscriptionId: 'PSUB0',
      receivedAt: NOW.toISOString(),
      expiresAt: Math.floor(NOW.getTime() / 1000) + 7 * 24 * 3600,
    });
    const sent = sqs.commandCalls(SendMessageCommand)[0].args[0].input;
    expect(sent.MessageGroupId).toBe('PFQZPSY');
    expect(sent.MessageDeduplicationId).toBe(triggeredId);
    const queued = decodeQueuedEvent(sent.MessageBody as string, 'm');
    expect(Buffer.from(queued.rawBodyBase64, 'base64').equals(triggered)).toBe(true);
    expect(queued).toMatchObject({ eventId: triggeredId, incidentId: 'PFQZPSY', webhookId: 'W1', subscriptionId: 'PSUB0' });
    const update = dynamo.commandCalls(UpdateCommand)[0].args[0].input;
    expect(update.UpdateExpression).toBe('SET ingressStatus = :enqueued, enqueuedAt = :at');
    expect(metrics).toEqual([MetricName.webhookReceived, MetricName.webhookEnqueued]);
  });

  it('verifies and forwards a base64-encoded body byte for byte', async () => {
    const { deliver } = harness();
    const response = await deliver(triggered, { base64: true });
    expect(response.statusCode).toBe(202);
    const queued = decodeQueuedEvent(sqs.commandCalls(SendMessageCommand)[0].args[0].input.MessageBody as string, 'm');
    expect(Buffer.from(queued.rawBodyBase64, 'base64').equals(triggered)).toBe(true);
  });

  it('finds the signature header whatever its case', async () => {
    const { deliver } = harness();
    const signature = apiGatewayEvent(triggered).headers['x-pagerduty-signature'] as string;
    const response = await deliver(triggered, { signature: null, extraHeaders: { 'X-PagerDuty-Signature': signature } });
    expect(response.statusCode).toBe(202);
  });

  it('gives an event without an incident a FIFO group of its own', async () => {
    const { deliver } = harness(parseEventFilters('{"filters":{"eventTypes":["*"]}}'));
    const body = Buffer.from('{"event":{"id":"01SVC","event_type":"service.updated","data":{"id":"PSVC","type":"service"}}}');
    expect((await deliver(body)).statusCode).toBe(202);
    expect(sqs.commandCalls(SendMessageCommand)[0].args[0].input.MessageGroupId).toBe('event-01SVC');
  });

  it('enqueues an event recorded earlier whose enqueue never completed', async () => {
    dynamo.on(PutCommand).rejects(conditionalFailure());
    dynamo.on(GetCommand).resolves({ Item: { ingressStatus: 'received' } });
    const { deliver } = harness();
    const response = await deliver(triggered);
    expect(response.statusCode).toBe(202);
    expect(dynamo.commandCalls(GetCommand)[0].args[0].input.ConsistentRead).toBe(true);
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(1);
    expect(dynamo.commandCalls(UpdateCommand)).toHaveLength(1);
  });

  it('still answers 202 when the event is queued but marking it enqueued fails', async () => {
    dynamo.on(UpdateCommand).rejects(new Error('throttled'));
    const { deliver } = harness();
    expect((await deliver(triggered)).statusCode).toBe(202);
  });
});

describe('200: duplicates, pings, filtered events', () => {
  it('answers a redelivery of an enqueued event 200 duplicate and enqueues nothing', async () => {
    dynamo.on(PutCommand).rejects(conditionalFailure());
    dynamo.on(GetCommand).resolves({ Item: { ingressStatus: 'enqueued', workStatus: 'done' } });
    const { deliver, metrics } = harness();
    const response = await deliver(triggered);
    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toEqual({ status: 'duplicate', eventId: triggeredId });
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
    expect(dynamo.commandCalls(UpdateCommand)).toHaveLength(0);
    expect(metrics).toContain(MetricName.webhookDuplicate);
  });

  it('answers a ping 200 and writes nothing', async () => {
    const { deliver, metrics } = harness();
    const response = await deliver(loadFixture('pagey_ping.json'));
    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toMatchObject({ status: 'ping' });
    expect(metrics).toContain(MetricName.webhookIgnored);
    nothingWritten();
  });

  it('answers a filtered-out event 200 with the reason and writes nothing', async () => {
    const { deliver, metrics } = harness(parseEventFilters('{"filters":{"eventTypes":["incident.triggered"]}}'));
    const response = await deliver(loadFixture('acknowledged_v3.json'));
    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toMatchObject({ status: 'filtered', reason: expect.stringContaining('incident.acknowledged') });
    expect(metrics).toContain(MetricName.webhookIgnored);
    nothingWritten();
  });
});

describe('2xx for a signed but unparseable body: quarantined and alarmed', () => {
  it('keeps the body with its delivery headers and answers 200', async () => {
    const { deliver, metrics } = harness();
    const garbage = Buffer.from('{"event": not json');
    const response = await deliver(garbage, { webhookId: 'W9', extraHeaders: { authorization: 'Bearer canary-token' } });
    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toEqual({ status: 'quarantined', reason: 'not-json' });
    const put = dynamo.commandCalls(PutCommand)[0].args[0].input;
    expect(put.Item).toMatchObject({
      pk: `quarantine#${createHash('sha256').update(garbage).digest('hex')}`,
      bodyBase64: garbage.toString('base64'),
      headers: expect.objectContaining({ 'x-webhook-id': 'W9', 'x-pagerduty-signature': expect.any(String) }),
    });
    expect(JSON.stringify(put.Item)).not.toContain('canary-token');
    expect(metrics).toContain(MetricName.webhookQuarantined);
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('answers 503 when the body cannot be kept', async () => {
    dynamo.on(PutCommand).rejects(new Error('table unavailable'));
    const { deliver } = harness();
    expect((await deliver(Buffer.from('[]'))).statusCode).toBe(503);
  });
});

describe('401: missing or bad signature', () => {
  it.each([
    ['missing', { signature: null }, MetricName.signatureMissing],
    ['malformed', { signature: 'v1=zz' }, MetricName.signatureMalformed],
    ['mismatch', { secrets: ['forged'] }, MetricName.signatureMismatch],
  ] as const)('rejects a %s signature, counts it and writes nothing', async (reason, options, metric) => {
    const { deliver, metrics } = harness();
    const response = await deliver(triggered, options);
    expect(response.statusCode).toBe(401);
    expect(bodyOf(response)).toEqual({ status: 'unauthorized', reason });
    expect(metrics).toEqual([MetricName.webhookReceived, MetricName.signatureInvalid, metric]);
    nothingWritten();
  });

  it('reads no secret for a missing or malformed header, so even a broken secret cannot turn it into a 503', async () => {
    secretsManager.on(GetSecretValueCommand).rejects(new Error('AccessDeniedException'));
    const { deliver } = harness();
    expect((await deliver(triggered, { signature: null })).statusCode).toBe(401);
    expect((await deliver(triggered, { signature: 'v1=' })).statusCode).toBe(401);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });

  it('never logs the signature, the secret or the body', async () => {
    const { deliver, logs } = harness();
    const forged = apiGatewayEvent(triggered, { secrets: ['forged'] }).headers['x-pagerduty-signature'] as string;
    await deliver(triggered, { signature: forged });
    await deliver(triggered);
    const all = logs.join('\n');
    expect(all).not.toContain(forged.slice(3));
    expect(all).not.toContain(TEST_WEBHOOK_SECRET);
    expect(all).not.toContain('canary-api-token');
    expect(all).not.toContain('Test Incident');
  });
});

/** The same delivery as the REST API behind AWS WAF hands it over (payload 1.0, header names as sent). */
function restApiEvent(body: Buffer, options: DeliveryOptions = {}): APIGatewayProxyEvent {
  const http = apiGatewayEvent(body, options);
  const headers = Object.fromEntries(
    Object.entries(http.headers).map(([name, value]) => [
      name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase()),
      value,
    ]),
  );
  return {
    httpMethod: options.method ?? 'POST',
    path: '/webhooks/pagerduty',
    resource: '/webhooks/pagerduty',
    headers,
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body: http.body ?? null,
    isBase64Encoded: http.isBase64Encoded,
    requestContext: { identity: { sourceIp: '44.242.69.192' } } as APIGatewayProxyEvent['requestContext'],
  };
}

describe('the REST API behind AWS WAF (webhookIngress.waf, payload 1.0) gets the same answers', () => {
  const restHarness = () => {
    const { telemetry, metrics, logs } = spiedTelemetry();
    const handler = createIngressHandler({
      secrets: new SingleDocumentSigningSecretSource({
        client: new SecretsManagerClient({}),
        secretId: SECRET_ID,
        now: () => NOW.getTime(),
      }),
      ledger: new EventLedger(DynamoDBDocumentClient.from(new DynamoDBClient({})), 'state'),
      queue: new EventQueue(new SQSClient({}), 'https://sqs.us-east-1.amazonaws.com/123456789012/events.fifo'),
      filters: parseEventFilters(undefined),
      telemetry,
      now: () => NOW,
    });
    return { deliver: (body: Buffer, options?: DeliveryOptions) => handler(restApiEvent(body, options)), metrics, logs };
  };

  it.each([false, true])('enqueues the exact bytes of a signed delivery (base64: %p) with its capitalised headers', async (base64) => {
    const { deliver } = restHarness();
    const response = await deliver(triggered, { base64, webhookId: 'W7', subscriptionId: 'PSUB0' });
    expect(response.statusCode).toBe(202);
    const queued = decodeQueuedEvent(sqs.commandCalls(SendMessageCommand)[0].args[0].input.MessageBody as string, 'm');
    expect(Buffer.from(queued.rawBodyBase64, 'base64').equals(triggered)).toBe(true);
    expect(queued).toMatchObject({ webhookId: 'W7', subscriptionId: 'PSUB0' });
  });

  it('refuses an unsigned one 401 with the source IP API Gateway saw, and a GET 405', async () => {
    const { deliver, logs } = restHarness();
    expect((await deliver(triggered, { signature: null })).statusCode).toBe(401);
    expect(logs.join('\n')).toContain('"sourceIp":"44.242.69.192"');
    expect((await deliver(triggered, { method: 'GET' })).statusCode).toBe(405);
    nothingWritten();
  });
});

describe('header values are claims: logged cut short and labelled as claimed', () => {
  const long = (prefix: string): string => `${prefix}${'x'.repeat(5000)}`;

  it.each([
    ['an unsigned delivery (401)', { signature: null }],
    ['a forged signature (401 after the re-read)', { secrets: ['forged'] }],
    ['a genuine delivery whose headers are still unverified (the signature covers the body only)', {}],
  ] satisfies [string, DeliveryOptions][])('%s', async (_name, options) => {
    const { deliver, logs } = harness();
    stageSecrets({ current: [TEST_WEBHOOK_SECRET] });
    dynamo.on(PutCommand).rejects(new Error('state table down'));
    await deliver(triggered, {
      ...options,
      webhookId: long('W-'),
      subscriptionId: long('S-'),
      extraHeaders: { 'user-agent': long('UA-') },
    });
    expect(logs.length).toBeGreaterThan(0);
    const fields = logs.map((line) => (JSON.parse(line) as [string, Record<string, unknown>])[1]);
    for (const field of fields) {
      expect(field).not.toHaveProperty('webhookId');
      expect(field).not.toHaveProperty('subscriptionId');
      expect(field).not.toHaveProperty('userAgent');
      expect(field.claimedWebhookId).toBe(`W-${'x'.repeat(CLAIMED_VALUE_MAX_CHARS - 2)}…[4938 more characters cut]`);
      expect(field.claimedSubscriptionId).toMatch(/^S-x{62}…\[4938 more characters cut\]$/);
    }
    expect(logs.join('\n')).not.toContain('x'.repeat(CLAIMED_VALUE_MAX_CHARS + 1));
  });

  it('keeps a value of PagerDuty size whole and says when there is none', () => {
    expect(claimedValue('PSUB0')).toBe('PSUB0');
    expect(claimedValue('a'.repeat(CLAIMED_VALUE_MAX_CHARS))).toBe('a'.repeat(CLAIMED_VALUE_MAX_CHARS));
    expect(claimedValue(undefined)).toBeNull();
  });

  it('labels the method and path of a request that is not a POST, cut short', async () => {
    const { telemetry, logs: lines } = spiedTelemetry();
    const handler = createIngressHandler({
      secrets: new SingleDocumentSigningSecretSource({ client: new SecretsManagerClient({}), secretId: SECRET_ID }),
      ledger: new EventLedger(DynamoDBDocumentClient.from(new DynamoDBClient({})), 'state'),
      queue: new EventQueue(new SQSClient({}), 'https://sqs.us-east-1.amazonaws.com/123456789012/events.fifo'),
      filters: parseEventFilters(undefined),
      telemetry,
    });
    const request = apiGatewayEvent(triggered);
    request.requestContext.http.method = 'GET';
    request.rawPath = long('/probe/');
    expect((await handler(request)).statusCode).toBe(405);
    const [, field] = JSON.parse(lines[0]) as [string, Record<string, unknown>];
    expect(field).toEqual({ claimedMethod: 'GET', claimedPath: `/probe/${'x'.repeat(57)}…[4943 more characters cut]` });
  });
});

describe('a signature matching no cached secret: 401 only once a list read after the delivery arrived refuses it', () => {
  const reads = (): number => secretsManager.commandCalls(GetSecretValueCommand).length;

  it('refuses a forgery arriving at a cold start with the read it started, without a second one', async () => {
    const { deliver } = harness();
    expect((await deliver(triggered, { secrets: ['forged'] })).statusCode).toBe(401);
    expect(reads()).toBe(2);
  });

  it('re-reads a list cached before the delivery arrived, then refuses the forgery', async () => {
    const { deliver, clock } = harness();
    expect((await deliver(triggered)).statusCode).toBe(202);
    clock.now += 1000;
    expect((await deliver(triggered, { secrets: ['forged'] })).statusCode).toBe(401);
    expect(reads()).toBe(4);
  });

  it("answers 503, not 401, to a delivery signed with a secret stored after a forgery used up the re-read, and takes PagerDuty's retry", async () => {
    const { deliver, clock, metrics, logs } = harness();
    expect((await deliver(triggered)).statusCode).toBe(202);
    clock.now += 1000;
    expect((await deliver(triggered, { secrets: ['forged'] })).statusCode).toBe(401);
    stageSecrets({ current: [TEST_WEBHOOK_SECRET, 'just-stored'] });
    dynamo.reset();
    dynamo.on(PutCommand).resolves({});
    dynamo.on(UpdateCommand).resolves({});
    sqs.reset();
    sqs.on(SendMessageCommand).resolves({ MessageId: 'message-2' });
    metrics.length = 0;
    const acknowledged = loadFixture('acknowledged_v3.json');

    clock.now += 1000;
    const first = await deliver(acknowledged, { secrets: ['just-stored'] });
    expect(first.statusCode).toBe(503);
    expect(bodyOf(first)).toEqual({ status: 'unavailable', reason: SIGNATURE_UNCONFIRMED });
    expect(metrics).toEqual([MetricName.webhookReceived, MetricName.signatureUnconfirmed]);
    expect(logs.at(-1)).toContain('answered 503 so PagerDuty retries');
    nothingWritten();

    clock.now += 10_000;
    expect((await deliver(acknowledged, { secrets: ['just-stored'] })).statusCode).toBe(202);
  });

  it('keeps a forged flood to one Secrets Manager read per 10 s: 401 after a re-read, 503 in between, nothing written', async () => {
    const { deliver, clock, metrics } = harness();
    expect((await deliver(triggered)).statusCode).toBe(202);
    dynamo.reset();
    sqs.reset();
    metrics.length = 0;
    const statuses: number[] = [];
    for (let second = 1; second <= 20; second++) {
      clock.now += 1000;
      statuses.push((await deliver(triggered, { secrets: [`forged-${second}`] })).statusCode);
    }
    expect(statuses.filter((status) => status === 401)).toHaveLength(2);
    expect(statuses.filter((status) => status === 503)).toHaveLength(18);
    expect([statuses[0], statuses[10]]).toEqual([401, 401]);
    expect(reads()).toBe(2 + 2 * 2);
    expect(metrics).not.toContain(MetricName.ingressFailure);
    nothingWritten();
  });

  it('answers 503, not 401, when the re-read fails', async () => {
    const { deliver, clock, metrics } = harness();
    expect((await deliver(triggered)).statusCode).toBe(202);
    secretsManager.on(GetSecretValueCommand).rejects(new Error('ThrottlingException'));
    clock.now += 1000;
    const response = await deliver(triggered, { secrets: ['forged-or-just-stored'] });
    expect(response.statusCode).toBe(503);
    expect(bodyOf(response)).toEqual({ status: 'unavailable', reason: SIGNATURE_UNCONFIRMED });
    expect(metrics).toContain(MetricName.ingressFailure);
    expect(metrics).not.toContain(MetricName.signatureInvalid);
  });
});

describe('signing secrets in a single document (a stack deployed before the split)', () => {
  it('accepts a secret added since the last read at once', async () => {
    const { deliver, clock } = harness();
    expect((await deliver(triggered)).statusCode).toBe(202);
    stageSecrets({ current: [TEST_WEBHOOK_SECRET, 'new-subscription-secret'] });
    clock.now += 1000;
    const response = await deliver(loadFixture('acknowledged_v3.json'), { secrets: ['new-subscription-secret'] });
    expect(response.statusCode).toBe(202);
  });

  it("never trusts AWSPENDING's secrets: a staged copy can add only a secret revoked since, and a failed rotation leaves it for good", async () => {
    stageSecrets({ current: [TEST_WEBHOOK_SECRET], pending: ['revoked-after-staging'] });
    const { deliver } = harness();
    expect((await deliver(triggered, { secrets: ['revoked-after-staging'] })).statusCode).toBe(401);
    expect(secretsManager.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input.VersionStage)).not.toContain('AWSPENDING');
  });

  it("accepts AWSPREVIOUS's secrets for 48 hours after the rotation, then no more", async () => {
    stageSecrets({ current: ['new-secret'], previous: ['old-secret'], currentCreated: new Date(NOW.getTime() - 47 * 3600_000) });
    const young = harness();
    expect((await young.deliver(triggered, { secrets: ['old-secret'] })).statusCode).toBe(202);

    stageSecrets({ current: ['new-secret'], previous: ['old-secret'], currentCreated: new Date(NOW.getTime() - 49 * 3600_000) });
    const old = harness();
    expect((await old.deliver(triggered, { secrets: ['old-secret'] })).statusCode).toBe(401);
  });
});

describe('signing secrets in their own document (split layout)', () => {
  const SIGNING_ID = 'pd-agent/test/webhook-signing';
  const signingDocument = (secrets: string[]) =>
    JSON.stringify({ webhookSecrets: secrets.map((secret, index) => ({ subscriptionId: `PSUB${index}`, secret })) });
  const signingStage = (stage: 'AWSCURRENT' | 'AWSPENDING' | 'AWSPREVIOUS', value: string) =>
    secretsManager.on(GetSecretValueCommand, { SecretId: SIGNING_ID, VersionStage: stage }).resolves({ SecretString: value });
  const split = (options: { fallback?: boolean } = {}) =>
    harness(
      parseEventFilters(undefined),
      (now) =>
        new SigningSecretSource({
          client: new SecretsManagerClient({}),
          secretId: SIGNING_ID,
          now,
          ...(options.fallback === true
            ? { fallback: new SingleDocumentSigningSecretSource({ client: new SecretsManagerClient({}), secretId: SECRET_ID, now }) }
            : {}),
        }),
    );

  it('verifies against AWSCURRENT of the signing document and never reads the credentials secret', async () => {
    signingStage('AWSCURRENT', signingDocument(['signing-secret']));
    const { deliver } = split();
    expect((await deliver(triggered, { secrets: ['signing-secret'] })).statusCode).toBe(202);
    const read = secretsManager.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input);
    expect(read).toEqual([{ SecretId: SIGNING_ID, VersionStage: 'AWSCURRENT' }]);
  });

  it('does not trust AWSPENDING or AWSPREVIOUS of the signing document: no rotation stages it, and AWSPREVIOUS holds what was revoked', async () => {
    signingStage('AWSCURRENT', signingDocument(['live-secret']));
    signingStage('AWSPENDING', signingDocument(['pending-secret']));
    signingStage('AWSPREVIOUS', signingDocument(['revoked-secret']));
    const { deliver } = split();
    expect((await deliver(triggered, { secrets: ['pending-secret'] })).statusCode).toBe(401);
    expect((await deliver(triggered, { secrets: ['revoked-secret'] })).statusCode).toBe(401);
    expect((await deliver(triggered, { secrets: ['live-secret'] })).statusCode).toBe(202);
  });

  it('accepts a just-added secret at once, and refuses a revoked one once its short cache has expired', async () => {
    signingStage('AWSCURRENT', signingDocument(['old-secret']));
    const { deliver, clock } = split();
    expect((await deliver(triggered, { secrets: ['old-secret'] })).statusCode).toBe(202);
    signingStage('AWSCURRENT', signingDocument(['old-secret', 'new-secret']));
    clock.now += 1000;
    expect((await deliver(loadFixture('acknowledged_v3.json'), { secrets: ['new-secret'] })).statusCode).toBe(202);
    signingStage('AWSCURRENT', signingDocument(['new-secret']));
    clock.now += SIGNING_SECRETS_MAX_AGE_MS;
    expect((await deliver(loadFixture('resolved_v3.json'), { secrets: ['old-secret'] })).statusCode).toBe(401);
  });

  it("while migrating, reads SECRET_ID's signing secrets as long as the signing document holds its placeholder", async () => {
    signingStage('AWSCURRENT', JSON.stringify({ notSet: 'run pd-agent webhook subscribe', placeholder: 'abc' }));
    const { deliver } = split({ fallback: true });
    expect((await deliver(triggered)).statusCode).toBe(202);
  });

  it('answers 503, naming the command to run, when the document holds its placeholder and there is nothing to fall back to', async () => {
    signingStage('AWSCURRENT', JSON.stringify({ notSet: 'run pd-agent webhook subscribe', placeholder: 'abc' }));
    const { deliver, logs } = split();
    expect((await deliver(triggered)).statusCode).toBe(503);
    expect(logs.join('\n')).toContain('pd-agent secret split');
  });
});

describe('413: over the size cap, before any hashing', () => {
  it.each([
    ['a text body', false],
    ['a base64 body', true],
  ])('rejects %s over 256 KB without reading the secret', async (_what, base64) => {
    const { deliver, metrics } = harness();
    const big = Buffer.alloc(MAX_BODY_BYTES + 1, 0x20);
    const response = await deliver(big, { base64 });
    expect(response.statusCode).toBe(413);
    expect(metrics).toContain(MetricName.webhookTooLarge);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(0);
    nothingWritten();
  });

  it('measures a text body in bytes, not characters', async () => {
    const { deliver } = harness();
    const multiByte = Buffer.from('é'.repeat(MAX_BODY_BYTES / 2 + 1));
    expect((await deliver(multiByte)).statusCode).toBe(413);
  });

  it('lets a body of exactly 256 KB through to verification', async () => {
    const { deliver } = harness();
    const response = await deliver(Buffer.alloc(MAX_BODY_BYTES, 0x20), { secrets: ['forged'] });
    expect(response.statusCode).toBe(401);
  });
});

describe('503: never 2xx for an event that is not durably queued', () => {
  it('answers 503 when the state table cannot record the event', async () => {
    dynamo.on(PutCommand).rejects(new Error('ProvisionedThroughputExceededException'));
    const { deliver, metrics } = harness();
    expect((await deliver(triggered)).statusCode).toBe(503);
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
    expect(metrics).toContain(MetricName.ingressFailure);
  });

  it('answers 503 when the recorded status cannot be read', async () => {
    dynamo.on(PutCommand).rejects(conditionalFailure());
    dynamo.on(GetCommand).rejects(new Error('InternalServerError'));
    const { deliver } = harness();
    expect((await deliver(triggered)).statusCode).toBe(503);
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('answers 503 when the queue refuses the message, leaving the event recorded but not enqueued', async () => {
    sqs.on(SendMessageCommand).rejects(new Error('QueueDoesNotExist'));
    const { deliver } = harness();
    expect((await deliver(triggered)).statusCode).toBe(503);
    expect(dynamo.commandCalls(PutCommand)).toHaveLength(1);
    expect(dynamo.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it('answers 503 when Secrets Manager cannot be read', async () => {
    secretsManager.on(GetSecretValueCommand).rejects(new Error('AccessDeniedException'));
    const { deliver } = harness();
    expect((await deliver(triggered)).statusCode).toBe(503);
    nothingWritten();
  });

  it('answers 503, not 401, when the secret holds no signing secret at all', async () => {
    stageSecrets({ current: [] });
    const { deliver, metrics } = harness();
    expect((await deliver(triggered)).statusCode).toBe(503);
    expect(metrics).not.toContain(MetricName.signatureInvalid);
  });

  it('answers 503 to a signed delivery when the configuration is invalid', async () => {
    const { telemetry, metrics } = spiedTelemetry();
    const handler = createMisconfiguredIngressHandler(new Error('AGENT_CONFIG is not a valid pd-agent configuration'), telemetry);
    const response = await handler(apiGatewayEvent(triggered));
    expect(response.statusCode).toBe(503);
    expect(bodyOf(response)).toEqual({ status: 'misconfigured' });
    expect(metrics).toContain(MetricName.ingressFailure);
  });
});

describe('answers that need no configuration hold while the configuration is broken', () => {
  it.each([
    ['a GET', apiGatewayEvent(triggered, { method: 'GET' }), 405, 'method-not-allowed'],
    ['an unsigned request', apiGatewayEvent(triggered, { signature: null }), 401, 'unauthorized'],
    ['a malformed signature', apiGatewayEvent(triggered, { signature: 'v1=zz' }), 401, 'unauthorized'],
    ['an oversized body', apiGatewayEvent(Buffer.alloc(MAX_BODY_BYTES + 1, 0x20)), 413, 'too-large'],
  ])('answers %s as usual', async (_what, event, statusCode, status) => {
    const { telemetry, metrics } = spiedTelemetry();
    const handler = createMisconfiguredIngressHandler(new Error('QUEUE_URL is not set'), telemetry);
    const response = await handler(event);
    expect(response.statusCode).toBe(statusCode);
    expect(bodyOf(response)).toMatchObject({ status });
    expect(metrics).not.toContain(MetricName.ingressFailure);
  });
});

describe('the ingress reads only what it uses (built as functions/ingress.ts builds it)', () => {
  const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/events.fifo';
  const build = (env: NodeJS.ProcessEnv) => {
    const spied = spiedTelemetry();
    const handler = buildIngress({ env: { STATE_TABLE: 'state', QUEUE_URL, SECRET_ID, ...env }, telemetry: spied.telemetry });
    return { handler, ...spied };
  };

  it('takes deliveries when AGENT_CONFIG is wrong only in fields the worker reads', async () => {
    const { handler } = build({
      AGENT_CONFIG: JSON.stringify({ triage: { holdMinConfidence: 'high', rules: [{ id: 'r' }] }, rollout: { mode: 'sometimes' } }),
    });
    expect((await handler(apiGatewayEvent(triggered))).statusCode).toBe(202);
  });

  it('applies the filters of such a configuration', async () => {
    const { handler } = build({
      AGENT_CONFIG: JSON.stringify({ filters: { eventTypes: ['incident.acknowledged'] }, context: { sharedSeconds: 3600 } }),
    });
    expect(bodyOf(await handler(apiGatewayEvent(triggered)))).toMatchObject({ status: 'filtered' });
  });

  it('refuses to take deliveries while the filters are wrong, naming the field, and still answers what needs no configuration', async () => {
    const { handler, logs } = build({ AGENT_CONFIG: JSON.stringify({ filters: { minUrgency: 'urgent' } }) });
    expect((await handler(apiGatewayEvent(triggered))).statusCode).toBe(503);
    expect(logs.join('\n')).toContain('filters.minUrgency');
    expect((await handler(apiGatewayEvent(triggered, { signature: null }))).statusCode).toBe(401);
    expect((await handler(apiGatewayEvent(triggered, { method: 'GET' }))).statusCode).toBe(405);
  });

  it('verifies with the signing secrets of a credentials document whose credentials are wrong (a stack deployed before the split)', async () => {
    secretsManager.on(GetSecretValueCommand, { VersionStage: 'AWSCURRENT' }).resolves({
      SecretString: JSON.stringify({
        apiToken: 'canary-api-token',
        oauth: { clientId: 'both set' },
        webhookSecrets: [{ subscriptionId: 'PSUB1', secret: TEST_WEBHOOK_SECRET }],
      }),
    });
    const { handler } = build({});
    expect((await handler(apiGatewayEvent(triggered))).statusCode).toBe(202);
  });
});

describe('requests that are not deliveries', () => {
  it('answers a GET 405 (PagerDuty only POSTs)', async () => {
    const { deliver } = harness();
    const response = await deliver(triggered, { method: 'GET' });
    expect(response.statusCode).toBe(405);
    expect(response.headers).toMatchObject({ allow: 'POST' });
    nothingWritten();
  });
});
