import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { AgentSecretError } from '../../../lib/secrets/agent-secret';
import { SecretSource, SecretUnavailableError } from '../../../lib/secrets/secret-source';
import { SIGNING_SECRETS_MAX_AGE_MS, SigningSecretSource, SigningSecretsNotWrittenError } from '../../../lib/secrets/signing-secret-source';
import { webhookSecretProviderFromEnv } from '../../../lib/secrets/webhook-secret-provider';
import { MissingConfigurationError } from '../../../lib/config/runtime-env';

const secretsManager = mockClient(SecretsManagerClient);
const SIGNING_ID = 'pd-agent/test/webhook-signing';
const CREDENTIALS_ID = 'pd-agent/test';
const T0 = Date.parse('2026-04-01T00:00:00Z');
const PLACEHOLDER = JSON.stringify({ notSet: 'run pd-agent webhook subscribe --env test', placeholder: 'Xy12' });

const signing = (secrets: string[]) =>
  JSON.stringify({ webhookSecrets: secrets.map((secret, index) => ({ subscriptionId: `PSUB${index}`, secret })) });
const credentials = (webhookSecrets?: string[]) =>
  JSON.stringify({
    apiToken: 'canary-api-token',
    fromEmail: 'sre-agent@acme.example',
    botUserId: 'PBOT123',
    ...(webhookSecrets === undefined ? {} : { webhookSecrets: webhookSecrets.map((secret) => ({ subscriptionId: 'POLD', secret })) }),
  });
const stage = (secretId: string, value: string) =>
  secretsManager.on(GetSecretValueCommand, { SecretId: secretId, VersionStage: 'AWSCURRENT' }).resolves({ SecretString: value });

const client = () => new SecretsManagerClient({});

beforeEach(() => secretsManager.reset());

describe('SigningSecretSource', () => {
  it('reads only AWSCURRENT of the signing document and caches it for a minute', async () => {
    stage(SIGNING_ID, signing(['one', 'two']));
    const clock = { now: T0 };
    const source = new SigningSecretSource({ client: client(), secretId: SIGNING_ID, now: () => clock.now });
    expect(await source.getWebhookSecrets()).toEqual(['one', 'two']);
    clock.now += SIGNING_SECRETS_MAX_AGE_MS - 1;
    await source.getWebhookSecrets();
    expect(secretsManager.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input)).toEqual([
      { SecretId: SIGNING_ID, VersionStage: 'AWSCURRENT' },
    ]);
    clock.now += 1;
    await source.getWebhookSecrets();
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('falls back to the credentials secret only while the document holds its placeholder', async () => {
    stage(SIGNING_ID, PLACEHOLDER);
    stage(CREDENTIALS_ID, credentials(['legacy']));
    const clock = { now: T0 };
    const fallback = new SecretSource({ client: client(), secretId: CREDENTIALS_ID, now: () => clock.now });
    const source = new SigningSecretSource({ client: client(), secretId: SIGNING_ID, fallback, now: () => clock.now });
    expect(await source.getWebhookSecrets()).toEqual(['legacy']);
    stage(SIGNING_ID, signing(['moved']));
    clock.now += SIGNING_SECRETS_MAX_AGE_MS;
    expect(await source.getWebhookSecrets()).toEqual(['moved']);
  });

  it('refuses, saying what to run, when the document holds its placeholder and nothing can be fallen back to', async () => {
    stage(SIGNING_ID, PLACEHOLDER);
    const failure = new SigningSecretSource({ client: client(), secretId: SIGNING_ID }).getWebhookSecrets();
    await expect(failure).rejects.toThrow(SigningSecretsNotWrittenError);
    await expect(failure).rejects.toThrow(/pd-agent secret split.*pd-agent webhook subscribe/);
  });

  it('reports a malformed document by field and never by value', async () => {
    stage(SIGNING_ID, JSON.stringify({ webhookSecrets: [{ subscriptionId: 'PSUB1', secret: '' }], extra: 'canary-value' }));
    const failure = new SigningSecretSource({ client: client(), secretId: SIGNING_ID }).getWebhookSecrets();
    await expect(failure).rejects.toThrow(AgentSecretError);
    await expect(failure).rejects.toThrow(/webhookSecrets\.0\.secret/);
    await expect(failure).rejects.not.toThrow(/canary-value/);
  });

  it('names the secret when Secrets Manager refuses', async () => {
    secretsManager.on(GetSecretValueCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    await expect(new SigningSecretSource({ client: client(), secretId: SIGNING_ID }).getWebhookSecrets()).rejects.toThrow(
      SecretUnavailableError,
    );
  });
});

describe('webhookSecretProviderFromEnv', () => {
  it('split: reads WEBHOOK_SECRET_ID alone', async () => {
    stage(SIGNING_ID, PLACEHOLDER);
    const provider = webhookSecretProviderFromEnv(client(), { WEBHOOK_SECRET_ID: SIGNING_ID });
    await expect(provider.getWebhookSecrets()).rejects.toThrow(SigningSecretsNotWrittenError);
    expect(secretsManager.commandCalls(GetSecretValueCommand).every((call) => call.args[0].input.SecretId === SIGNING_ID)).toBe(true);
  });

  it('migrating: WEBHOOK_SECRET_ID with SECRET_ID as the fallback', async () => {
    stage(SIGNING_ID, PLACEHOLDER);
    stage(CREDENTIALS_ID, credentials(['legacy']));
    const provider = webhookSecretProviderFromEnv(client(), { WEBHOOK_SECRET_ID: SIGNING_ID, SECRET_ID: CREDENTIALS_ID });
    expect(await provider.getWebhookSecrets()).toEqual(['legacy']);
  });

  it('before the split: SECRET_ID alone, as before', async () => {
    stage(CREDENTIALS_ID, credentials(['legacy']));
    expect(await webhookSecretProviderFromEnv(client(), { SECRET_ID: CREDENTIALS_ID }).getWebhookSecrets()).toEqual(['legacy']);
  });

  it('neither: a configuration error naming WEBHOOK_SECRET_ID', () => {
    expect(() => webhookSecretProviderFromEnv(client(), {})).toThrow(MissingConfigurationError);
    expect(() => webhookSecretProviderFromEnv(client(), {})).toThrow(/WEBHOOK_SECRET_ID/);
  });
});
