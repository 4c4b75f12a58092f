import { createHmac, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CliError } from '../cli-error';
import { AgentSecretStore } from '../agent-secret-store';
import { SigningSecretStore } from '../signing-secret-store';
import { clientsFor } from '../aws-clients';
import { coloursFor, writeJson, writeLine, type CliIo } from '../output';
import { readAllStdin } from '../prompt';
import { acknowledgementOutcome, PagingSetupReader, type ServicePagingSetup } from '../paging-setup';
import { placeSandboxIncident, type PlacedIncident } from '../sandbox-incident';
import { REPO_ROOT, resolveTarget, targetFlag, type StackTarget, type TargetOptions } from '../stack-target';
import { TRIGGERING_EVENT_TYPES } from '../../agent/process-event';
import { authFromSecret } from '../../pagerduty/auth';
import type { AgentSecret } from '../../secrets/agent-secret';
import { parseWebhookEvent } from '../../webhook/parse-event';

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

/**
 * What `--local` does about the incident before delivering: a triggering event's incident is made to exist in the
 * sandbox (a fixture's incident does not exist there, and the agent would give up on a 404); other events are
 * delivered as they are.
 */
type IncidentPreparation =
  | { kind: 'placed'; placed: PlacedIncident; title: string; paging: ServicePagingSetup }
  | { kind: 'not-triggering'; eventType: string; incidentId: string }
  | { kind: 'none' };

async function prepareSandboxIncident(body: Buffer, secret: AgentSecret, target: StackTarget): Promise<IncidentPreparation> {
  const parsed = parseWebhookEvent(body);
  if (!parsed.ok) return { kind: 'none' };
  const { event } = parsed;
  const incidentId = event.incidentId;
  if (incidentId === null) return { kind: 'none' };
  if (!TRIGGERING_EVENT_TYPES.includes(event.eventType) || event.incident === null)
    return { kind: 'not-triggering', eventType: event.eventType, incidentId };
  const authorization = await authFromSecret(secret, { apiUrl: target.pagerDutyApiUrl, secretId: target.secretId }).authorization();
  const placed = await placeSandboxIncident(target.pagerDutyApiUrl, authorization, event.incident);
  const paging = await new PagingSetupReader(target, secret).setupOf(placed.serviceId);
  return { kind: 'placed', placed, title: event.incident.title ?? incidentId, paging };
}

function preparationLines(preparation: IncidentPreparation): string[] {
  if (preparation.kind === 'none') return [];
  if (preparation.kind === 'not-triggering')
    return [
      `sandbox: ${preparation.eventType} is not a triggering event: delivered as it is, nothing created in the sandbox; the agent records it in the audit trail (it triages only ${TRIGGERING_EVENT_TYPES.join(' and ')})`,
    ];
  const { placed, title } = preparation;
  const lines = [
    placed.created
      ? `sandbox: created incident ${placed.id} "${title}" (no webhook of its own: the delivery below is its trigger)`
      : `sandbox: incident ${placed.id} already exists; delivering its trigger again`,
  ];
  if (placed.serviceSubstituted !== undefined)
    lines.push(
      `sandbox: the webhook's service ${placed.serviceSubstituted.requested} is not in the sandbox; the incident is on service ${placed.serviceSubstituted.used} instead`,
    );
  return lines;
}

export async function sendTestCommand(payload: string, options: SendTestOptions, io: CliIo): Promise<DeliveryResult[]> {
  const body = loadPayload(payload);
  let url = options.url;
  let secrets: string[];
  let preparation: IncidentPreparation = { kind: 'none' };
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
      // A forged delivery must be refused, so there is no incident to prepare for it.
      if (target.pagerDutySandbox && options.badSignature !== true)
        preparation = await prepareSandboxIncident(body, await credentials.read(), target);
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
  const accepted = results.some((result) => result.status === 202);
  const next =
    preparation.kind !== 'none' && accepted
      ? `npx pd-agent audit --local --incident ${preparation.kind === 'placed' ? preparation.placed.id : preparation.incidentId}`
      : undefined;
  if (options.json === true) {
    writeJson(io, {
      url,
      bytes: body.length,
      results,
      ...(preparation.kind === 'placed'
        ? {
            sandboxIncident: preparation.placed,
            agentFirst: preparation.paging.agentFirst,
            escalationPolicyId: preparation.paging.policyId,
          }
        : {}),
      ...(next === undefined ? {} : { next }),
    });
    return results;
  }
  const colours = coloursFor(io.stdout, io.env);
  for (const line of preparationLines(preparation)) writeLine(io.stdout, colours.dim(line));
  for (const result of results) {
    const status = result.status < 300 ? colours.green(String(result.status)) : colours.red(String(result.status));
    writeLine(io.stdout, `delivery ${result.attempt}: ${status} ${result.body}${deliveryMeaning(result, options)}`);
  }
  if (preparation.kind === 'placed' && accepted)
    writeLine(
      io.stdout,
      `What happens (acknowledge "agent-first", the default): ${acknowledgementOutcome(preparation.paging)} (policy ${preparation.paging.policyId}).`,
    );
  if (next !== undefined)
    writeLine(
      io.stdout,
      `Next: ${colours.bold(next)}  (within seconds: ${preparation.kind === 'placed' ? "the agent's note, its decision, and its acknowledgement if it made one" : 'what the agent recorded'})`,
    );
  return results;
}

/** What an answer means for someone trying the stack, so an expected 200 or 401 does not read as a failure. */
function deliveryMeaning(result: DeliveryResult, options: SendTestOptions): string {
  if (result.status === 202) return '  → accepted and queued for the agent';
  if (result.status === 200 && result.body.includes('"duplicate"'))
    return result.attempt > 1
      ? '  → a duplicate, answered 200 and not queued again, as expected'
      : '  → this event id was delivered before (a fixture keeps its id), so it is a duplicate and not queued again';
  if (result.status === 200 && result.body.includes('"ping"')) return '  → a ping, answered 200 (nothing to queue)';
  if (result.status === 401 && options.badSignature === true) return '  → refused, as expected for a forged signature';
  return '';
}
