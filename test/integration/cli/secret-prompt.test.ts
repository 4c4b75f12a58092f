import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DEMO_AGENT_CONFIG, demoSeed } from '../../../local/demo';
import { startLocalStack, type LocalStack } from '../../../local/local-stack';
import { SANDBOX_BOT_USER } from '../../../local/sandbox';
import type { AgentSecret } from '../../../lib/secrets/agent-secret';

const ROOT = join(__dirname, '..', '..', '..');

/** The keys a person presses, as a terminal sends them. */
const KEY = { backspace: '\x7f', left: '\x1b[D', right: '\x1b[C', home: '\x1b[H', end: '\x1b[F', enter: '\r' };

/**
 * A real pseudo-terminal around the CLI: util-linux `script` (Debian's bsdutils, an Essential package, so on every
 * machine CI runs on) gives the child a pty and copies what we write into it. Everything the terminal shows,
 * prompts and echo alike, comes back on `screen`.
 */
class PseudoTerminal {
  screen = '';
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly exited: Promise<number | null>;

  constructor(command: string, env: NodeJS.ProcessEnv) {
    this.child = spawn('script', ['--quiet', '--return', '--flush', '--command', command, '/dev/null'], { cwd: ROOT, env });
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.screen += chunk.toString('utf8');
    });
    this.child.stderr.on('data', (chunk: Buffer) => {
      this.screen += chunk.toString('utf8');
    });
    this.exited = new Promise((resolve) => this.child.once('exit', resolve));
  }

  /** Resolves when the screen shows `text` (typing before the prompt would reach the terminal's own echo). */
  async waitFor(text: string): Promise<void> {
    while (!this.screen.includes(text)) {
      const exited = await Promise.race([
        new Promise<false>((resolve) => this.child.stdout.once('data', () => resolve(false))),
        this.exited.then(() => true),
      ]);
      if (exited && !this.screen.includes(text)) throw new Error(`The CLI exited before showing "${text}". Screen:\n${this.screen}`);
    }
  }

  type(keys: string): void {
    this.child.stdin.write(keys);
  }

  async exitCode(): Promise<number | null> {
    return this.exited;
  }
}

/** `script` is what drives the pty: without it this test cannot run, and says how to get it instead of skipping. */
function requireScript(): void {
  const probe = spawnSync('script', ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || !/util-linux/.test(probe.stdout))
    throw new Error(
      'The hidden-prompt test needs util-linux `script` (Debian/Ubuntu package bsdutils, macOS/other: install util-linux) to give the CLI a pseudo-terminal.',
    );
}

describe('the hidden secret prompt on a real terminal', () => {
  let stack: LocalStack;
  let secrets: SecretsManagerClient;
  const stateDir = mkdtempSync(join(tmpdir(), 'pd-agent-prompt-'));
  const previousStateDir = process.env.PD_AGENT_STATE_DIR;

  beforeAll(async () => {
    requireScript();
    process.env.PD_AGENT_STATE_DIR = stateDir;
    stack = await startLocalStack({ port: 0, agentConfig: DEMO_AGENT_CONFIG, sandboxSeed: demoSeed() });
    secrets = new SecretsManagerClient({ endpoint: stack.secretsManager.endpoint, region: stack.aws.region });
  }, 60_000);
  afterAll(async () => {
    secrets.destroy();
    await stack.stop();
    if (previousStateDir === undefined) delete process.env.PD_AGENT_STATE_DIR;
    else process.env.PD_AGENT_STATE_DIR = previousStateDir;
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('secret set: the key never reaches the screen, whatever editing keys are pressed, and the edited key is stored', async () => {
    const terminal = new PseudoTerminal(`"${process.execPath}" bin/pd-agent.js secret set --local`, {
      ...process.env,
      PD_AGENT_STATE_DIR: stateDir,
      NO_COLOR: '1',
    });
    await terminal.waitFor('PagerDuty REST API key (input hidden): ');
    // The reported leak: backspace and cursor moves made readline redraw the line, key included.
    terminal.type('SECRETVALUE');
    terminal.type(KEY.backspace + KEY.backspace);
    terminal.type(KEY.left + KEY.left + KEY.right + KEY.home + KEY.end);
    terminal.type(`XY${KEY.enter}`);
    await terminal.waitFor("Agent's PagerDuty user email");
    terminal.type(KEY.enter);
    await terminal.waitFor("That user's id");
    terminal.type(KEY.enter);

    expect(await terminal.exitCode()).toBe(0);
    expect(terminal.screen).toContain('Wrote pd-agent/local');
    for (const fragment of ['SECRET', 'VALU', 'XY', 'S\bE', '*']) expect(terminal.screen).not.toContain(fragment);
    const stored = JSON.parse(
      (await secrets.send(new GetSecretValueCommand({ SecretId: stack.secretId }))).SecretString as string,
    ) as AgentSecret;
    // Backspace removed "UE"; the cursor keys moved without changing it; the answer kept the current email and id.
    expect(stored.apiToken).toBe('SECRETVALXY');
    expect(stored.fromEmail).toBe(SANDBOX_BOT_USER.email);
    expect(stored.botUserId).toBe(SANDBOX_BOT_USER.id);
  });
});
