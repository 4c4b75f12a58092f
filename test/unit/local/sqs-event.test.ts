import { buildSqsEvent, failedMessageIds } from '../../../local/runner/sqs-event';
import { toHttpAnswer } from '../../../local/runner/http-server';
import { createLambdaContext } from '../../../local/runner/lambda-context';

describe('Lambda SQS event source records', () => {
  const arn = 'arn:aws:sqs:eu-west-1:000000000000:local-events.fifo';
  const event = buildSqsEvent(
    [
      {
        MessageId: 'm1',
        ReceiptHandle: 'r1',
        Body: 'b1',
        MD5OfBody: 'md5',
        Attributes: {
          ApproximateReceiveCount: '3',
          MessageGroupId: 'PINC1',
          MessageDeduplicationId: 'E1',
          SentTimestamp: '1',
          SenderId: 's',
          ApproximateFirstReceiveTimestamp: '2',
          SequenceNumber: '9',
        },
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'x' } },
      },
      { MessageId: 'm2', ReceiptHandle: 'r2', Body: 'b2' },
    ],
    arn,
  );

  it('builds records with the FIFO system attributes, message attributes and the queue ARN', () => {
    expect(event.Records[0]).toEqual({
      messageId: 'm1',
      receiptHandle: 'r1',
      body: 'b1',
      attributes: {
        ApproximateReceiveCount: '3',
        MessageGroupId: 'PINC1',
        MessageDeduplicationId: 'E1',
        SentTimestamp: '1',
        SenderId: 's',
        ApproximateFirstReceiveTimestamp: '2',
        SequenceNumber: '9',
      },
      messageAttributes: { kind: { dataType: 'String', stringValue: 'x', stringListValues: [], binaryListValues: [] } },
      md5OfBody: 'md5',
      eventSource: 'aws:sqs',
      eventSourceARN: arn,
      awsRegion: 'eu-west-1',
    });
  });

  it('fails the whole batch when the handler threw or reported an identifier not in the batch', () => {
    expect(failedMessageIds(event, { threw: true })).toEqual(new Set(['m1', 'm2']));
    expect(failedMessageIds(event, { threw: false, result: { batchItemFailures: [{ itemIdentifier: 'zzz' }] } })).toEqual(
      new Set(['m1', 'm2']),
    );
    expect(failedMessageIds(event, { threw: false, result: { batchItemFailures: [{ itemIdentifier: '' }] } })).toEqual(
      new Set(['m1', 'm2']),
    );
  });

  it('fails only the reported items, and none for an empty or absent response', () => {
    expect(failedMessageIds(event, { threw: false, result: { batchItemFailures: [{ itemIdentifier: 'm2' }] } })).toEqual(new Set(['m2']));
    expect(failedMessageIds(event, { threw: false, result: { batchItemFailures: [] } })).toEqual(new Set());
    expect(failedMessageIds(event, { threw: false, result: undefined })).toEqual(new Set());
  });
});

describe('API Gateway answers from payload 2.0 results', () => {
  it('uses the structured result, lowercasing headers and decoding base64 bodies', () => {
    const answer = toHttpAnswer({ statusCode: 401, headers: { 'Content-Type': 'text/plain' }, body: 'bm8=', isBase64Encoded: true });
    expect(answer).toEqual({ statusCode: 401, headers: { 'content-type': 'text/plain' }, body: Buffer.from('no') });
  });

  it('turns a bare string or object into 200 JSON, as HTTP APIs do', () => {
    expect(toHttpAnswer('{"ok":true}')).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: Buffer.from('{"ok":true}'),
    });
    expect(toHttpAnswer({ ok: true } as never).statusCode).toBe(200);
  });
});

describe('Lambda context', () => {
  it('counts the remaining time down from the configured timeout', () => {
    let now = 1_000;
    const context = createLambdaContext({ functionName: 'worker', timeoutMs: 60_000 }, () => now);
    expect(context.functionName).toBe('worker');
    expect(context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(context.getRemainingTimeInMillis()).toBe(60_000);
    now += 59_000;
    expect(context.getRemainingTimeInMillis()).toBe(1_000);
    now += 5_000;
    expect(context.getRemainingTimeInMillis()).toBe(0);
  });
});
