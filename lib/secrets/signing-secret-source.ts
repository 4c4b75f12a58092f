import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseSigningSecrets } from './agent-secret';
import { CachedRead } from './cached-read';
import { readSecretStage, SECRET_REFRESH_INTERVAL_MS, SecretUnavailableError, type WebhookSecretProvider } from './secret-source';

/**
 * How long the ingress trusts a read of the signing secrets. It bounds how long a revoked secret (`pd-agent webhook
 * revoke`) is still accepted by a warm ingress; a new secret is accepted at once, since a signature miss re-reads
 * (at most every SECRET_REFRESH_INTERVAL_MS). One read a minute per warm execution environment costs nothing.
 */
export const SIGNING_SECRETS_MAX_AGE_MS = 60_000;

export interface SigningSecretSourceOptions {
  client: SecretsManagerClient;
  /** WEBHOOK_SECRET_ID: the `{"webhookSecrets":[…]}` document. */
  secretId: string;
  /**
   * Where the signing secrets are read while the document still holds the placeholder the stack created it with: the
   * credentials secret of an environment deployed before the split and not yet migrated (`pd-agent secret split`).
   */
  fallback?: WebhookSecretProvider;
  maxAgeMs?: number;
  refreshIntervalMs?: number;
  now?: () => number;
}

/** The signing-secrets document still holds its placeholder and there is nothing to fall back to. */
export class SigningSecretsNotWrittenError extends Error {
  override readonly name = 'SigningSecretsNotWrittenError';
  constructor(readonly secretId: string) {
    super(
      `Secret ${secretId} still holds the placeholder the stack created it with, so no delivery can be verified. If this ` +
        'environment was deployed before the signing secrets were split out, run `pd-agent secret split --env <name>`; ' +
        'otherwise create the subscription with `pd-agent webhook subscribe --env <name>`.',
    );
  }
}

/**
 * The ingress's signing secrets in the split layout: only AWSCURRENT of WEBHOOK_SECRET_ID is trusted. Nothing rotates
 * that document through staging labels (the CLI writes each change as a new AWSCURRENT), so AWSPENDING never holds a
 * secret that should be live, and AWSPREVIOUS holds the list as it was before the last change, i.e. after `webhook
 * revoke`, the revoked secret: trusting it would keep a leaked secret valid. PagerDuty's retries of a delivery are
 * signed with the subscription's secret, which stays in AWSCURRENT as long as the subscription lives.
 */
export class SigningSecretSource implements WebhookSecretProvider {
  private readonly cache: CachedRead<readonly string[] | undefined>;

  constructor(private readonly options: SigningSecretSourceOptions) {
    this.cache = new CachedRead(() => this.read(), {
      maxAgeMs: options.maxAgeMs ?? SIGNING_SECRETS_MAX_AGE_MS,
      refreshIntervalMs: options.refreshIntervalMs ?? SECRET_REFRESH_INTERVAL_MS,
      now: options.now ?? Date.now,
    });
  }

  async getWebhookSecrets(options: { refresh?: boolean } = {}): Promise<readonly string[]> {
    const secrets = await this.cache.get(options.refresh === true);
    if (secrets !== undefined) return secrets;
    if (this.options.fallback === undefined) throw new SigningSecretsNotWrittenError(this.options.secretId);
    return this.options.fallback.getWebhookSecrets(options);
  }

  private async read(): Promise<readonly string[] | undefined> {
    const { client, secretId } = this.options;
    const current = await readSecretStage(client, secretId, 'AWSCURRENT');
    if (current?.SecretString === undefined) throw new SecretUnavailableError(secretId, 'no AWSCURRENT string value');
    return parseSigningSecrets(current.SecretString, secretId)?.map((entry) => entry.secret);
  }
}
