import { SqsFifoPartialProcessorAsync, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { MetricNameValue } from '../observability/telemetry';
import type { QueuedEventHeader } from '../queue/queued-event';
import type { Invocation, MetricsSink } from '../agent/agent-ports';

/**
 * An SQS FIFO batch processed in order with partial failure reporting: a failed message fails every later message of
 * its group (so an incident's events stay in order) while other groups go on. A failure that says when to come back
 * (`retryAfterSeconds`: a 429's `ratelimit-reset`, a lease still held) sets the visibility of that group's failed
 * messages to that delay, so the queue, not a sleeping Lambda, does the waiting.
 */
export interface FifoBatchOptions {
  sqs: SQSClient;
  queueUrl: string | undefined;
  onVisibilityError?: (record: SQSRecord, error: unknown) => void;
}

/** SQS's ceiling for a visibility timeout (12 hours). */
const MAX_VISIBILITY_SECONDS = 43_200;

export const retryAfterOf = (error: unknown): number | undefined => {
  const value = (error as { retryAfterSeconds?: unknown } | null)?.retryAfterSeconds;
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.ceil(value) : undefined;
};

export const groupOf = (record: SQSRecord): string => record.attributes.MessageGroupId ?? record.messageId;

export async function processFifoBatch(
  event: SQSEvent,
  context: Context,
  handleRecord: (record: SQSRecord) => Promise<void>,
  options: FifoBatchOptions,
): Promise<SQSBatchResponse> {
  const delays = new Map<string, number>();
  const response = await processPartialResponse(
    event,
    async (record: SQSRecord) => {
      try {
        await handleRecord(record);
      } catch (error) {
        const delay = retryAfterOf(error);
        if (delay !== undefined) delays.set(groupOf(record), Math.max(delays.get(groupOf(record)) ?? 0, delay));
        throw error;
      }
    },
    new SqsFifoPartialProcessorAsync(),
    { context, skipGroupOnError: true, throwOnFullBatchFailure: false },
  );
  const failures = response.batchItemFailures.map((failure) => failure.itemIdentifier);
  if (options.queueUrl !== undefined && delays.size > 0) {
    const byId = new Map(event.Records.map((record) => [record.messageId, record]));
    for (const id of failures) {
      const record = byId.get(id);
      const delay = record === undefined ? undefined : delays.get(groupOf(record));
      if (record === undefined || delay === undefined) continue;
      try {
        await options.sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: options.queueUrl,
            ReceiptHandle: record.receiptHandle,
            VisibilityTimeout: Math.min(delay, MAX_VISIBILITY_SECONDS),
          }),
        );
      } catch (error) {
        // The message still comes back, after the queue's own visibility timeout instead.
        options.onVisibilityError?.(record, error);
      }
    }
  }
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}

export type BatchLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

export interface QueuedEventBatchHandlerOptions<E extends QueuedEventHeader> {
  /** Reads one message (the worker needs the whole event, the handback only which event and incident it is). */
  decode: (record: SQSRecord) => E;
  /** Handles one queued webhook event; its result is logged as the outcome. */
  handle: (queued: E, invocation: Invocation) => Promise<unknown>;
  sqs: SQSClient;
  /** The queue whose failed messages get a visibility delay; undefined: they come back after the queue's own. */
  queueUrl: string | undefined;
  logger: BatchLogger;
  metrics: MetricsSink & { publishStoredMetrics(): void; hasStoredMetrics(): boolean };
  /** Counted once per message that fails. */
  failureMetric: MetricNameValue;
  messages: { handled: string; failed: string };
  /** A failed worker event is routine (it comes back); a failed handback leaves an incident silenced: error. */
  failureLogLevel: 'warn' | 'error';
  /** A message handed back unstarted on purpose (no time left): returned like a failure, logged as info, not counted as one. */
  deferral?: { is: (error: unknown) => boolean; message: string };
}

/**
 * A Lambda handler for SQS FIFO batches of queued webhook events (the worker on the event queue, the handback on the
 * dead-letter queue): each message decoded and handled in order, a failure logged, counted and reported as a batch
 * item failure so the message comes back (never dropped), metrics published once per invocation.
 */
export function createQueuedEventBatchHandler<E extends QueuedEventHeader>(
  options: QueuedEventBatchHandlerOptions<E>,
): (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> {
  const { logger, metrics } = options;
  return async (event, context) => {
    try {
      return await processFifoBatch(
        event,
        context,
        async (record) => {
          let queued: E | undefined;
          try {
            queued = options.decode(record);
            const outcome = await options.handle(queued, { remainingTimeMs: () => context.getRemainingTimeInMillis() });
            logger.info(options.messages.handled, { eventId: queued.eventId, incidentId: queued.incidentId, outcome });
          } catch (error) {
            const fields = {
              messageId: record.messageId,
              eventId: queued?.eventId,
              incidentId: queued?.incidentId,
              error: (error as Error)?.message ?? String(error),
            };
            if (options.deferral?.is(error) === true) {
              logger.info(options.deferral.message, fields);
            } else {
              metrics.addMetric(options.failureMetric, 'Count', 1);
              logger[options.failureLogLevel](options.messages.failed, fields);
            }
            throw error;
          }
        },
        {
          sqs: options.sqs,
          queueUrl: options.queueUrl,
          onVisibilityError: (record, error) =>
            logger.error('could not change the visibility of a deferred message', {
              messageId: record.messageId,
              error: (error as Error)?.message,
            }),
        },
      );
    } finally {
      // An invocation that only recorded events has nothing to publish; Powertools would warn about an empty flush.
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
}
