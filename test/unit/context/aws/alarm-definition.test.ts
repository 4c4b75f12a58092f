import { CloudWatchClient, DescribeAlarmsCommand, type CompositeAlarm } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { alarmDefinitionProvider, alertFromDefinition } from '../../../../lib/context/aws/alarm-definition';
import { gatherAwsContext, type AwsProviders } from '../../../../lib/context/aws/aws-context';
import type { AwsProviderInput } from '../../../../lib/context/aws/aws-input';
import { RequestBudget, type ContextProvider } from '../../../../lib/context/provider';
import { awsInput, awsScope, lambdaErrorsAlert, verifiedLambdaAlarm } from '../../../support/aws-context';

const cloudWatch = mockClient(CloudWatchClient);
const options = (requests = 2) => ({ signal: new AbortController().signal, requests: new RequestBudget(requests) });
const ORDERS_ALARM = verifiedLambdaAlarm().metricAlarm;
const HEALTH: CompositeAlarm = {
  AlarmName: 'orders-health',
  AlarmArn: 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:orders-health',
  AlarmRule: 'ALARM("orders-api-errors") OR ALARM(arn:aws:cloudwatch:eu-west-1:123456789012:alarm:orders-db-cpu) OR ALARM("elsewhere")',
  StateValue: 'ALARM',
};
/** The alert PagerDuty's CloudWatch integration makes of a composite alarm: a name, an ARN, a rule; no metric. */
const healthAlert = lambdaErrorsAlert({
  name: 'orders-health',
  alarmArn: HEALTH.AlarmArn,
  metric: undefined,
  resource: { dimensions: { TriggeringChild: 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:payroll-export' } },
});
/** An input before verification: the alert as claimed. */
const claimed = (overrides: Partial<AwsProviderInput> = {}): AwsProviderInput => awsInput({ alarm: undefined, ...overrides });

beforeEach(() => cloudWatch.reset());

describe('the alarm definition provider', () => {
  it('looks the alarm up by name with both alarm types and verifies it against the alert', async () => {
    cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [ORDERS_ALARM ?? {}], CompositeAlarms: [] });
    const verified = await alarmDefinitionProvider.run(claimed(), options());
    expect(cloudWatch.commandCalls(DescribeAlarmsCommand)[0]?.args[0].input).toMatchObject({
      AlarmNames: ['orders-api-errors'],
      AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
    });
    expect(verified).toEqual(verifiedLambdaAlarm());
  });

  it("reads a composite alarm's rule and names its children in ALARM, the first metric child giving the metric", async () => {
    cloudWatch.on(DescribeAlarmsCommand, { AlarmNames: ['orders-health'] }).resolves({ MetricAlarms: [], CompositeAlarms: [HEALTH] });
    cloudWatch
      .on(DescribeAlarmsCommand, { StateValue: 'ALARM' })
      .resolves({ MetricAlarms: [{ ...ORDERS_ALARM, StateValue: 'ALARM' }], CompositeAlarms: [] });
    const verified = await alarmDefinitionProvider.run(claimed({ alert: healthAlert }), options());
    expect(cloudWatch.commandCalls(DescribeAlarmsCommand)[1]?.args[0].input).toMatchObject({
      AlarmNames: ['orders-api-errors', 'orders-db-cpu', 'elsewhere'],
      AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
      StateValue: 'ALARM',
    });
    expect(verified).toMatchObject({
      kind: 'composite',
      name: 'orders-health',
      composite: { rule: HEALTH.AlarmRule, childrenInAlarm: ['orders-api-errors'] },
      metricAlarm: { AlarmName: 'orders-api-errors', MetricName: 'Errors' },
    });
    // The child the alert claimed (payroll-export) is no part of what the providers read.
    const trusted = alertFromDefinition(healthAlert, verified ?? verifiedLambdaAlarm());
    expect(trusted.resource?.dimensions).toEqual({ FunctionName: 'orders-api' });
  });

  it('says an alarm that does not exist where the agent reads is not there, and reads nothing more', async () => {
    cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [], CompositeAlarms: [] });
    await expect(alarmDefinitionProvider.run(claimed({ scope: awsScope({ accountId: undefined }) }), options())).rejects.toThrow(
      'alarm orders-api-errors does not exist in eu-west-1 (own account); nothing read for it',
    );
    expect(cloudWatch.calls()).toHaveLength(1);
  });

  it.each([
    [
      'another function',
      { resource: { dimensions: { FunctionName: 'payroll-export' } } },
      'the alert names FunctionName payroll-export, the alarm watches orders-api',
    ],
    [
      'another region',
      { region: 'ap-southeast-2', alarmArn: undefined },
      'the alert names region ap-southeast-2, the alarm is in eu-west-1',
    ],
    [
      'another account',
      { accountId: '999999999999', alarmArn: undefined },
      'the alert names account 999999999999, the alarm is in 123456789012',
    ],
    [
      'another alarm ARN',
      { alarmArn: 'arn:aws:cloudwatch:ap-southeast-2:123456789012:alarm:orders-api-errors' },
      "the alert's alarm ARN is not the alarm's",
    ],
    [
      'another metric',
      { metric: { namespace: 'AWS/Lambda', name: 'Throttles' } },
      'the alert names metric AWS/Lambda Throttles, the alarm watches AWS/Lambda Errors',
    ],
  ])('refuses an alert whose claim (%s) does not match the definition', async (_claim, overrides, why) => {
    cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [ORDERS_ALARM ?? {}], CompositeAlarms: [] });
    await expect(alarmDefinitionProvider.run(claimed({ alert: lambdaErrorsAlert(overrides) }), options())).rejects.toThrow(
      `alarm orders-api-errors in eu-west-1 (account 123456789012) does not match the alert: ${why}`,
    );
  });

  it("refuses an alarm on a resource outside the service's allowlist", async () => {
    cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [ORDERS_ALARM ?? {}], CompositeAlarms: [] });
    const scope = awsScope({ resources: ['checkout-*', 'orders-table'] });
    await expect(alarmDefinitionProvider.run(claimed({ scope }), options())).rejects.toThrow(
      "alarm orders-api-errors watches orders-api, not among the resources this service's mapping allows; nothing read for it",
    );
    expect(await alarmDefinitionProvider.run(claimed({ scope: awsScope({ resources: ['orders-*'] }) }), options())).toMatchObject({
      name: 'orders-api-errors',
    });
  });
});

