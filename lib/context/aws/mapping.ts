import type { AwsContextConfig } from '../../config/agent-config';
import type { NormalisedAlert } from '../evidence';
import { isPrefixEntry } from './trust';

/**
 * Where the AWS providers read for one incident. The service's `AGENT_CONFIG` mapping decides (role, account, region,
 * log groups, stacks, allowlists); without one the agent reads its own account. The alert only claims: its region is
 * read only when the mapping names none (and `context.aws.regions` allows it), and then only once its alarm is found
 * there with a matching definition (`regionClaimed`).
 */
export interface AwsScope {
  region: string;
  /** The mapped account, or after verification the alarm's; undefined: the agent's own. Never the alert's claim. */
  accountId?: string;
  roleArn?: string;
  externalId?: string;
  logGroups: string[];
  stacks: string[];
  /** CloudTrail names and, when not empty, the allowlist of alarmed resources (`name` or `prefix*`). */
  resources: string[];
  /** When not empty, the only log groups read: each starts with one of these. */
  logGroupPrefixes: string[];
  lookbackMinutes: number;
}

export interface AwsReadPlan {
  scope: AwsScope;
  /** The region is the alert's: nothing is read there unless the alarm is found there with a matching definition. */
  regionClaimed: boolean;
  /** What the alert claimed and the agent did not follow, as sentences for the note. */
  notFollowed: string[];
}

/** The account a role lives in (`arn:aws:iam::210987654321:role/r`). */
const accountOfRole = (roleArn: string | undefined): string | undefined => /^arn:[^:]+:iam::(\d{12}):/.exec(roleArn ?? '')?.[1];

/** Where to read for a service's incident, or undefined when AWS context is off or no region is known. */
export function planAwsReads(
  config: AwsContextConfig,
  serviceId: string,
  alert: NormalisedAlert | undefined,
  workerRegion: string | undefined,
): AwsReadPlan | undefined {
  if (!config.enabled) return undefined;
  const mapping = config.services[serviceId];
  const notFollowed: string[] = [];
  const claimedRegion = alert?.region;
  let region = mapping?.region ?? workerRegion;
  let regionClaimed = false;
  if (claimedRegion !== undefined && claimedRegion !== region) {
    if (mapping?.region !== undefined) {
      notFollowed.push(`the alert names region ${claimedRegion}; this service's mapping says ${mapping.region}: read there only`);
    } else if (config.regions !== undefined && !config.regions.includes(claimedRegion)) {
      notFollowed.push(`the alert names region ${claimedRegion}, which context.aws.regions does not allow: nothing read there`);
    } else {
      region = claimedRegion;
      regionClaimed = true;
    }
  }
  if (region === undefined) return undefined;
  const mappedAccount = mapping?.accountId ?? accountOfRole(mapping?.roleArn);
  if (alert?.accountId !== undefined && mappedAccount !== undefined && alert.accountId !== mappedAccount) {
    notFollowed.push(`the alert names account ${alert.accountId}; this service's mapping says ${mappedAccount}: read there only`);
  }
  return {
    scope: {
      region,
      accountId: mappedAccount,
      roleArn: mapping?.roleArn,
      externalId: mapping?.externalId,
      logGroups: mapping?.logGroups ?? [],
      stacks: mapping?.stacks ?? [],
      resources: mapping?.resources ?? [],
      logGroupPrefixes: mapping?.logGroupPrefixes ?? [],
      lookbackMinutes: config.lookbackMinutes,
    },
    regionClaimed,
    notFollowed,
  };
}

/** Dimensions whose value is what CloudTrail records as the changed resource's name. */
export const NAME_DIMENSIONS = [
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
export const withoutQualifier = (dimension: string, value: string): string =>
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
  for (const resource of scope.resources) if (!isPrefixEntry(resource) && !names.has(resource)) names.set(resource, false);
  return [...names].map(([name, onAlarmedResource]) => ({ name, onAlarmedResource }));
}

/** Log groups to search: a Lambda function's own group, then the mapping's; `refused` are outside `logGroupPrefixes`. */
export function logGroupsFor(alert: NormalisedAlert | undefined, scope: AwsScope): { groups: string[]; refused: string[] } {
  const candidates: string[] = [];
  const functionName = alert?.resource?.dimensions.FunctionName;
  if (functionName !== undefined) candidates.push(`/aws/lambda/${withoutQualifier('FunctionName', functionName)}`);
  for (const group of scope.logGroups) if (!candidates.includes(group)) candidates.push(group);
  const allowed = (group: string): boolean =>
    scope.logGroupPrefixes.length === 0 || scope.logGroupPrefixes.some((prefix) => group.startsWith(prefix));
  return { groups: candidates.filter(allowed), refused: candidates.filter((group) => !allowed(group)) };
}
