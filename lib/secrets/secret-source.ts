import { GetSecretValueCommand, type GetSecretValueCommandOutput, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseAgentSecret, type AgentSecret } from './agent-secret';
import { CachedRead } from './cached-read';

/** What the ingress needs: the signing secrets that may have signed a delivery right now. */
export interface WebhookSecretProvider {
  getWebhookSecrets(options?: { refresh?: boolean }): Promise<readonly string[]>;
}

export interface SecretSourceOptions {
  client: SecretsManagerClient;
  secretId: string;
  /** How long a read is trusted before the next call re-reads it. */
  maxAgeMs?: number;
  /** Shortest time between two reads asked for with `refresh` (signature misses), so a forged flood cannot hammer Secrets Manager. */
  refreshIntervalMs?: number;
  /** How long after a rotation (AWSCURRENT's creation) AWSPREVIOUS's signing secrets are still accepted. */
  previousGraceMs?: number;
  now?: () => number;
}

export const SECRET_MAX_AGE_MS = 5 * 60_000;
export const SECRET_REFRESH_INTERVAL_MS = 10_000;
/** PagerDuty retries a delivery for up to 48 hours: one signed before the rotation may still arrive that late. */
export const PREVIOUS_SECRET_GRACE_MS = 48 * 3600_000;

export class SecretUnavailableError extends Error {
  override readonly name = 'SecretUnavailableError';
  constructor(
    readonly secretId: string,
    readonly causeName: string,
  ) {
    super(
      `Could not read secret ${secretId} from Secrets Manager (${causeName}). Check that it exists in this account and ` +
        "region, has an AWSCURRENT version, and that the function's role may call secretsmanager:GetSecretValue on it.",
    );
  }
}

/** One staging label of a secret, read with the plain SDK; `undefined` when no version carries it (optional labels only). */
export async function readSecretStage(
  client: SecretsManagerClient,
  secretId: string,
  stage: 'AWSCURRENT' | 'AWSPREVIOUS',
): Promise<GetSecretValueCommandOutput | undefined> {
  try {
    return await client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }));
  } catch (error) {
    // No AWSPREVIOUS before the first rotation: normal.
    if (stage !== 'AWSCURRENT' && (error as Error).name === 'ResourceNotFoundException') return undefined;
    throw new SecretUnavailableError(secretId, (error as Error).name);
  }
}

interface Snapshot {
  current: AgentSecret;
  webhookSecrets: readonly string[];
}

/**
 * The credentials secret (SECRET_ID), read with the plain SDK (Powertools Parameters caches by name and ignores
 * VersionStage, so it would return AWSCURRENT for AWSPREVIOUS). One instance per execution environment, created at
 * module scope, so the cache outlives invocations; its age is bounded by `maxAgeMs`.
 *
 * Its signing secrets are those of a stack deployed before the split (single document): AWSCURRENT's, plus for the
 * grace period after a rotation AWSPREVIOUS's. AWSPENDING is never trusted: `pd-agent secret stage` copies AWSCURRENT's
 * signing secrets into it, so it can add nothing but a secret revoked since it was staged, and a failed rotation
 * leaves it in place indefinitely (Secrets Manager calls a non-current AWSPENDING "a rotation in progress" until it
 * is promoted or removed, aws-notes §4.1).
 */
export class SecretSource implements WebhookSecretProvider {
  private readonly client: SecretsManagerClient;
  private readonly secretId: string;
  private readonly previousGraceMs: number;
  private readonly now: () => number;
  private readonly cache: CachedRead<Snapshot>;

  constructor(options: SecretSourceOptions) {
    this.client = options.client;
    this.secretId = options.secretId;
    this.previousGraceMs = options.previousGraceMs ?? PREVIOUS_SECRET_GRACE_MS;
    this.now = options.now ?? Date.now;
    this.cache = new CachedRead(() => this.read(), {
      maxAgeMs: options.maxAgeMs ?? SECRET_MAX_AGE_MS,
      refreshIntervalMs: options.refreshIntervalMs ?? SECRET_REFRESH_INTERVAL_MS,
      now: this.now,
    });
  }

  /**
   * The parsed AWSCURRENT version. `refresh` (after PagerDuty refused the key: it may have been rotated) re-reads the
   * secret unless it was read less than `refreshIntervalMs` ago.
   */
  async getAgentSecret(options: { refresh?: boolean } = {}): Promise<AgentSecret> {
    return (await this.cache.get(options.refresh === true)).current;
  }

  /** Single-document signing secrets (see the class comment). `refresh` re-reads as for getAgentSecret. */
  async getWebhookSecrets(options: { refresh?: boolean } = {}): Promise<readonly string[]> {
    return (await this.cache.get(options.refresh === true)).webhookSecrets;
  }

  private async read(): Promise<Snapshot> {
    const [current, previous] = await Promise.all([
      readSecretStage(this.client, this.secretId, 'AWSCURRENT'),
      readSecretStage(this.client, this.secretId, 'AWSPREVIOUS'),
    ]);
    if (current?.SecretString === undefined) throw new SecretUnavailableError(this.secretId, 'no AWSCURRENT string value');
    const agentSecret = parseAgentSecret(current.SecretString, this.secretId);
    const createdAt = current.CreatedDate?.getTime();
    const withinGrace = createdAt === undefined || this.now() - createdAt < this.previousGraceMs;
    const webhookSecrets = new Set((agentSecret.webhookSecrets ?? []).map((entry) => entry.secret));
    if (withinGrace) for (const secret of this.signingSecretsOf(previous)) webhookSecrets.add(secret);
    return { current: agentSecret, webhookSecrets: [...webhookSecrets] };
  }

  /** Signing secrets of a non-current version; one that does not parse contributes none rather than failing the read. */
  private signingSecretsOf(version: GetSecretValueCommandOutput | undefined): string[] {
    if (version?.SecretString === undefined) return [];
    try {
      return (parseAgentSecret(version.SecretString, this.secretId).webhookSecrets ?? []).map((entry) => entry.secret);
    } catch {
      return [];
    }
  }
}
