import type { RateLimit } from './types';
import { messageOf } from '../errors/message-of';

/** PagerDuty answered with a non-2xx status. Keeps PagerDuty's error code, message and request id for the audit. */
export class PagerDutyApiError extends Error {
  override readonly name = 'PagerDutyApiError';
  constructor(
    readonly operation: string,
    readonly status: number,
    readonly code: number | null,
    readonly pagerDutyMessage: string,
    readonly details: string[],
    readonly requestId: string | null,
    readonly rateLimit: RateLimit,
  ) {
    super(
      `PagerDuty ${operation} answered ${status}${code === null ? '' : ` (code ${code})`}: ${pagerDutyMessage}` +
        `${details.length > 0 ? ` [${details.join('; ')}]` : ''}${requestId === null ? '' : ` (request id ${requestId})`}`,
    );
  }

  /** 408, 429 and 5xx are worth another try; other 4xx are not (same arguments, same answer). */
  get retryable(): boolean {
    return this.status === 408 || this.status === 429 || this.status >= 500;
  }

  get throttled(): boolean {
    return this.status === 429;
  }

  /** 402/403/404 from a plan-gated read: the feature is unavailable, which degrades evidence but never a run. */
  get featureUnavailable(): boolean {
    return this.status === 402 || this.status === 403 || this.status === 404;
  }
}

/** No answer: timeout, refused or dropped connection, DNS. Always worth another try. */
export class PagerDutyNetworkError extends Error {
  override readonly name = 'PagerDutyNetworkError';
  readonly retryable = true;
  constructor(
    readonly operation: string,
    readonly reason: 'timeout' | 'connection',
    cause: unknown,
  ) {
    super(`PagerDuty ${operation} got no answer (${reason}): ${messageOf(cause)}. It will be retried.`, {
      cause,
    });
  }
}

/**
 * The caller's deadline passed (its `AbortSignal` aborted) before or during the request. Not retryable: the caller
 * has given up, so repeating the request would only spend rate limit in the background.
 */
export class PagerDutyRequestAbortedError extends Error {
  override readonly name = 'PagerDutyRequestAbortedError';
  readonly retryable = false;
  constructor(
    readonly operation: string,
    cause: unknown,
  ) {
    super(`PagerDuty ${operation} was abandoned: the caller's deadline passed, so no further request is sent.`, { cause });
  }
}

export type PagerDutyError = PagerDutyApiError | PagerDutyNetworkError;

export const isPagerDutyError = (error: unknown): error is PagerDutyError =>
  error instanceof PagerDutyApiError || error instanceof PagerDutyNetworkError;
