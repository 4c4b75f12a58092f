import { AgentSecretError, parseAgentSecret } from '../../../lib/secrets/agent-secret';

const valid = {
  apiToken: 'canary-token-value',
  fromEmail: 'sre-agent@acme.example',
  botUserId: 'PBOT123',
  webhookSecrets: [{ subscriptionId: 'PSUB1', secret: 'canary-webhook-secret' }],
};

describe('parseAgentSecret', () => {
  it('accepts the documented shape', () => {
    expect(parseAgentSecret(JSON.stringify(valid), 'pd-agent/dev').botUserId).toBe('PBOT123');
  });

  it('requires exactly one of apiToken or oauth', () => {
    const both = { ...valid, oauth: { clientId: 'c', clientSecret: 's', subdomain: 'acme', scopes: 'incidents.write' } };
    expect(() => parseAgentSecret(JSON.stringify(both), 'pd-agent/dev')).toThrow(/exactly one of apiToken or oauth/);
    const neither = { ...valid, apiToken: undefined };
    expect(() => parseAgentSecret(JSON.stringify(neither), 'pd-agent/dev')).toThrow(AgentSecretError);
  });

  it('names the wrong fields without repeating any value', () => {
    const broken = { ...valid, fromEmail: 'canary-not-an-email', webhookSecrets: [{ subscriptionId: 'PSUB1', secret: '' }] };
    let message = '';
    try {
      parseAgentSecret(JSON.stringify(broken), 'pd-agent/dev');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/fromEmail/);
    expect(message).toMatch(/webhookSecrets\.0\.secret/);
    expect(message).not.toMatch(/canary/);
  });

  it('rejects a value that is not JSON without echoing it', () => {
    expect(() => parseAgentSecret('canary{', 'pd-agent/dev')).toThrow(/not JSON/);
    expect(() => parseAgentSecret('canary{', 'pd-agent/dev')).not.toThrow(/canary/);
  });
});
