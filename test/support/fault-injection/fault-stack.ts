import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { NoTimeToStartError } from '../../../lib/agent/process-event';
import type { AuditLog } from '../../../lib/audit/audit-log';
import { parseAgentConfig, type AgentConfig } from '../../../lib/config/agent-config';
import { apiKeyAuth } from '../../../lib/pagerduty/auth';
import { createPagerDutyClient } from '../../../lib/pagerduty/rest-client';
import type { PagerDutyApi } from '../../../lib/pagerduty/types';
import type { AgentSecret } from '../../../lib/secrets/agent-secret';
import type { DynamoIncidentLedger } from '../../../lib/state/incident-ledger';
import type { DynamoWorkLedger } from '../../../lib/state/work-ledger';
import { buildHandback } from '../../../lib/wiring/handback';
import { buildIngress } from '../../../lib/wiring/ingress';
import { buildWorker } from '../../../lib/wiring/worker';
import { startLocalAws, type LocalAws } from '../../../local/emulators';
import { startRunner, type Runner } from '../../../local/runner/runner';
import {
  DEFAULT_SANDBOX_SEED,
  SANDBOX_BOT_USER,
  SANDBOX_PRIMARY_USER,
  SANDBOX_SECONDARY_USER,
  startSandbox,
  type Sandbox,
} from '../../../local/sandbox';
import { startSecretsManagerEmulator, type SecretsManagerEmulator } from '../../../local/secrets-manager-emulator';
import { refuseSqsSends, stopWhenDead, throttleDynamo, type InjectedAwsFault } from './aws-faults';
import { recordCalls, type RecordedCall } from './call-recorder';
import { withCrashPoints } from './crash-points';
import type { FaultDice } from './dice';
import { CrashLog, SimulatedCrash, invocationScope, type Invocation } from './simulated-crash';

/**
 * The whole pipeline on one machine, built by the functions' own wiring (lib/wiring/) with real SDK clients: the ingress behind the
 * runner's API Gateway, the worker and the handback function behind its SQS pollers, dynalite, local-aws-sqs, the
 * Secrets Manager emulator and the PagerDuty sandbox, with faults injected at every boundary.
 */
export const SECOND_SERVICE_ID = 'PSVC002';
/** A service whose escalation policy pages the agent first (the recommended set-up), people at the levels above. */
export const AGENT_FIRST_SERVICE_ID = 'PSVC003';
export const AGENT_FIRST_POLICY_ID = 'PEP0003';
/** The agent's level times out after this long unacknowledged: PagerDuty's own escalation to people. */
export const AGENT_LEVEL_DELAY_MINUTES = 5;
export const AGENT_ENV = 'faults';

export interface FaultRates {
  /** Fraction of DynamoDB requests (state and audit tables) that throttle. */
  dynamoThrottle: number;
  /** Fraction of the ingress's SendMessage calls SQS refuses. */
  sqsRefusal: number;
  /** Probability of a worker crash right after each crash point succeeds. */
  crashAfterCall: number;
  sandbox: { serverError: number; throttled: number; slow: number; dropBefore: number; dropAfter: number };
}

export interface Canaries {
  apiToken: string;
  eventsRoutingKey: string;
}

export interface FaultStackOptions {
  dice: FaultDice;
  rates: FaultRates;
  canaries: Canaries;
  /** Incidents the worker always crashes on right after acknowledging (filled as incidents are triggered). */
  doomedIncidents: Set<string>;
  workerTimeoutMs: number;
  visibilityTimeoutSeconds: number;
  /** Receives before SQS dead-letters a message. */
  maxReceiveCount: number;
}

export interface IngressAnswer {
  eventId: string | null;
  status: number;
  subscriptionId: string | undefined;
  /** The exact body and signature, kept for out-of-order replays. */
  body: string;
  isBase64Encoded: boolean;
  signature: string | undefined;
  webhookId: string | undefined;
}

export interface FaultObservations {
  calls: RecordedCall[];
  awsFaults: InjectedAwsFault[];
  crashes: CrashLog;
  ingressAnswers: IngressAnswer[];
  /** Every body the ingress sent to SQS. */
  queueBodies: string[];
  /** Every error a handler invocation ended with. */
  invocationErrors: unknown[];
  invocations: Invocation[];
  /** Events the worker returned unstarted for lack of time. */
  deferredForLackOfTime: number;
}

