import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { CONTEXT_SESSION_PREFIX, contextSessionName, MIN_EXTERNAL_ID_CHARS } from '../../lib/context/aws/read-role-contract';
import { acknowledgeContextReads, contextReadStatements, type ContextReadBounds } from './context-reads';

export interface ContextReadRoleProps extends ContextReadBounds {
  /** The pd-agent worker's role ARN (stack output of the agent's account) allowed to assume this role. */
  workerRoleArn: string;
  /** The external id the worker presents (AGENT_CONFIG context.aws.services.<id>.externalId), at least 16 characters. */
  externalId: string;
  /**
   * The PagerDuty services whose incidents may read through this role: the worker's session must be named for one of
   * them (`pd-agent-<service id>`). Unset: any `pd-agent-` session.
   */
  serviceIds?: string[];
  roleName?: string;
}

export class ContextReadRoleError extends Error {
  override readonly name = 'ContextReadRoleError';
}

/**
 * A read-only role in a workload account for pd-agent's AWS context providers: exactly the reads they make
 * (alarms, metric data, CloudTrail lookups, log filtering) on this account, optionally bounded to alarm and log-group
 * prefixes and regions, assumable only by the agent's worker role presenting the external id with a session named for
 * a service it serves. Map it in AGENT_CONFIG as `context.aws.services.<service>.roleArn`.
 */
export class ContextReadRole extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: ContextReadRoleProps) {
    super(scope, id);
    if (props.externalId.length < MIN_EXTERNAL_ID_CHARS) {
      throw new ContextReadRoleError(
        `The external id has ${props.externalId.length} characters; use at least ${MIN_EXTERNAL_ID_CHARS} (e.g. openssl rand -hex 16) ` +
          'and the same value as AGENT_CONFIG context.aws.services.<id>.externalId.',
      );
    }
    const stack = Stack.of(this);
    const sessions =
      props.serviceIds === undefined || props.serviceIds.length === 0
        ? { StringLike: { 'sts:RoleSessionName': `${CONTEXT_SESSION_PREFIX}*` } }
        : { StringEquals: { 'sts:RoleSessionName': props.serviceIds.map(contextSessionName) } };
    const trust = {
      ...sessions,
      StringEquals: { 'sts:ExternalId': props.externalId, ...('StringEquals' in sessions ? sessions.StringEquals : {}) },
    };
    this.role = new iam.Role(this, 'Role', {
      roleName: props.roleName,
      description: 'pd-agent context providers: read-only CloudWatch alarms and metrics, CloudTrail events and CloudWatch Logs',
      assumedBy: new iam.ArnPrincipal(props.workerRoleArn).withConditions(trust),
      maxSessionDuration: Duration.hours(1),
      inlinePolicies: { ContextReads: new iam.PolicyDocument({ statements: contextReadStatements(stack, stack.account, props) }) },
    });
    acknowledgeContextReads(this.role, props);
  }
}
