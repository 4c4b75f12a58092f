/**
 * One interface for every source of evidence (PagerDuty's own reads and AWS): a provider says what it needs, runs
 * under its own time and request budget, and never fails the run by accident: whatever goes wrong becomes an
 * "unavailable: why" entry a human understands. Only a provider's own `explainFailure` may declare an error fatal
 * (PagerDuty throttling, the event's retry budget or the Lambda's time running out stop the run, as before).
 */

/** The inputs a provider may depend on; the runner skips a provider whose needs are not met. */
export type ProviderNeed = 'incident' | 'alert' | 'mapping';

export interface ProviderBudget {
  /** The provider's deadline: its AbortSignal fires and its result is dropped after this many milliseconds. */
  timeMs: number;
  /** Requests the provider may make (pages included). */
  requests: number;
}

export interface ProviderRunOptions {
  signal: AbortSignal;
  requests: RequestBudget;
}

export interface ContextProvider<Input, Result> {
  name: string;
  needs: readonly ProviderNeed[];
  budget: ProviderBudget;
  run(input: Input, options: ProviderRunOptions): Promise<Result>;
  /** Why the source is missing, in words for the on-call; `null` when the error must stop the run. Default: `describeFailure`. */
  explainFailure?(error: unknown): string | null;
}

/** A reason the provider found itself (no permission, nothing to read, …), already in words for the on-call. */
export class SourceUnavailableError extends Error {
  override readonly name = 'SourceUnavailableError';
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
  }
}

export class ProviderTimeoutError extends Error {
  override readonly name = 'ProviderTimeoutError';
  constructor(
    readonly provider: string,
    readonly timeoutMs: number,
  ) {
    super(`${provider} took longer than its ${timeoutMs} ms budget; the note goes out without it.`);
  }
}

export class RequestBudgetSpentError extends Error {
  override readonly name = 'RequestBudgetSpentError';
  constructor(
    readonly operation: string,
    readonly limit: number,
  ) {
    super(`${operation} was not made: the ${limit}-request budget is spent.`);
  }
}

/** Counts a provider's requests; `take` refuses the one past the limit. */
export class RequestBudget {
  private used = 0;

  constructor(readonly limit: number) {}

  get remaining(): number {
    return this.limit - this.used;
  }

  take(operation: string): void {
    if (this.used >= this.limit) throw new RequestBudgetSpentError(operation, this.limit);
    this.used += 1;
  }
}

/** The default words for a failure: the provider's own reason, a timeout, a spent budget, or the error's message. */
export function describeFailure(error: unknown): string {
  if (error instanceof SourceUnavailableError) return error.reason;
  if (error instanceof ProviderTimeoutError) return `timed out after ${error.timeoutMs} ms`;
  if (error instanceof RequestBudgetSpentError) return `stopped: its ${error.limit}-request budget is spent`;
  return `failed: ${(error as Error)?.message ?? String(error)}`;
}

export interface ProviderRun<Results> {
  results: Partial<Results>;
  unavailable: { source: keyof Results & string; reason: string }[];
}

type ProviderSet<Input, Results> = { [Name in keyof Results]: ContextProvider<Input, Results[Name]> };

/** What the providers' needs are checked against: each need names an input field that must be present. */
export type NeedsCheck<Input> = (input: Input, need: ProviderNeed) => boolean;

async function runOne<Input, Result>(provider: ContextProvider<Input, Result>, input: Input): Promise<Result> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  // The race drops a provider that ignores its signal; the abort stops the requests of one that honours it.
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new ProviderTimeoutError(provider.name, provider.budget.timeMs);
      controller.abort(error);
      reject(error);
    }, provider.budget.timeMs);
  });
  try {
    return await Promise.race([
      provider.run(input, { signal: controller.signal, requests: new RequestBudget(provider.budget.requests) }),
      deadline,
    ]);
  } catch (error) {
    // An SDK call aborted by the deadline rejects with its own AbortError: the deadline is the reason.
    if (controller.signal.aborted) throw controller.signal.reason;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts every provider at once, each with its own deadline and request budget. A provider whose needs are not met
 * is skipped silently (it has nothing to read); any other failure becomes an `unavailable` entry, unless the
 * provider's `explainFailure` answers `null`, which rethrows the error.
 */
export async function runProviders<Input, Results extends object>(
  providers: ProviderSet<Input, Results>,
  input: Input,
  hasNeed: NeedsCheck<Input>,
): Promise<ProviderRun<Results>> {
  const names = Object.keys(providers) as (keyof Results & string)[];
  const run: ProviderRun<Results> = { results: {}, unavailable: [] };
  const settled = await Promise.allSettled(
    names.map(async (name) => {
      const provider = providers[name];
      if (!provider.needs.every((need) => hasNeed(input, need))) return;
      run.results[name] = await runOne(provider, input);
    }),
  );
  settled.forEach((outcome, index) => {
    if (outcome.status === 'fulfilled') return;
    const name = names[index];
    const provider = providers[name];
    const reason = provider.explainFailure === undefined ? describeFailure(outcome.reason) : provider.explainFailure(outcome.reason);
    if (reason === null) throw outcome.reason;
    run.unavailable.push({ source: name, reason });
  });
  return run;
}
