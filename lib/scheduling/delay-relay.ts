import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { MetricsSink } from '../agent/agent-ports';
import type { BatchLogger } from '../adapters/sqs-batch';
import { messageOf } from '../errors/message-of';
import { MetricName } from '../observability/telemetry';
import { decodeWorkerMessage, encodeScheduledCheck, isQueuedCheck, type ScheduledCheck } from '../queue/queued-event';
import { delaySecondsUntil } from './check-scheduler';

/**
 * The scheduler's consumer on the delay queue. A check not yet due goes back on the delay queue with the next delay
 * (at most 900 s, SQS's limit); a due one is put on the event queue in its incident's FIFO group, deduplicated by its
 * check id, so the worker handles it in order with the incident's webhook events. A message it cannot read, or cannot
 * move, fails: it comes back, then goes to the check queue's dead-letter queue, which the handback reads.
 */
export interface DelayRelayDeps {
  sqs: SQSClient;
  /** The delay queue (CHECK_QUEUE_URL). */
  checkQueueUrl: string;
  /** The FIFO event queue (QUEUE_URL). */
  eventQueueUrl: string;
  metrics: MetricsSink;
  logger: BatchLogger;
  clock?: () => Date;
}

export type RelayOutcome = 'fired' | 'delayed';

/** A check counts as due this close to its time: a delay of under a second is not worth another trip. */
const DUE_MARGIN_MS = 1000;

export async function relayCheck(check: ScheduledCheck, deps: DelayRelayDeps): Promise<RelayOutcome> {
  const now = (deps.clock ?? (() => new Date()))();
  const dueAt = new Date(check.dueAt);
  if (dueAt.getTime() - now.getTime() > DUE_MARGIN_MS) {
    await deps.sqs.send(
      new SendMessageCommand({
        QueueUrl: deps.checkQueueUrl,
        MessageBody: encodeScheduledCheck(check),
        DelaySeconds: delaySecondsUntil(dueAt, now),
      }),
    );
    return 'delayed';
  }
  await deps.sqs.send(
    new SendMessageCommand({
      QueueUrl: deps.eventQueueUrl,
      MessageBody: encodeScheduledCheck(check),
      MessageGroupId: check.incidentId,
      MessageDeduplicationId: check.checkId,
    }),
  );
  return 'fired';
}

/** The scheduler Lambda's handler body: each record relayed on its own; failures reported, never dropped. */
export async function relayBatch(event: SQSEvent, deps: DelayRelayDeps): Promise<SQSBatchResponse> {
  const failures: string[] = [];
  for (const record of event.Records) {
    try {
      const message = decodeWorkerMessage(record.body, record.messageId);
      if (!isQueuedCheck(message)) {
        throw new Error('a webhook event is on the check queue; only scheduled checks belong there');
      }
      const outcome = await relayCheck(message.check, deps);
      if (outcome === 'fired') deps.metrics.addMetric(MetricName.scheduleFired, 'Count', 1);
      deps.logger.info(outcome === 'fired' ? 'scheduled check due: put on the event queue' : 'scheduled check not due yet: delayed again', {
        checkId: message.check.checkId,
        incidentId: message.check.incidentId,
        dueAt: message.check.dueAt,
      });
    } catch (error) {
      deps.metrics.addMetric(MetricName.scheduleFailed, 'Count', 1);
      deps.logger.error('scheduled check not relayed; it comes back, then goes to the check dead-letter queue', {
        messageId: record.messageId,
        error: messageOf(error),
      });
      failures.push(record.messageId);
    }
  }
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}
