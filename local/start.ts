import { Command, Option } from 'commander';
import { parseAgentSecret, type AgentSecret } from '../lib/secrets/agent-secret';
import { DEFAULT_PAGERDUTY_API_URL } from '../lib/config/runtime-env';
import { authFromSecret } from '../lib/pagerduty/auth';
import { createPagerDutyClient } from '../lib/pagerduty/rest-client';
import { coloursFor, writeLine } from '../lib/cli/output';
import { silenceSdkNodeVersionWarning } from '../lib/cli/node-version-warning';
import { DEMO_AGENT_CONFIG, DEMO_SCHEDULER_TIME_SCALE, demoSeed, runDemo, summaryTable, type DemoResult } from './demo';
import { startLocalStack, type LocalStack, type RealPagerDuty } from './local-stack';

export interface StartOptions {
  port: number;
  demo: boolean;
  once: boolean;
  env: NodeJS.ProcessEnv;
  out: NodeJS.WritableStream & { isTTY?: boolean };
  /** Skip esbuild (tests that built already). */
  skipBuild?: boolean;
  /** Write `.local-state/local-stack.json` for the CLI (default true). */
  writeState?: boolean;
}

export interface StartResult {
  stack: LocalStack;
  demo?: DemoResult;
  /** Milliseconds from start to the first incident acknowledged by the agent (demo only). */
  firstAcknowledgedMs?: number;
}

export class RealPagerDutyConfigError extends Error {
  override readonly name = 'RealPagerDutyConfigError';
  constructor(problem: string) {
    super(
      `Real PagerDuty mode: ${problem}. Set PAGERDUTY_API_TOKEN (or PAGERDUTY_OAUTH_CLIENT_ID/_SECRET/_SUBDOMAIN/_SCOPES), PAGERDUTY_FROM_EMAIL and PAGERDUTY_WEBHOOK_SECRET, or unset them all to use the sandbox.`,
    );
  }
}

/** Real PagerDuty from PAGERDUTY_* variables; undefined when none is set (sandbox mode). */
export async function realPagerDutyFromEnv(env: NodeJS.ProcessEnv): Promise<RealPagerDuty | undefined> {
  const oauth = env.PAGERDUTY_OAUTH_CLIENT_ID !== undefined;
  if (env.PAGERDUTY_API_TOKEN === undefined && !oauth) return undefined;
  const fromEmail = env.PAGERDUTY_FROM_EMAIL;
  const webhookSecret = env.PAGERDUTY_WEBHOOK_SECRET;
  if (fromEmail === undefined) throw new RealPagerDutyConfigError('PAGERDUTY_FROM_EMAIL is not set');
  if (webhookSecret === undefined) throw new RealPagerDutyConfigError('PAGERDUTY_WEBHOOK_SECRET is not set');
  const apiUrl = env.PAGERDUTY_API_URL ?? DEFAULT_PAGERDUTY_API_URL;
  const credentials = oauth
    ? {
        oauth: {
          clientId: env.PAGERDUTY_OAUTH_CLIENT_ID ?? '',
          clientSecret: env.PAGERDUTY_OAUTH_CLIENT_SECRET ?? '',
          subdomain: env.PAGERDUTY_OAUTH_SUBDOMAIN ?? '',
          scopes: env.PAGERDUTY_OAUTH_SCOPES ?? '',
        },
      }
    : { apiToken: env.PAGERDUTY_API_TOKEN };
  let botUserId = env.PAGERDUTY_BOT_USER_ID;
  if (botUserId === undefined) {
    const draft = { ...credentials, fromEmail, botUserId: 'resolving' } as AgentSecret;
    const client = createPagerDutyClient({ apiUrl, auth: authFromSecret(draft, { apiUrl }), fromEmail });
    const users = (await client.findUsersByEmail(fromEmail)).value;
    botUserId = users.find((user) => user.email.toLowerCase() === fromEmail.toLowerCase())?.id;
    if (botUserId === undefined) throw new RealPagerDutyConfigError(`no PagerDuty user has the email ${fromEmail}`);
  }
  const secret = parseAgentSecret(JSON.stringify({ ...credentials, fromEmail, botUserId }), 'PAGERDUTY_* variables');
  return { apiUrl, secret, webhookSecrets: [{ subscriptionId: 'PREAL', secret: webhookSecret }] };
}

