import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AuditAppendOnlyError, AuditLog, AuditWriteError } from '../../lib/audit/audit-log';
import { startLocalAws, type LocalAws } from '../../local/emulators';

/** The audit table is append-only through the code path itself: conditional puts and a fill-once outcome (dynalite). */
let aws: LocalAws;
let documents: DynamoDBDocumentClient;
const NOW = new Date('2026-03-01T10:00:00.000Z');

beforeAll(async () => {
  aws = await startLocalAws({ agentEnv: 'audit' });
  documents = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: aws.dynamodbEndpoint,
      region: aws.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
});

afterAll(async () => {
  documents.destroy();
  await aws.stop();
});

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: unknown) => (error instanceof AuditWriteError ? error.cause : error),
  );

describe('audit log append-only on dynalite', () => {
  it('never overwrites an item: a second write with the same key is refused and the first stays', async () => {
    const audit = new AuditLog(documents, aws.auditTable, 'test', 30, () => NOW);
    const handle = await audit.begin({ incidentId: 'PAPPEND1', eventId: 'E1', action: 'acknowledge', detail: 'first' });

    const again = await refusal(audit.begin({ incidentId: 'PAPPEND1', eventId: 'E1', action: 'acknowledge', detail: 'second' }));
    const recordOver = await refusal(audit.record({ incidentId: 'PAPPEND1', eventId: 'E1', action: 'acknowledge', outcome: 'recorded' }));

    expect(again).toBeInstanceOf(AuditAppendOnlyError);
    expect(recordOver).toBeInstanceOf(AuditAppendOnlyError);
    expect((again as Error).message).toMatch(/already exists; the audit trail is append-only/);
    const [item] = (await audit.byIncident('PAPPEND1')).items;
    expect(item).toMatchObject({ sk: handle.sk, outcome: 'intent', detail: 'first' });
  });

  it("fills an intent's outcome once: a second completion cannot rewrite it", async () => {
    const audit = new AuditLog(documents, aws.auditTable, 'test', 30, () => NOW);
    const handle = await audit.begin({ incidentId: 'PAPPEND2', eventId: 'E2', action: 'escalate' });
    await audit.complete(handle, { outcome: 'succeeded', httpStatus: 200, requestId: 'r1', attempts: 1 });

    const rewrite = await refusal(audit.complete(handle, { outcome: 'failed', detail: 'rewritten', httpStatus: 500 }));

    expect(rewrite).toBeInstanceOf(AuditAppendOnlyError);
    const [item] = (await audit.byIncident('PAPPEND2')).items;
    expect(item).toMatchObject({ outcome: 'succeeded', httpStatus: 200, requestId: 'r1' });
    expect(item?.detail).toBeUndefined();
  });

  it('never creates an item by completing an intent that was not written', async () => {
    const audit = new AuditLog(documents, aws.auditTable, 'test', 30, () => NOW);

    const orphan = await refusal(audit.complete({ incidentId: 'PAPPEND3', sk: `${NOW.toISOString()}#note#E3` }, { outcome: 'succeeded' }));

    expect(orphan).toBeInstanceOf(AuditAppendOnlyError);
    expect((await audit.byIncident('PAPPEND3')).items).toEqual([]);
  });
});
