/**
 * What the worker and a workload account's read role (cdk/constructs/context-read-role.ts) agree on when the worker
 * assumes it. Plain values only: the CDK app and AGENT_CONFIG's checks read them too.
 */

/** An external id shorter than this is refused where it is configured: it is the one secret-ish half of the trust. */
export const MIN_EXTERNAL_ID_CHARS = 16;

/**
 * The session name the worker assumes a workload account's read role with: one per PagerDuty service, so CloudTrail
 * in that account says which service's incident each read was for, and the role's trust policy can admit only the
 * services it serves.
 */
export const CONTEXT_SESSION_PREFIX = 'pd-agent-';

/** STS allows 2 to 64 characters of `[\w+=,.@-]` in a session name. */
const MAX_SESSION_NAME_CHARS = 64;

export function contextSessionName(serviceId: string): string {
  return `${CONTEXT_SESSION_PREFIX}${serviceId.replace(/[^\w+=,.@-]/g, '-')}`.slice(0, MAX_SESSION_NAME_CHARS);
}
