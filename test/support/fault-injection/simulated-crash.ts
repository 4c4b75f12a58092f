import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * A Lambda invocation being killed (out of memory, timeout, host failure) at a chosen point. Once an invocation is
 * dead, every call it makes through a fault-injected dependency throws, so it can neither clean up (release its claim,
 * complete an audit intent) nor reach PagerDuty again: exactly what a killed process leaves behind. Its messages come
 * back after the visibility timeout.
 */
export class SimulatedCrash extends Error {
  override readonly name = 'SimulatedCrash';
  constructor(readonly point: string) {
    super(`Simulated crash ${point}: the invocation is dead and SQS redelivers its messages after the visibility timeout.`);
  }
}

export interface Invocation {
  id: number;
  role: 'worker' | 'handback';
  /** Why it died; null while alive. */
  deadBecause: string | null;
  /** The event being handled (records of a batch are handled one after another). */
  currentEventId?: string;
}

/** What the code running right now belongs to: an invocation, and the event being handled in it. */
export interface InvocationScope {
  invocation: Invocation;
  eventId?: string;
}

export const invocationScope = new AsyncLocalStorage<InvocationScope>();

export interface CrashRecord {
  invocationId: number;
  eventId: string | undefined;
  point: string;
}

/** Every kill of this run, for the verdict (an unfinished audit intent must be explained by one). */
export class CrashLog {
  readonly crashes: CrashRecord[] = [];

  /** Kills the current invocation at `point` and throws. */
  kill(point: string): never {
    const scope = invocationScope.getStore();
    if (scope !== undefined) {
      if (scope.invocation.deadBecause === null) scope.invocation.deadBecause = point;
      this.crashes.push({ invocationId: scope.invocation.id, eventId: scope.eventId, point });
    }
    throw new SimulatedCrash(point);
  }

  /** Kills an invocation from outside it (its timeout); it throws at its next call. */
  killFromOutside(invocation: Invocation, point: string): void {
    if (invocation.deadBecause !== null) return;
    invocation.deadBecause = point;
    this.crashes.push({ invocationId: invocation.id, eventId: invocation.currentEventId, point });
  }

  /** Throws when the current invocation is dead: a killed process makes no further call. */
  assertAlive(): void {
    const dead = invocationScope.getStore()?.invocation.deadBecause;
    if (dead !== undefined && dead !== null) throw new SimulatedCrash(`(already dead: ${dead})`);
  }

  crashedEvents(): Set<string> {
    return new Set(this.crashes.map((crash) => crash.eventId).filter((id): id is string => id !== undefined));
  }
}
