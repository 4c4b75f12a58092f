import { seededRandom } from './prng';

/**
 * What to do to one request instead of (or on top of) answering it normally. Latency applies first; then a dropped
 * connection (`drop: 'before'` loses the request, `drop: 'after'` applies it and loses the answer) or an error answer.
 */
export interface Fault {
  latencyMs?: number;
  drop?: 'before' | 'after';
  /** Answer with this status and PagerDuty's error body instead of handling the request. */
  status?: number;
  errorCode?: number;
  message?: string;
  /** For 429s: the `ratelimit-reset` seconds to announce. */
  rateLimitResetSeconds?: number;
}

/** A route is `METHOD /path/{param}` as in the OpenAPI document (e.g. `PUT /incidents/{id}`), or `*` for all. */
export type RouteKey = string;

interface ProbabilityRule {
  route: RouteKey;
  probability: number;
  fault: Fault;
}

export class FaultInjector {
  private readonly scripts = new Map<RouteKey, Fault[]>();
  private probabilityRules: ProbabilityRule[] = [];
  private readonly random: () => number;

  constructor(seed: number) {
    this.random = seededRandom(seed);
  }

  /** The next `faults.length` calls of `route` get these faults, in order; later calls are answered normally. */
  script(route: RouteKey, faults: Fault[]): void {
    this.scripts.set(route, [...(this.scripts.get(route) ?? []), ...faults]);
  }

  /** Every call of `route` gets `fault` with this probability (seeded, so a run repeats). */
  probability(route: RouteKey, probability: number, fault: Fault): void {
    this.probabilityRules.push({ route, probability, fault });
  }

  clear(): void {
    this.scripts.clear();
    this.probabilityRules = [];
  }

  /** Scripted faults win over probabilistic ones; a specific route wins over `*`. */
  next(route: RouteKey): Fault | null {
    for (const key of [route, '*']) {
      const queue = this.scripts.get(key);
      if (queue !== undefined && queue.length > 0) return queue.shift() ?? null;
    }
    for (const rule of this.probabilityRules) {
      if ((rule.route === route || rule.route === '*') && this.random() < rule.probability) return rule.fault;
    }
    return null;
  }
}
