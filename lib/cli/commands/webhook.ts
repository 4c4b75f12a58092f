import { PagerDutyApiError } from '../../pagerduty/errors';
import type { PagerDutyApi, WebhookSubscription } from '../../pagerduty/types';
import type { AgentSecret } from '../../secrets/agent-secret';
import { AgentSecretStore } from '../agent-secret-store';
import { SigningSecretStore } from '../signing-secret-store';
import { clientsFor } from '../aws-clients';
import { CliError } from '../cli-error';
import { coloursFor, renderTable, writeJson, writeLine, type CliIo } from '../output';
import { pagerDutyFor } from '../pagerduty-access';
import { confirm } from '../prompt';
import { resolveTarget, targetFlag, type StackTarget, type TargetOptions } from '../stack-target';

/** The event types the agent needs: triggers and reopens to triage, the rest recorded in the audit trail. */
export const DEFAULT_EVENTS = [
  'incident.triggered',
  'incident.reopened',
  'incident.acknowledged',
  'incident.unacknowledged',
  'incident.escalated',
  'incident.reassigned',
  'incident.resolved',
  'incident.priority_updated',
];

export interface SubscribeOptions extends TargetOptions {
  scope?: string;
  scopeId?: string;
  events?: string;
  json?: boolean;
}

interface Session {
  target: StackTarget;
  signing: SigningSecretStore;
  secret: AgentSecret;
  pagerDuty: PagerDutyApi;
  close(): void;
}

async function openSession(options: TargetOptions, io: CliIo): Promise<Session> {
  const target = await resolveTarget(options, io.env);
  const clients = clientsFor(target);
  try {
    const store = new AgentSecretStore(clients.secrets, target.secretId);
    const secret = await store.read();
    const signing = new SigningSecretStore(clients.secrets, store, target.webhookSecretId, targetFlag(target));
    return { target, signing, secret, pagerDuty: pagerDutyFor(target, secret), close: () => clients.destroy() };
  } catch (error) {
    clients.destroy();
    throw error;
  }
}

function filterFor(scope: string | undefined, scopeId: string | undefined): WebhookSubscription['filter'] {
  switch (scope ?? 'account') {
    case 'account':
      return { type: 'account_reference' };
    case 'service':
    case 'team':
      if (scopeId === undefined)
        throw new CliError(`--scope ${scope} needs --scope-id.`, `Give the PagerDuty ${scope} id, e.g. --scope-id PABC123.`);
      return { type: scope === 'service' ? 'service_reference' : 'team_reference', id: scopeId };
    default:
      throw new CliError(`--scope "${scope}" is not known.`, 'Use --scope service, team or account.');
  }
}

function pagerDutyFailure(action: string, error: unknown): CliError {
  if (error instanceof PagerDutyApiError) {
    const hint =
      error.status === 401
        ? 'The key in the secret is not accepted: check it with `pd-agent doctor`.'
        : error.status === 403
          ? 'The key may not manage webhook subscriptions: use an account-level key or an OAuth client with webhook_subscriptions.write.'
          : "See PagerDuty's message above; retry once it is fixed.";
    return new CliError(`${action} failed: ${error.message}`, hint);
  }
  return new CliError(
    `${action} failed: ${(error as Error).message}`,
    'Check the PagerDuty API URL (--pagerduty-api-url) and your network.',
  );
}

/**
 * Creates a subscription to the stack's URL inactive, stores its signing secret, then activates it: no delivery can
 * be signed with a secret the ingress does not have yet. If the secret cannot be stored, the inactive subscription is
 * deleted again.
 */
async function createAndStore(session: Session, filter: WebhookSubscription['filter'], events: string[]): Promise<WebhookSubscription> {
  let created: WebhookSubscription;
  try {
    created = (
      await session.pagerDuty.createWebhookSubscription({
        url: session.target.webhookUrl,
        events,
        filter,
        description: `pd-agent ${session.target.name}`,
        active: false,
      })
    ).value;
  } catch (error) {
    throw pagerDutyFailure('Creating the webhook subscription', error);
  }
  const signingSecret = created.delivery_method.secret;
  try {
    if (signingSecret === null || signingSecret === '') {
      throw new CliError(
        `PagerDuty created subscription ${created.id} but returned no signing secret.`,
        'Run this again; the agent cannot verify deliveries without the secret.',
      );
    }
    await session.signing.add({ subscriptionId: created.id, secret: signingSecret });
  } catch (error) {
    // Inactive, it has delivered nothing; deleting it leaves no subscription whose secret the ingress lacks.
    try {
      await session.pagerDuty.deleteWebhookSubscription(created.id);
    } catch {
      throw new CliError(
        `${(error as Error).message} Deleting the inactive subscription ${created.id} failed too.`,
        `Delete ${created.id} in PagerDuty (Integrations → Generic Webhooks (v3)); it delivers nothing while inactive.`,
      );
    }
    throw error;
  }
  try {
    return (await session.pagerDuty.setWebhookSubscriptionActive(created.id, true)).value;
  } catch (error) {
    const failure = pagerDutyFailure(`Activating subscription ${created.id}`, error);
    throw new CliError(
      `${failure.message} Its signing secret is stored, but PagerDuty sends it nothing while it is inactive.`,
      `Activate it in PagerDuty (Integrations → Generic Webhooks (v3)), or \`pd-agent webhook revoke ${created.id} ${targetFlag(session.target)} --yes\` and subscribe again.`,
    );
  }
}

