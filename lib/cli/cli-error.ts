/** An error the CLI reports as one line (what was wrong) plus what to do, and exits non-zero with. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly hint: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
