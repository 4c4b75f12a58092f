import { PagerDutyApiError, PagerDutyNetworkError, isPagerDutyError } from '../pagerduty/errors';
import type { RateLimitPacer } from '../pagerduty/rate-limit-pacer';
import type { PagerDutyResponse } from '../pagerduty/types';
import { messageOf } from '../errors/message-of';
import { MAX_OPTIONAL_READ_RETRIES, type RetryCharge, type RetryGrant, type WorkLedger } from '../state/work-ledger';

/**
 * How the agent repeats PagerDuty calls (docs/how-it-works.md "Retries and budget"):
 * - idempotent calls (reads, acknowledge, escalate, resolve): up to 3 retries, exponential backoff with full jitter;
 * - creating a note: 1 retry, and only after the caller's dedup check said the first attempt did not land; never
 *   after an attempt whose answer was lost, since PagerDuty's list can lag behind a create: that stops the call as an
 *   unknown outcome, and a later delivery runs the dedup check once the list has settled;
 * - every retry takes one unit of the per-webhook budget (STATE_TABLE, at most 5 across redeliveries) and one of its
 *   operation's own cap (3, or 1 for a note), counted across redeliveries too; optional context reads
 *   (`optionalRead`) may take at most 2 of the 5 between them, and once they have, a failing read is given up (the
 *   note says what is missing) while the acknowledgement, the note and the escalation keep the rest; the first
 *   attempt of a call that failed in an earlier delivery is a retry too, so an idempotent call is attempted at most
 *   1 + 3 times per webhook however many times the event is delivered;
 * - a call whose answer was lost (timeout, dropped connection) may have been applied: `outcomeUnknown` says so until
 *   a later attempt of it succeeds, so that the caller never takes "no answer" for "not done";
 * - a 429 is never slept on: it surfaces as ThrottledError so the message goes back to the queue for
 *   `ratelimit-reset` seconds;
 * - before each attempt the credential's pacer may ask to wait for PagerDuty's rate-limit window to reset: the wait
 *   happens when it fits in the Lambda's remaining time, otherwise the event goes back to the queue the same way;
 * - no attempt starts when the Lambda's remaining time is short.
 */
export interface RetryBudget {
  /** Takes one retry from the budget (and from the charge's caps, where the budget keeps them), or says which cap refused. */
  tryConsume(charge: RetryCharge): Promise<RetryGrant>;
  /** Remembers for later deliveries that `operation` failed, so that its next attempt, whenever it comes, is a retry. */
  recordFailedCall?(operation: string): Promise<void>;
}

export interface RetrySettings {
  idempotentRetries: number;
  noteRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** No attempt (and no sleep) starts with less than this much Lambda time left. */
  minRemainingMs: number;
  /** Seconds to wait on a 429 that carried no `ratelimit-reset` header. */
  defaultThrottleSeconds: number;
}

export const DEFAULT_RETRY_SETTINGS: RetrySettings = {
  idempotentRetries: 3,
  noteRetries: 1,
  baseDelayMs: 200,
  maxDelayMs: 2000,
  minRemainingMs: 8000,
  defaultThrottleSeconds: 60,
};

export interface RetryDeps {
  budget: RetryBudget;
  remainingTimeMs: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** In [0, 1). */
  random?: () => number;
  settings?: Partial<RetrySettings>;
  /** Keeps the credential under PagerDuty's rate limit; shared by every call made with that credential. */
  pacer?: RateLimitPacer;
  /** Called once per retry taken (for the RetriesUsed metric). */
  onRetry?: (operation: string, error: unknown) => void;
  /** Operations that failed in earlier deliveries of the same webhook: their first attempt here takes a retry. */
  failedCalls?: Iterable<string>;
}

/** A call that ended without success, with how many attempts it took (the audit records them). */
export abstract class RetryStopError extends Error {
  abstract readonly kind: 'throttled' | 'budget-exhausted' | 'out-of-time' | 'failed';
  constructor(
    message: string,
    readonly operation: string,
    readonly attempts: number,
    cause: unknown,
  ) {
    super(message, { cause });
  }