interface SubscriptionSummary {
  id: string;
  url: string;
  scope: string;
  events: string[];
  active: boolean;
  temporarilyDisabled: boolean;
}

const describeSubscription = (subscription: WebhookSubscription): SubscriptionSummary => ({
  id: subscription.id,
  url: subscription.delivery_method.url,
  scope: subscription.filter.type.replace('_reference', '') + (subscription.filter.id === undefined ? '' : ` ${subscription.filter.id}`),
  events: subscription.events,
  active: subscription.active,
  temporarilyDisabled: subscription.delivery_method.temporarily_disabled,
});

export async function webhookSubscribeCommand(options: SubscribeOptions, io: CliIo): Promise<WebhookSubscription> {
  const filter = filterFor(options.scope, options.scopeId);
  const events =
    options.events === undefined
      ? DEFAULT_EVENTS
      : options.events
          .split(',')
          .map((event) => event.trim())
          .filter((event) => event !== '');
  const session = await openSession(options, io);
  try {
    const created = await createAndStore(session, filter, events);
    if (options.json === true) writeJson(io, describeSubscription(created));
    else {
      const colours = coloursFor(io.stdout, io.env);
      writeLine(
        io.stdout,
        `${colours.green('✔')} Subscription ${created.id} delivers ${events.length} event type(s) to ${session.target.webhookUrl}.`,
      );
      writeLine(
        io.stdout,
        `  Its signing secret is stored in ${session.signing.location} (not shown) before the subscription was activated.`,
      );
    }
    return created;
  } finally {
    session.close();
  }
}

export interface RotateOptions extends TargetOptions {
  subscription?: string;
  yes?: boolean;
}

/** Adds a second subscription and its secret; after confirmation, deletes the old one and drops its secret. */
export async function webhookRotateCommand(options: RotateOptions, io: CliIo): Promise<void> {
  const session = await openSession(options, io);
  const colours = coloursFor(io.stdout, io.env);
  try {
    const known = new Set((await session.signing.entries()).map((entry) => entry.subscriptionId));
    let subscriptions: WebhookSubscription[];
    try {
      subscriptions = (await session.pagerDuty.listWebhookSubscriptions()).value;
    } catch (error) {
      throw pagerDutyFailure('Listing webhook subscriptions', error);
    }
    const candidates = subscriptions.filter(
      (subscription) => known.has(subscription.id) && (options.subscription === undefined || subscription.id === options.subscription),
    );
    if (candidates.length !== 1) {
      throw new CliError(
        candidates.length === 0
          ? 'No subscription of this environment was found to rotate.'
          : `${candidates.length} subscriptions of this environment exist.`,
        candidates.length === 0
          ? 'Create one with `pd-agent webhook subscribe`, or check the secret with `pd-agent doctor`.'
          : `Name the one to rotate with --subscription <id> (${candidates.map((candidate) => candidate.id).join(', ')}).`,
      );
    }
    const old = candidates[0];
    const created = await createAndStore(session, old.filter, old.events);
    writeLine(
      io.stdout,
      `${colours.green('✔')} New subscription ${created.id} created; both ${old.id} and ${created.id} now deliver and verify (duplicates are deduplicated).`,
    );
    if (!(await confirm(io, `Delete the old subscription ${old.id} and its signing secret?`, options.yes === true))) {
      writeLine(
        io.stdout,
        `Kept ${old.id}. Run \`pd-agent webhook rotate --subscription ${old.id} --yes\` … or delete it later; both secrets stay valid until then.`,
      );
      return;
    }
    await deleteSubscription(session, old.id, 'Its signing secret is still stored, so both subscriptions still deliver and verify.', {
      rerun: `pd-agent webhook revoke ${old.id} ${targetFlag(session.target)} --yes`,
    });
    await removeSecretAfterDelete(session, old.id);
    writeLine(io.stdout, `${colours.green('✔')} Deleted ${old.id} and removed its signing secret from ${session.signing.location}.`);
  } finally {
    session.close();
  }
}

