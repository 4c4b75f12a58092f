import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { requireEnv } from '../config/runtime-env';
import { createTelemetry, type Telemetry } from '../observability/telemetry';
import { relayBatch, type DelayRelayDeps } from '../scheduling/delay-relay';

/**
 * The scheduler function's wiring: the relay from the delay queue (CHECK_QUEUE_URL) to the event queue (QUEUE_URL).
 * It reads no secret and no table, and calls nothing but SQS.
 */
export interface SchedulerWiringOptions {
  env?: NodeJS.ProcessEnv;
  sqs?: SQSClient;
  telemetry?: Telemetry;
  clock?: DelayRelayDeps['clock'];
}

export function buildScheduler(options: SchedulerWiringOptions = {}): { handler: (event: SQSEvent) => Promise<SQSBatchResponse> } {
  const env = options.env ?? process.env;
  const { logger, metrics } = options.telemetry ?? createTelemetry('scheduler', env);
  const deps: DelayRelayDeps = {
    sqs: options.sqs ?? new SQSClient({}),
    checkQueueUrl: requireEnv('CHECK_QUEUE_URL', env),
    eventQueueUrl: requireEnv('QUEUE_URL', env),
    metrics,
    logger,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  };
  return {
    handler: async (event) => {
      try {
        return await relayBatch(event, deps);
      } finally {
        if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
      }
    },
  };
}
