import type { AwsService, Input, JsonErrorStyle, Output, ServiceError } from './protocol';

/** Who is calling and when: data is kept per account, and the caller's ARN goes into access-denied messages. */
export interface CallContext {
  accountId: string;
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
