import type { FaultDice } from './dice';
import { invocationScope, type CrashLog } from './simulated-crash';

export interface CrashPointOptions<T> {
  crashes: CrashLog;
  dice: FaultDice;
  /** Probability of a crash right after each listed method succeeds, in a worker invocation. */
  rate: number;
  points: readonly (keyof T & string)[];
  /** A crash that always happens after this call (an incident the worker can never finish). */
  forced?: (method: string, args: unknown[]) => boolean;
}

/**
 * Wraps a dependency of the worker (the PagerDuty API, a ledger, the audit log) so that the invocation can be killed
 * right after one of its calls succeeded (between acknowledging and recording it, between posting a note and noting
 * its id, …), and so that a dead invocation makes no further call.
 */
export function withCrashPoints<T extends object>(name: string, target: T, options: CrashPointOptions<T>): T {
  const points = new Set<string>(options.points);
  return new Proxy(target, {
    get(object, property, receiver) {
      const value: unknown = Reflect.get(object, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      const method = value as (...args: unknown[]) => unknown;
      return async (...args: unknown[]) => {
        options.crashes.assertAlive();
        const result = await method.apply(object, args);
        options.crashes.assertAlive();
        const scope = invocationScope.getStore();
        if (scope?.invocation.role === 'worker') {
          const forced = options.forced?.(property, args) === true;
          if (forced || (points.has(property) && options.dice.roll(`crash|${name}.${property}`, scope.eventId ?? '', options.rate))) {
            options.crashes.kill(`after ${name}.${property}`);
          }
        }
        return result;
      };
    },
  });
}
