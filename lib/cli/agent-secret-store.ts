import { randomUUID } from 'node:crypto';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  RotateSecretCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { parseAgentSecret, type AgentSecret } from '../secrets/agent-secret';
import { CliError } from './cli-error';

/** Reads and writes the environment's secret; every write is checked with `parseAgentSecret` first. */
export class AgentSecretStore {
  constructor(
    private readonly client: SecretsManagerClient,
    readonly secretId: string,
  ) {}

  /** The current value, parsed; undefined when the secret has no value yet. */
  async readRaw(): Promise<string | undefined> {
    try {
      const answer = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId }));
      return answer.SecretString;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw new CliError(
        `Could not read secret ${this.secretId}: ${(error as Error).message}`,
        'Check your AWS credentials and that you may read this secret.',
      );
    }
  }

  async read(): Promise<AgentSecret> {
    const raw = await this.readRaw();
    if (raw === undefined) {
      throw new CliError(
        `Secret ${this.secretId} has no value yet.`,
        'Write it with `pd-agent secret set` (values from a prompt or stdin).',
      );
    }
    return parseAgentSecret(raw, this.secretId);
  }

  /** Writes a new AWSCURRENT version after checking its shape. */
  async write(secret: AgentSecret): Promise<string> {
    const text = JSON.stringify(secret);
    parseAgentSecret(text, this.secretId);
    const answer = await this.client.send(new PutSecretValueCommand({ SecretId: this.secretId, SecretString: text }));
    return answer.VersionId ?? '';
  }

  /**
   * Stages `secret` as AWSPENDING and starts rotation on that very version (its id is the rotation's token), so the
   * rotation function tests and promotes what the operator staged.
   */
  async stageAndRotate(secret: AgentSecret): Promise<string> {
    const text = JSON.stringify(secret);
    parseAgentSecret(text, this.secretId);
    const token = randomUUID();
    await this.client.send(
      new PutSecretValueCommand({ SecretId: this.secretId, SecretString: text, ClientRequestToken: token, VersionStages: ['AWSPENDING'] }),
    );
    await this.client.send(new RotateSecretCommand({ SecretId: this.secretId, ClientRequestToken: token }));
    return token;
  }
}
