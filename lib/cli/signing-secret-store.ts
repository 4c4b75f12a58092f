import { randomUUID } from 'node:crypto';
import {
  GetSecretValueCommand,
  InvalidParameterException,
  InvalidRequestException,
  PutSecretValueCommand,
  ResourceNotFoundException,
  UpdateSecretVersionStageCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { parseAgentSecret, parseSigningSecrets, type AgentSecret, type WebhookSigningSecret } from '../secrets/agent-secret';
import type { AgentSecretStore } from './agent-secret-store';
import { CliError } from './cli-error';

/**
 * The staging label a new version of a signing-secrets document carries until it is made AWSCURRENT. Secrets Manager
 * keeps a label on one version only, so each write moves it; the ingress never reads it.
 */
export const PROPOSED_STAGE = 'PDAGENT_PROPOSED';

/** Writes a change may lose to concurrent writers before the command gives up (each lost write changed nothing). */
export const MAX_WRITE_ATTEMPTS = 5;

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

/** One version of a secret, as read: the one a write may replace as AWSCURRENT. */
interface CurrentVersion {
  versionId: string | undefined;
  text: string | undefined;
}

/** A document that holds signing secrets: how to read them out of a version's text and write them back into it. */
interface SigningDocument {
  secretId: string;
  entriesOf(text: string | undefined): Promise<WebhookSigningSecret[]>;
  textWith(text: string | undefined, entries: WebhookSigningSecret[]): string;
}

/** What a change makes of the entries, or `undefined` when they already are what it wants. */
type Change = (entries: WebhookSigningSecret[]) => WebhookSigningSecret[] | undefined;

/** The entries a change first read, and those of the AWSCURRENT it was verified in. */
interface Updated {
  before: WebhookSigningSecret[];
  after: WebhookSigningSecret[];
}

const sameEntry = (a: WebhookSigningSecret, b: WebhookSigningSecret): boolean =>
  a.subscriptionId === b.subscriptionId && a.secret === b.secret;

/**
 * Reads and writes the signing secrets wherever the environment's layout keeps them.
 *
 * Every write is a compare-and-swap on AWSCURRENT, so concurrent writers (two operators, or an operator and the
 * credentials rotation) cannot lose each other's entries: the new document is put as a version labelled
 * PROPOSED_STAGE, then AWSCURRENT is moved to it with RemoveFromVersionId naming the version it was derived from, which
 * Secrets Manager refuses once another write has moved AWSCURRENT. A change that lost is re-applied to the newer
 * version. A change is done only when a read of AWSCURRENT shows it, which also catches a writer that ignores the
 * protocol (the console, an older pd-agent): the change is then applied again, up to MAX_WRITE_ATTEMPTS writes.
 */
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

  /**
   * Adds (or replaces) one subscription's secret; returns once a read of AWSCURRENT holds it, so the subscription may
   * be activated: the ingress trusts it on its next signature miss.
   */
  async add(entry: WebhookSigningSecret): Promise<void> {
    await this.update(this.document(), (entries) =>
      entries.some((existing) => sameEntry(existing, entry))
        ? undefined
        : [...entries.filter((existing) => existing.subscriptionId !== entry.subscriptionId), entry],
    );
  }

  /** Removes one subscription's secret; returns whether it was there, once a read of AWSCURRENT lacks it. */
  async remove(subscriptionId: string): Promise<boolean> {
    const { before } = await this.update(this.document(), (entries) =>
      entries.some((entry) => entry.subscriptionId === subscriptionId)
        ? entries.filter((entry) => entry.subscriptionId !== subscriptionId)
        : undefined,
    );
    return before.some((entry) => entry.subscriptionId === subscriptionId);
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
    const credentials = await this.credentials.read();
    const moving = credentials.webhookSecrets;
    if (moving === undefined) return { moved: (await this.readSigning(this.webhookSecretId))?.length ?? 0, alreadySplit: true };
    const { after } = await this.update(
      this.splitDocument(this.webhookSecretId, async () => []),
      (entries) => {
        const known = new Set(entries.map((entry) => entry.subscriptionId));
        const missing = moving.filter((entry) => !known.has(entry.subscriptionId));
        return missing.length === 0 ? undefined : [...entries, ...missing];
      },
    );
    const credentialsOnly: AgentSecret = { ...credentials };
    delete credentialsOnly.webhookSecrets;
    await this.credentials.write(credentialsOnly);
    return { moved: after.length, alreadySplit: false };
  }

  /** Where `add` and `remove` write in this layout. */
  private document(): SigningDocument {
    if (this.webhookSecretId !== undefined) {
      return this.splitDocument(this.webhookSecretId, async () => {
        if (await this.credentialsHoldSigningSecrets()) throw this.migrationPending();
        return [];
      });
    }
    const secretId = this.credentials.secretId;
    return {
      secretId,
      entriesOf: async (text) => parseAgentSecret(text ?? '', secretId).webhookSecrets ?? [],
      textWith: (text, entries) => {
        const updated = JSON.stringify({ ...parseAgentSecret(text ?? '', secretId), webhookSecrets: entries });
        parseAgentSecret(updated, secretId);
        return updated;
      },
    };
  }

  /** The signing-secrets document; `placeholder` decides what a document nothing was written to yet holds. */
  private splitDocument(secretId: string, placeholder: () => Promise<WebhookSigningSecret[]>): SigningDocument {
    return {
      secretId,
      entriesOf: async (text) => (text === undefined ? undefined : parseSigningSecrets(text, secretId)) ?? (await placeholder()),
      textWith: (_text, entries) => {
        const updated = JSON.stringify({ webhookSecrets: entries });
        parseSigningSecrets(updated, secretId);
        return updated;
      },
    };
  }

  /**
   * Applies `change` to AWSCURRENT until a read shows it applied. Each round re-reads, so a write that lost the race
   * for AWSCURRENT, or was overwritten by a writer outside the protocol, is re-applied to what is current now.
   */
  private async update(document: SigningDocument, change: Change): Promise<Updated> {
    let before: WebhookSigningSecret[] | undefined;
    for (let writes = 0; ; writes += 1) {
      const current = await this.readCurrent(document.secretId);
      const entries = await document.entriesOf(current.text);
      before ??= entries;
      const next = change(entries);
      if (next === undefined) return { before, after: entries };
      if (writes === MAX_WRITE_ATTEMPTS) {
        throw new CliError(
          `${document.secretId} kept changing: each of ${MAX_WRITE_ATTEMPTS} writes of this command found a newer version ` +
            '(another pd-agent command, or an edit by hand) or was written over; no entry another writer added was dropped.',
          'Run this command again once the other change is done.',
        );
      }
      await this.replaceCurrent(document.secretId, current.versionId, document.textWith(current.text, next));
    }
  }

  /**
   * Puts `text` as a new version and makes it AWSCURRENT only if AWSCURRENT is still `expected`. Losing that race
   * returns normally (the caller re-reads); any other failure throws.
   */
  private async replaceCurrent(secretId: string, expected: string | undefined, text: string): Promise<void> {
    // The version's id doubles as the idempotency token, so the SDK's own retries of this call create one version.
    const versionId = randomUUID();
    try {
      await this.client.send(
        new PutSecretValueCommand({
          SecretId: secretId,
          SecretString: text,
          ClientRequestToken: versionId,
          VersionStages: [PROPOSED_STAGE],
        }),
      );
      await this.client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secretId,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: versionId,
          ...(expected === undefined ? {} : { RemoveFromVersionId: expected }),
        }),
      );
    } catch (error) {
      if (await this.lostRace(secretId, expected, error)) return;
      throw new CliError(
        `Could not write secret ${secretId}: ${(error as Error).message}`,
        'Check your AWS credentials and that you may call secretsmanager:PutSecretValue and secretsmanager:UpdateSecretVersionStage on it; then run this again.',
      );
    }
  }

  /**
   * Whether a write failed only because another writer moved AWSCURRENT first (Secrets Manager refuses
   * RemoveFromVersionId that no longer holds it) or put its own proposal, which took the label off ours.
   */
  private async lostRace(secretId: string, expected: string | undefined, error: unknown): Promise<boolean> {
    if (error instanceof ResourceNotFoundException) return true;
    // The API reference documents the refusal, not its exception: either kind counts only if AWSCURRENT did move.
    if (!(error instanceof InvalidParameterException || error instanceof InvalidRequestException)) return false;
    return (await this.readCurrent(secretId)).versionId !== expected;
  }

  private async readCurrent(secretId: string): Promise<CurrentVersion> {
    try {
      const answer = await this.client.send(new GetSecretValueCommand({ SecretId: secretId }));
      return { versionId: answer.VersionId, text: answer.SecretString };
    } catch (error) {
      if (error instanceof ResourceNotFoundException) {
        throw new CliError(
          `Secret ${secretId} does not exist.`,
          this.flag === '--local'
            ? 'The local stack creates it at start: stop `npm start` and start it again.'
            : 'Deploy the stack (`npx cdk deploy`), which creates it.',
        );
      }
      throw new CliError(
        `Could not read secret ${secretId}: ${(error as Error).message}`,
        'Check your AWS credentials and that you may read this secret.',
      );
    }
  }

  private async readSigning(secretId: string): Promise<WebhookSigningSecret[] | undefined> {
    const { text } = await this.readCurrent(secretId);
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