  get httpStatus(): number | undefined {
    return this.cause instanceof PagerDutyApiError ? this.cause.status : undefined;
  }

  get requestId(): string | undefined {
    return this.cause instanceof PagerDutyApiError ? (this.cause.requestId ?? undefined) : undefined;
  }
}

/** The rate-limit window is spent and the Lambda cannot wait for it to reset. */
export class RateLimitWindowSpentError extends Error {
  override readonly name = 'RateLimitWindowSpentError';
  constructor(readonly waitMs: number) {
    super(`PagerDuty's rate limit for this key is nearly spent for the next ${Math.ceil(waitMs / 1000)} s`);
  }
}

/**
 * PagerDuty answered 429, or its rate-limit window is spent for longer than the Lambda can wait: the message goes
 * back to the queue for `retryAfterSeconds`.
 */
export class ThrottledError extends RetryStopError {
  override readonly name = 'ThrottledError';
  readonly kind = 'throttled' as const;
  constructor(
    operation: string,
    attempts: number,
    readonly retryAfterSeconds: number,
    cause: PagerDutyApiError | RateLimitWindowSpentError,
  ) {
    super(
      `${cause instanceof PagerDutyApiError ? `PagerDuty rate-limited ${operation} (429)` : `${cause.message}, so ${operation} waits`}; ` +
        `the event goes back to the queue for ${retryAfterSeconds} s. ` +
        "If this is frequent, lower the worker's maximum concurrency or use a separate API key per environment.",
      operation,
      attempts,
      cause,
    );
  }
}

export class RetryBudgetExhaustedError extends RetryStopError {
  override readonly name = 'RetryBudgetExhaustedError';
  readonly kind = 'budget-exhausted' as const;
  /** The webhook's 5 retries are spent, or this operation's own (3, or 1 for a note), across deliveries. */
  readonly spent: 'event' | 'operation';
  constructor(operation: string, attempts: number, cause: unknown, spent: 'event' | 'operation' = 'event') {
    super(
      `${operation} failed${attempts === 0 ? ' in an earlier delivery' : ''} and ` +
        `${spent === 'event' ? "the event's retry budget is spent" : `its own retries for this webhook are spent`}` +
        `${cause === undefined ? '' : `: ${messageOf(cause)}`}. ` +
        'The agent stops: it hands back an incident it acknowledged; one it did not stays on PagerDuty’s own escalation timer.',
      operation,
      attempts,
      cause,
    );
    this.spent = spent;
  }
}

export class OutOfTimeError extends RetryStopError {
  override readonly name = 'OutOfTimeError';
  readonly kind = 'out-of-time' as const;
  constructor(operation: string, attempts: number, remainingMs: number, cause: unknown) {
    super(
      `Not starting ${operation}: only ${remainingMs} ms of Lambda time left` +
        `${cause === undefined ? '' : ` (last error: ${messageOf(cause)})`}. ` +
        'The agent hands the incident back; raise the worker timeout if this repeats.',
      operation,
      attempts,
      cause,
    );
  }
}

/** The call failed for good: a non-retryable answer, or the operation's own retries are used up. */
export class OperationFailedError extends RetryStopError {
  override readonly name = 'OperationFailedError';
  readonly kind = 'failed' as const;
  constructor(
    operation: string,
    attempts: number,
    readonly retryable: boolean,
    cause: unknown,
  ) {
    super(
      `${operation} failed after ${attempts} attempt(s): ${messageOf(cause)}` +
        (retryable ? ". A later delivery may retry it within the event's budget." : '. Repeating the same request would not help.'),
      operation,
      attempts,
      cause,
    );
  }
}

/**
 * A create whose answer was lost (timeout, dropped connection): PagerDuty may have applied it, and its list may not
 * show it yet, so neither "not found" nor a second post is safe in this delivery. The event is delivered again.
 */
