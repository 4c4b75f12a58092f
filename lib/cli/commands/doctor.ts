import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { AuditItem } from '../../audit/audit-record';
import { AgentSecretError, type AgentSecret, type WebhookSigningSecret } from '../../secrets/agent-secret';
import type { PagerDutyApi } from '../../pagerduty/types';
import { AgentSecretStore } from '../agent-secret-store';
import { CliError } from '../cli-error';
import { SigningSecretStore } from '../signing-secret-store';
import { clientsFor, type TargetClients } from '../aws-clients';
import { coloursFor, startProgress, writeJson, writeLine, type CliIo } from '../output';
import { pagerDutyFor } from '../pagerduty-access';
import { resolveTarget, targetFlag, type StackTarget, type TargetOptions } from '../stack-target';
import { outcomeChecks } from './doctor-outcomes';

export interface DoctorCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do when the check fails. */
  fix?: string;
}

/** Abilities the agent relies on, where the account reports them. */
const USEFUL_ABILITIES = ['teams', 'coordinated_responding', 'read_only_users', 'urgencies', 'preview_incident_alert_grouping'];

interface DoctorContext {
  target: StackTarget;
  clients: TargetClients;
  secret?: AgentSecret;
  /** The signing secrets the ingress trusts, wherever the layout keeps them. */
  signingSecrets?: WebhookSigningSecret[];
  pagerDuty?: PagerDutyApi;
}

async function checkSecret(context: DoctorContext): Promise<DoctorCheck> {
  try {
    context.secret = await new AgentSecretStore(context.clients.secrets, context.target.secretId).read();
    context.pagerDuty = pagerDutyFor(context.target, context.secret);
    return {
      name: 'secret shape',
      ok: true,
      detail: `${context.target.secretId}: ${context.secret.apiToken !== undefined ? 'API key' : 'OAuth client'}, from ${context.secret.fromEmail}`,
    };
  } catch (error) {
    const detail = error instanceof AgentSecretError ? error.problems : (error as Error).message;
    return { name: 'secret shape', ok: false, detail, fix: 'Write it with `pd-agent secret set` (prompt or stdin).' };
  }
}

/**
 * Where the signing secrets live: their own secret (split), still in the credentials secret of a stack deployed before
 * the split (migration pending, or the stack itself predates it), and whether the ingress may still read the credentials.
 */
async function checkLayout(context: DoctorContext): Promise<DoctorCheck> {
  const { target } = context;
  const flag = targetFlag(target);
  const name = 'secret layout';
  try {
    const signing = new SigningSecretStore(
      context.clients.secrets,
      new AgentSecretStore(context.clients.secrets, target.secretId),
      target.webhookSecretId,
      flag,
    );
    const layout = await signing.layout();
    // Before the split the signing secrets are the credentials document's (read by checkSecret just before).
    if (layout !== 'split') context.signingSecrets = context.secret?.webhookSecrets ?? [];
    if (layout === 'single-document') {
      return {
        name,
        ok: false,
        detail: `single document: the signing secrets are in ${target.secretId}, which the internet-facing ingress can read`,
        fix: `Deploy the stack with this version (set "webhookSecretLayout": "migrating" in cdk.json first), then run \`pd-agent secret split ${flag}\` (docs/operations.md "Upgrading a stack deployed before the split").`,
      };
    }
    if (layout === 'migration-pending') {
      return {
        name,
        ok: false,
        detail: `migration pending: ${target.webhookSecretId} exists, but the signing secrets are still in ${target.secretId}`,
        fix: `Run \`pd-agent secret split ${flag}\`.`,
      };
    }
    context.signingSecrets = await signing.entries();
    if (target.webhookSecretLayout === 'migrating') {
      return {
        name,
        ok: false,
        detail: `split: ${context.signingSecrets.length} signing secret(s) in ${target.webhookSecretId}, but the stack still lets the ingress read ${target.secretId}`,
        fix: 'Remove "webhookSecretLayout": "migrating" from this environment in cdk.json and run `npx cdk deploy`.',
      };
    }
    return {
      name,
      ok: true,
      detail: `split: ${context.signingSecrets.length} signing secret(s) in ${target.webhookSecretId}; the ingress cannot read ${target.secretId}`,
    };
  } catch (error) {
    const detail = error instanceof CliError ? `${error.message} ${error.hint}` : (error as Error).message;
    return { name, ok: false, detail, fix: 'Check your AWS credentials may read both secrets.' };
  }
}