/** Deletes a subscription in PagerDuty; one that is gone already counts as deleted. `state` says where that leaves things. */
async function deleteSubscription(session: Session, subscriptionId: string, state: string, options: { rerun: string }): Promise<void> {
  try {
    await session.pagerDuty.deleteWebhookSubscription(subscriptionId);
  } catch (error) {
    if (error instanceof PagerDutyApiError && error.status === 404) return;
    const failure = pagerDutyFailure(`Deleting subscription ${subscriptionId}`, error);
    throw new CliError(
      `${failure.message} ${state}`,
      `Run \`${options.rerun}\` once PagerDuty answers, or delete it in PagerDuty (Integrations → Generic Webhooks (v3)). ${failure.hint}`,
    );
  }
}

/** The subscription is gone, so its stored secret verifies nothing any more; a failure to remove it only leaves clutter. */
async function removeSecretAfterDelete(session: Session, subscriptionId: string): Promise<void> {
  try {
    await session.signing.remove(subscriptionId);
  } catch (error) {
    const hint = error instanceof CliError ? ` (${error.hint})` : '';
    throw new CliError(
      `Deleted subscription ${subscriptionId} in PagerDuty, but removing its signing secret from ${session.signing.location} failed: ${(error as Error).message}`,
      `Run \`pd-agent webhook revoke ${subscriptionId} ${targetFlag(session.target)} --yes\` to remove it${hint}; no delivery is refused meanwhile, since the subscription is gone.`,
    );
  }
}

export interface RevokeOptions extends TargetOptions {
  yes?: boolean;
  /** The secret is compromised: stop trusting it before anything else, accepting 401s until the subscription is gone. */
  leaked?: boolean;
}

/** Whether `subscriptionId` is a PagerDuty subscription delivering to this environment's URL. */
async function deliversHere(session: Session, subscriptionId: string): Promise<boolean> {
  let subscriptions: WebhookSubscription[];
  try {
    subscriptions = (await session.pagerDuty.listWebhookSubscriptions()).value;
  } catch (error) {
    throw pagerDutyFailure('Listing webhook subscriptions', error);
  }
  return subscriptions.some(
    (subscription) => subscription.id === subscriptionId && subscription.delivery_method.url === session.target.webhookUrl,
  );
}

/**
 * Ends one subscription. By default the subscription is deleted in PagerDuty first and its secret removed after, so no
 * delivery is refused on the way (a refused delivery counts towards PagerDuty disabling the subscription, and its
 * event is lost). With `--leaked` the secret goes first: a new AWSCURRENT without it, which a warm ingress reads within
 * SIGNING_SECRETS_MAX_AGE_MS, accepting 401s until the subscription is deleted. Either way a run interrupted between
 * the two steps is finished by running it again: a subscription still delivering here is deleted even when its
 * secret is gone already.
 */
