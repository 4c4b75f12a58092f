import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { EventProcessor, type ProcessEventDeps } from '../agent/process-event';
import { createWorkerHandler, type QueuedEventProcessor } from '../adapters/queue-handlers';
import { AwsClientCache } from '../context/aws/clients';
import { sharedContextReader } from '../context/shared-service-context';
import { ScheduledCheckProcessor } from '../agent/scheduled-check';
import { createTelemetry, type Telemetry } from '../observability/telemetry';
import { CheckScheduler, timeScaleFrom } from '../scheduling/check-scheduler';
import { rulesMayKeep } from '../triage/rules-engine';
import { triageIncident } from '../triage/triage';
import type { Hypothesis, IncidentContext } from '../triage/types';
import { RequestAnswerer } from '../requests/answer-request';
import {
  buildAgentRuntime,
  outcomeRecorderFor,
  ruleTrustReader,
  sharedAgentDeps,
  type AgentFunctionOptions,
  type AgentRuntime,
} from './agent-runtime';

/**
 * The worker function's wiring, built once per execution environment. The AWS clients it builds (DynamoDB, Secrets
 * Manager, SQS, Bedrock) are injectable through `clients` (AgentClients); clients for the context gatherer join them
 * there and reach the processor's gather step.
 */
export interface WorkerWiringOptions extends AgentFunctionOptions {
  /** Timing of the processor (clock, retry pacing, lease margin); production uses the defaults. */
  tuning?: Pick<ProcessEventDeps, 'clock' | 'retry' | 'leaseMarginMs' | 'retryLaterSeconds' | 'gather'>;
  /**
   * Where the AWS context comes from (default: clients per region and role, created on first use); `shared` replaces
   * the runtime's shared service context.
   */
  context?: ProcessEventDeps['context'];
  /** Wraps the processor between the batch handler and the steps (tests scope each event for their crash points). */
  decorateProcessor?: (processor: QueuedEventProcessor) => QueuedEventProcessor;
}

export interface WorkerWiring {
  handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
  processor: EventProcessor;
  runtime: AgentRuntime;
}

/** AWS context clients exist only in the worker, one set per region and role, created on first use. */
function defaultAwsContext(runtime: AgentRuntime, env: NodeJS.ProcessEnv): ProcessEventDeps['context'] {
  const awsClients = new AwsClientCache();
  return { aws: { config: runtime.config.context.aws, clientsFor: (target) => awsClients.get(target), workerRegion: env.AWS_REGION } };
}

/** The scheduler when the stack gave the worker a check queue (CHECK_QUEUE_URL); without one nothing is scheduled. */
function checkSchedulerFor(env: NodeJS.ProcessEnv, sqs: SQSClient, metrics: Telemetry['metrics']): CheckScheduler | undefined {
  const queueUrl = env.CHECK_QUEUE_URL;
  if (queueUrl === undefined || queueUrl === '') return undefined;
  return new CheckScheduler({ sqs, queueUrl, metrics, timeScale: timeScaleFrom(env) });
}

export function buildWorker(options: WorkerWiringOptions = {}): WorkerWiring {
  const { logger, metrics } = options.telemetry ?? createTelemetry('worker', options.env);
  const runtime = buildAgentRuntime(options);
  const env = options.env ?? process.env;
  const sqs = options.clients?.sqs ?? new SQSClient({});
  const scheduler = checkSchedulerFor(env, sqs, metrics);
  const context: NonNullable<ProcessEventDeps['context']> = {
    // Incidents of one service within minutes share its service-level reads (storms): the runtime's cache.
    shared: sharedContextReader(runtime.config.context.sharedSeconds, runtime.serviceContextCache, (error) =>
      logger.warn('The shared service context could not be used; the incident read its own', { error }),
    ),
    ...(options.context ?? defaultAwsContext(runtime, env)),
  };
  const triage = (incidentContext: IncidentContext): Hypothesis => triageIncident(incidentContext, runtime.config.triage);
  const requests = new RequestAnswerer({
    settings: runtime.config,
    incidentLedger: runtime.incidentLedger,
    audit: runtime.audit,
    quota: runtime.requestQuota,
    metrics,
    triage,
    ...(context.aws === undefined ? {} : { aws: context.aws }),
    ...(options.tuning?.clock === undefined ? {} : { clock: options.tuning.clock }),
  });
  const processor = new EventProcessor({
    ...sharedAgentDeps(runtime, metrics),
    triage: (incidentContext, trust) => triageIncident(incidentContext, runtime.config.triage, { trust }),
    requests,
    mayKeep: (incident, trust) => rulesMayKeep(runtime.config.triage.rules, incident, runtime.config.triage.holdMinConfidence, trust),
    ruleTrust: ruleTrustReader(runtime),
    refine: runtime.refine,
    outcomes: outcomeRecorderFor(runtime, metrics),
    context,
    scheduler,
    ...options.tuning,
  });
  const checks = new ScheduledCheckProcessor({
    ...sharedAgentDeps(runtime, metrics),
    scheduler,
    aws: context.aws,
    ...options.tuning,
  });
  const handler = createWorkerHandler({
    processor: options.decorateProcessor?.(processor) ?? processor,
    checks,
    sqs,
    queueUrl: env.QUEUE_URL,
    logger,
    metrics,
  });
  return { handler, processor, runtime };
}
