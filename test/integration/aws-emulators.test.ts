import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CloudTrailClient,
  InvalidLookupAttributesException,
  InvalidMaxResultsException,
  InvalidNextTokenException,
  InvalidTimeRangeException,
  LookupEventsCommand,
  AccessDeniedException as CloudTrailAccessDenied,
  ThrottlingException as CloudTrailThrottling,
  type Event as TrailEvent,
} from '@aws-sdk/client-cloudtrail';
import {
  CloudWatchClient,
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  InvalidNextToken,
  InvalidParameterValueException,
  PutMetricDataCommand,
  ValidationException,
  type MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';
import {
  AccessDeniedException as LogsAccessDenied,
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  FilterLogEventsCommand,
  InvalidParameterException,
  PutLogEventsCommand,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
  ThrottlingException as LogsThrottling,
} from '@aws-sdk/client-cloudwatch-logs';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { startAwsContextEmulator, type AwsContextEmulator } from '../../local/aws-emulators/server';
import { AwsSeedError, DEFAULT_ACCOUNT_ID, loadSeedFile, type AwsSeed } from '../../local/aws-emulators/seed';
import describeAlarmsFixture from '../fixtures/aws-context/cloudwatch-describealarms.json';
import alarmHistoryFixture from '../fixtures/aws-context/cloudwatch-describealarmhistory-stateupdate.json';
import updateFunctionCodeRecords from '../fixtures/aws-context/cloudtrail-lambda-updatefunctioncode.json';
import lookupEventsFixture from '../fixtures/aws-context/cloudtrail-lookupevents-eks-assumeroleforpodidentity.json';
import filterLogEventsFixture from '../fixtures/aws-context/logs-filterlogevents.json';

const NOW = new Date('2026-11-30T12:00:00.000Z');
const minutesAgo = (minutes: number): Date => new Date(NOW.getTime() - minutes * 60_000);
const OTHER_ACCOUNT = '210987654321';
const CROSS_ACCOUNT_ROLE = `arn:aws:iam::${OTHER_ACCOUNT}:role/pd-agent-context-reader`;
const FUNCTION = { Name: 'FunctionName', Value: 'checkout-api' };
const errorsMetric = { Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: [FUNCTION] };
const invocationsMetric = { Namespace: 'AWS/Lambda', MetricName: 'Invocations', Dimensions: [FUNCTION] };
const errorsQuery = (stat: string): MetricDataQuery => ({ Id: 'errors', MetricStat: { Metric: errorsMetric, Period: 60, Stat: stat } });

const SEED: AwsSeed = {
  alarms: ['a-first', 'b-second', 'c-third'].map((name) => ({
    AlarmName: name,
    AlarmDescription: `Errors on checkout-api (${name})`,
    ...errorsMetric,
    Statistic: 'Sum' as const,
    Period: 60,
    EvaluationPeriods: 1,
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold' as const,
    AlarmActions: ['arn:aws:sns:us-east-1:123456789012:pagerduty'],
    history: [
      { at: minutesAgo(120), from: 'OK' as const, to: 'ALARM' as const, reason: 'Threshold Crossed: earlier', recentDatapoints: [3] },
      { at: minutesAgo(100), from: 'ALARM' as const, to: 'OK' as const, reason: 'Threshold Crossed: recovered', recentDatapoints: [0] },
      { at: minutesAgo(2), from: 'OK' as const, to: 'ALARM' as const, reason: 'Threshold Crossed: now', recentDatapoints: [7] },
    ],
  })),
  metrics: [
    {
      ...errorsMetric,
      // Two raw points a minute for ten minutes: 0 errors before minute 5, then 3 + 4 per minute.
      points: Array.from({ length: 10 }, (_, minute) => [
        { at: new Date(minutesAgo(10).getTime() + minute * 60_000).toISOString(), value: minute < 5 ? 0 : 3 },
        { at: new Date(minutesAgo(10).getTime() + minute * 60_000 + 30_000).toISOString(), value: minute < 5 ? 0 : 4 },
      ]).flat(),
    },
    {
      ...invocationsMetric,
      points: Array.from({ length: 10 }, (_, minute) => ({
        at: new Date(minutesAgo(10).getTime() + minute * 60_000).toISOString(),
        value: 100,
      })),
    },
  ],
  cloudTrailEvents: [
    {
      record: updateFunctionCodeRecords[0],
      at: minutesAgo(8),
      resources: [{ ResourceType: 'AWS::Lambda::Function', ResourceName: 'checkout-api' }],
    },
    { record: { ...updateFunctionCodeRecords[0], eventID: 'older-deploy' }, at: minutesAgo(60 * 30) },
    {
      record: {
        eventName: 'CreateBucket',
        eventSource: 's3.amazonaws.com',
        readOnly: false,
        userIdentity: { type: 'IAMUser', userName: 'alice' },
      },
      at: minutesAgo(20),
    },
  ],
  logGroups: [
    {
      name: '/aws/lambda/checkout-api',
      streams: [
        {
          name: '2026/11/30/[$LATEST]aaa',
          events: [
            { at: minutesAgo(30), message: 'START RequestId: 1 Version: $LATEST' },
            { at: minutesAgo(29), message: 'WARN slow downstream: 2300 ms' },
            { at: minutesAgo(5), message: "ERROR TypeError: Cannot read properties of undefined (reading 'amount')" },
          ],
        },
        {
          name: '2026/11/30/[$LATEST]bbb',
          events: [
            { at: minutesAgo(4), message: 'ERROR Task timed out after 3.00 seconds' },
            { at: minutesAgo(3), message: 'java.lang.IllegalStateException: pool exhausted' },
            { at: minutesAgo(1), message: 'user=a@example.com checkout ok' },
          ],
        },
      ],
    },
  ],
  assumableRoles: [{ RoleArn: CROSS_ACCOUNT_ROLE, ExternalId: 'pd-agent-local' }],
};

const OTHER_ACCOUNT_SEED: AwsSeed = {
  alarms: [
    {
      accountId: OTHER_ACCOUNT,
      AlarmName: 'payments-5xx',
      Namespace: 'AWS/ApiGateway',
      MetricName: '5XXError',
      Statistic: 'Sum',
      Period: 60,
      EvaluationPeriods: 1,
      Threshold: 5,
      ComparisonOperator: 'GreaterThanThreshold',
    },
  ],
};

describe('local AWS context emulators, through the real SDK v3 clients', () => {
  let emulator: AwsContextEmulator;
  let cloudWatch: CloudWatchClient;
  let cloudTrail: CloudTrailClient;
  let logs: CloudWatchLogsClient;
  let sts: STSClient;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    emulator = await startAwsContextEmulator();
    emulator.seedScenario(SEED, { now: NOW });
    emulator.seedScenario(OTHER_ACCOUNT_SEED, { now: NOW });
    // The providers configure nothing but these variables: the clients below get no endpoint option.
    Object.assign(process.env, emulator.env);
    cloudWatch = new CloudWatchClient({});
    cloudTrail = new CloudTrailClient({});
    logs = new CloudWatchLogsClient({});
    sts = new STSClient({});
  });
  afterEach(() => emulator.setFaults({}));
  afterAll(async () => {
    for (const client of [cloudWatch, cloudTrail, logs, sts]) client.destroy();
    process.env = savedEnv;
    await emulator.stop();
  });

  describe('CloudWatch (AWS JSON 1.0, query-compatible errors)', () => {
    it('DescribeAlarms answers the fields real CloudWatch does, by name', async () => {
      const answer = await cloudWatch.send(new DescribeAlarmsCommand({ AlarmNames: ['b-second'] }));
      expect(answer.MetricAlarms).toHaveLength(1);
      const alarm = answer.MetricAlarms?.[0];
      const realFields = Object.keys(describeAlarmsFixture.MetricAlarms[0]).sort();
      expect(
        Object.keys(alarm ?? {})
          .filter((key) => realFields.includes(key))
          .sort(),
      ).toEqual(realFields);
      expect(alarm).toMatchObject({
        AlarmName: 'b-second',
        AlarmArn: `arn:aws:cloudwatch:us-east-1:${DEFAULT_ACCOUNT_ID}:alarm:b-second`,
        StateValue: 'ALARM',
        StateReason: 'Threshold Crossed: now',
        Dimensions: [FUNCTION],
        StateUpdatedTimestamp: minutesAgo(2),
      });
      expect(JSON.parse(alarm?.StateReasonData ?? '{}')).toMatchObject({
        recentDatapoints: [7],
        threshold: 1,
        period: 60,
        statistic: 'Sum',
      });
    });

    it('DescribeAlarms pages with MaxRecords and NextToken, and refuses a token it did not issue', async () => {
      const names: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const answer = await cloudWatch.send(new DescribeAlarmsCommand({ MaxRecords: 2, NextToken: token }));
        names.push(...(answer.MetricAlarms ?? []).map((alarm) => alarm.AlarmName ?? ''));
        token = answer.NextToken;
        pages += 1;
      } while (token !== undefined);
      expect(pages).toBe(2);
      expect(names).toEqual(['a-first', 'b-second', 'c-third']);
      await expect(cloudWatch.send(new DescribeAlarmsCommand({ NextToken: 'bm90LWEtdG9rZW4' }))).rejects.toBeInstanceOf(InvalidNextToken);
    });

    it('DescribeAlarmHistory: StateUpdate items only, newest first, in the window, HistoryData as a JSON string', async () => {
      const answer = await cloudWatch.send(
        new DescribeAlarmHistoryCommand({ AlarmName: 'a-first', HistoryItemType: 'StateUpdate', StartDate: minutesAgo(110), EndDate: NOW }),
      );
      const items = answer.AlarmHistoryItems ?? [];
      expect(items.map((item) => item.HistorySummary)).toEqual(['Alarm updated from OK to ALARM', 'Alarm updated from ALARM to OK']);
      const realFields = Object.keys(alarmHistoryFixture.AlarmHistoryItems[0]).sort();
      expect(
        Object.keys(items[0])
          .filter((key) => realFields.includes(key))
          .sort(),
      ).toEqual(realFields);
      const data = JSON.parse(items[0].HistoryData ?? '{}') as { oldState: { stateValue: string }; newState: { stateValue: string } };
      expect([data.oldState.stateValue, data.newState.stateValue]).toEqual(['OK', 'ALARM']);
      const all = await cloudWatch.send(new DescribeAlarmHistoryCommand({ AlarmName: 'a-first' }));
      expect(all.AlarmHistoryItems?.some((item) => item.HistoryItemType === 'Action')).toBe(true);
    });

    it('DescribeAlarmHistory pages with MaxRecords', async () => {
      const first = await cloudWatch.send(
        new DescribeAlarmHistoryCommand({ AlarmName: 'c-third', HistoryItemType: 'StateUpdate', MaxRecords: 2 }),
      );
      expect(first.AlarmHistoryItems).toHaveLength(2);
      const second = await cloudWatch.send(
        new DescribeAlarmHistoryCommand({
          AlarmName: 'c-third',
          HistoryItemType: 'StateUpdate',
          MaxRecords: 2,
          NextToken: first.NextToken,
        }),
      );
      expect(second.AlarmHistoryItems?.map((item) => item.Timestamp)).toEqual([minutesAgo(120)]);
      expect(second.NextToken).toBeUndefined();
    });

    it('GetMetricData aggregates raw points per period, newest first by default, oldest first with ScanBy', async () => {
      const descending = await cloudWatch.send(
        new GetMetricDataCommand({ StartTime: minutesAgo(10), EndTime: NOW, MetricDataQueries: [errorsQuery('Sum')] }),
      );
      const result = descending.MetricDataResults?.[0];
      expect(result).toMatchObject({ Id: 'errors', Label: 'Errors', StatusCode: 'Complete' });
      expect(result?.Values).toEqual([7, 7, 7, 7, 7, 0, 0, 0, 0, 0]);
      expect(result?.Timestamps?.[0]).toEqual(minutesAgo(1));
      const ascending = await cloudWatch.send(
        new GetMetricDataCommand({
          StartTime: minutesAgo(10),
          EndTime: NOW,
          ScanBy: 'TimestampAscending',
          MetricDataQueries: [errorsQuery('Maximum')],
        }),
      );
      expect(ascending.MetricDataResults?.[0].Values).toEqual([0, 0, 0, 0, 0, 4, 4, 4, 4, 4]);
      expect(ascending.MetricDataResults?.[0].Timestamps?.[0]).toEqual(minutesAgo(10));
    });

    it('GetMetricData evaluates arithmetic expressions over other queries and hides ReturnData: false', async () => {
      const answer = await cloudWatch.send(
        new GetMetricDataCommand({
          StartTime: minutesAgo(10),
          EndTime: NOW,
          ScanBy: 'TimestampAscending',
          MetricDataQueries: [
            { ...errorsQuery('Sum'), ReturnData: false },
            { Id: 'calls', MetricStat: { Metric: invocationsMetric, Period: 60, Stat: 'Sum' }, ReturnData: false },
            { Id: 'rate', Expression: '100 * errors / calls', Label: 'Error rate (%)' },
          ],
        }),
      );
      expect(answer.MetricDataResults?.map((result) => result.Id)).toEqual(['rate']);
      expect(answer.MetricDataResults?.[0].Values).toEqual([0, 0, 0, 0, 0, 7, 7, 7, 7, 7]);
      await expect(
        cloudWatch.send(
          new GetMetricDataCommand({
            StartTime: minutesAgo(10),
            EndTime: NOW,
            MetricDataQueries: [errorsQuery('Sum'), { Id: 'filled', Expression: 'FILL(errors, 0)' }],
          }),
        ),
      ).rejects.toBeInstanceOf(ValidationException);
    });

    it('GetMetricData pages by MaxDatapoints: PartialData until the last page', async () => {
      const values: number[] = [];
      const statuses: string[] = [];
      let token: string | undefined;
      do {
        const answer = await cloudWatch.send(
          new GetMetricDataCommand({
            StartTime: minutesAgo(10),
            EndTime: NOW,
            MaxDatapoints: 4,
            NextToken: token,
            MetricDataQueries: [errorsQuery('Sum')],
          }),
        );
        values.push(...(answer.MetricDataResults?.[0].Values ?? []));
        statuses.push(answer.MetricDataResults?.[0].StatusCode ?? '');
        token = answer.NextToken;
      } while (token !== undefined);
      expect(values).toEqual([7, 7, 7, 7, 7, 0, 0, 0, 0, 0]);
      expect(statuses).toEqual(['PartialData', 'PartialData', 'Complete']);
    });

    it('GetMetricData refuses a window that ends before it starts with a typed InvalidParameterValueException', async () => {
      const refused = cloudWatch.send(
        new GetMetricDataCommand({ StartTime: NOW, EndTime: minutesAgo(5), MetricDataQueries: [errorsQuery('Sum')] }),
      );
      await expect(refused).rejects.toBeInstanceOf(InvalidParameterValueException);
      await expect(refused).rejects.toThrow('StartTime must be less than the parameter EndTime');
    });

    it('PutMetricData adds points that GetMetricData reads back, p99 included', async () => {
      const metric = { Namespace: 'Checkout', MetricName: 'LatencyMs', Dimensions: [{ Name: 'Route', Value: '/pay' }] };
      await cloudWatch.send(
        new PutMetricDataCommand({
          Namespace: metric.Namespace,
          MetricData: [
            { MetricName: metric.MetricName, Dimensions: metric.Dimensions, Timestamp: minutesAgo(3), Values: [100, 900], Counts: [99, 1] },
          ],
        }),
      );
      const answer = await cloudWatch.send(
        new GetMetricDataCommand({
          StartTime: minutesAgo(5),
          EndTime: NOW,
          MetricDataQueries: [
            { Id: 'p99', MetricStat: { Metric: metric, Period: 300, Stat: 'p99' } },
            { Id: 'max', MetricStat: { Metric: metric, Period: 300, Stat: 'Maximum' } },
          ],
        }),
      );
      expect(answer.MetricDataResults?.map((result) => result.Values)).toEqual([[100], [900]]);
    });
  });

  describe('CloudTrail (AWS JSON 1.1)', () => {
    it('LookupEvents by ResourceName returns the record as the JSON string CloudTrail stores, with the real answer fields', async () => {
      const answer = await cloudTrail.send(
        new LookupEventsCommand({
          LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: 'checkout-api' }],
          StartTime: minutesAgo(60),
          EndTime: NOW,
        }),
      );
      expect(answer.Events).toHaveLength(1);
      const event = answer.Events?.[0] as TrailEvent;
      const realFields = Object.keys(lookupEventsFixture.Events[0]).sort();
      expect(Object.keys(event).sort()).toEqual(realFields);
      expect(event).toMatchObject({
        EventName: 'UpdateFunctionCode20150331v2',
        EventSource: 'lambda.amazonaws.com',
        ReadOnly: 'false',
        Username: 'christophe',
        EventTime: minutesAgo(8),
      });
      const record = JSON.parse(event.CloudTrailEvent ?? '{}') as Record<string, unknown>;
      expect(record).toEqual({ ...updateFunctionCodeRecords[0], eventTime: minutesAgo(8).toISOString().replace('.000Z', 'Z') });
    });

    it('LookupEvents filters by EventSource and EventName, newest first, within the window', async () => {
      const bySource = await cloudTrail.send(
        new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventSource', AttributeValue: 'lambda.amazonaws.com' }] }),
      );
      expect(bySource.Events?.map((event) => event.EventTime)).toEqual([minutesAgo(8), minutesAgo(60 * 30)]);
      const byName = await cloudTrail.send(
        new LookupEventsCommand({
          LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'CreateBucket' }],
          StartTime: minutesAgo(15),
        }),
      );
      expect(byName.Events).toEqual([]);
    });

    it('LookupEvents pages with MaxResults and NextToken, and refuses a foreign token', async () => {
      const first = await cloudTrail.send(new LookupEventsCommand({ MaxResults: 2 }));
      expect(first.Events).toHaveLength(2);
      const second = await cloudTrail.send(new LookupEventsCommand({ MaxResults: 2, NextToken: first.NextToken }));
      expect(second.Events).toHaveLength(1);
      expect(second.NextToken).toBeUndefined();
      await expect(cloudTrail.send(new LookupEventsCommand({ NextToken: 'forged' }))).rejects.toBeInstanceOf(InvalidNextTokenException);
    });

    it('LookupEvents refuses what CloudTrail refuses, with its typed exceptions', async () => {
      await expect(
        cloudTrail.send(
          new LookupEventsCommand({
            LookupAttributes: [
              { AttributeKey: 'ResourceName', AttributeValue: 'checkout-api' },
              { AttributeKey: 'EventName', AttributeValue: 'UpdateFunctionCode20150331v2' },
            ],
          }),
        ),
      ).rejects.toBeInstanceOf(InvalidLookupAttributesException);
      await expect(cloudTrail.send(new LookupEventsCommand({ MaxResults: 51 }))).rejects.toBeInstanceOf(InvalidMaxResultsException);
      await expect(cloudTrail.send(new LookupEventsCommand({ StartTime: NOW, EndTime: minutesAgo(1) }))).rejects.toBeInstanceOf(
        InvalidTimeRangeException,
      );
    });
  });

  describe('CloudWatch Logs (AWS JSON 1.1)', () => {
    const filter = async (filterPattern: string): Promise<string[]> =>
      ((await logs.send(new FilterLogEventsCommand({ logGroupName: '/aws/lambda/checkout-api', filterPattern }))).events ?? []).map(
        (event) => event.message ?? '',
      );

    it('FilterLogEvents interleaves streams oldest first, with the real event fields', async () => {
      const answer = await logs.send(
        new FilterLogEventsCommand({
          logGroupName: '/aws/lambda/checkout-api',
          startTime: minutesAgo(6).getTime(),
          endTime: minutesAgo(1).getTime(),
        }),
      );
      const realFields = Object.keys(filterLogEventsFixture.events[0]).sort();
      expect(Object.keys(answer.events?.[0] ?? {}).sort()).toEqual(realFields);
      expect(answer.events?.map((event) => [event.logStreamName, event.timestamp])).toEqual([
        ['2026/11/30/[$LATEST]aaa', minutesAgo(5).getTime()],
        ['2026/11/30/[$LATEST]bbb', minutesAgo(4).getTime()],
        ['2026/11/30/[$LATEST]bbb', minutesAgo(3).getTime()],
        ['2026/11/30/[$LATEST]bbb', minutesAgo(1).getTime()],
      ]);
    });

    it.each([
      ['ERROR', ["ERROR TypeError: Cannot read properties of undefined (reading 'amount')", 'ERROR Task timed out after 3.00 seconds']],
      ['error', []],
      [
        '?TypeError ?Exception',
        ["ERROR TypeError: Cannot read properties of undefined (reading 'amount')", 'java.lang.IllegalStateException: pool exhausted'],
      ],
      ['ERROR -"timed out"', ["ERROR TypeError: Cannot read properties of undefined (reading 'amount')"]],
      ['"Cannot read properties"', ["ERROR TypeError: Cannot read properties of undefined (reading 'amount')"]],
      ['?"ERROR" "Task" ?"WARN" "slow"', ['WARN slow downstream: 2300 ms', 'ERROR Task timed out after 3.00 seconds']],
      ['%[0-9]{4} ms%', ['WARN slow downstream: 2300 ms']],
      ['', undefined],
    ])('filter pattern %j', async (pattern, expected) => {
      const messages = await filter(pattern);
      if (expected === undefined) expect(messages).toHaveLength(6);
      else expect(messages).toEqual(expected);
    });

    it('refuses JSON patterns and a missing group with the typed exceptions of CloudWatch Logs', async () => {
      const json = logs.send(
        new FilterLogEventsCommand({ logGroupName: '/aws/lambda/checkout-api', filterPattern: '{ $.level = "ERROR" }' }),
      );
      await expect(json).rejects.toBeInstanceOf(InvalidParameterException);
      await expect(json).rejects.toThrow(/JSON filter patterns/);
      await expect(logs.send(new FilterLogEventsCommand({ logGroupName: '/aws/lambda/nope' }))).rejects.toBeInstanceOf(
        ResourceNotFoundException,
      );
    });

    it('pages with limit and nextToken, and limits to named streams', async () => {
      const first = await logs.send(new FilterLogEventsCommand({ logGroupName: '/aws/lambda/checkout-api', limit: 4 }));
      expect(first.events).toHaveLength(4);
      const second = await logs.send(
        new FilterLogEventsCommand({ logGroupName: '/aws/lambda/checkout-api', limit: 4, nextToken: first.nextToken }),
      );
      expect(second.events).toHaveLength(2);
      expect(second.nextToken).toBeUndefined();
      const oneStream = await logs.send(
        new FilterLogEventsCommand({ logGroupName: '/aws/lambda/checkout-api', logStreamNames: ['2026/11/30/[$LATEST]aaa'] }),
      );
      expect(oneStream.events).toHaveLength(3);
    });

    it('CreateLogGroup, CreateLogStream and PutLogEvents write events FilterLogEvents finds', async () => {
      await logs.send(new CreateLogGroupCommand({ logGroupName: '/aws/lambda/written' }));
      await expect(logs.send(new CreateLogGroupCommand({ logGroupName: '/aws/lambda/written' }))).rejects.toBeInstanceOf(
        ResourceAlreadyExistsException,
      );
      await logs.send(new CreateLogStreamCommand({ logGroupName: '/aws/lambda/written', logStreamName: 's1' }));
      await logs.send(
        new PutLogEventsCommand({
          logGroupName: '/aws/lambda/written',
          logStreamName: 's1',
          logEvents: [
            { timestamp: minutesAgo(2).getTime(), message: 'ERROR boom' },
            { timestamp: minutesAgo(1).getTime(), message: 'INFO fine' },
          ],
        }),
      );
      const found = await logs.send(new FilterLogEventsCommand({ logGroupIdentifier: '/aws/lambda/written', filterPattern: 'ERROR' }));
      expect(found.events?.map((event) => event.message)).toEqual(['ERROR boom']);
    });
  });

  describe('STS (AWS Query) and cross-account reads', () => {
    it('GetCallerIdentity names the local default user', async () => {
      const identity = await sts.send(new GetCallerIdentityCommand({}));
      expect(identity).toMatchObject({ Account: DEFAULT_ACCOUNT_ID, Arn: `arn:aws:iam::${DEFAULT_ACCOUNT_ID}:user/local` });
    });

    it("AssumeRole returns credentials that act in the role's account: its alarms, not the default account's", async () => {
      const assumed = await sts.send(
        new AssumeRoleCommand({ RoleArn: CROSS_ACCOUNT_ROLE, RoleSessionName: 'pd-agent', ExternalId: 'pd-agent-local' }),
      );
      expect(assumed.Credentials?.AccessKeyId).toMatch(/^ASIA/);
      expect(assumed.Credentials?.Expiration).toBeInstanceOf(Date);
      expect(assumed.AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${OTHER_ACCOUNT}:assumed-role/pd-agent-context-reader/pd-agent`);
      const credentials = {
        accessKeyId: assumed.Credentials?.AccessKeyId ?? '',
        secretAccessKey: assumed.Credentials?.SecretAccessKey ?? '',
        sessionToken: assumed.Credentials?.SessionToken,
      };
      const asRole = new CloudWatchClient({ credentials });
      const roleSts = new STSClient({ credentials });
      try {
        expect((await roleSts.send(new GetCallerIdentityCommand({}))).Account).toBe(OTHER_ACCOUNT);
        const alarms = await asRole.send(new DescribeAlarmsCommand({}));
        expect(alarms.MetricAlarms?.map((alarm) => alarm.AlarmArn)).toEqual([
          `arn:aws:cloudwatch:us-east-1:${OTHER_ACCOUNT}:alarm:payments-5xx`,
        ]);
      } finally {
        asRole.destroy();
        roleSts.destroy();
      }
      const mine = await cloudWatch.send(new DescribeAlarmsCommand({ AlarmNames: ['payments-5xx'] }));
      expect(mine.MetricAlarms).toEqual([]);
    });

    it('AssumeRole is denied for an unknown role or a wrong ExternalId, as AccessDenied (403)', async () => {
      for (const command of [
        new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${OTHER_ACCOUNT}:role/unknown`, RoleSessionName: 'pd-agent' }),
        new AssumeRoleCommand({ RoleArn: CROSS_ACCOUNT_ROLE, RoleSessionName: 'pd-agent', ExternalId: 'wrong' }),
      ]) {
        const denied = await sts.send(command).catch((error: unknown) => error as Error & { $metadata: { httpStatusCode?: number } });
        expect(denied).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
        expect((denied as Error).message).toContain('is not authorized to perform: sts:AssumeRole');
      }
    });
  });

  describe('fault injection', () => {
    it('answers AccessDenied per operation, in each service’s own error shape', async () => {
      emulator.setFaults({ accessDenied: ['cloudwatch:GetMetricData', 'cloudtrail:LookupEvents', 'logs:*'] });
      const cloudWatchDenied = await cloudWatch
        .send(new GetMetricDataCommand({ StartTime: minutesAgo(10), EndTime: NOW, MetricDataQueries: [errorsQuery('Sum')] }))
        .catch((error: unknown) => error as Error & { $metadata: { httpStatusCode?: number } });
      // CloudWatch is query-compatible: the SDK names the error by its query code, as it did over AWS Query.
      expect(cloudWatchDenied).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      expect((cloudWatchDenied as Error).message).toContain('not authorized to perform: cloudwatch:GetMetricData');
      await expect(cloudWatch.send(new DescribeAlarmsCommand({}))).resolves.toBeDefined();
      await expect(cloudTrail.send(new LookupEventsCommand({}))).rejects.toBeInstanceOf(CloudTrailAccessDenied);
      await expect(logs.send(new FilterLogEventsCommand({ logGroupName: '/aws/lambda/checkout-api' }))).rejects.toBeInstanceOf(
        LogsAccessDenied,
      );
    });

    it('throttles a counted number of calls: the SDK retries through them', async () => {
      emulator.setFaults({ throttled: { 'cloudtrail:LookupEvents': 1 } });
      const before = emulator.calls.length;
      await expect(cloudTrail.send(new LookupEventsCommand({ MaxResults: 1 }))).resolves.toBeDefined();
      expect(emulator.calls.slice(before).map((call) => call.outcome)).toEqual(['ThrottlingException', 'ok']);
    });

    it('throttles every call when asked, with each service’s throttling error', async () => {
      emulator.setFaults({ throttled: { '*': 'always' } });
      const once = { maxAttempts: 1 };
      const trail = new CloudTrailClient(once);
      const logsOnce = new CloudWatchLogsClient(once);
      const watch = new CloudWatchClient(once);
      try {
        await expect(trail.send(new LookupEventsCommand({}))).rejects.toBeInstanceOf(CloudTrailThrottling);
        await expect(logsOnce.send(new FilterLogEventsCommand({ logGroupName: '/aws/lambda/checkout-api' }))).rejects.toBeInstanceOf(
          LogsThrottling,
        );
        await expect(watch.send(new DescribeAlarmsCommand({}))).rejects.toMatchObject({ name: 'Throttling' });
      } finally {
        for (const client of [trail, logsOnce, watch]) client.destroy();
      }
    });

    it('records every call with its account, input and outcome', async () => {
      const before = emulator.calls.length;
      await cloudWatch.send(new DescribeAlarmsCommand({ AlarmNames: ['a-first'] }));
      expect(emulator.calls.slice(before)).toEqual([
        expect.objectContaining({
          service: 'cloudwatch',
          operation: 'DescribeAlarms',
          accountId: DEFAULT_ACCOUNT_ID,
          input: { AlarmNames: ['a-first'] },
          outcome: 'ok',
        }),
      ]);
    });
  });

  describe('seed files', () => {
    it('loads a JSON seed with times relative to now', async () => {
      const path = join(mkdtempSync(join(tmpdir(), 'aws-seed-')), 'seed.json');
      writeFileSync(
        path,
        JSON.stringify({
          logGroups: [
            { name: '/aws/lambda/from-file', streams: [{ name: 's', events: [{ at: 'now-6m', message: 'ERROR from a file' }] }] },
          ],
        }),
      );
      emulator.seedScenario(loadSeedFile(path), { now: NOW, source: path });
      const found = await logs.send(new FilterLogEventsCommand({ logGroupName: '/aws/lambda/from-file' }));
      expect(found.events?.map((event) => event.timestamp)).toEqual([minutesAgo(6).getTime()]);
    });

    it('refuses a seed with a bad time or a bad account, saying which field and what to write', () => {
      const path = join(mkdtempSync(join(tmpdir(), 'aws-seed-')), 'bad.json');
      writeFileSync(
        path,
        JSON.stringify({
          logGroups: [{ accountId: '12', name: 'g', streams: [{ name: 's', events: [{ at: 'yesterday', message: 'x' }] }] }],
        }),
      );
      expect(() => loadSeedFile(path)).toThrow(AwsSeedError);
      expect(() => loadSeedFile(path)).toThrow(/12 digits.*accountId.*now-6m.*streams\[0\]\.events\[0\]\.at/s);
    });
  });
});

