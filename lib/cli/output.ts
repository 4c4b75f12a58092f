import Table from 'cli-table3';
import pc from 'picocolors';

/** Where a command writes, and whether it talks to a person (TTY: colour, spinners) or to a program. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export const processIo = (): CliIo => ({
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  cwd: process.cwd(),
});

export type Colours = ReturnType<typeof pc.createColors>;

/** Colour only on a terminal, and never when NO_COLOR is set. */
export function coloursFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): Colours {
  return pc.createColors(stream.isTTY === true && env.NO_COLOR === undefined);
}

export function writeLine(stream: NodeJS.WritableStream, line = ''): void {
  stream.write(`${line}\n`);
}

export function writeJson(io: CliIo, value: unknown): void {
  writeLine(io.stdout, JSON.stringify(value, null, 2));
}

/** A table for people: fixed headings, cells as text, no colour codes inside cells when not on a TTY. */
export function renderTable(head: string[], rows: (string | number | undefined)[][], options: { colour?: boolean } = {}): string {
  const table = new Table({
    head,
    style: { head: options.colour === true ? ['cyan'] : [], border: options.colour === true ? ['grey'] : [] },
    wordWrap: true,
  });
  for (const row of rows) table.push(row.map((cell) => (cell === undefined ? '' : String(cell))));
  return table.toString();
}

/** Shortens text to one line of at most `max` characters. */
export function oneLine(text: string | undefined, max = 80): string {
  if (text === undefined) return '';
  const first = text.split('\n').find((line) => line.trim() !== '') ?? '';
  return first.length > max ? `${first.slice(0, max - 1)}…` : first;
}

export interface Progress {
  update(text: string): void;
  stop(finalLine?: string): void;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * A spinner on stderr for anything that may take more than a second; silent when stderr is not a terminal, so
 * `--json` output and pipes stay clean.
 */
export function startProgress(io: CliIo, text: string): Progress {
  if (io.stderr.isTTY !== true) {
    return { update: () => undefined, stop: () => undefined };
  }
  let current = text;
  let frame = 0;
  const draw = (): void => {
    io.stderr.write(`\r\x1b[2K${FRAMES[frame % FRAMES.length]} ${current}`);
    frame += 1;
  };
  const timer = setInterval(draw, 80);
  timer.unref();
  draw();
  return {
    update: (next) => {
      current = next;
      draw();
    },
    stop: (finalLine) => {
      clearInterval(timer);
      io.stderr.write('\r\x1b[2K');
      if (finalLine !== undefined) writeLine(io.stderr, finalLine);
    },
  };
}
