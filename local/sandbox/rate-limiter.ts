/** The `ratelimit-*` figures of one answer, as PagerDuty sends them (reset in whole seconds). */
export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  resetSeconds: number;
}

export interface RateLimitOptions {
  /** Requests per window per credential; PagerDuty's REST default is 960 per minute. */
  limit: number;
  /** Window length; shorter than a minute lets benchmarks time-compress a throttled run. */
  windowMs: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = { limit: 960, windowMs: 60_000 };

/** Fixed windows per credential (API key or OAuth token), like PagerDuty's per-key limit. */
export class RateLimiter {
  private readonly windows = new Map<string, { startedAt: number; used: number }>();

  constructor(
    private readonly options: RateLimitOptions,
    private readonly now: () => number = Date.now,
  ) {}

  take(credential: string): RateLimitDecision {
    const now = this.now();
    let window = this.windows.get(credential);
    if (window === undefined || now - window.startedAt >= this.options.windowMs) {
      window = { startedAt: now, used: 0 };
      this.windows.set(credential, window);
    }
    const allowed = window.used < this.options.limit;
    if (allowed) window.used += 1;
    return {
      allowed,
      limit: this.options.limit,
      remaining: this.options.limit - window.used,
      resetSeconds: Math.max(1, Math.ceil((window.startedAt + this.options.windowMs - now) / 1000)),
    };
  }
}
