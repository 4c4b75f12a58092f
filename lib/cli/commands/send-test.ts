import { createHmac, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CliError } from '../cli-error';
import { AgentSecretStore } from '../agent-secret-store';
import { SigningSecretStore } from '../signing-secret-store';
import { clientsFor } from '../aws-clients';
import { coloursFor, writeJson, writeLine, type CliIo } from '../output';
import { readAllStdin } from '../prompt';
import { REPO_ROOT, resolveTarget, targetFlag, type TargetOptions } from '../stack-target';

export interface SendTestOptions extends TargetOptions {
  url?: string;
  secretStdin?: boolean;
  twice?: boolean;
  badSignature?: boolean;
  json?: boolean;
}

export const FIXTURE_DIR = join(REPO_ROOT, 'test', 'fixtures', 'pagerduty-webhooks');

export function fixtureNames(dir = FIXTURE_DIR): string[] {
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((file) => file.endsWith('.json'))
        .map((file) => basename(file, '.json'))
    : [];
}

/** The bytes to send: a file path, or a fixture name (`triggered_v3`). */
export function loadPayload(nameOrPath: string, dir = FIXTURE_DIR): Buffer {
  if (existsSync(nameOrPath)) return readFileSync(nameOrPath);
  const fixture = join(dir, `${nameOrPath.replace(/\.json$/, '')}.json`);
  if (existsSync(fixture)) return readFileSync(fixture);
  throw new CliError(`"${nameOrPath}" is neither a file nor a fixture.`, `Give a file path, or one of: ${fixtureNames(dir).join(', ')}.`);
}

/** PagerDuty's V3 signature: `v1=` + hex HMAC-SHA256 of the exact bytes, one entry per secret. */
export function signPayload(body: Buffer, secrets: string[]): string {
  return secrets.map((secret) => `v1=${createHmac('sha256', secret).update(body).digest('hex')}`).join(',');
}

export interface DeliveryResult {
  attempt: number;
  status: number;
  body: string;
  webhookId: string;
}

export async function sendTestCommand(payload: string, options: SendTestOptions, io: CliIo): Promise<DeliveryResult[]> {
  const body = loadPayload(payload);
  let url = options.url;
  let secrets: string[];
  if (options.secretStdin === true) {
    const secret = (await readAllStdin(io)).replace(/\r?\n$/, '');
    if (secret === '')
      throw new CliError(
        '--secret-stdin was given but stdin was empty.',
        'Pipe the signing secret in, e.g. `printf %s "$SECRET" | pd-agent send-test …`.',
      );
    secrets = [secret];
  } else {
    if (options.env === undefined && options.local !== true) {
      throw new CliError(
        'No signing secret.',
        "Pass --secret-stdin and pipe the secret in, or --env <name> / --local to sign with that environment's secret.",
      );
    }
    const target = await resolveTarget(options, io.env);
    url ??= target.webhookUrl;
    const clients = clientsFor(target);
    try {
      const credentials = new AgentSecretStore(clients.secrets, target.secretId);
      const signing = new SigningSecretStore(clients.secrets, credentials, target.webhookSecretId, targetFlag(target));
      secrets = (await signing.entries()).map((entry) => entry.secret);
    } finally {
      clients.destroy();
    }
    if (secrets.length === 0)
      throw new CliError(
        `The environment has no webhook signing secret stored.`,
        'Create a subscription with `pd-agent webhook subscribe`, which stores its signing secret.',
      );
  }
  if (url === undefined) {
    if (options.env === undefined && options.local !== true)
      throw new CliError('No URL to deliver to.', "Pass --url <webhook url>, or --env <name> / --local to use that stack's webhook URL.");
    url = (await resolveTarget(options, io.env)).webhookUrl;
  }
  const signature = options.badSignature === true ? signPayload(body, [`forged-${randomUUID()}`]) : signPayload(body, secrets);
  const results: DeliveryResult[] = [];
  const webhookId = randomUUID();
  for (let attempt = 1; attempt <= (options.twice === true ? 2 : 1); attempt += 1) {
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'user-agent': 'PagerDuty-Webhook/V3.0 (pd-agent send-test)',
          'x-pagerduty-signature': signature,
          'x-webhook-id': webhookId,
        },
        body,
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      throw new CliError(
        `Could not deliver to ${url}: ${(error as Error).message}`,
        'Check the URL, and that the stack is running (`npm start` for --local).',
      );
    }
    results.push({ attempt, status: response.status, body: await response.text(), webhookId });
  }
  if (options.json === true) {
    writeJson(io, { url, bytes: body.length, results });
    return results;
  }
  const colours = coloursFor(io.stdout, io.env);
  for (const result of results) {
    const status = result.status < 300 ? colours.green(String(result.status)) : colours.red(String(result.status));
    writeLine(io.stdout, `delivery ${result.attempt}: ${status} ${result.body}`);
  }
  return results;
}
