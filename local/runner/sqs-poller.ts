import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { createLambdaContext } from './lambda-context';
import type { LambdaHandler } from './handler-loader';
import { invokeWithTimeout } from './invoke';
import { buildSqsEvent, failedMessageIds } from './sqs-event';

export interface BatchObservation {
  functionName: string;
  queueUrl: string;
  messageIds: string[];
  failedIds: string[];
  timedOut: boolean;
  error?: unknown;
  durationMs: number;
}

export interface SqsPollerOptions {
  sqs: SQSClient;
  queueUrl: string;
  functionName: string;
  handler: LambdaHandler<SQSEvent, unknown>;
  functionTimeoutMs: number;
  /** Lambda's batch size for SQS (at most 10 per receive). */
  batchSize: number;
  /**
   * Local override of the queue's visibility timeout, passed on each receive, so a failed message is retried after
   * this many seconds instead of the deployed six times the function timeout. Unset keeps the queue's, as in AWS.
   * (local-aws-sqs 2.0.2 loses a FIFO message whose visibility is changed after receipt, so this is not done with
   * ChangeMessageVisibility.)
   */
  visibilityTimeoutSeconds?: number;
  /**
   * Wait of each receive, in seconds. local-aws-sqs holds a long poll for its whole wait unless it fills the batch,
   * re-receiving messages whose visibility ended meanwhile, so the local stack short-polls (0) with a pause when empty.
   */
  waitTimeSeconds: number;
  /** Pause after an empty receive, in milliseconds. */
  emptyReceivePauseMs: number;
  onBatch?: (observation: BatchObservation) => void;
}

export interface SqsPoller {
  /** True while a receive returned messages that are still being handled. */
  busy(): boolean;
  /** Messages in the queue, visible, in flight or delayed. */
  depth(): Promise<number>;
  /** Resolves after the next receive that came back empty. */
  nextEmptyReceive(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Plays Lambda's SQS event source for one FIFO queue: receives batches with every system attribute (local-aws-sqs
 * returns ApproximateReceiveCount only for `AttributeNames: ['All']`), invokes the handler with an `SQSEvent`, deletes
 * what succeeded and leaves `batchItemFailures` to become visible again when the visibility timeout ends. One batch at a time, so a message group's
 * order holds exactly as FIFO delivery gives it.
 */
export async function startSqsPoller(options: SqsPollerOptions): Promise<SqsPoller> {
  const { sqs, queueUrl } = options;
  const arnAnswer = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  const queueArn = arnAnswer.Attributes?.QueueArn ?? queueUrl;
  let running = true;
  let handling = false;
  let emptyWaiters: (() => void)[] = [];
  const abort = new AbortController();

  // local-aws-sqs does not lock a FIFO message group while one of its messages waits to be retried; SQS does. A group
  // whose message failed stays blocked until that message comes back; later messages of the group received meanwhile
  // are not handed to the function and become visible again after the visibility timeout.
  // The block also ends after twice the visibility timeout, for a blocker that was dead-lettered instead.
  const blockedGroups = new Map<string, { messageId: string; until: number }>();
  const blockMs = 2 * 1000 * (options.visibilityTimeoutSeconds ?? 30);
  const holdBackBlockedGroups = (messages: Message[]): Message[] => {
    const deliverable: Message[] = [];
    const now = Date.now();
    for (const [group, block] of blockedGroups) if (block.until < now) blockedGroups.delete(group);
    for (const message of messages) {
      const group = message.Attributes?.MessageGroupId;
      const blocker = group === undefined ? undefined : blockedGroups.get(group)?.messageId;
      if (group !== undefined && blocker === message.MessageId) blockedGroups.delete(group);
      if (blocker === undefined || blocker === message.MessageId) deliverable.push(message);
    }
    return deliverable;
  };

  const handleBatch = async (messages: Message[]): Promise<void> => {
    const started = Date.now();
    const event = buildSqsEvent(messages, queueArn);
    const context = createLambdaContext({ functionName: options.functionName, timeoutMs: options.functionTimeoutMs });
    const outcome = await invokeWithTimeout(() => options.handler(event, context), options.functionTimeoutMs);
    const failed = failedMessageIds(event, outcome.ok ? { threw: false, result: outcome.value } : { threw: true });
    for (const record of event.Records) {
      const group = record.attributes.MessageGroupId;
      if (group !== undefined && failed.has(record.messageId) && !blockedGroups.has(group))
        blockedGroups.set(group, { messageId: record.messageId, until: Date.now() + blockMs });
    }
    const succeeded = event.Records.filter((record) => !failed.has(record.messageId));
    if (succeeded.length > 0) {
      const deleted = await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: succeeded.map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle })),
        }),
      );
      for (const failure of deleted.Failed ?? []) {
        console.error(
          `Could not delete a handled message from ${queueUrl}: ${failure.Code ?? ''} ${failure.Message ?? ''}. It will be delivered again.`,
        );
      }
    }
    options.onBatch?.({
      functionName: options.functionName,
      queueUrl,
      messageIds: event.Records.map((record) => record.messageId),
      failedIds: [...failed],
      timedOut: !outcome.ok && outcome.timedOut,
      ...(outcome.ok ? {} : { error: outcome.error }),
      durationMs: Date.now() - started,
    });
  };

  const loop = async (): Promise<void> => {
    while (running) {
      try {
        const answer = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: Math.min(10, Math.max(1, options.batchSize)),
            WaitTimeSeconds: options.waitTimeSeconds,
            AttributeNames: ['All'],
            MessageAttributeNames: ['All'],
            ...(options.visibilityTimeoutSeconds === undefined ? {} : { VisibilityTimeout: options.visibilityTimeoutSeconds }),
          }),
          { abortSignal: abort.signal },
        );
        const messages = answer.Messages ?? [];
        if (messages.length === 0) {
          const waiters = emptyWaiters;
          emptyWaiters = [];
          for (const resolve of waiters) resolve();
          if (options.emptyReceivePauseMs > 0) await new Promise((resolve) => setTimeout(resolve, options.emptyReceivePauseMs));
          continue;
        }
        const deliverable = holdBackBlockedGroups(messages);
        if (deliverable.length === 0) continue;
        handling = true;
        try {
          await handleBatch(deliverable);
        } finally {
          handling = false;
        }
      } catch (error) {
        if (!running) return;
        console.error(`SQS poller for ${options.functionName} failed to receive from ${queueUrl}: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  };
  const done = loop();

  return {
    busy: () => handling,
    async depth() {
      const answer = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
        }),
      );
      const attributes = answer.Attributes ?? {};
      return (
        Number(attributes.ApproximateNumberOfMessages ?? 0) +
        Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0) +
        Number(attributes.ApproximateNumberOfMessagesDelayed ?? 0)
      );
    },
    nextEmptyReceive: () => new Promise((resolve) => emptyWaiters.push(resolve)),
    async stop() {
      running = false;
      // A short poll is let finish: aborted on the client, it could still take a message on the server after stop()
      // returned, leaving it invisible with nobody to handle it. Only a long poll is worth cutting short.
      if (options.waitTimeSeconds > 0) abort.abort();
      await done;
      for (const resolve of emptyWaiters) resolve();
      emptyWaiters = [];
    },
  };
}
