import type { PagerDutyApi } from '../../../lib/pagerduty/types';
import { invocationScope } from './simulated-crash';

/** One PagerDuty REST call the agent made, seen from outside the agent. */
export interface RecordedCall {
  invocationId: number | null;
  role: 'worker' | 'handback' | null;
  eventId: string | undefined;
  method: string;
  /** The call's arguments (JSON): two calls with the same key repeat the same request. */
  key: string;
  ok: boolean;
  status?: number;
}

/**
 * Records every PagerDuty call with the invocation and event it was made for. A call repeating an identical call that
 * failed for the same event, in any delivery, is a retry: this measures the retry budget independently of the ledger
 * that enforces it.
 */
export function recordCalls(api: PagerDutyApi, calls: RecordedCall[]): PagerDutyApi {
  return new Proxy(api, {
    get(object, property, receiver) {
      const value: unknown = Reflect.get(object, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      const method = value as (...args: unknown[]) => Promise<unknown>;
      return async (...args: unknown[]) => {
        const scope = invocationScope.getStore();
        const call: RecordedCall = {
          invocationId: scope?.invocation.id ?? null,
          role: scope?.invocation.role ?? null,
          eventId: scope?.eventId,
          method: property,
          key: JSON.stringify(args),
          ok: false,
        };
        calls.push(call);
        try {
          const result = await method.apply(object, args);
          call.ok = true;
          return result;
        } catch (error) {
          call.status = (error as { status?: number }).status;
          throw error;
        }
      };
    },
  });
}

/**
 * Retries per event, across deliveries: worker calls repeating an identical call (same method and arguments) that
 * failed before for the same event, in the same invocation or an earlier one.
 */
export function retriesPerEvent(calls: readonly RecordedCall[]): Map<string, number> {
  const failedBefore = new Set<string>();
  const retries = new Map<string, number>();
  for (const call of calls) {
    if (call.role !== 'worker' || call.eventId === undefined) continue;
    const id = `${call.eventId}|${call.method}|${call.key}`;
    if (failedBefore.has(id)) retries.set(call.eventId, (retries.get(call.eventId) ?? 0) + 1);
    if (!call.ok) failedBefore.add(id);
  }
  return retries;
}
