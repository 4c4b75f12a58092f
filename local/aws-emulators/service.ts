import { ServiceError, type AwsService, type Input, type JsonErrorStyle, type Output } from './protocol';

/** AWS's answer to a caller whose policies do not allow the action (CloudWatch adds its query-compatible code). */
export function accessDeniedError(action: string, callerArn: string, queryCompatible?: { status: number; code: string }): ServiceError {
  return new ServiceError(
    'AccessDeniedException',
    `User: ${callerArn} is not authorized to perform: ${action} because no identity-based policy allows the ${action} action`,
    queryCompatible?.status,
    queryCompatible?.code,
  );
}

/**
 * Who is calling, where and when: data is kept per account (alarms also per region, the region the request was signed
 * for), and the caller's ARN goes into access-denied messages.
 */
export interface CallContext {
  accountId: string;
  region: string;
  callerArn: string;
  now: Date;
}

/** One emulated AWS JSON service: its operations and the errors it answers with, in its own shapes. */
export interface JsonService {
  readonly service: AwsService;
  readonly contentType: string;
  readonly errorStyle: JsonErrorStyle;
  readonly operations: Record<string, (input: Input, context: CallContext) => Output>;
  accessDenied(action: string, callerArn: string): ServiceError;
  throttled(): ServiceError;
}
