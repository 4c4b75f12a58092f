/**
 * The evidence contract between the context providers (which read PagerDuty and AWS) and triage (which weighs what they
 * found). Providers fill these shapes; analysers read them; the note renders them. Every string in here came from
 * outside the agent (a monitor, CloudTrail, a log line) and is rendered inert like any other outside text.
 */

/** The monitors whose alert payloads the agent understands; `generic` is any other custom details. */
export type MonitorKind = 'cloudwatch' | 'datadog' | 'prometheus' | 'grafana' | 'newrelic' | 'generic';

export type Comparison = '>' | '>=' | '<' | '<=' | 'outside-band' | 'other';

/** One detail of an alert, with how telling it is for the on-call (1 = the reason for the page, 0 = noise). */
export interface RankedDetail {
  key: string;
  value: string;
  score: number;
}

/** What a monitor said about the condition that paged, whatever the monitor. An alert may say little: all optional. */
export interface NormalisedAlert {
  monitor: MonitorKind;
  /** The alarm, monitor or rule name. */
  name?: string;
  /** The monitor's own state word (`ALARM`, `firing`, `Triggered`, …). */
  state?: string;
  metric?: {
    namespace?: string;
    name: string;
    statistic?: string;
    periodSeconds?: number;
    unit?: string;
    /** A metric-math or query expression, when the alarm is on one. */
    expression?: string;
  };
  threshold?: { comparison: Comparison; value: number };
  observed?: { value: number; at?: string };
  resource?: {
    arn?: string;
    /** CloudWatch dimensions, Prometheus labels, Datadog tags: name → value. */
    dimensions: Record<string, string>;
  };
  /** AWS region code (`eu-west-1`), when the alert says or its ARNs do. */
  region?: string;
  accountId?: string;
  /** For CloudWatch alarms: the alarm's ARN or name is what the AWS providers start from. */
  alarmArn?: string;
  triggeredAt?: string;
  /** The monitor's own link to the alert (console, dashboard), when it gave one. */
  sourceUrl?: string;
  /** Every detail the payload carried, most telling first. */
  details: RankedDetail[];
}

/** How a metric behaved around the trigger. */
export type MetricShapeKind = 'step' | 'spike' | 'climb' | 'drop' | 'steady' | 'noisy' | 'no-data';

export interface MetricBehaviour {
  metricLabel: string;
  shape: MetricShapeKind;
  /** When the series first crossed the alarm's threshold (ISO-8601), when known. */
  crossedAt?: string;
  /** Change per minute over the recent window (unit of the metric), for climbs and drops. */
  ratePerMinute?: number;
  /** For capacity metrics (percent used, free space): minutes until exhaustion at the current rate. */
  minutesToExhaustion?: number;
  /** Latest value and the baseline before the change. */
  latest?: number;
  baseline?: number;
  /** A step or drop at a change point: when the new level began (ISO-8601) and the levels either side. */
  levelChange?: { at: string; before: number; after: number };
  /** A spike that came back: its peak, and the first datapoint back near the level (ISO-8601 times). */
  excursion?: { peakAt: string; peak: number; backAt: string; backTo: number };
  unit?: string;
  /** A compact text sparkline of the window (▁▂▃▄▅▆▇█). */
  sparkline: string;
  consoleUrl: string;
}

export interface AlarmHistorySummary {
  alarmName: string;
  /** State changes into ALARM in the last 24 h. */
  alarmsLast24h: number;
  /** State changes of any kind in the last 24 h. */
  flipsLast24h: number;
  consoleUrl: string;
  /** A composite alarm: its rule as CloudWatch holds it, and the child alarms in ALARM (the metric read is the first's). */
  composite?: { rule: string; childrenInAlarm: string[] };
}

/** One change on or near the alarmed resource, from CloudTrail or PagerDuty's change events, merged into a timeline. */
export interface ChangeRecord {
  at: string;
  source: 'cloudtrail' | 'pagerduty';
  /** `lambda:UpdateFunctionCode`, `cloudformation:UpdateStack`, or the change event's source. */
  action: string;
  /** The principal (user, role session) or integration that made it. */
  who?: string;
  /** What it was made on: function name, stack, service, security group… */
  target?: string;
  summary: string;
  /** True when the change touched the alarmed resource itself (or its stack), not only something nearby. */
  onAlarmedResource: boolean;
  /** An account-wide write event elsewhere in the account and region (listed apart, never the likely cause). */
  accountWide?: boolean;
  /** The resource names the event itself touched (CloudTrail's resources and the names in its request), when known. */
  resources?: string[];
  link?: string;
}

/** Error lines that are new or surging in a log group just before the trigger. */
export interface LogSurge {
  logGroup: string;
  /** The normalised message (numbers, ids and times masked) that identifies the line's kind. */
  signature: string;
  /** One real example line, trimmed. */
  example: string;
  countRecent: number;
  countBefore: number;
  /** Never seen in the baseline window. */
  isNew: boolean;
  firstSeenAt?: string;
  consoleUrl: string;
}

export type AwsContextSource = 'alarm' | 'metric' | 'changes' | 'logs';

/** What the AWS providers found; every source may be missing with the reason (permission, throttle, timeout, nothing to read). */
export interface AwsContext {
  region: string;
  accountId?: string;
  alarm?: AlarmHistorySummary;
  metric?: MetricBehaviour;
  changes: ChangeRecord[];
  /**
   * The last hour's write events elsewhere in the account and region that a responder would want to see (security
   * groups, IAM, network, scaling, parameters, configuration): listed apart, never weighed as the likely cause.
   */
  accountChanges?: ChangeRecord[];
  logSurges: LogSurge[];
  unavailable: { source: AwsContextSource; reason: string }[];
  /**
   * What the alert claimed that the agent did not follow (another region or account than the mapping's, a trigger
   * time far from the incident's, a log group outside the allowlist), one sentence each.
   */
  notFollowed?: string[];
}
