import { PutCommand, QueryCommand, UpdateCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { AuditLog, AuditWriteError, redactSecrets } from '../../../lib/audit/audit-log';

const ddb = mockClient(DynamoDBDocumentClient);
const NOW = new Date('2026-03-01T23:59:59.000Z');
const log = () => new AuditLog(DynamoDBDocumentClient.from(new DynamoDBClient({})), 'audit', 'prod', 30, () => NOW);

beforeEach(() => ddb.reset());

describe('AuditLog', () => {
  it('writes an intent keyed by incident and time, with the day partition and a TTL from the retention', async () => {
    const handle = await log().begin({
      incidentId: 'PINC1',
      eventId: 'EVT1',
      eventType: 'incident.triggered',
      action: 'note',
      hypothesisSummary: 'disk full',
    });
    const item = ddb.commandCalls(PutCommand)[0]?.args[0].input.Item;
    expect(item).toEqual({
      incidentId: 'PINC1',
      sk: '2026-03-01T23:59:59.000Z#note#EVT1',
      day: '2026-03-01',
      at: '2026-03-01T23:59:59.000Z',
      env: 'prod',
      action: 'note',
      outcome: 'intent',
      eventId: 'EVT1',
      eventType: 'incident.triggered',
      hypothesisSummary: 'disk full',
      expiresAt: Math.floor(NOW.getTime() / 1000) + 30 * 86400,
    });
    expect(handle).toEqual({ incidentId: 'PINC1', sk: item?.sk });
  });

  it('completes the intent with the outcome, and keeps credentials out of it', async () => {
    await log().complete(
      { incidentId: 'PINC1', sk: 'k' },
      {
        outcome: 'failed',
        detail: 'request with Authorization: Token token=u+abcdef123 failed',
        httpStatus: 503,
        requestId: 'req-9',
        attempts: 4,
        durationMs: 812,
      },
    );
    const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    const values = Object.values(input?.ExpressionAttributeValues ?? {});
    expect(values).toEqual(expect.arrayContaining(['failed', 503, 'req-9', 4, 812]));
    expect(JSON.stringify(values)).not.toContain('u+abcdef123');
    expect(redactSecrets('{"clientSecret":"s3cr3t","routing_key":"R0UT1NG"}')).not.toMatch(/s3cr3t|R0UT1NG/);
  });

  it('says what failed when the table refuses a write', async () => {
    ddb.on(PutCommand).rejects(new Error('AccessDeniedException'));
    await expect(log().record({ incidentId: null, eventId: 'E', action: 'record', outcome: 'recorded' })).rejects.toBeInstanceOf(
      AuditWriteError,
    );
  });

  it('reads a time range across daily partitions of the byTime index, page by page', async () => {
    const pages: Record<string, Record<string, unknown>[]> = {
      '2026-03-01': [
        { Items: [{ sk: 'a' }], LastEvaluatedKey: { day: '2026-03-01', at: 'x', incidentId: 'P', sk: 'a' } },
        { Items: [{ sk: 'b' }] },
      ],
      '2026-03-02': [{ Items: [{ sk: 'c' }] }],
    };
    ddb
      .on(QueryCommand)
      .callsFake((input: { ExpressionAttributeValues: Record<string, string> }) => pages[input.ExpressionAttributeValues[':day']]?.shift());

    const audit = log();
    const since = new Date('2026-03-01T20:00:00Z');
    const until = new Date('2026-03-02T04:00:00Z');
    const first = await audit.byTimeRange(since, until, { limit: 1, action: 'note' });
    expect(first.items).toEqual([{ sk: 'a' }]);
    expect(first.nextCursor).toBeDefined();
    const second = await audit.byTimeRange(since, until, { limit: 2, action: 'note', cursor: first.nextCursor });
    expect(second.items).toEqual([{ sk: 'b' }, { sk: 'c' }]);
    expect(second.nextCursor).toBeUndefined();
    const inputs = ddb.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(inputs.every((input) => input.IndexName === 'byTime')).toBe(true);
    expect(inputs[1]?.ExclusiveStartKey).toEqual({ day: '2026-03-01', at: 'x', incidentId: 'P', sk: 'a' });
    expect(inputs[0]?.FilterExpression).toBe('#action = :action');
  });

  it('reads one incident by its partition', async () => {
    ddb.on(QueryCommand).resolves({ Items: [{ sk: 'a' }, { sk: 'b' }] });
    const page = await log().byIncident('PINC1');
    expect(page).toEqual({ items: [{ sk: 'a' }, { sk: 'b' }], nextCursor: undefined });
    expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({ KeyConditionExpression: 'incidentId = :incidentId' });
  });
});
