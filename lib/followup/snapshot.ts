import { breaches } from '../context/aws/metric-shape';
import type { AwsContext, Comparison, NormalisedAlert } from '../context/evidence';

/**
 * What the agent saw at one moment, reduced to what a later look is compared with: the alarmed metric against its
 * threshold, the changes and error signatures it knew of, the alarm's flips and whether every alert had cleared.
 * Small enough to travel in a scheduled check's message (no table item), so each follow-up compares with the last
 * thing the agent said, not with the first.
 */
export interface ContextSnapshot {
  /** When it was taken (ISO-8601). */
  at: string;
  metric?: {
    label: string;
    latest?: number;
    unit?: string;
    /** The latest value is on the alarm's side of its threshold; undefined when either is unknown. */
    crossed?: boolean;
    minutesToExhaustion?: number;
    climbing: boolean;
  };
  threshold?: { comparison: Comparison; value: number };
  /** Each change by a key that stays the same across reads (source, time, action, target), with its summary. */
  changes: { key: string; at: string; summary: string; onAlarmedResource: boolean }[];
  /** Error signatures seen surging in the logs. */
  errorSignatures: string[];
  alarmFlips?: number;
  /** Every alert of the incident resolved (PagerDuty's own record); undefined when the alerts were not read. */
  alertsCleared?: boolean;
}

const MAX_CHANGES = 20;
const MAX_SIGNATURES = 20;
const MAX_TEXT = 200;

export const changeKey = (change: { at: string; action: string; target?: string }): string =>
  `${change.at}|${change.action}|${change.target ?? ''}`;

export function takeSnapshot(input: {
  at: Date;
  aws: AwsContext | undefined;
  alert: NormalisedAlert | undefined;
  alertsCleared?: boolean;
}): ContextSnapshot {
  const { aws, alert } = input;
  const threshold = alert?.threshold;
  const metric = aws?.metric;
  const snapshot: ContextSnapshot = {
    at: input.at.toISOString(),
    changes: (aws?.changes ?? []).slice(-MAX_CHANGES).map((change) => ({
      key: changeKey(change),
      at: change.at,
      summary: change.summary.slice(0, MAX_TEXT),
      onAlarmedResource: change.onAlarmedResource,
    })),
    errorSignatures: (aws?.logSurges ?? []).slice(0, MAX_SIGNATURES).map((surge) => surge.signature.slice(0, MAX_TEXT)),
  };
  if (threshold !== undefined && threshold.comparison !== 'other' && threshold.comparison !== 'outside-band')
    snapshot.threshold = threshold;
  if (metric !== undefined) {
    const latest = metric.latest;
    snapshot.metric = {
      label: metric.metricLabel,
      climbing: metric.shape === 'climb',
      ...(latest === undefined ? {} : { latest }),
      ...(metric.unit === undefined ? {} : { unit: metric.unit }),
      ...(metric.minutesToExhaustion === undefined ? {} : { minutesToExhaustion: metric.minutesToExhaustion }),
    };
    const crossed = latest === undefined || snapshot.threshold === undefined ? undefined : breaches(latest, snapshot.threshold);
    if (crossed !== undefined) snapshot.metric.crossed = crossed;
  }
  if (aws?.alarm !== undefined) snapshot.alarmFlips = aws.alarm.flipsLast24h;
  if (input.alertsCleared !== undefined) snapshot.alertsCleared = input.alertsCleared;
  return snapshot;
}
