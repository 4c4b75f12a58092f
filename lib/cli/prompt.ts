import { createInterface } from 'node:readline';
import { CliError } from './cli-error';
import type { CliIo } from './output';

/** Reads all of stdin (for values piped in: `… | pd-agent secret set --env dev`). */
export async function readAllStdin(io: CliIo): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Asks one question on the terminal. With `hidden`, what is typed is not echoed (secrets). Fails with a hint when
 * stdin is not a terminal, since nobody could answer.
 */
export async function ask(io: CliIo, question: string, options: { hidden?: boolean; hintWhenNoTty: string }): Promise<string> {
  if (io.stdin.isTTY !== true) throw new CliError(`Cannot ask "${question.trim()}": stdin is not a terminal.`, options.hintWhenNoTty);
  const output = io.stderr as NodeJS.WritableStream & { write: (chunk: string) => boolean };
  const rl = createInterface({ input: io.stdin, output, terminal: true });
  if (options.hidden === true) {
    const internal = rl as unknown as { _writeToOutput: (text: string) => void };
    internal._writeToOutput = (text: string) => {
      if (text.includes(question)) output.write(text);
    };
  }
  try {
    return await new Promise<string>((resolve) => rl.question(question, resolve));
  } finally {
    rl.close();
    if (options.hidden === true) output.write('\n');
  }
}

/** Yes/no confirmation; `--yes` skips it. */
export async function confirm(io: CliIo, question: string, yes: boolean): Promise<boolean> {
  if (yes) return true;
  const answer = await ask(io, `${question} [y/N] `, { hintWhenNoTty: 'Pass --yes to confirm without a prompt.' });
  return /^y(es)?$/i.test(answer.trim());
}
