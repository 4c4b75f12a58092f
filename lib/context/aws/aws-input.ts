import type { NormalisedAlert } from '../evidence';
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
}

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
