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

/** An empty fault lets a scripted call through untouched (e.g. `[{}, { drop: 'after' }]`: the second call loses its answer). */
export const NO_FAULT: Fault = {};

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

  /**
   * The next `faults.length` calls of `route` get these faults, in order; later calls are answered normally. With an
   * incident id, only that incident's calls of `route` (e.g. a read failing for one incident while others go on).
   */
  script(route: RouteKey, faults: Fault[], incidentId?: string): void {
    const key = incidentId === undefined ? route : `${route}#${incidentId}`;
    this.scripts.set(key, [...(this.scripts.get(key) ?? []), ...faults]);
  }

  /** Every call of `route` gets `fault` with this probability (seeded, so a run repeats). */
  probability(route: RouteKey, probability: number, fault: Fault): void {
    this.probabilityRules.push({ route, probability, fault });
  }

  clear(): void {
    this.scripts.clear();
    this.probabilityRules = [];
  }

  /** Scripted faults win over probabilistic ones; an incident's script over its route's, a specific route over `*`. */
  next(route: RouteKey, incidentId?: string): Fault | null {
    for (const key of [...(incidentId === undefined ? [] : [`${route}#${incidentId}`]), route, '*']) {
      const queue = this.scripts.get(key);
      if (queue !== undefined && queue.length > 0) return queue.shift() ?? null;
    }
    for (const rule of this.probabilityRules) {
      if ((rule.route === route || rule.route === '*') && this.random() < rule.probability) return rule.fault;
    }
    return null;
  }
}