/** A staged key that never became AWSCURRENT: the rotation failed (or is running right now) and the old key is in use. */
async function checkRotation(context: DoctorContext): Promise<DoctorCheck> {
  try {
    const described = await context.clients.secrets.send(new DescribeSecretCommand({ SecretId: context.target.secretId }));
    const stages = Object.entries(described.VersionIdsToStages ?? {});
    const stuck = stages.find(([, labels]) => labels.includes('AWSPENDING') && !labels.includes('AWSCURRENT'));
    const last = described.LastRotatedDate === undefined ? 'never rotated' : `last rotated ${described.LastRotatedDate.toISOString()}`;
    if (stuck === undefined) return { name: 'key rotation', ok: true, detail: `nothing pending; ${last}` };
    return {
      name: 'key rotation',
      ok: false,
      detail: `version ${stuck[0]} is staged (AWSPENDING) but was not promoted: the rotation failed or is still running; the current key stays in use`,
      fix: "The rotate-secret function's log says why (alarm RotationFailures). Stage a key PagerDuty accepts with `pd-agent secret stage`.",
    };
  } catch (error) {
    return {
      name: 'key rotation',
      ok: false,
      detail: (error as Error).message,
      fix: 'Check your AWS credentials may describe the secret.',
    };
  }
}

async function checkKey(context: DoctorContext): Promise<DoctorCheck> {
  if (context.pagerDuty === undefined)
    return { name: 'PagerDuty key', ok: false, detail: 'not checked: the secret is unreadable', fix: 'Fix the secret first.' };
  try {
    const abilities = (await context.pagerDuty.listAbilities()).value;
    await context.pagerDuty.listIncidents({ max: 1 });
    const useful = USEFUL_ABILITIES.filter((ability) => abilities.includes(ability));
    return {
      name: 'PagerDuty key',
      ok: true,
      detail: `accepted; reads incidents; ${abilities.length} account abilities${useful.length > 0 ? ` (${useful.join(', ')})` : ''}`,
    };
  } catch (error) {
    return {
      name: 'PagerDuty key',
      ok: false,
      detail: (error as Error).message,
      fix: 'Create a new key in PagerDuty and stage it with `pd-agent secret stage`.',
    };
  }
}

async function checkIdentity(context: DoctorContext): Promise<DoctorCheck> {
  if (context.pagerDuty === undefined || context.secret === undefined)
    return { name: 'agent identity', ok: false, detail: 'not checked: the secret is unreadable', fix: 'Fix the secret first.' };
  try {
    const users = (await context.pagerDuty.findUsersByEmail(context.secret.fromEmail)).value;
    const user = users.find((candidate) => candidate.email.toLowerCase() === context.secret?.fromEmail.toLowerCase());
    if (user === undefined)
      return {
        name: 'agent identity',
        ok: false,
        detail: `no PagerDuty user has the email ${context.secret.fromEmail}`,
        fix: "Create the agent's PagerDuty user, or correct fromEmail with `pd-agent secret set`.",
      };
    if (user.id !== context.secret.botUserId) {
      return {
        name: 'agent identity',
        ok: false,
        detail: `${context.secret.fromEmail} is user ${user.id}, but botUserId is ${context.secret.botUserId}`,
        fix: `Set botUserId to ${user.id} with \`pd-agent secret set\`, or the agent would triage its own events.`,
      };
    }
    return { name: 'agent identity', ok: true, detail: `${context.secret.fromEmail} is ${user.id} (${user.name})` };
  } catch (error) {
    return {
      name: 'agent identity',
      ok: false,
      detail: (error as Error).message,
      fix: 'Check the key can read users (users.read scope for OAuth).',
    };
  }
}

