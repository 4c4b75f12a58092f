import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { MetricName } from '../../lib/observability/telemetry';
import { OutcomeStore, type NewOutcome } from '../../lib/outcomes/outcome-store';
import { RuleCircuitBreaker } from '../../lib/trust/circuit-breaker';
import { DemotionStore } from '../../lib/trust/demotion-store';
import { startLocalAws, type LocalAws } from '../../local/emulators';
import { MemoryAuditTrail, RecordingMetrics } from '../support/fake-agent-state';

let aws: LocalAws;
let documents: DynamoDBDocumentClient;

beforeAll(async () => {
  aws = await startLocalAws({ agentEnv: 'trust' });
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

const demotion = (ruleId: string, incidentId = 'PBAD') => ({
  ruleId,
  demotedAt: '2026-03-01T10:00:00.000Z',
  reason: 'bad record',
  incidentId,
});

describe('rule standings in the state table (dynalite)', () => {
  it('demotes a rule once when two workers race, and promotes it once', async () => {
    const store = new DemotionStore(documents, aws.stateTable);
    const raced = await Promise.all([store.demote(demotion('race', 'P1')), store.demote(demotion('race', 'P2'))]);
    expect(raced.filter(Boolean)).toHaveLength(1);
    expect(await store.demote(demotion('race', 'P3'))).toBe(false);
    expect((await store.standings(['race'])).get('race')).toMatchObject({ state: 'demoted', ruleId: 'race' });

    const promotedAt = new Date('2026-03-02T09:00:00Z');
    const promotions = await Promise.all([store.promote('race', 'alice', promotedAt), store.promote('race', 'bob', promotedAt)]);
    expect(promotions.filter(Boolean)).toHaveLength(1);
    expect((await store.standings(['race'])).get('race')).toMatchObject({ state: 'promoted', promotedAt: promotedAt.toISOString() });
    expect(await store.demoted(['race'])).toEqual(new Map());
  });

  it('refuses to promote a rule that is not demoted, and demotes a promoted rule again', async () => {
    const store = new DemotionStore(documents, aws.stateTable);
    expect(await store.promote('never-demoted', 'alice', new Date())).toBe(false);
    expect(await store.standings(['never-demoted'])).toEqual(new Map());
    expect(await store.demote(demotion('again'))).toBe(true);
    expect(await store.promote('again', 'alice', new Date())).toBe(true);
    expect(await store.demote(demotion('again', 'PLATER'))).toBe(true);
    expect((await store.demoted(['again'])).get('again')).toMatchObject({ incidentId: 'PLATER' });
  });

  it('reads the standings of more rules than one batch holds (100 keys)', async () => {
    const store = new DemotionStore(documents, aws.stateTable);
    const ids = Array.from({ length: 150 }, (_, index) => `many-${index}`);
    await store.demote(demotion('many-7'));
    await store.demote(demotion('many-140'));
    expect([...(await store.demoted(ids)).keys()].sort()).toEqual(['many-140', 'many-7']);
  });
});

function heldOutcome(incidentId: string, ruleId: string, verdict: NewOutcome['verdict']): NewOutcome {
  return {
    kind: 'outcome',
    incidentId,
    eventId: `EVT-${incidentId}`,
    eventType: 'incident.resolved',
    detail: `outcome ${verdict}`,
    mode: 'act',
    decision: 'held',
    cause: { kind: 'none', summary: 'known', ruleId },
    ending: 'resolved',
    endedAt: new Date().toISOString(),
    resolver: { kind: 'human', id: 'PUSER1' },
    humanTookOver: true,
    humanNotes: [],
    verdict,
    verdictReason: 'test',
  };
}

describe('the circuit breaker over the outcome items (dynalite)', () => {
  it('demotes a rule when a contradicted hold is recorded, once, and not again after a promotion for the same record', async () => {
    const outcomes = new OutcomeStore(documents, aws.auditTable, 'trust');
    const demotions = new DemotionStore(documents, aws.stateTable);
    const audit = new MemoryAuditTrail();
    const metrics = new RecordingMetrics();
    const breaker = new RuleCircuitBreaker({ demotions, outcomes, audit, metrics, settings: { minPrecision: 0.9, lookbackDays: 30 } });
    const subject = { incidentId: 'PCB2', eventId: 'EVT-PCB2', eventType: 'incident.resolved' };

    await outcomes.append(heldOutcome('PCB1', 'breaker-rule', 'confirmed'));
    expect(await breaker.afterOutcome({ ...subject, incidentId: 'PCB1' }, 'breaker-rule', 'confirmed')).toBe('not-contradicted');
    await outcomes.append(heldOutcome('PCB2', 'breaker-rule', 'contradicted'));
    // Another rule's contradiction is not this rule's record.
    await outcomes.append(heldOutcome('PCB3', 'other-rule', 'confirmed'));

    expect(await breaker.afterOutcome(subject, 'breaker-rule', 'contradicted')).toBe('demoted');
    expect((await demotions.demoted(['breaker-rule', 'other-rule'])).get('breaker-rule')).toMatchObject({
      incidentId: 'PCB2',
      reason: expect.stringContaining('incident PCB2'),
    });
    expect(audit.items.map((item) => item.detail)).toEqual([
      expect.stringMatching(/^rule breaker-rule demoted: .*pd-agent rule promote breaker-rule/),
    ]);
    expect(metrics.values.filter((entry) => entry.name === MetricName.ruleDemoted)).toHaveLength(1);
    // A redelivery of the same outcome: judged again, demoted already, nothing written or counted twice.
    expect(await breaker.afterOutcome(subject, 'breaker-rule', 'contradicted')).toBe('already-demoted');
    expect(audit.items).toHaveLength(1);

    expect(await demotions.promote('breaker-rule', 'alice', new Date())).toBe(true);
    expect(await breaker.afterOutcome(subject, 'breaker-rule', 'contradicted')).toBe('record-good');
    expect(await demotions.demoted(['breaker-rule'])).toEqual(new Map());
  });
});
