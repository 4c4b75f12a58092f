import { DEFAULT_ACCOUNT_ID, DEFAULT_REGION, resolveSeedTime, type SeedMetricAlarm } from './seed';

/**
 * The SNS `Message` CloudWatch publishes when a seeded alarm changes state: what PagerDuty's CloudWatch integration
 * parses and stores, keys unchanged, as the alert's `body.details` (shared/reference/pagerduty-facts.md; field set and
 * formats from the notifications in shared/fixtures/alert-payloads/). The demo attaches it to a sandbox incident so the
 * agent starts from the same payload it gets in production.
 */

const REGION_NAMES: Record<string, string> = {
  'us-east-1': 'US East (N. Virginia)',
  'us-east-2': 'US East (Ohio)',
  'us-west-2': 'US West (Oregon)',
  'eu-west-1': 'EU (Ireland)',
  'eu-central-1': 'EU (Frankfurt)',
};

/** CloudWatch's notification time format: `2015-06-03T17:43:27.123+0000`. */
const notificationTime = (ms: number): string => new Date(ms).toISOString().replace('Z', '+0000');

export function alarmNotificationMessage(alarm: SeedMetricAlarm, now: Date): Record<string, unknown> {
  const accountId = alarm.accountId ?? DEFAULT_ACCOUNT_ID;
  const region = alarm.region ?? DEFAULT_REGION;
  const change = alarm.history.at(-1);
  if (change === undefined) throw new Error(`Alarm ${alarm.AlarmName} has no state change to notify about: give it a history.`);
  return {
    AlarmName: alarm.AlarmName,
    AlarmDescription: alarm.AlarmDescription ?? null,
    AWSAccountId: accountId,
    AlarmConfigurationUpdatedTimestamp: notificationTime(resolveSeedTime(alarm.configuredAt, now)),
    NewStateValue: change.to,
    NewStateReason: change.reason,
    StateChangeTime: notificationTime(resolveSeedTime(change.at, now)),
    Region: REGION_NAMES[region] ?? region,
    AlarmArn: `arn:aws:cloudwatch:${region}:${accountId}:alarm:${alarm.AlarmName}`,
    OldStateValue: change.from,
    OKActions: alarm.OKActions,
    AlarmActions: alarm.AlarmActions,
    InsufficientDataActions: alarm.InsufficientDataActions,
    ActionExecutedAfterMuteWindow: false,
    Trigger: {
      MetricName: alarm.MetricName,
      Namespace: alarm.Namespace,
      StatisticType: alarm.ExtendedStatistic === undefined ? 'Statistic' : 'ExtendedStatistic',
      Statistic: (alarm.Statistic ?? alarm.ExtendedStatistic ?? '').toUpperCase(),
      Unit: alarm.Unit ?? null,
      Dimensions: alarm.Dimensions.map((dimension) => ({ value: dimension.Value, name: dimension.Name })),
      Period: alarm.Period,
      EvaluationPeriods: alarm.EvaluationPeriods,
      ComparisonOperator: alarm.ComparisonOperator,
      Threshold: alarm.Threshold,
      TreatMissingData: alarm.TreatMissingData,
      EvaluateLowSampleCountPercentile: '',
    },
  };
}
