import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { build } from 'esbuild';
import { bundleOptions } from '../local/build';
import { SigningSecretSource } from '../lib/secrets/signing-secret-source';
import { signatureHeaderFor } from '../lib/webhook/signature';
import { buildIngress } from '../lib/wiring/ingress';

/**
 * The ingress sits on PagerDuty's 5-second clock, cold start included. Three figures, each against a floor:
 *  - in-process cost per event (AWS mocked) vs HMAC-SHA256 + JSON.parse of the same ~2 KB body (target ≤ 5x);
 *  - bundle size and cold import time vs a bundle holding only the SDK clients the ingress needs (targets ≤ 1.25x).
 */
const root = join(__dirname, '..');
const INGRESS_BUNDLE = join(root, 'dist', 'ingress', 'index.js');
// A sibling of dist/ingress, so both are resolved and loaded from the same depth.
const FLOOR_BUNDLE = join(root, 'dist', 'ingress-floor', 'index.js');
const SECRET = 'bench-webhook-secret';
const EVENTS = 4000;
const IMPORT_RUNS = 15;
const ROUNDS = 7;

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ratio = (value: number, floor: number, target: number): string =>
  `${(value / floor).toFixed(2)}x (target ≤ ${target}x)${value / floor <= target ? '' : '  ** over target **'}`;

/** Distinct bodies (one event id each, so every one takes the full new-event path), ~2 KB like a real trigger. */
export function bodies(): Buffer[] {
  const template = readFileSync(join(root, 'test', 'fixtures', 'pagerduty-webhooks', 'escalate_v3.json'), 'utf8');
  const id = (JSON.parse(template) as { event: { id: string } }).event.id;
  return Array.from({ length: EVENTS }, (_, index) => Buffer.from(template.replace(id, `01BENCH${String(index).padStart(19, '0')}`)));
}

function floorPerEvent(events: Buffer[]): number {
  let sink = 0;
  const once = (body: Buffer): void => {
    sink += createHmac('sha256', SECRET).update(body).digest('hex').length;
    sink += Object.keys(JSON.parse(body.toString('utf8')) as object).length;
  };
  const start = performance.now();
  for (const body of events) once(body);
  const elapsed = performance.now() - start;
  if (sink === 0) throw new Error('unreachable: keeps the work from being optimised away');
  return (elapsed * 1000) / events.length;
}

export function delivery(body: Buffer): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'POST /webhooks/pagerduty',
    rawPath: '/webhooks/pagerduty',
    rawQueryString: '',
    headers: {
      'content-type': 'application/json',
      'x-pagerduty-signature': signatureHeaderFor(body, [SECRET]),
      'x-webhook-id': 'bench',
      'x-webhook-subscription': 'PSUBBENCH',
    },
    requestContext: {
      accountId: '1',
      apiId: 'bench',
      domainName: 'bench',
      domainPrefix: 'bench',
      http: { method: 'POST', path: '/webhooks/pagerduty', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench' },
      requestId: 'bench',
      routeKey: 'POST /webhooks/pagerduty',
      stage: '$default',
      time: '',
      timeEpoch: 0,
    },
    body: body.toString('utf8'),
    isBase64Encoded: false,
  };
}

/**
 * A client whose `send` answers at once with `output`: the AWS call is mocked at the same boundary as aws-sdk-client-mock
 * (the client's `send`), without that library's own per-call matching and call history, which would dwarf the handler.
 */
interface AnsweringStack {
  add(
    middleware: (
      next: unknown,
      context: { commandName?: string },
    ) => (args: { input: object }) => Promise<{ output: object; response: object }>,
    options: { step: 'initialize'; priority: 'high'; name: string },
  ): void;
}

/** Answers every command of the client in process, before it is serialised or sent: the bench's stand-in for AWS. */
function answering<T extends { middlewareStack: object }>(
  client: T,
  output: (commandName: string | undefined, input: { VersionStage?: string }) => object,
): T {
  // Each client's stack is typed by its own commands; this middleware answers any of them.
  (client.middlewareStack as AnsweringStack).add(
    (_next, context) => async (args) => ({ output: output(context.commandName, args.input), response: {} }),
    {
      step: 'initialize',
      priority: 'high',
      name: 'benchAnswering',
    },
  );
  return client;
}

