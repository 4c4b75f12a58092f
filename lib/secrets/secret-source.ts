import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseAgentSecret, type AgentSecret } from './agent-secret';
import { CachedRead } from './cached-read';
import { readSecretStage, SECRET_MAX_AGE_MS, SECRET_REFRESH_INTERVAL_MS, SecretUnavailableError } from './secret-stage';

export interface SecretSourceOptions {
  client: SecretsManagerClient;
  secretId: string;
  /** How long a read is trusted before the next call re-reads it. */
  maxAgeMs?: number;
  /** Shortest time between two reads asked for with `refresh` (PagerDuty refused the key), so a burst of 401s cannot hammer Secrets Manager. */
  refreshIntervalMs?: number;
  now?: () => number;
}

/**
 * The credentials secret (SECRET_ID), read with the plain SDK (Powertools Parameters caches by name and ignores
 * VersionStage). One instance per execution environment, created at module scope, so the cache outlives invocations;
 * its age is bounded by `maxAgeMs`. Only AWSCURRENT is read: a rotation promotes the new key before the old one is
 * revoked, and a function still holding the old one re-reads on PagerDuty's 401. The signing secrets a document of a
 * stack deployed before the split still holds are the ingress's business (signing-secret-source.ts).
 */
export class SecretSource {
  private readonly client: SecretsManagerClient;
  private readonly secretId: string;
  private readonly cache: CachedRead<AgentSecret>;

  constructor(options: SecretSourceOptions) {
    this.client = options.client;
    this.secretId = options.secretId;
    this.cache = new CachedRead(() => this.read(), {
      maxAgeMs: options.maxAgeMs ?? SECRET_MAX_AGE_MS,
      refreshIntervalMs: options.refreshIntervalMs ?? SECRET_REFRESH_INTERVAL_MS,
      now: options.now ?? Date.now,
    });
  }

  /**
   * The parsed AWSCURRENT version. `refresh` (after PagerDuty refused the key: it may have been rotated) re-reads the
   * secret unless a refresh was asked for less than `refreshIntervalMs` ago.
   */
  async getAgentSecret(options: { refresh?: boolean } = {}): Promise<AgentSecret> {
    return this.cache.get(options.refresh === true);
  }

  private async read(): Promise<AgentSecret> {
    const current = await readSecretStage(this.client, this.secretId, 'AWSCURRENT');
    if (current?.SecretString === undefined) throw new SecretUnavailableError(this.secretId, 'no AWSCURRENT string value');
    return parseAgentSecret(current.SecretString, this.secretId);
  }
}
