import { randomBytes } from 'node:crypto';

/** A scoped OAuth app registered in the sandbox (client credentials grant). */
export interface SandboxOAuthClient {
  clientId: string;
  clientSecret: string;
}

export interface IssuedToken {
  scopes: Set<string>;
  expiresAt: number;
}

export interface TokenAnswer {
  status: number;
  body: Record<string, unknown>;
}

/**
 * The identity service's `POST /oauth/token`: `grant_type=client_credentials`, `client_id`, `client_secret`,
 * `scope=as_account-<region>.<subdomain> <scopes…>` → `{access_token, token_type:"bearer", expires_in, scope}`.
 */
export class OAuthTokens {
  private readonly tokens = new Map<string, IssuedToken>();
  issuedCount = 0;

  constructor(
    private readonly clients: SandboxOAuthClient[],
    private readonly subdomain: string,
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  issue(form: URLSearchParams): TokenAnswer {
    if (form.get('grant_type') !== 'client_credentials') {
      return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'Only client_credentials is supported' } };
    }
    const client = this.clients.find((item) => item.clientId === form.get('client_id') && item.clientSecret === form.get('client_secret'));
    if (client === undefined) return { status: 401, body: { error: 'invalid_client', error_description: 'Client authentication failed' } };
    const [account, ...scopes] = (form.get('scope') ?? '').split(/\s+/).filter((part) => part !== '');
    if (account === undefined || !/^as_account-(us|eu)\./.test(account) || account.split('.').slice(1).join('.') !== this.subdomain) {
      return {
        status: 400,
        body: { error: 'invalid_scope', error_description: `The scope must start with as_account-<region>.${this.subdomain}` },
      };
    }
    const token = `pdus+_${randomBytes(24).toString('base64url')}`;
    this.tokens.set(token, { scopes: new Set(scopes), expiresAt: this.now() + this.ttlSeconds * 1000 });
    this.issuedCount += 1;
    return {
      status: 200,
      body: { access_token: token, token_type: 'bearer', expires_in: this.ttlSeconds, scope: [account, ...scopes].join(' ') },
    };
  }

  lookup(token: string): IssuedToken | null {
    const issued = this.tokens.get(token);
    if (issued === undefined || issued.expiresAt <= this.now()) return null;
    return issued;
  }

  /** Emulates a token revoked (or expired) on PagerDuty's side: the next call with it gets a 401. */
  revokeAll(): void {
    this.tokens.clear();
  }
}
