import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

/**
 * The AWS clients the context providers read with: one CloudWatch, CloudTrail and Logs client per region and role,
 * created on first use (worker only) and kept for the execution environment's lifetime. Endpoints are never set here:
 * the SDK reads `AWS_ENDPOINT_URL_CLOUDWATCH`, `AWS_ENDPOINT_URL_CLOUDTRAIL`, `AWS_ENDPOINT_URL_CLOUDWATCH_LOGS` (and
 * `AWS_ENDPOINT_URL_STS`) itself, so local runs and tests redirect them the same way as the other clients.
 */
export interface AwsReadClients {
  cloudWatch: CloudWatchClient;
  cloudTrail: CloudTrailClient;
  logs: CloudWatchLogsClient;
}

export interface AwsTarget {
  region: string;
  /** A read-only role in another account, assumed with STS when set. */
  roleArn?: string;
  externalId?: string;
}

/** Renewed this long before the assumed role's credentials expire. */
const CREDENTIAL_REFRESH_MARGIN_MS = 5 * 60_000;
const SESSION_NAME = 'pd-agent-context';

export class AssumeRoleFailedError extends Error {
  override readonly name = 'AssumeRoleFailedError';
  constructor(
    readonly roleArn: string,
    cause: unknown,
  ) {
    super(`Assuming ${roleArn} failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/** Credentials of an assumed role, fetched when first needed and kept until shortly before they expire. */
export function assumedRoleCredentials(
  sts: STSClient,
  target: Required<Pick<AwsTarget, 'roleArn'>> & AwsTarget,
): AwsCredentialIdentityProvider {
  let cached: AwsCredentialIdentity | undefined;
  let pending: Promise<AwsCredentialIdentity> | undefined;
  const assume = async (): Promise<AwsCredentialIdentity> => {
    try {
      const { Credentials } = await sts.send(
        new AssumeRoleCommand({
          RoleArn: target.roleArn,
          RoleSessionName: SESSION_NAME,
          ExternalId: target.externalId,
          DurationSeconds: 3600,
        }),
      );
      if (Credentials?.AccessKeyId === undefined || Credentials.SecretAccessKey === undefined) {
        throw new Error('STS answered without credentials');
      }
      return {
        accessKeyId: Credentials.AccessKeyId,
        secretAccessKey: Credentials.SecretAccessKey,
        sessionToken: Credentials.SessionToken,
        expiration: Credentials.Expiration,
      };
    } catch (error) {
      throw new AssumeRoleFailedError(target.roleArn, error);
    }
  };
  return async () => {
    const fresh = cached?.expiration === undefined || cached.expiration.getTime() - Date.now() > CREDENTIAL_REFRESH_MARGIN_MS;
    if (cached !== undefined && fresh) return cached;
    pending ??= assume().finally(() => (pending = undefined));
    cached = await pending;
    return cached;
  };
}

export class AwsClientCache {
  private readonly clients = new Map<string, AwsReadClients>();
  private readonly stsClients = new Map<string, STSClient>();

  get(target: AwsTarget): AwsReadClients {
    const key = `${target.region}|${target.roleArn ?? ''}|${target.externalId ?? ''}`;
    let clients = this.clients.get(key);
    if (clients === undefined) {
      const credentials =
        target.roleArn === undefined ? undefined : assumedRoleCredentials(this.sts(target.region), { ...target, roleArn: target.roleArn });
      const config = { region: target.region, credentials };
      clients = {
        cloudWatch: new CloudWatchClient(config),
        cloudTrail: new CloudTrailClient(config),
        logs: new CloudWatchLogsClient(config),
      };
      this.clients.set(key, clients);
    }
    return clients;
  }

  private sts(region: string): STSClient {
    let client = this.stsClients.get(region);
    if (client === undefined) {
      client = new STSClient({ region });
      this.stsClients.set(region, client);
    }
    return client;
  }
}
