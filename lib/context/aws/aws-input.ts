import type { ChangeRecord, NormalisedAlert } from '../evidence';
import type { NeedsCheck } from '../provider';
import type { AwsReadClients } from './clients';
import type { AwsScope } from './mapping';

/** What every AWS provider reads from: the normalised alert, where to read, the clients and the trigger time. */
export interface AwsProviderInput {
  alert?: NormalisedAlert;
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

export const awsInputHas: NeedsCheck<AwsProviderInput> = (input, need) => {
  if (need === 'alert') return input.alert !== undefined;
  if (need === 'mapping') return input.scope.logGroups.length + input.scope.stacks.length + input.scope.resources.length > 0;
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