export async function webhookRevokeCommand(subscriptionId: string, options: RevokeOptions, io: CliIo): Promise<void> {
  const session = await openSession(options, io);
  const colours = coloursFor(io.stdout, io.env);
  const leaked = options.leaked === true;
  const rerun = `pd-agent webhook revoke ${subscriptionId} ${targetFlag(session.target)}${leaked ? ' --leaked' : ''} --yes`;
  try {
    const entries = await session.signing.entries();
    const stored = entries.some((entry) => entry.subscriptionId === subscriptionId);
    if (!stored && !(await deliversHere(session, subscriptionId))) {
      throw new CliError(
        `No signing secret of subscription ${subscriptionId} is stored in ${session.signing.location}, and no such subscription delivers to ${session.target.webhookUrl}.`,
        `List the environment's subscriptions with \`pd-agent webhook status ${targetFlag(session.target)}\`.`,
      );
    }
    const last = stored && entries.length === 1;
    const question = !stored
      ? `${subscriptionId} has no signing secret stored any more: delete it in PagerDuty?`
      : leaked
        ? `Stop trusting the signing secret of ${subscriptionId} now (its deliveries are refused until it is deleted), then delete it in PagerDuty?`
        : `Delete subscription ${subscriptionId} in PagerDuty, then remove its signing secret?` +
          (last ? ' It is the only subscription whose deliveries the ingress can verify.' : '');
    if (!(await confirm(io, question, options.yes === true))) {
      writeLine(io.stdout, `Nothing changed; ${subscriptionId} stays ${stored ? 'trusted' : 'in PagerDuty'}.`);
      return;
    }
    if (stored && leaked) {
      await session.signing.remove(subscriptionId);
      writeLine(
        io.stdout,
        (await session.signing.layout()) === 'single-document'
          ? `${colours.yellow('!')} Removed the signing secret of ${subscriptionId} from ${session.signing.location}. On this stack (signing secrets kept ` +
              'in the credentials secret) the ingress still trusts the previous version for 48 hours: run `pd-agent secret split` to stop that.'
          : `${colours.green('✔')} Removed the signing secret of ${subscriptionId} from ${session.signing.location}: the ingress refuses it within a minute.`,
      );
    }
    await deleteSubscription(
      session,
      subscriptionId,
      stored && !leaked
        ? 'Nothing was revoked: its signing secret is still stored, so its deliveries still verify. If the secret leaked, add --leaked to stop trusting it at once.'
        : 'Its secret is already revoked, so its deliveries are refused (401) until it is deleted.',
      { rerun },
    );
    writeLine(io.stdout, `${colours.green('✔')} Deleted subscription ${subscriptionId} in PagerDuty.`);
    if (stored && !leaked) {
      await removeSecretAfterDelete(session, subscriptionId);
      writeLine(io.stdout, `${colours.green('✔')} Removed its signing secret from ${session.signing.location}.`);
    }
    if (last) {
      writeLine(
        io.stdout,
        colours.yellow(
          `No subscription delivers to the agent now: create one with \`pd-agent webhook subscribe ${targetFlag(session.target)}\`.`,
        ),
      );
    }
  } finally {
    session.close();
  }
}

export interface StatusOptions extends TargetOptions {
  enable?: boolean;
  json?: boolean;
}

export async function webhookStatusCommand(options: StatusOptions, io: CliIo): Promise<void> {
  const session = await openSession(options, io);
  try {
    let subscriptions: WebhookSubscription[];
    try {
      subscriptions = (await session.pagerDuty.listWebhookSubscriptions()).value;
    } catch (error) {
      throw pagerDutyFailure('Listing webhook subscriptions', error);
    }
    const withSecret = new Set((await session.signing.entries()).map((entry) => entry.subscriptionId));
    const ours = subscriptions.filter(
      (subscription) => withSecret.has(subscription.id) || subscription.delivery_method.url === session.target.webhookUrl,
    );
    const enabled: string[] = [];
    if (options.enable === true) {
      for (const subscription of ours.filter((candidate) => candidate.delivery_method.temporarily_disabled)) {
        try {
          await session.pagerDuty.enableWebhookSubscription(subscription.id);
        } catch (error) {
          throw pagerDutyFailure(`Re-enabling ${subscription.id}`, error);
        }
        subscription.delivery_method.temporarily_disabled = false;
        enabled.push(subscription.id);
      }
    }
    const rows = ours.map((subscription) => ({
      ...describeSubscription(subscription),
      signingSecretStored: withSecret.has(subscription.id),
    }));
    if (options.json === true) {
      writeJson(io, { subscriptions: rows, enabled });
      return;
    }
    const colours = coloursFor(io.stdout, io.env);
    if (rows.length === 0) {
      writeLine(
        io.stdout,
        colours.yellow(`No subscription delivers to ${session.target.webhookUrl}.`) + ' Create one with `pd-agent webhook subscribe`.',
      );
      return;
    }
    writeLine(
      io.stdout,
      renderTable(
        ['id', 'scope', 'url', 'events', 'state', 'secret stored'],
        rows.map((row) => [
          row.id,
          row.scope,
          row.url,
          row.events.length,
          row.temporarilyDisabled ? 'temporarily disabled' : row.active ? 'enabled' : 'inactive',
          row.signingSecretStored ? 'yes' : 'no',
        ]),
        { colour: io.stdout.isTTY === true },
      ),
    );
    for (const id of enabled) writeLine(io.stdout, `${colours.green('✔')} Re-enabled ${id}.`);
    if (rows.some((row) => row.temporarilyDisabled)) {
      writeLine(
        io.stdout,
        colours.yellow(
          'PagerDuty disabled a subscription after failed deliveries: fix the cause, then run `pd-agent webhook status --enable`.',
        ),
      );
    }
  } finally {
    session.close();
  }
}
