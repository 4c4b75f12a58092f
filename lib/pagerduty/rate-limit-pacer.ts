import type { RateLimit } from './types';

/**
 * Keeps one PagerDuty credential under its rate limit by reading the `ratelimit-*` headers every answer carries.
 *
 * PagerDuty counts requests per key (960/min by default) and every execution environment using the key sees the
 * same counter in `ratelimit-remaining`. Waiting for the window to reset when the counter is nearly spent is far
 * cheaper than a 429: a 429'd event goes back to the queue, spends one of its SQS receives, and in a storm of
 * incidents most events would reach the dead-letter queue before the agent got a turn. One pacer per credential and
 * execution environment; it holds back a small reserve so several environments sharing the key rarely overshoot.
 */
export interface RateLimitPacerOptions {
  /** Fraction of the limit left unused as a reserve for concurrent environments (default 2%, at least 2 requests). */
  reserveFraction?: number;
  now?: () => number;
}

export class RateLimitPacer {
  private remaining: number | null = null;
  private limit: number | null = null;
  private resetAt = 0;
  private readonly reserveFraction: number;
  private readonly now: () => number;

  constructor(options: RateLimitPacerOptions = {}) {
    this.reserveFraction = options.reserveFraction ?? 0.02;
    this.now = options.now ?? Date.now;
  }

  /** Records what PagerDuty said about the window; an answer without the headers changes nothing. */
  observe(rateLimit: RateLimit): void {
    if (rateLimit.remaining === null || rateLimit.resetSeconds === null) return;
    this.remaining = rateLimit.remaining;
    this.limit = rateLimit.limit ?? this.limit;
    this.resetAt = this.now() + rateLimit.resetSeconds * 1000;
  }

  /**
   * Milliseconds to wait before the next request may start (0: go now, and the request is counted). A caller that
   * cannot wait that long leaves the request for a later delivery.
   */
  nextRequestDelayMs(): number {
    const now = this.now();
    if (this.remaining === null || now >= this.resetAt) {
      // A new window, or nothing known yet: go, and learn the counter from the answer.
      this.remaining = null;
      return 0;
    }
    if (this.remaining > this.reserve()) {
      this.remaining -= 1;
      return 0;
    }
    return this.resetAt - now;
  }

  private reserve(): number {
    return Math.max(2, Math.ceil((this.limit ?? 0) * this.reserveFraction));
  }
}
