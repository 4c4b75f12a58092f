import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { AuditItem } from '../../audit/audit-record';
import { AgentSecretError, type AgentSecret, type WebhookSigningSecret } from '../../secrets/agent-secret';
import type { PagerDutyApi, WebhookSubscription } from '../../pagerduty/types';
import { AgentSecretStore } from '../agent-secret-store';
import { CliError } from '../cli-error';
import { SigningSecretStore } from '../signing-secret-store';
import { clientsFor, type TargetClients } from '../aws-clients';
import { coloursFor, startProgress, writeJson, writeLine, type CliIo } from '../output';
import { pagerDutyFor } from '../pagerduty-access';
import { acknowledgementOutcome, MAX_SERVICES_EXAMINED, PagingSetupReader, type ServicePagingSetup } from '../paging-setup';
import { resolveTarget, targetFlag, type StackTarget, type TargetOptions } from '../stack-target';
import { demotionChecks, outcomeChecks } from './doctor-outcomes';

export interface DoctorCheck {
  name: string;
  ok: boolean;
  /** Passed, but something is advised: printed as WARN, never fails doctor. */
  warning?: boolean;
  detail: string;
  /** What to do when the check fails (or warns). */
  fix?: string;
}

/** Every check doctor runs, in order, and what it verifies: `doctor --list` prints this. */
export const DOCTOR_CHECK_CATALOGUE: readonly { name: string; verifies: string }[] = [
  { name: 'secret shape', verifies: 'the credentials secret exists and holds an API key or OAuth client, fromEmail and botUserId' },
  { name: 'secret layout', verifies: 'the webhook signing secrets are in their own secret, which the internet-facing ingress alone reads' },
  { name: 'key rotation', verifies: 'no staged key (AWSPENDING) is stuck unpromoted' },
  {
    name: 'fallback routing key',
    verifies: 'fallbackRoutingKey is set, so an escalation PagerDuty refuses still pages a person (warns when missing)',
  },
  { name: 'PagerDuty key', verifies: 'PagerDuty accepts the key and it reads incidents; the account abilities the agent uses' },
  { name: 'agent identity', verifies: "fromEmail is a PagerDuty user and botUserId is that user's id" },
  { name: 'webhook subscriptions', verifies: "the environment's subscriptions exist and are enabled" },
  {
    name: 'paging: <service>',
    verifies:
      "one per service the subscriptions cover: whether the agent's user is first in its escalation policy (what it acknowledges), and the service's acknowledgement timeout",
  },
  { name: 'dead-letter queue', verifies: 'no message waits in the dead-letter queue' },
  { name: 'recent handbacks', verifies: 'the agent gave no incident back to people after failing in the last 24 h' },
  { name: 'contradicted holds', verifies: 'no incident a rule held in the last 30 days was contradicted by its outcome' },
  { name: 'rules ready for hold', verifies: 'which rules have the record to justify "hold" (information only)' },
  { name: 'demoted rules', verifies: 'no rule is demoted by the circuit breaker (a demoted rule holds nothing until promoted)' },
];

/** Abilities the agent relies on, where the account reports them. */
const USEFUL_ABILITIES = ['teams', 'coordinated_responding', 'read_only_users', 'urgencies', 'preview_incident_alert_grouping'];

