import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledgeContextReads, contextReadStatements } from './context-reads';

export interface ContextReadRoleProps {
  /** The pd-agent worker's role ARN (stack output of the agent's account) allowed to assume this role. */
  workerRoleArn: string;
  /** The external id the worker presents (AGENT_CONFIG context.aws.services.<id>.externalId). */
  externalId: string;
  roleName?: string;
}

/**
 * A read-only role in a workload account for pd-agent's AWS context providers: exactly the reads they make
 * (alarms, metric data, CloudTrail lookups, log filtering) on this account, assumable only by the agent's worker
 * role presenting the external id. Map it in AGENT_CONFIG as `context.aws.services.<service>.roleArn`.
 */
export class ContextReadRole extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: ContextReadRoleProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.role = new iam.Role(this, 'Role', {
      roleName: props.roleName,
      description: 'pd-agent context providers: read-only CloudWatch alarms and metrics, CloudTrail events and CloudWatch Logs',
      assumedBy: new iam.ArnPrincipal(props.workerRoleArn).withConditions({ StringEquals: { 'sts:ExternalId': props.externalId } }),
      maxSessionDuration: Duration.hours(1),
      inlinePolicies: { ContextReads: new iam.PolicyDocument({ statements: contextReadStatements(stack, stack.account) }) },
    });
    acknowledgeContextReads(this.role);
  }
}
