import { LookupEventsCommand, type Event as TrailEvent } from '@aws-sdk/client-cloudtrail';
import type { ChangeEvent } from '../../pagerduty/types';
import type { ChangeRecord, NormalisedAlert } from '../evidence';
import { SourceUnavailableError, type ContextProvider, type ProviderRunOptions } from '../provider';
import { changeLookupKey, delay, type AwsProviderInput, type ChangeLookup, type LookupWindow } from './aws-input';
import { awsRead } from './aws-failures';
import { cloudTrailConsoleUrl, cloudTrailEventConsoleUrl } from './console-links';
import { changeCandidates } from './mapping';

/**
 * Write events on the alarmed resource and its stack in the change window, from CloudTrail `LookupEvents` by
 * ResourceName (LookupEvents' own ReadOnly attribute cannot be combined with ResourceName, so read-only events are
 * dropped here from the parsed record). LookupEvents allows 2 requests per second per account and region: at most
 * LOOKUPS_PER_WINDOW requests start in any LOOKUP_WINDOW_MS, across every incident the execution environment handles,
 * so an incident's first two names are looked up at once and a third waits for the window.
 */

const LOOKUPS_PER_WINDOW = 2;
const LOOKUP_WINDOW_MS = 1000;
const MAX_RESOURCE_NAMES = 4;
const PAGES_PER_NAME = 2;
const PAGE_SIZE = 50;

/** At most `limit` requests start in any `windowMs`, shared by everything that reads the same CloudTrail endpoint. */
export class RequestSpacer {
  /** Start times handed out, oldest first; only the last `limit` matter. */
  private starts: number[] = [];

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The start times reserved last (at most `limit`), oldest first. */
  reservations(): readonly number[] {
    return this.starts;
  }

  /** Waits for this caller's slot; the slot is reserved at once so concurrent callers queue behind it. */
  async slot(signal: AbortSignal): Promise<void> {
    const now = this.clock();
    const blocking = this.starts.length < this.limit ? undefined : this.starts[this.starts.length - this.limit];
    const at = blocking === undefined ? now : Math.max(now, blocking + this.windowMs);
    this.starts = [...this.starts, at].slice(-this.limit);
    if (at > now) await delay(at - now, signal);
  }
}

const spacers = new WeakMap<object, RequestSpacer>();
function spacerFor(client: object): RequestSpacer {
  let spacer = spacers.get(client);
  if (spacer === undefined) {
    spacer = new RequestSpacer(LOOKUPS_PER_WINDOW, LOOKUP_WINDOW_MS);
    spacers.set(client, spacer);
  }
  return spacer;
}

/** `UpdateFunctionCode20150331v2` → `UpdateFunctionCode`: Lambda's API versions are no part of what happened. */
const baseEventName = (name: string): string => name.replace(/\d{8}(v\d+)?$/, '');

