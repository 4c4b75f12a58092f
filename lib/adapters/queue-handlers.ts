import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { Invocation } from '../agent/agent-ports';
import type { HandbackOutcome } from '../agent/handback';
import { NoTimeToStartError, type ProcessOutcome } from '../agent/process-event';
import { MetricName } from '../observability/telemetry';
import type { CheckOutcome } from '../agent/scheduled-check';
import {
  decodeWorkerMessage,
  isQueuedCheck,
  readDeadLetteredEvent,
  type QueuedCheck,
  type DeadLetteredEvent,
  type QueuedEvent,
  type QueuedEventHeader,
} from '../queue/queued-event';
import { createQueuedEventBatchHandler, type QueuedEventBatchHandlerOptions } from './sqs-batch';

/**
 * The worker's and the handback's Lambda handlers: the SQS batch plumbing of sqs-batch.ts, configured for each queue
 * (what a failure logs and counts, which failures are deferrals).
 */
type BatchHandlerDeps = Pick<QueuedEventBatchHandlerOptions<QueuedEventHeader>, 'sqs' | 'logger' | 'metrics'>;
type BatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export interface QueuedEventProcessor {
  process(queued: QueuedEvent, invocation: Invocation): Promise<ProcessOutcome>;
}

export interface ScheduledCheckHandler {
  process(check: QueuedCheck, invocation: Invocation): Promise<CheckOutcome>;
}

export interface WorkerHandlerDeps extends BatchHandlerDeps {
  processor: QueuedEventProcessor;
  /** Scheduled checks (a hold's end, follow-ups) that came due in an incident's group; without it they fail and stay queued. */
  checks?: ScheduledCheckHandler;
  /** The event queue, for visibility changes of deferred messages. */
  queueUrl: string | undefined;
}

/** The worker Lambda: one SQS FIFO batch of queued webhook events and due checks, partial batch failures reported. */
export function createWorkerHandler(deps: WorkerHandlerDeps): BatchHandler {
  return createQueuedEventBatchHandler({
    decode: (record) => decodeWorkerMessage(record.body, record.messageId),
    handle: (queued, invocation) => {
      if (!isQueuedCheck(queued)) return deps.processor.process(queued, invocation);
      if (deps.checks === undefined)
        throw new Error(`Scheduled check ${queued.eventId} reached a worker built without a check processor; it stays on the queue.`);
      return deps.checks.process(queued, invocation);
    },
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

export interface QueuedEventHandback {
  handle(queued: DeadLetteredEvent, invocation: Invocation): Promise<HandbackOutcome>;
}

export interface HandbackHandlerDeps extends BatchHandlerDeps {
  handback: QueuedEventHandback;
}

/** The handback Lambda on the dead-letter queue: a message it could not handle is reported failed, never dropped. */
export function createHandbackHandler(deps: HandbackHandlerDeps): BatchHandler {
  return createQueuedEventBatchHandler({
    // A message this release cannot fully read (a newer release's) still names its incident, so it is handed back.
    decode: readDeadLetteredEvent,
    handle: (queued, invocation) => deps.handback.handle(queued, invocation),
    sqs: deps.sqs,
    // Dead-lettered messages are retried after the DLQ's own visibility timeout; none is deferred further.
    queueUrl: undefined,
    logger: deps.logger,
    metrics: deps.metrics,
    failureMetric: MetricName.handbackFailed,
    messages: {
      handled: 'dead-lettered event handled',
      failed: 'could not hand a dead-lettered event back; it stays on the dead-letter queue',
    },
    failureLogLevel: 'error',
  });
}
