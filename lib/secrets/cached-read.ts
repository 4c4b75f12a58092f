export interface CachedReadOptions {
  /** How long a read is trusted before the next call re-reads it, counted from when the read began. */
  maxAgeMs: number;
  /** Shortest time between two reads asked for by callers (`refresh`, `getReadSince`), so a forged flood cannot hammer the source. */
  refreshIntervalMs: number;
  now: () => number;
}

/** A caller's re-read that the refresh interval does not allow yet. */
export const RATE_LIMITED = 'rate-limited';

/**
 * One value read from a remote source, cached for `maxAgeMs`, re-read early on request at most once per
 * `refreshIntervalMs`, and read once for concurrent callers. Created at module scope, it outlives invocations.
 *
 * A read's age counts from when it began, not when it finished: what it returns can be no newer than its start, so
 * "read since T" and "at most maxAgeMs old" both hold for what the source held at that moment.
 */
export class CachedRead<T> {
  private value: { data: T; startedAt: number } | undefined;
  private loading: { promise: Promise<T>; startedAt: number } | undefined;
  /** When a caller last forced a re-read; scheduled reads (cold start, expiry) do not count. */
  private lastRefreshAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly read: () => Promise<T>,
    private readonly options: CachedReadOptions,
  ) {}

  async get(refresh = false): Promise<T> {
    const now = this.options.now();
    const cached = this.value;
    const expired = cached === undefined || now - cached.startedAt >= this.options.maxAgeMs;
    if (!expired && !(refresh && this.refreshAllowed(now))) return cached.data;
    if (!expired) this.lastRefreshAt = now;
    try {
      return await (this.loading?.promise ?? this.load());
    } catch (error) {
      // A failed early refresh keeps the still-valid read; an expired one must not be trusted any longer.
      if (!expired) return cached.data;
      throw error;
    }
  }

  /**
   * The value as returned by a read that began at or after `since` (same clock as `now`): the cached one, or the one
   * in flight, when it qualifies; otherwise a re-read, counted against the refresh interval, or RATE_LIMITED when the
   * interval does not allow one yet. A failed re-read throws: it proves nothing about what the source holds now.
   */
  async getReadSince(since: number): Promise<T | typeof RATE_LIMITED> {
    if (this.value !== undefined && this.value.startedAt >= since) return this.value.data;
    if (this.loading !== undefined && this.loading.startedAt >= since) return this.loading.promise;
    const now = this.options.now();
    if (!this.refreshAllowed(now)) return RATE_LIMITED;
    this.lastRefreshAt = now;
    return this.load();
  }

  private refreshAllowed(now: number): boolean {
    return now - this.lastRefreshAt >= this.options.refreshIntervalMs;
  }

  /** Starts a read; an older read still in flight cannot overwrite what a newer one returned. */
  private load(): Promise<T> {
    const startedAt = this.options.now();
    const promise = this.read()
      .then((data) => {
        if (this.value === undefined || this.value.startedAt <= startedAt) this.value = { data, startedAt };
        return data;
      })
      .finally(() => {
        if (this.loading?.promise === promise) this.loading = undefined;
      });
    this.loading = { promise, startedAt };
    return promise;
  }
}