const ACTIONS: Record<string, string> = {
  'lambda:UpdateFunctionCode': 'function code deployed',
  'lambda:UpdateFunctionConfiguration': 'function configuration changed',
  'lambda:PublishVersion': 'function version published',
  'lambda:UpdateAlias': 'alias moved',
  'lambda:CreateAlias': 'alias created',
  'lambda:PutFunctionConcurrency': 'reserved concurrency changed',
  'lambda:DeleteFunctionConcurrency': 'reserved concurrency removed',
  'lambda:PutProvisionedConcurrencyConfig': 'provisioned concurrency changed',
  'lambda:UpdateEventSourceMapping': 'event source mapping changed',
  'ecs:UpdateService': 'ECS service updated',
  'ecs:CreateService': 'ECS service created',
  'ecs:RegisterTaskDefinition': 'task definition registered',
  'cloudformation:UpdateStack': 'stack update started',
  'cloudformation:CreateStack': 'stack created',
  'cloudformation:DeleteStack': 'stack deletion started',
  'cloudformation:ExecuteChangeSet': 'change set executed',
  'cloudformation:CancelUpdateStack': 'stack update cancelled',
  'codedeploy:CreateDeployment': 'deployment started',
  'codedeploy:StopDeployment': 'deployment stopped',
  'autoscaling:UpdateAutoScalingGroup': 'auto scaling group changed',
  'autoscaling:SetDesiredCapacity': 'desired capacity set',
  'autoscaling:PutScalingPolicy': 'scaling policy changed',
  'application-autoscaling:RegisterScalableTarget': 'scaling limits changed',
  'application-autoscaling:PutScalingPolicy': 'scaling policy changed',
  'rds:ModifyDBInstance': 'database instance modified',
  'rds:ModifyDBCluster': 'database cluster modified',
  'rds:RebootDBInstance': 'database instance rebooted',
  'rds:FailoverDBCluster': 'database cluster failed over',
  'rds:ModifyDBParameterGroup': 'database parameters changed',
  'rds:CreateDBInstance': 'database instance created',
  'ec2:AuthorizeSecurityGroupIngress': 'security group ingress opened',
  'ec2:RevokeSecurityGroupIngress': 'security group ingress revoked',
  'ec2:AuthorizeSecurityGroupEgress': 'security group egress opened',
  'ec2:RevokeSecurityGroupEgress': 'security group egress revoked',
  'ec2:ModifyInstanceAttribute': 'instance attribute modified',
  'dynamodb:UpdateTable': 'table settings changed',
  'sqs:SetQueueAttributes': 'queue attributes changed',
  'elasticloadbalancing:ModifyListener': 'listener changed',
  'elasticloadbalancing:ModifyTargetGroup': 'target group changed',
  'elasticloadbalancing:ModifyLoadBalancerAttributes': 'load balancer attributes changed',
  'states:UpdateStateMachine': 'state machine updated',
  'apigateway:CreateDeployment': 'API deployed',
};

/** `lambda.amazonaws.com` → `lambda`. */
const serviceOf = (eventSource: string | undefined): string => (eventSource ?? 'aws').replace(/\.amazonaws\.com$/, '');

interface TrailRecord {
  readOnly?: unknown;
  userIdentity?: {
    type?: string;
    arn?: string;
    userName?: string;
    invokedBy?: string;
    sessionContext?: { sessionIssuer?: { userName?: string } };
  };
  errorCode?: unknown;
  requestParameters?: Record<string, unknown>;
}

function parseRecord(event: TrailEvent): TrailRecord {
  try {
    return JSON.parse(event.CloudTrailEvent ?? '{}') as TrailRecord;
  } catch {
    return {};
  }
}

function isWrite(event: TrailEvent, record: TrailRecord): boolean {
  if (record.readOnly === true || record.readOnly === 'true') return false;
  if (record.readOnly === false || record.readOnly === 'false') return true;
  return event.ReadOnly === 'false';
}

/** The principal in a form the on-call recognises: a user name, or `role/session` for assumed roles. */
function principalOf(event: TrailEvent, record: TrailRecord): string | undefined {
  const identity = record.userIdentity;
  const assumed = identity?.arn === undefined ? undefined : /:assumed-role\/([^/]+)\/(.+)$/.exec(identity.arn);
  if (assumed !== null && assumed !== undefined) return `${assumed[1]}/${assumed[2]}`;
  return identity?.userName ?? identity?.invokedBy ?? event.Username ?? identity?.arn;
}

