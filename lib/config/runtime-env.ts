import { PAGERDUTY_URLS } from '../infra/deployment-contract';

/** The environment variables of the runtime contract (docs/configuration.md "Configuration"). Each handler reads only the ones it uses. */
export type RuntimeVariable =
  | 'AGENT_ENV'
  | 'STATE_TABLE'
  | 'AUDIT_TABLE'
  | 'QUEUE_URL'
  | 'SECRET_ID'
  | 'WEBHOOK_SECRET_ID'
  | 'AGENT_CONFIG'
  | 'PAGERDUTY_API_URL'
  | 'PAGERDUTY_EVENTS_URL'
  /** The scheduler's delay queue (standard SQS): the worker schedules on it, the scheduler function relays from it. */
  | 'CHECK_QUEUE_URL';

/** PagerDuty's US service region, where an account lives unless the stack says otherwise. */
export const DEFAULT_PAGERDUTY_API_URL = PAGERDUTY_URLS.us.api;
export const DEFAULT_PAGERDUTY_EVENTS_URL = PAGERDUTY_URLS.us.events;

export class MissingConfigurationError extends Error {
  override readonly name = 'MissingConfigurationError';
  constructor(readonly variable: RuntimeVariable) {
    super(`Environment variable ${variable} is not set. The CDK stack sets it; for local runs see docs/configuration.md "Configuration".`);
  }
}

export function requireEnv(variable: RuntimeVariable, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[variable];
  if (value === undefined || value === '') throw new MissingConfigurationError(variable);
  return value;
}

export function optionalEnv(variable: RuntimeVariable, fallback: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[variable];
  return value === undefined || value === '' ? fallback : value;
}