export class OutcomeUnknownError extends RetryStopError {
  override readonly name = 'OutcomeUnknownError';
  // 'failed' sends the event back for a later delivery, whose dedup check decides once PagerDuty's list has settled.
  readonly kind = 'failed' as const;
  constructor(operation: string, attempts: number, cause: unknown) {
    super(
      `${operation} got no answer after ${attempts} attempt(s) (${messageOf(cause)}): PagerDuty may have applied it, so it is ` +
        'not repeated now. The event is delivered again, and that delivery looks for it before trying again.',
      operation,
      attempts,
      cause,
    );
  }
}

export interface Attempted<T> {
  response: PagerDutyResponse<T>;
  attempts: number;
}

const isRetryable = (error: unknown): boolean => isPagerDutyError(error) && error.retryable;

/** No answer came back (timeout, dropped connection): the request may have been applied. An error answer is definite. */
/**
 * No answer from PagerDuty itself: a timeout, a dropped connection, or a gateway in front of it that gave up waiting
 * (502, 504) after passing the request on. The call may have been applied.
 */
export const answerLost = (error: unknown): boolean =>
  error instanceof PagerDutyNetworkError || (error instanceof PagerDutyApiError && (error.status === 502 || error.status === 504));

export class RetryPolicy {
  private readonly settings: RetrySettings;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  /** Operations of this webhook that failed at least once, in this delivery or an earlier one. */
  private readonly failed: Set<string>;
  /** Operations whose last attempt lost its answer and none succeeded since: they may have been applied. */
  private readonly unknownOutcome = new Set<string>();

  constructor(private readonly deps: RetryDeps) {
    this.settings = { ...DEFAULT_RETRY_SETTINGS, ...deps.settings };
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = deps.random ?? Math.random;
    this.failed = new Set(deps.failedCalls ?? []);
  }

  /** How long the caller can still spend, waiting or reading, before no call may start (remaining time above the floor). */
  spareTimeMs(): number {
    return this.deps.remainingTimeMs() - this.settings.minRemainingMs;
  }

  /** True when an attempt of `operation` got no answer and no later attempt succeeded: PagerDuty may have applied it. */
  outcomeUnknown(operation: string): boolean {
    return this.unknownOutcome.has(operation);
  }

  /** Reads, acknowledge, escalate, resolve: repeating them gives the same result. */
  idempotent<T>(operation: string, call: () => Promise<PagerDutyResponse<T>>): Promise<Attempted<T>> {
    return this.run(operation, call, this.settings.idempotentRetries, undefined, false);
  }

  /**
   * A context read triage can do without: retried like any read, but from the optional reads' share of the budget
   * (at most 2 of the 5). Once that is spent it fails with OperationFailedError (the source becomes unavailable)
   * instead of stopping the run.
   */
  optionalRead<T>(operation: string, call: () => Promise<PagerDutyResponse<T>>): Promise<Attempted<T>> {
    return this.run(operation, call, this.settings.idempotentRetries, undefined, true);
  }

  /**
   * Creating a note. `landed` is the dedup check run before the retry after an error answer: when it finds the note,
   * its answer is the result and nothing is posted again. After a lost answer there is no retry here: the list may not
   * show the note yet, so the call stops with OutcomeUnknownError.
   */
  createOnce<T>(
    operation: string,
    call: () => Promise<PagerDutyResponse<T>>,
    landed: () => Promise<PagerDutyResponse<T> | null>,
  ): Promise<Attempted<T>> {
    return this.run(operation, call, this.settings.noteRetries, landed, false);
  }

  /** The backoff before retry number `retry` (1-based): full jitter over an exponential ceiling. */
  delayFor(retry: number): number {
    const ceiling = Math.min(this.settings.maxDelayMs, this.settings.baseDelayMs * 2 ** (retry - 1));
    return Math.floor(this.random() * ceiling);
  }