export function toChangeRecord(
  event: TrailEvent,
  region: string,
  target: { name: string; onAlarmedResource: boolean },
): ChangeRecord | undefined {
  const record = parseRecord(event);
  if (!isWrite(event, record) || event.EventTime === undefined || event.EventName === undefined) return undefined;
  const action = `${serviceOf(event.EventSource)}:${baseEventName(event.EventName)}`;
  const failed = typeof record.errorCode === 'string' ? ` (failed: ${record.errorCode})` : '';
  const what = ACTIONS[action] ?? baseEventName(event.EventName);
  const resources = touchedNames(event, record);
  return {
    at: new Date(event.EventTime).toISOString(),
    source: 'cloudtrail',
    action,
    who: principalOf(event, record),
    target: target.name,
    summary: `${what} on ${target.name}${failed}`,
    onAlarmedResource: target.onAlarmedResource,
    ...(resources.length === 0 ? {} : { resources }),
    link: event.EventId === undefined ? cloudTrailConsoleUrl(region, target.name) : cloudTrailEventConsoleUrl(region, event.EventId),
  };
}

/** Request parameters that name a resource (`service`, `functionName`, `cluster`, `groupId`, `tableName`, …). */
const NAMING_PARAMETER = /(name|service|function|table|queue|cluster|instance|identifier|arn|groupid|id)$/i;
const MAX_TOUCHED_NAMES = 8;

/** The resource names an event touched: the resources CloudTrail lists for it, then the names in its request. */
function touchedNames(event: TrailEvent, record: TrailRecord): string[] {
  const listed = (event.Resources ?? []).flatMap((resource) => (resource.ResourceName === undefined ? [] : [resource.ResourceName]));
  const requested = Object.entries(record.requestParameters ?? {}).flatMap(([key, value]) =>
    typeof value === 'string' && value !== '' && NAMING_PARAMETER.test(key) ? [value] : [],
  );
  return [...new Set([...listed, ...requested])].slice(0, MAX_TOUCHED_NAMES);
}

/** A container dimension (an ECS cluster) and the dimension naming the alarmed resource inside it (the service). */
const CONTAINED: Record<string, string> = { ClusterName: 'ServiceName', DBClusterIdentifier: 'DBInstanceIdentifier' };

/** `name`, or an ARN or path ending in it (`arn:…:service/prod/orders`, `prod/orders`). */
function isNamed(candidate: string, name: string): boolean {
  return candidate === name || candidate.endsWith(`/${name}`) || candidate.endsWith(`:${name}`);
}

/**
 * "On the alarmed resource" means that resource exactly. An event found by a container's name (the alarm's ECS
 * cluster) is on the alarmed resource only when it names the alarmed resource itself (the service in the alarm's
 * dimensions) or nothing inside the container (a change to the cluster itself); an `UpdateService` on another service
 * in the same cluster is a change nearby, and its target is that other service.
 */
export function labelExactResource(change: ChangeRecord, alert: NormalisedAlert | undefined, lookedUpAs: string): ChangeRecord {
  const dimensions = alert?.resource?.dimensions ?? {};
  const inside = Object.entries(CONTAINED).find(
    ([container, member]) => dimensions[container] === lookedUpAs && dimensions[member] !== undefined,
  );
  if (inside === undefined || change.resources === undefined) return change;
  const member = dimensions[inside[1]] ?? '';
  const others = change.resources.filter((name) => !isNamed(name, lookedUpAs));
  if (others.length === 0 || others.some((name) => isNamed(name, member))) return change;
  const target = others[0] ?? lookedUpAs;
  return { ...change, onAlarmedResource: false, target, summary: change.summary.replace(` on ${lookedUpAs}`, ` on ${target}`) };
}

/** PagerDuty's change events in the same record shape, so one timeline holds both. */
export function pagerDutyChangeRecord(change: ChangeEvent): ChangeRecord {
  return {
    at: change.timestamp,
    source: 'pagerduty',
    action: change.source ?? 'change event',
    summary: change.summary,
    onAlarmedResource: false,
    link: change.links?.[0]?.href,
  };
}

