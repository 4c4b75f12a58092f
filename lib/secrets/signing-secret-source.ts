import type { GetSecretValueCommandOutput, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseSigningSecrets } from './signing-secrets';
import { CachedRead, RATE_LIMITED } from './cached-read';
import { readSecretStage, SECRET_MAX_AGE_MS, SECRET_REFRESH_INTERVAL_MS, SecretUnavailableError } from './secret-stage';

/** What the ingress needs: the signing secrets that may have signed a delivery right now. */
export interface WebhookSecretProvider {
  /** The signing secrets as cached (read at most the source's maximum age ago). */
  getWebhookSecrets(): Promise<readonly string[]>;
  /**
   * The signing secrets as returned by a read of Secrets Manager that began at or after `since` (epoch ms): the cached
   * list when it is that recent, else a re-read, which the source allows at most once per refresh interval whatever
   * the traffic; RATE_LIMITED when it does not allow one yet. A failed re-read throws.
   */
  getWebhookSecretsReadSince(since: number): Promise<readonly string[] | typeof RATE_LIMITED>;
}

/**
 * How long the ingress trusts a read of the signing secrets. It bounds how long a revoked secret (`pd-agent webhook
 * revoke`) is still accepted by a warm ingress; a new secret is accepted at once, since a signature miss re-reads
 * (at most every SECRET_REFRESH_INTERVAL_MS). One read a minute per warm execution environment costs nothing.
 */
export const SIGNING_SECRETS_MAX_AGE_MS = 60_000;
/** PagerDuty retries a delivery for up to 48 hours: one signed before the rotation may still arrive that late. */
export const PREVIOUS_SECRET_GRACE_MS = 48 * 3600_000;

interface CacheOptions {
  maxAgeMs?: number;
  /** Shortest time between two re-reads asked for by signature misses, so a forged flood cannot hammer Secrets Manager. */
  refreshIntervalMs?: number;
  now?: () => number;
}

export interface SigningSecretSourceOptions extends CacheOptions {
  client: SecretsManagerClient;
  /** WEBHOOK_SECRET_ID: the `{"webhookSecrets":[…]}` document. */
  secretId: string;
  /**
   * Where the signing secrets are read while the document still holds the placeholder the stack created it with: the
   * credentials secret of an environment deployed before the split and not yet migrated (`pd-agent secret split`).
   */
  fallback?: WebhookSecretProvider;
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

  async getWebhookSecrets(): Promise<readonly string[]> {
    return (await this.cache.get()) ?? this.fallback().getWebhookSecrets();
  }

  async getWebhookSecretsReadSince(since: number): Promise<readonly string[] | typeof RATE_LIMITED> {
    const secrets = await this.cache.getReadSince(since);
    return secrets ?? this.fallback().getWebhookSecretsReadSince(since);
  }

  /** Where the signing secrets are while the document holds its placeholder. */
  private fallback(): WebhookSecretProvider {
    if (this.options.fallback === undefined) throw new SigningSecretsNotWrittenError(this.options.secretId);
    return this.options.fallback;
  }

  private async read(): Promise<readonly string[] | undefined> {
    const { client, secretId } = this.options;
    const current = await readSecretStage(client, secretId, 'AWSCURRENT');
    if (current?.SecretString === undefined) throw new SecretUnavailableError(secretId, 'no AWSCURRENT string value');
    return parseSigningSecrets(current.SecretString, secretId)?.map((entry) => entry.secret);
  }
}

export interface SingleDocumentSigningSecretSourceOptions extends CacheOptions {
  client: SecretsManagerClient;
  /** SECRET_ID: the credentials document, which in a stack deployed before the split also holds `webhookSecrets`. */
  secretId: string;
  /** How long after a rotation (AWSCURRENT's creation) AWSPREVIOUS's signing secrets are still accepted. */
  previousGraceMs?: number;
}

/**
 * The ingress's signing secrets in a stack deployed before the split: the `webhookSecrets` of the credentials secret,
 * and nothing else of it is read or checked (the ingress has no use for the PagerDuty key; a mistake elsewhere in the
 * document must not stop it from verifying deliveries). AWSCURRENT's, plus for the grace period after a rotation
 * AWSPREVIOUS's. AWSPENDING is never trusted: `pd-agent secret stage` copies AWSCURRENT's signing secrets into it, so it
 * can add nothing but a secret revoked since it was staged, and a failed rotation leaves it in place indefinitely
 * (Secrets Manager calls a non-current AWSPENDING "a rotation in progress" until it is promoted or removed, aws-notes
 * §4.1).
 */
export class SingleDocumentSigningSecretSource implements WebhookSecretProvider {
  private readonly previousGraceMs: number;
  private readonly now: () => number;
  private readonly cache: CachedRead<readonly string[]>;

  constructor(private readonly options: SingleDocumentSigningSecretSourceOptions) {
    this.previousGraceMs = options.previousGraceMs ?? PREVIOUS_SECRET_GRACE_MS;
    this.now = options.now ?? Date.now;
    this.cache = new CachedRead(() => this.read(), {
      maxAgeMs: options.maxAgeMs ?? SECRET_MAX_AGE_MS,
      refreshIntervalMs: options.refreshIntervalMs ?? SECRET_REFRESH_INTERVAL_MS,
      now: this.now,
    });
  }

  getWebhookSecrets(): Promise<readonly string[]> {
    return this.cache.get();
  }

  getWebhookSecretsReadSince(since: number): Promise<readonly string[] | typeof RATE_LIMITED> {
    return this.cache.getReadSince(since);
  }

  private async read(): Promise<readonly string[]> {
    const { client, secretId } = this.options;
    const [current, previous] = await Promise.all([
      readSecretStage(client, secretId, 'AWSCURRENT'),
      readSecretStage(client, secretId, 'AWSPREVIOUS'),
    ]);
    if (current?.SecretString === undefined) throw new SecretUnavailableError(secretId, 'no AWSCURRENT string value');
    const secrets = new Set((parseSigningSecrets(current.SecretString, secretId) ?? []).map((entry) => entry.secret));
    const createdAt = current.CreatedDate?.getTime();
    const withinGrace = createdAt === undefined || this.now() - createdAt < this.previousGraceMs;
    if (withinGrace) for (const secret of this.signingSecretsOf(previous)) secrets.add(secret);
    return [...secrets];
  }

  /** Signing secrets of a non-current version; one that does not parse contributes none rather than failing the read. */
  private signingSecretsOf(version: GetSecretValueCommandOutput | undefined): string[] {
    if (version?.SecretString === undefined) return [];
    try {
      return (parseSigningSecrets(version.SecretString, this.options.secretId) ?? []).map((entry) => entry.secret);
    } catch {
      return [];
    }
  }
}
