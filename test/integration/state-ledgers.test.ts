import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { AuditAppendOnlyError, AuditLog, AuditWriteError } from '../../lib/audit/audit-log';
import { DynamoIncidentLedger, ResolveRefusedError } from '../../lib/state/incident-ledger';
import { DynamoWorkLedger } from '../../lib/state/work-ledger';
import { startLocalAws, type LocalAws } from '../../local/emulators';

let aws: LocalAws;
let documents: DynamoDBDocumentClient;

beforeAll(async () => {
  aws = await startLocalAws({ agentEnv: 'ledgers' });
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

describe('work ledger on dynalite', () => {
  it("claims an event once; a crashed attempt's lease expires; a finished event is never claimed again", async () => {
    const ledger = new DynamoWorkLedger(documents, aws.stateTable);
    const t0 = new Date('2026-03-01T10:00:00Z');
    expect(await ledger.claim({ eventId: 'E1', leaseMs: 60_000, now: t0 })).toEqual({
      claimed: true,
      attempt: 1,
      retriesUsed: 0,
      failedCalls: [],
    });
    expect(await ledger.claim({ eventId: 'E1', leaseMs: 60_000, now: new Date(t0.getTime() + 30_000) })).toEqual({
      claimed: false,
      reason: 'leased',
      leaseUntil: t0.getTime() + 60_000,
    });
    const afterExpiry = await ledger.claim({ eventId: 'E1', leaseMs: 60_000, now: new Date(t0.getTime() + 61_000) });
    expect(afterExpiry).toEqual({ claimed: true, attempt: 2, retriesUsed: 0, failedCalls: [] });
    // The crashed attempt 1 wakes up late: it can neither finish nor release.
    expect(await ledger.finish('E1', 1, 'done', 'late')).toBe(false);
    expect(await ledger.finish('E1', 2, 'done', 'triaged')).toBe(true);
    expect(await ledger.claim({ eventId: 'E1', leaseMs: 60_000, now: new Date(t0.getTime() + 10 * 3600_000) })).toEqual({
      claimed: false,
      reason: 'finished',
      workStatus: 'done',
    });
  });

  it('lets the next delivery claim a released event at once', async () => {
    const ledger = new DynamoWorkLedger(documents, aws.stateTable);
    const claim = await ledger.claim({ eventId: 'E2', leaseMs: 60_000 });
    expect(claim.claimed && (await ledger.release('E2', claim.attempt, 'throttled'))).toBe(true);
    expect(await ledger.claim({ eventId: 'E2', leaseMs: 60_000 })).toMatchObject({ claimed: true, attempt: 2 });
  });

  it("keeps the ingress record's attributes and counts at most 5 retries across deliveries", async () => {
    await documents.send(
      new PutCommand({ TableName: aws.stateTable, Item: { pk: 'event#E3', ingressStatus: 'enqueued', incidentId: 'P1', expiresAt: 123 } }),
    );
    const ledger = new DynamoWorkLedger(documents, aws.stateTable);
    await ledger.claim({ eventId: 'E3', leaseMs: 1000 });
    const results = [];
    for (let i = 0; i < 7; i += 1) results.push(await ledger.consumeRetry('E3'));
    expect(results).toEqual(['granted', 'granted', 'granted', 'granted', 'granted', 'event-spent', 'event-spent']);
    const item = (await documents.send(new GetCommand({ TableName: aws.stateTable, Key: { pk: 'event#E3' } }))).Item;
    expect(item).toMatchObject({ ingressStatus: 'enqueued', incidentId: 'P1', expiresAt: 123, retriesUsed: 5, workStatus: 'processing' });
  });

  it("caps each operation, and the optional reads' share, across deliveries in the same item", async () => {
    const ledger = new DynamoWorkLedger(documents, aws.stateTable);
    const acknowledge = { operation: 'acknowledge', operationMax: 3, optional: false };
    const note = { operation: 'create note', operationMax: 1, optional: false };
    const read = (source: string) => ({ operation: `read ${source}`, operationMax: 3, optional: true });
    const first = await ledger.claim({ eventId: 'E6', leaseMs: 60_000 });
    const grants = [await ledger.consumeRetry('E6', read('oncalls')), await ledger.consumeRetry('E6', read('changeEvents'))];
    grants.push(await ledger.consumeRetry('E6', read('recentIncidents')), await ledger.consumeRetry('E6', note));
    expect(first.claimed && (await ledger.release('E6', first.attempt, 'failed'))).toBe(true);
    await ledger.claim({ eventId: 'E6', leaseMs: 60_000 });
    grants.push(await ledger.consumeRetry('E6', note));
    for (let i = 0; i < 3; i += 1) grants.push(await ledger.consumeRetry('E6', acknowledge));
    expect(grants).toEqual(['granted', 'granted', 'optional-spent', 'granted', 'operation-spent', 'granted', 'granted', 'event-spent']);
    expect(await ledger.get('E6')).toMatchObject({
      retriesUsed: 5,
      optionalReadRetries: 2,
      'retries#acknowledge': 2,
      'retries#create note': 1,
      'retries#read oncalls': 1,
    });
  });

  it('lets one caller take the last chance of a webhook', async () => {
    const ledger = new DynamoWorkLedger(documents, aws.stateTable);
    await ledger.claim({ eventId: 'E7', leaseMs: 60_000 });
    expect([await ledger.claimLastChance('E7'), await ledger.claimLastChance('E7')]).toEqual([true, false]);
  });

  it('remembers the calls that failed, for the next delivery to count their first attempt as a retry', async () => {
    const ledger = new DynamoWorkLedger(documents, aws.stateTable);
    const first = await ledger.claim({ eventId: 'E4', leaseMs: 60_000 });
    await ledger.recordFailedCall('E4', 'acknowledge');
    await ledger.recordFailedCall('E4', 'acknowledge');
    await ledger.recordFailedCall('E4', 'read incident');
    expect(first.claimed && (await ledger.release('E4', first.attempt, 'failed'))).toBe(true);
    const next = await ledger.claim({ eventId: 'E4', leaseMs: 60_000 });
    expect(next.claimed && [...next.failedCalls].sort()).toEqual(['acknowledge', 'read incident']);
  });
});

describe('incident ledger on dynalite', () => {
  it('keeps an unconfirmed acknowledgement unfinished until one is confirmed', async () => {
    const ledger = new DynamoIncidentLedger(documents, aws.stateTable);
    await ledger.markAcknowledged('P5', 'E1', new Date());
    await ledger.markFinished('P5');
    await ledger.markAcknowledgementUnconfirmed('P5', 'E2', new Date());
    expect(await ledger.get('P5')).toMatchObject({ triggerEventId: 'E1', acknowledgementUnconfirmedBy: 'E2', finished: false });
    await ledger.markAcknowledged('P5', 'E2', new Date());
    const progress = await ledger.get('P5');
    expect(progress).toMatchObject({ triggerEventId: 'E2', finished: false });
    expect(progress?.acknowledgementUnconfirmedBy).toBeUndefined();
  });

  it('reserves a note token once and remembers the note id', async () => {
    const ledger = new DynamoIncidentLedger(documents, aws.stateTable);
    expect(await ledger.reserveNote('P1', 'E1', 'pda-1')).toEqual({ state: 'reserved' });
    expect(await ledger.reserveNote('P1', 'E1', 'pda-1')).toEqual({ state: 'unconfirmed' });
    await ledger.recordNote('P1', 'E1', 'PNOTE1', true);
    expect(await ledger.reserveNote('P1', 'E1', 'pda-1')).toEqual({ state: 'posted', noteId: 'PNOTE1' });
    expect(await ledger.get('P1')).toMatchObject({ noteId: 'PNOTE1' });
  });

  it('refuses to resolve after an escalation, in the table itself', async () => {
    const ledger = new DynamoIncidentLedger(documents, aws.stateTable);
    await ledger.markAcknowledged('P2', 'E1', new Date());
    await ledger.beginResolve('P2');
    await ledger.beginEscalation('P3', new Date());
    await expect(ledger.beginResolve('P3')).rejects.toBeInstanceOf(ResolveRefusedError);
    await ledger.markHandedBack('P4', 'budget spent', new Date());
    await expect(ledger.beginResolve('P4')).rejects.toBeInstanceOf(ResolveRefusedError);
  });

  it('keeps where an event escalated, whether PagerDuty confirmed it, and an incident left with on-call, which it never resolves', async () => {
    const ledger = new DynamoIncidentLedger(documents, aws.stateTable);
    const at = new Date('2026-03-01T10:00:00Z');
    await ledger.beginEscalation('P5', at, { triggerEventId: 'E5', target: { mode: 'next_level', level: 2 } });
    expect(await ledger.get('P5')).toMatchObject({ escalatedFor: 'E5', escalationTarget: { mode: 'next_level', level: 2 } });
    expect((await ledger.get('P5'))?.escalationConfirmedFor).toBeUndefined();
    await ledger.beginEscalation('P5', new Date('2026-03-01T10:05:00Z'), {
      triggerEventId: 'E5',
      target: { mode: 'next_level', level: 2 },
    });
    await ledger.confirmEscalation('P5', 'E5');
    expect(await ledger.get('P5')).toMatchObject({ escalatedAt: at.toISOString(), escalationConfirmedFor: 'E5' });
    await ledger.markLeftWithOnCall('P6', 'E6', at);
    await ledger.recordDecision('P6', 'left-with-on-call');
    const left = await ledger.get('P6');
    expect(left).toMatchObject({ leftWithOnCallFor: 'E6', leftWithOnCallAt: at.toISOString(), decision: 'left-with-on-call' });
    // Nothing was escalated, so no escalation is recorded; the resolve is refused all the same.
    expect(left?.escalatedAt).toBeUndefined();
    await expect(ledger.beginResolve('P6')).rejects.toBeInstanceOf(ResolveRefusedError);
  });
});

describe('audit log on dynalite', () => {
  it('is readable by incident and by time range across days', async () => {
    let now = new Date('2026-03-01T23:59:58Z');
    const audit = new AuditLog(documents, aws.auditTable, 'test', 30, () => now);
    const handle = await audit.begin({ incidentId: 'PA', eventId: 'E1', action: 'acknowledge' });
    await audit.complete(handle, { outcome: 'succeeded', httpStatus: 200, requestId: 'r1', attempts: 1, durationMs: 5 });
    now = new Date('2026-03-02T00:00:01Z');
    await audit.record({ incidentId: 'PA', eventId: 'E1', action: 'triage', outcome: 'recorded', decision: 'escalate' });
    await audit.record({ incidentId: 'PB', eventId: 'E2', action: 'record', outcome: 'recorded' });

    const byIncident = await audit.byIncident('PA');
    expect(byIncident.items.map((item) => [item.action, item.outcome])).toEqual([
      ['acknowledge', 'succeeded'],
      ['triage', 'recorded'],
    ]);
    const all: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await audit.byTimeRange(new Date('2026-03-01T00:00:00Z'), new Date('2026-03-02T23:00:00Z'), { limit: 1, cursor });
      all.push(...page.items.map((item) => `${item.incidentId}/${item.action}`));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    expect(all).toEqual(['PA/acknowledge', 'PA/triage', 'PB/record']);
    const notesOnly = await audit.byTimeRange(new Date('2026-03-01T00:00:00Z'), new Date('2026-03-02T23:00:00Z'), { action: 'triage' });
    expect(notesOnly.items).toHaveLength(1);
  });
});

const AUDIT_NOW = new Date('2026-03-01T10:00:00.000Z');

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: unknown) => (error instanceof AuditWriteError ? error.cause : error),
  );

