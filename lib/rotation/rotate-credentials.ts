import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidParameterException,
  InvalidRequestException,
  ResourceNotFoundException,
  UpdateSecretVersionStageCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Telemetry } from '../observability/telemetry';
import { MetricName } from '../observability/telemetry';
import { PagerDutyApiError } from '../pagerduty/errors';
import type { EventsApi, PagerDutyApi, User } from '../pagerduty/types';
import { AgentSecretError, parseAgentSecret, type AgentSecret } from '../secrets/agent-secret';

/**
 * Secrets Manager rotation for keys PagerDuty does not let us mint. An operator creates the new key in PagerDuty and
 * stages the whole secret document as AWSPENDING (`pd-agent secret stage`, which then starts the rotation with the
 * staged version's id as ClientRequestToken). The four steps then only check and promote what the operator staged:
 * createSecret finds it, setSecret has nothing to install, testSecret proves it against PagerDuty, finishSecret
 * moves AWSCURRENT to it. A scheduled rotation with nothing staged fails loudly, which leaves AWSCURRENT untouched.
 */

export const ROTATION_STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

/** What Secrets Manager sends the rotation function. */
export interface RotationEvent {
  SecretId: string;
  ClientRequestToken: string;
  Step: string;
}

export interface RotationDeps {
  secretsManager: SecretsManagerClient;
  /** A PagerDuty REST client authenticated with the given secret's credentials (the pending ones in testSecret). */
  pagerDutyFor: (secret: AgentSecret) => PagerDutyApi;
  eventsApi: EventsApi;
  environment: string;
  telemetry: Telemetry;
  now?: () => Date;
}

/** A rotation step could not complete; the message says what the operator should do. */
export class RotationError extends Error {
  override readonly name: string = 'RotationError';
  constructor(
    readonly step: RotationStep | 'validate',
    readonly secretId: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`Rotation of ${secretId} failed at ${step}: ${message}`, options);
  }
}

/** The scheduled rotation found no key staged: the quarterly reminder that a human has to mint one. */
export class NothingStagedError extends RotationError {
  override readonly name = 'NothingStagedError';
  constructor(secretId: string, environment: string) {
    super(
      'createSecret',
      secretId,
      'no new key is staged as AWSPENDING. PagerDuty keys cannot be minted by API: create a new key in PagerDuty, ' +
        `then run \`pd-agent secret stage --env ${environment}\` (docs/operations.md "Quarterly key rotation"). The current key stays in use.`,
    );
  }
}

/** `pd-agent/<env>/rotation/<year>-Q<n>`: one Events API alert per environment and quarter, however often it fails. */
export function rotationDedupKey(environment: string, at: Date): string {
  const quarter = Math.floor(at.getUTCMonth() / 3) + 1;
  return `pd-agent/${environment}/rotation/${at.getUTCFullYear()}-Q${quarter}`;
}

function isRotationStep(step: string): step is RotationStep {
  return (ROTATION_STEPS as readonly string[]).includes(step);
}

/** A document's webhook signing secrets as a comparable set (none and an empty list alike); never logged. */
const signingSecretsOf = (secret: AgentSecret): string =>
  JSON.stringify((secret.webhookSecrets ?? []).map((entry) => [entry.subscriptionId, entry.secret]).sort());

/** The credential PagerDuty authenticates, as a comparable string; never logged. */
const credentialOf = (secret: AgentSecret): string =>
  secret.apiToken !== undefined ? `token:${secret.apiToken}` : `oauth:${secret.oauth?.clientId}:${secret.oauth?.clientSecret}`;

