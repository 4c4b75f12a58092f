import { createHash } from 'node:crypto';
import { decodeToken, page } from './pagination';
import { FieldReader, ServiceError, type Input, type Output } from './protocol';
import { type CallContext, type JsonService, accessDeniedError } from './service';
import { resolveSeedTime, type SeedCloudTrailEvent } from './seed';

/**
 * CloudTrail event history: LookupEvents over seeded records, newest first, with the service's rules (one lookup
 * attribute, MaxResults 1–50, a start before the end) and `CloudTrailEvent` as the JSON string CloudTrail returns.
 */

const LOOKUP_KEYS = ['EventId', 'EventName', 'ReadOnly', 'Username', 'ResourceType', 'ResourceName', 'EventSource', 'AccessKeyId'] as const;
type LookupKey = (typeof LOOKUP_KEYS)[number];
const NINETY_DAYS_MS = 90 * 86_400_000;

interface LookupResource {
  ResourceType: string;
  ResourceName: string;
}

interface StoredEvent {
  accountId: string;
  at: number;
  fields: Record<Exclude<LookupKey, 'ResourceType' | 'ResourceName'>, string | undefined>;
  resources: LookupResource[];
  json: string;
}

type TrailRecord = Record<string, unknown> & {
  eventName: string;
  eventSource: string;
  eventID?: unknown;
  readOnly?: unknown;
  userIdentity?: Record<string, unknown>;
  requestParameters?: Record<string, unknown>;
  resources?: { ARN?: string; type?: string }[];
};

/** LookupEvents' `Username`: the IAM user, or the session name of an assumed role, as CloudTrail reports it. */
function username(identity: Record<string, unknown> | undefined): string | undefined {
  if (identity === undefined) return undefined;
  if (typeof identity.userName === 'string') return identity.userName;
  if (identity.type === 'AssumedRole' && typeof identity.arn === 'string') return identity.arn.split('/').at(-1);
  if (identity.type === 'AWSService' && typeof identity.invokedBy === 'string') return identity.invokedBy;
  return undefined;
}

/** Resources LookupEvents lists for a record: its own `resources`, else the Lambda function it names. */
function derivedResources(record: TrailRecord): LookupResource[] {
  const listed = (record.resources ?? []).flatMap((resource) =>
    resource.ARN === undefined ? [] : [{ ResourceType: resource.type ?? 'AWS::Unknown', ResourceName: resource.ARN }],
  );
  if (listed.length > 0) return listed;
  const functionName = record.requestParameters?.functionName;
  if (record.eventSource === 'lambda.amazonaws.com' && typeof functionName === 'string') {
    return [
      { ResourceType: 'AWS::Lambda::Function', ResourceName: functionName.split(':function:').at(-1)?.split(':')[0] ?? functionName },
    ];
  }
  return [];
}

export class CloudTrailEmulator implements JsonService {
  readonly service = 'cloudtrail' as const;
  readonly contentType = 'application/x-amz-json-1.1';
  readonly errorStyle = { typePrefix: '', queryCompatible: false };
  private readonly events: StoredEvent[] = [];

  readonly operations: Record<string, (input: Input, context: CallContext) => Output> = {
    LookupEvents: (input, context) => this.lookupEvents(input, context),
  };

  accessDenied(action: string, callerArn: string): ServiceError {
    return accessDeniedError(action, callerArn);
  }

  throttled(): ServiceError {
    return new ServiceError('ThrottlingException', 'Rate exceeded');
  }

  seedEvent(event: SeedCloudTrailEvent, accountId: string, now: Date): void {
    const at = event.at !== undefined ? resolveSeedTime(event.at, now) : Date.parse(String(event.record.eventTime ?? ''));
    if (Number.isNaN(at)) throw new Error(`CloudTrail seed event ${event.record.eventName} has neither "at" nor a valid record.eventTime.`);
    const record: TrailRecord = {
      ...(event.record as TrailRecord),
      eventTime: new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      eventID:
        event.record.eventID ??
        createHash('sha256').update(`${event.record.eventName}${at}${this.events.length}`).digest('hex').slice(0, 36),
    };
    const identity = record.userIdentity;
    this.events.push({
      accountId,
      at,
      fields: {
        EventId: String(record.eventID),
        EventName: record.eventName,
        ReadOnly: String(record.readOnly === true || record.readOnly === 'true'),
        Username: username(identity),
        EventSource: record.eventSource,
        AccessKeyId: typeof identity?.accessKeyId === 'string' ? identity.accessKeyId : undefined,
      },
      resources: event.resources ?? derivedResources(record),
      json: JSON.stringify(record),
    });
  }

