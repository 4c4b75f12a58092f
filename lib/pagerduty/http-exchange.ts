import { PagerDutyApiError, PagerDutyNetworkError, PagerDutyRequestAbortedError } from './errors';
import type { RateLimit } from './types';

/** One HTTP answer from PagerDuty, read whole; shared by the REST and Events API clients. */
export interface RawAnswer {
  status: number;
  ok: boolean;
  text: string;
  requestId: string | null;
  rateLimit: RateLimit;
}

const numberHeader = (headers: Headers, name: string): number | null => {
  const value = headers.get(name);
  if (value === null || value.trim() === '') return null;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : null;
};

export function readRateLimit(headers: Headers): RateLimit {
  return {
    limit: numberHeader(headers, 'ratelimit-limit'),
    remaining: numberHeader(headers, 'ratelimit-remaining'),
    resetSeconds: numberHeader(headers, 'ratelimit-reset'),
  };
}

/**
 * Sends one request and reads its whole body, bounded by its own timeout and by the caller's `signal` (its overall
 * deadline), whichever comes first. A caller that already gave up sends nothing; one that gives up mid-request aborts
 * it (`PagerDutyRequestAbortedError`). No answer otherwise (timeout, refused or dropped connection, a body cut short)
 * becomes a `PagerDutyNetworkError`; the request's headers (and so any credential) never reach the error.
 */
export async function exchange(
  operation: string,
  doFetch: typeof fetch,
  url: string,
  init: RequestInit,
  timeoutMs: number,
  callerSignal?: AbortSignal,
): Promise<RawAnswer> {
  const callerGaveUp = (): boolean => callerSignal?.aborted === true;
  if (callerGaveUp()) throw new PagerDutyRequestAbortedError(operation, callerSignal?.reason);
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = callerSignal === undefined ? timeout : AbortSignal.any([timeout, callerSignal]);
  try {
    const response = await doFetch(url, { ...init, signal });
    const text = await response.text();
    return {
      status: response.status,
      ok: response.ok,
      text,
      requestId: response.headers.get('x-request-id'),
      rateLimit: readRateLimit(response.headers),
    };
  } catch (error) {
    if (callerGaveUp() && !timeout.aborted) throw new PagerDutyRequestAbortedError(operation, callerSignal?.reason);
    // DOMException (the abort reason) is not an `Error` of every realm: look at its name only.
    const name = (error as { name?: unknown } | null)?.name;
    const timedOut = name === 'TimeoutError' || name === 'AbortError';
    throw new PagerDutyNetworkError(operation, timedOut ? 'timeout' : 'connection', error);
  }
}

interface ErrorBody {
  code: number | null;
  message: string;
  details: string[];
}

/**
 * REST errors are `{"error":{"message","code","errors":[]}}`; the Events API answers `{"status","message","errors"}`.
 * Anything else (a proxy's HTML page, an empty 429) keeps the HTTP status as its message.
 */
export function parseErrorBody(status: number, text: string): ErrorBody {
  try {
    const body = JSON.parse(text) as { error?: unknown; message?: unknown; errors?: unknown };
    const inner = (typeof body.error === 'object' && body.error !== null ? body.error : body) as {
      message?: unknown;
      code?: unknown;
      errors?: unknown;
    };
    if (typeof inner.message === 'string') {
      return {
        code: typeof inner.code === 'number' ? inner.code : null,
        message: inner.message,
        details: Array.isArray(inner.errors) ? inner.errors.filter((item): item is string => typeof item === 'string') : [],
      };
    }
  } catch {
    // not JSON: described by status below
  }
  return { code: null, message: `HTTP ${status} without a PagerDuty error body`, details: [] };
}

export function apiError(operation: string, answer: RawAnswer): PagerDutyApiError {
  const body = parseErrorBody(answer.status, answer.text);
  return new PagerDutyApiError(operation, answer.status, body.code, body.message, body.details, answer.requestId, answer.rateLimit);
}

/** A 2xx whose body is not the JSON PagerDuty documents: kept as an API error so the caller's policy can decide. */
export function parseJsonAnswer<T>(operation: string, answer: RawAnswer): T {
  try {
    return JSON.parse(answer.text) as T;
  } catch {
    throw new PagerDutyApiError(
      operation,
      answer.status,
      null,
      'the answer is not JSON; check that the API URL points at PagerDuty (PAGERDUTY_API_URL)',
      [],
      answer.requestId,
      answer.rateLimit,
    );
  }
}
