import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSEvent } from 'aws-lambda';
import { DeadLetterHandback, createHandbackHandler } from '../../lib/agent/handback';
import { EventProcessor, type ProcessEventDeps } from '../../lib/agent/process-event';
import { createNoteRenderer } from '../../lib/agent/triage-notes';
import { createWorkerHandler } from '../../lib/agent/worker-handler';
import { AuditLog } from '../../lib/audit/audit-log';
import { parseAgentConfig, type AgentConfig } from '../../lib/config/agent-config';
import { createIngressHandler } from '../../lib/ingress/ingress-handler';
import { createTelemetry } from '../../lib/observability/telemetry';
import { apiKeyAuth } from '../../lib/pagerduty/auth';
import { createEventsClient } from '../../lib/pagerduty/events-client';
import { createPagerDutyClient } from '../../lib/pagerduty/rest-client';
import { OutcomeRecorder } from '../../lib/outcomes/outcome-recorder';
import { OutcomeStore } from '../../lib/outcomes/outcome-store';
import { EventQueue } from '../../lib/queue/event-queue';
import { EventLedger } from '../../lib/state/event-ledger';
import { DynamoIncidentLedger } from '../../lib/state/incident-ledger';
import { DynamoWorkLedger } from '../../lib/state/work-ledger';
import { DynamoServiceContextCache } from '../../lib/state/service-context-cache';
import { sharedContextReader } from '../../lib/context/shared-service-context';
import { triageIncident } from '../../lib/triage/triage';
import { startLocalAws, type LocalAws } from '../../local/emulators';
import { startRunner, type Runner } from '../../local/runner/runner';
import { SANDBOX_API_TOKEN, SANDBOX_BOT_USER, startSandbox, type Sandbox, type SandboxOptions } from '../../local/sandbox';
import { RateLimitPacer } from '../../lib/pagerduty/rate-limit-pacer';

/**
 * The whole path on one machine: the sandbox sends signed webhooks to the local API Gateway, the ingress handler
 * records and enqueues them in local-aws-sqs, the worker and handback handlers (built from their factories with real
 * SDK clients against dynalite and local-aws-sqs, and the real REST client against the sandbox) process them.
 */
export const STACK_SIGNING_SECRET = 'stack-signing-secret';

export interface AgentStack {
  aws: LocalAws;
  sandbox: Sandbox;
  runner: Runner;
  workLedger: DynamoWorkLedger;
  incidentLedger: DynamoIncidentLedger;
  audit: AuditLog;
  outcomes: OutcomeStore;
  /** Replaces a worker dependency for the next events (crash simulation). */
  hooks: { beforeRecordNote?: () => void };
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
}

export async function startAgentStack(options: AgentStackOptions = {}): Promise<AgentStack> {
  const agentEnv = options.agentEnv ?? 'stack';
  const config: AgentConfig = parseAgentConfig(JSON.stringify(options.config ?? {}));
  const aws = await startLocalAws({ agentEnv, maxReceiveCount: options.maxReceiveCount ?? 5 });
  const clientConfig = { region: aws.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ ...clientConfig, endpoint: aws.dynamodbEndpoint }), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const sqs = new SQSClient({ ...clientConfig, endpoint: aws.sqsEndpoint });
  const workLedger = new DynamoWorkLedger(documents, aws.stateTable);
  const incidentLedger = new DynamoIncidentLedger(documents, aws.stateTable);
  const audit = new AuditLog(documents, aws.auditTable, agentEnv, config.audit.retentionDays);
  const outcomes = new OutcomeStore(documents, aws.auditTable, agentEnv, config.audit.retentionDays);
  const hooks: AgentStack['hooks'] = {};
  const recordNote = incidentLedger.recordNote.bind(incidentLedger);
  incidentLedger.recordNote = async (...args) => {
    hooks.beforeRecordNote?.();
    return recordNote(...args);
  };

  let sandbox: Sandbox | undefined;
  // One pacer for the one credential, as each execution environment has in AWS (lib/agent/agent-runtime.ts).
  const pacer = new RateLimitPacer();
  const connect = async () => {
    if (sandbox === undefined) throw new Error('the sandbox is not started yet');
    return {
      api: createPagerDutyClient({ apiUrl: sandbox.apiUrl, auth: apiKeyAuth(SANDBOX_API_TOKEN), fromEmail: SANDBOX_BOT_USER.email }),
      events: createEventsClient({ eventsUrl: sandbox.eventsUrl }),
      botUserId: SANDBOX_BOT_USER.id,
      eventsRoutingKey: 'stackroutingkey000000000000000001',
      pacer,
    };
  };
  const telemetry = (service: 'ingress' | 'worker' | 'handback') => {
    const created = createTelemetry(service, { AGENT_ENV: agentEnv });
    created.metrics.publishStoredMetrics = () => created.metrics;
    return created;
  };
  const notes = createNoteRenderer(config);
  const workerTelemetry = telemetry('worker');
  const processor = new EventProcessor({
    env: agentEnv,
    settings: config,
    connect,
    workLedger,
    incidentLedger,
    audit,
    notes,
    triage: (context) => triageIncident(context, config.triage),
    metrics: workerTelemetry.metrics,
    retry: { settings: { baseDelayMs: 20, maxDelayMs: 100 } },
    retryLaterSeconds: 1,
    outcomes: new OutcomeRecorder({ incidentLedger, audit, store: outcomes, metrics: workerTelemetry.metrics }),
    // Sharing on, as in the worker (functions/worker.ts), unless the config turns it off.
    context: {
      shared: sharedContextReader(config.context.sharedSeconds, new DynamoServiceContextCache(documents, aws.stateTable)),
      ...options.context,
    },
  });
  const worker = createWorkerHandler({
    processor,
    sqs,
    queueUrl: aws.queueUrl,
    logger: workerTelemetry.logger,
    metrics: workerTelemetry.metrics,
  });
  const handbackTelemetry = telemetry('handback');
  const handback = createHandbackHandler({
    handback: new DeadLetterHandback({
      env: agentEnv,
      settings: config,
      connect,
      workLedger,
      incidentLedger,
      audit,
      notes,
      metrics: handbackTelemetry.metrics,
    }),
    sqs,
    logger: handbackTelemetry.logger,
    metrics: handbackTelemetry.metrics,
  });
  const ingress = createIngressHandler({
    secrets: { getWebhookSecrets: async () => [STACK_SIGNING_SECRET] },
    ledger: new EventLedger(documents, aws.stateTable),
    queue: new EventQueue(sqs, aws.queueUrl),
    filters: config.filters,
    telemetry: telemetry('ingress'),
  });
  const remaining = options.workerRemainingMs;
  const runner = await startRunner({
    handlers: {
      ingress,
      worker: (event: SQSEvent, context: Context) =>
        worker(event, remaining === undefined ? context : { ...context, getRemainingTimeInMillis: remaining }),
      handback,
    },
    sqsEndpoint: aws.sqsEndpoint,
    region: aws.region,
    queueUrl: aws.queueUrl,
    deadLetterQueueUrl: aws.deadLetterQueueUrl,
    port: 0,
    visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 1,
  });
  sandbox = await startSandbox({ ...options.sandbox, webhookTarget: { url: runner.webhookUrl, secrets: [STACK_SIGNING_SECRET] } });
  const started = sandbox;
  return {
    aws,
    sandbox: started,
    runner,
    workLedger,
    incidentLedger,
    audit,
    outcomes,
    hooks,
    async stop() {
      await started.stop();
      await runner.stop();
      documents.destroy();
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