interface DoctorContext {
  target: StackTarget;
  clients: TargetClients;
  secret?: AgentSecret;
  /** The signing secrets the ingress trusts, wherever the layout keeps them. */
  signingSecrets?: WebhookSigningSecret[];
  pagerDuty?: PagerDutyApi;
  /** This environment's subscriptions, once read. */
  subscriptions?: WebhookSubscription[];
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

/**
 * An escalation PagerDuty refuses, with nobody left to assign, pages people through the Events API on a fallback
 * service; without its routing key that last path is missing. Read from the raw document, so the check does not depend
 * on which fields this CLI's parser knows.
 */
async function checkFallbackRoutingKey(context: DoctorContext): Promise<DoctorCheck> {
  const name = 'fallback routing key';
  try {
    const raw = await new AgentSecretStore(context.clients.secrets, context.target.secretId).readRaw();
    const document = raw === undefined ? {} : (JSON.parse(raw) as { fallbackRoutingKey?: unknown });
    const key = document.fallbackRoutingKey;
    if (typeof key === 'string' && key !== '') return { name, ok: true, detail: 'set: a refused escalation still pages a person' };
    return {
      name,
      ok: true,
      warning: true,
      detail:
        'fallbackRoutingKey is not set: if PagerDuty refuses an escalation and no on-call can be assigned, nobody but the agent is paged (alarm NobodyPaged)',
      fix: `Create an Events API v2 integration on a service that pages people, and add its routing key as fallbackRoutingKey with \`pd-agent secret set ${targetFlag(context.target)}\` (stdin document).`,
    };
  } catch (error) {
    return { name, ok: false, detail: (error as Error).message, fix: 'Fix the secret first (`pd-agent secret set`).' };
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
    context.subscriptions = ours;
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

const minutes = (seconds: number): string => (seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`);

/** Per service the subscriptions cover: who PagerDuty pages first, so what the agent acknowledges, and the ack timeout. */
async function checkPaging(context: DoctorContext): Promise<DoctorCheck[]> {
  if (context.secret === undefined || context.subscriptions === undefined)
    return [{ name: 'paging', ok: false, detail: 'not checked: no readable subscription', fix: 'Fix the checks above first.' }];
  const reader = new PagingSetupReader(context.target, context.secret);
  try {
    const serviceIds = new Set<string>();
    for (const subscription of context.subscriptions)
      for (const id of await reader.servicesInScope(subscription.filter)) serviceIds.add(id);
    const checks: DoctorCheck[] = [];
    for (const serviceId of [...serviceIds].slice(0, MAX_SERVICES_EXAMINED)) checks.push(pagingCheck(await reader.setupOf(serviceId)));
    return checks.length > 0 ? checks : [{ name: 'paging', ok: true, detail: 'the subscriptions cover no service yet' }];
  } catch (error) {
    return [
      {
        name: 'paging',
        ok: false,
        detail: (error as Error).message,
        fix: 'The key may not read services or escalation policies: add services.read and escalation_policies.read (OAuth) or use an account-level key.',
      },
    ];
  }
}

function pagingCheck(setup: ServicePagingSetup): DoctorCheck {
  const timeout =
    setup.acknowledgementTimeoutSeconds === null
      ? 'no acknowledgement timeout'
      : `acknowledgement timeout ${minutes(setup.acknowledgementTimeoutSeconds)} (an acknowledged incident triggers again after it)`;
  const delay = setup.firstLevelDelayMinutes === null ? '' : `, ${setup.firstLevelDelayMinutes} min`;
  const detail = `policy "${setup.policyName}" (${setup.policyId}) level 1${delay}: ${setup.firstLevel.join(', ') || 'nobody'}; ${timeout}. ${acknowledgementOutcome(setup)}`;
  const name = `paging: ${setup.serviceName} (${setup.serviceId})`;
  if (setup.agentFirst) return { name, ok: true, detail };
  return {
    name,
    ok: true,
    warning: true,
    detail,
    fix: `For a silent acknowledgement and a person paged only when needed, put the agent's user at level 1 of ${setup.policyId} with a short delay (e.g. 5 min) and the people at level 2 (docs/running-locally.md "Which incidents the agent acknowledges").`,
  };
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
    const checks = [
      await checkSecret(context),
      await checkLayout(context),
      await checkRotation(context),
      await checkFallbackRoutingKey(context),
    ];
    checks.push(await checkKey(context), await checkIdentity(context), await checkSubscriptions(context));
    checks.push(...(await checkPaging(context)));
    checks.push(...(await Promise.all([checkDeadLetters(context), checkHandbacks(context)])));
    checks.push(...(await outcomeChecks(clients)), ...(await demotionChecks(clients)));
    return checks;
  } finally {
    clients.destroy();
  }
}

/** The catalogue, for `doctor --list`: what each check verifies, without running any. */
export function listDoctorChecks(io: CliIo, json: boolean): void {
  if (json) {
    writeJson(io, { checks: DOCTOR_CHECK_CATALOGUE });
    return;
  }
  for (const check of DOCTOR_CHECK_CATALOGUE) writeLine(io.stdout, `${check.name}: ${check.verifies}`);
}

/** One PASS/WARN/FAIL line per check, then the counts; exit code 1 when any failed (warnings do not fail). */
export async function doctorCommand(options: TargetOptions & { json?: boolean; list?: boolean }, io: CliIo): Promise<boolean> {
  if (options.list === true) {
    listDoctorChecks(io, options.json === true);
    return true;
  }
  const target = await resolveTarget(options, io.env);
  const progress = startProgress(io, `Checking ${target.name}`);
  const checks = await runDoctorChecks(target).finally(() => progress.stop());
  const healthy = checks.every((check) => check.ok);
  const failed = checks.filter((check) => !check.ok).length;
  const warned = checks.filter((check) => check.ok && check.warning === true).length;
  if (options.json === true) {
    writeJson(io, {
      environment: target.name,
      healthy,
      counts: { checks: checks.length, passed: checks.length - failed - warned, warnings: warned, failed },
      checks,
    });
    return healthy;
  }
  const colours = coloursFor(io.stdout, io.env);
  for (const check of checks) {
    const label = !check.ok ? colours.red('FAIL') : check.warning === true ? colours.yellow('WARN') : colours.green('PASS');
    writeLine(io.stdout, `${label}  ${check.name}: ${check.detail}`);
    if ((!check.ok || check.warning === true) && check.fix !== undefined) writeLine(io.stdout, `      ${colours.dim('→')} ${check.fix}`);
  }
  writeLine(
    io.stdout,
    `${checks.length} checks: ${checks.length - failed - warned} passed, ${warned} warning(s), ${failed} failed (\`pd-agent doctor --list\` says what each verifies).`,
  );
  return healthy;
}
