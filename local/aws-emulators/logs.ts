import { createHash } from 'node:crypto';
import { compileFilterPattern, FilterPatternError } from './filter-pattern';
import { decodeToken, page } from './pagination';
import { FieldReader, ServiceError, type Input, type Output } from './protocol';
import { type CallContext, type JsonService, accessDeniedError } from './service';
import { resolveSeedTime, type SeedLogGroup } from './seed';

/**
 * CloudWatch Logs: FilterLogEvents across a group's streams (oldest first, filter-pattern semantics of
 * `filter-pattern.ts`), and CreateLogGroup / CreateLogStream / PutLogEvents so tests can write events the way a
 * function's runtime does.
 */

interface StoredLogEvent {
  timestamp: number;
  ingestionTime: number;
  message: string;
  eventId: string;
}

interface StoredLogGroup {
  accountId: string;
  name: string;
  streams: Map<string, StoredLogEvent[]>;
}

const invalidParameter = (message: string) => new ServiceError('InvalidParameterException', message);
const notFound = (message: string) => new ServiceError('ResourceNotFoundException', message);

export class LogsEmulator implements JsonService {
  readonly service = 'logs' as const;
  readonly contentType = 'application/x-amz-json-1.1';
  readonly errorStyle = { typePrefix: '', queryCompatible: false };
  private readonly groups = new Map<string, StoredLogGroup>();
  private sequence = 0;

  readonly operations: Record<string, (input: Input, context: CallContext) => Output> = {
    FilterLogEvents: (input, context) => this.filterLogEvents(input, context),
    CreateLogGroup: (input, context) => this.createLogGroup(input, context),
    CreateLogStream: (input, context) => this.createLogStream(input, context),
    PutLogEvents: (input, context) => this.putLogEvents(input, context),
  };

  accessDenied(action: string, callerArn: string): ServiceError {
    return accessDeniedError(action, callerArn);
  }

  throttled(): ServiceError {
    return new ServiceError('ThrottlingException', 'Rate exceeded');
  }

  seedGroup(group: SeedLogGroup, accountId: string, now: Date): void {
    const stored = this.ensureGroup(accountId, group.name);
    for (const stream of group.streams) {
      const events = stored.streams.get(stream.name) ?? [];
      stored.streams.set(stream.name, events);
      for (const event of stream.events) {
        const timestamp = resolveSeedTime(event.at, now);
        events.push(this.storedEvent(timestamp, timestamp + 200, event.message));
      }
      events.sort((a, b) => a.timestamp - b.timestamp);
    }
  }

  private ensureGroup(accountId: string, name: string): StoredLogGroup {
    const key = `${accountId}/${name}`;
    const existing = this.groups.get(key);
    if (existing !== undefined) return existing;
    const created = { accountId, name, streams: new Map<string, StoredLogEvent[]>() };
    this.groups.set(key, created);
    return created;
  }

  private storedEvent(timestamp: number, ingestionTime: number, message: string): StoredLogEvent {
    this.sequence += 1;
    // Real event ids are 56-digit strings; uniqueness is all a caller may rely on.
    const eventId = `${String(timestamp).padStart(20, '0')}${String(this.sequence).padStart(36, '0')}`;
    return { timestamp, ingestionTime, message, eventId };
  }

  /** A group by `logGroupName` or `logGroupIdentifier` (name or ARN), exactly one of which must be given. */
  private findGroup(reader: FieldReader, accountId: string): StoredLogGroup {
    const name = reader.string('logGroupName');
    const identifier = reader.string('logGroupIdentifier');
    if ((name === undefined) === (identifier === undefined)) {
      throw invalidParameter('Specify exactly one of logGroupName and logGroupIdentifier.');
    }
    const groupName = name ?? (identifier as string).replace(/^arn:aws[\w-]*:logs:[^:]*:\d{12}:log-group:/, '').replace(/:\*$/, '');
    const group = this.groups.get(`${accountId}/${groupName}`);
    if (group === undefined) throw notFound('The specified log group does not exist.');
    return group;
  }

