import { AgentSecretError, type AgentSecret, type OAuthClientCredentials } from '../secrets/agent-secret';

/**
 * Produces the `Authorization` header of PagerDuty REST calls. The client calls `invalidate()` after a 401 and, when
 * `renewable`, repeats that one request once with a fresh credential (an OAuth token may have been revoked or expired
 * early); a REST API key cannot be renewed, so a 401 with it is final.
 */
export interface AuthProvider {
  readonly kind: 'api-key' | 'oauth';
  readonly renewable: boolean;
  authorization(): Promise<string>;
  invalidate(): void;
}

export const DEFAULT_OAUTH_TOKEN_URL = 'https://identity.pagerduty.com/oauth/token';

/** Refresh this long before PagerDuty's `expires_in`, so a token never expires between reading it and using it. */
const EXPIRY_MARGIN_MS = 5 * 60_000;
const DEFAULT_TIMEOUT_MS = 5_000;

export type PagerDutyRegion = 'us' | 'eu';

/** `https://api.eu.pagerduty.com` is the EU service region; everything else (US, sandboxes) is treated as US. */
export function regionFromApiUrl(apiUrl: string): PagerDutyRegion {
  return new URL(apiUrl).hostname.split('.').includes('eu') ? 'eu' : 'us';
}

export function apiKeyAuth(apiToken: string): AuthProvider {
  const header = `Token token=${apiToken}`;
  return {
    kind: 'api-key',
    renewable: false,
    authorization: () => Promise.resolve(header),
    invalidate: () => undefined,
  };
}

/** The identity service refused or could not be reached. Never carries the client secret or a token. */
export class PagerDutyOAuthError extends Error {
  override readonly name = 'PagerDutyOAuthError';
  constructor(
    readonly tokenUrl: string,
    readonly status: number | null,
    readonly reason: string,
  ) {
    super(
      `PagerDuty OAuth token request to ${tokenUrl} failed (${status === null ? 'no answer' : `HTTP ${status}`}): ${reason}. ` +
        'Check the OAuth client id, secret, subdomain and scopes in the environment secret (docs/operations.md "PagerDuty credentials and least privilege").',
    );
  }
}

export interface OAuthAuthOptions {
  credentials: OAuthClientCredentials;
  region: PagerDutyRegion;
  tokenUrl?: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
  now?: () => number;
}

interface CachedToken {
  header: string;
  refreshAt: number;
}

/**
 * Scoped OAuth app, client credentials grant: the token is requested with the configured scopes for
 * `as_account-<region>.<subdomain>`, cached until shortly before `expires_in`, and shared by concurrent callers
 * (one request in flight at a time).
 */
export function oauthClientCredentialsAuth(options: OAuthAuthOptions): AuthProvider {
  const tokenUrl = options.tokenUrl ?? DEFAULT_OAUTH_TOKEN_URL;
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const { clientId, clientSecret, subdomain, scopes } = options.credentials;
  let cached: CachedToken | null = null;
  let pending: Promise<string> | null = null;

  const requestToken = async (): Promise<string> => {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
      scope: `as_account-${options.region}.${subdomain} ${scopes}`,
    });
    let response: Response;
    try {
      response = await doFetch(tokenUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        body: form.toString(),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new PagerDutyOAuthError(tokenUrl, null, (error as Error).message);
    }
    const text = await response.text();
    if (!response.ok) {
      throw new PagerDutyOAuthError(tokenUrl, response.status, describeOAuthFailure(text));
    }
    const body = parseTokenBody(text);
    if (body === null) throw new PagerDutyOAuthError(tokenUrl, response.status, 'the answer has no access_token');
    const lifetimeMs = body.expiresIn * 1000;
    cached = {
      header: `Bearer ${body.accessToken}`,
      refreshAt: now() + Math.max(lifetimeMs - EXPIRY_MARGIN_MS, lifetimeMs / 2),
    };
    return cached.header;
  };

  return {
    kind: 'oauth',
    renewable: true,
    authorization: () => {
      if (cached !== null && now() < cached.refreshAt) return Promise.resolve(cached.header);
      pending ??= requestToken().finally(() => {
        pending = null;
      });
      return pending;
    },
    invalidate: () => {
      cached = null;
    },
  };
}

function parseTokenBody(text: string): { accessToken: string; expiresIn: number } | null {
  try {
    const body = JSON.parse(text) as { access_token?: unknown; expires_in?: unknown };
    if (typeof body.access_token !== 'string' || body.access_token === '') return null;
    const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 3600;
    return { accessToken: body.access_token, expiresIn };
  } catch {
    return null;
  }
}

/** OAuth errors are `{error, error_description}`; only those two fields are shown, never the echoed request. */
function describeOAuthFailure(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: unknown; error_description?: unknown };
    const parts = [body.error, body.error_description].filter((part): part is string => typeof part === 'string');
    if (parts.length > 0) return parts.join(': ');
  } catch {
    // not JSON: fall through to the generic reason
  }
  return 'the identity service refused the client credentials';
}

export interface AuthFromSecretOptions {
  apiUrl: string;
  /** Named in the error when the secret holds no credential. */
  secretId?: string;
  tokenUrl?: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** The environment secret holds exactly one of `apiToken` or `oauth` (checked by `parseAgentSecret`). */
export function authFromSecret(secret: AgentSecret, options: AuthFromSecretOptions): AuthProvider {
  if (secret.oauth !== undefined) {
    return oauthClientCredentialsAuth({
      credentials: secret.oauth,
      region: regionFromApiUrl(options.apiUrl),
      tokenUrl: options.tokenUrl,
      fetch: options.fetch,
      timeoutMs: options.timeoutMs,
    });
  }
  if (secret.apiToken !== undefined) return apiKeyAuth(secret.apiToken);
  throw new AgentSecretError(options.secretId ?? 'the environment secret', 'exactly one of apiToken or oauth must be set');
}

/**
 * The credential of whatever secret is current, for long-lived clients. After a 401 it re-reads the secret before the
 * client repeats the request once: a key promoted by a rotation is used at once, rather than after the secret cache's
 * age, so revoking the old key in PagerDuty cannot silence a warm worker. The source rate-limits those re-reads.
 */
export function authFollowingSecret(
  source: { getAgentSecret(options?: { refresh?: boolean }): Promise<AgentSecret> },
  options: AuthFromSecretOptions,
): AuthProvider {
  let current: { secret: AgentSecret; auth: AuthProvider } | undefined;
  let refused = false;
  return {
    // The kind of the secret's current credential; before the first request nothing has been read yet.
    get kind() {
      return current?.auth.kind ?? 'api-key';
    },
    renewable: true,
    async authorization() {
      const secret = await source.getAgentSecret({ refresh: refused });
      refused = false;
      if (current?.secret !== secret) current = { secret, auth: authFromSecret(secret, options) };
      return current.auth.authorization();
    },
    invalidate() {
      refused = true;
      current?.auth.invalidate();
    },
  };
}