describe('audit log append-only on dynalite', () => {
  it('never overwrites an item: a second write with the same key is refused and the first stays', async () => {
    const audit = new AuditLog(documents, aws.auditTable, 'test', 30, () => AUDIT_NOW);
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
    const audit = new AuditLog(documents, aws.auditTable, 'test', 30, () => AUDIT_NOW);
    const handle = await audit.begin({ incidentId: 'PAPPEND2', eventId: 'E2', action: 'escalate' });
    await audit.complete(handle, { outcome: 'succeeded', httpStatus: 200, requestId: 'r1', attempts: 1 });

    const rewrite = await refusal(audit.complete(handle, { outcome: 'failed', detail: 'rewritten', httpStatus: 500 }));

    expect(rewrite).toBeInstanceOf(AuditAppendOnlyError);
    const [item] = (await audit.byIncident('PAPPEND2')).items;
    expect(item).toMatchObject({ outcome: 'succeeded', httpStatus: 200, requestId: 'r1' });
    expect(item?.detail).toBeUndefined();
  });

  it('never creates an item by completing an intent that was not written', async () => {
    const audit = new AuditLog(documents, aws.auditTable, 'test', 30, () => AUDIT_NOW);

    const orphan = await refusal(
      audit.complete({ incidentId: 'PAPPEND3', sk: `${AUDIT_NOW.toISOString()}#note#E3` }, { outcome: 'succeeded' }),
    );

    expect(orphan).toBeInstanceOf(AuditAppendOnlyError);
    expect((await audit.byIncident('PAPPEND3')).items).toEqual([]);
  });
});
