import type { Logger } from '@aws-lambda-powertools/logger';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { MetricName } from '../observability/telemetry';
import { decodeQueuedEvent, type QueuedEvent } from '../queue/queued-event';
import type { Invocation, MetricsSink } from './agent-ports';
import { processFifoBatch } from './fifo-batch';
import type { ProcessOutcome } from './process-event';

export type WorkerLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

export interface WorkerHandlerDeps {
  processor: { process(queued: QueuedEvent, invocation: Invocation): Promise<ProcessOutcome> };
  sqs: SQSClient;
  /** The event queue, for visibility changes of deferred messages. */
  queueUrl: string | undefined;
  logger: WorkerLogger;
  metrics: MetricsSink & { publishStoredMetrics(): void; hasStoredMetrics(): boolean };
}

/** The worker Lambda: one SQS FIFO batch of queued webhook events, partial batch failures reported. */
export function createWorkerHandler(deps: WorkerHandlerDeps): (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> {
  return async (event, context) => {
    try {
      return await processFifoBatch(
        event,
        context,
        async (record) => {
          const queued = decodeQueuedEvent(record.body, record.messageId);
          try {
            const outcome = await deps.processor.process(queued, { remainingTimeMs: () => context.getRemainingTimeInMillis() });
            deps.logger.info('event processed', { eventId: queued.eventId, incidentId: queued.incidentId, outcome });
          } catch (error) {
            deps.metrics.addMetric(MetricName.workerError, 'Count', 1);
            deps.logger.warn('event not processed; it goes back to the queue', {
              eventId: queued.eventId,
              incidentId: queued.incidentId,
              error: (error as Error)?.message ?? String(error),
            });
            throw error;
          }
        },
        {
          sqs: deps.sqs,
          queueUrl: deps.queueUrl,
          onVisibilityError: (record, error) =>
            deps.logger.error('could not change the visibility of a deferred message', { messageId: record.messageId, error: (error as Error)?.message }),
        },
      );
    } finally {
      // An invocation that only recorded events has nothing to publish; Powertools would warn about an empty flush.
      if (deps.metrics.hasStoredMetrics()) deps.metrics.publishStoredMetrics();
    }
  };
}
