import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { AgentSecretError } from '../../../lib/secrets/agent-secret';
import { SecretSource } from '../../../lib/secrets/secret-source';
import { SecretUnavailableError } from '../../../lib/secrets/secret-stage';

const secretsManager = mockClient(SecretsManagerClient);
const T0 = Date.parse('2026-04-01T00:00:00Z');

const value = (botUserId = 'PBOT123') => JSON.stringify({ apiToken: 'canary-api-token', fromEmail: 'sre-agent@acme.example', botUserId });

function source(clock: { now: number }) {
  return new SecretSource({ client: new SecretsManagerClient({}), secretId: 'pd-agent/test', now: () => clock.now });
}

beforeEach(() => {
  secretsManager.reset();
  secretsManager
    .on(GetSecretValueCommand, { VersionStage: 'AWSCURRENT' })
    .resolves({ SecretString: value(), CreatedDate: new Date(T0 - 86400_000) });
});

describe('SecretSource', () => {
  it("reads only AWSCURRENT: the signing secrets of an older document are the ingress's business", async () => {
    expect((await source({ now: T0 }).getAgentSecret()).botUserId).toBe('PBOT123');
    expect(secretsManager.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input.VersionStage)).toEqual(['AWSCURRENT']);
  });

  it('returns the parsed AWSCURRENT secret and caches it for five minutes', async () => {
    const clock = { now: T0 };
    const subject = source(clock);
    expect((await subject.getAgentSecret()).botUserId).toBe('PBOT123');
    clock.now += 4 * 60_000;
    await subject.getAgentSecret();
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    clock.now += 60_000;
    await subject.getAgentSecret();
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('shares one read between concurrent callers', async () => {
    const subject = source({ now: T0 });
    await Promise.all([subject.getAgentSecret(), subject.getAgentSecret(), subject.getAgentSecret()]);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('re-reads on refresh at most once per interval', async () => {
    const clock = { now: T0 };
    const subject = source(clock);
    await subject.getAgentSecret();
    secretsManager.on(GetSecretValueCommand, { VersionStage: 'AWSCURRENT' }).resolves({ SecretString: value('PROTATED') });
    expect((await subject.getAgentSecret({ refresh: true })).botUserId).toBe('PROTATED');
    clock.now += 9_999;
    await subject.getAgentSecret({ refresh: true });
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    clock.now += 1;
    await subject.getAgentSecret({ refresh: true });
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(3);
  });

  it('keeps a still-valid read when an early refresh fails, and fails once the read has expired', async () => {
    const clock = { now: T0 };
    const subject = source(clock);
    await subject.getAgentSecret();
    secretsManager.on(GetSecretValueCommand, { VersionStage: 'AWSCURRENT' }).rejects(new Error('AccessDeniedException'));
    clock.now += 20_000;
    expect((await subject.getAgentSecret({ refresh: true })).botUserId).toBe('PBOT123');
    clock.now += 5 * 60_000;
    await expect(subject.getAgentSecret()).rejects.toThrow(SecretUnavailableError);
  });

  it('reports a bad AWSCURRENT by field, never by value', async () => {
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
