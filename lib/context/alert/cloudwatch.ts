import { asNumber, asRecord, asString, type AlertPayload } from './payload';
import { applyThresholdReading, type MonitorNormaliser, type MonitorReading } from './reading';
import { parseArn, regionCode } from './regions';
import { comparisonOfOperator, readThresholdText } from './thresholds';

/**
 * CloudWatch alarms reach PagerDuty two ways. Through PagerDuty's CloudWatch integration (SNS → integration URL) the
 * details are the parsed SNS `Message`: `AlarmName`, `NewStateValue`, `NewStateReason`, `Region` (a display name),
 * `AlarmArn`, `Trigger` (metric, dimensions as `[{name, value}]`, or `Metrics[]` for metric math) or, for composite
 * alarms, `AlarmRule` and `TriggeringChildren`. Through EventBridge the details are the "CloudWatch Alarm State
 * Change" event: `detail.alarmName`, `detail.state`, `detail.configuration.metrics`, `region`, `account`, `resources`.
 */

type Dimensions = Record<string, string>;

function dimensionsFromList(list: unknown): Dimensions {
  const dimensions: Dimensions = {};
  if (!Array.isArray(list)) return dimensions;
  for (const entry of list) {
    const record = asRecord(entry);
    const name = asString(record?.['name'] ?? record?.['Name']);
    const value = asString(record?.['value'] ?? record?.['Value']);
    if (name !== undefined && value !== undefined) dimensions[name] = value;
  }
  return dimensions;
}

function dimensionsFromRecord(record: unknown): Dimensions {
  const dimensions: Dimensions = {};
  for (const [name, value] of Object.entries(asRecord(record) ?? {})) {
    const text = asString(value);
    if (text !== undefined) dimensions[name] = text;
  }
  return dimensions;
}

/** Dimension names whose value is enough to build the resource's ARN, by the service that owns them. */
const ARN_BY_DIMENSION: Record<string, (region: string, account: string, value: string) => string> = {
  FunctionName: (region, account, value) => `arn:aws:lambda:${region}:${account}:function:${value}`,
  TableName: (region, account, value) => `arn:aws:dynamodb:${region}:${account}:table/${value}`,
  QueueName: (region, account, value) => `arn:aws:sqs:${region}:${account}:${value}`,
  InstanceId: (region, account, value) => `arn:aws:ec2:${region}:${account}:instance/${value}`,
  DBInstanceIdentifier: (region, account, value) => `arn:aws:rds:${region}:${account}:db:${value}`,
  StateMachineArn: (_region, _account, value) => value,
};

/** The alarmed resource's ARN from its dimensions, when one is an ARN or names a resource ARN_BY_DIMENSION can build. */
export function resourceArn(dimensions: Dimensions, region: string | undefined, account: string | undefined): string | undefined {
  for (const [name, value] of Object.entries(dimensions)) {
    if (value.startsWith('arn:')) return value;
    const build = ARN_BY_DIMENSION[name];
    if (build !== undefined && region !== undefined && account !== undefined) return build(region, account, value);
  }
  return undefined;
}

function finish(reading: MonitorReading, dimensions: Dimensions): MonitorReading {
  const arn = resourceArn(dimensions, reading.region, reading.accountId);
  if (Object.keys(dimensions).length > 0 || arn !== undefined) reading.resource = arn === undefined ? { dimensions } : { arn, dimensions };
  if (reading.alarmArn !== undefined && reading.region !== undefined && reading.accountId !== undefined) {
    reading.sourceUrl = `https://${reading.region}.console.aws.amazon.com/cloudwatch/home?region=${reading.region}#alarmsV2:alarm/${encodeURIComponent(reading.name ?? '')}`;
  }
  return reading;
}

