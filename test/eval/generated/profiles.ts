import type { CapacityKind } from '../../../lib/context/aws/metric-shape';

/**
 * The alarmed metrics the generated evaluation draws from: at least one per AWS namespace the agent meets most (Lambda,
 * ECS, EC2, RDS, ALB, SQS, DynamoDB, API Gateway), with how their values behave (counts near zero are Poisson, the
 * rest a level with relative noise), their resource, the write events CloudTrail records on it, and a sibling
 * resource a decoy change can land on (another ECS service in the same cluster, another function).
 */

export interface MetricProfile {
  namespace: string;
  metric: string;
  unit: string;
  statistic: string;
  periodSeconds: number;
  noise: 'poisson' | 'relative';
  /** The level before anything happens (for Poisson, the mean per period). */
  level: [number, number];
  capacity?: CapacityKind;
  /** The alarmed resource's dimensions and its CloudTrail name, from a short random name. */
  resource: (name: string) => { dimensions: Record<string, string>; trailName: string; logGroup: string };
  /** Write events on the resource itself (event source prefix, event name). */
  actions: string[];
  /** Write events on a sibling resource: a change nearby, never on the alarmed resource. */
  siblingActions: string[];
  sibling: (name: string) => string;
}

const lambda = (name: string) => ({
  dimensions: { FunctionName: name },
  trailName: name,
  logGroup: `/aws/lambda/${name}`,
});
const ecs = (name: string) => ({
  dimensions: { ClusterName: 'prod', ServiceName: name },
  trailName: name,
  logGroup: `/ecs/${name}`,
});

export const PROFILES: readonly MetricProfile[] = [
  {
    namespace: 'AWS/Lambda',
    metric: 'Errors',
    unit: 'Count',
    statistic: 'Sum',
    periodSeconds: 60,
    noise: 'poisson',
    level: [0.05, 3],
    resource: lambda,
    actions: ['lambda:UpdateFunctionCode', 'lambda:UpdateFunctionConfiguration', 'lambda:UpdateAlias'],
    siblingActions: ['lambda:UpdateFunctionCode', 'lambda:PutFunctionConcurrency'],
    sibling: (name) => `${name}-worker`,
  },
  {
    namespace: 'AWS/Lambda',
    metric: 'Duration',
    unit: 'Milliseconds',
    statistic: 'Average',
    periodSeconds: 60,
    noise: 'relative',
    level: [40, 2000],
    resource: lambda,
    actions: ['lambda:UpdateFunctionCode', 'lambda:UpdateFunctionConfiguration'],
    siblingActions: ['lambda:UpdateFunctionConfiguration'],
    sibling: (name) => `${name}-batch`,
  },
  {
    namespace: 'AWS/ECS',
    metric: 'CPUUtilization',
    unit: 'Percent',
    statistic: 'Average',
    periodSeconds: 60,
    noise: 'relative',
    level: [10, 45],
    capacity: 'percent-used',
    resource: ecs,
    actions: ['ecs:UpdateService'],
    siblingActions: ['ecs:UpdateService', 'ecs:RegisterTaskDefinition'],
    sibling: (name) => `${name}-admin`,
  },
  {
    namespace: 'AWS/EC2',
    metric: 'CPUUtilization',
    unit: 'Percent',
    statistic: 'Average',
    periodSeconds: 300,
    noise: 'relative',
    level: [5, 40],
    capacity: 'percent-used',
    resource: (name) => {
      const id = `i-0${name
        .replace(/[^a-f0-9]/g, '')
        .padEnd(8, 'a')
        .slice(0, 8)}cafe0000`;
      return { dimensions: { InstanceId: id }, trailName: id, logGroup: `/ec2/${name}` };
    },
    actions: ['ec2:ModifyInstanceAttribute'],
    siblingActions: ['ec2:ModifyInstanceAttribute', 'ec2:AuthorizeSecurityGroupIngress'],
    sibling: () => 'i-0badc0ffee0000001',
  },
  {
    namespace: 'AWS/RDS',
    metric: 'DatabaseConnections',
    unit: 'Count',
    statistic: 'Average',
    periodSeconds: 60,
    noise: 'relative',
    level: [20, 400],
    resource: (name) => ({ dimensions: { DBInstanceIdentifier: name }, trailName: name, logGroup: `/aws/rds/instance/${name}/error` }),
    actions: ['rds:ModifyDBInstance', 'rds:ModifyDBParameterGroup', 'rds:RebootDBInstance'],
    siblingActions: ['rds:ModifyDBInstance'],
    sibling: (name) => `${name}-replica`,
  },
  {
    namespace: 'AWS/RDS',
    metric: 'FreeStorageSpace',
    unit: 'Bytes',
    statistic: 'Average',
    periodSeconds: 300,
    noise: 'relative',
    level: [2e10, 2e11],
    capacity: 'free',
    resource: (name) => ({ dimensions: { DBInstanceIdentifier: name }, trailName: name, logGroup: `/aws/rds/instance/${name}/error` }),
    actions: ['rds:ModifyDBInstance'],
    siblingActions: ['rds:ModifyDBInstance'],
    sibling: (name) => `${name}-reporting`,
  },
  {
    namespace: 'AWS/ApplicationELB',
    metric: 'TargetResponseTime',
    unit: 'Seconds',
    statistic: 'p99',
    periodSeconds: 60,
    noise: 'relative',
    level: [0.05, 2],
    resource: (name) => {
      const balancer = `app/${name}/50dc6c495c0c9188`;
      return {
        dimensions: { LoadBalancer: balancer },
        trailName: `arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/${balancer}`,
        logGroup: `/ecs/${name}`,
      };
    },
    actions: ['elasticloadbalancing:ModifyListener', 'elasticloadbalancing:ModifyTargetGroup'],
    siblingActions: ['elasticloadbalancing:ModifyLoadBalancerAttributes'],
    sibling: (name) => `arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/${name}-internal/7f3e0a`,
  },
  {
    namespace: 'AWS/ApplicationELB',
    metric: 'HTTPCode_Target_5XX_Count',
    unit: 'Count',
    statistic: 'Sum',
    periodSeconds: 60,
    noise: 'poisson',
    level: [0.1, 5],
    resource: (name) => {
      const balancer = `app/${name}/9c0c91885dc6c4`;
      return {
        dimensions: { LoadBalancer: balancer },
        trailName: `arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/${balancer}`,
        logGroup: `/ecs/${name}`,
      };
    },
    actions: ['elasticloadbalancing:ModifyTargetGroup', 'elasticloadbalancing:ModifyListener'],
    siblingActions: ['elasticloadbalancing:ModifyListener'],
    sibling: (name) => `arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/${name}-admin/0a1b2c`,
  },
  {
    namespace: 'AWS/SQS',
    metric: 'ApproximateAgeOfOldestMessage',
    unit: 'Seconds',
    statistic: 'Maximum',
    periodSeconds: 60,
    noise: 'relative',
    level: [5, 120],
    resource: (name) => ({ dimensions: { QueueName: name }, trailName: name, logGroup: `/aws/lambda/${name}-consumer` }),
    actions: ['sqs:SetQueueAttributes'],
    siblingActions: ['sqs:SetQueueAttributes'],
    sibling: (name) => `${name}-dlq`,
  },
  {
    namespace: 'AWS/DynamoDB',
    metric: 'ThrottledRequests',
    unit: 'Count',
    statistic: 'Sum',
    periodSeconds: 60,
    noise: 'poisson',
    level: [0.05, 4],
    resource: (name) => ({ dimensions: { TableName: name }, trailName: name, logGroup: `/aws/lambda/${name}-writer` }),
    actions: ['dynamodb:UpdateTable'],
    siblingActions: ['dynamodb:UpdateTable'],
    sibling: (name) => `${name}-audit`,
  },
  {
    namespace: 'AWS/ApiGateway',
    metric: 'Latency',
    unit: 'Milliseconds',
    statistic: 'Average',
    periodSeconds: 60,
    noise: 'relative',
    level: [20, 900],
    resource: (name) => ({ dimensions: { ApiName: name }, trailName: name, logGroup: `API-Gateway-Execution-Logs_${name}/prod` }),
    actions: ['apigateway:CreateDeployment'],
    siblingActions: ['apigateway:CreateDeployment'],
    sibling: (name) => `${name}-partner`,
  },
  {
    namespace: 'AWS/ApiGateway',
    metric: '5XXError',
    unit: 'Count',
    statistic: 'Sum',
    periodSeconds: 60,
    noise: 'poisson',
    level: [0.05, 2],
    resource: (name) => ({ dimensions: { ApiName: name }, trailName: name, logGroup: `API-Gateway-Execution-Logs_${name}/prod` }),
    actions: ['apigateway:CreateDeployment'],
    siblingActions: ['apigateway:CreateDeployment'],
    sibling: (name) => `${name}-internal`,
  },
];

