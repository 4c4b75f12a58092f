export type InvocationOutcome<T> = { ok: true; value: T } | { ok: false; timedOut: boolean; error?: unknown };

/**
 * Runs one invocation under the function's timeout, as Lambda does. A timed-out invocation is reported as such; the
 * handler's promise cannot be killed in-process, so its late result is ignored.
 */
export async function invokeWithTimeout<T>(call: () => Promise<T>, timeoutMs: number): Promise<InvocationOutcome<T>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const outcome = await Promise.race([call().then((value) => ({ value })), timeout]);
    if (outcome === 'timeout') return { ok: false, timedOut: true };
    return { ok: true, value: outcome.value };
  } catch (error) {
    return { ok: false, timedOut: false, error };
  } finally {
    clearTimeout(timer);
  }
}