  filterLogEvents(input: Input, context: CallContext): Output {
    const reader = new FieldReader(input, invalidParameter);
    const group = this.findGroup(reader, context.accountId);
    const streamNames = reader.stringList('logStreamNames');
    const streamPrefix = reader.string('logStreamNamePrefix');
    if (streamNames !== undefined && streamPrefix !== undefined) {
      throw invalidParameter('logStreamNames and logStreamNamePrefix cannot both be specified.');
    }
    for (const stream of streamNames ?? []) if (!group.streams.has(stream)) throw notFound('The specified log stream does not exist.');
    const start = reader.number('startTime') ?? 0;
    const end = reader.number('endTime') ?? Number.MAX_SAFE_INTEGER;
    if (start < 0 || end < 0) throw invalidParameter('startTime and endTime are milliseconds since the epoch and cannot be negative.');
    const limit = reader.number('limit') ?? 10_000;
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
      throw invalidParameter(`limit ${limit} is not valid: use an integer from 1 to 10000.`);
    let matches;
    try {
      matches = compileFilterPattern(reader.string('filterPattern'));
    } catch (error) {
      if (error instanceof FilterPatternError) throw invalidParameter(error.message);
      throw error;
    }
    const streams = [...group.streams].filter(
      ([name]) =>
        (streamNames === undefined || streamNames.includes(name)) && (streamPrefix === undefined || name.startsWith(streamPrefix)),
    );
    const events = streams
      .flatMap(([logStreamName, stored]) => stored.map((event) => ({ logStreamName, ...event })))
      .filter((event) => event.timestamp >= start && event.timestamp <= end && matches(event.message))
      .sort((a, b) => a.timestamp - b.timestamp || a.eventId.localeCompare(b.eventId));
    const fingerprint = createHash('sha256')
      .update(JSON.stringify({ ...input, nextToken: undefined, limit: undefined }))
      .digest('hex')
      .slice(0, 16);
    const invalidToken = () => invalidParameter('The specified nextToken is invalid. Start again without it.');
    const offset = decodeToken(reader.string('nextToken'), 'FilterLogEvents', fingerprint, invalidToken);
    const result = page(events, offset, limit, 'FilterLogEvents', fingerprint);
    return {
      events: result.items,
      searchedLogStreams: streams.map(([logStreamName]) => ({ logStreamName, searchedCompletely: result.nextToken === undefined })),
      ...(result.nextToken === undefined ? {} : { nextToken: result.nextToken }),
    };
  }

  createLogGroup(input: Input, context: CallContext): Output {
    const name = new FieldReader(input, invalidParameter).requiredString('logGroupName');
    if (this.groups.has(`${context.accountId}/${name}`)) {
      throw new ServiceError('ResourceAlreadyExistsException', 'The specified log group already exists');
    }
    this.ensureGroup(context.accountId, name);
    return {};
  }

  createLogStream(input: Input, context: CallContext): Output {
    const reader = new FieldReader(input, invalidParameter);
    const group = this.findGroup(reader, context.accountId);
    const stream = reader.requiredString('logStreamName');
    if (group.streams.has(stream)) throw new ServiceError('ResourceAlreadyExistsException', 'The specified log stream already exists');
    group.streams.set(stream, []);
    return {};
  }

  putLogEvents(input: Input, context: CallContext): Output {
    const reader = new FieldReader(input, invalidParameter);
    const group = this.findGroup(reader, context.accountId);
    const streamName = reader.requiredString('logStreamName');
    const stream = group.streams.get(streamName);
    if (stream === undefined) throw notFound('The specified log stream does not exist.');
    const raw = (reader.list('logEvents') ?? []) as { timestamp?: unknown; message?: unknown }[];
    if (raw.length === 0) throw invalidParameter('logEvents must hold at least one event.');
    let previous = Number.NEGATIVE_INFINITY;
    for (const event of raw) {
      if (typeof event.timestamp !== 'number' || typeof event.message !== 'string') {
        throw invalidParameter('Each log event needs a numeric timestamp (ms) and a string message.');
      }
      if (event.timestamp < previous) throw invalidParameter('Log events in a single PutLogEvents request must be in chronological order.');
      previous = event.timestamp;
    }
    for (const event of raw) stream.push(this.storedEvent(event.timestamp as number, context.now.getTime(), event.message as string));
    stream.sort((a, b) => a.timestamp - b.timestamp);
    return { nextSequenceToken: String(this.sequence).padStart(56, '0') };
  }
}
