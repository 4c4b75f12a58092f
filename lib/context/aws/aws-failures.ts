import { SourceUnavailableError } from '../provider';
import { AssumeRoleFailedError } from './clients';

/**
 * AWS SDK errors in words for the on-call: which permission is missing on what and how to grant it, a throttle, a
 * role that could not be assumed. The SDK's error `name` is the service's error code.
 */

const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'UnauthorizedException', 'AuthorizationError']);
const THROTTLED = new Set([
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'LimitExceededException',
]);
const NOT_FOUND = new Set(['ResourceNotFoundException', 'ResourceNotFound']);
const BAD_CREDENTIALS = new Set([
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidSignatureException',
]);

export interface AwsCallSite {
  /** The IAM action, `cloudwatch:DescribeAlarmHistory`. */
  action: string;
  /** The resource ARN the action was called on, or `*` for actions without resource scoping. */
  resource: string;
}

/** Reason for a failed AWS read, or undefined when it is not an AWS service error. */
export function explainAwsError(error: unknown, site: AwsCallSite): string | undefined {
  if (error instanceof AssumeRoleFailedError) {
    return `could not assume ${error.roleArn} (${(error.cause as Error)?.message ?? 'no reason given'}); check the role's trust policy names the worker's role and the external id in AGENT_CONFIG context.aws`;
  }
  const name = (error as { name?: unknown })?.name;
  if (typeof name !== 'string') return undefined;
  if (DENIED.has(name)) {
    return `no permission: ${site.action} on ${site.resource}; grant it to the worker's role (or the mapped read role) with the cdk construct ContextReadRole or an IAM statement allowing ${site.action}`;
  }
  if (THROTTLED.has(name)) return `throttled by AWS on ${site.action} (${name}); the note goes out without it`;
  if (BAD_CREDENTIALS.has(name)) {
    return `AWS refused the worker's credentials on ${site.action} (${name}); locally, point AWS_ENDPOINT_URL_* at the emulators`;
  }
  if (NOT_FOUND.has(name)) return `not found: ${site.resource} (${site.action} answered ${name})`;
  return undefined;
}

/** Runs one AWS read; a service error it can explain becomes a SourceUnavailableError with that explanation. */
export async function awsRead<T>(site: AwsCallSite, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const reason = explainAwsError(error, site);
    if (reason === undefined) throw error;
    throw new SourceUnavailableError(reason, { cause: error });
  }
}
