import { buildScheduler } from '../../lib/wiring/scheduler';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import type { ProcessEventDeps } from '../../lib/agent/process-event';
import type { AuditLog } from '../../lib/audit/audit-log';
import type { OutcomeStore } from '../../lib/outcomes/outcome-store';
import { createTelemetry } from '../../lib/observability/telemetry';
import type { DynamoIncidentLedger } from '../../lib/state/incident-ledger';
import type { DynamoWorkLedger } from '../../lib/state/work-ledger';
import type { AgentSecretReader } from '../../lib/wiring/agent-runtime';
import { buildHandback, type HandbackWiring } from '../../lib/wiring/handback';
import { buildIngress } from '../../lib/wiring/ingress';
import { buildWorker, type WorkerWiring } from '../../lib/wiring/worker';
import type { IngressHandler } from '../../lib/adapters/api-gateway';
import { startLocalAws, type LocalAws } from '../../local/emulators';
import { startRunner, type Runner } from '../../local/runner/runner';
import { SANDBOX_API_TOKEN, SANDBOX_BOT_USER, startSandbox, type Sandbox, type SandboxOptions } from '../../local/sandbox';

/**
 * The whole path on one machine: the sandbox sends signed webhooks to the local API Gateway, the ingress handler
 * records and enqueues them in local-aws-sqs, the worker and handback handlers (built by the functions' own wiring in
 * lib/wiring/, with real SDK clients against dynalite and local-aws-sqs, and the real REST client against the sandbox)
 * process them.
 */
export const STACK_SIGNING_SECRET = 'stack-signing-secret';

/**
 * A rule that could hold an incident whose alert shows a database host: until the alerts are read the agent cannot
 * rule a hold out, so it acknowledges first (the path the acknowledgement tests exercise). The sandbox's alerts show
 * no such host, so triage then escalates. Without any rule the agent hands every incident to on-call unacknowledged.
 */
/**
 * The sandbox's incident ids are random, so AGENT_CONFIG.trust.holdout's default would leave about 5% of the incidents
 * a test expects held with on-call: tests not about the holdout turn it off (test/integration/cli/rule-trust.test.ts
 * is about it).
 */
export const NO_HOLDOUT = { holdout: 0 } as const;

export const ACKNOWLEDGE_FIRST_CONFIG = {
  trust: NO_HOLDOUT,
  triage: {
    rules: [{ id: 'db-host', match: { alertFields: { host: '^db-' } }, hypothesis: 'database host', confidence: 0.9, action: 'hold' }],
  },
};

export interface AgentStack {
  aws: LocalAws;
  sandbox: Sandbox;
  runner: Runner;
  workLedger: DynamoWorkLedger;
  incidentLedger: DynamoIncidentLedger;
  audit: AuditLog;
  outcomes: OutcomeStore;
  /**
   * Runs inside a worker dependency for the next events: crash simulation, or a person acting at that moment
   * (`beforeAcknowledge` runs right before the agent's acknowledgement request, with the incident's id).
   */
  hooks: { beforeRecordNote?: () => void; beforeAcknowledge?: (incidentId: string) => void };
  stop(): Promise<void>;
}

export interface AgentStackOptions {
  agentEnv?: string;
  config?: unknown;
  sandbox?: Omit<SandboxOptions, 'webhookTarget'>;
  maxReceiveCount?: number;
  /** Seconds before a failed message is retried locally (AWS uses the queue's own, much longer). */
  visibilityTimeoutSeconds?: number;
  workerRemainingMs?: () => number;
  /** The worker's context providers (AWS clients, alert reader); default: none, PagerDuty reads only. */
  context?: ProcessEventDeps['context'];
  /**
   * Runs the scheduler (the check queues' pollers and the relay) with its delays multiplied by this; without it,
   * checks are scheduled but stay on the delay queue.
   */
  schedulerTimeScale?: number;
}

/** The sandbox's credentials, as the agent's secret would hold them. */
const SANDBOX_AGENT_SECRETS: AgentSecretReader = {
  getAgentSecret: async () => ({
    apiToken: SANDBOX_API_TOKEN,
    fromEmail: SANDBOX_BOT_USER.email,
    botUserId: SANDBOX_BOT_USER.id,
    eventsRoutingKey: 'stackroutingkey000000000000000001',
  }),
};

interface StackFunctions {
  ingress: IngressHandler;
  worker: WorkerWiring;
  handback: HandbackWiring;
  scheduler: ReturnType<typeof buildScheduler>;
}