  private async run<T>(
    operation: string,
    call: () => Promise<PagerDutyResponse<T>>,
    maxRetries: number,
    landed: (() => Promise<PagerDutyResponse<T> | null>) | undefined,
    optional: boolean,
  ): Promise<Attempted<T>> {
    const charge: RetryCharge = { operation, operationMax: maxRetries, optional };
    let attempts = 0;
    let lastError: unknown;
    // Repeating a call that failed before (an earlier delivery, or an earlier call in this one) is a retry from its first attempt.
    let repeatCharged = !this.failed.has(operation);
    for (;;) {
      const remaining = this.deps.remainingTimeMs();
      if (remaining < this.settings.minRemainingMs) throw new OutOfTimeError(operation, attempts, remaining, lastError);
      const wait = this.deps.pacer?.nextRequestDelayMs() ?? 0;
      if (wait > 0) {
        if (remaining - wait < this.settings.minRemainingMs) {
          throw new ThrottledError(operation, attempts, Math.ceil(wait / 1000), new RateLimitWindowSpentError(wait));
        }
        await this.sleep(wait);
        continue;
      }
      if (!repeatCharged) {
        await this.takeRetry(charge, attempts, lastError);
        repeatCharged = true;
      }
      attempts += 1;
      try {
        const response = await call();
        this.deps.pacer?.observe(response.rateLimit);
        this.unknownOutcome.delete(operation);
        return { response, attempts };
      } catch (error) {
        lastError = error;
        if (answerLost(error)) this.unknownOutcome.add(operation);
        await this.rememberFailure(operation);
        if (error instanceof PagerDutyApiError) this.deps.pacer?.observe(error.rateLimit);
        if (error instanceof PagerDutyApiError && error.throttled) {
          throw new ThrottledError(operation, attempts, error.rateLimit.resetSeconds ?? this.settings.defaultThrottleSeconds, error);
        }
        if (landed !== undefined && answerLost(error)) throw new OutcomeUnknownError(operation, attempts, error);
        if (!isRetryable(error)) throw new OperationFailedError(operation, attempts, false, error);
        if (attempts > maxRetries) throw new OperationFailedError(operation, attempts, true, error);
      }
      if (landed !== undefined) {
        const found = await landed();
        if (found !== null) return { response: found, attempts };
      }
      await this.takeRetry(charge, attempts, lastError);
      const delay = this.delayFor(attempts);
      const left = this.deps.remainingTimeMs();
      if (left - delay < this.settings.minRemainingMs) throw new OutOfTimeError(operation, attempts, left, lastError);
      await this.sleep(delay);
    }
  }

  private async takeRetry(charge: RetryCharge, attempts: number, lastError: unknown): Promise<void> {
    const { operation } = charge;
    const grant = await this.deps.budget.tryConsume(charge);
    if (grant === 'optional-spent') {
      const spent = new Error(
        `optional context reads may take at most ${MAX_OPTIONAL_READ_RETRIES} of this webhook's retries and have taken them` +
          `${lastError === undefined ? '' : ` (last error: ${messageOf(lastError)})`}`,
      );
      throw new OperationFailedError(operation, attempts, false, spent);
    }
    if (grant !== 'granted')
      throw new RetryBudgetExhaustedError(operation, attempts, lastError, grant === 'event-spent' ? 'event' : 'operation');
    this.deps.onRetry?.(operation, lastError);
  }

  private async rememberFailure(operation: string): Promise<void> {
    if (this.failed.has(operation)) return;
    this.failed.add(operation);
    await this.deps.budget.recordFailedCall?.(operation);
  }
}

/**
 * A budget kept in memory, for callers without a per-webhook record (the handback function): the total only, each
 * operation's own cap being the policy's per-call limit.
 */
export function localBudget(max: number): RetryBudget {
  let used = 0;
  return {
    tryConsume: () => {
      if (used >= max) return Promise.resolve('event-spent');
      used += 1;
      return Promise.resolve('granted');
    },
  };
}

/** The webhook's budget, kept on its STATE_TABLE item so that every cap holds across redeliveries. */
export function webhookBudget(ledger: Pick<WorkLedger, 'consumeRetry' | 'recordFailedCall'>, eventId: string): RetryBudget {
  return {
    tryConsume: (charge) => ledger.consumeRetry(eventId, charge),
    recordFailedCall: (operation) => ledger.recordFailedCall(eventId, operation),
  };
}
