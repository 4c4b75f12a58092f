import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { AgentSecretError } from '../secrets/agent-secret';
import { CliError } from './cli-error';
import { auditCommand, AUDIT_ACTIONS, AUDIT_OUTCOMES } from './commands/audit';
import { doctorCommand } from './commands/doctor';
import { redriveCommand } from './commands/redrive';
import { reportCommand } from './commands/report';
import { rulePromoteCommand } from './commands/rule';
import { secretSetCommand, secretSplitCommand, secretStageCommand } from './commands/secret';
import { fixtureNames, sendTestCommand } from './commands/send-test';
import { webhookRevokeCommand, webhookRotateCommand, webhookStatusCommand, webhookSubscribeCommand } from './commands/webhook';
import { coloursFor, processIo, writeLine, type CliIo } from './output';

/** `--env` / `--local` and the PagerDuty API URL, on every command that acts on an environment. */
function withTarget(command: Command): Command {
  return command
    .addOption(new Option('--env <name>', 'a deployed environment: the CloudFormation stack PdAgent-<name>').conflicts('local'))
    .addOption(new Option('--local', 'the local stack `npm start` runs'))
    .option('--region <region>', 'AWS region of the stack (default: AWS_REGION or your profile)')
    .option(
      '--pagerduty-api-url <url>',
      'PagerDuty REST API (default: PAGERDUTY_API_URL, the local sandbox under --local, or https://api.pagerduty.com)',
    );
}

