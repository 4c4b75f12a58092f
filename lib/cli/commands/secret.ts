import { AgentSecretError, parseAgentSecret, type AgentSecret } from '../../secrets/agent-secret';
import { AgentSecretStore } from '../agent-secret-store';
import { SigningSecretStore, type SigningLayout } from '../signing-secret-store';
import { clientsFor } from '../aws-clients';
import { CliError } from '../cli-error';
import { coloursFor, writeLine, type CliIo } from '../output';
import { ask, readAllStdin } from '../prompt';
import { resolveTarget, targetFlag, type TargetOptions } from '../stack-target';

const NO_TTY_HINT = 'Pipe the values in on stdin instead (never as arguments), e.g. `pd-agent secret set --env dev < secret.json`.';

/**
 * Fields an operator may give. In the split layout the credentials document holds no signing secrets (`webhook
 * subscribe` writes them to their own secret); otherwise the current `webhookSecrets` are kept when not given.
 */
function mergeSecret(
  input: Record<string, unknown>,
  current: AgentSecret | undefined,
  secretId: string,
  layout: SigningLayout,
): AgentSecret {
  const merged = { ...input };
  if (layout === 'split') {
    if (merged.webhookSecrets !== undefined) {
      throw new CliError(
        `The document for ${secretId} has webhookSecrets, but this environment keeps them in their own secret.`,
        'Leave them out: `pd-agent webhook subscribe` stores each subscription\'s signing secret (docs/operations.md "Creating the PagerDuty webhook subscription").',
      );
    }
  } else if (merged.webhookSecrets === undefined) merged.webhookSecrets = current?.webhookSecrets ?? [];
  return parseAgentSecret(JSON.stringify(merged), secretId);
}

async function currentSecret(store: AgentSecretStore): Promise<AgentSecret | undefined> {
  const raw = await store.readRaw();
  if (raw === undefined) return undefined;
  try {
    return parseAgentSecret(raw, store.secretId);
  } catch (error) {
    if (error instanceof AgentSecretError) return undefined;
    throw error;
  }
}

async function promptedSecret(io: CliIo, current: AgentSecret | undefined): Promise<Record<string, unknown>> {
  const apiToken = await ask(io, 'PagerDuty REST API key (input hidden): ', { hidden: true, hintWhenNoTty: NO_TTY_HINT });
  const fromEmail = await ask(io, `Agent's PagerDuty user email${current === undefined ? '' : ` [${current.fromEmail}]`}: `, {
    hintWhenNoTty: NO_TTY_HINT,
  });
  const botUserId = await ask(io, `That user's id${current === undefined ? '' : ` [${current.botUserId}]`}: `, {
    hintWhenNoTty: NO_TTY_HINT,
  });
  return {
    apiToken: apiToken.trim(),
    fromEmail: fromEmail.trim() === '' ? current?.fromEmail : fromEmail.trim(),
    botUserId: botUserId.trim() === '' ? current?.botUserId : botUserId.trim(),
    ...(current?.eventsRoutingKey === undefined ? {} : { eventsRoutingKey: current.eventsRoutingKey }),
    ...(current?.fallbackRoutingKey === undefined ? {} : { fallbackRoutingKey: current.fallbackRoutingKey }),
  };
}

function parseStdinDocument(text: string, secretId: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text) as unknown;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch {
    throw new CliError(
      `stdin is not a JSON object for ${secretId}.`,
      'Pipe the secret document in (docs/configuration.md "Configuration" shows its fields); values are never taken from arguments.',
    );
  }
}

/** `secret set`: writes the environment's secret from a prompt or stdin, checked before writing, never echoed. */
export async function secretSetCommand(options: TargetOptions, io: CliIo): Promise<void> {
  const target = await resolveTarget(options, io.env);
  const clients = clientsFor(target);
  try {
    const store = new AgentSecretStore(clients.secrets, target.secretId);
    const layout = await new SigningSecretStore(clients.secrets, store, target.webhookSecretId, targetFlag(target)).layout();
    const current = await currentSecret(store);
    const input = io.stdin.isTTY === true ? await promptedSecret(io, current) : parseStdinDocument(await readAllStdin(io), target.secretId);
    const secret = mergeSecret(input, current, target.secretId, layout);
    const versionId = await store.write(secret);
    const colours = coloursFor(io.stdout, io.env);
    const signing = secret.webhookSecrets === undefined ? '' : `, ${secret.webhookSecrets.length} webhook signing secret(s) kept`;
    writeLine(
      io.stdout,
      `${colours.green('✔')} Wrote ${target.secretId} (version ${versionId}): ${secret.apiToken !== undefined ? 'API key' : 'OAuth client'}, ` +
        `from ${secret.fromEmail} (${secret.botUserId})${signing}.`,
    );
  } finally {
    clients.destroy();
  }
}