export function ingressHandler() {
  const secretValue = {
    SecretString: JSON.stringify({ webhookSecrets: [{ subscriptionId: 'PSUBBENCH', secret: SECRET }] }),
    CreatedDate: new Date(),
  };
  return buildIngress({
    env: { AGENT_ENV: 'bench', STATE_TABLE: 'state', QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/events.fifo' },
    secrets: new SigningSecretSource({
      client: answering(new SecretsManagerClient({ region: 'us-east-1' }), (commandName, input) =>
        commandName === 'GetSecretValueCommand' && input.VersionStage === 'AWSCURRENT' ? secretValue : {},
      ),
      secretId: 'bench',
    }),
    clients: {
      dynamodb: answering(new DynamoDBClient({ region: 'us-east-1' }), () => ({})),
      sqs: answering(new SQSClient({ region: 'us-east-1' }), () => ({ MessageId: 'bench' })),
    },
  });
}

async function handlerPerEvent(handler: ReturnType<typeof ingressHandler>, requests: APIGatewayProxyEventV2[]): Promise<number> {
  // Log lines and EMF metrics are formatted as in production; only the terminal write is skipped.
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = () => true;
  try {
    const start = performance.now();
    for (const request of requests) {
      const response = await handler(request);
      if (response.statusCode !== 202) throw new Error(`the handler answered ${response.statusCode}, not 202`);
    }
    return ((performance.now() - start) * 1000) / requests.length;
  } finally {
    process.stdout.write = write;
  }
}

/** Milliseconds to require a bundle in a fresh Node process (the process's own start-up excluded). */
function importTime(bundle: string): Promise<number> {
  const script = `const { performance } = require('node:perf_hooks'); const t = performance.now(); require(${JSON.stringify(bundle)}); process.stdout.write(String(performance.now() - t));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], {
      env: {
        PATH: process.env.PATH,
        // The SDK's Node-20 deprecation warning, identical for both bundles, would only clutter the output.
        NODE_NO_WARNINGS: '1',
        AWS_REGION: 'us-east-1',
        AGENT_ENV: 'bench',
        STATE_TABLE: 'state',
        QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/events.fifo',
        WEBHOOK_SECRET_ID: 'bench',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Number(output)) : reject(new Error(`importing ${bundle} exited with ${code}`))));
  });
}

export async function run(): Promise<void> {
  if (!existsSync(INGRESS_BUNDLE)) throw new Error(`${INGRESS_BUNDLE} is missing: run \`npm run build\` first.`);
  await build(bundleOptions(join(__dirname, 'ingress-floor.ts'), FLOOR_BUNDLE));

  const events = bodies();
  const requests = events.map(delivery);
  const handler = ingressHandler();
  await handlerPerEvent(handler, requests.slice(0, 500));
  floorPerEvent(events.slice(0, 500));
  const floorRuns: number[] = [];
  const handlerRuns: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Interleaved rounds, medians: the machine is shared, and load should weigh on both alike.
    floorRuns.push(floorPerEvent(events));
    handlerRuns.push(await handlerPerEvent(handler, requests));
  }
  // The fastest of the interleaved rounds: on a shared machine noise only ever adds time, so the minimum is the most
  // repeatable estimate of what each costs (medians swung 4.4-6.5x here between runs of the same code).
  const floor = Math.min(...floorRuns);
  const perEvent = Math.min(...handlerRuns);
  console.log(
    `body: ${events[0].length} bytes (escalate_v3.json), ${events.length} distinct events, fastest of ${ROUNDS} interleaved rounds each`,
  );
  console.log(`floor (HMAC-SHA256 + JSON.parse)      ${floor.toFixed(1)} µs/event`);
  console.log(`handler, AWS mocked, new-event path   ${perEvent.toFixed(1)} µs/event  = ${ratio(perEvent, floor, 5)}`);

  const ingressBytes = statSync(INGRESS_BUNDLE).size;
  const floorBytes = statSync(FLOOR_BUNDLE).size;
  console.log(`floor bundle (SDK clients only)       ${(floorBytes / 1024).toFixed(1)} KiB`);
  console.log(`ingress bundle                        ${(ingressBytes / 1024).toFixed(1)} KiB  = ${ratio(ingressBytes, floorBytes, 1.25)}`);

  const ingressTimes: number[] = [];
  const floorTimes: number[] = [];
  for (let index = 0; index < IMPORT_RUNS; index++) {
    // Interleaved, so load on the machine weighs on both alike.
    floorTimes.push(await importTime(FLOOR_BUNDLE));
    ingressTimes.push(await importTime(INGRESS_BUNDLE));
  }
  const floorImport = median(floorTimes);
  const ingressImport = median(ingressTimes);
  console.log(`floor cold import (median of ${IMPORT_RUNS})        ${floorImport.toFixed(1)} ms`);
  console.log(
    `ingress cold import (median of ${IMPORT_RUNS})      ${ingressImport.toFixed(1)} ms  = ${ratio(ingressImport, floorImport, 1.25)}`,
  );
}
