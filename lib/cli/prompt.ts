import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { CliError } from './cli-error';
import type { CliIo } from './output';

/** Reads all of stdin (for values piped in: `… | pd-agent secret set --env dev`). */
export async function readAllStdin(io: CliIo): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Where readline draws a hidden answer: nowhere. Readline redraws the whole line (prompt and text typed so far) on
 * backspace, cursor keys and history, so filtering what it writes leaks the text on the first redraw; a sink that
 * takes everything cannot. It still looks like a terminal, so readline keeps raw mode and its line editing.
 */
function mutedTerminal(like: CliIo['stderr']): Writable & { isTTY: boolean; columns: number } {
  const sink = new Writable({
    write(_chunk, _encoding, done) {
      done();
    },
  });
  return Object.assign(sink, { isTTY: true, columns: (like as { columns?: number }).columns ?? 80 });
}

/**
 * Asks one question on the terminal. With `hidden`, nothing of the answer is ever written (secrets): the question is
 * written once, and readline edits the answer against a muted stream. Fails with a hint when stdin is not a
 * terminal, since nobody could answer; Ctrl-C or Ctrl-D cancels.
 */
export async function ask(io: CliIo, question: string, options: { hidden?: boolean; hintWhenNoTty: string }): Promise<string> {
  if (io.stdin.isTTY !== true) throw new CliError(`Cannot ask "${question.trim()}": stdin is not a terminal.`, options.hintWhenNoTty);
  const hidden = options.hidden === true;
  const rl = createInterface({ input: io.stdin, output: hidden ? mutedTerminal(io.stderr) : io.stderr, terminal: true });
  // Only now, with the terminal in raw mode (its own echo off), may the person start typing.
  if (hidden) io.stderr.write(question);
  let answered = false;
  try {
    return await new Promise<string>((resolve, reject) => {
      const cancelled = (): void =>
        reject(
          new CliError(`No answer to "${question.trim()}": cancelled.`, 'Run the command again, or pipe the values in on stdin.', 130),
        );
      rl.once('SIGINT', cancelled);
      rl.once('close', () => {
        if (!answered) cancelled();
      });
      rl.question(hidden ? '' : question, (answer) => {
        answered = true;
        resolve(answer);
      });
    });
  } finally {
    rl.close();
    if (hidden) io.stderr.write('\n');
  }
}

/** Yes/no confirmation; `--yes` skips it. */
export async function confirm(io: CliIo, question: string, yes: boolean): Promise<boolean> {
  if (yes) return true;
  const answer = await ask(io, `${question} [y/N] `, { hintWhenNoTty: 'Pass --yes to confirm without a prompt.' });
  return /^y(es)?$/i.test(answer.trim());
}
