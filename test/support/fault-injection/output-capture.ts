/**
 * Captures everything the process writes while the system runs: Powertools' JSON log lines and EMF metrics (written
 * to stdout/stderr directly) and console calls (the local runner's). Nothing is passed through, so a DEBUG-level run
 * does not flood the test output; `text()` is searched for secrets afterwards.
 */
export interface OutputCapture {
  text(): string;
  lineCount(): number;
  restore(): void;
}

export function captureOutput(): OutputCapture {
  const chunks: string[] = [];
  const stdoutWrite = process.stdout.write.bind(process.stdout);
  const stderrWrite = process.stderr.write.bind(process.stderr);
  const consoleMethods = ['log', 'info', 'warn', 'error', 'debug'] as const;
  const saved = consoleMethods.map((name) => [name, console[name]] as const);
  const keep = (chunk: unknown): true => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk));
    return true;
  };
  process.stdout.write = (chunk: unknown) => keep(chunk);
  process.stderr.write = (chunk: unknown) => keep(chunk);
  for (const name of consoleMethods) {
    console[name] = (...args: unknown[]) => {
      keep(
        `${args.map((arg) => (typeof arg === 'string' ? arg : arg instanceof Error ? `${arg.message}\n${arg.stack ?? ''}` : JSON.stringify(arg))).join(' ')}\n`,
      );
    };
  }
  return {
    text: () => chunks.join(''),
    lineCount: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line.trim() !== '').length,
    restore() {
      process.stdout.write = stdoutWrite;
      process.stderr.write = stderrWrite;
      for (const [name, method] of saved) console[name] = method;
    },
  };
}

/** Every place a canary was found in, by name; empty when none leaked. */
export function findCanaries(canaries: readonly string[], sources: Record<string, string>): string[] {
  const leaks: string[] = [];
  for (const [source, text] of Object.entries(sources)) {
    for (const canary of canaries) if (text.includes(canary)) leaks.push(`${source} contains the secret value ${canary.slice(0, 6)}…`);
  }
  return leaks;
}
