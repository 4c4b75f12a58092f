import { normaliseAlert } from '../../lib/context/alert';
import type { AwsContext } from '../../lib/context/evidence';
import type { IncidentContext } from '../../lib/triage/types';
import { makeAlert, makeIncident, makeIncidentContext, minutesBefore } from './incident-context';

/**
 * The scenario: a CloudWatch alarm on the errors of Lambda `checkout-api`, the function's code updated 6 min
 * before, and a TypeError the logs never showed before. The alarm message has the fields and casing of
 * `test/fixtures/alert-payloads/cloudwatch-sns-alarm-https-notification.json` (aws/aws-cli examples, Apache-2.0),
 * with this scenario's names and times; the CloudTrail change is what the AWS providers make of a record like
 * `test/fixtures/aws-context/cloudtrail-lambda-updatefunctioncode.json`.
 */

export const SCENARIO_REGION = 'eu-west-1';
export const SCENARIO_ACCOUNT = '123456789012';
export const SCENARIO_FUNCTION_ARN = `arn:aws:lambda:${SCENARIO_REGION}:${SCENARIO_ACCOUNT}:function:checkout-api`;
export const SCENARIO_TYPE_ERROR = "TypeError: Cannot read properties of undefined (reading 'amount')";
export const SCENARIO_LOG_GROUP = '/aws/lambda/checkout-api';
export const SCENARIO_METRIC_URL =
  'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/checkout-api-errors';
export const SCENARIO_LOGS_URL =
  'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/$252Faws$252Flambda$252Fcheckout-api';
export const SCENARIO_CLOUDTRAIL_URL =
  'https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events/4672b74f-2466-4784-b3fb-5b4db904a995';

const alarmMessage = {
  AlarmName: 'checkout-api-errors',
  AlarmDescription: 'checkout-api is throwing errors',
  AWSAccountId: SCENARIO_ACCOUNT,
  NewStateValue: 'ALARM',
  NewStateReason:
    'Threshold Crossed: 1 datapoint [14.0 (10/03/26 03:11:00)] was greater than the threshold (5.0) (minimum 1 datapoint for OK -> ALARM transition).',
  StateChangeTime: '2026-03-10T03:12:00.000+0000',
  Region: 'EU (Ireland)',
  AlarmArn: `arn:aws:cloudwatch:${SCENARIO_REGION}:${SCENARIO_ACCOUNT}:alarm:checkout-api-errors`,
  OldStateValue: 'OK',
  Trigger: {
    MetricName: 'Errors',
    Namespace: 'AWS/Lambda',
    StatisticType: 'Statistic',
    Statistic: 'SUM',
    Unit: null,
    Dimensions: [{ value: 'checkout-api', name: 'FunctionName' }],
    Period: 60,
    EvaluationPeriods: 1,
    ComparisonOperator: 'GreaterThanThreshold',
    Threshold: 5.0,
    TreatMissingData: 'missing',
    EvaluateLowSampleCountPercentile: '',
  },
};

export const SCENARIO_AWS: AwsContext = {
  region: SCENARIO_REGION,
  accountId: SCENARIO_ACCOUNT,
  alarm: { alarmName: 'checkout-api-errors', alarmsLast24h: 1, flipsLast24h: 2, consoleUrl: SCENARIO_METRIC_URL },
  metric: {
    metricLabel: 'Errors',
    shape: 'step',
    crossedAt: '2026-03-10T03:11:00Z',
    latest: 14,
    baseline: 0.2,
    unit: 'Count',
    sparkline: '▁▁▁▁▁▁▁▁▁▁▇███',
    consoleUrl: SCENARIO_METRIC_URL,
  },
  changes: [
    {
      at: minutesBefore(6),
      source: 'cloudtrail',
      action: 'lambda:UpdateFunctionCode',
      who: 'deploy-role/github-actions',
      target: 'checkout-api',
      summary: 'Published version 42',
      onAlarmedResource: true,
      link: SCENARIO_CLOUDTRAIL_URL,
    },
  ],
  logSurges: [
    {
      logGroup: SCENARIO_LOG_GROUP,
      signature: "TypeError: Cannot read properties of undefined (reading '<*>')",
      example: `2026-03-10T03:10:12.345Z\t9f0c1e2a\tERROR\tUncaught Exception\t${SCENARIO_TYPE_ERROR}`,
      countRecent: 57,
      countBefore: 0,
      isNew: true,
      firstSeenAt: '2026-03-10T03:10:12Z',
      consoleUrl: SCENARIO_LOGS_URL,
    },
  ],
  unavailable: [],
};

/** The scenario's incident context: the PagerDuty side as the fixtures have it, the alert understood, the AWS context. */
export function scenarioContext(overrides: Partial<IncidentContext> = {}): IncidentContext {
  const alert = makeAlert({
    summary: 'ALARM: "checkout-api-errors" in EU (Ireland)',
    body: { details: alarmMessage, cef_details: { details: alarmMessage } },
  });
  return makeIncidentContext({
    incident: makeIncident({ title: 'ALARM: "checkout-api-errors" in EU (Ireland)' }),
    alerts: [alert],
    alert: normaliseAlert(alert),
    aws: SCENARIO_AWS,
    ...overrides,
  });
}