export interface FaultStack {
  aws: LocalAws;
  sandbox: Sandbox;
  runner: Runner;
  config: AgentConfig;
  webhookSecrets: string[];
  observations: FaultObservations;
  /** Waits until no delivery, message or invocation is pending anywhere. */
  quiesce(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Rules that make the agent hold some incidents, resolve some, acknowledge then escalate some and hand the rest to
 * on-call at once, so every branch runs. The flapping checks' alerts never clear (the rule holds them); the recovered
 * replicas' do (the rule resolves them).
 */
export const RECOVERED_TITLE = 'replica lag recovered';
export const FAULT_AGENT_CONFIG = {
  agentName: 'pd-agent',
  // Random sandbox ids: the holdout would leave some of the incidents the run expects held with on-call.
  trust: { holdout: 0 },
  triage: {
    rules: [
      {
        id: 'disk-pressure',
        match: { title: 'disk' },
        hypothesis: 'Disk pressure on a database host',
        confidence: 0.9,
        action: 'hold',
        nextSteps: ['Check the volume'],
      },
      {
        id: 'known-flapping',
        match: { title: 'flapping' },
        hypothesis: 'A known flapping health check',
        confidence: 0.95,
        action: 'resolve-if-cleared',
      },
      {
        // Could hold a payment error whose alert names a database host; the sandbox's alerts name none, so the agent
        // acknowledges these (it cannot rule the hold out before reading the alerts) and then escalates them.
        id: 'payments-db',
        match: { title: 'payment', alertFields: { host: '^db-' } },
        hypothesis: 'Payment errors from a database host',
        confidence: 0.9,
        action: 'hold',
      },
      {
        id: 'self-recovered',
        match: { title: RECOVERED_TITLE },
        hypothesis: 'Replica lag that recovers by itself',
        confidence: 0.8,
        action: 'resolve-if-cleared',
      },
    ],
  },
};

function recordingSends(client: SQSClient, bodies: string[]): SQSClient {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { MessageBody?: string };
      if (context.commandName === 'SendMessageCommand' && input.MessageBody !== undefined) bodies.push(input.MessageBody);
      return next(args);
    },
    { step: 'initialize', name: 'faultInjectionRecordSends' },
  );
  return client;
}

function eventIdOf(raw: Buffer): string | null {
  try {
    const id = (JSON.parse(raw.toString('utf8')) as { event?: { id?: unknown } }).event?.id;
    return typeof id === 'string' ? id : null;
  } catch {
    return null;
  }
}

