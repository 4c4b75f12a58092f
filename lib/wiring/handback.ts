import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createHandbackHandler, type QueuedEventHandback } from '../adapters/queue-handlers';
import { DeadLetterHandback, type HandbackDeps } from '../agent/handback';
import { createTelemetry } from '../observability/telemetry';
import { buildAgentRuntime, outcomeRecorderFor, sharedAgentDeps, type AgentFunctionOptions, type AgentRuntime } from './agent-runtime';

/** The handback function's wiring (the dead-letter queue's consumer), built once per execution environment. */
export interface HandbackWiringOptions extends AgentFunctionOptions {
  tuning?: Pick<HandbackDeps, 'clock' | 'retry'>;
  /** Wraps the handback between the batch handler and its work (tests scope each event for their crash points). */
  decorateHandback?: (handback: QueuedEventHandback) => QueuedEventHandback;
}

export interface HandbackWiring {
  handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
  handback: DeadLetterHandback;
  runtime: AgentRuntime;
}

export function buildHandback(options: HandbackWiringOptions = {}): HandbackWiring {
  const { logger, metrics } = options.telemetry ?? createTelemetry('handback', options.env);
  const runtime = buildAgentRuntime(options);
  const handback = new DeadLetterHandback({
    ...sharedAgentDeps(runtime, metrics),
    outcomes: outcomeRecorderFor(runtime, metrics),
    ...options.tuning,
  });
  const handler = createHandbackHandler({
    handback: options.decorateHandback?.(handback) ?? handback,
    sqs: options.clients?.sqs ?? new SQSClient({}),
    logger,
    metrics,
  });
  return { handler, handback, runtime };
}