/** Account-wide write events a responder would want to see (security groups, IAM, network, scaling, parameters). */
export const ACCOUNT_ACTIONS: readonly [string, string][] = [
  ['ec2:AuthorizeSecurityGroupIngress', 'sg-0a1b2c3d4e5f60718'],
  ['ec2:RevokeSecurityGroupEgress', 'sg-0f9e8d7c6b5a40312'],
  ['iam:PutRolePolicy', 'reporting-role'],
  ['iam:AttachRolePolicy', 'ci-deployer'],
  ['ec2:ReplaceRoute', 'rtb-0123456789abcdef0'],
  ['ec2:CreateNetworkAclEntry', 'acl-0abcdef0123456789'],
  ['autoscaling:UpdateAutoScalingGroup', 'batch-asg'],
  ['ssm:PutParameter', '/prod/feature/new-search'],
  ['appconfig:StartDeployment', 'web-config'],
];

export const NEW_ERRORS: readonly string[] = [
  'ConnectionPool exhausted: no connection available within <n> ms',
  'TypeError: Cannot read properties of undefined (reading <*>)',
  'connect ETIMEDOUT <ip>:<n>',
  'ProvisionedThroughputExceededException: Rate of requests exceeds the allowed throughput',
  'OutOfMemoryError: Java heap space',
  'SequelizeConnectionError: too many clients already',
  'upstream request timeout after <n> ms',
];

/** Error lines every service logs at a steady rate: they are in the baseline and never surge. */
export const KNOWN_ERRORS: readonly string[] = [
  'WARN retrying request <id> (attempt <n>)',
  'ERROR client closed request before response',
  'ERROR token expired for session <id>',
];

export const NAMES: readonly string[] = ['checkout', 'orders', 'payments', 'search', 'ingest', 'billing', 'profile', 'catalog'];
