import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoWorkLedger, WorkLedgerError, refusedBy } from '../../../lib/state/work-ledger';
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

  it('reports a spent budget as the cap that refused it and other failures as typed errors', async () => {
    ddb.on(UpdateCommand).rejectsOnce(refused()).rejectsOnce(new Error('ProvisionedThroughputExceededException'));
    ddb.on(GetCommand).resolvesOnce({ Item: { retriesUsed: 5 } });
    const ledger = new DynamoWorkLedger(documents(), 'state');
    expect(await ledger.consumeRetry('E1')).toBe('event-spent');
    await expect(ledger.consumeRetry('E1')).rejects.toBeInstanceOf(WorkLedgerError);
  });

  it("takes a retry from the webhook's 5, the operation's cap and the optional reads' 2 in one conditional update", async () => {
    ddb.on(UpdateCommand).resolves({});
    await new DynamoWorkLedger(documents(), 'state').consumeRetry('E1', { operation: 'read oncalls', operationMax: 3, optional: true });
    const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.ExpressionAttributeNames).toEqual({ '#operation': 'retries#read oncalls' });
    expect(input?.ExpressionAttributeValues).toMatchObject({ ':max': 5, ':operationMax': 3, ':optionalMax': 2 });
    expect(input?.UpdateExpression).toBe(
      'SET retriesUsed = if_not_exists(retriesUsed, :zero) + :one, #operation = if_not_exists(#operation, :zero) + :one, ' +
        'optionalReadRetries = if_not_exists(optionalReadRetries, :zero) + :one',
    );
    expect(input?.ConditionExpression).toBe(
      '(attribute_not_exists(retriesUsed) OR retriesUsed < :max) AND (attribute_not_exists(#operation) OR #operation < :operationMax) ' +
        'AND (attribute_not_exists(optionalReadRetries) OR optionalReadRetries < :optionalMax)',
    );
  });

  it('says which cap refused a retry', () => {
    const charge = { operation: 'acknowledge', operationMax: 3, optional: false };
    expect(refusedBy({ retriesUsed: 5, 'retries#acknowledge': 1 }, charge)).toBe('event-spent');
    expect(refusedBy({ retriesUsed: 3, 'retries#acknowledge': 3 }, charge)).toBe('operation-spent');
    expect(refusedBy({ retriesUsed: 2, optionalReadRetries: 2 }, { operation: 'read oncalls', operationMax: 3, optional: true })).toBe(
      'optional-spent',
    );
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
