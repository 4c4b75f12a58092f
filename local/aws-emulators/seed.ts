import { readFileSync } from 'node:fs';
import * as z from 'zod';

/**
 * What the AWS context emulators can be seeded with, as one document: metric and composite alarms with their state
 * history (each in its region, `us-east-1` by default: DescribeAlarms answers for the region a request is signed for), metric series,
 * CloudTrail records, log groups with events, and roles that may be assumed. Tests pass it typed to `seed(...)`;
 * `npm start` and hand-written scenarios may keep it in a JSON file (`loadSeedFile`). Times are ISO-8601 or relative
 * to when the seed is applied (`now`, `now-6m`, `now+30s`, `now-3d+12m`, `now-44m+120ms`), so a file stays valid on any day.
 * Field names follow the AWS APIs where a reader would look them up there (`Dimensions: [{ Name, Value }]`).
 */

export const DEFAULT_ACCOUNT_ID = '123456789012';
export const DEFAULT_REGION = 'us-east-1';

const RELATIVE_TIME = /^now(?:[+-]\d+(?:\.\d+)?(?:ms|s|m|h|d))*$/;
const OFFSET = /([+-])(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

const seedTime = z.union([
  z.date(),
  z.string().refine((text) => RELATIVE_TIME.test(text) || !Number.isNaN(Date.parse(text)), {
    message: 'expected an ISO-8601 time or a time relative to now such as "now-6m" (units ms, s, m, h, d)',
  }),
]);
export type SeedTime = z.infer<typeof seedTime>;

/** Milliseconds since the epoch of a seed time, relative ones counted from `now`. */
export function resolveSeedTime(time: SeedTime, now: Date): number {
  if (time instanceof Date) return time.getTime();
  if (!RELATIVE_TIME.test(time)) return Date.parse(time);
  let at = now.getTime();
  for (const [, sign, amount, unit] of time.matchAll(OFFSET)) at += (sign === '-' ? -1 : 1) * Number(amount) * UNIT_MS[unit];
  return at;
}

const accountId = z.string().regex(/^\d{12}$/, 'an AWS account id is 12 digits');
const dimension = z.object({ Name: z.string().min(1), Value: z.string() });
const alarmState = z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']);

const stateChange = z.object({
  at: seedTime,
  from: alarmState,
  to: alarmState,
  reason: z.string(),
  /** The datapoints the alarm evaluated, for `stateReasonData.recentDatapoints`. */
  recentDatapoints: z.array(z.number()).optional(),
});

const metricAlarm = z.object({
  accountId: accountId.optional(),
  region: z.string().optional(),
  AlarmName: z.string().min(1),
  AlarmDescription: z.string().optional(),
  Namespace: z.string().optional(),
  MetricName: z.string().optional(),
  Dimensions: z.array(dimension).default([]),
  Statistic: z.enum(['SampleCount', 'Average', 'Sum', 'Minimum', 'Maximum']).optional(),
  ExtendedStatistic: z.string().optional(),
  /** Metric-math alarms: the alarm's MetricDataQuery list as DescribeAlarms returns it. */
  Metrics: z.array(z.record(z.string(), z.unknown())).optional(),
  Period: z.number().int().positive().optional(),
  Unit: z.string().optional(),
  EvaluationPeriods: z.number().int().positive(),
  DatapointsToAlarm: z.number().int().positive().optional(),
  Threshold: z.number(),
  ComparisonOperator: z.enum([
    'GreaterThanOrEqualToThreshold',
    'GreaterThanThreshold',
    'LessThanThreshold',
    'LessThanOrEqualToThreshold',
    'LessThanLowerOrGreaterThanUpperThreshold',
    'LessThanLowerThreshold',
    'GreaterThanUpperThreshold',
  ]),
  TreatMissingData: z.enum(['breaching', 'notBreaching', 'ignore', 'missing']).default('missing'),
  AlarmActions: z.array(z.string()).default([]),
  OKActions: z.array(z.string()).default([]),
  InsufficientDataActions: z.array(z.string()).default([]),
  configuredAt: seedTime.default('now-30d'),
  /** State changes, oldest first; the alarm's current state is the last one's `to` (OK without any). */
  history: z.array(stateChange).default([]),
});

/** A composite alarm: a rule over other alarms (`ALARM("a") OR ALARM("b")`); its state is seeded like a metric alarm's. */
const compositeAlarm = z.object({
  accountId: accountId.optional(),
  region: z.string().optional(),
  AlarmName: z.string().min(1),
  AlarmDescription: z.string().optional(),
  AlarmRule: z.string().min(1),
  AlarmActions: z.array(z.string()).default([]),
  OKActions: z.array(z.string()).default([]),
  InsufficientDataActions: z.array(z.string()).default([]),
  configuredAt: seedTime.default('now-30d'),
  history: z.array(stateChange).default([]),
});

const metricSeries = z.object({
  accountId: accountId.optional(),
  Namespace: z.string().min(1),
  MetricName: z.string().min(1),
  Dimensions: z.array(dimension).default([]),
  Unit: z.string().optional(),
  /** Raw datapoints; GetMetricData aggregates them into periods with the query's statistic. */
  points: z.array(z.object({ at: seedTime, value: z.number() })),
});

const cloudTrailEvent = z.object({
  accountId: accountId.optional(),
  /** The CloudTrail record exactly as CloudTrail stores it (`eventTime`, `eventName`, `eventSource`, `userIdentity`, …). */
  record: z.looseObject({ eventName: z.string(), eventSource: z.string(), eventTime: z.string().optional() }),
  /** When the record happened; overrides `record.eventTime` (which it rewrites), so templates can be moved in time. */
  at: seedTime.optional(),
  /** LookupEvents' `Resources`; derived from the record when omitted. */
  resources: z.array(z.object({ ResourceType: z.string(), ResourceName: z.string() })).optional(),
});

const logGroup = z.object({
  accountId: accountId.optional(),
  name: z.string().min(1),
  streams: z.array(
    z.object({
      name: z.string().min(1),
      events: z.array(z.object({ at: seedTime, message: z.string() })).default([]),
    }),
  ),
});

const assumableRole = z.object({
  RoleArn: z.string().regex(/^arn:aws[\w-]*:iam::\d{12}:role\/.+$/, 'expected arn:aws:iam::<account>:role/<name>'),
  /** When set, AssumeRole must pass this ExternalId (the confused-deputy guard of cross-account roles). */
  ExternalId: z.string().optional(),
});

export const awsSeedSchema = z.object({
  alarms: z.array(metricAlarm).default([]),
  compositeAlarms: z.array(compositeAlarm).default([]),
  metrics: z.array(metricSeries).default([]),
  cloudTrailEvents: z.array(cloudTrailEvent).default([]),
  logGroups: z.array(logGroup).default([]),
  assumableRoles: z.array(assumableRole).default([]),
});

/** A seed as written by hand or in a file: defaults may be left out. */
export type AwsSeed = z.input<typeof awsSeedSchema>;
/** A seed after validation, defaults filled in. */
export type ParsedAwsSeed = z.output<typeof awsSeedSchema>;
export type SeedMetricAlarm = z.output<typeof metricAlarm>;
export type SeedCompositeAlarm = z.output<typeof compositeAlarm>;
export type SeedMetricSeries = z.output<typeof metricSeries>;
export type SeedCloudTrailEvent = z.output<typeof cloudTrailEvent>;
export type SeedLogGroup = z.output<typeof logGroup>;
export type SeedAssumableRole = z.output<typeof assumableRole>;
export type MetricDimension = z.output<typeof dimension>;
export type AlarmState = z.output<typeof alarmState>;

export class AwsSeedError extends Error {
  override readonly name = 'AwsSeedError';
  constructor(source: string, problem: string) {
    super(`The AWS emulator seed from ${source} is not valid: ${problem}. Fix the seed (see local/aws-emulators/seed.ts for its shape).`);
  }
}

export function parseSeed(value: unknown, source: string): ParsedAwsSeed {
  const result = awsSeedSchema.safeParse(value);
  if (!result.success) throw new AwsSeedError(source, z.prettifyError(result.error).replace(/\n\s*/g, ' '));
  return result.data;
}

/** Reads and validates a JSON seed file. */
export function loadSeedFile(path: string): ParsedAwsSeed {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new AwsSeedError(path, `it could not be read as JSON (${(error as Error).message})`);
  }
  return parseSeed(json, path);
}
