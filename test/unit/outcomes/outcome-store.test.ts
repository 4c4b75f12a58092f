import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { OutcomeStore, OutcomeStoreError, type NewFeedback } from '../../../lib/outcomes/outcome-store';

const ddb = mockClient(DynamoDBDocumentClient);
const NOW = new Date('2026-03-02T08:00:00.000Z');
const store = () => new OutcomeStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), 'audit', 'prod', 30, () => NOW);

const feedback: NewFeedback = {
  kind: 'feedback',
  incidentId: 'PINC1',
  eventId: 'EVT9',
  eventType: 'incident.annotated',
  detail: 'feedback from Ana: contradicted (Bearer abc123 was in the note)',
  verdict: 'contradicted',
  comment: 'db failover',
  by: 'PUSER',
  mode: 'act',
};

beforeEach(() => ddb.reset());

describe('OutcomeStore', () => {
  it('appends beside the audit trail: same partition, its own sort-key prefix, the day index, the audit TTL, a conditional put', async () => {
    ddb.on(PutCommand).resolves({});
    expect(await store().append(feedback)).toBe(true);
    const input = ddb.commandCalls(PutCommand)[0]?.args[0].input;
    expect(input?.ConditionExpression).toBe('attribute_not_exists(incidentId) AND attribute_not_exists(sk)');
    expect(input?.Item).toMatchObject({
      incidentId: 'PINC1',
      sk: 'feedback#EVT9',
      day: '2026-03-02',
      at: '2026-03-02T08:00:00.000Z',
      env: 'prod',
      action: 'record',
      outcome: 'recorded',
      detail: 'feedback from Ana: contradicted (Bearer [redacted] was in the note)',
      expiresAt: Math.floor(NOW.getTime() / 1000) + 30 * 86400,
    });
  });

  it('answers false for an item this event already wrote, and a typed error for any other failure', async () => {
    ddb.on(PutCommand).rejectsOnce(new ConditionalCheckFailedException({ message: 'exists', $metadata: {} }));
    expect(await store().append(feedback)).toBe(false);
    ddb.reset();
    ddb.on(PutCommand).rejects(new Error('throttled'));
    await expect(store().append(feedback)).rejects.toThrow(OutcomeStoreError);
  });

  it('reads a range day by day through the byTime index, keeping the latest outcome and feedback per incident', async () => {
    ddb.on(QueryCommand).callsFake((input: { ExpressionAttributeValues: Record<string, string> }) => {
      if (input.ExpressionAttributeValues[':day'] !== '2026-03-02') return { Items: [] };
      return {
        Items: [
          { incidentId: 'PINC1', kind: 'feedback', at: '2026-03-02T01:00:00Z', verdict: 'confirmed' },
          { incidentId: 'PINC1', kind: 'feedback', at: '2026-03-02T02:00:00Z', verdict: 'contradicted' },
          { incidentId: 'PINC1', kind: 'outcome', at: '2026-03-02T00:30:00Z', verdict: 'unknown' },
          { incidentId: 'PINC2', kind: 'outcome', at: '2026-03-02T00:40:00Z', verdict: 'confirmed' },
        ],
      };
    });
    const result = await store().byTimeRange(new Date('2026-03-01T00:00:00Z'), NOW);
    expect(ddb.commandCalls(QueryCommand).map((call) => call.args[0].input.ExpressionAttributeValues?.[':day'])).toEqual([
      '2026-03-01',
      '2026-03-02',
    ]);
    expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      IndexName: 'byTime',
      FilterExpression: 'begins_with(sk, :outcome) OR begins_with(sk, :feedback)',
    });
    const byId = Object.fromEntries(result.map((entry) => [entry.incidentId, entry]));
    expect(byId.PINC1?.feedback?.verdict).toBe('contradicted');
    expect(byId.PINC1?.outcome?.verdict).toBe('unknown');
    expect(byId.PINC2?.feedback).toBeUndefined();
  });
});