/** The version in package.json, the one `npm` installed. */
export function cliVersion(): string {
  return (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
}

export function buildProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command('pd-agent')
    .version(cliVersion(), '-V, --version', 'the pd-agent version')
    .description('Run, inspect and repair a pd-agent deployment (or the local stack from `npm start`).')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .exitOverride();

  withTarget(
    program
      .command('audit')
      .description('The audit trail: by incident, or by time range; filter by action and outcome.')
      .option('--incident <id>', 'one incident, oldest row first')
      .option('--since <when>', 'start of a time range: a duration ago (30m, 24h, 7d) or an ISO time')
      .option('--until <when>', 'end of the time range (default: now)')
      .addOption(new Option('--action <action>', 'only this action').choices(AUDIT_ACTIONS))
      .addOption(new Option('--outcome <outcome>', 'only this outcome').choices(AUDIT_OUTCOMES))
      .option('--limit <n>', 'at most this many rows (default 500)')
      .option('--json', 'rows as JSON'),
  ).action(async (options: Parameters<typeof auditCommand>[0]) => auditCommand(options, io));

  withTarget(
    program
      .command('send-test')
      .description(`Sign a webhook body and deliver it. <payload> is a file or a fixture: ${fixtureNames().join(', ')}.`)
      .argument('<payload>', 'fixture name or file path')
      .option('--url <url>', "where to deliver (default: the environment's webhook URL)")
      .option('--secret-stdin', "read the signing secret from stdin (default: the environment secret's signing secrets)")
      .option('--twice', 'deliver the same event twice (the second must be answered as a duplicate)')
      .option('--bad-signature', 'sign with a wrong secret (must be answered 401)')
      .option('--json', 'results as JSON'),
  ).action(async (payload: string, options: Parameters<typeof sendTestCommand>[1]) => {
    const results = await sendTestCommand(payload, options, io);
    if (results.some((result) => result.status >= 500)) setExitCode(1);
  });

  const secret = program
    .command('secret')
    .description("The environment's Secrets Manager secret (values are never taken from arguments or printed).");
  withTarget(
    secret
      .command('set')
      .description(
        'Write the secret: answer the prompts, or pipe the JSON document in on stdin. Checked before writing; webhook signing secrets are kept.',
      ),
  ).action(async (options: Parameters<typeof secretSetCommand>[0]) => secretSetCommand(options, io));
  withTarget(
    secret
      .command('stage')
      .description(
        'Stage a new PagerDuty key (prompt or stdin) as AWSPENDING with the rest of the credentials secret, then start rotation.',
      ),
  ).action(async (options: Parameters<typeof secretStageCommand>[0]) => secretStageCommand(options, io));
  withTarget(
    secret
      .command('split')
      .description(
        'Move the webhook signing secrets of a stack deployed before the split out of the credentials secret into their own secret (run once).',
      ),
  ).action(async (options: Parameters<typeof secretSplitCommand>[0]) => secretSplitCommand(options, io));

  const webhook = program.command('webhook').description('PagerDuty V3 webhook subscriptions pointing at the environment.');
  withTarget(
    webhook
      .command('subscribe')
      .description(
        "Create a subscription to the stack's URL, inactive; store its signing secret in the environment's signing secret; then activate it.",
      )
      .addOption(new Option('--scope <scope>', 'what the subscription covers').choices(['service', 'team', 'account']).default('account'))
      .option('--scope-id <id>', 'the service or team id (for --scope service|team)')
      .option('--events <list>', 'comma-separated event types (default: the incident events the agent uses)')
      .option('--json', 'the subscription as JSON (without its secret)'),
  ).action(async (options: Parameters<typeof webhookSubscribeCommand>[0]) => {
    await webhookSubscribeCommand(options, io);
  });
  withTarget(
    webhook
      .command('rotate')
      .description('Add a second subscription and its secret; after confirmation delete the old one and its secret.')
      .option('--subscription <id>', 'the subscription to replace, when the environment has several')
      .option('--yes', 'delete the old subscription without asking'),
  ).action(async (options: Parameters<typeof webhookRotateCommand>[0]) => webhookRotateCommand(options, io));
  withTarget(
    webhook
      .command('revoke')
      .description(
        'Delete a subscription in PagerDuty, then remove its signing secret; with --leaked, stop trusting the secret first, at once.',
      )
      .argument('<subscriptionId>', 'the subscription to revoke')
      .option('--leaked', 'the secret is compromised: remove it before deleting the subscription, accepting 401s in between')
      .option('--yes', 'revoke without asking'),
  ).action(async (subscriptionId: string, options: Parameters<typeof webhookRevokeCommand>[1]) =>
    webhookRevokeCommand(subscriptionId, options, io),
  );
  withTarget(
    webhook
      .command('status')
      .description("The environment's subscriptions and whether PagerDuty temporarily disabled one.")
      .option('--enable', 're-enable temporarily disabled subscriptions')
      .option('--json', 'as JSON'),
  ).action(async (options: Parameters<typeof webhookStatusCommand>[0]) => webhookStatusCommand(options, io));

  withTarget(
    program
      .command('doctor')
      .description(
        'Check the secret, the PagerDuty key and identity, subscriptions, who each covered service pages first, dead letters, handbacks and outcomes.',
      )
      .option('--list', 'list every check and what it verifies, without running any (no environment needed)')
      .option('--json', 'checks as JSON'),
  ).action(async (options: Parameters<typeof doctorCommand>[0]) => {
    if (!(await doctorCommand(options, io))) setExitCode(1);
  });

  withTarget(
    program
      .command('report')
      .description('Was the agent right? Per rule and per kind of finding: incidents, mode, decisions, verdicts, precision, head start.')
      .option('--since <when>', 'start of the range: a duration ago (30d, 24h) or an ISO time (default 30d)')
      .option('--service <id>', 'only incidents of this PagerDuty service')
      .option('--json', 'the figures as JSON'),
  ).action(async (options: Parameters<typeof reportCommand>[0]) => {
    await reportCommand(options, io);
  });

  const rule = program.command('rule').description('Rules that earn and lose trust: a demoted rule holds nothing until promoted.');
  withTarget(
    rule
      .command('promote <id>')
      .description('Put a rule the circuit breaker demoted back in action (audited; its record starts again from now).')
      .option('--by <name>', 'who promotes it, for the audit trail (default: your user name)')
      .option('--json', 'the result as JSON'),
  ).action(async (id: string, options: Parameters<typeof rulePromoteCommand>[1]) => {
    await rulePromoteCommand(id, options, io);
  });

  withTarget(
    program
      .command('redrive')
      .description('Move dead-lettered messages back to the event queue (message groups and deduplication ids kept).')
      .option('--max <n>', 'move at most this many')
      .option('--json', 'counts as JSON'),
  ).action(async (options: Parameters<typeof redriveCommand>[0]) => {
    await redriveCommand(options, io);
  });

  return program;
}

/** Runs the CLI; resolves to the exit code. Errors become one line of what was wrong and one of what to do. */
export async function runCli(argv: string[], io: CliIo = processIo()): Promise<number> {
  let exitCode = 0;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    // --version and --help end through commander's exit override with code 0, their text already written.
    if (error instanceof CommanderError) return error.exitCode;
    const colours = coloursFor(io.stderr, io.env);
    if (error instanceof CliError) {
      writeLine(io.stderr, `${colours.red('error:')} ${error.message}`);
      writeLine(io.stderr, `${colours.dim('→')} ${error.hint}`);
      return error.exitCode;
    }
    if (error instanceof AgentSecretError) {
      writeLine(io.stderr, `${colours.red('error:')} ${error.message}`);
      return 1;
    }
    writeLine(io.stderr, `${colours.red('error:')} ${(error as Error).message}`);
    writeLine(
      io.stderr,
      `${colours.dim('→')} This is unexpected; run again with NODE_DEBUG=pd-agent or report it with the command you ran.`,
    );
    return 1;
  }
}

if (require.main === module) {
  void runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
