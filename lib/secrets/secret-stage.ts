import { GetSecretValueCommand, type GetSecretValueCommandOutput, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

// Reading a secret, apart from what its document holds, so that the ingress can read its signing secrets without
// bundling the credentials document's schema (secret-source.ts, agent-secret.ts).

export const SECRET_MAX_AGE_MS = 5 * 60_000;
export const SECRET_REFRESH_INTERVAL_MS = 10_000;

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
