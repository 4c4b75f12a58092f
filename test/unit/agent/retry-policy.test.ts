import {
  OperationFailedError,
  OutOfTimeError,
  OutcomeUnknownError,
  RateLimitWindowSpentError,
  RetryBudgetExhaustedError,
  RetryPolicy,
  ThrottledError,
  localBudget,
  webhookBudget,
} from '../../../lib/agent/retry-policy';
import { RateLimitPacer } from '../../../lib/pagerduty/rate-limit-pacer';
import { PagerDutyApiError, PagerDutyNetworkError } from '../../../lib/pagerduty/errors';
import type { PagerDutyResponse } from '../../../lib/pagerduty/types';
import { MemoryWorkLedger } from '../../support/fake-agent-state';

const rateLimit = { limit: 960, remaining: 0, resetSeconds: 12 };
const ok = <T>(value: T): PagerDutyResponse<T> => ({ value, status: 200, requestId: 'r', rateLimit, durationMs: 1 });
const apiError = (status: number, resetSeconds: number | null = 12) =>
  new PagerDutyApiError('op', status, null, `answer ${status}`, [], 'req-1', { ...rateLimit, resetSeconds });

function scripted<T>(...steps: (Error | T)[]): jest.Mock<Promise<PagerDutyResponse<T>>> {
  return jest.fn(async () => {
    const step = steps.shift();
    if (step instanceof Error) throw step;
    return ok(step as T);
  });
}

function policy(options: { budget?: number; remaining?: () => number } = {}) {
  const sleeps: number[] = [];
  const retry = new RetryPolicy({
    budget: localBudget(options.budget ?? 5),
    remainingTimeMs: options.remaining ?? (() => 60_000),
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 0.5,
  });
  return { retry, sleeps };
}

