import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { parseSigningSecrets, type AgentSecret, type WebhookSigningSecret } from '../secrets/agent-secret';
import type { AgentSecretStore } from './agent-secret-store';
import { CliError } from './cli-error';

/**
 * Where an environment keeps its webhook signing secrets:
 * - `split`: in their own secret (WEBHOOK_SECRET_ID), which only the CLI writes, each change a new AWSCURRENT;
 * - `migration-pending`: the stack has that secret, but the signing secrets are still in the credentials secret
 *   (deployed before the split); `pd-agent secret split` moves them;
 * - `single-document`: the stack predates the split (no signing secret); they live in the credentials secret.
 */
export type SigningLayout = 'split' | 'migration-pending' | 'single-document';

export interface SplitResult {
  /** Signing secrets in the signing-secrets document afterwards. */
  moved: number;
  alreadySplit: boolean;
}

/** Reads and writes the signing secrets wherever the environment's layout keeps them. */
export class SigningSecretStore {
  constructor(
    private readonly client: SecretsManagerClient,
    private readonly credentials: AgentSecretStore,
    readonly webhookSecretId: string | undefined,
    /** `--env <name>` or `--local`, for the commands the hints suggest. */
    private readonly flag: string,
  ) {}

  /** The secret the signing secrets are written to in this layout. */
  get location(): string {
    return this.webhookSecretId ?? this.credentials.secretId;
  }

  async layout(): Promise<SigningLayout> {
    if (this.webhookSecretId === undefined) return 'single-document';
    if ((await this.readSigning(this.webhookSecretId)) !== undefined) return 'split';
    return (await this.credentialsHoldSigningSecrets()) ? 'migration-pending' : 'split';
  }

  /** The signing secrets the ingress trusts now. */
  async entries(): Promise<WebhookSigningSecret[]> {
    if (this.webhookSecretId === undefined) return (await this.credentials.read()).webhookSecrets ?? [];
    const signing = await this.readSigning(this.webhookSecretId);
    if (signing !== undefined) return signing;
    if (await this.credentialsHoldSigningSecrets()) throw this.migrationPending();
    return [];
  }

  /** Adds (or replaces) one subscription's secret as a new AWSCURRENT, trusted by the ingress on its next signature miss. */
  async add(entry: WebhookSigningSecret): Promise<void> {
    const others = (await this.entries()).filter((existing) => existing.subscriptionId !== entry.subscriptionId);
    await this.write([...others, entry]);
  }

  /** Removes one subscription's secret as a new AWSCURRENT; returns whether it was there. */
  async remove(subscriptionId: string): Promise<boolean> {
    const entries = await this.entries();
    const kept = entries.filter((entry) => entry.subscriptionId !== subscriptionId);
    if (kept.length === entries.length) return false;
    await this.write(kept);
    return true;
  }

  /**
   * Moves the signing secrets out of the credentials secret: first into the signing-secrets document (merged with any
   * already there), then off the credentials document. In that order the ingress finds every secret at each moment,
   * and a run interrupted between the two writes is finished by running it again.
   */
  async split(): Promise<SplitResult> {
    if (this.webhookSecretId === undefined) {
      throw new CliError(
        `The stack has no webhook signing secret yet (its outputs have no WebhookSecretName).`,
        'Deploy it with this version of pd-agent first (`npx cdk deploy`, docs/operations.md "Upgrading a stack deployed before the split"), then run this again.',
      );
    }
    const signing = await this.readSigning(this.webhookSecretId);
    const credentials = await this.credentials.read();
    if (credentials.webhookSecrets === undefined) return { moved: signing?.length ?? 0, alreadySplit: true };
    const merged = new Map((signing ?? []).map((entry) => [entry.subscriptionId, entry]));
    for (const entry of credentials.webhookSecrets) if (!merged.has(entry.subscriptionId)) merged.set(entry.subscriptionId, entry);
    await this.writeSigning(this.webhookSecretId, [...merged.values()]);
    const credentialsOnly: AgentSecret = { ...credentials };
    delete credentialsOnly.webhookSecrets;
    await this.credentials.write(credentialsOnly);
    return { moved: merged.size, alreadySplit: false };
  }

  private async write(entries: WebhookSigningSecret[]): Promise<void> {
    if (this.webhookSecretId !== undefined) {
      await this.writeSigning(this.webhookSecretId, entries);
      return;
    }
    const latest: AgentSecret = await this.credentials.read();
    await this.credentials.write({ ...latest, webhookSecrets: entries });
  }

  private async writeSigning(secretId: string, entries: WebhookSigningSecret[]): Promise<void> {
    const text = JSON.stringify({ webhookSecrets: entries });
    parseSigningSecrets(text, secretId);
    await this.client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: text }));
  }

  private async readSigning(secretId: string): Promise<WebhookSigningSecret[] | undefined> {
    let text: string | undefined;
    try {
      text = (await this.client.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) {
        throw new CliError(`Secret ${secretId} does not exist.`, 'Deploy the stack (`npx cdk deploy`), which creates it.');
      }
      throw new CliError(
        `Could not read secret ${secretId}: ${(error as Error).message}`,
        'Check your AWS credentials and that you may read this secret.',
      );
    }
    return text === undefined ? undefined : parseSigningSecrets(text, secretId);
  }

  private async credentialsHoldSigningSecrets(): Promise<boolean> {
    const raw = await this.credentials.readRaw();
    if (raw === undefined) return false;
    try {
      const json = JSON.parse(raw) as unknown;
      return json !== null && typeof json === 'object' && Object.hasOwn(json, 'webhookSecrets');
    } catch {
      return false;
    }
  }

  private migrationPending(): CliError {
    return new CliError(
      `The webhook signing secrets are still in ${this.credentials.secretId}, not in ${this.webhookSecretId}.`,
      `Move them first with \`pd-agent secret split ${this.flag}\` (docs/operations.md "Upgrading a stack deployed before the split").`,
    );
  }
}
