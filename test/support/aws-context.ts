import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudTrailClient, type Event as TrailEvent } from '@aws-sdk/client-cloudtrail';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { AwsProviderInput, VerifiedAlarm } from '../../lib/context/aws/aws-input';
import type { AwsScope } from '../../lib/context/aws/mapping';
import type { NormalisedAlert } from '../../lib/context/evidence';

/** Fixtures of real AWS answers (test/fixtures/aws-context, see SOURCES.md) and builders for the AWS providers' input. */

export function awsFixture<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'aws-context', name), 'utf8')) as T;
}

interface RawTrailRecord {
  eventID?: string;
  eventName: string;
  eventSource: string;
  eventTime: string;
  readOnly?: boolean;
  userIdentity?: { userName?: string; arn?: string };
}

/** A raw CloudTrail record as LookupEvents returns it: summary fields plus the record as a JSON string. */
export function lookupEventFrom(record: RawTrailRecord, overrides: Partial<TrailEvent> = {}): TrailEvent {
  return {
    EventId: record.eventID,
    EventName: record.eventName,
    EventSource: record.eventSource,
    EventTime: new Date(record.eventTime),
    ReadOnly: record.readOnly === true ? 'true' : 'false',
    Username: record.userIdentity?.userName,
    CloudTrailEvent: JSON.stringify(record),
    ...overrides,
  };
}

export const TRIGGERED_AT = new Date('2026-03-10T03:12:00Z');

/** The SNS alarm message PagerDuty's CloudWatch integration keeps in an alert's details: Lambda errors of orders-api. */
export function lambdaAlarmDetails(stateChangeTime: string): Record<string, unknown> {
  return {
    AlarmName: 'orders-api-errors',
    AlarmArn: 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:orders-api-errors',
    NewStateValue: 'ALARM',
    StateChangeTime: stateChangeTime,
    Trigger: {
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      Statistic: 'SUM',
      Period: 60,
      Threshold: 5,
      ComparisonOperator: 'GreaterThanThreshold',
      Dimensions: [{ name: 'FunctionName', value: 'orders-api' }],
    },
  };
}

/** A CloudWatch alarm on a Lambda function's errors, as the alert reader produces it. */
export function lambdaErrorsAlert(overrides: Partial<NormalisedAlert> = {}): NormalisedAlert {
  return {
    monitor: 'cloudwatch',
    name: 'orders-api-errors',
    state: 'ALARM',
    metric: { namespace: 'AWS/Lambda', name: 'Errors', statistic: 'Sum', periodSeconds: 60 },
    threshold: { comparison: '>', value: 5 },
    resource: { dimensions: { FunctionName: 'orders-api' } },
    region: 'eu-west-1',
    accountId: '123456789012',
    alarmArn: 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:orders-api-errors',
    triggeredAt: TRIGGERED_AT.toISOString(),
    details: [],
    ...overrides,
  };
}

/** The definition of orders-api-errors as DescribeAlarms answers it in eu-west-1, checked against the alert. */
export function verifiedLambdaAlarm(overrides: Partial<VerifiedAlarm> = {}): VerifiedAlarm {
  return {
    name: 'orders-api-errors',
    arn: 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:orders-api-errors',
    region: 'eu-west-1',
    accountId: '123456789012',
    kind: 'metric',
    metricAlarm: {
      AlarmName: 'orders-api-errors',
      AlarmArn: 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:orders-api-errors',
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Statistic: 'Sum',
      Period: 60,
      Dimensions: [{ Name: 'FunctionName', Value: 'orders-api' }],
      Threshold: 5,
      ComparisonOperator: 'GreaterThanThreshold',
    },
    ...overrides,
  };
}

export function awsScope(overrides: Partial<AwsScope> = {}): AwsScope {
  return {
    region: 'eu-west-1',
    accountId: '123456789012',
    logGroups: [],
    stacks: [],
    resources: [],
    logGroupPrefixes: [],
    lookbackMinutes: 60,
    ...overrides,
  };
}

/** Real SDK clients (their `send` is replaced by aws-sdk-client-mock in the tests). */
export function awsClients(): AwsProviderInput['clients'] {
  const config = { region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  return { cloudWatch: new CloudWatchClient(config), cloudTrail: new CloudTrailClient(config), logs: new CloudWatchLogsClient(config) };
}

export function awsInput(overrides: Partial<AwsProviderInput> = {}): AwsProviderInput {
  return {
    alert: lambdaErrorsAlert(),
    alarm: verifiedLambdaAlarm(),
    scope: awsScope(),
    clients: awsClients(),
    triggeredAt: TRIGGERED_AT,
    now: new Date(TRIGGERED_AT.getTime() + 5 * 60_000),
    ...overrides,
  };
}

/** An AWS SDK service error as the SDK throws it (its `name` is the service's error code). */
export function awsError(name: string, message = `${name} from the mock`): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: 400 } });
}