/** The SNS `Message` of a metric or composite alarm, as PagerDuty's CloudWatch integration stores it. */
function readSnsMessage(details: Record<string, unknown>): MonitorReading {
  const reading: MonitorReading = {};
  const alarmArn = asString(details['AlarmArn']);
  const arn = parseArn(alarmArn);
  const name = asString(details['AlarmName']);
  const state = asString(details['NewStateValue']);
  const reason = asString(details['NewStateReason']);
  const changedAt = asString(details['StateChangeTime']);
  if (name !== undefined) reading.name = name;
  if (state !== undefined) reading.state = state;
  if (alarmArn !== undefined) reading.alarmArn = alarmArn;
  if (changedAt !== undefined) reading.triggeredAt = changedAt;
  const region = arn?.region ?? regionCode(asString(details['Region']));
  if (region !== undefined) reading.region = region;
  const accountId = arn?.accountId ?? asString(details['AWSAccountId']);
  if (accountId !== undefined && /^\d{12}$/.test(accountId)) reading.accountId = accountId;

  const trigger = asRecord(details['Trigger']);
  let dimensions: Dimensions = {};
  if (trigger !== undefined) {
    const metricName = asString(trigger['MetricName']);
    const statistic = asString(trigger['ExtendedStatistic']) ?? asString(trigger['Statistic']);
    const period = asNumber(trigger['Period']);
    const unit = asString(trigger['Unit']);
    const namespace = asString(trigger['Namespace']);
    dimensions = dimensionsFromList(trigger['Dimensions']);
    const metrics = Array.isArray(trigger['Metrics']) ? trigger['Metrics'].map(asRecord) : [];
    const expression = metrics.map((metric) => asString(metric?.['Expression'])).find((text) => text !== undefined);
    const firstStat = metrics.map((metric) => asRecord(metric?.['MetricStat'])).find((stat) => stat !== undefined);
    const firstMetric = asRecord(firstStat?.['Metric']);
    const label =
      metricName ??
      asString(metrics.find((metric) => asString(metric?.['Expression']) !== undefined)?.['Label']) ??
      asString(firstMetric?.['MetricName']);
    if (label !== undefined) {
      reading.metric = { name: label };
      const metricNamespace = namespace ?? asString(firstMetric?.['Namespace']);
      if (metricNamespace !== undefined) reading.metric.namespace = metricNamespace;
      const stat = statistic ?? asString(firstStat?.['Stat']);
      if (stat !== undefined) reading.metric.statistic = stat;
      const metricPeriod = period ?? asNumber(firstStat?.['Period']);
      if (metricPeriod !== undefined) reading.metric.periodSeconds = metricPeriod;
      if (unit !== undefined && unit !== 'None') reading.metric.unit = unit;
      if (expression !== undefined) reading.metric.expression = expression;
    }
    if (Object.keys(dimensions).length === 0 && firstMetric !== undefined) dimensions = dimensionsFromList(firstMetric['Dimensions']);
    const threshold = asNumber(trigger['Threshold']);
    const comparison = comparisonOfOperator(asString(trigger['ComparisonOperator']));
    if (threshold !== undefined) reading.threshold = { comparison: comparison ?? 'other', value: threshold };
  }
  const children = Array.isArray(details['TriggeringChildren']) ? details['TriggeringChildren'] : [];
  const child = children
    .map((entry) => (typeof entry === 'string' ? entry : asString(asRecord(entry)?.['Arn'])))
    .find((text) => text !== undefined);
  if (child !== undefined) dimensions['TriggeringChild'] = child;
  if (reason !== undefined) applyThresholdReading(reading, readThresholdText(reason));
  return finish(reading, dimensions);
}

/** The EventBridge "CloudWatch Alarm State Change" event. */
function readEventBridge(event: Record<string, unknown>): MonitorReading {
  const reading: MonitorReading = {};
  const detail = asRecord(event['detail']) ?? {};
  const resources = Array.isArray(event['resources']) ? event['resources'].map(asString) : [];
  const alarmArn = resources.find((resource) => resource?.startsWith('arn:') && resource.includes(':alarm:'));
  const arn = parseArn(alarmArn);
  const name = asString(detail['alarmName']);
  const state = asRecord(detail['state']);
  if (name !== undefined) reading.name = name;
  const stateValue = asString(state?.['value']);
  if (stateValue !== undefined) reading.state = stateValue;
  if (alarmArn !== undefined) reading.alarmArn = alarmArn;
  const at = asString(state?.['timestamp']) ?? asString(event['time']);
  if (at !== undefined) reading.triggeredAt = at;
  const region = arn?.region ?? regionCode(asString(event['region']));
  if (region !== undefined) reading.region = region;
  const accountId = arn?.accountId ?? asString(event['account']);
  if (accountId !== undefined && /^\d{12}$/.test(accountId)) reading.accountId = accountId;

  const configuration = asRecord(detail['configuration']);
  const metrics = Array.isArray(configuration?.['metrics']) ? configuration['metrics'].map(asRecord) : [];
  const expressionMetric = metrics.find((metric) => asString(metric?.['expression']) !== undefined && metric?.['returnData'] === true);
  const stat = metrics.map((metric) => asRecord(metric?.['metricStat'])).find((candidate) => candidate !== undefined);
  const metric = asRecord(stat?.['metric']);
  const label = asString(expressionMetric?.['label']) ?? asString(metric?.['name']);
  if (label !== undefined) {
    reading.metric = { name: asString(metric?.['name']) ?? label };
    const namespace = asString(metric?.['namespace']);
    if (namespace !== undefined) reading.metric.namespace = namespace;
    const statistic = asString(stat?.['stat']);
    if (statistic !== undefined) reading.metric.statistic = statistic;
    const period = asNumber(stat?.['period']);
    if (period !== undefined) reading.metric.periodSeconds = period;
    const expression = asString(expressionMetric?.['expression']);
    if (expression !== undefined) reading.metric.expression = expression;
  }
  const reason = asString(state?.['reason']);
  if (reason !== undefined) applyThresholdReading(reading, readThresholdText(reason));
  return finish(reading, dimensionsFromRecord(metric?.['dimensions']));
}

function isEventBridgeAlarm(details: Record<string, unknown>): boolean {
  return (
    details['detail-type'] === 'CloudWatch Alarm State Change' ||
    (details['source'] === 'aws.cloudwatch' && asRecord(details['detail'])?.['alarmName'] !== undefined)
  );
}

export const cloudWatch: MonitorNormaliser = {
  monitor: 'cloudwatch',
  recognises: ({ details }: AlertPayload): boolean =>
    isEventBridgeAlarm(details) ||
    (typeof details['AlarmName'] === 'string' &&
      ('NewStateValue' in details || 'Trigger' in details || 'AlarmArn' in details || 'AlarmRule' in details)),
  read: ({ details }: AlertPayload): MonitorReading => (isEventBridgeAlarm(details) ? readEventBridge(details) : readSnsMessage(details)),
};
