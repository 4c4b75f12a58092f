import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoRequestQuota, RequestQuotaError, quotaWindowStart } from '../../../lib/requests/request-quota';

const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const dynamo = mockClient(documents);
const NOW = new Date('2026-03-01T10:47:30.000Z');

beforeEach(() => dynamo.reset());

describe('DynamoRequestQuota', () => {
  const quota = new DynamoRequestQuota(documents, 'state', { maxAnswers: 3, windowMinutes: 10 });

  it('adds the request to the incident item of its 10-minute window under a condition that lets a repeat through', async () => {
    dynamo.on(UpdateCommand).resolves({});
    await expect(quota.admit('PINC001', 'PNOTE1', NOW)).resolves.toBe(true);
    const input = dynamo.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.Key).toEqual({ pk: 'requests#PINC001#2026-03-01T10:40:00.000Z' });
    expect(input?.ConditionExpression).toBe('attribute_not_exists(requestIds) OR contains(requestIds, :id) OR size(requestIds) < :max');
    expect(input?.ExpressionAttributeValues).toMatchObject({ ':ids': new Set(['PNOTE1']), ':id': 'PNOTE1', ':max': 3 });
  });

  it('refuses when the condition fails (the window is full)', async () => {
    dynamo.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'failed', $metadata: {} }));
    await expect(quota.admit('PINC001', 'PNOTE4', NOW)).resolves.toBe(false);
  });

  it('fails with the item named and what happens next when DynamoDB fails', async () => {
    dynamo.on(UpdateCommand).rejects(new Error('throttled'));
    const failure = quota.admit('PINC001', 'PNOTE1', NOW);
    await expect(failure).rejects.toThrow(RequestQuotaError);
    await expect(failure).rejects.toThrow(
      /requests#PINC001#2026-03-01T10:40:00.000Z could not be written \(throttled\); the request is answered when the event is delivered again/,
    );
  });

  it('windows start on multiples of their length', () => {
    expect(quotaWindowStart(NOW, 10).toISOString()).toBe('2026-03-01T10:40:00.000Z');
    expect(quotaWindowStart(NOW, 60).toISOString()).toBe('2026-03-01T10:00:00.000Z');
  });
});
