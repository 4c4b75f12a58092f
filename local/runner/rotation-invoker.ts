import type { RotationEvent, RotationStep } from '../../lib/rotation/rotate-credentials';
import { ROTATION_STEPS } from '../../lib/rotation/rotate-credentials';
import { FUNCTION_LIMITS } from '../../lib/infra/deployment-contract';
import type { RotationCallback, RotationRequest } from '../secrets-manager-emulator';
import type { LambdaHandler } from './handler-loader';
import { invokeWithTimeout } from './invoke';
import { createLambdaContext } from './lambda-context';

/** The deployed rotation function's timeout. */
export const LOCAL_ROTATION_TIMEOUT_MS = FUNCTION_LIMITS.rotateSecret.timeoutSeconds * 1000;

/** How one RotateSecret ended: every step done, or the step that failed and why (the function's own message). */
export interface RotationOutcome {
  request: RotationRequest;
  completedSteps: RotationStep[];
  failedStep?: RotationStep;
  /** The error's message, or a timeout notice; never a secret value (the rotation function's messages carry none). */
  error?: string;
}

export interface RotationInvokerOptions {
  handler: LambdaHandler<RotationEvent, void>;
  region: string;
  timeoutMs?: number;
  /** Called once per rotation when it ends; the default writes failures to stderr. */
  onOutcome?: (outcome: RotationOutcome) => void;
  /** Awaited before the first step: holds a rotation between staging and promotion, as a slow one would be. */
  beforeSteps?: (request: RotationRequest) => Promise<void>;
}

export interface RotationInvoker {
  /** For the Secrets Manager emulator's `onRotate`: starts the four steps and returns at once, as RotateSecret does. */
  onRotate: RotationCallback;
  /** Every rotation that has ended, oldest first. */
  outcomes: RotationOutcome[];
  /** Resolves once every rotation started so far has ended, with all outcomes. */
  settled(): Promise<RotationOutcome[]>;
}

export function describeRotationFailure(outcome: RotationOutcome): string {
  return (
    `Rotation of ${outcome.request.secretId} (version ${outcome.request.clientRequestToken}) failed at ${outcome.failedStep}: ${outcome.error} ` +
    'The staged version stays AWSPENDING and AWSCURRENT is unchanged.'
  );
}

const reportFailure = (outcome: RotationOutcome): void => {
  if (outcome.error !== undefined) console.error(describeRotationFailure(outcome));
};

/**
 * Plays Secrets Manager's side of rotation for the local stack. RotateSecret only starts the rotation ("starts the
 * asynchronous process of rotating the secret"), so the steps run after the call has answered; the rotation function
 * is invoked once per step with the secret's ARN and the ClientRequestToken, and the first failing step ends the
 * rotation, leaving the staged version AWSPENDING as AWS does.
 */
export function createRotationInvoker(options: RotationInvokerOptions): RotationInvoker {
  const timeoutMs = options.timeoutMs ?? LOCAL_ROTATION_TIMEOUT_MS;
  const onOutcome = options.onOutcome ?? reportFailure;
  const outcomes: RotationOutcome[] = [];
  const running = new Set<Promise<void>>();

  async function rotate(request: RotationRequest): Promise<RotationOutcome> {
    const completedSteps: RotationStep[] = [];
    await options.beforeSteps?.(request);
    for (const step of ROTATION_STEPS) {
      const event: RotationEvent = { SecretId: request.arn, ClientRequestToken: request.clientRequestToken, Step: step };
      const context = createLambdaContext({ functionName: 'rotate-secret', timeoutMs, region: options.region });
      const result = await invokeWithTimeout(() => options.handler(event, context), timeoutMs);
      if (!result.ok) {
        const error = result.timedOut
          ? `the rotation function timed out after ${timeoutMs} ms.`
          : result.error instanceof Error
            ? result.error.message
            : String(result.error);
        return { request, completedSteps, failedStep: step, error };
      }
      completedSteps.push(step);
    }
    return { request, completedSteps };
  }

  return {
    outcomes,
    onRotate: async (request) => {
      const run = rotate(request).then((outcome) => {
        outcomes.push(outcome);
        onOutcome(outcome);
      });
      running.add(run);
      void run.finally(() => running.delete(run));
    },
    async settled() {
      while (running.size > 0) await Promise.all([...running]);
      return [...outcomes];
    },
  };
}
