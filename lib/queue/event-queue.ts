import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { encodeQueuedEvent, messageGroupFor, type QueuedEvent } from './queued-event';

/** The queue as the ingress handler uses it; tests may substitute it. */
export interface EventQueuePort {
  /** Sends the event; resolves with the SQS message id once SQS has stored it. */
  send(event: QueuedEvent): Promise<string>;
}

/**
 * The SQS FIFO event queue: one group per incident keeps an incident's events in order, and the event id as
 * deduplication id collapses concurrent or repeated sends of one event within SQS's 5-minute window.
 */
export class EventQueue implements EventQueuePort {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(event: QueuedEvent): Promise<string> {
    const result = await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: encodeQueuedEvent(event),
        MessageGroupId: messageGroupFor(event),
        MessageDeduplicationId: event.eventId,
      }),
    );
    return result.MessageId ?? '';
  }
}