describe('gatherAwsContext on a claim', () => {
  const recording = (seen: AwsProviderInput[], definition: AwsProviders['definition']): AwsProviders => {
    const answer = <T>(name: string, value: T): ContextProvider<AwsProviderInput, T> => ({
      name,
      needs: [],
      budget: { timeMs: 1000, requests: 1 },
      run: async (input) => {
        seen.push(input);
        return value;
      },
    });
    return {
      definition,
      alarm: answer('alarm', undefined),
      metric: answer('metric', undefined),
      changes: answer('changes', []),
      logs: answer('logs', []),
    };
  };
  const refusing: AwsProviders['definition'] = {
    ...alarmDefinitionProvider,
    run: () => alarmDefinitionProvider.run(claimed(), options()),
  };

  it('reads nothing at all in a region only the alert named when its alarm is not there', async () => {
    cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [], CompositeAlarms: [] });
    const seen: AwsProviderInput[] = [];
    const context = await gatherAwsContext(claimed(), recording(seen, refusing), { regionClaimed: true, notFollowed: ['earlier'] });
    expect(seen).toEqual([]);
    expect(context.unavailable.map((entry) => entry.source)).toEqual(['alarm', 'metric', 'changes', 'logs']);
    expect(context.unavailable.map((entry) => entry.reason)).toEqual([
      'alarm orders-api-errors does not exist in eu-west-1 (account 123456789012); nothing read for it',
      ...Array.from({ length: 3 }, () => "not read: eu-west-1 is the alert's own region and its alarm was not verified there"),
    ]);
    expect(context.notFollowed).toEqual(['earlier']);
  });

  it("reads only the mapping's sources, without the alert, when the alarm is not verified in the mapped region", async () => {
    cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [], CompositeAlarms: [] });
    const seen: AwsProviderInput[] = [];
    const scope = awsScope({ logGroups: ['/ecs/orders'], logGroupPrefixes: ['/ecs/'] });
    const context = await gatherAwsContext(claimed({ scope }), recording(seen, refusing));
    expect(seen.map((input) => input.alert)).toEqual([undefined, undefined, undefined, undefined]);
    expect(context.unavailable).toEqual([{ source: 'alarm', reason: expect.stringContaining('does not exist in eu-west-1') }]);
  });

  it('runs no provider when the alarm is refused and the mapping names nothing to read (a prefix bounds, names nothing)', async () => {
    cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [], CompositeAlarms: [] });
    const seen: AwsProviderInput[] = [];
    const context = await gatherAwsContext(claimed({ scope: awsScope({ resources: ['orders-*'] }) }), recording(seen, refusing));
    expect(seen).toEqual([]);
    expect(context.unavailable.map((entry) => entry.source)).toEqual(['alarm']);
  });

  it('hands the providers the definition, and says which log groups the prefixes kept it from', async () => {
    cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [ORDERS_ALARM ?? {}], CompositeAlarms: [] });
    const seen: AwsProviderInput[] = [];
    const scope = awsScope({ accountId: undefined, logGroupPrefixes: ['/aws/lambda/checkout-'] });
    const context = await gatherAwsContext(claimed({ scope }), recording(seen, alarmDefinitionProvider));
    expect(seen[0]?.alarm?.name).toBe('orders-api-errors');
    expect(seen[0]?.scope.accountId).toBe('123456789012');
    expect(context.notFollowed).toEqual(["the log group /aws/lambda/orders-api is outside this service's logGroupPrefixes: not read"]);
  });
});