/** `secret stage`: a new PagerDuty key as AWSPENDING with the rest of the current secret, then RotateSecret. */
export async function secretStageCommand(options: TargetOptions & { oauthClientSecret?: boolean }, io: CliIo): Promise<void> {
  const target = await resolveTarget(options, io.env);
  const clients = clientsFor(target);
  try {
    const store = new AgentSecretStore(clients.secrets, target.secretId);
    if (
      (await new SigningSecretStore(clients.secrets, store, target.webhookSecretId, targetFlag(target)).layout()) === 'migration-pending'
    ) {
      // A staged copy would snapshot the signing secrets: a subscription added before promotion would be lost from AWSCURRENT.
      throw new CliError(
        `${target.secretId} still holds the webhook signing secrets, so a staged copy would drop any subscription added before the rotation finishes.`,
        `Move them to their own secret first with \`pd-agent secret split ${targetFlag(target)}\`, then stage the key.`,
      );
    }
    const current = await store.read();
    const label = current.oauth !== undefined ? 'new OAuth client secret' : 'new PagerDuty REST API key';
    const value = (
      io.stdin.isTTY === true
        ? await ask(io, `${label} (input hidden): `, { hidden: true, hintWhenNoTty: NO_TTY_HINT })
        : await readAllStdin(io)
    ).trim();
    if (value === '') throw new CliError(`No ${label} was given.`, 'Type it at the prompt, or pipe it in on stdin.');
    const staged: AgentSecret =
      current.oauth !== undefined ? { ...current, oauth: { ...current.oauth, clientSecret: value } } : { ...current, apiToken: value };
    if (JSON.stringify(staged) === JSON.stringify(current))
      throw new CliError(`The ${label} is the one already in use.`, 'Create a new key in PagerDuty first, then stage that one.');
    const token = await store.stageAndRotate(staged);
    const colours = coloursFor(io.stdout, io.env);
    writeLine(
      io.stdout,
      `${colours.green('✔')} Staged the ${label} as AWSPENDING (version ${token}) and started rotation of ${target.secretId}.`,
    );
    writeLine(
      io.stdout,
      'The rotation function tests it against PagerDuty and promotes it; `pd-agent doctor` shows the result. Revoke the old key in PagerDuty after that.',
    );
  } finally {
    clients.destroy();
  }
}

/** `secret split`: moves the webhook signing secrets of a stack deployed before the split into their own secret. */
export async function secretSplitCommand(options: TargetOptions, io: CliIo): Promise<void> {
  const target = await resolveTarget(options, io.env);
  const clients = clientsFor(target);
  try {
    const store = new AgentSecretStore(clients.secrets, target.secretId);
    const signing = new SigningSecretStore(clients.secrets, store, target.webhookSecretId, targetFlag(target));
    const result = await signing.split();
    const colours = coloursFor(io.stdout, io.env);
    writeLine(
      io.stdout,
      result.alreadySplit
        ? `${colours.green('✔')} Already split: ${signing.location} holds ${result.moved} signing secret(s); ${target.secretId} holds none.`
        : `${colours.green('✔')} Moved ${result.moved} signing secret(s) into ${signing.location} and removed them from ${target.secretId}.`,
    );
    if (target.webhookSecretLayout === 'migrating') {
      writeLine(
        io.stdout,
        `Last step: remove "webhookSecretLayout": "migrating" from this environment in cdk.json and run \`npx cdk deploy\`, so the ingress can no longer read ${target.secretId}.`,
      );
    }
  } finally {
    clients.destroy();
  }
}
