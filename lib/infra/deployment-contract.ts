import { SCHEDULER_TIMEOUT_SECONDS, WORKER_TIMEOUT_SECONDS } from './resource-definitions';

/**
 * What the deployed stack and everything that stands in for it (the local runner, the CLI) must agree on, defined
 * once: each function's limits, the webhook path, the names of the stack and its secrets, and PagerDuty's region
 * URLs. Plain values only, so the ingress bundle and the CLI can read it without pulling in aws-cdk-lib.
 */
export type FunctionName = 'ingress' | 'worker' | 'handback' | 'rotateSecret' | 'scheduler';

export interface FunctionLimits {
  timeoutSeconds: number;
  memoryMb: number;
}

export const FUNCTION_LIMITS: Record<FunctionName, FunctionLimits> = {
  // PagerDuty waits 5 s for an answer; the rest is headroom for a cold start.
  ingress: { timeoutSeconds: 10, memoryMb: 512 },
  worker: { timeoutSeconds: WORKER_TIMEOUT_SECONDS, memoryMb: 1024 },
  handback: { timeoutSeconds: 50, memoryMb: 512 },
  rotateSecret: { timeoutSeconds: 30, memoryMb: 256 },
  scheduler: { timeoutSeconds: SCHEDULER_TIMEOUT_SECONDS, memoryMb: 256 },
};

export const WEBHOOK_PATH = '/webhooks/pagerduty';

export const stackNameFor = (environment: string): string => `PdAgent-${environment}`;
export const secretNameFor = (environment: string): string => `pd-agent/${environment}`;
export const webhookSecretNameFor = (environment: string): string => `pd-agent/${environment}/webhook-signing`;

export type PagerDutyRegion = 'us' | 'eu';

export const PAGERDUTY_URLS: Record<PagerDutyRegion, { api: string; events: string }> = {
  us: { api: 'https://api.pagerduty.com', events: 'https://events.pagerduty.com' },
  eu: { api: 'https://api.eu.pagerduty.com', events: 'https://events.eu.pagerduty.com' },
};

/** The stack's outputs: the CDK stack defines each one, and the CLI finds a deployed environment by them. */
export const STACK_OUTPUTS = [
  'Environment',
  'WebhookUrl',
  'StateTableName',
  'AuditTableName',
  'AuditTimeIndexName',
  'QueueUrl',
  'DeadLetterQueueUrl',
  'SecretName',
  'SecretArn',
  'SecretsKeyArn',
  'SecretsOperatorRoleArns',
  'WebhookSecretName',
  'WebhookSecretArn',
  'WebhookSecretLayout',
  'IngressFunctionName',
  'WorkerFunctionName',
  'WorkerRoleArn',
  'HandbackFunctionName',
  'RotateSecretFunctionName',
  'AlarmTopicArn',
  'SecurityAlarmTopicArn',
  'DashboardName',
  'PagerDutyApiUrl',
] as const;

export type StackOutputName = (typeof STACK_OUTPUTS)[number];
