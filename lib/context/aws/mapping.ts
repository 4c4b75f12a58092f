import type { AwsContextConfig } from '../../config/agent-config';
import type { NormalisedAlert } from '../evidence';

/**
 * Where the AWS providers read for one incident: the alert says what it can (region, account, dimensions); the
 * `AGENT_CONFIG` mapping of the incident's PagerDuty service adds what it cannot (role, log groups, stacks).
 */
export interface AwsScope {
  region: string;
  accountId?: string;
  roleArn?: string;
  externalId?: string;
  logGroups: string[];
  stacks: string[];
  resources: string[];
  lookbackMinutes: number;
}

/** The scope for a service's incident, or undefined when AWS context is off or no region is known. */
export function resolveAwsScope(
  config: AwsContextConfig,
  serviceId: string,
  alert: NormalisedAlert | undefined,
  workerRegion: string | undefined,
): AwsScope | undefined {
  if (!config.enabled) return undefined;
  const mapping = config.services[serviceId];
  const region = alert?.region ?? mapping?.region ?? workerRegion;
  if (region === undefined) return undefined;
  return {
    region,
    accountId: mapping?.accountId ?? alert?.accountId,
    roleArn: mapping?.roleArn,
    externalId: mapping?.externalId,
    logGroups: mapping?.logGroups ?? [],
    stacks: mapping?.stacks ?? [],
    resources: mapping?.resources ?? [],
    lookbackMinutes: config.lookbackMinutes,
  };
}

/** Dimensions whose value is what CloudTrail records as the changed resource's name. */
const NAME_DIMENSIONS = [
  'FunctionName',
  'ServiceName',
  'ClusterName',
  'DBInstanceIdentifier',
  'DBClusterIdentifier',
  'AutoScalingGroupName',
  'TableName',
  'QueueName',
  'TopicName',
  'StateMachineArn',
  'ApiName',
  'ApiId',
  'InstanceId',
  'CacheClusterId',
  'ClusterIdentifier',
  'BucketName',
  'DomainName',
  'StreamName',
];

/** A Lambda dimension value may carry a qualifier (`orders:live`); CloudTrail names the function itself. */
const withoutQualifier = (dimension: string, value: string): string =>
  dimension === 'FunctionName' ? (value.split(':')[0] ?? value) : value;

/**
 * CloudTrail resource names for the alarmed resource, most specific first: the alarm's dimensions (load balancers
 * by ARN, which CloudTrail uses for them), then the mapping's stacks and resources.
 */
export function changeCandidates(alert: NormalisedAlert | undefined, scope: AwsScope): { name: string; onAlarmedResource: boolean }[] {
  const names = new Map<string, boolean>();
  const dimensions = alert?.resource?.dimensions ?? {};
  for (const key of NAME_DIMENSIONS) {
    const value = dimensions[key];
    if (value !== undefined && value !== '') names.set(withoutQualifier(key, value), true);
  }
  for (const key of ['LoadBalancer', 'TargetGroup']) {
    const value = dimensions[key];
    if (value === undefined || scope.accountId === undefined) continue;
    const kind = key === 'LoadBalancer' ? 'loadbalancer' : 'targetgroup';
    const id = key === 'LoadBalancer' ? value : value.replace(/^targetgroup\//, '');
    names.set(`arn:aws:elasticloadbalancing:${scope.region}:${scope.accountId}:${kind}/${id}`, true);
  }
  if (alert?.resource?.arn !== undefined) names.set(alert.resource.arn, true);
  for (const stack of scope.stacks) if (!names.has(stack)) names.set(stack, true);
  for (const resource of scope.resources) if (!names.has(resource)) names.set(resource, false);
  return [...names].map(([name, onAlarmedResource]) => ({ name, onAlarmedResource }));
}

/** Log groups to search: a Lambda function's own group, then the mapping's. */
export function logGroupsFor(alert: NormalisedAlert | undefined, scope: AwsScope): string[] {
  const groups: string[] = [];
  const functionName = alert?.resource?.dimensions.FunctionName;
  if (functionName !== undefined) groups.push(`/aws/lambda/${withoutQualifier('FunctionName', functionName)}`);
  for (const group of scope.logGroups) if (!groups.includes(group)) groups.push(group);
  return groups;
}