export async function startAgentStack(options: AgentStackOptions = {}): Promise<AgentStack> {
  const agentEnv = options.agentEnv ?? 'stack';
  const aws = await startLocalAws({ agentEnv, maxReceiveCount: options.maxReceiveCount ?? 5 });
  const clientConfig = { region: aws.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
  const dynamodb = new DynamoDBClient({ ...clientConfig, endpoint: aws.dynamodbEndpoint });
  const sqs = new SQSClient({ ...clientConfig, endpoint: aws.sqsEndpoint });
  const hooks: AgentStack['hooks'] = {};
  const telemetry = (service: 'ingress' | 'worker' | 'handback' | 'scheduler') => {
    const created = createTelemetry(service, { AGENT_ENV: agentEnv });
    created.metrics.publishStoredMetrics = () => created.metrics;
    return created;
  };

  // The sandbox needs the runner's webhook URL and the functions need the sandbox's URLs: the runner starts with
  // handlers that reach the functions built once the sandbox is up (no webhook arrives before).
  let built: StackFunctions | undefined;
  const functions = (): StackFunctions => {
    if (built === undefined) throw new Error('the sandbox is not started yet');
    return built;
  };
  const remaining = options.workerRemainingMs;
  const runner = await startRunner({
    handlers: {
      ingress: (event, context) => functions().ingress(event, context),
      worker: (event: SQSEvent, context: Context) =>
        functions().worker.handler(event, remaining === undefined ? context : { ...context, getRemainingTimeInMillis: remaining }),
      handback: (event: SQSEvent, context: Context) => functions().handback.handler(event, context),
      scheduler: (event: SQSEvent) => functions().scheduler.handler(event),
    },
    ...(options.schedulerTimeScale === undefined
      ? {}
      : { checkQueues: { queueUrl: aws.checkQueueUrl, deadLetterQueueUrl: aws.checkDeadLetterQueueUrl } }),
    sqsEndpoint: aws.sqsEndpoint,
    region: aws.region,
    queueUrl: aws.queueUrl,
    deadLetterQueueUrl: aws.deadLetterQueueUrl,
    port: 0,
    visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 1,
  });
  const sandbox = await startSandbox({ ...options.sandbox, webhookTarget: { url: runner.webhookUrl, secrets: [STACK_SIGNING_SECRET] } });
  const env: NodeJS.ProcessEnv = {
    ...aws.env,
    AGENT_ENV: agentEnv,
    AGENT_CONFIG: JSON.stringify({ trust: NO_HOLDOUT, ...(options.config ?? {}) }),
    SECRET_ID: `pd-agent/${agentEnv}`,
    PAGERDUTY_API_URL: sandbox.apiUrl,
    PAGERDUTY_EVENTS_URL: sandbox.eventsUrl,
    ...(options.schedulerTimeScale === undefined ? {} : { SCHEDULER_TIME_SCALE: String(options.schedulerTimeScale) }),
  };
  const agent = { env, agentSecrets: SANDBOX_AGENT_SECRETS, clients: { dynamodb, sqs } };
  const worker = buildWorker({
    ...agent,
    telemetry: telemetry('worker'),
    tuning: { retry: { settings: { baseDelayMs: 20, maxDelayMs: 100 } }, retryLaterSeconds: 1 },
    // No AWS context unless a test brings its emulators: the default clients would reach for real AWS.
    context: options.context ?? {},
  });
  const { incidentLedger } = worker.runtime;
  const recordNote = incidentLedger.recordNote.bind(incidentLedger);
  incidentLedger.recordNote = async (...args) => {
    hooks.beforeRecordNote?.();
    return recordNote(...args);
  };
  // Written right before the acknowledgement request (lib/agent/take-ownership.ts).
  const markAcknowledgementUnconfirmed = incidentLedger.markAcknowledgementUnconfirmed.bind(incidentLedger);
  incidentLedger.markAcknowledgementUnconfirmed = async (incidentId, ...rest) => {
    await markAcknowledgementUnconfirmed(incidentId, ...rest);
    hooks.beforeAcknowledge?.(incidentId);
  };
  built = {
    ingress: buildIngress({
      env,
      clients: { dynamodb, sqs },
      secrets: { getWebhookSecrets: async () => [STACK_SIGNING_SECRET], getWebhookSecretsReadSince: async () => [STACK_SIGNING_SECRET] },
      telemetry: telemetry('ingress'),
    }),
    worker,
    handback: buildHandback({ ...agent, telemetry: telemetry('handback') }),
    scheduler: buildScheduler({ env, sqs, telemetry: telemetry('scheduler') }),
  };
  return {
    aws,
    sandbox,
    runner,
    workLedger: worker.runtime.workLedger,
    incidentLedger,
    audit: worker.runtime.audit,
    outcomes: worker.runtime.outcomes,
    hooks,
    async stop() {
      await sandbox.stop();
      await runner.stop();
      dynamodb.destroy();
      sqs.destroy();
      await aws.stop();
    },
  };
}

/** Waits until the sandbox delivered every webhook and the local stack handled everything that followed. */
export async function settle(stack: AgentStack, timeoutMs = 30_000): Promise<void> {
  for (let round = 0; round < 3; round += 1) {
    await stack.sandbox.settled();
    await stack.runner.idle({ timeoutMs });
  }
}