describe('CloudWatch composite alarms and regions in the emulator, through the real SDK client', () => {
  let emulator: AwsContextEmulator;
  const client = (region: string) => new CloudWatchClient({ endpoint: emulator.endpoint, region });
  const clients: CloudWatchClient[] = [];
  const regional = (region: string): CloudWatchClient => {
    const created = client(region);
    clients.push(created);
    return created;
  };

  beforeAll(async () => {
    emulator = await startAwsContextEmulator();
    emulator.seedScenario(
      {
        alarms: [{ ...SEED.alarms?.[0], AlarmName: 'checkout-errors', region: 'eu-west-1' } as NonNullable<AwsSeed['alarms']>[number]],
        compositeAlarms: [
          {
            AlarmName: 'checkout-health',
            region: 'eu-west-1',
            AlarmRule: 'ALARM("checkout-errors") OR ALARM("checkout-latency")',
            history: [{ at: minutesAgo(2), from: 'OK', to: 'ALARM', reason: 'checkout-errors is in ALARM' }],
          },
        ],
      },
      { now: NOW },
    );
  });
  afterAll(async () => {
    for (const created of clients) created.destroy();
    await emulator.stop();
  });

  it('answers a composite alarm only when AlarmTypes asks for it, with its rule and state', async () => {
    const cloudWatch = regional('eu-west-1');
    const unasked = await cloudWatch.send(new DescribeAlarmsCommand({ AlarmNames: ['checkout-health'] }));
    expect(unasked).toMatchObject({ MetricAlarms: [], CompositeAlarms: [] });
    const asked = await cloudWatch.send(
      new DescribeAlarmsCommand({ AlarmNames: ['checkout-health', 'checkout-errors'], AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] }),
    );
    expect(asked.MetricAlarms?.map((alarm) => alarm.AlarmName)).toEqual(['checkout-errors']);
    expect(asked.CompositeAlarms).toEqual([
      expect.objectContaining({
        AlarmName: 'checkout-health',
        AlarmArn: 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:checkout-health',
        AlarmRule: 'ALARM("checkout-errors") OR ALARM("checkout-latency")',
        StateValue: 'ALARM',
      }),
    ]);
    const history = await cloudWatch.send(
      new DescribeAlarmHistoryCommand({ AlarmName: 'checkout-health', AlarmTypes: ['CompositeAlarm'], HistoryItemType: 'StateUpdate' }),
    );
    expect(history.AlarmHistoryItems?.map((item) => [item.AlarmType, item.HistorySummary])).toEqual([
      ['CompositeAlarm', 'Alarm updated from OK to ALARM'],
    ]);
    await expect(cloudWatch.send(new DescribeAlarmsCommand({ AlarmTypes: ['Dashboard' as 'MetricAlarm'] }))).rejects.toThrow(
      /AlarmTypes is not valid: use MetricAlarm or CompositeAlarm/,
    );
  });

  it('answers for the region a request is signed for, and records it', async () => {
    const elsewhere = await regional('ap-southeast-2').send(
      new DescribeAlarmsCommand({ AlarmNames: ['checkout-errors', 'checkout-health'], AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] }),
    );
    expect(elsewhere).toMatchObject({ MetricAlarms: [], CompositeAlarms: [] });
    expect(emulator.calls.at(-1)).toMatchObject({ operation: 'DescribeAlarms', region: 'ap-southeast-2', outcome: 'ok' });
  });
});