/** CloudTrail and PagerDuty changes, oldest first (the last line is the change closest to the trigger). */
export function mergeChangeTimeline(cloudTrail: readonly ChangeRecord[], pagerDuty: readonly ChangeEvent[]): ChangeRecord[] {
  return [...cloudTrail, ...pagerDuty.map(pagerDutyChangeRecord)].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

/** The account-wide look covers the last hour before the trigger, in one page. */
const ACCOUNT_WINDOW_MS = 3600_000;
/**
 * Account-wide write events a responder wants to see beside the alarmed resource's own: security groups, IAM,
 * network (routes, ACLs, subnets, gateways, endpoints, DNS), scaling, parameters, secrets, keys and configuration.
 */
const ACCOUNT_WIDE_ACTIONS =
  /^(ec2:(Authorize|Revoke|Modify|Update)SecurityGroup\w*|ec2:(Create|Delete|Replace|Modify)(Route|NetworkAcl|Subnet|Vpc|NatGateway|TransitGateway|VpcEndpoint)\w*|ec2:(Associate|Disassociate)(RouteTable|SubnetCidrBlock|VpcCidrBlock)|iam:(Put|Attach|Detach|Delete|Create|Update)\w*(Policy|Role|User|Group)|iam:UpdateAssumeRolePolicy|autoscaling:\w+|application-autoscaling:\w+|ssm:(PutParameter|DeleteParameters?|LabelParameterVersion)|appconfig:(StartDeployment|UpdateConfigurationProfile|CreateHostedConfigurationVersion)|secretsmanager:(PutSecretValue|UpdateSecret|RotateSecret)|kms:(DisableKey|ScheduleKeyDeletion|PutKeyPolicy)|route53:ChangeResourceRecordSets|wafv2:Update\w+)$/;

/**
 * The last hour's write events in the account and region that a responder would want to see, in one bounded
 * LookupEvents request (ReadOnly=false, one page of 50, within the same two-per-second spacing as the resource
 * lookups, shared by a burst's incidents). Listed apart from the alarmed resource's changes (`accountWide`), never
 * weighed as the likely cause. Best effort: when the request is refused or throttled, the list is empty and the
 * resource lookups above still stand.
 */
export async function accountWrites(
  input: AwsProviderInput,
  { signal, requests }: Pick<ProviderRunOptions, 'signal' | 'requests'>,
  spacer: RequestSpacer,
  window: LookupWindow,
): Promise<{ id: string; change: ChangeRecord }[]> {
  const { region, accountId, roleArn } = input.scope;
  const read = async (asked: LookupWindow): Promise<ChangeLookup> => {
    requests.take('cloudtrail:LookupEvents');
    await spacer.slot(signal);
    const page = await awsRead({ action: 'cloudtrail:LookupEvents', resource: '*' }, () =>
      input.clients.cloudTrail.send(
        new LookupEventsCommand({
          LookupAttributes: [{ AttributeKey: 'ReadOnly', AttributeValue: 'false' }],
          StartTime: asked.start,
          EndTime: asked.end,
          MaxResults: PAGE_SIZE,
        }),
        { abortSignal: signal },
      ),
    );
    const changes = (page.Events ?? []).flatMap((event) => {
      const name = event.Resources?.find((resource) => resource.ResourceName !== undefined)?.ResourceName ?? event.EventName ?? 'account';
      const change = toChangeRecord(event, region, { name, onAlarmedResource: false });
      if (change === undefined || !ACCOUNT_WIDE_ACTIONS.test(change.action)) return [];
      return [{ id: event.EventId ?? `${event.EventName}@${String(event.EventTime)}`, change: { ...change, accountWide: true } }];
    });
    return { start: asked.start.toISOString(), end: asked.end.toISOString(), changes };
  };
  if (requests.remaining === 0) return [];
  try {
    const key = `${accountId ?? roleArn ?? 'default'}|${region}|account-wide writes`;
    const lookup = input.shareLookup === undefined ? await read(window) : await input.shareLookup(key, window, read);
    return lookup.changes.filter(
      ({ change }) => Date.parse(change.at) >= window.start.getTime() && Date.parse(change.at) <= window.end.getTime(),
    );
  } catch (error) {
    if (signal.aborted) throw error;
    return [];
  }
}

export const changeProvider: ContextProvider<AwsProviderInput, ChangeRecord[]> = {
  name: 'changes',
  needs: [],
  budget: { timeMs: 4000, requests: MAX_RESOURCE_NAMES * PAGES_PER_NAME + 1 },
  async run(input, { signal, requests }) {
    const candidates = changeCandidates(input.alert, input.scope).slice(0, MAX_RESOURCE_NAMES);
    if (candidates.length === 0) {
      throw new SourceUnavailableError(
        "no resource to look up in CloudTrail: the alert names none; list the service's stacks or resources in AGENT_CONFIG context.aws.services",
      );
    }
    const { region } = input.scope;
    const end = input.triggeredAt;
    const start = new Date(end.getTime() - input.scope.lookbackMinutes * 60_000);
    const spacer = spacerFor(input.clients.cloudTrail);
    const lookUp = async (candidate: (typeof candidates)[number], window: LookupWindow): Promise<ChangeLookup> => {
      const found = new Map<string, ChangeRecord>();
      let nextToken: string | undefined;
      let pages = 0;
      do {
        if (requests.remaining === 0) break;
        requests.take('cloudtrail:LookupEvents');
        await spacer.slot(signal);
        const page = await awsRead({ action: 'cloudtrail:LookupEvents', resource: '*' }, () =>
          input.clients.cloudTrail.send(
            new LookupEventsCommand({
              LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: candidate.name }],
              StartTime: window.start,
              EndTime: window.end,
              MaxResults: PAGE_SIZE,
              NextToken: nextToken,
            }),
            { abortSignal: signal },
          ),
        );
        pages += 1;
        for (const event of page.Events ?? []) {
          const change = toChangeRecord(event, region, candidate);
          if (change !== undefined) found.set(event.EventId ?? `${event.EventName}@${String(event.EventTime)}`, change);
        }
        nextToken = page.NextToken;
      } while (nextToken !== undefined && pages < PAGES_PER_NAME);
      return {
        start: window.start.toISOString(),
        end: window.end.toISOString(),
        changes: [...found].map(([id, change]) => ({ id, change })),
      };
    };
    // The names are looked up side by side; the spacer keeps them within LookupEvents' rate. In a burst, an incident
    // whose window another incident's lookup of the same name covers takes that lookup instead (no request).
    const resourceLookups = Promise.all(
      candidates.map(async (candidate) => {
        const read = (window: LookupWindow) => lookUp(candidate, window);
        const key = changeLookupKey(input.scope, candidate.name);
        const lookup = input.shareLookup === undefined ? await read({ start, end }) : await input.shareLookup(key, { start, end }, read);
        // A lookup shared by another incident of the burst covers a wider window than this incident's.
        const wider = Date.parse(lookup.start) < start.getTime() || Date.parse(lookup.end) > end.getTime();
        return lookup.changes
          .filter(({ change }) => !wider || (Date.parse(change.at) >= start.getTime() && Date.parse(change.at) <= end.getTime()))
          .map(({ id, change }) => ({
            id,
            change: labelExactResource({ ...change, onAlarmedResource: candidate.onAlarmedResource }, input.alert, candidate.name),
          }));
      }),
    );
    // Started after the resource lookups, so their first pages keep the first slots of LookupEvents' rate.
    const accountLookup = accountWrites(input, { signal, requests }, spacer, { start: new Date(end.getTime() - ACCOUNT_WINDOW_MS), end });
    const lookups = await resourceLookups;
    const changes = new Map<string, ChangeRecord>();
    for (const { id, change } of lookups.flat()) if (!changes.has(id)) changes.set(id, change);
    const accountWide = await accountLookup;
    for (const { id, change } of accountWide) if (!changes.has(id)) changes.set(id, change);
    return [...changes.values()].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  },
};
