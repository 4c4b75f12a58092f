import {
  CloudWatchClient,
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  type DescribeAlarmHistoryCommandOutput,
  type DescribeAlarmsCommandOutput,
  type MetricAlarm,
} from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { alarmHistoryProvider } from '../../../../lib/context/aws/alarm-provider';
import { metricProvider } from '../../../../lib/context/aws/metric-provider';
import { RequestBudget } from '../../../../lib/context/provider';
import { awsFixture, awsInput, lambdaErrorsAlert, TRIGGERED_AT, verifiedLambdaAlarm } from '../../../support/aws-context';

const cloudWatch = mockClient(CloudWatchClient);
const options = (requests = 5) => ({ signal: new AbortController().signal, requests: new RequestBudget(requests) });

beforeEach(() => cloudWatch.reset());

describe('alarm history provider', () => {
  it('counts state changes and flips into ALARM over the 24 h before the trigger', async () => {
    cloudWatch
      .on(DescribeAlarmHistoryCommand)
      .resolves(awsFixture<DescribeAlarmHistoryCommandOutput>('cloudwatch-describealarmhistory-stateupdate.json'));
    const summary = await alarmHistoryProvider.run(awsInput(), options());
    expect(summary).toEqual({
      alarmName: 'orders-api-errors',
      alarmsLast24h: 1,
      flipsLast24h: 2,
      consoleUrl: 'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/orders-api-errors',
    });
    const input = cloudWatch.commandCalls(DescribeAlarmHistoryCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ AlarmName: 'orders-api-errors', HistoryItemType: 'StateUpdate' });
    expect(input?.StartDate).toEqual(new Date(TRIGGERED_AT.getTime() - 24 * 3600_000));
  });

  it('follows pages within its request budget', async () => {
    const page = awsFixture<DescribeAlarmHistoryCommandOutput>('cloudwatch-describealarmhistory-stateupdate.json');
    cloudWatch.on(DescribeAlarmHistoryCommand).resolves({ ...page, NextToken: 'more' });
    const summary = await alarmHistoryProvider.run(awsInput(), options(3));
    expect(cloudWatch.commandCalls(DescribeAlarmHistoryCommand)).toHaveLength(3);
    expect(summary?.flipsLast24h).toBe(6);
  });

  it('reports a quiet alarm as no flips', async () => {
    cloudWatch.on(DescribeAlarmHistoryCommand).resolves({ AlarmHistoryItems: [] });
    expect(await alarmHistoryProvider.run(awsInput(), options())).toMatchObject({ alarmsLast24h: 0, flipsLast24h: 0 });
  });

  it('reads nothing for an alert that is not a CloudWatch alarm', async () => {
    const alert = lambdaErrorsAlert({ monitor: 'datadog' });
    expect(await alarmHistoryProvider.run(awsInput({ alert }), options())).toBeUndefined();
    expect(cloudWatch.calls()).toHaveLength(0);
  });
});