async function checkSubscriptions(context: DoctorContext): Promise<DoctorCheck> {
  if (context.pagerDuty === undefined || context.signingSecrets === undefined)
    return {
      name: 'webhook subscriptions',
      ok: false,
      detail: 'not checked: the credentials or the signing secrets are unreadable',
      fix: 'Fix the secret layout and shape first.',
    };
  try {
    const subscriptions = (await context.pagerDuty.listWebhookSubscriptions()).value;
    const ids = new Set(context.signingSecrets.map((entry) => entry.subscriptionId));
    const ours = subscriptions.filter((subscription) => ids.has(subscription.id));
    const missing = [...ids].filter((id) => !subscriptions.some((subscription) => subscription.id === id));
    const disabled = ours.filter((subscription) => subscription.delivery_method.temporarily_disabled || !subscription.active);
    if (ours.length === 0)
      return {
        name: 'webhook subscriptions',
        ok: false,
        detail: 'no subscription of this environment exists in PagerDuty',
        fix: 'Create one with `pd-agent webhook subscribe`.',
      };
    if (disabled.length > 0)
      return {
        name: 'webhook subscriptions',
        ok: false,
        detail: `${disabled.map((subscription) => subscription.id).join(', ')} disabled`,
        fix: 'Fix the delivery failures, then `pd-agent webhook status --enable`.',
      };
    return {
      name: 'webhook subscriptions',
      ok: true,
      detail: `${ours.length} enabled${missing.length > 0 ? `; secrets for deleted subscriptions ${missing.join(', ')} can be dropped` : ''}`,
    };
  } catch (error) {
    return {
      name: 'webhook subscriptions',
      ok: false,
      detail: (error as Error).message,
      fix: 'The key may not read webhook subscriptions: use an account-level key or add webhook_subscriptions.read.',
    };
  }
}

async function checkDeadLetters(context: DoctorContext): Promise<DoctorCheck> {
  try {
    const answer = await context.clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: context.target.deadLetterQueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    const depth = Number(answer.Attributes?.ApproximateNumberOfMessages ?? 0);
    return depth === 0
      ? { name: 'dead-letter queue', ok: true, detail: 'empty' }
      : {
          name: 'dead-letter queue',
          ok: false,
          detail: `${depth} message(s) waiting`,
          fix: 'Read why in `pd-agent audit --since 24h --action handback`, fix the cause, then `pd-agent redrive`.',
        };
  } catch (error) {
    return {
      name: 'dead-letter queue',
      ok: false,
      detail: (error as Error).message,
      fix: 'Check your AWS credentials may read the queue.',
    };
  }
}

async function checkHandbacks(context: DoctorContext): Promise<DoctorCheck> {
  try {
    const until = new Date();
    const since = new Date(until.getTime() - 24 * 3_600_000);
    const items: AuditItem[] = (await context.clients.audit.byTimeRange(since, until, { action: 'handback', limit: 100 })).items;
    if (items.length === 0) return { name: 'recent handbacks', ok: true, detail: 'none in the last 24 h' };
    const incidents = [...new Set(items.map((item) => item.incidentId))];
    return {
      name: 'recent handbacks',
      ok: false,
      detail: `${items.length} in the last 24 h (${incidents.slice(0, 5).join(', ')}${incidents.length > 5 ? ', …' : ''})`,
      fix: 'The agent gave incidents back to humans after failing: `pd-agent audit --since 24h --action handback` says why.',
    };
  } catch (error) {
    return {
      name: 'recent handbacks',
      ok: false,
      detail: (error as Error).message,
      fix: 'Check your AWS credentials may query the audit table.',
    };
  }
}

export async function runDoctorChecks(target: StackTarget): Promise<DoctorCheck[]> {
  const clients = clientsFor(target);
  const context: DoctorContext = { target, clients };
  try {
    const checks = [await checkSecret(context), await checkLayout(context), await checkRotation(context)];
    checks.push(await checkKey(context), await checkIdentity(context), await checkSubscriptions(context));
    checks.push(...(await Promise.all([checkDeadLetters(context), checkHandbacks(context)])));
    checks.push(...(await outcomeChecks(clients)));
    return checks;
  } finally {
    clients.destroy();
  }
}

/** One pass/fail line per check; exit code 1 when any failed. */
export async function doctorCommand(options: TargetOptions & { json?: boolean }, io: CliIo): Promise<boolean> {
  const target = await resolveTarget(options, io.env);
  const progress = startProgress(io, `Checking ${target.name}`);
  const checks = await runDoctorChecks(target).finally(() => progress.stop());
  const healthy = checks.every((check) => check.ok);
  if (options.json === true) {
    writeJson(io, { environment: target.name, healthy, checks });
    return healthy;
  }
  const colours = coloursFor(io.stdout, io.env);
  for (const check of checks) {
    writeLine(io.stdout, `${check.ok ? colours.green('PASS') : colours.red('FAIL')}  ${check.name}: ${check.detail}`);
    if (!check.ok && check.fix !== undefined) writeLine(io.stdout, `      ${colours.dim('→')} ${check.fix}`);
  }
  return healthy;
}
