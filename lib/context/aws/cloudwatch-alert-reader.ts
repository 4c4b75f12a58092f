import type { Alert } from '../../pagerduty/types';
import type { Comparison, NormalisedAlert } from '../evidence';

/**
 * A minimal reader of CloudWatch alarm alerts (PagerDuty's CloudWatch integration puts the alarm's SNS message in
 * the alert's custom details), enough for the AWS providers to start from. It stands in until the full alert
 * normaliser (`understandAlerts`) is injected into gatherContext; it reads nothing else.
 */

const COMPARISONS: Record<string, Comparison | undefined> = {
  GreaterThanThreshold: '>',
  GreaterThanOrEqualToThreshold: '>=',
  LessThanThreshold: '<',
  LessThanOrEqualToThreshold: '<=',
  LessThanLowerOrGreaterThanUpperThreshold: 'outside-band',
  LessThanLowerThreshold: 'outside-band',
  GreaterThanUpperThreshold: 'outside-band',
};

/** A CloudWatch `ComparisonOperator` as a Comparison; `other` for ones it does not know. */
export const comparisonOf = (operator: string | undefined): Comparison => COMPARISONS[operator ?? ''] ?? 'other';

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const number = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

function parseJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

/** The SNS alarm message inside an alert's details, wherever the integration put it. */
function alarmMessage(alert: Alert): Json | undefined {
  const details = alert.body?.details;
  const candidates: unknown[] = [typeof details === 'string' ? parseJson(details) : details];
  const cef = alert.body?.cef_details;
  if (isObject(cef)) candidates.push(cef.details);
  for (const candidate of candidates) {
    if (isObject(candidate) && text(candidate.AlarmName) !== undefined) return candidate;
    const message = isObject(candidate) ? candidate.Message : undefined;
    const parsed = typeof message === 'string' ? parseJson(message) : undefined;
    if (isObject(parsed) && text(parsed.AlarmName) !== undefined) return parsed;
  }
  return undefined;
}

/** `arn:aws:cloudwatch:eu-west-1:123456789012:alarm:name` → region and account. */
function arnParts(arn: string | undefined): { region?: string; accountId?: string } {
  const parts = arn?.split(':') ?? [];
  const region = parts[3];
  const accountId = parts[4];
  return {
    region: region !== undefined && /^[a-z]{2}(-[a-z]+)+-\d$/.test(region) ? region : undefined,
    accountId: accountId !== undefined && /^\d{12}$/.test(accountId) ? accountId : undefined,
  };
}

function dimensionsOf(trigger: Json): Record<string, string> {
  const dimensions: Record<string, string> = {};
  const list = Array.isArray(trigger.Dimensions) ? trigger.Dimensions : [];
  for (const entry of list) {
    if (!isObject(entry)) continue;
    const name = text(entry.name) ?? text(entry.Name);
    const value = text(entry.value) ?? text(entry.Value);
    if (name !== undefined && value !== undefined) dimensions[name] = value;
  }
  return dimensions;
}

/** The first alert that carries a CloudWatch alarm, normalised; undefined when none does. */
export function readCloudWatchAlarm(alerts: readonly Alert[]): NormalisedAlert | undefined {
  for (const alert of alerts) {
    const message = alarmMessage(alert);
    if (message === undefined) continue;
    const alarmArn = text(message.AlarmArn);
    const { region, accountId } = arnParts(alarmArn);
    const trigger = isObject(message.Trigger) ? message.Trigger : {};
    const metricName = text(trigger.MetricName);
    const threshold = number(trigger.Threshold);
    const comparison = comparisonOf(text(trigger.ComparisonOperator));
    const changedAt = text(message.StateChangeTime);
    const triggeredAt =
      changedAt === undefined || Number.isNaN(Date.parse(changedAt)) ? alert.created_at : new Date(Date.parse(changedAt)).toISOString();
    return {
      monitor: 'cloudwatch',
      name: text(message.AlarmName),
      state: text(message.NewStateValue),
      metric:
        metricName === undefined
          ? undefined
          : {
              namespace: text(trigger.Namespace),
              name: metricName,
              statistic: text(trigger.Statistic),
              periodSeconds: number(trigger.Period),
              unit: text(trigger.Unit),
            },
      threshold: threshold === undefined ? undefined : { comparison, value: threshold },
      resource: { dimensions: dimensionsOf(trigger) },
      region,
      accountId: accountId ?? text(message.AWSAccountId),
      alarmArn,
      triggeredAt,
      details: [],
    };
  }
  return undefined;
}
