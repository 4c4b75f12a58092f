import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSMessageAttributes, SQSRecord, SQSRecordAttributes } from 'aws-lambda';

/** The SQS system attributes Lambda copies into each record (with `AttributeNames: ['All']` on the receive). */
function recordAttributes(attributes: Record<string, string>): SQSRecordAttributes {
  return {
    ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
    SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
    SenderId: attributes.SenderId ?? '000000000000',
    ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    ...(attributes.SequenceNumber === undefined ? {} : { SequenceNumber: attributes.SequenceNumber }),
    ...(attributes.MessageGroupId === undefined ? {} : { MessageGroupId: attributes.MessageGroupId }),
    ...(attributes.MessageDeduplicationId === undefined ? {} : { MessageDeduplicationId: attributes.MessageDeduplicationId }),
    ...(attributes.DeadLetterQueueSourceArn === undefined ? {} : { DeadLetterQueueSourceArn: attributes.DeadLetterQueueSourceArn }),
    ...(attributes.AWSTraceHeader === undefined ? {} : { AWSTraceHeader: attributes.AWSTraceHeader }),
  };
}

function messageAttributes(attributes: Record<string, MessageAttributeValue> | undefined): SQSMessageAttributes {
  const converted: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(attributes ?? {})) {
    converted[name] = {
      dataType: value.DataType ?? 'String',
      ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }),
      ...(value.BinaryValue === undefined ? {} : { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }),
      stringListValues: [],
      binaryListValues: [],
    };
  }
  return converted;
}

/** The `SQSEvent` Lambda's SQS event source would deliver for these received messages. */
export function buildSqsEvent(messages: Message[], queueArn: string): SQSEvent {
  const region = queueArn.split(':')[3] ?? 'us-east-1';
  return {
    Records: messages.map((message): SQSRecord => ({
      messageId: message.MessageId ?? '',
      receiptHandle: message.ReceiptHandle ?? '',
      body: message.Body ?? '',
      attributes: recordAttributes(message.Attributes ?? {}),
      messageAttributes: messageAttributes(message.MessageAttributes),
      md5OfBody: message.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: region,
    })),
  };
}

/** Message ids the handler reported failed: all of them when it threw, else its `batchItemFailures`. */
export function failedMessageIds(event: SQSEvent, outcome: { threw: true } | { threw: false; result: unknown }): Set<string> {
  if (outcome.threw) return new Set(event.Records.map((record) => record.messageId));
  const result = outcome.result as { batchItemFailures?: { itemIdentifier?: string }[] } | null | undefined;
  const failures = result?.batchItemFailures ?? [];
  const known = new Set(event.Records.map((record) => record.messageId));
  // Lambda fails the whole batch when a reported identifier is empty or not in the batch.
  if (failures.some((failure) => typeof failure.itemIdentifier !== 'string' || !known.has(failure.itemIdentifier))) {
    return known;
  }
  return new Set(failures.map((failure) => failure.itemIdentifier as string));
}
