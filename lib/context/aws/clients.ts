import type { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { messageOf } from '../../errors/message-of';

/**
 * The AWS clients the context providers read with: one CloudWatch, CloudTrail and Logs client per region and role,
 * created on first use (worker only) and kept for the execution environment's lifetime. Endpoints are never set here:
 * the SDK reads `AWS_ENDPOINT_URL_CLOUDWATCH`, `AWS_ENDPOINT_URL_CLOUDTRAIL`, `AWS_ENDPOINT_URL_CLOUDWATCH_LOGS` (and
 * `AWS_ENDPOINT_URL_STS`) itself, so local runs and tests redirect them the same way as the other clients.
 * The SDK modules themselves are loaded on first use too: an incident without AWS context never pays for them.
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
  /** The assumed role's session name (contextSessionName: per service), which its trust policy may require. */
  sessionName?: string;
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
    super(`Assuming ${roleArn} failed: ${messageOf(cause)}`, { cause });
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
      const { AssumeRoleCommand } = await import('@aws-sdk/client-sts');
      const { Credentials } = await sts.send(
        new AssumeRoleCommand({
          RoleArn: target.roleArn,
          RoleSessionName: target.sessionName ?? SESSION_NAME,
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
  private readonly clients = new Map<string, Promise<AwsReadClients>>();
  private readonly stsClients = new Map<string, Promise<STSClient>>();

  get(target: AwsTarget): Promise<AwsReadClients> {
    const key = `${target.region}|${target.roleArn ?? ''}|${target.externalId ?? ''}|${target.sessionName ?? ''}`;
    let clients = this.clients.get(key);
    if (clients === undefined) {
      clients = this.create(target);
      this.clients.set(key, clients);
    }
    return clients;
  }

  private async create(target: AwsTarget): Promise<AwsReadClients> {
    const [{ CloudWatchClient }, { CloudTrailClient }, { CloudWatchLogsClient }] = await Promise.all([
      import('@aws-sdk/client-cloudwatch'),
      import('@aws-sdk/client-cloudtrail'),
      import('@aws-sdk/client-cloudwatch-logs'),
    ]);
    const credentials =
      target.roleArn === undefined
        ? undefined
        : assumedRoleCredentials(await this.sts(target.region), { ...target, roleArn: target.roleArn });
    const config = { region: target.region, credentials };
    return { cloudWatch: new CloudWatchClient(config), cloudTrail: new CloudTrailClient(config), logs: new CloudWatchLogsClient(config) };
  }

  private sts(region: string): Promise<STSClient> {
    let client = this.stsClients.get(region);
    if (client === undefined) {
      client = import('@aws-sdk/client-sts').then(({ STSClient }) => new STSClient({ region }));
      this.stsClients.set(region, client);
    }
    return client;
  }
}
