import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { AgentSecretError } from '../../../lib/secrets/agent-secret';
import { SecretSource, SecretUnavailableError } from '../../../lib/secrets/secret-source';

const secretsManager = mockClient(SecretsManagerClient);
const T0 = Date.parse('2026-04-01T00:00:00Z');

const value = (webhookSecrets: string[]) =>
  JSON.stringify({
    apiToken: 'canary-api-token',
    fromEmail: 'sre-agent@acme.example',
    botUserId: 'PBOT123',
    webhookSecrets: webhookSecrets.map((secret, index) => ({ subscriptionId: `PSUB${index}`, secret })),
  });

const notFound = () => new ResourceNotFoundException({ message: 'not found', $metadata: {} });

function source(clock: { now: number }) {
  return new SecretSource({ client: new SecretsManagerClient({}), secretId: 'pd-agent/test', now: () => clock.now });
}

beforeEach(() => {
  secretsManager.reset();
  secretsManager
    .on(GetSecretValueCommand, { VersionStage: 'AWSCURRENT' })
    .resolves({ SecretString: value(['current']), CreatedDate: new Date(T0 - 86400_000) });
  secretsManager.on(GetSecretValueCommand, { VersionStage: 'AWSPENDING' }).rejects(notFound());
  secretsManager.on(GetSecretValueCommand, { VersionStage: 'AWSPREVIOUS' }).rejects(notFound());
});

describe('SecretSource', () => {
  it('reads each stage by VersionStage, not just AWSCURRENT twice, and never AWSPENDING', async () => {
    secretsManager.on(GetSecretValueCommand, { VersionStage: 'AWSPREVIOUS' }).resolves({ SecretString: value(['previous', 'current']) });
    secretsManager.on(GetSecretValueCommand, { VersionStage: 'AWSPENDING' }).resolves({ SecretString: value(['staged-then-revoked']) });
    const secrets = await source({ now: T0 }).getWebhookSecrets();
    expect(secrets).toEqual(['current', 'previous']);
    const stages = secretsManager.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input.VersionStage);
    expect(stages.sort()).toEqual(['AWSCURRENT', 'AWSPREVIOUS']);
  });

  it('reads a split credentials document, which holds no signing secrets', async () => {
    secretsManager.on(GetSecretValueCommand, { VersionStage: 'AWSCURRENT' }).resolves({
      SecretString: JSON.stringify({ apiToken: 'canary-api-token', fromEmail: 'sre-agent@acme.example', botUserId: 'PBOT123' }),
    });
    const subject = source({ now: T0 });
    expect((await subject.getAgentSecret()).botUserId).toBe('PBOT123');
    expect(await subject.getWebhookSecrets()).toEqual([]);
  });

  it('returns the parsed AWSCURRENT secret and caches it for five minutes', async () => {
    const clock = { now: T0 };
    const subject = source(clock);
    expect((await subject.getAgentSecret()).botUserId).toBe('PBOT123');
    clock.now += 4 * 60_000;
    await subject.getAgentSecret();
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    clock.now += 60_000;
    await subject.getAgentSecret();
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(4);
  });

  it('shares one read between concurrent callers', async () => {
    const subject = source({ now: T0 });
    await Promise.all([subject.getWebhookSecrets(), subject.getWebhookSecrets(), subject.getAgentSecret()]);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('keeps a still-valid read when an early refresh fails, and fails once the read has expired', async () => {
    const clock = { now: T0 };
    const subject = source(clock);
    await subject.getWebhookSecrets();
    secretsManager.on(GetSecretValueCommand, { VersionStage: 'AWSCURRENT' }).rejects(new Error('AccessDeniedException'));
    clock.now += 20_000;
    expect(await subject.getWebhookSecrets({ refresh: true })).toEqual(['current']);
    clock.now += 5 * 60_000;
    await expect(subject.getWebhookSecrets()).rejects.toThrow(SecretUnavailableError);
  });

  it('ignores a previous version that does not parse, and reports a bad AWSCURRENT by field, never by value', async () => {
    secretsManager.on(GetSecretValueCommand, { VersionStage: 'AWSPREVIOUS' }).resolves({ SecretString: 'not json' });
    expect(await source({ now: T0 }).getWebhookSecrets()).toEqual(['current']);

    secretsManager.on(GetSecretValueCommand, { VersionStage: 'AWSCURRENT' }).resolves({ SecretString: '{"apiToken":"canary-api-token"}' });
    const failure = source({ now: T0 }).getAgentSecret();
    await expect(failure).rejects.toThrow(AgentSecretError);
    await expect(failure).rejects.not.toThrow(/canary-api-token/);
  });

  it('names the secret and what to check when Secrets Manager refuses', async () => {
    secretsManager
      .on(GetSecretValueCommand, { VersionStage: 'AWSCURRENT' })
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    await expect(source({ now: T0 }).getAgentSecret()).rejects.toThrow(/pd-agent\/test .*AccessDeniedException.*GetSecretValue/);
  });
});
