import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, SQSEvent } from 'aws-lambda';
import { startLocalAws, type LocalAws } from '../../../local/emulators';
import { startRunner, type Runner, type RunnerHandlers } from '../../../local/runner/runner';

describe('local runner: API Gateway and Lambda event sources in front of handlers', () => {
  let aws: LocalAws;
  let runner: Runner;
  let sqs: SQSClient;
  const ingressEvents: APIGatewayProxyEventV2[] = [];
  const workerBatches: SQSEvent[] = [];
  const handbackBatches: SQSEvent[] = [];
  /** Bodies the fake worker refuses: always, or the first N times. */
  const failAlways = new Set<string>();
  const failTimes = new Map<string, number>();

  const handlers: RunnerHandlers = {
    ingress: async (event) => {
      ingressEvents.push(event);
      if (event.headers['x-fail'] === 'throw') throw new Error('ingress exploded');
      return { statusCode: 202, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ accepted: true }) };
    },
    worker: async (event) => {
      workerBatches.push(event);
      // Like a FIFO-aware worker: after a failure, the rest of that message group fails too, to keep its order.
      const failedGroups = new Set<string>();
      const failures = event.Records.filter((record) => {
        const group = record.attributes.MessageGroupId as string;
        if (failedGroups.has(group)) return true;
        const fails = failAlways.has(record.body) || (failTimes.get(record.body) ?? 0) > 0;
        if (fails) failedGroups.add(group);
        if (failAlways.has(record.body)) return true;
        const left = failTimes.get(record.body) ?? 0;
        if (left > 0) failTimes.set(record.body, left - 1);
        return left > 0;
      });
      return { batchItemFailures: failures.map((record) => ({ itemIdentifier: record.messageId })) };
    },
    handback: async (event) => {
      handbackBatches.push(event);
      return { batchItemFailures: [] };
    },
  };

  beforeAll(async () => {
    aws = await startLocalAws({ agentEnv: 'runner', maxReceiveCount: 2 });
    runner = await startRunner({
      handlers,
      sqsEndpoint: aws.sqsEndpoint,
      queueUrl: aws.queueUrl,
      deadLetterQueueUrl: aws.deadLetterQueueUrl,
      port: 0,
      visibilityTimeoutSeconds: 1,
    });
    sqs = new SQSClient({ endpoint: aws.sqsEndpoint, region: aws.region });
  });
  afterAll(async () => {
    sqs.destroy();
    await runner.stop();
    await aws.stop();
  });

  const send = (body: string, group: string): Promise<unknown> =>
    sqs.send(new SendMessageCommand({ QueueUrl: aws.queueUrl, MessageBody: body, MessageGroupId: group, MessageDeduplicationId: body }));

  it('passes the webhook to the ingress as a payload 2.0 event with the exact bytes and returns its answer', async () => {
    const body = '{"event":{"id":"E1"}}  \n';
    const response = await fetch(runner.webhookUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-PagerDuty-Signature': 'v1=abc' },
      body,
    });
    expect(response.status).toBe(202);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ accepted: true });
    const event = ingressEvents.at(-1) as APIGatewayProxyEventV2;
    expect(event.body).toBe(body);
    expect(event.isBase64Encoded).toBe(false);
    expect(event.headers['x-pagerduty-signature']).toBe('v1=abc');
    expect(event.requestContext.http).toMatchObject({ method: 'POST', path: '/webhooks/pagerduty' });
    expect(event.rawPath).toBe('/webhooks/pagerduty');
    expect(event.routeKey).toBe('POST /webhooks/pagerduty');
  });

  it('base64-encodes a non-text body so not a byte changes', async () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x7b]);
    await fetch(runner.webhookUrl, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: bytes });
    const event = ingressEvents.at(-1) as APIGatewayProxyEventV2;
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body as string, 'base64').equals(bytes)).toBe(true);
  });

  it("answers other routes with API Gateway's 404 without calling the ingress, and a crash with its 500", async () => {
    const before = ingressEvents.length;
    const notFound = await fetch(`${runner.url}/other`, { method: 'POST', body: '{}' });
    expect(notFound.status).toBe(404);
    expect(await notFound.json()).toEqual({ message: 'Not Found' });
    const wrongMethod = await fetch(runner.webhookUrl);
    expect(wrongMethod.status).toBe(404);
    expect(ingressEvents.length).toBe(before);
    const crashed = await fetch(runner.webhookUrl, { method: 'POST', headers: { 'x-fail': 'throw' }, body: '{}' });
    expect(crashed.status).toBe(500);
    expect(await crashed.json()).toEqual({ message: 'Internal Server Error' });
  });

  it('delivers queued messages as SQSEvent records with FIFO attributes, in group order, and deletes them', async () => {
    for (const body of ['a-1', 'a-2', 'a-3']) await send(body, 'incident-A');
    await runner.idle({ timeoutMs: 20_000 });
    const records = workerBatches.flatMap((batch) => batch.Records).filter((record) => record.body.startsWith('a-'));
    expect(records.map((record) => record.body)).toEqual(['a-1', 'a-2', 'a-3']);
    expect(records[0].attributes).toMatchObject({
      MessageGroupId: 'incident-A',
      ApproximateReceiveCount: '1',
      MessageDeduplicationId: 'a-1',
    });
    expect(records[0].eventSourceARN).toMatch(/^arn:aws:sqs:.*runner-events\.fifo$/);
    expect(records[0].eventSource).toBe('aws:sqs');
  });

  it('retries a reported batch item failure, counting receives, then succeeds', async () => {
    failTimes.set('retry-1', 1);
    await send('retry-1', 'incident-R');
    await runner.idle({ timeoutMs: 20_000 });
    const attempts = workerBatches.flatMap((batch) => batch.Records).filter((record) => record.body === 'retry-1');
    expect(attempts.map((record) => record.attributes.ApproximateReceiveCount)).toEqual(['1', '2']);
    expect(handbackBatches.flatMap((batch) => batch.Records).some((record) => record.body === 'retry-1')).toBe(false);
  });

  it('keeps a message group in order behind a failed message, as FIFO does', async () => {
    failTimes.set('g-1', 1);
    await send('g-1', 'incident-G');
    await send('g-2', 'incident-G');
    await runner.idle({ timeoutMs: 20_000 });
    const handled = workerBatches.flatMap((batch) => batch.Records).filter((record) => record.body.startsWith('g-'));
    expect(handled.map((record) => record.body)).toEqual(['g-1', 'g-2', 'g-1', 'g-2']);
  });

  it('dead-letters a message that keeps failing and hands it to the handback function', async () => {
    failAlways.add('poison-1');
    await send('poison-1', 'incident-P');
    await runner.idle({ timeoutMs: 20_000 });
    const attempts = workerBatches.flatMap((batch) => batch.Records).filter((record) => record.body === 'poison-1');
    expect(attempts).toHaveLength(2);
    const handedBack = handbackBatches.flatMap((batch) => batch.Records).filter((record) => record.body === 'poison-1');
    expect(handedBack).toHaveLength(1);
    expect(handedBack[0].attributes.MessageGroupId).toBe('incident-P');
    expect(handedBack[0].eventSourceARN).toMatch(/runner-events-dlq\.fifo$/);
  });
});