describe('RetryPolicy', () => {
  it('retries idempotent calls up to 3 times with exponential full-jitter backoff', async () => {
    const { retry, sleeps } = policy();
    const call = scripted<string>(apiError(500), apiError(502), new PagerDutyNetworkError('op', 'timeout', new Error('t')), 'done');
    await expect(retry.idempotent('read', call)).resolves.toMatchObject({ attempts: 4, response: { value: 'done' } });
    expect(sleeps).toEqual([100, 200, 400]);
  });

  it('stops after the third retry', async () => {
    const { retry } = policy();
    const call = scripted<string>(apiError(500), apiError(500), apiError(500), apiError(500), 'never');
    const error = await retry.idempotent('read', call).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OperationFailedError);
    expect(error).toMatchObject({ attempts: 4, retryable: true, httpStatus: 500 });
    expect(call).toHaveBeenCalledTimes(4);
  });

  it('does not retry a 4xx', async () => {
    const { retry } = policy();
    const call = scripted<string>(apiError(400), 'never');
    await expect(retry.idempotent('ack', call)).rejects.toMatchObject({ retryable: false, attempts: 1 });
    expect(call).toHaveBeenCalledTimes(1);
  });

  it('never sleeps on a 429: it surfaces ratelimit-reset', async () => {
    const { retry, sleeps } = policy();
    const error = await retry.idempotent('ack', scripted<string>(apiError(429, 33))).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ThrottledError);
    expect((error as ThrottledError).retryAfterSeconds).toBe(33);
    expect(sleeps).toEqual([]);
    const noHeader = await retry.idempotent('ack', scripted<string>(apiError(429, null))).catch((caught: unknown) => caught);
    expect((noHeader as ThrottledError).retryAfterSeconds).toBe(60);
  });

  it('stops when the budget is spent', async () => {
    const { retry } = policy({ budget: 1 });
    const error = await retry
      .idempotent('read', scripted<string>(apiError(503), apiError(503), 'never'))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RetryBudgetExhaustedError);
    expect(error).toMatchObject({ attempts: 2 });
  });

  it('starts nothing when the Lambda has little time left', async () => {
    const { retry } = policy({ remaining: () => 3_000 });
    const call = scripted<string>('never');
    await expect(retry.idempotent('read', call)).rejects.toBeInstanceOf(OutOfTimeError);
    expect(call).not.toHaveBeenCalled();
  });

  it('creates a note with one retry, only after the dedup check', async () => {
    const { retry } = policy();
    const landed = jest.fn(async () => null);
    const call = scripted<string>(apiError(503), apiError(503), 'never');
    await expect(retry.createOnce('note', call, landed)).rejects.toMatchObject({ attempts: 2 });
    expect(call).toHaveBeenCalledTimes(2);
    expect(landed).toHaveBeenCalledTimes(1);
  });

  it('treats a gateway 502 or 504 as a lost answer: the note may have been written, so it is never posted again here', async () => {
    for (const status of [502, 504]) {
      const { retry } = policy();
      const landed = jest.fn(async () => null);
      const call = scripted<string>(apiError(status), 'never');
      await expect(retry.createOnce('create note', call, landed)).rejects.toBeInstanceOf(OutcomeUnknownError);
      expect(call).toHaveBeenCalledTimes(1);
      expect(retry.outcomeUnknown('create note')).toBe(true);
    }
  });

  it('returns what the dedup check found instead of posting again', async () => {
    const { retry } = policy();
    // A 500 can come after the note was written.
    const call = scripted<string>(apiError(500), 'never');
    await expect(retry.createOnce('note', call, async () => ok('found'))).resolves.toMatchObject({
      response: { value: 'found' },
      attempts: 1,
    });
    expect(call).toHaveBeenCalledTimes(1);
  });

  it('never posts again after a lost answer: PagerDuty may have the note without listing it yet', async () => {
    const recorded: string[] = [];
    const budget = { ...localBudget(1), recordFailedCall: async (operation: string) => void recorded.push(operation) };
    const retry = new RetryPolicy({ budget, remainingTimeMs: () => 60_000, sleep: async () => undefined });
    const landed = jest.fn(async () => null);
    const call = scripted<string>(new PagerDutyNetworkError('op', 'timeout', new Error('no answer within 5000 ms')), 'twice');

    const error = await retry.createOnce('create note', call, landed).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(OutcomeUnknownError);
    expect(error).toMatchObject({ kind: 'failed', attempts: 1 });
    expect((error as OutcomeUnknownError).message).toContain('may have applied it');
    expect(call).toHaveBeenCalledTimes(1);
    expect(landed).not.toHaveBeenCalled();
    expect(retry.outcomeUnknown('create note')).toBe(true);
    // Nothing spent here; the next delivery's post is a repeat of a failed call, so that one takes a unit of the budget.
    expect(await budget.tryConsume({ operation: 'create note', operationMax: 1, optional: false })).toBe('granted');
    expect(recorded).toEqual(['create note']);
  });

  it('stops as an unknown outcome when the retry after an error answer loses its answer', async () => {
    const { retry } = policy();
    const landed = jest.fn(async () => null);
    const call = scripted<string>(apiError(500), new PagerDutyNetworkError('op', 'connection', new Error('reset')), 'never');
    await expect(retry.createOnce('create note', call, landed)).rejects.toBeInstanceOf(OutcomeUnknownError);
    expect(call).toHaveBeenCalledTimes(2);
    expect(landed).toHaveBeenCalledTimes(1);
  });

  describe('across deliveries', () => {
    it('takes a retry before the first attempt of a call that failed in an earlier delivery, and remembers new failures', async () => {
      const recorded: string[] = [];
      const budget = { ...localBudget(1), recordFailedCall: async (operation: string) => void recorded.push(operation) };
      const retry = new RetryPolicy({ budget, remainingTimeMs: () => 60_000, sleep: async () => undefined, failedCalls: ['acknowledge'] });

      const ack = scripted<string>(apiError(500), 'never');
      const error = await retry.idempotent('acknowledge', ack).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(RetryBudgetExhaustedError);
      expect(ack).toHaveBeenCalledTimes(1);

      const read = scripted<string>(apiError(503), 'done');
      await expect(retry.idempotent('read', read).catch((caught: unknown) => caught)).resolves.toBeInstanceOf(RetryBudgetExhaustedError);
      expect(read).toHaveBeenCalledTimes(1);
      expect(recorded).toEqual(['read']);
    });

    it('refuses the first attempt of a repeated call when the budget is spent', async () => {
      const retry = new RetryPolicy({ budget: localBudget(0), remainingTimeMs: () => 60_000, failedCalls: ['acknowledge'] });
      const call = scripted<string>('never');
      const error = await retry.idempotent('acknowledge', call).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(RetryBudgetExhaustedError);
      expect((error as RetryBudgetExhaustedError).message).toContain('failed in an earlier delivery');
      expect(call).not.toHaveBeenCalled();
    });
  });

  describe('an answer that never came', () => {
    it('keeps the outcome unknown after a lost answer, even when a later attempt gets an error answer', async () => {
      const { retry } = policy({ budget: 1 });
      const call = scripted<string>(new PagerDutyNetworkError('op', 'timeout', new Error('t')), apiError(500), 'never');
      await retry.idempotent('acknowledge', call).catch(() => undefined);
      expect(retry.outcomeUnknown('acknowledge')).toBe(true);
      expect(retry.outcomeUnknown('escalate')).toBe(false);
    });

    it('knows the outcome once an attempt succeeds, and never counts an error answer as unknown', async () => {
      const { retry } = policy();
      await retry.idempotent('acknowledge', scripted<string>(new PagerDutyNetworkError('op', 'connection', new Error('reset')), 'done'));
      expect(retry.outcomeUnknown('acknowledge')).toBe(false);
      await retry.idempotent('escalate', scripted<string>(apiError(400))).catch(() => undefined);
      expect(retry.outcomeUnknown('escalate')).toBe(false);
    });
  });

  describe('with a rate-limit pacer', () => {
    const spentWindow = (): RateLimitPacer => {
      const pacer = new RateLimitPacer({ now: () => 1_000 });
      pacer.observe({ limit: 960, remaining: 0, resetSeconds: 5 });
      return pacer;
    };

    it("waits for the window to reset when the wait fits in the Lambda's time, then calls once", async () => {
      let clock = 1_000;
      const pacer = new RateLimitPacer({ now: () => clock });
      pacer.observe({ limit: 960, remaining: 0, resetSeconds: 5 });
      const sleeps: number[] = [];
      const retry = new RetryPolicy({
        budget: localBudget(0),
        remainingTimeMs: () => 60_000,
        pacer,
        sleep: async (ms) => {
          sleeps.push(ms);
          clock += ms;
        },
      });
      const call = scripted<string>('done');
      await expect(retry.idempotent('acknowledge', call)).resolves.toMatchObject({ attempts: 1 });
      expect(sleeps).toEqual([5000]);
      expect(call).toHaveBeenCalledTimes(1);
    });

    it('sends the event back to the queue, without calling PagerDuty, when the wait does not fit', async () => {
      const retry = new RetryPolicy({
        budget: localBudget(5),
        remainingTimeMs: () => 10_000,
        pacer: spentWindow(),
        sleep: async () => undefined,
      });
      const call = scripted<string>('never');
      const error = await retry.idempotent('acknowledge', call).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ThrottledError);
      expect((error as ThrottledError).retryAfterSeconds).toBe(5);
      expect((error as ThrottledError).cause).toBeInstanceOf(RateLimitWindowSpentError);
      expect(call).not.toHaveBeenCalled();
    });

    it('learns the window from every answer, errors included', async () => {
      const pacer = new RateLimitPacer({ now: () => 1_000 });
      const retry = new RetryPolicy({ budget: localBudget(5), remainingTimeMs: () => 10_000, pacer, sleep: async () => undefined });
      await retry.idempotent('read', scripted<string>(apiError(429, 7))).catch(() => undefined);
      expect(pacer.nextRequestDelayMs()).toBe(7000);
    });
  });
});