export function createRotationHandler(deps: RotationDeps): (event: RotationEvent) => Promise<void> {
  const { secretsManager, telemetry, environment } = deps;
  const { logger, metrics } = telemetry;
  const now = deps.now ?? (() => new Date());

  async function readVersion(secretId: string, stage: 'AWSCURRENT' | 'AWSPENDING', versionId?: string): Promise<AgentSecret> {
    const answer = await secretsManager.send(
      new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage, ...(versionId === undefined ? {} : { VersionId: versionId }) }),
    );
    if (answer.SecretString === undefined) {
      throw new RotationError(
        'validate',
        secretId,
        `the ${stage} version holds no SecretString. Write it with \`pd-agent secret set --env ${environment}\`.`,
      );
    }
    return parseAgentSecret(answer.SecretString, secretId);
  }

  /** The template's checks: rotation enabled, the token is a version of this secret staged for rotation. */
  async function validate(secretId: string, token: string): Promise<{ alreadyCurrent: boolean; currentVersionId: string | undefined }> {
    const description = await secretsManager.send(new DescribeSecretCommand({ SecretId: secretId }));
    if (description.RotationEnabled !== true) {
      throw new RotationError(
        'validate',
        secretId,
        'rotation is not enabled on this secret. Deploy the stack (`npx cdk deploy -c env=<name>`), which schedules it.',
      );
    }
    const versions = description.VersionIdsToStages ?? {};
    const stages = versions[token];
    if (stages === undefined) {
      throw new RotationError(
        'validate',
        secretId,
        `version ${token} does not exist. Stage the new key again with \`pd-agent secret stage --env ${environment}\`.`,
      );
    }
    const currentVersionId = Object.keys(versions).find((id) => versions[id]?.includes('AWSCURRENT'));
    if (stages.includes('AWSCURRENT')) return { alreadyCurrent: true, currentVersionId };
    if (!stages.includes('AWSPENDING')) {
      throw new RotationError(
        'validate',
        secretId,
        `version ${token} is not staged as AWSPENDING. Stage the new key with \`pd-agent secret stage --env ${environment}\`.`,
      );
    }
    return { alreadyCurrent: false, currentVersionId };
  }

  async function raiseReminder(secretId: string, current: AgentSecret | undefined): Promise<void> {
    if (current?.eventsRoutingKey === undefined) return;
    const dedupKey = rotationDedupKey(environment, now());
    try {
      await deps.eventsApi.send({
        routingKey: current.eventsRoutingKey,
        action: 'trigger',
        dedupKey,
        summary: `pd-agent ${environment}: the PagerDuty key is due for rotation and no new key is staged`,
        source: `pd-agent/${environment}/rotate-secret`,
        severity: 'warning',
        customDetails: {
          secretId,
          whatToDo: `Create a new API key in PagerDuty, run \`pd-agent secret stage --env ${environment}\`, then revoke the old key.`,
        },
      });
      logger.info('rotation reminder raised through the Events API', { dedupKey });
    } catch (error) {
      // The RotationFailed alarm still fires; a failed reminder must not hide the rotation failure itself.
      logger.error('could not raise the rotation reminder through the Events API', { dedupKey, error: (error as Error).message });
    }
  }

  async function createSecret(secretId: string, token: string): Promise<void> {
    let current: AgentSecret | undefined;
    try {
      current = await readVersion(secretId, 'AWSCURRENT');
    } catch (error) {
      // A current value that is not yet a valid document (never set) must not stop a staged first key.
      logger.warn('the current secret value is not usable', { error: (error as Error).message });
    }
    let pending: AgentSecret;
    try {
      pending = await readVersion(secretId, 'AWSPENDING', token);
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
      await raiseReminder(secretId, current);
      throw new NothingStagedError(secretId, environment);
    }
    if (current !== undefined && credentialOf(current) === credentialOf(pending)) {
      throw new RotationError(
        'createSecret',
        secretId,
        `the staged key is the key already in use. Create a new key in PagerDuty and stage it with \`pd-agent secret stage --env ${environment}\`.`,
      );
    }
    if (current !== undefined && signingSecretsOf(current) !== signingSecretsOf(pending))
      throw signingSecretsChanged('createSecret', secretId);
    logger.info('found the staged key', { versionId: token });
  }

  async function testSecret(secretId: string, token: string): Promise<void> {
    const pending = await readVersion(secretId, 'AWSPENDING', token);
    const client = deps.pagerDutyFor(pending);
    let users: User[];
    try {
      users = (await client.findUsersByEmail(pending.fromEmail)).value;
    } catch (error) {
      if (error instanceof PagerDutyApiError && (error.status === 401 || error.status === 403)) {
        throw new RotationError(
          'testSecret',
          secretId,
          `PagerDuty rejected the staged key (HTTP ${error.status}). Check that the whole key was pasted, that it is a ` +
            `general access REST API key (or an OAuth client with the scopes pd-agent needs) and that it is not revoked, then stage it again.`,
          { cause: error },
        );
      }
      throw new RotationError(
        'testSecret',
        secretId,
        `PagerDuty could not be asked about the staged key (${(error as Error).message}). The rotation will be retried.`,
        {
          cause: error,
        },
      );
    }
    const email = pending.fromEmail.toLowerCase();
    const bot = users.find((user) => user.email.toLowerCase() === email);
    if (bot === undefined) {
      throw new RotationError(
        'testSecret',
        secretId,
        `the staged key authenticates, but no PagerDuty user has the email in fromEmail. Fix fromEmail and stage it again.`,
      );
    }
    if (bot.id !== pending.botUserId) {
      throw new RotationError(
        'testSecret',
        secretId,
        `fromEmail belongs to PagerDuty user ${bot.id}, not to botUserId ${pending.botUserId}. Set botUserId to ${bot.id} (or fix fromEmail) and stage it again.`,
      );
    }
    logger.info('the staged key authenticates and fromEmail resolves to botUserId', { versionId: token, botUserId: bot.id });
  }

  /**
   * Only a credentials document of a stack deployed before the split carries the signing secrets, which `pd-agent
   * webhook subscribe|revoke|rotate` change as new AWSCURRENT versions. The staged copy holds them as they were when it
   * was staged: promoting it after such a change would drop a subscription's secret (its deliveries answered 401) or
   * bring back a revoked one. So promotion requires them unchanged, and moves AWSCURRENT only off the version it
   * compared with (RemoveFromVersionId), which Secrets Manager refuses once a CLI write has moved AWSCURRENT since.
   */
  function signingSecretsChanged(step: RotationStep, secretId: string): RotationError {
    return new RotationError(
      step,
      secretId,
      'the webhook signing secrets of the staged document differ from the current ones (a `pd-agent webhook subscribe|revoke|rotate` ' +
        "ran after it was staged), so promoting it would drop or bring back a subscription's secret. " +
        `Stage the key again with \`pd-agent secret stage --env ${environment}\`, which copies the current ones.`,
    );
  }

  async function finishSecret(secretId: string, token: string, currentVersionId: string | undefined): Promise<void> {
    if (currentVersionId !== undefined) {
      let current: AgentSecret | undefined;
      try {
        current = await readVersion(secretId, 'AWSCURRENT', currentVersionId);
      } catch (error) {
        // The deploy-time placeholder holds no signing secrets to lose.
        if (!(error instanceof AgentSecretError)) throw error;
      }
      const pending = await readVersion(secretId, 'AWSPENDING', token);
      if (current !== undefined && signingSecretsOf(current) !== signingSecretsOf(pending))
        throw signingSecretsChanged('finishSecret', secretId);
    }
    try {
      await secretsManager.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secretId,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: token,
          ...(currentVersionId === undefined ? {} : { RemoveFromVersionId: currentVersionId }),
        }),
      );
    } catch (error) {
      if (!(error instanceof InvalidParameterException || error instanceof InvalidRequestException)) throw error;
      throw new RotationError(
        'finishSecret',
        secretId,
        `AWSCURRENT moved off version ${currentVersionId} while promoting (a pd-agent command wrote the secret meanwhile), so nothing was promoted. ` +
          `Stage the key again with \`pd-agent secret stage --env ${environment}\`.`,
        { cause: error },
      );
    }
    metrics.addMetric(MetricName.rotationSucceeded, MetricUnit.Count, 1);
    logger.info('promoted the staged key to AWSCURRENT', { versionId: token, previousVersionId: currentVersionId });
  }

  return async (event: RotationEvent): Promise<void> => {
    const { SecretId: secretId, ClientRequestToken: token, Step: step } = event;
    logger.appendKeys({ rotationStep: step });
    try {
      if (!isRotationStep(step)) {
        throw new RotationError('validate', secretId, `unknown step "${step}"; Secrets Manager sends one of ${ROTATION_STEPS.join(', ')}.`);
      }
      const { alreadyCurrent, currentVersionId } = await validate(secretId, token);
      if (alreadyCurrent) {
        logger.info('version is already AWSCURRENT; nothing to do', { versionId: token });
        return;
      }
      switch (step) {
        case 'createSecret':
          return await createSecret(secretId, token);
        case 'setSecret':
          // PagerDuty keys are minted by a human in PagerDuty; there is nothing to install on PagerDuty's side.
          return;
        case 'testSecret':
          return await testSecret(secretId, token);
        case 'finishSecret':
          return await finishSecret(secretId, token, currentVersionId);
      }
    } catch (error) {
      metrics.addMetric(MetricName.rotationFailed, MetricUnit.Count, 1);
      logger.error('rotation step failed', { error: (error as Error).message });
      throw error;
    } finally {
      metrics.publishStoredMetrics();
      logger.removeKeys(['rotationStep']);
    }
  };
}
