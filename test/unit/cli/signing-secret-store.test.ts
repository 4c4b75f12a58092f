import {
  GetSecretValueCommand,
  InvalidParameterException,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { AgentSecretStore } from '../../../lib/cli/agent-secret-store';
import { CliError } from '../../../lib/cli/cli-error';
import { MAX_WRITE_ATTEMPTS, PROPOSED_STAGE, SigningSecretStore } from '../../../lib/cli/signing-secret-store';
import type { AgentSecret, WebhookSigningSecret } from '../../../lib/secrets/agent-secret';

const CREDENTIALS_ID = 'pd-agent/dev';
const SIGNING_ID = 'pd-agent/dev/webhook-signing';

const credentials: AgentSecret = { apiToken: 'u+key-value', fromEmail: 'sre-agent@acme.example', botUserId: 'PBOT123' };
const existing: WebhookSigningSecret = { subscriptionId: 'PSUB1', secret: 'whsec-existing' };
const theirs: WebhookSigningSecret = { subscriptionId: 'PSUB2', secret: 'whsec-theirs' };
const ours: WebhookSigningSecret = { subscriptionId: 'PSUB3', secret: 'whsec-ours' };

const secretsManager = mockClient(SecretsManagerClient);

/**
 * One secret as Secrets Manager keeps it, enough for the write protocol: AWSCURRENT on one version, PutSecretValue
 * under another label leaves it there, and UpdateSecretVersionStage refuses a RemoveFromVersionId that does not hold
 * it. `beforeSwap` and `afterSwap` let another writer in at the moments that matter.
 */
function storedSecret(secretId: string, initial: unknown, hooks: { beforeSwap?: () => void; afterSwap?: () => void } = {}) {
  const versions = new Map<string, string>([['v1', JSON.stringify(initial)]]);
  let current = 'v1';
  let others = 0;
  secretsManager
    .on(GetSecretValueCommand, { SecretId: secretId })
    .callsFake(async () => ({ VersionId: current, SecretString: versions.get(current) }));
  secretsManager
    .on(PutSecretValueCommand, { SecretId: secretId })
    .callsFake(async (input: { ClientRequestToken: string; SecretString: string }) => {
      versions.set(input.ClientRequestToken, input.SecretString);
      return { VersionId: input.ClientRequestToken };
    });
  secretsManager
    .on(UpdateSecretVersionStageCommand, { SecretId: secretId })
    .callsFake(async (input: { MoveToVersionId: string; RemoveFromVersionId?: string }) => {
      hooks.beforeSwap?.();
      if (input.RemoveFromVersionId !== current) {
        throw new InvalidParameterException({
          message: `The staging label AWSCURRENT is currently attached to version ${current}, so you must explicitly reference that version in RemoveFromVersionId.`,
          $metadata: {},
        });
      }
      current = input.MoveToVersionId;
      hooks.afterSwap?.();
      return {};
    });
  return {
    /** Another writer's new AWSCURRENT. */
    write(value: unknown): void {
      others += 1;
      versions.set(`other-${others}`, JSON.stringify(value));
      current = `other-${others}`;
    },
    current: (): unknown => JSON.parse(versions.get(current) as string),
  };
}

const signingStore = (webhookSecretId: string | undefined): SigningSecretStore => {
  const client = new SecretsManagerClient({ region: 'us-east-1' });
  return new SigningSecretStore(client, new AgentSecretStore(client, CREDENTIALS_ID), webhookSecretId, '--env dev');
};

const failure = async (promise: Promise<unknown>): Promise<Error> => {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the write to fail');
};

beforeEach(() => {
  secretsManager.reset();
});

describe('signing-secret writes: a compare-and-swap on AWSCURRENT', () => {
  it('puts the new document under its own label and moves AWSCURRENT only off the version it was made from', async () => {
    const secret = storedSecret(SIGNING_ID, { webhookSecrets: [existing] });
    await signingStore(SIGNING_ID).add(ours);
    expect(secret.current()).toEqual({ webhookSecrets: [existing, ours] });
    const put = secretsManager.commandCalls(PutSecretValueCommand)[0].args[0].input;
    expect(put.VersionStages).toEqual([PROPOSED_STAGE]);
    expect(secretsManager.commandCalls(UpdateSecretVersionStageCommand)[0].args[0].input).toEqual({
      SecretId: SIGNING_ID,
      VersionStage: 'AWSCURRENT',
      MoveToVersionId: put.ClientRequestToken,
      RemoveFromVersionId: 'v1',
    });
  });

  it('re-applies a change that lost the race for AWSCURRENT to the newer version, keeping the other writer’s entry (credentials layout)', async () => {
    let raced = false;
    const secret = storedSecret(
      CREDENTIALS_ID,
      { ...credentials, webhookSecrets: [existing] },
      {
        beforeSwap: () => {
          if (raced) return;
          raced = true;
          secret.write({ ...credentials, botUserId: 'PBOT999', webhookSecrets: [existing, theirs] });
        },
      },
    );
    await signingStore(undefined).add(ours);
    expect(secret.current()).toEqual({ ...credentials, botUserId: 'PBOT999', webhookSecrets: [existing, theirs, ours] });
    expect(secretsManager.commandCalls(PutSecretValueCommand)).toHaveLength(2);
  });

  it('applies a removal again when a writer outside the protocol put the entry back after it', async () => {
    let overwritten = false;
    const secret = storedSecret(
      SIGNING_ID,
      { webhookSecrets: [existing, ours] },
      {
        afterSwap: () => {
          if (overwritten) return;
          overwritten = true;
          secret.write({ webhookSecrets: [existing, ours, theirs] });
        },
      },
    );
    expect(await signingStore(SIGNING_ID).remove(ours.subscriptionId)).toBe(true);
    expect(secret.current()).toEqual({ webhookSecrets: [existing, theirs] });
  });

  it(`gives up after ${MAX_WRITE_ATTEMPTS} writes that never stick, saying what happened and what to do`, async () => {
    const secret = storedSecret(
      SIGNING_ID,
      { webhookSecrets: [existing] },
      { afterSwap: () => secret.write({ webhookSecrets: [existing] }) },
    );
    const error = await failure(signingStore(SIGNING_ID).add(ours));
    expect(error).toBeInstanceOf(CliError);
    expect(error.message).toContain(`${SIGNING_ID} kept changing`);
    expect((error as CliError).hint).toBe('Run this command again once the other change is done.');
    expect(error.message).not.toContain(ours.secret);
    expect(secretsManager.commandCalls(PutSecretValueCommand)).toHaveLength(MAX_WRITE_ATTEMPTS);
  });

  it('reports a refusal that is not a lost race (AWSCURRENT unchanged) instead of retrying it', async () => {
    storedSecret(SIGNING_ID, { webhookSecrets: [existing] });
    secretsManager
      .on(UpdateSecretVersionStageCommand)
      .rejects(new InvalidParameterException({ message: 'You can only move AWSCURRENT to another version.', $metadata: {} }));
    const error = await failure(signingStore(SIGNING_ID).add(ours));
    expect(error).toBeInstanceOf(CliError);
    expect(error.message).toContain(`Could not write secret ${SIGNING_ID}`);
    expect(secretsManager.commandCalls(PutSecretValueCommand)).toHaveLength(1);
  });

  it('names the permissions a write needs when it is denied', async () => {
    storedSecret(SIGNING_ID, { webhookSecrets: [existing] });
    secretsManager.on(UpdateSecretVersionStageCommand).rejects(
      new SecretsManagerServiceException({
        name: 'AccessDeniedException',
        $fault: 'client',
        message: 'not authorized to perform: secretsmanager:UpdateSecretVersionStage',
        $metadata: {},
      }),
    );
    const error = await failure(signingStore(SIGNING_ID).add(ours));
    expect((error as CliError).hint).toContain('secretsmanager:UpdateSecretVersionStage');
    expect(secretsManager.commandCalls(PutSecretValueCommand)).toHaveLength(1);
  });

  it('writes nothing when the change is already in AWSCURRENT', async () => {
    storedSecret(SIGNING_ID, { webhookSecrets: [existing, ours] });
    await signingStore(SIGNING_ID).add(ours);
    expect(await signingStore(SIGNING_ID).remove('PSUB404')).toBe(false);
    expect(secretsManager.commandCalls(PutSecretValueCommand)).toHaveLength(0);
  });
});

describe('a signing secret that does not exist', () => {
  it.each([
    ['--env dev', 'Deploy the stack (`npx cdk deploy`), which creates it.'],
    ['--local', 'The local stack creates it at start: stop `npm start` and start it again.'],
  ])('under %s, the hint fits the target (a local run is never told to deploy)', async (flag, hint) => {
    secretsManager.on(GetSecretValueCommand).rejects(new ResourceNotFoundException({ message: 'not found', $metadata: {} }));
    const client = new SecretsManagerClient({ region: 'us-east-1' });
    const store = new SigningSecretStore(client, new AgentSecretStore(client, CREDENTIALS_ID), SIGNING_ID, flag);
    const error = await failure(store.add(ours));
    expect(error).toBeInstanceOf(CliError);
    expect(error.message).toBe(`Secret ${SIGNING_ID} does not exist.`);
    expect((error as CliError).hint).toBe(hint);
  });
});
