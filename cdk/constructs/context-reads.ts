import { Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { AwsContextConfig } from '../../lib/config/agent-config';

/**
 * The read-only AWS actions the context providers call (lib/context/aws), each scoped as far as its service allows.
 * The worker's role gets them in its own account; ContextReadRole gives them to the worker in a workload account.
 */
export const CONTEXT_READ_ACTIONS = {
  /** Alarm-scoped: the alarm the metric provider reads, and its state history. */
  alarms: ['cloudwatch:DescribeAlarms', 'cloudwatch:DescribeAlarmHistory'],
  /** No resource-level permissions exist for these: IAM requires `*`. */
  unscoped: ['cloudwatch:GetMetricData', 'cloudtrail:LookupEvents'],
  logs: ['logs:FilterLogEvents'],
} as const;

/**
 * cdk-nag reports each wildcard resource of the context reads as its own AwsSolutions-IAM5 finding; each is
 * acknowledged with why it cannot be narrower. The ids are cdk-nag's, with the account and partition as tokens.
 */
export function contextReadAcknowledgements(stack: Stack): { id: string; reason: string }[] {
  // cdk-nag names the account as `<AWS::AccountId>` when it is the stack's token, else by its number.
  const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
  return [
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'cloudwatch:GetMetricData and cloudtrail:LookupEvents support no resource-level permissions (the Service Authorization Reference ' +
        'lists no resource type for either), so IAM requires Resource "*"; both only read metrics and management events.',
    },
    {
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudwatch:*:${account}:alarm:*]`,
      reason:
        'The alarm that paged is only known at run time (from the PagerDuty alert) and may be in any region of this account: ' +
        'DescribeAlarms and DescribeAlarmHistory are read-only and limited to alarm ARNs of this account.',
    },
    {
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:*:${account}:log-group:*]`,
      reason:
        "A Lambda function's log group is derived at run time from the alarm's FunctionName dimension, so any group of this account " +
        'may need reading; logs:FilterLogEvents only reads, and only log groups of this account.',
    },
  ];
}

export function acknowledgeContextReads(scope: Construct): void {
  for (const acknowledgement of contextReadAcknowledgements(Stack.of(scope))) Validations.of(scope).acknowledge(acknowledgement);
}

/** The read statements for one account (`account` may be a token such as the stack's own). */
export function contextReadStatements(stack: Stack, account: string): iam.PolicyStatement[] {
  const { partition } = stack;
  return [
    new iam.PolicyStatement({ actions: [...CONTEXT_READ_ACTIONS.alarms], resources: [`arn:${partition}:cloudwatch:*:${account}:alarm:*`] }),
    new iam.PolicyStatement({ actions: [...CONTEXT_READ_ACTIONS.unscoped], resources: ['*'] }),
    new iam.PolicyStatement({ actions: [...CONTEXT_READ_ACTIONS.logs], resources: [`arn:${partition}:logs:*:${account}:log-group:*`] }),
  ];
}

export interface WorkerContextReadsProps {
  role: iam.IRole;
  /** AGENT_CONFIG's `context.aws`: off grants nothing; mapped roles are the only ones the worker may assume. */
  config: AwsContextConfig;
}

/** The worker's AWS context reads, in a policy of their own so their acknowledgement covers nothing else. */
export class WorkerContextReads extends Construct {
  readonly policy?: iam.Policy;

  constructor(scope: Construct, id: string, props: WorkerContextReadsProps) {
    super(scope, id);
    if (!props.config.enabled) return;
    const stack = Stack.of(this);
    const statements = contextReadStatements(stack, stack.account);
    const roles = [
      ...new Set(Object.values(props.config.services).flatMap((mapping) => (mapping.roleArn === undefined ? [] : [mapping.roleArn]))),
    ];
    if (roles.length > 0) statements.push(new iam.PolicyStatement({ actions: ['sts:AssumeRole'], resources: roles.sort() }));
    this.policy = new iam.Policy(this, 'Policy', { statements });
    props.role.attachInlinePolicy(this.policy);
    acknowledgeContextReads(this.policy);
  }
}
