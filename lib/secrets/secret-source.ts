import { GetSecretValueCommand, type GetSecretValueCommandOutput, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseAgentSecret, type AgentSecret } from './agent-secret';

/** What the ingress needs from the secret: the signing secrets that may have signed a delivery right now. */
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

interface Snapshot {
  current: AgentSecret;
  webhookSecrets: readonly string[];
  loadedAt: number;
}

/**
 * The environment's secret, read with the plain SDK (Powertools Parameters caches by name and ignores VersionStage, so
 * it would return AWSCURRENT for AWSPREVIOUS). One instance per execution environment, created at module scope, so the
 * cache outlives invocations; its age is bounded by `maxAgeMs`.
 */
export class SecretSource implements WebhookSecretProvider {
  private readonly client: SecretsManagerClient;
  private readonly secretId: string;
  private readonly maxAgeMs: number;
  private readonly refreshIntervalMs: number;
  private readonly previousGraceMs: number;
  private readonly now: () => number;
  private snapshot: Snapshot | undefined;
  private loading: Promise<Snapshot> | undefined;
  /** When a signature miss or a refused key last forced a re-read; scheduled reads (cold start, expiry) do not count. */
  private lastRefreshAt = Number.NEGATIVE_INFINITY;

  constructor(options: SecretSourceOptions) {
    this.client = options.client;
    this.secretId = options.secretId;
    this.maxAgeMs = options.maxAgeMs ?? SECRET_MAX_AGE_MS;
    this.refreshIntervalMs = options.refreshIntervalMs ?? SECRET_REFRESH_INTERVAL_MS;
    this.previousGraceMs = options.previousGraceMs ?? PREVIOUS_SECRET_GRACE_MS;
    this.now = options.now ?? Date.now;
  }

  /**
   * The parsed AWSCURRENT version. `refresh` (after PagerDuty refused the key: it may have been rotated) re-reads the
   * secret unless it was read less than `refreshIntervalMs` ago.
   */
  async getAgentSecret(options: { refresh?: boolean } = {}): Promise<AgentSecret> {
    return (await this.fresh(options.refresh === true)).current;
  }

  /**
   * Signing secrets of AWSCURRENT, AWSPENDING (staged by a rotation in progress) and, for the grace period after a
   * rotation, AWSPREVIOUS. `refresh` re-reads the secret unless it was read less than `refreshIntervalMs` ago.
   */
  async getWebhookSecrets(options: { refresh?: boolean } = {}): Promise<readonly string[]> {
    return (await this.fresh(options.refresh === true)).webhookSecrets;
  }

  private async fresh(refresh: boolean): Promise<Snapshot> {
    const now = this.now();
    const cached = this.snapshot;
    const expired = cached === undefined || now - cached.loadedAt >= this.maxAgeMs;
    const refreshAllowed = refresh && now - this.lastRefreshAt >= this.refreshIntervalMs;
    if (!expired && !refreshAllowed) return cached;
    if (!expired) this.lastRefreshAt = now;
    try {
      return await this.load();
    } catch (error) {
      // A failed early refresh keeps the still-valid read; an expired one must not be trusted any longer.
      if (!expired) return cached;
      throw error;
    }
  }

  private load(): Promise<Snapshot> {
    if (this.loading !== undefined) return this.loading;
    this.loading = this.read().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async read(): Promise<Snapshot> {
    const [current, pending, previous] = await Promise.all([
      this.readStage('AWSCURRENT'),
      this.readStage('AWSPENDING'),
      this.readStage('AWSPREVIOUS'),
    ]);
    if (current === undefined || current.SecretString === undefined) {
      throw new SecretUnavailableError(this.secretId, 'no AWSCURRENT string value');
    }
    const agentSecret = parseAgentSecret(current.SecretString, this.secretId);
    const createdAt = current.CreatedDate?.getTime();
    const withinGrace = createdAt === undefined || this.now() - createdAt < this.previousGraceMs;
    const webhookSecrets = new Set(agentSecret.webhookSecrets.map((entry) => entry.secret));
    for (const other of withinGrace ? [pending, previous] : [pending]) {
      for (const secret of this.signingSecretsOf(other)) webhookSecrets.add(secret);
    }
    const snapshot = { current: agentSecret, webhookSecrets: [...webhookSecrets], loadedAt: this.now() };
    this.snapshot = snapshot;
    return snapshot;
  }

  /** Signing secrets of a non-current version; one that does not parse contributes none rather than failing the read. */
  private signingSecretsOf(version: GetSecretValueCommandOutput | undefined): string[] {
    if (version?.SecretString === undefined) return [];
    try {
      return parseAgentSecret(version.SecretString, this.secretId).webhookSecrets.map((entry) => entry.secret);
    } catch {
      return [];
    }
  }

  private async readStage(stage: 'AWSCURRENT' | 'AWSPENDING' | 'AWSPREVIOUS'): Promise<GetSecretValueCommandOutput | undefined> {
    try {
      return await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId, VersionStage: stage }));
    } catch (error) {
      // No AWSPENDING outside a rotation and no AWSPREVIOUS before the first one: both are normal.
      if (stage !== 'AWSCURRENT' && (error as Error).name === 'ResourceNotFoundException') return undefined;
      throw new SecretUnavailableError(this.secretId, (error as Error).name);
    }
  }
}
