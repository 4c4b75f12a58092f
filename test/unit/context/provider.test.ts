import {
  RequestBudget,
  RequestBudgetSpentError,
  runProviders,
  SourceUnavailableError,
  type ContextProvider,
  type NeedsCheck,
} from '../../../lib/context/provider';

interface Input {
  alert?: string;
}
const hasNeed: NeedsCheck<Input> = (input, need) => need !== 'alert' || input.alert !== undefined;

function provider<T>(run: ContextProvider<Input, T>['run'], overrides: Partial<ContextProvider<Input, T>> = {}): ContextProvider<Input, T> {
  return { name: 'test', needs: [], budget: { timeMs: 1000, requests: 2 }, run, ...overrides };
}

describe('runProviders', () => {
  it('starts every provider before any finishes and collects their results', async () => {
    const started: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const waiting = (name: string) =>
      provider(async () => {
        started.push(name);
        await gate;
        return name.toUpperCase();
      });
    const run = runProviders({ a: waiting('a'), b: waiting('b') }, {}, hasNeed);
    await Promise.resolve();
    expect(started).toEqual(['a', 'b']);
    release();
    await expect(run).resolves.toEqual({ results: { a: 'A', b: 'B' }, unavailable: [] });
  });

  it('turns a provider past its deadline into "timed out" and aborts its signal, even when it ignores the signal', async () => {
    let seen: AbortSignal | undefined;
    const stuck = provider<string>(
      (_input, { signal }) => {
        seen = signal;
        return new Promise(() => undefined);
      },
      { budget: { timeMs: 5, requests: 1 } },
    );
    const run = await runProviders({ stuck, fine: provider(async () => 'ok') }, {}, hasNeed);
    expect(run.results).toEqual({ fine: 'ok' });
    expect(run.unavailable).toEqual([{ source: 'stuck', reason: 'timed out after 5 ms' }]);
    expect(seen?.aborted).toBe(true);
  });

  it('reports the deadline, not the AbortError, when a provider honours its signal', async () => {
    const honours = provider<string>(
      (_input, { signal }) =>
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' }))),
        ),
      { budget: { timeMs: 5, requests: 1 } },
    );
    const run = await runProviders({ honours }, {}, hasNeed);
    expect(run.unavailable).toEqual([{ source: 'honours', reason: 'timed out after 5 ms' }]);
  });

  it('uses the reason a provider gave, and the message of any other error', async () => {
    const run = await runProviders(
      {
        denied: provider(async () => {
          throw new SourceUnavailableError('no permission: logs:FilterLogEvents on arn:aws:logs:…');
        }),
        broken: provider(async () => {
          throw new TypeError('x is undefined');
        }),
      },
      {},
      hasNeed,
    );
    expect(run.unavailable).toEqual([
      { source: 'denied', reason: 'no permission: logs:FilterLogEvents on arn:aws:logs:…' },
      { source: 'broken', reason: 'failed: x is undefined' },
    ]);
  });

  it('stops a provider at its request budget', async () => {
    const greedy = provider(async (_input, { requests }) => {
      for (;;) requests.take('page');
    });
    const run = await runProviders({ greedy }, {}, hasNeed);
    expect(run.unavailable).toEqual([{ source: 'greedy', reason: 'stopped: its 2-request budget is spent' }]);
  });

  it('rethrows an error the provider declares fatal, after the others settled', async () => {
    let otherFinished = false;
    const fatal = provider(
      async () => {
        throw new Error('throttled');
      },
      { explainFailure: () => null },
    );
    const other = provider(async () => {
      await Promise.resolve();
      otherFinished = true;
      return 1;
    });
    await expect(runProviders({ fatal, other }, {}, hasNeed)).rejects.toThrow('throttled');
    expect(otherFinished).toBe(true);
  });

  it('skips a provider whose needs are not met, without an unavailable entry', async () => {
    const run = jest.fn(async () => 'read');
    const result = await runProviders({ needsAlert: provider(run, { needs: ['alert'] }) }, {}, hasNeed);
    expect(run).not.toHaveBeenCalled();
    expect(result).toEqual({ results: {}, unavailable: [] });
  });
});

describe('RequestBudget', () => {
  it('allows exactly its limit', () => {
    const budget = new RequestBudget(2);
    budget.take('a');
    budget.take('b');
    expect(budget.remaining).toBe(0);
    expect(() => budget.take('c')).toThrow(RequestBudgetSpentError);
  });
});
