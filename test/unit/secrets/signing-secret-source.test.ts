import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { AgentSecretError } from '../../../lib/secrets/agent-secret';
import { RATE_LIMITED } from '../../../lib/secrets/cached-read';
import { SecretUnavailableError } from '../../../lib/secrets/secret-stage';
import {
  SIGNING_SECRETS_MAX_AGE_MS,
  SigningSecretSource,
  SigningSecretsNotWrittenError,
  SingleDocumentSigningSecretSource,
} from '../../../lib/secrets/signing-secret-source';
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

const notFound = () => new ResourceNotFoundException({ message: 'not found', $metadata: {} });

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
    const fallback = new SingleDocumentSigningSecretSource({ client: client(), secretId: CREDENTIALS_ID, now: () => clock.now });
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

describe('getWebhookSecretsReadSince: only a list read after a delivery arrived may refuse it', () => {
  const source = (clock: { now: number }) => new SigningSecretSource({ client: client(), secretId: SIGNING_ID, now: () => clock.now });

  it('answers from the cache when the cached read began at or after the given moment', async () => {
    stage(SIGNING_ID, signing(['one']));
    const clock = { now: T0 };
    const subject = source(clock);
    await subject.getWebhookSecrets();
    expect(await subject.getWebhookSecretsReadSince(T0)).toEqual(['one']);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('re-reads a list cached before that moment, then at most once per 10 s: RATE_LIMITED in between', async () => {
    stage(SIGNING_ID, signing(['one']));
    const clock = { now: T0 };
    const subject = source(clock);
    await subject.getWebhookSecrets();
    stage(SIGNING_ID, signing(['one', 'stored-since']));
    clock.now += 1_000;
    expect(await subject.getWebhookSecretsReadSince(clock.now)).toEqual(['one', 'stored-since']);
    clock.now += 1_000;
    expect(await subject.getWebhookSecretsReadSince(clock.now)).toBe(RATE_LIMITED);
    clock.now += 8_999;
    expect(await subject.getWebhookSecretsReadSince(clock.now)).toBe(RATE_LIMITED);
    clock.now += 1;
    expect(await subject.getWebhookSecretsReadSince(clock.now)).toEqual(['one', 'stored-since']);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(3);
  });

  it('throws when the re-read fails, rather than vouching with the older list', async () => {
    stage(SIGNING_ID, signing(['one']));
    const clock = { now: T0 };
    const subject = source(clock);
    await subject.getWebhookSecrets();
    secretsManager.on(GetSecretValueCommand).rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    clock.now += 1_000;
    await expect(subject.getWebhookSecretsReadSince(clock.now)).rejects.toThrow(SecretUnavailableError);
    expect(await subject.getWebhookSecrets()).toEqual(['one']);
  });

  it('does not let an older read still in flight satisfy, or overwrite, a newer one', async () => {
    const clock = { now: T0 };
    let release: (() => void) | undefined;
    secretsManager
      .on(GetSecretValueCommand)
      .callsFakeOnce(() => new Promise((resolve) => (release = () => resolve({ SecretString: signing(['old']) }))))
      .resolves({ SecretString: signing(['old', 'new']) });
    const subject = source(clock);
    const slow = subject.getWebhookSecrets();
    clock.now += 1_000;
    expect(await subject.getWebhookSecretsReadSince(clock.now)).toEqual(['old', 'new']);
    release?.();
    expect(await slow).toEqual(['old']);
    expect(await subject.getWebhookSecretsReadSince(clock.now)).toEqual(['old', 'new']);
  });

  it('counts a re-read made while migrating against the fallback too', async () => {
    stage(SIGNING_ID, PLACEHOLDER);
    stage(CREDENTIALS_ID, credentials(['legacy']));
    const clock = { now: T0 };
    const fallback = new SingleDocumentSigningSecretSource({ client: client(), secretId: CREDENTIALS_ID, now: () => clock.now });
    const subject = new SigningSecretSource({ client: client(), secretId: SIGNING_ID, fallback, now: () => clock.now });
    await subject.getWebhookSecrets();
    clock.now += 1_000;
    expect(await subject.getWebhookSecretsReadSince(clock.now)).toEqual(['legacy']);
    clock.now += 1_000;
    expect(await subject.getWebhookSecretsReadSince(clock.now)).toBe(RATE_LIMITED);
  });
});

describe('SingleDocumentSigningSecretSource (a stack deployed before the split)', () => {
  const stageOf = (stageName: 'AWSCURRENT' | 'AWSPENDING' | 'AWSPREVIOUS', value: string, created?: number) =>
    secretsManager
      .on(GetSecretValueCommand, { SecretId: CREDENTIALS_ID, VersionStage: stageName })
      .resolves({ SecretString: value, ...(created === undefined ? {} : { CreatedDate: new Date(created) }) });
  const source = (clock: { now: number }) =>
    new SingleDocumentSigningSecretSource({ client: client(), secretId: CREDENTIALS_ID, now: () => clock.now });

  beforeEach(() => {
    secretsManager.on(GetSecretValueCommand, { SecretId: CREDENTIALS_ID, VersionStage: 'AWSPREVIOUS' }).rejects(notFound());
  });

  it('reads AWSCURRENT and AWSPREVIOUS by VersionStage and never AWSPENDING, whose copy can only add a secret revoked since', async () => {
    stageOf('AWSCURRENT', credentials(['current']), T0 - 86400_000);
    stageOf('AWSPREVIOUS', credentials(['previous', 'current']));
    stageOf('AWSPENDING', credentials(['staged-then-revoked']));
    expect(await source({ now: T0 }).getWebhookSecrets()).toEqual(['current', 'previous']);
    const stages = secretsManager.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input.VersionStage);
    expect(stages.sort()).toEqual(['AWSCURRENT', 'AWSPREVIOUS']);
  });

  it("accepts AWSPREVIOUS's secrets for 48 hours after the rotation, then no more", async () => {
    stageOf('AWSPREVIOUS', credentials(['previous']));
    stageOf('AWSCURRENT', credentials(['current']), T0 - 47 * 3600_000);
    expect(await source({ now: T0 }).getWebhookSecrets()).toEqual(['current', 'previous']);
    stageOf('AWSCURRENT', credentials(['current']), T0 - 49 * 3600_000);
    expect(await source({ now: T0 }).getWebhookSecrets()).toEqual(['current']);
  });

  it('reads nothing but webhookSecrets: credentials the ingress has no use for may be incomplete or wrong', async () => {
    stageOf(
      'AWSCURRENT',
      JSON.stringify({
        apiToken: 'canary-api-token',
        oauth: { clientId: 'c' },
        fromEmail: 'not an email',
        webhookSecrets: [{ subscriptionId: 'PSUB1', secret: 'signing' }],
      }),
    );
    expect(await source({ now: T0 }).getWebhookSecrets()).toEqual(['signing']);
  });

  it('has no signing secret in a split credentials document, ignores a previous version that does not parse, and reports a bad webhookSecrets by field, never by value', async () => {
    stageOf('AWSCURRENT', credentials());
    stageOf('AWSPREVIOUS', 'not json');
    expect(await source({ now: T0 }).getWebhookSecrets()).toEqual([]);

    stageOf('AWSCURRENT', JSON.stringify({ apiToken: 'canary-api-token', webhookSecrets: [{ subscriptionId: 'PSUB1' }] }));
    const failure = source({ now: T0 }).getWebhookSecrets();
    await expect(failure).rejects.toThrow(AgentSecretError);
    await expect(failure).rejects.toThrow(/webhookSecrets\.0\.secret/);
    await expect(failure).rejects.not.toThrow(/canary-api-token/);
  });

  it('shares one read between concurrent callers', async () => {
    stageOf('AWSCURRENT', credentials(['current']));
    const subject = source({ now: T0 });
    await Promise.all([subject.getWebhookSecrets(), subject.getWebhookSecrets(), subject.getWebhookSecretsReadSince(T0)]);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
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
