import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { gatherContext } from '../../lib/agent/gather-context';
import { localBudget, RetryPolicy } from '../../lib/agent/retry-policy';
import { agentConfigSchema } from '../../lib/config/agent-config';
import { SharedServiceContextReader } from '../../lib/context/shared-service-context';
import { DynamoServiceContextCache } from '../../lib/state/service-context-cache';
import { startLocalAws, type LocalAws } from '../../local/emulators';
import { FakePagerDuty, makeIncident } from '../support/fake-pagerduty';

let aws: LocalAws;
let documents: DynamoDBDocumentClient;

beforeAll(async () => {
  aws = await startLocalAws({ agentEnv: 'shared-context' });
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

const policy = agentConfigSchema.parse({}).triage;
const retry = () =>
  new RetryPolicy({ budget: localBudget(5), remainingTimeMs: () => 60_000, sleep: async () => undefined, random: () => 0 });

describe('shared service context on dynalite', () => {
  it('two concurrent gathers on one service read its recent incidents, change events and on-calls from PagerDuty once', async () => {
    const created = new Date().toISOString();
    const first = makeIncident({ id: 'PSTORM1', title: 'Queue backlog growing', created_at: created });
    const second = makeIncident({ id: 'PSTORM2', title: 'Queue backlog growing', created_at: created });
    const earlier = makeIncident({ id: 'PEARLY', title: 'Disk full', status: 'resolved', created_at: '2026-01-01T00:00:00Z' });
    const api = new FakePagerDuty([first, second, earlier]);
    api.changeEvents.set('PSTORM1', [{ id: 'C1', summary: 'Deploy #41', timestamp: created }]);
    const cache = new DynamoServiceContextCache(documents, aws.stateTable);
    // Each incident is its own worker: its own reader, nothing shared in memory, only the table.
    const gather = (incident: typeof first) =>
      gatherContext(incident, { api, retry: retry(), policy, shared: new SharedServiceContextReader({ cache, settings: { pollMs: 20 } }) });

    const [one, two] = await Promise.all([gather(first), gather(second)]);

    expect(api.count('listIncidents')).toBe(1);
    expect(api.count('listRelatedChangeEvents')).toBe(1);
    expect(api.count('listOncalls')).toBe(1);
    expect(api.count('listAlerts')).toBe(2);
    expect(one.recentIncidents.map((past) => past.id)).not.toContain('PSTORM1');
    expect(two.recentIncidents.map((past) => past.id)).not.toContain('PSTORM2');
    expect(two.changeEvents).toEqual(one.changeEvents);
    // One of them came second: it knows it is part of a burst of two, since the first was seen.
    expect([one.burst, two.burst].filter((burst) => burst !== undefined)).toEqual([{ count: 2, since: created }]);
  });
});

describe('CloudTrail lookups shared on dynalite', () => {
  it('two concurrent incidents on one function ask CloudTrail once; a damaged item is never trusted', async () => {
    const cache = new DynamoServiceContextCache(documents, aws.stateTable);
    const now = new Date();
    const window = { start: new Date(now.getTime() - 3_600_000), end: new Date(now.getTime() - 1_000) };
    let lookups = 0;
    const read = async (asked: typeof window) => {
      lookups += 1;
      await new Promise((resolve) => setImmediate(resolve));
      return {
        start: asked.start.toISOString(),
        end: asked.end.toISOString(),
        changes: [
          {
            id: 'E1',
            change: {
              at: now.toISOString(),
              source: 'cloudtrail' as const,
              action: 'lambda:UpdateFunctionCode',
              summary: 'code deployed',
              onAlarmedResource: true,
            },
          },
        ],
      };
    };
    // Each incident is its own worker: its own reader, only the table in common.
    const lookUp = () =>
      new SharedServiceContextReader({ cache, settings: { pollMs: 5 } }).changeLookup(
        '123456789012|eu-west-1|orders-api',
        window,
        () => new Date(),
        read,
        () => 2_000,
      );
    const [first, second] = await Promise.all([lookUp(), lookUp()]);
    expect(lookups).toBe(1);
    expect(second).toEqual(first);
    expect(first.changes.map((entry) => entry.change.action)).toEqual(['lambda:UpdateFunctionCode']);

    await documents.send(
      new PutCommand({
        TableName: aws.stateTable,
        Item: { pk: 'awschanges#damaged', lookup: '{"start":1}', freshUntil: Date.now() + 60_000 },
      }),
    );
    expect(await cache.readChangeLookup('damaged', new Date())).toBeUndefined();
  });
});
