export interface CachedReadOptions {
  /** How long a read is trusted before the next call re-reads it. */
  maxAgeMs: number;
  /** Shortest time between two reads asked for with `refresh`, so a forged flood cannot hammer the source. */
  refreshIntervalMs: number;
  now: () => number;
}

/**
 * One value read from a remote source, cached for `maxAgeMs`, re-read early on request at most once per
 * `refreshIntervalMs`, and read once for concurrent callers. Created at module scope, it outlives invocations.
 */
export class CachedRead<T> {
  private value: { data: T; loadedAt: number } | undefined;
  private loading: Promise<T> | undefined;
  /** When a caller last forced a re-read; scheduled reads (cold start, expiry) do not count. */
  private lastRefreshAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly read: () => Promise<T>,
    private readonly options: CachedReadOptions,
  ) {}

  async get(refresh = false): Promise<T> {
    const now = this.options.now();
    const cached = this.value;
    const expired = cached === undefined || now - cached.loadedAt >= this.options.maxAgeMs;
    const refreshAllowed = refresh && now - this.lastRefreshAt >= this.options.refreshIntervalMs;
    if (!expired && !refreshAllowed) return cached.data;
    if (!expired) this.lastRefreshAt = now;
    try {
      return await this.load();
    } catch (error) {
      // A failed early refresh keeps the still-valid read; an expired one must not be trusted any longer.
      if (!expired) return cached.data;
      throw error;
    }
  }

  private load(): Promise<T> {
    if (this.loading !== undefined) return this.loading;
    this.loading = this.read()
      .then((data) => {
        this.value = { data, loadedAt: this.options.now() };
        return data;
      })
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }
}
