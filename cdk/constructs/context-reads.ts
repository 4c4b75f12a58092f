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
 * Optional bounds on what a read role may read (a workload account's ContextReadRole): alarm-name and log-group-name
 * prefixes narrow the ARNs, regions add an `aws:RequestedRegion` condition to every statement. Unset, the role reads
 * any alarm and log group of its account, in any region.
 */
export interface ContextReadBounds {
  alarmNamePrefixes?: string[];
  logGroupPrefixes?: string[];
  regions?: string[];
}

const patterns = (prefixes: string[] | undefined): string[] =>
  prefixes === undefined || prefixes.length === 0 ? ['*'] : prefixes.map((prefix) => `${prefix}*`);

/**
 * cdk-nag reports each wildcard resource of the context reads as its own AwsSolutions-IAM5 finding; each is
 * acknowledged with why it cannot be narrower. The ids are cdk-nag's, with the account and partition as tokens.
 */
export function contextReadAcknowledgements(stack: Stack, bounds: ContextReadBounds = {}): { id: string; reason: string }[] {
  // cdk-nag names the account as `<AWS::AccountId>` when it is the stack's token, else by its number.
  const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
  return [
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'cloudwatch:GetMetricData and cloudtrail:LookupEvents support no resource-level permissions (the Service Authorization Reference ' +
        'lists no resource type for either), so IAM requires Resource "*"; both only read metrics and management events.',
    },
    ...patterns(bounds.alarmNamePrefixes).map((pattern) => ({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudwatch:*:${account}:alarm:${pattern}]`,
      reason:
        'The alarm that paged is only known at run time (from the PagerDuty alert) and may be in any region of this account: ' +
        'DescribeAlarms and DescribeAlarmHistory are read-only and limited to alarm ARNs of this account (and the configured name prefixes).',
    })),
    ...patterns(bounds.logGroupPrefixes).map((pattern) => ({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:*:${account}:log-group:${pattern}]`,
      reason:
        "A Lambda function's log group is derived at run time from the alarm's FunctionName dimension, so any group of this account " +
        '(within the configured prefixes) may need reading; logs:FilterLogEvents only reads, and only log groups of this account.',
    })),
  ];
}

export function acknowledgeContextReads(scope: Construct, bounds: ContextReadBounds = {}): void {
  for (const acknowledgement of contextReadAcknowledgements(Stack.of(scope), bounds)) Validations.of(scope).acknowledge(acknowledgement);
}

/** The read statements for one account (`account` may be a token such as the stack's own), within `bounds`. */
export function contextReadStatements(stack: Stack, account: string, bounds: ContextReadBounds = {}): iam.PolicyStatement[] {
  const { partition } = stack;
  const conditions =
    bounds.regions === undefined || bounds.regions.length === 0 ? undefined : { StringEquals: { 'aws:RequestedRegion': bounds.regions } };
  const statement = (actions: readonly string[], resources: string[]): iam.PolicyStatement =>
    new iam.PolicyStatement({ actions: [...actions], resources, ...(conditions === undefined ? {} : { conditions }) });
  return [
    statement(
      CONTEXT_READ_ACTIONS.alarms,
      patterns(bounds.alarmNamePrefixes).map((pattern) => `arn:${partition}:cloudwatch:*:${account}:alarm:${pattern}`),
    ),
    statement(CONTEXT_READ_ACTIONS.unscoped, ['*']),
    statement(
      CONTEXT_READ_ACTIONS.logs,
      patterns(bounds.logGroupPrefixes).map((pattern) => `arn:${partition}:logs:*:${account}:log-group:${pattern}`),
    ),
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
