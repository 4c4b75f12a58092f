import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoServiceContextCache, trimForStorage, type SharedServiceContext } from '../../../lib/state/service-context-cache';
import { makeIncident } from '../../support/fake-pagerduty';

const ddb = mockClient(DynamoDBDocumentClient);
const cache = () => new DynamoServiceContextCache(DynamoDBDocumentClient.from(new DynamoDBClient({})), 'state');
const refused = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
const T0 = new Date('2026-03-01T10:00:00Z');

const context = (overrides: Partial<SharedServiceContext> = {}): SharedServiceContext => ({
  readAt: T0.toISOString(),
  escalationPolicyId: 'PEP0001',
  recentIncidents: [makeIncident({ id: 'P1' })],
  changeEvents: [{ id: 'C1', summary: 'Deploy #41', timestamp: '2026-03-01T09:40:00Z', custom_details: { sha: 'abc' } }],
  oncalls: [],
  ...overrides,
});

beforeEach(() => ddb.reset());

describe('DynamoServiceContextCache', () => {
  it('counts a burst atomically and keeps the first time seen', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: { burstCount: 7, firstSeenAt: '2026-03-01T09:58:00.000Z' } });
    const mark = await cache().joinBurst('PSVC001', new Date('2026-03-01T09:57:00Z'), T0, new Date('2026-03-01T10:03:00Z'));
    expect(mark).toEqual({ count: 7, since: '2026-03-01T09:58:00.000Z' });
    const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.Key).toEqual({ pk: 'burst#PSVC001#2026-03-01T09:57:00.000Z' });
    expect(input?.UpdateExpression).toContain('ADD burstCount :one');
    expect(input?.UpdateExpression).toContain('firstSeenAt = if_not_exists(firstSeenAt, :seenAt)');
    expect(input?.ExpressionAttributeValues?.[':expiresAt']).toBe(Date.parse('2026-03-01T10:03:00Z') / 1000);
  });

  it('answers a fresh context and nothing once it went stale or was never written', async () => {
    const stored = { sharedContext: JSON.stringify(context()), freshUntil: T0.getTime() + 60_000 };
    ddb
      .on(GetCommand)
      .resolvesOnce({ Item: stored })
      .resolvesOnce({ Item: stored })
      .resolvesOnce({ Item: { readerLeaseUntil: 1 } });
    expect(await cache().read('PSVC001', new Date(T0.getTime() + 59_000))).toEqual(context());
    expect(await cache().read('PSVC001', new Date(T0.getTime() + 60_000))).toBeUndefined();
    expect(await cache().read('PSVC001', T0)).toBeUndefined();
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toMatchObject({ Key: { pk: 'servicectx#PSVC001' }, ConsistentRead: true });
  });

  it('grants the reading lease to one caller only, and fails loudly on anything but a refused condition', async () => {
    ddb.on(UpdateCommand).resolvesOnce({}).rejectsOnce(refused()).rejectsOnce(new Error('ProvisionedThroughputExceededException'));
    expect(await cache().claimRead('PSVC001', T0, new Date(T0.getTime() + 4500))).toBe(true);
    expect(await cache().claimRead('PSVC001', T0, new Date(T0.getTime() + 4500))).toBe(false);
    await expect(cache().claimRead('PSVC001', T0, new Date(T0.getTime() + 4500))).rejects.toThrow('ProvisionedThroughputExceededException');
    const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.ConditionExpression).toContain('freshUntil <= :now');
    expect(input?.ConditionExpression).toContain('readerLeaseUntil <= :now');
    expect(input?.ExpressionAttributeValues).toMatchObject({ ':now': T0.getTime(), ':leaseUntil': T0.getTime() + 4500 });
  });

  it('writes only the fields triage reads of past incidents', async () => {
    ddb.on(PutCommand).resolves({});
    expect(await cache().write('PSVC001', context(), new Date(T0.getTime() + 180_000))).toBe(true);
    const item = ddb.commandCalls(PutCommand)[0]?.args[0].input.Item;
    expect(item).toMatchObject({ pk: 'servicectx#PSVC001', freshUntil: T0.getTime() + 180_000 });
    const written = JSON.parse(String(item?.sharedContext)) as SharedServiceContext;
    expect(written.recentIncidents?.[0]).toMatchObject({ id: 'P1', assignments: [], acknowledgements: [], teams: [] });
  });

  it('declines to share notes that do not fit in an item', async () => {
    ddb.on(PutCommand).resolves({});
    expect(await cache().writePastNotes('P1', ['x'.repeat(400_000)], T0)).toBe(false);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
    expect(await cache().writePastNotes('P1', ['Restarted the consumer. pda-0123456789'], T0)).toBe(true);
  });
});

describe('trimForStorage', () => {
  it('drops change events’ custom details, then the oldest incidents, to stay under the item limit', () => {
    const many = Array.from({ length: 40 }, (_, index) => makeIncident({ id: `P${index}`, title: `t${index}` }));
    const bulky = { blob: 'y'.repeat(2_000) };
    const trimmed = trimForStorage(
      context({
        recentIncidents: many,
        changeEvents: [{ id: 'C1', summary: 'Deploy', timestamp: T0.toISOString(), custom_details: bulky }],
      }),
      8_000,
    );
    expect(trimmed?.changeEvents?.[0]?.custom_details).toBeUndefined();
    expect(trimmed?.recentIncidents?.length).toBeLessThan(40);
    expect(trimmed?.recentIncidents?.[0]?.id).toBe('P0');
    expect(Buffer.byteLength(JSON.stringify(trimmed))).toBeLessThanOrEqual(8_000);
  });

  it('gives up when even the trimmed context is too large', () => {
    const huge = context({ changeEvents: [{ id: 'C1', summary: 'z'.repeat(10_000), timestamp: T0.toISOString() }] });
    expect(trimForStorage(huge, 8_000)).toBeUndefined();
  });
});
