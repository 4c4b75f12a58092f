import { z } from 'zod/mini';
import { en } from 'zod/v4/locales';
import { validateAgentConfig, AgentConfigError } from '../lib/config/agent-config';
import { rulePatternProblems } from '../lib/config/rule-patterns';
import { DEFAULT_MAX_RECEIVE_COUNT } from '../lib/infra/resource-definitions';
import type { PagerDutyRegion } from '../lib/infra/deployment-contract';

z.config(en());

/**
 * Per-environment deployment settings, declared in cdk.json under `context.environments.<name>` (one block per
 * environment; a new environment is a copied block). Loaded and checked at synth time, so a typo fails
 * `cdk synth` with the field named instead of deploying something half-configured.
 */

/** CloudWatch Logs accepts only these retention periods. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** Lambda refuses a function whose environment variables exceed 4 KB together; keep AGENT_CONFIG well inside it. */
export const MAX_AGENT_CONFIG_BYTES = 3_000;

/**
 * The webhook endpoint's capacity (docs/operations.md "Webhook ingress capacity" gives the sizing). PagerDuty publishes no delivery
 * rate: it sends one event per request, in order per subscription and incident, holding later ones back while one is
 * retried, so the rate follows how many incidents change at once. A request over the throttle is answered 429, which
 * PagerDuty retries (never drops); the reserved concurrency is the ingress's own, so neither a flood nor the worker can
 * take the other's Lambda capacity.
 */
const webhookIngressSchema = z.strictObject({
  /** Concurrent ingress executions reserved for (and capping) the ingress. */
  reservedConcurrency: z.number().check(z.int(), z.gte(2), z.lte(1000)),
  /** Steady requests per second API Gateway lets through to the webhook route. */
  rateLimit: z.number().check(z.positive(), z.lte(10_000)),
  /** Requests API Gateway lets through at once above the steady rate. */
  burstLimit: z.number().check(z.int(), z.gte(1), z.lte(5_000)),
  /**
   * A REST API behind AWS WAF instead of the HTTP API, with a per-IP rate rule (docs/operations.md "Forged floods and
   * AWS WAF"). Switching it changes the webhook URL: subscribe the new one before revoking the old.
   */
  waf: z._default(z.boolean(), false),
  /** With `waf`: requests one source IP may send in any 5 minutes before WAF answers it 429 (AWS WAF's minimum is 10). */
  wafRequestsPerIp: z._default(z.number().check(z.int(), z.gte(10), z.lte(2_000_000_000)), 1_000),
});

export type WebhookIngressCapacity = z.infer<typeof webhookIngressSchema>;

export const DEFAULT_WEBHOOK_INGRESS: WebhookIngressCapacity = {
  reservedConcurrency: 10,
  rateLimit: 25,
  burstLimit: 50,
  waf: false,
  wafRequestsPerIp: 1_000,
};

const environmentSchema = z.object({
  account: z.optional(z.string().check(z.regex(/^\d{12}$/, 'an AWS account id has 12 digits'))),
  region: z.optional(z.string().check(z.regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'an AWS region looks like eu-west-1'))),
  /** Where the PagerDuty account lives: `us` (api.pagerduty.com) or `eu` (api.eu.pagerduty.com). */
  pagerdutyRegion: z._default(z.enum(['us', 'eu']), 'us'),
  /** The environment's AGENT_CONFIG (filters, triage policy, escalation); checked with validateAgentConfig, rule patterns on RE2. */
  agentConfig: z._default(z.record(z.string(), z.unknown()), {}),
  /** Upper bound of concurrent worker invocations: it bounds the load on PagerDuty's REST rate limit. */
  workerMaxConcurrency: z._default(z.number().check(z.int(), z.gte(2), z.lte(1000)), 5),
  /** Receives of one event before it is dead-lettered and handed back to humans. */
  maxReceiveCount: z._default(z.number().check(z.int(), z.gte(1), z.lte(1000)), DEFAULT_MAX_RECEIVE_COUNT),
  /** Days an audit item is kept (DynamoDB TTL). */
  auditRetentionDays: z._default(z.number().check(z.int(), z.positive()), 400),
  /** Alarm notifications are mailed here when set (the subscription must be confirmed from the mail). */
  alarmEmail: z.optional(z.email()),
  /** The low-priority security topic (sustained signature failures) is mailed here when set; never a page. */
  securityAlarmEmail: z.optional(z.email()),
  logRetentionDays: z._default(
    z
      .number()
      .check(
        z.refine((days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days), `must be one of ${LOG_RETENTION_DAYS.join(', ')}`),
      ),
    90,
  ),
  /** `retain` keeps the audit table, the secret and the logs when the stack is deleted; `destroy` is for dev. */
  removalPolicy: z._default(z.enum(['retain', 'destroy']), 'retain'),
  webhookIngress: z._default(webhookIngressSchema, DEFAULT_WEBHOOK_INGRESS),
  /**
   * `split` (default): the ingress reads only the signing-secrets secret. `migrating`: it may also read the credentials
   * secret, for a stack deployed before the split until `pd-agent secret split` has run (docs/operations.md
   * "Upgrading a stack deployed before the split").
   */
  webhookSecretLayout: z._default(z.enum(['split', 'migrating']), 'split'),
  /**
   * IAM roles operators run the CLI's secret and webhook commands with: with the functions, the only principals the
   * secrets' KMS key lets decrypt them. Empty: the stack creates one (output SecretsOperatorRoleArns) for them to assume.
   */
  operatorRoleArns: z._default(
    z.array(
      z.string().check(z.regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, 'an IAM role ARN: arn:aws:iam::<account>:role/<name>')),
    ),
    [],
  ),
});

