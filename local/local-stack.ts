import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { writeLocalStackState, removeLocalStackState } from '../lib/cli/local-stack-state';
import { REPO_ROOT } from '../lib/cli/stack-target';
import type { AgentSecret, WebhookSigningSecret } from '../lib/secrets/agent-secret';
import { buildFunctions } from './build';
import { startLocalAws, type LocalAws } from './emulators';
import type { RotationEvent } from '../lib/rotation/rotate-credentials';
import { loadBundledHandler } from './runner/handler-loader';
import { createRotationInvoker, type RotationInvoker, type RotationOutcome } from './runner/rotation-invoker';
import { WEBHOOK_PATH, secretNameFor, webhookSecretNameFor } from '../lib/infra/deployment-contract';
import { loadRunnerHandlers, startRunner, type Runner, type RunnerOptions } from './runner/runner';
import { startSandbox, SANDBOX_API_TOKEN, SANDBOX_BOT_USER, type Sandbox, type SandboxSeed } from './sandbox';
import {
  startSecretsManagerEmulator,
  type BeforeOperation,
  type RotationRequest,
  type SecretsManagerEmulator,
} from './secrets-manager-emulator';

/** PagerDuty credentials for real-PagerDuty mode (AWS stays local), from PAGERDUTY_* variables. */
export interface RealPagerDuty {
  apiUrl: string;
  /** The credentials document (no signing secrets: those go to their own secret, as in a deployed stack). */
  secret: AgentSecret;
  webhookSecrets: WebhookSigningSecret[];
}

export interface LocalStackOptions {
  /** Port of the webhook endpoint (default 3000; 0 = any free port). */
  port?: number;
  agentConfig?: string;
  sandboxSeed?: SandboxSeed;
  /** The sandbox secret's `fallbackRoutingKey`: the integration key of a seeded service whose people the fallback pages. */
  fallbackRoutingKey?: string;
  realPagerDuty?: RealPagerDuty;
  /**
   * Multiplies the scheduler's delays (SCHEDULER_TIME_SCALE, in (0, 1]): 0.01 turns a 15-minute follow-up into 9 s.
   * Local only; unset, checks wait their real time.
   */
  schedulerTimeScale?: number;
  /** Skip esbuild when the bundles are known to be fresh. */
  skipBuild?: boolean;
  /** Write `.local-state/local-stack.json` for the CLI (default true). */
  writeState?: boolean;
  onRequest?: RunnerOptions['onRequest'];
  onBatch?: RunnerOptions['onBatch'];
  /** Called when a rotation started by RotateSecret ends; the default writes failures to stderr. */
  onRotation?: (outcome: RotationOutcome) => void;
  /** Awaited before a rotation's first step (tests hold a rotation between staging and promotion with it). */
  beforeRotationSteps?: (request: RotationRequest) => Promise<void>;
  /** Awaited before the Secrets Manager emulator handles each call (tests interleave concurrent writers with it). */
  beforeSecretsManagerOperation?: BeforeOperation;
}