  lookupEvents(input: Input, context: CallContext): Output {
    const reader = new FieldReader(input, (message) => new ServiceError('InvalidLookupAttributesException', message));
    const attributes = reader.list('LookupAttributes') ?? [];
    if (attributes.length > 1) {
      throw new ServiceError(
        'InvalidLookupAttributesException',
        'You can specify at most one lookup attribute; filter the results for more.',
      );
    }
    const attribute = attributes[0] as { AttributeKey?: unknown; AttributeValue?: unknown } | undefined;
    if (attribute !== undefined) {
      if (!LOOKUP_KEYS.includes(attribute.AttributeKey as LookupKey)) {
        throw new ServiceError(
          'InvalidLookupAttributesException',
          `AttributeKey ${String(attribute.AttributeKey)} is not valid: use one of ${LOOKUP_KEYS.join(', ')}.`,
        );
      }
      if (typeof attribute.AttributeValue !== 'string' || attribute.AttributeValue === '') {
        throw new ServiceError('InvalidLookupAttributesException', 'AttributeValue is required and must be a non-empty string.');
      }
    }
    const end = reader.epochSecondsAsMs('EndTime') ?? context.now.getTime();
    const start = reader.epochSecondsAsMs('StartTime') ?? end - NINETY_DAYS_MS;
    if (start > end) throw new ServiceError('InvalidTimeRangeException', 'StartTime must be earlier than EndTime.');
    const maxResults = reader.number('MaxResults') ?? 50;
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 50) {
      throw new ServiceError('InvalidMaxResultsException', `MaxResults ${maxResults} is not valid: use an integer from 1 to 50.`);
    }
    const eventCategory = reader.string('EventCategory');
    if (eventCategory !== undefined && eventCategory !== 'insight') {
      throw new ServiceError('InvalidEventCategoryException', `EventCategory ${eventCategory} is not valid: the only value is insight.`);
    }
    const key = attribute?.AttributeKey as LookupKey | undefined;
    const value = attribute?.AttributeValue as string | undefined;
    const matching = this.events
      .filter((event) => event.accountId === context.accountId && event.at >= start && event.at <= end && eventCategory === undefined)
      .filter((event) => {
        if (key === undefined) return true;
        if (key === 'ResourceName') return event.resources.some((resource) => resource.ResourceName === value);
        if (key === 'ResourceType') return event.resources.some((resource) => resource.ResourceType === value);
        return event.fields[key] === value;
      })
      .sort((a, b) => b.at - a.at);
    const fingerprint = createHash('sha256')
      .update(JSON.stringify({ ...input, NextToken: undefined, MaxResults: undefined }))
      .digest('hex')
      .slice(0, 16);
    const invalidToken = () =>
      new ServiceError('InvalidNextTokenException', 'The NextToken is not valid for this request. Start again without it.');
    const offset = decodeToken(reader.string('NextToken'), 'LookupEvents', fingerprint, invalidToken);
    const { items, nextToken } = page(matching, offset, maxResults, 'LookupEvents', fingerprint);
    return {
      Events: items.map((event) => ({
        EventId: event.fields.EventId,
        EventName: event.fields.EventName,
        ReadOnly: event.fields.ReadOnly,
        ...(event.fields.AccessKeyId === undefined ? {} : { AccessKeyId: event.fields.AccessKeyId }),
        EventTime: event.at / 1000,
        EventSource: event.fields.EventSource,
        ...(event.fields.Username === undefined ? {} : { Username: event.fields.Username }),
        Resources: event.resources,
        CloudTrailEvent: event.json,
      })),
      ...(nextToken === undefined ? {} : { NextToken: nextToken }),
    };
  }
}
