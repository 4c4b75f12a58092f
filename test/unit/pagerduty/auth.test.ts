import { AgentSecretError } from '../../../lib/secrets/agent-secret';
import {
  authFollowingSecret,
  authFromSecret,
  oauthClientCredentialsAuth,
  PagerDutyOAuthError,
  regionFromApiUrl,
} from '../../../lib/pagerduty/auth';
import type { AgentSecret } from '../../../lib/secrets/agent-secret';

const credentials = {
  clientId: 'cid',
  clientSecret: 'very-secret-client-secret',
  subdomain: 'acme',
  scopes: 'incidents.read incidents.write',
};

function tokenFetch(answers: { status: number; body: unknown }[]) {
  const forms: URLSearchParams[] = [];
  const urls: string[] = [];
  const fake = (async (input: string | URL | Request, init?: RequestInit) => {
    urls.push(String(input));
    forms.push(new URLSearchParams(init?.body as string));
    const answer = answers.shift() ?? { status: 500, body: {} };
    return new Response(JSON.stringify(answer.body), { status: answer.status });
  }) as typeof fetch;
  return { fetch: fake, forms, urls };
}

describe('PagerDuty auth providers', () => {
  it('derives the region from the API URL', () => {
    expect(regionFromApiUrl('https://api.eu.pagerduty.com')).toBe('eu');
    expect(regionFromApiUrl('https://api.pagerduty.com')).toBe('us');
    expect(regionFromApiUrl('http://127.0.0.1:4010')).toBe('us');
  });

  it('requests a client-credentials token scoped to the account and region, and caches it until shortly before expiry', async () => {
    let now = 1_000_000;
    const { fetch, forms, urls } = tokenFetch([
      { status: 200, body: { access_token: 'tok-1', token_type: 'bearer', expires_in: 3600 } },
      { status: 200, body: { access_token: 'tok-2', token_type: 'bearer', expires_in: 3600 } },
    ]);
    const auth = oauthClientCredentialsAuth({ credentials, region: 'eu', tokenUrl: 'http://sandbox/oauth/token', fetch, now: () => now });
    expect(await auth.authorization()).toBe('Bearer tok-1');
    now += 3000_000;
    expect(await auth.authorization()).toBe('Bearer tok-1');
    now += 400_000;
    expect(await auth.authorization()).toBe('Bearer tok-2');
    expect(urls).toEqual(['http://sandbox/oauth/token', 'http://sandbox/oauth/token']);
    expect(Object.fromEntries(forms[0])).toEqual({
      grant_type: 'client_credentials',
      client_id: 'cid',
      client_secret: 'very-secret-client-secret',
      scope: 'as_account-eu.acme incidents.read incidents.write',
    });
  });

  it('shares one token request between concurrent callers and re-requests after invalidate()', async () => {
    const { fetch, forms } = tokenFetch([
      { status: 200, body: { access_token: 'a', expires_in: 3600 } },
      { status: 200, body: { access_token: 'b', expires_in: 3600 } },
    ]);
    const auth = oauthClientCredentialsAuth({ credentials, region: 'us', fetch });
    expect(await Promise.all([auth.authorization(), auth.authorization()])).toEqual(['Bearer a', 'Bearer a']);
    auth.invalidate();
    expect(await auth.authorization()).toBe('Bearer b');
    expect(forms).toHaveLength(2);
  });

  it('reports a refused token request without the client secret', async () => {
    const { fetch } = tokenFetch([{ status: 401, body: { error: 'invalid_client', error_description: 'Client authentication failed' } }]);
    const error = await oauthClientCredentialsAuth({ credentials, region: 'us', fetch })
      .authorization()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PagerDutyOAuthError);
    expect((error as Error).message).toContain('invalid_client');
    expect((error as Error).message).not.toContain(credentials.clientSecret);
  });

  it('picks the provider from the secret', async () => {
    const base = { fromEmail: 'bot@acme.example', botUserId: 'PBOT', webhookSecrets: [] };
    const key = authFromSecret({ ...base, apiToken: 'k' }, { apiUrl: 'https://api.pagerduty.com' });
    expect(key.kind).toBe('api-key');
    expect(await key.authorization()).toBe('Token token=k');
    const { fetch, forms } = tokenFetch([{ status: 200, body: { access_token: 'o', expires_in: 60 } }]);
    const oauth = authFromSecret({ ...base, oauth: credentials }, { apiUrl: 'https://api.eu.pagerduty.com', fetch });
    expect(await oauth.authorization()).toBe('Bearer o');
    expect(forms[0].get('scope')).toMatch(/^as_account-eu\.acme /);
    expect(() => authFromSecret(base, { apiUrl: 'https://api.pagerduty.com', secretId: 'pd-agent/dev' })).toThrow(AgentSecretError);
  });

  describe('authFollowingSecret', () => {
    const secretWith = (apiToken: string): AgentSecret => ({
      apiToken,
      fromEmail: 'bot@acme.example',
      botUserId: 'PBOT',
      webhookSecrets: [],
    });

    it('uses the key of the secret as read, and re-reads the secret (asking for a refresh) only after a refusal', async () => {
      let stored = secretWith('old-key');
      const reads: (boolean | undefined)[] = [];
      const source = {
        getAgentSecret: async (options?: { refresh?: boolean }) => {
          reads.push(options?.refresh);
          return stored;
        },
      };
      const auth = authFollowingSecret(source, { apiUrl: 'https://api.pagerduty.com' });
      expect(auth.renewable).toBe(true);
      expect(await auth.authorization()).toBe('Token token=old-key');
      stored = secretWith('new-key');
      // The cache may still hold the old version; only a refusal asks the source to re-read.
      auth.invalidate();
      expect(await auth.authorization()).toBe('Token token=new-key');
      expect(await auth.authorization()).toBe('Token token=new-key');
      expect(reads).toEqual([false, true, false]);
    });
  });
});
