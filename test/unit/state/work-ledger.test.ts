import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoWorkLedger, WorkLedgerError } from '../../../lib/state/work-ledger';
import { DynamoIncidentLedger, ResolveRefusedError } from '../../../lib/state/incident-ledger';

const ddb = mockClient(DynamoDBDocumentClient);
const documents = () => DynamoDBDocumentClient.from(new DynamoDBClient({}));
const refused = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });

beforeEach(() => ddb.reset());

describe('DynamoWorkLedger (command shapes; behaviour is tested on dynalite)', () => {
  it('claims with a lease and never writes ingress-owned attributes', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: { attempt: 1, retriesUsed: 0, failedCalls: new Set(['read incident']) } });
    const result = await new DynamoWorkLedger(documents(), 'state').claim({ eventId: 'E1', leaseMs: 1000, now: new Date(5000) });
    expect(result).toEqual({ claimed: true, attempt: 1, retriesUsed: 0, failedCalls: ['read incident'] });
    const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.Key).toEqual({ pk: 'event#E1' });
    expect(input?.ExpressionAttributeValues?.[':leaseUntil']).toBe(6000);
    for (const owned of ['ingressStatus', 'eventType', 'incidentId', 'webhookId', 'subscriptionId', 'receivedAt', 'enqueuedAt']) {
      expect(input?.UpdateExpression).not.toContain(owned);
    }
  });

  it('says why a claim was refused', async () => {
    ddb.on(UpdateCommand).rejects(refused());
    ddb
      .on(GetCommand)
      .resolvesOnce({ Item: { workStatus: 'done' } })
      .resolvesOnce({ Item: { workStatus: 'processing', leaseUntil: 9000 } });
    const ledger = new DynamoWorkLedger(documents(), 'state');
    expect(await ledger.claim({ eventId: 'E1', leaseMs: 1000 })).toEqual({ claimed: false, reason: 'finished', workStatus: 'done' });
    expect(await ledger.claim({ eventId: 'E1', leaseMs: 1000 })).toEqual({ claimed: false, reason: 'leased', leaseUntil: 9000 });
  });

  it('reports a spent budget as false and other failures as typed errors', async () => {
    ddb.on(UpdateCommand).rejectsOnce(refused()).rejectsOnce(new Error('ProvisionedThroughputExceededException'));
    const ledger = new DynamoWorkLedger(documents(), 'state');
    expect(await ledger.consumeRetry('E1')).toBe(false);
    await expect(ledger.consumeRetry('E1')).rejects.toBeInstanceOf(WorkLedgerError);
  });
});

describe('DynamoIncidentLedger (command shapes)', () => {
  it('refuses a resolve with a typed error when the condition fails', async () => {
    ddb.on(UpdateCommand).rejects(refused());
    await expect(new DynamoIncidentLedger(documents(), 'state').beginResolve('P1')).rejects.toBeInstanceOf(ResolveRefusedError);
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input.ConditionExpression).toBe(
      'attribute_not_exists(escalatedAt) AND attribute_not_exists(leftWithOnCallAt) AND attribute_not_exists(handedBackAt)',
    );
  });
});
