import {
  CloudWatchClient,
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  type DescribeAlarmHistoryCommandOutput,
  type DescribeAlarmsCommandOutput,
} from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { alarmHistoryProvider } from '../../../../lib/context/aws/alarm-provider';
import { metricProvider } from '../../../../lib/context/aws/metric-provider';
import { RequestBudget } from '../../../../lib/context/provider';
import { awsFixture, awsInput, lambdaErrorsAlert, TRIGGERED_AT } from '../../../support/aws-context';

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

  it('reads the alarm with DescribeAlarms when the alert lacks the metric, and takes its threshold', async () => {
    const alarms = awsFixture<DescribeAlarmsCommandOutput>('cloudwatch-describealarms.json');
    cloudWatch.on(DescribeAlarmsCommand).resolves(alarms);
    cloudWatch
      .on(GetMetricDataCommand)
      .resolves({ MetricDataResults: [{ Id: 'm1', Timestamps: timestamps, Values: timestamps.map((_, i) => 20 + i) }] });
    const alert = lambdaErrorsAlert({ name: 'myalarm', metric: undefined, threshold: undefined, resource: { dimensions: {} } });
    const behaviour = await metricProvider.run(awsInput({ alert }), options());
    expect(cloudWatch.commandCalls(DescribeAlarmsCommand)[0]?.args[0].input).toMatchObject({ AlarmNames: ['myalarm'] });
    expect(cloudWatch.commandCalls(GetMetricDataCommand)[0]?.args[0].input.MetricDataQueries?.[0]?.MetricStat).toMatchObject({
      Metric: { Namespace: 'AWS/EC2', MetricName: 'CPUUtilization', Dimensions: [{ Name: 'InstanceId', Value: 'i-0c986c72' }] },
      Period: 300,
      Stat: 'Average',
    });
    // CPUUtilization is a percent metric climbing 1 per minute: it reaches 100 in (100 - 79) minutes; it crossed 70 at minute 51.
    expect(behaviour).toMatchObject({ shape: 'climb', crossedAt: timestamps[51]?.toISOString() });
    expect(behaviour?.minutesToExhaustion).toBeCloseTo(21, 6);
  });

  it('says the alarm was not found when DescribeAlarms knows none', async () => {
    cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
    const alert = lambdaErrorsAlert({ metric: undefined });
    await expect(metricProvider.run(awsInput({ alert }), options())).rejects.toThrow(
      'the alarm orders-api-errors was not found in eu-west-1',
    );
  });

  it('describes an empty answer as no-data', async () => {
    cloudWatch.on(GetMetricDataCommand).resolves(awsFixture('cloudwatch-getmetricdata-single-metric-billing.json'));
    expect(await metricProvider.run(awsInput(), options())).toMatchObject({ shape: 'no-data', latest: 542.38 });
  });
});
