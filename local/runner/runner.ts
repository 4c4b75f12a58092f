import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, SQSEvent } from 'aws-lambda';
import { FUNCTION_LIMITS, WEBHOOK_PATH } from '../../lib/infra/deployment-contract';
import { DEFAULT_DIST_DIR, loadBundledHandler, type LambdaHandler } from './handler-loader';
import { startApiGatewayServer, type ApiGatewayServer, type HttpRequestObservation } from './http-server';
import { startSqsPoller, type BatchObservation, type SqsPoller } from './sqs-poller';

export const WEBHOOK_ROUTE = `POST ${WEBHOOK_PATH}`;

export interface RunnerHandlers {
  ingress: LambdaHandler<APIGatewayProxyEventV2, APIGatewayProxyResultV2>;
  worker: LambdaHandler<SQSEvent, unknown>;
  handback: LambdaHandler<SQSEvent, unknown>;
  /** The scheduler's relay; without it (or without the check queues) no check queue is polled. */
  scheduler?: LambdaHandler<SQSEvent, unknown>;
}

export interface RunnerTimeouts {
  ingressMs: number;
  workerMs: number;
  handbackMs: number;
  schedulerMs: number;
}

/** The deployed functions' timeouts, so a local invocation runs out of time when a deployed one would. */
export const DEFAULT_TIMEOUTS: RunnerTimeouts = {
  ingressMs: FUNCTION_LIMITS.ingress.timeoutSeconds * 1000,
  workerMs: FUNCTION_LIMITS.worker.timeoutSeconds * 1000,
  handbackMs: FUNCTION_LIMITS.handback.timeoutSeconds * 1000,
  schedulerMs: FUNCTION_LIMITS.scheduler.timeoutSeconds * 1000,
};

export interface RunnerOptions {
  handlers: RunnerHandlers;
  /** Endpoint and region of the SQS emulator (or any SQS). */
  sqsEndpoint: string;
  region?: string;
  queueUrl: string;
  deadLetterQueueUrl: string;
  /**
   * The scheduler's delay queue and its dead-letter queue. A check waiting for its time is not pending work: `idle()`
   * does not wait for it (once due, it is on the event queue, which `idle()` does wait for).
   */
  checkQueues?: { queueUrl: string; deadLetterQueueUrl: string };
  host?: string;
  /** Default 3000; 0 picks any free port. */
  port?: number;
  timeouts?: Partial<RunnerTimeouts>;
  batchSize?: number;
  /**
   * Local override of the queues' visibility timeout: seconds before a failed message is retried (AWS waits for the
   * queue's own, six times the worker's timeout). Must exceed the longest local invocation.
   */
  visibilityTimeoutSeconds?: number;
  /** Wait per receive (default 0: short polls, see SqsPollerOptions.waitTimeSeconds). */
  waitTimeSeconds?: number;
  /** Pause after an empty receive (default 50 ms). */
  emptyReceivePauseMs?: number;
  onRequest?: (observation: HttpRequestObservation) => void;
  onBatch?: (observation: BatchObservation) => void;
}

export interface IdleOptions {
  /** Reject with what is still pending instead of waiting forever (for tests and `--once`). */
  timeoutMs?: number;
}

export interface Runner {
  url: string;
  webhookUrl: string;
  /** Resolves once no request is being answered, nothing is being handled and both queues are empty. */
  idle(options?: IdleOptions): Promise<void>;
  stop(): Promise<void>;
}

export class RunnerNotIdleError extends Error {
  override readonly name = 'RunnerNotIdleError';
  constructor(readonly pending: string) {
    super(
      `The local stack did not become idle in time: ${pending}. Look at the handler errors above; \`pd-agent redrive --local\` moves dead-lettered messages back.`,
    );
  }
}

/** Loads the three handlers from their bundles (`dist/<fn>/index.js`), after setting the handlers' environment. */
export function loadRunnerHandlers(env: Record<string, string>, distDir: string = DEFAULT_DIST_DIR): RunnerHandlers {
  return {
    ingress: loadBundledHandler('ingress', env, distDir),
    worker: loadBundledHandler('worker', env, distDir),
    handback: loadBundledHandler('handback', env, distDir),
    scheduler: loadBundledHandler('scheduler', env, distDir),
  };
}