describe('RetryPolicy on the webhook budget (caps kept across deliveries)', () => {
  /** One delivery's policy; `failedCalls` as the claim returns them to a redelivery. */
  const across = () => {
    const work = new MemoryWorkLedger();
    const retry = (failedCalls: string[] = []) =>
      new RetryPolicy({ budget: webhookBudget(work, 'E1'), remainingTimeMs: () => 60_000, sleep: async () => undefined, failedCalls });
    return { work, retry };
  };

  it('gives up an optional read once the reads have taken 2 retries, without stopping the run', async () => {
    const { work, retry } = across();
    const failing = () => scripted<string>(apiError(500), apiError(500), apiError(500), apiError(500));
    const first = await retry()
      .optionalRead('read changeEvents', failing())
      .catch((caught: unknown) => caught);
    expect(first).toBeInstanceOf(OperationFailedError);
    expect(first).toMatchObject({ kind: 'failed', attempts: 3, retryable: false });
    expect((first as Error).message).toContain('optional context reads may take at most 2');
    const second = failing();
    await expect(retry().optionalRead('read recentIncidents', second)).rejects.toBeInstanceOf(OperationFailedError);
    expect(second).toHaveBeenCalledTimes(1);
    expect(await work.get('E1')).toMatchObject({ retriesUsed: 2, optionalReadRetries: 2 });
  });

  it('stops a call whose own retries an earlier delivery used, before any attempt, as a spent budget', async () => {
    const { work, retry } = across();
    await expect(
      retry().idempotent('acknowledge', scripted<string>(apiError(500), apiError(500), apiError(500), apiError(500))),
    ).rejects.toBeInstanceOf(OperationFailedError);
    const call = scripted<string>('never');
    const error = await retry(['acknowledge'])
      .idempotent('acknowledge', call)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RetryBudgetExhaustedError);
    expect(error).toMatchObject({ spent: 'operation', attempts: 0 });
    expect(call).not.toHaveBeenCalled();
    expect((await work.get('E1'))?.retriesUsed).toBe(3);
  });
});
