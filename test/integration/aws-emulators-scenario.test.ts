import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { CloudWatchClient, DescribeAlarmHistoryCommand, DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { startAwsContextEmulator, type AwsContextEmulator } from '../../local/aws-emulators/server';
import {
  LAMBDA_DEPLOY_EXPECTED_PHRASES,
  LAMBDA_DEPLOY_SEED_FILE,
  lambdaDeployIncident,
  missingScenarioPhrases,
} from '../../local/aws-emulators/lambda-deploy-scenario';
import currentAlarmMessage from '../fixtures/aws-context/cloudwatch-sns-alarm-message-current-fields.localstack-snapshot.json';

const PAGED_AT = new Date('2026-11-30T03:17:00.000Z');
const minutesBefore = (minutes: number): Date => new Date(PAGED_AT.getTime() - minutes * 60_000);
const FUNCTION = { Name: 'FunctionName', Value: 'checkout-api' };

describe('the npm start bad-deploy scenario, read through the real SDK clients', () => {
  let emulator: AwsContextEmulator;
  let cloudWatch: CloudWatchClient;
  let cloudTrail: CloudTrailClient;
  let logs: CloudWatchLogsClient;
  const incident = lambdaDeployIncident(PAGED_AT);

  beforeAll(async () => {
    emulator = await startAwsContextEmulator();
    emulator.seedScenario(incident.seed, { now: PAGED_AT, source: LAMBDA_DEPLOY_SEED_FILE });
    cloudWatch = new CloudWatchClient({ endpoint: emulator.endpoint });
    cloudTrail = new CloudTrailClient({ endpoint: emulator.endpoint });
    logs = new CloudWatchLogsClient({ endpoint: emulator.endpoint });
  });
  afterAll(async () => {
    for (const client of [cloudWatch, cloudTrail, logs]) client.destroy();
    await emulator.stop();
  });

  it('pages with the alarm notification PagerDuty stores as the alert details, in the current field set', () => {
    const details = incident.alert.details as Record<string, unknown> & { Trigger: Record<string, unknown> };
    expect(Object.keys(details).sort()).toEqual(Object.keys(currentAlarmMessage).sort());
    expect(Object.keys(details.Trigger).sort()).toEqual(Object.keys(currentAlarmMessage.Trigger).sort());
    expect(details).toMatchObject({
      AlarmName: LAMBDA_DEPLOY_EXPECTED_PHRASES.alarm,
      NewStateValue: 'ALARM',
      OldStateValue: 'OK',
      StateChangeTime: '2026-11-30T03:17:00.000+0000',
      AlarmArn: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-api-errors',
      Trigger: {
        MetricName: 'Errors',
        Namespace: 'AWS/Lambda',
        Statistic: 'SUM',
        Dimensions: [{ name: 'FunctionName', value: 'checkout-api' }],
      },
    });
    expect(incident.alert.alertKey).toBe(LAMBDA_DEPLOY_EXPECTED_PHRASES.alarm);
  });

  it('the alarm is in ALARM since the page, after one earlier flip three days ago', async () => {
    const alarms = await cloudWatch.send(new DescribeAlarmsCommand({ AlarmNames: [LAMBDA_DEPLOY_EXPECTED_PHRASES.alarm] }));
    expect(alarms.MetricAlarms?.[0]).toMatchObject({ StateValue: 'ALARM', StateUpdatedTimestamp: PAGED_AT });
    const history = await cloudWatch.send(
      new DescribeAlarmHistoryCommand({
        AlarmName: LAMBDA_DEPLOY_EXPECTED_PHRASES.alarm,
        HistoryItemType: 'StateUpdate',
        StartDate: minutesBefore(24 * 60),
      }),
    );
    expect(history.AlarmHistoryItems?.map((item) => item.HistorySummary)).toEqual(['Alarm updated from OK to ALARM']);
  });

  it('the Errors metric steps up after the update: nothing but one stray error before, 5 or more a minute at the page', async () => {
    const answer = await cloudWatch.send(
      new GetMetricDataCommand({
        StartTime: minutesBefore(45),
        EndTime: PAGED_AT,
        ScanBy: 'TimestampAscending',
        MetricDataQueries: [
          {
            Id: 'errors',
            MetricStat: { Metric: { Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: [FUNCTION] }, Period: 60, Stat: 'Sum' },
          },
        ],
      }),
    );
    const values = answer.MetricDataResults?.[0].Values ?? [];
    expect(values).toHaveLength(45);
    expect(values.slice(0, 39).reduce((sum, value) => sum + value, 0)).toBe(1);
    expect(values.slice(-3).every((value) => value >= 5)).toBe(true);
  });

  it('CloudTrail shows UpdateFunctionCode on checkout-api six minutes before the page, by a deploy role', async () => {
    const answer = await cloudTrail.send(
      new LookupEventsCommand({
        LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: 'checkout-api' }],
        StartTime: minutesBefore(60),
        EndTime: PAGED_AT,
      }),
    );
    expect(answer.Events?.map((event) => [event.EventName, event.EventTime, event.Username])).toEqual([
      ['UpdateFunctionCode20150331v2', minutesBefore(6), 'deploy-checkout-api-4821'],
    ]);
    expect(JSON.parse(answer.Events?.[0].CloudTrailEvent ?? '{}')).toMatchObject({ responseElements: { version: '42' } });
  });

  it('the TypeError is new: in the log group only after the update', async () => {
    const find = async (startTime: Date, endTime: Date) =>
      (
        await logs.send(
          new FilterLogEventsCommand({
            logGroupName: '/aws/lambda/checkout-api',
            filterPattern: '"TypeError"',
            startTime: startTime.getTime(),
            endTime: endTime.getTime(),
          }),
        )
      ).events ?? [];
    expect(await find(minutesBefore(60), minutesBefore(6))).toEqual([]);
    const after = await find(minutesBefore(6), PAGED_AT);
    expect(after.length).toBeGreaterThanOrEqual(5);
    expect(after.every((event) => event.message?.includes(LAMBDA_DEPLOY_EXPECTED_PHRASES.newError))).toBe(true);
  });

  it('checks a note for the three phrases, reading through markdown escapes', () => {
    expect(missingScenarioPhrases('Alarm checkout\\-api\\-errors paged.')).toEqual(['change', 'newError']);
    expect(
      missingScenarioPhrases(
        '**checkout-api-errors**: lambda:UpdateFunctionCode by deploy-checkout-api-4821 6 min before; new: TypeError: Cannot read properties of undefined \\(reading &#39;amount&#39;\\)',
      ),
    ).toEqual([]);
  });
});