/**
 * API Gateway and Lambda on one machine: an HTTP server that invokes the ingress as an HTTP API would, a poller that
 * feeds the worker from the event queue as Lambda's SQS event source would, and one that feeds the handback function
 * from the dead-letter queue.
 */
export async function startRunner(options: RunnerOptions): Promise<Runner> {
  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const sqs = new SQSClient({
    endpoint: options.sqsEndpoint,
    region: options.region ?? 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const pollerCommon = {
    sqs,
    batchSize: options.batchSize ?? 10,
    visibilityTimeoutSeconds: options.visibilityTimeoutSeconds,
    waitTimeSeconds: options.waitTimeSeconds ?? 0,
    emptyReceivePauseMs: options.emptyReceivePauseMs ?? 50,
    onBatch: options.onBatch,
  };
  let server: ApiGatewayServer | undefined;
  const pollers: SqsPoller[] = [];
  const checkPollers: SqsPoller[] = [];
  try {
    pollers.push(
      await startSqsPoller({
        ...pollerCommon,
        queueUrl: options.queueUrl,
        functionName: 'worker',
        handler: options.handlers.worker,
        functionTimeoutMs: timeouts.workerMs,
      }),
      await startSqsPoller({
        ...pollerCommon,
        queueUrl: options.deadLetterQueueUrl,
        functionName: 'handback',
        handler: options.handlers.handback,
        functionTimeoutMs: timeouts.handbackMs,
      }),
    );
    const { checkQueues } = options;
    const relay = options.handlers.scheduler;
    if (checkQueues !== undefined && relay !== undefined) {
      checkPollers.push(
        await startSqsPoller({
          ...pollerCommon,
          queueUrl: checkQueues.queueUrl,
          functionName: 'scheduler',
          handler: relay,
          functionTimeoutMs: timeouts.schedulerMs,
        }),
        await startSqsPoller({
          ...pollerCommon,
          queueUrl: checkQueues.deadLetterQueueUrl,
          functionName: 'handback',
          handler: options.handlers.handback,
          functionTimeoutMs: timeouts.handbackMs,
        }),
      );
    }
    server = await startApiGatewayServer({
      ingress: options.handlers.ingress,
      routes: [WEBHOOK_ROUTE],
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 3000,
      functionTimeoutMs: timeouts.ingressMs,
      onRequest: options.onRequest,
    });
  } catch (error) {
    await Promise.all([...pollers, ...checkPollers].map((poller) => poller.stop()));
    sqs.destroy();
    throw error;
  }
  const http = server;

  const pendingWork = async (): Promise<string | undefined> => {
    const pending: string[] = [];
    if (http.inFlight() > 0) pending.push(`${http.inFlight()} HTTP request(s) in flight`);
    const [queued, deadLettered] = await Promise.all(pollers.map((poller) => poller.depth()));
    if (queued > 0) pending.push(`${queued} message(s) in the event queue`);
    if (deadLettered > 0) pending.push(`${deadLettered} message(s) in the dead-letter queue`);
    if (pollers.some((poller) => poller.busy())) pending.push('a batch is being handled');
    return pending.length === 0 ? undefined : pending.join(', ');
  };

  return {
    url: http.url,
    webhookUrl: `${http.url}${WEBHOOK_PATH}`,
    async idle(idleOptions = {}) {
      const deadline = idleOptions.timeoutMs === undefined ? undefined : Date.now() + idleOptions.timeoutMs;
      for (;;) {
        // An empty receive on both queues after the check proves nothing was mid-handoff between them.
        const pending = await pendingWork();
        if (pending === undefined) {
          await Promise.all(pollers.map((poller) => poller.nextEmptyReceive()));
          if ((await pendingWork()) === undefined) return;
          continue;
        }
        if (deadline !== undefined && Date.now() > deadline) throw new RunnerNotIdleError(pending);
        await Promise.race(pollers.map((poller) => poller.nextEmptyReceive()));
      }
    },
    async stop() {
      await http.stop();
      await Promise.all([...pollers, ...checkPollers].map((poller) => poller.stop()));
      sqs.destroy();
    },
  };
}