export async function startFaultStack(options: FaultStackOptions): Promise<FaultStack> {
  const { dice, rates, canaries } = options;
  const observations: FaultObservations = {
    calls: [],
    awsFaults: [],
    crashes: new CrashLog(),
    ingressAnswers: [],
    queueBodies: [],
    invocationErrors: [],
    invocations: [],
    deferredForLackOfTime: 0,
  };
  const { crashes } = observations;
  const aws = await startLocalAws({ agentEnv: AGENT_ENV, maxReceiveCount: options.maxReceiveCount });
  const secretsManager: SecretsManagerEmulator = await startSecretsManagerEmulator();
  Object.assign(process.env, aws.env, { AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.endpoint, AGENT_ENV });
  const sandbox = await startSandbox({
    seed: {
      ...DEFAULT_SANDBOX_SEED,
      escalationPolicies: [
        ...(DEFAULT_SANDBOX_SEED.escalationPolicies ?? []),
        {
          id: AGENT_FIRST_POLICY_ID,
          name: 'Agent first',
          levels: [[SANDBOX_BOT_USER.id], [SANDBOX_PRIMARY_USER.id], [SANDBOX_SECONDARY_USER.id]],
          escalationDelayInMinutes: [AGENT_LEVEL_DELAY_MINUTES, 30],
        },
      ],
      services: [
        ...(DEFAULT_SANDBOX_SEED.services ?? []),
        { id: SECOND_SERVICE_ID, name: 'payments-api', escalationPolicyId: 'PEP0001' },
        { id: AGENT_FIRST_SERVICE_ID, name: 'orders-api', escalationPolicyId: AGENT_FIRST_POLICY_ID },
      ],
    },
    apiTokens: [canaries.apiToken],
    faultSeed: dice.seed,
    // PagerDuty retries for 48 hours; here a delivery gets 10 attempts with backoff, far more than the faults need.
    webhookDelivery: { maxAttempts: 10, retryBackoffMs: 25 },
    // The rate limit is the storm benchmark's subject; here 429s come from injected faults only.
    rateLimit: { limit: 1_000_000 },
  });

  const config = parseAgentConfig(JSON.stringify(FAULT_AGENT_CONFIG));
  const secretId = `pd-agent/${AGENT_ENV}`;
  // The functions' own wiring (lib/wiring/), configured like a deployed stack that keeps the signing secrets in the
  // credentials secret, with faults injected into the clients it uses and the parts it builds.
  const env: NodeJS.ProcessEnv = {
    ...aws.env,
    AGENT_ENV,
    AGENT_CONFIG: JSON.stringify(FAULT_AGENT_CONFIG),
    SECRET_ID: secretId,
    PAGERDUTY_API_URL: sandbox.apiUrl,
    PAGERDUTY_EVENTS_URL: sandbox.eventsUrl,
  };

  const ingress = buildIngress({
    env,
    clients: {
      dynamodb: throttleDynamo(new DynamoDBClient({}), dice, rates.dynamoThrottle, observations.awsFaults),
      sqs: recordingSends(refuseSqsSends(new SQSClient({}), dice, rates.sqsRefusal, observations.awsFaults), observations.queueBodies),
    },
  });

  const crashOptions = { crashes, dice, rate: rates.crashAfterCall };
  const agent = {
    env,
    clients: { dynamodb: throttleDynamo(new DynamoDBClient({}), dice, rates.dynamoThrottle, observations.awsFaults, crashes) },
    decorate: {
      workLedger: (ledger: DynamoWorkLedger) =>
        withCrashPoints('workLedger', ledger, { ...crashOptions, points: ['claim', 'consumeRetry'] }),
      incidentLedger: (ledger: DynamoIncidentLedger) =>
        withCrashPoints('incidentLedger', ledger, {
          ...crashOptions,
          points: ['markAcknowledged', 'reserveNote', 'recordNote', 'beginEscalation', 'recordDecision'],
        }),
      audit: (audit: AuditLog) => withCrashPoints('audit', audit, { ...crashOptions, points: ['begin', 'complete', 'record'] }),
      pagerDuty: (client: PagerDutyApi) =>
        withCrashPoints('pagerduty', recordCalls(client, observations.calls), {
          ...crashOptions,
          points: ['acknowledgeIncident', 'createNote', 'escalateIncident', 'resolveIncident'],
          forced: (method, args) => method === 'acknowledgeIncident' && options.doomedIncidents.has(args[0] as string),
        }),
    },
  };
  const fast = { settings: { baseDelayMs: 20, maxDelayMs: 200, minRemainingMs: 1000 } };
  const inEventScope = <T>(eventId: string, run: () => Promise<T>): Promise<T> => {
    const scope = invocationScope.getStore();
    if (scope === undefined) return run();
    scope.invocation.currentEventId = eventId;
    return invocationScope.run({ invocation: scope.invocation, eventId }, run);
  };
  const worker = buildWorker({
    ...agent,
    clients: { ...agent.clients, sqs: stopWhenDead(new SQSClient({}), crashes) },
    tuning: { retry: fast, leaseMarginMs: 500 },
    decorateProcessor: (processor) => ({
      process: (queued, invocation) =>
        inEventScope(queued.eventId, () => processor.process(queued, invocation)).catch((error: unknown) => {
          if (error instanceof NoTimeToStartError) observations.deferredForLackOfTime += 1;
          throw error;
        }),
    }),
  });
  const handback = buildHandback({
    ...agent,
    tuning: { retry: fast },
    decorateHandback: (inner) => ({ handle: (queued, invocation) => inEventScope(queued.eventId, () => inner.handle(queued, invocation)) }),
  });

  /** Runs a handler as one Lambda invocation: a scope the crash points see, killed when its time is up. */
  let nextInvocation = 1;
  const asInvocation =
    (role: Invocation['role'], handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>, timeoutMs: number) =>
    (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
      const invocation: Invocation = { id: nextInvocation++, role, deadBecause: null };
      observations.invocations.push(invocation);
      return invocationScope.run({ invocation }, async () => {
        const timer = setTimeout(() => crashes.killFromOutside(invocation, 'killed at the function timeout'), timeoutMs);
        try {
          const result = await handler(event, context);
          if (invocation.deadBecause !== null) throw new SimulatedCrash(invocation.deadBecause);
          return result;
        } catch (error) {
          observations.invocationErrors.push(error);
          throw error;
        } finally {
          clearTimeout(timer);
        }
      });
    };
  const recordingIngress = async (event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyResultV2> => {
    const answer = await ingress(event, context);
    const raw = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
    observations.ingressAnswers.push({
      eventId: eventIdOf(raw),
      status: answer.statusCode,
      subscriptionId: event.headers['x-webhook-subscription'],
      body: event.body ?? '',
      isBase64Encoded: event.isBase64Encoded,
      signature: event.headers['x-pagerduty-signature'],
      webhookId: event.headers['x-webhook-id'],
    });
    return answer;
  };

  const runner = await startRunner({
    handlers: {
      ingress: recordingIngress,
      worker: asInvocation('worker', worker.handler, options.workerTimeoutMs - 50),
      handback: asInvocation('handback', handback.handler, options.workerTimeoutMs - 50),
    },
    sqsEndpoint: aws.sqsEndpoint,
    queueUrl: aws.queueUrl,
    deadLetterQueueUrl: aws.deadLetterQueueUrl,
    port: 0,
    timeouts: { workerMs: options.workerTimeoutMs, handbackMs: options.workerTimeoutMs },
    visibilityTimeoutSeconds: options.visibilityTimeoutSeconds,
    batchSize: 10,
  });

  // Two live subscriptions: every incident event through the first; the second service's also through the second,
  // each signed with its own secret.
  const admin = createPagerDutyClient({ apiUrl: sandbox.apiUrl, auth: apiKeyAuth(canaries.apiToken), fromEmail: SANDBOX_BOT_USER.email });
  const subscriptions = [
    (await admin.createWebhookSubscription({ url: runner.webhookUrl, events: INCIDENT_EVENTS, filter: { type: 'account_reference' } }))
      .value,
    (
      await admin.createWebhookSubscription({
        url: runner.webhookUrl,
        events: INCIDENT_EVENTS,
        filter: { type: 'service_reference', id: SECOND_SERVICE_ID },
      })
    ).value,
  ];
  const webhookSecrets = subscriptions.map((subscription) => subscription.delivery_method.secret as string);
  const secret: AgentSecret = {
    apiToken: canaries.apiToken,
    fromEmail: SANDBOX_BOT_USER.email,
    botUserId: SANDBOX_BOT_USER.id,
    webhookSecrets: subscriptions.map((subscription, index) => ({ subscriptionId: subscription.id, secret: webhookSecrets[index] })),
    eventsRoutingKey: canaries.eventsRoutingKey,
  };
  const secrets = new SecretsManagerClient({});
  await secrets.send(new CreateSecretCommand({ Name: secretId, SecretString: JSON.stringify(secret) }));
  secrets.destroy();

  const { sandbox: sandboxRates } = rates;
  sandbox.faults.probability('*', sandboxRates.serverError, { status: 500 });
  sandbox.faults.probability('*', sandboxRates.throttled, { status: 429, rateLimitResetSeconds: 1 });
  sandbox.faults.probability('*', sandboxRates.slow, { latencyMs: 300 });
  sandbox.faults.probability('*', sandboxRates.dropBefore, { drop: 'before' });
  sandbox.faults.probability('*', sandboxRates.dropAfter, { drop: 'after' });

  return {
    aws,
    sandbox,
    runner,
    config,
    webhookSecrets,
    observations,
    async quiesce(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const before = sandbox.deliveries().length;
        await sandbox.settled();
        await runner.idle({ timeoutMs: Math.max(1, deadline - Date.now()) });
        await sandbox.settled();
        if (sandbox.deliveries().length === before && sandbox.deliveries().every((record) => record.outcome !== 'pending')) {
          await runner.idle({ timeoutMs: Math.max(1, deadline - Date.now()) });
          if (sandbox.deliveries().length === before) return;
        }
      }
    },
    async stop() {
      await runner.stop();
      await sandbox.stop();
      await secretsManager.stop();
      await aws.stop();
    },
  };
}

const INCIDENT_EVENTS = [
  'incident.triggered',
  'incident.acknowledged',
  'incident.unacknowledged',
  'incident.annotated',
  'incident.delegated',
  'incident.escalated',
  'incident.resolved',
  'incident.reopened',
];