export interface EnvironmentConfig {
  name: string;
  account?: string;
  region?: string;
  pagerdutyRegion: PagerDutyRegion;
  /** The JSON the functions receive as AGENT_CONFIG: what cdk.json says, plus `audit.retentionDays`. */
  agentConfigJson: string;
  bedrockEnabled: boolean;
  bedrockModelId: string;
  bedrockRegion?: string;
  workerMaxConcurrency: number;
  maxReceiveCount: number;
  auditRetentionDays: number;
  alarmEmail?: string;
  securityAlarmEmail?: string;
  logRetentionDays: (typeof LOG_RETENTION_DAYS)[number];
  removalPolicy: 'retain' | 'destroy';
  webhookIngress: WebhookIngressCapacity;
  webhookSecretLayout: 'split' | 'migrating';
  operatorRoleArns: string[];
}

export class EnvironmentConfigError extends Error {
  override readonly name = 'EnvironmentConfigError';
}

const ENV_NAME = /^[a-z][a-z0-9-]{0,19}$/;

/**
 * Picks `-c env=<name>` out of the `environments` context block and checks it.
 * @param environments the value of the `environments` context key (cdk.json)
 * @param selected the value of the `env` context key
 */
export function loadEnvironment(environments: unknown, selected: unknown): EnvironmentConfig {
  if (typeof environments !== 'object' || environments === null || Array.isArray(environments) || Object.keys(environments).length === 0) {
    throw new EnvironmentConfigError(
      'cdk.json has no "environments" block in "context". Add one with at least one environment (see docs/operations.md "Deploy").',
    );
  }
  const blocks = environments as Record<string, unknown>;
  const known = Object.keys(blocks).sort();
  const listing = known.join(', ');
  if (typeof selected !== 'string' || selected === '') {
    throw new EnvironmentConfigError(`Choose the environment to synthesize with -c env=<name>; known environments: ${listing}.`);
  }
  if (!Object.hasOwn(blocks, selected)) {
    throw new EnvironmentConfigError(
      `Unknown environment "${selected}"; known environments: ${listing}. To add one, copy a block under "environments" in cdk.json.`,
    );
  }
  if (!ENV_NAME.test(selected)) {
    throw new EnvironmentConfigError(
      `Environment name "${selected}" must be lower-case letters, digits and dashes, starting with a letter, at most 20 characters: it names the stack and the secret.`,
    );
  }
  const parsed = environmentSchema.safeParse(blocks[selected]);
  if (!parsed.success) {
    throw new EnvironmentConfigError(
      `cdk.json environment "${selected}" is invalid: ${z.prettifyError(parsed.error).replace(/\n\s*/g, ' ')}. Fix it and run cdk synth again.`,
    );
  }
  const block = parsed.data;
  const ingress = block.webhookIngress;
  if (ingress.burstLimit < ingress.rateLimit) {
    throw new EnvironmentConfigError(
      `cdk.json environments.${selected}.webhookIngress: burstLimit (${ingress.burstLimit}) is below rateLimit (${ingress.rateLimit}), so ` +
        'API Gateway could never let a full second of the steady rate through. Set burstLimit to at least rateLimit (twice it is usual).',
    );
  }
  const agentConfigInput = { ...block.agentConfig, audit: { retentionDays: block.auditRetentionDays } };
  let agentConfig;
  try {
    agentConfig = validateAgentConfig(agentConfigInput, `cdk.json environments.${selected}.agentConfig`, rulePatternProblems);
  } catch (error) {
    if (error instanceof AgentConfigError) throw new EnvironmentConfigError(error.message);
    throw error;
  }
  const agentConfigJson = JSON.stringify(agentConfigInput);
  if (Buffer.byteLength(agentConfigJson) > MAX_AGENT_CONFIG_BYTES) {
    throw new EnvironmentConfigError(
      `cdk.json environments.${selected}.agentConfig is ${Buffer.byteLength(agentConfigJson)} bytes as JSON; Lambda allows 4 KB of environment ` +
        `variables per function, so keep it under ${MAX_AGENT_CONFIG_BYTES} bytes (shorten hypotheses and next steps, or merge rules).`,
    );
  }
  const { bedrock } = agentConfig.triage;
  return {
    name: selected,
    ...(block.account === undefined ? {} : { account: block.account }),
    ...(block.region === undefined ? {} : { region: block.region }),
    pagerdutyRegion: block.pagerdutyRegion,
    agentConfigJson,
    bedrockEnabled: bedrock.enabled,
    bedrockModelId: bedrock.modelId,
    ...(bedrock.region === undefined ? {} : { bedrockRegion: bedrock.region }),
    workerMaxConcurrency: block.workerMaxConcurrency,
    maxReceiveCount: block.maxReceiveCount,
    auditRetentionDays: block.auditRetentionDays,
    ...(block.alarmEmail === undefined ? {} : { alarmEmail: block.alarmEmail }),
    ...(block.securityAlarmEmail === undefined ? {} : { securityAlarmEmail: block.securityAlarmEmail }),
    logRetentionDays: block.logRetentionDays as EnvironmentConfig['logRetentionDays'],
    removalPolicy: block.removalPolicy,
    webhookIngress: ingress,
    webhookSecretLayout: block.webhookSecretLayout,
    operatorRoleArns: block.operatorRoleArns,
  };
}