describe('metric provider', () => {
  const minute = 60_000;
  const timestamps = Array.from({ length: 60 }, (_, i) => new Date(TRIGGERED_AT.getTime() - (59 - i) * minute));
  const stepValues = timestamps.map((_, i) => (i < 50 ? 1 : 20));

  it('reads the alarmed metric around the trigger and describes its shape', async () => {
    cloudWatch
      .on(GetMetricDataCommand)
      .resolves({ MetricDataResults: [{ Id: 'm1', Timestamps: timestamps, Values: stepValues, StatusCode: 'Complete' }] });
    const behaviour = await metricProvider.run(awsInput(), options());
    expect(behaviour).toMatchObject({
      metricLabel: 'AWS/Lambda Errors',
      shape: 'step',
      crossedAt: timestamps[50]?.toISOString(),
      latest: 20,
      baseline: 1,
    });
    expect(behaviour?.sparkline).toMatch(/^▁+█+$/);
    expect(behaviour?.consoleUrl).toContain('#metricsV2:graph=');
    const input = cloudWatch.commandCalls(GetMetricDataCommand)[0]?.args[0].input;
    expect(input?.MetricDataQueries?.[0]?.MetricStat).toEqual({
      Metric: { Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: 'orders-api' }] },
      Period: 60,
      Stat: 'Sum',
    });
    // Start and end sit on period boundaries.
    expect((input?.StartTime as Date).getTime() % minute).toBe(0);
    expect((input?.EndTime as Date).getTime() % minute).toBe(0);
    expect(cloudWatch.commandCalls(DescribeAlarmsCommand)).toHaveLength(0);
  });

  it("reads the metric the alarm's definition names, not the alert's, and takes the definition's threshold", async () => {
    const alarms = awsFixture<DescribeAlarmsCommandOutput>('cloudwatch-describealarms.json');
    cloudWatch
      .on(GetMetricDataCommand)
      .resolves({ MetricDataResults: [{ Id: 'm1', Timestamps: timestamps, Values: timestamps.map((_, i) => 20 + i) }] });
    const alarm = verifiedLambdaAlarm({ name: 'myalarm', metricAlarm: alarms.MetricAlarms?.[0] });
    const behaviour = await metricProvider.run(awsInput({ alarm }), options());
    expect(cloudWatch.commandCalls(DescribeAlarmsCommand)).toHaveLength(0);
    expect(cloudWatch.commandCalls(GetMetricDataCommand)[0]?.args[0].input.MetricDataQueries?.[0]?.MetricStat).toMatchObject({
      Metric: { Namespace: 'AWS/EC2', MetricName: 'CPUUtilization', Dimensions: [{ Name: 'InstanceId', Value: 'i-0c986c72' }] },
      Period: 300,
      Stat: 'Average',
    });
    // CPUUtilization is a percent metric climbing 1 per minute: it reaches 100 in (100 - 79) minutes; it crossed 70 at minute 51.
    expect(behaviour).toMatchObject({ shape: 'climb', crossedAt: timestamps[51]?.toISOString() });
    expect(behaviour?.minutesToExhaustion).toBeCloseTo(21, 6);
  });

  it("reads a metric-math alarm's queries and names the expression that moved", async () => {
    const metricAlarm: MetricAlarm = {
      AlarmName: 'orders-error-rate',
      Threshold: 5,
      ComparisonOperator: 'GreaterThanThreshold',
      Metrics: [
        { Id: 'e1', Expression: 'm1/m2*100', Label: 'error rate', ReturnData: true },
        { Id: 'm1', MetricStat: { Metric: { Namespace: 'AWS/Lambda', MetricName: 'Errors' }, Period: 60, Stat: 'Sum' }, ReturnData: false },
        {
          Id: 'm2',
          MetricStat: { Metric: { Namespace: 'AWS/Lambda', MetricName: 'Invocations' }, Period: 60, Stat: 'Sum' },
          ReturnData: false,
        },
      ],
    };
    cloudWatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'e1', Timestamps: timestamps, Values: stepValues }] });
    const behaviour = await metricProvider.run(awsInput({ alarm: verifiedLambdaAlarm({ metricAlarm }) }), options());
    expect(cloudWatch.commandCalls(GetMetricDataCommand)[0]?.args[0].input.MetricDataQueries).toEqual(metricAlarm.Metrics);
    expect(behaviour).toMatchObject({ metricLabel: 'error rate: m1/m2*100', shape: 'step', latest: 20, baseline: 1 });
  });

  it("reads a composite alarm's child in ALARM, and says so when no child with a metric is in ALARM", async () => {
    cloudWatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'm1', Timestamps: timestamps, Values: stepValues }] });
    const child = verifiedLambdaAlarm().metricAlarm;
    const composite = { rule: 'ALARM("orders-api-errors") OR ALARM("orders-db-cpu")', childrenInAlarm: ['orders-api-errors'] };
    const alarm = verifiedLambdaAlarm({ name: 'orders-health', kind: 'composite', composite, metricAlarm: child });
    expect(await metricProvider.run(awsInput({ alarm }), options())).toMatchObject({
      metricLabel: 'AWS/Lambda Errors (child alarm orders-api-errors of orders-health)',
      shape: 'step',
    });
    const quiet = verifiedLambdaAlarm({
      name: 'orders-health',
      kind: 'composite',
      composite: { ...composite, childrenInAlarm: [] },
      metricAlarm: undefined,
    });
    await expect(metricProvider.run(awsInput({ alarm: quiet }), options())).rejects.toThrow(
      'no child alarm of the composite alarm orders-health is in ALARM with a metric to read',
    );
  });

  it('reads nothing without a verified alarm', async () => {
    expect(await metricProvider.run(awsInput({ alarm: undefined }), options())).toBeUndefined();
    expect(cloudWatch.calls()).toHaveLength(0);
  });

  it('describes an empty answer as no-data', async () => {
    cloudWatch.on(GetMetricDataCommand).resolves(awsFixture('cloudwatch-getmetricdata-single-metric-billing.json'));
    expect(await metricProvider.run(awsInput(), options())).toMatchObject({ shape: 'no-data', latest: 542.38 });
  });
});
