import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { MetricName } from '../observability/telemetry';
import type { QueuedEvent } from '../queue/queued-event';
import type { Invocation, MetricsSink } from './agent-ports';
import { createQueuedEventBatchHandler, type BatchLogger } from './fifo-batch';
import { NoTimeToStartError, type ProcessOutcome } from './process-event';

export type WorkerLogger = BatchLogger;

export interface QueuedEventProcessor {
  process(queued: QueuedEvent, invocation: Invocation): Promise<ProcessOutcome>;
}

export interface WorkerHandlerDeps {
  processor: QueuedEventProcessor;
  sqs: SQSClient;
  /** The event queue, for visibility changes of deferred messages. */
  queueUrl: string | undefined;
  logger: WorkerLogger;
  metrics: MetricsSink & { publishStoredMetrics(): void; hasStoredMetrics(): boolean };
}

/** The worker Lambda: one SQS FIFO batch of queued webhook events, partial batch failures reported. */
export function createWorkerHandler(deps: WorkerHandlerDeps): (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> {
  return createQueuedEventBatchHandler({
    handle: (queued, invocation) => deps.processor.process(queued, invocation),
    sqs: deps.sqs,
    queueUrl: deps.queueUrl,
    logger: deps.logger,
    metrics: deps.metrics,
    failureMetric: MetricName.workerError,
    messages: { handled: 'event processed', failed: 'event not processed; it goes back to the queue' },
    failureLogLevel: 'warn',
    deferral: {
      is: (error) => error instanceof NoTimeToStartError,
      message: 'event not started for lack of time; it goes back to the queue in its place',
    },
  });
}