export interface LocalStack {
  aws: LocalAws;
  secretsManager: SecretsManagerEmulator;
  sandbox?: Sandbox;
  runner: Runner;
  /** Runs the bundled rotation function's four steps for each RotateSecret, as Secrets Manager does. */
  rotation: RotationInvoker;
  webhookUrl: string;
  /** The credentials secret (SECRET_ID). */
  secretId: string;
  /** The signing-secrets document (WEBHOOK_SECRET_ID). */
  webhookSecretId: string;
  pagerDutyApiUrl: string;
  /** Waits until no webhook is on its way from the sandbox and the runner is idle. */
  settled(options?: { timeoutMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

export const LOCAL_ENV = 'local';
export const LOCAL_SECRET_ID = secretNameFor(LOCAL_ENV);
export const LOCAL_WEBHOOK_SECRET_ID = webhookSecretNameFor(LOCAL_ENV);
export const LOCAL_SUBSCRIPTION_ID = 'PSUBLOCAL';

/**
 * A free port, held until `release()`: the sandbox (started in between, on a port of its own) and any other server of
 * this process cannot be given it while it is held.
 */
const reservePort = (): Promise<{ port: number; release: () => Promise<void> }> =>
  new Promise((resolve, reject) => {
    const holder = createServer();
    holder.once('error', reject);
    holder.listen(0, '127.0.0.1', () => {
      const address = holder.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      let released: Promise<void> | undefined;
      // Idempotent: released before the runner starts, and again (a no-op) by a start that failed before that.
      const release = (): Promise<void> => (released ??= new Promise<void>((closed) => holder.close(() => closed())));
      resolve({ port, release });
    });
  });

/**
 * The whole agent on one machine: dynalite and local-aws-sqs with the tables and queues of the CDK stack, a Secrets
 * Manager emulator holding `pd-agent/local` and `pd-agent/local/webhook-signing` (the split layout), the PagerDuty sandbox (unless real PagerDuty is configured), and the
 * runner invoking the bundled handlers exactly as AWS runs them. RotateSecret on the emulator runs the bundled
 * rotation function's four steps against the same PagerDuty, so `pd-agent secret stage --local` rotates for real.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  if (options.skipBuild !== true) await buildFunctions();
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.reverse()) await stop();
  };
  try {
    const aws = await startLocalAws({ agentEnv: LOCAL_ENV });
    stops.push(() => aws.stop());
    // RotateSecret can only reach the emulator once the stack is up, and the rotation function needs the emulator's
    // endpoint in its environment: the invoker is created below and reached through this binding.
    let rotation: RotationInvoker | undefined;
    const onRotate = async (request: RotationRequest): Promise<void> => {
      if (rotation === undefined)
        throw new Error('The local stack is still starting; call RotateSecret again once `npm start` has printed its endpoints.');
      await rotation.onRotate(request);
    };
    const secretsManager = await startSecretsManagerEmulator({ onRotate, beforeOperation: options.beforeSecretsManagerOperation });
    stops.push(() => secretsManager.stop());
    // The sandbox needs the webhook URL before the runner can listen on it: a free port, held until the runner takes
    // it, so that no server started in between (the sandbox's own) lands on it.
    const reserved = options.port === 0 ? await reservePort() : undefined;
    if (reserved !== undefined) stops.push(() => reserved.release());
    const port = reserved?.port ?? options.port ?? 3000;
    const webhookUrl = `http://127.0.0.1:${port}${WEBHOOK_PATH}`;

    let sandbox: Sandbox | undefined;
    let secret: AgentSecret;
    let webhookSecrets: WebhookSigningSecret[];
    let pagerDutyApiUrl: string;
    let eventsUrl: string | undefined;
    if (options.realPagerDuty !== undefined) {
      secret = options.realPagerDuty.secret;
      webhookSecrets = options.realPagerDuty.webhookSecrets;
      pagerDutyApiUrl = options.realPagerDuty.apiUrl;
    } else {
      const signingSecret = randomBytes(24).toString('base64url');
      sandbox = await startSandbox({
        seed: options.sandboxSeed,
        webhookTarget: { url: webhookUrl, secrets: [signingSecret], subscriptionId: LOCAL_SUBSCRIPTION_ID },
      });
      stops.push(() => (sandbox as Sandbox).stop());
      secret = {
        apiToken: SANDBOX_API_TOKEN,
        fromEmail: SANDBOX_BOT_USER.email,
        botUserId: SANDBOX_BOT_USER.id,
        ...(options.fallbackRoutingKey === undefined ? {} : { fallbackRoutingKey: options.fallbackRoutingKey }),
      };
      webhookSecrets = [{ subscriptionId: LOCAL_SUBSCRIPTION_ID, secret: signingSecret }];
      pagerDutyApiUrl = sandbox.apiUrl;
      eventsUrl = sandbox.eventsUrl;
    }
    const secretsClient = new SecretsManagerClient({
      endpoint: secretsManager.endpoint,
      region: aws.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    await secretsClient.send(new CreateSecretCommand({ Name: LOCAL_SECRET_ID, SecretString: JSON.stringify(secret) }));
    await secretsClient.send(new CreateSecretCommand({ Name: LOCAL_WEBHOOK_SECRET_ID, SecretString: JSON.stringify({ webhookSecrets }) }));
    secretsClient.destroy();

    const env: Record<string, string> = {
      ...aws.env,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.endpoint,
      AGENT_ENV: LOCAL_ENV,
      SECRET_ID: LOCAL_SECRET_ID,
      WEBHOOK_SECRET_ID: LOCAL_WEBHOOK_SECRET_ID,
      PAGERDUTY_API_URL: pagerDutyApiUrl,
      ...(eventsUrl === undefined ? {} : { PAGERDUTY_EVENTS_URL: eventsUrl }),
      ...(options.agentConfig === undefined ? {} : { AGENT_CONFIG: options.agentConfig }),
      ...(options.schedulerTimeScale === undefined ? {} : { SCHEDULER_TIME_SCALE: String(options.schedulerTimeScale) }),
      POWERTOOLS_SERVICE_NAME: 'pd-agent',
      POWERTOOLS_METRICS_NAMESPACE: 'pd-agent',
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'ERROR',
      POWERTOOLS_METRICS_DISABLED: 'true',
    };
    await reserved?.release();
    const runner = await startRunner({
      handlers: loadRunnerHandlers(env),
      sqsEndpoint: aws.sqsEndpoint,
      region: aws.region,
      queueUrl: aws.queueUrl,
      deadLetterQueueUrl: aws.deadLetterQueueUrl,
      checkQueues: { queueUrl: aws.checkQueueUrl, deadLetterQueueUrl: aws.checkDeadLetterQueueUrl },
      port,
      visibilityTimeoutSeconds: 5,
      onRequest: options.onRequest,
      onBatch: options.onBatch,
    });
    stops.push(() => runner.stop());
    const invoker = createRotationInvoker({
      handler: loadBundledHandler<RotationEvent, void>('rotate-secret', env),
      region: aws.region,
      onOutcome: options.onRotation,
      beforeSteps: options.beforeRotationSteps,
    });
    rotation = invoker;
    // Stopping the stack under a rotation in progress would fail its steps against stopped emulators.
    stops.push(async () => void (await invoker.settled()));

    if (options.writeState !== false) {
      writeLocalStackState(REPO_ROOT, {
        agentEnv: LOCAL_ENV,
        region: aws.region,
        webhookUrl: runner.webhookUrl,
        pagerDutyApiUrl,
        pagerDutySandbox: sandbox !== undefined,
        endpoints: { dynamodb: aws.dynamodbEndpoint, sqs: aws.sqsEndpoint, secretsManager: secretsManager.endpoint },
        stateTable: aws.stateTable,
        auditTable: aws.auditTable,
        queueUrl: aws.queueUrl,
        deadLetterQueueUrl: aws.deadLetterQueueUrl,
        secretId: LOCAL_SECRET_ID,
        webhookSecretId: LOCAL_WEBHOOK_SECRET_ID,
        pid: process.pid,
        startedAt: new Date().toISOString(),
      });
      stops.unshift(async () => removeLocalStackState(REPO_ROOT, process.pid));
    }

    return {
      aws,
      secretsManager,
      sandbox,
      runner,
      rotation: invoker,
      webhookUrl: runner.webhookUrl,
      secretId: LOCAL_SECRET_ID,
      webhookSecretId: LOCAL_WEBHOOK_SECRET_ID,
      pagerDutyApiUrl,
      async settled(settleOptions = {}) {
        // The agent's own actions make the sandbox send webhooks, which the runner queues and handles: repeat until
        // a pass finds nothing new on either side.
        for (let pass = 0; pass < 20; pass += 1) {
          const before = sandbox?.deliveries().length ?? 0;
          await sandbox?.settled();
          await runner.idle(settleOptions);
          await sandbox?.settled();
          if ((sandbox?.deliveries().length ?? 0) === before) return;
        }
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