/** `npm start`: the local stack, the demo unless disabled, then serving (or, with `once`, the verdict). */
export async function start(options: StartOptions): Promise<StartResult> {
  const startedAt = Date.now();
  const colours = coloursFor(options.out, options.env);
  const log = (line: string): void => writeLine(options.out, line);
  const real = await realPagerDutyFromEnv(options.env);
  const runDemoNow = options.demo && real === undefined;
  log(colours.dim('Building the Lambda bundles and starting the local stack…'));
  const stack = await startLocalStack({
    port: options.port,
    agentConfig: options.env.AGENT_CONFIG ?? DEMO_AGENT_CONFIG,
    schedulerTimeScale: DEMO_SCHEDULER_TIME_SCALE,
    sandboxSeed: demoSeed(),
    realPagerDuty: real,
    skipBuild: options.skipBuild,
    writeState: options.writeState,
    onRequest: (request) => {
      if (!runDemoNow || options.once) return;
      log(colours.dim(`  ${request.method} ${request.path} → ${request.status} (${request.durationMs} ms)`));
    },
  });
  log(
    `${colours.green('✔')} Local stack up in ${Date.now() - startedAt} ms: ${real === undefined ? `PagerDuty sandbox at ${stack.pagerDutyApiUrl}` : `real PagerDuty at ${real.apiUrl} as ${real.secret.fromEmail}`}`,
  );
  if (!runDemoNow) {
    printServing(stack, log, colours, real !== undefined);
    return { stack };
  }
  const demo = await runDemo(stack, log, colours, startedAt);
  log('');
  log(summaryTable(demo.summaries, options.out.isTTY === true));
  if (demo.failures.length === 0)
    log(
      `${colours.green('✔')} All ${demo.checks} expectations held. First incident acknowledged ${demo.firstAcknowledgedMs} ms after start.`,
    );
  else {
    log(colours.red(`✘ ${demo.failures.length} of ${demo.checks} expectations failed:`));
    for (const failure of demo.failures) log(colours.red(`  - ${failure}`));
  }
  if (!options.once) printServing(stack, log, colours, false);
  return { stack, demo, firstAcknowledgedMs: demo.firstAcknowledgedMs };
}

/**
 * Why `npm start` stopped, phrased for a local run: a configuration error raised inside a bundle tells a deployed
 * stack to redeploy, while here the fix is the AGENT_CONFIG variable and another `npm start`. Matched by name, as
 * each bundle carries its own copy of the error class.
 */
export function localStartProblem(error: unknown): string {
  const { name, message } = error as Error;
  if (name === 'AgentConfigError')
    return message.replace(/ and redeploy\.$/, ', then run `npm start` again (unset AGENT_CONFIG for the demo configuration).');
  return message;
}

function printServing(stack: LocalStack, log: (line: string) => void, colours: ReturnType<typeof coloursFor>, real: boolean): void {
  log('');
  log(`Webhook endpoint: ${colours.bold(stack.webhookUrl)}`);
  if (real) log('Point a PagerDuty V3 webhook at it through a tunnel (docs/running-locally.md "Running locally and the pd-agent CLI").');
  if (real) log('Try it:           trigger a test incident on a service the webhook subscription covers');
  else {
    log(`Try it:           npx pd-agent send-test --local triggered_v3`);
    log(colours.dim("                  (creates the fixture's incident in the sandbox and delivers its trigger → 202. With the default"));
    log(
      colours.dim('                  acknowledge "agent-first" the agent acknowledges only an incident PagerDuty paged it for first, or'),
    );
    log(
      colours.dim('                  one a rule could keep; otherwise it adds its note and PagerDuty keeps paging the people. send-test'),
    );
    log(colours.dim('                  says which applies, and prints the audit command that shows what the agent did)'));
  }
  log(`Audit trail:      npx pd-agent audit --local --since 1h`);
  log(
    `Health:           npx pd-agent doctor --local   ${colours.dim('(no FAIL on a fresh start; a WARN is a recommendation, with what to do)')}`,
  );
  log(colours.dim('Ctrl-C stops everything.'));
}

if (require.main === module) {
  silenceSdkNodeVersionWarning();
  const program = new Command('npm start --')
    .description(
      'Run the whole agent on this machine: AWS emulators, a PagerDuty sandbox (or real PagerDuty via PAGERDUTY_* variables), the handlers, and a demo.',
    )
    .addOption(new Option('--port <port>', 'port of the webhook endpoint').default('3000'))
    .option('--no-demo', 'start and serve without the scripted demo')
    .option('--once', 'run the demo, check every expectation, print the summary and exit (0 only if all held)')
    .parse(process.argv);
  const flags = program.opts<{ port: string; demo: boolean; once?: boolean }>();
  const port = Number(flags.port);
  start({ port, demo: flags.demo || flags.once === true, once: flags.once === true, env: process.env, out: process.stdout })
    .then(async (result) => {
      if (flags.once === true) {
        await result.stack.stop();
        process.exit(result.demo !== undefined && result.demo.failures.length === 0 ? 0 : 1);
      }
      const shutdown = (): void => {
        void result.stack.stop().then(() => process.exit(0));
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    })
    .catch((error: unknown) => {
      console.error(`npm start failed: ${localStartProblem(error)}`);
      process.exit(1);
    });
}
