import { createHash } from 'node:crypto';
import type { MetricAlarm } from '@aws-sdk/client-cloudwatch';
import type { ChangeRecord, NormalisedAlert } from '../evidence';
import type { NeedsCheck } from '../provider';
import type { AwsReadClients } from './clients';
import type { AwsScope } from './mapping';
import { isPrefixEntry } from './trust';

/**
 * A CloudWatch alarm as its definition in the read account and region describes it (lib/context/aws/alarm-definition.ts),
 * checked against what the alert claimed: the AWS providers read only what this names.
 */
export interface VerifiedAlarm {
  name: string;
  arn: string;
  region: string;
  accountId: string;
  kind: 'metric' | 'composite';
  /** The metric alarm whose metric is read: the alarm itself, or the composite's first child in ALARM. */
  metricAlarm?: MetricAlarm;
  composite?: { rule: string; childrenInAlarm: string[] };
}

/** What every AWS provider reads from: the normalised alert, where to read, the clients and the trigger time. */
export interface AwsProviderInput {
  /**
   * The alert as the providers may use it: a CloudWatch alarm's metric, dimensions and resource are those of its
   * verified definition (`alarm`); before verification (the definition provider) it is the alert as claimed.
   */
  alert?: NormalisedAlert;
  /** The alarm's verified definition; the alarm, metric, change and log providers read nothing alarm-derived without it. */
  alarm?: VerifiedAlarm;
  scope: AwsScope;
  clients: AwsReadClients;
  triggeredAt: Date;
  now: Date;
  /** Shares one resource name's CloudTrail lookup between the incidents of a burst; without it each incident looks up its own. */
  shareLookup?: ShareChangeLookup;
}

/** The write events CloudTrail holds on one resource name over `[start, end]`, as one lookup read them. */
export interface ChangeLookup {
  start: string;
  end: string;
  /** CloudTrail's event id with the change it describes (its `onAlarmedResource` is the reader's). */
  changes: { id: string; change: ChangeRecord }[];
}

export interface LookupWindow {
  start: Date;
  end: Date;
}

/**
 * Answers the lookup of `key` over `window`: from a lookup another incident shared (when it covers the window), or by
 * `read` (over a window that may be wider than asked, so that it covers the incidents of the burst that come after).
 */
export type ShareChangeLookup = (
  key: string,
  window: LookupWindow,
  read: (window: LookupWindow) => Promise<ChangeLookup>,
) => Promise<ChangeLookup>;

/**
 * The key a CloudTrail lookup is shared under between the incidents of a burst: the credentials actually used (the
 * role and its external id, hashed so neither is stored in the key; `own` for the worker's role) and the region, never
 * an account an alert names.
 */
export function changeLookupKey(target: { region: string; roleArn?: string; externalId?: string }, resourceName: string): string {
  const credentials =
    target.roleArn === undefined
      ? 'own'
      : createHash('sha256')
          .update(`${target.roleArn}\n${target.externalId ?? ''}`)
          .digest('hex')
          .slice(0, 32);
  return `${credentials}|${target.region}|${resourceName}`;
}

export const awsInputHas: NeedsCheck<AwsProviderInput> = (input, need) => {
  if (need === 'alert') return input.alert !== undefined;
  // A `prefix*` resource only bounds what may be read; it names nothing to read.
  if (need === 'mapping') {
    return (
      input.scope.logGroups.length + input.scope.stacks.length + input.scope.resources.filter((entry) => !isPrefixEntry(entry)).length > 0
    );
  }
  return true;
};

/** A CloudWatch alarm's name, when the alert is one. */
export const alarmNameOf = (alert: NormalisedAlert | undefined): string | undefined =>
  alert?.monitor === 'cloudwatch' ? (alert.name ?? alert.alarmArn?.split(':alarm:')[1]) : undefined;

/** Resolves when `ms` passed, rejects with the signal's reason when it aborts first. */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
