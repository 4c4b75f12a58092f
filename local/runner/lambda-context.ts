import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

export interface LambdaContextOptions {
  functionName: string;
  timeoutMs: number;
  memoryLimitInMB?: number;
  region?: string;
}

/** A Lambda `Context` for one invocation; `getRemainingTimeInMillis` counts down from the configured timeout. */
export function createLambdaContext(options: LambdaContextOptions, now: () => number = Date.now): Context {
  const deadline = now() + options.timeoutMs;
  const region = options.region ?? 'us-east-1';
  const awsRequestId = randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: options.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${options.functionName}`,
    memoryLimitInMB: String(options.memoryLimitInMB ?? 512),
    awsRequestId,
    logGroupName: `/aws/lambda/${options.functionName}`,
    logStreamName: `local/${awsRequestId}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
