import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { text } from 'node:stream/consumers';
import { setTimeout as delay } from 'node:timers/promises';
import { CloudTrailEmulator } from './cloudtrail';
import { CloudWatchEmulator } from './cloudwatch';
import { FaultPlan, type AwsFaults } from './faults';
import { LogsEmulator } from './logs';
import {
  jsonAnswer,
  jsonError,
  queryAnswer,
  queryError,
  ServiceError,
  signingAccessKey,
  signingRegion,
  type AwsService,
  type Input,
  type WireAnswer,
} from './protocol';
import { DEFAULT_ACCOUNT_ID, DEFAULT_REGION, parseSeed, type AwsSeed } from './seed';
import type { JsonService } from './service';
import { STS_NAMESPACE, StsEmulator, type CallerIdentity } from './sts';

/**
 * One loopback HTTP server answering for CloudWatch, CloudTrail, CloudWatch Logs and STS in their own wire protocols,
 * so the worker's context providers run the real SDK v3 clients against it through `AWS_ENDPOINT_URL_CLOUDWATCH`,
 * `_CLOUDTRAIL`, `_CLOUDWATCH_LOGS` and `_STS`: only the endpoint differs from AWS. Requests are told apart the way
 * the protocols tell them apart: the `X-Amz-Target` prefix for the JSON services, the form-encoded `Action` for STS.
 */

export interface EmulatedCall {
  service: AwsService;
  operation: string;
  accountId: string;
  /** The region the request was signed for. */
  region: string;
  input: Input | Record<string, string>;
  at: Date;
  /** `ok`, or the error code the call was answered with. */
  outcome: string;
}

export interface AwsContextEmulatorOptions {
  port?: number;
  /** The account that unsigned-for callers (the local default credentials) act in. */
  accountId?: string;
  faults?: AwsFaults;
}

export interface AwsContextEmulator {
  endpoint: string;
  /** The variables that point the SDK's CloudWatch, CloudTrail, CloudWatch Logs and STS clients here. */
  env: Record<string, string>;
  /** Every call received, oldest first: tests assert how many reads a provider made, and with what. */
  calls: EmulatedCall[];
  /** Adds a scenario's data; relative seed times count from `now` (default: the moment of the call). */
  seedScenario(seed: AwsSeed, options?: { now?: Date; source?: string }): void;
  /** Replaces the injected faults (none by default). */
  setFaults(faults: AwsFaults): void;
  stop(): Promise<void>;
}

const JSON_TARGETS: [prefix: RegExp, service: 'cloudwatch' | 'cloudtrail' | 'logs'][] = [
  [/^GraniteServiceVersion20100801\.(\w+)$/, 'cloudwatch'],
  [/^(?:com\.amazonaws\.cloudtrail\.v20131101\.)?CloudTrail_20131101\.(\w+)$/, 'cloudtrail'],
  [/^Logs_20140328\.(\w+)$/, 'logs'],
];

const STS_OPERATIONS = ['AssumeRole', 'GetCallerIdentity'];

const regionOf = (request: IncomingMessage): string => signingRegion(request.headers.authorization) ?? DEFAULT_REGION;

export async function startAwsContextEmulator(options: AwsContextEmulatorOptions = {}): Promise<AwsContextEmulator> {
  const defaultAccountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
  const cloudWatch = new CloudWatchEmulator();
  const cloudTrail = new CloudTrailEmulator();
  const logs = new LogsEmulator();
  const sts = new StsEmulator(defaultAccountId);
  const jsonServices: Record<'cloudwatch' | 'cloudtrail' | 'logs', JsonService> = { cloudwatch: cloudWatch, cloudtrail: cloudTrail, logs };
  const faults = new FaultPlan();
  faults.set(options.faults ?? {});
  const calls: EmulatedCall[] = [];

  /** Identity, latency and injected faults: what every call meets before the operation runs. */
  const admit = async (request: IncomingMessage, service: AwsService, operation: string, now: Date): Promise<CallerIdentity> => {
    const caller = sts.identify(signingAccessKey(request.headers.authorization), now);
    if (faults.latencyMs > 0) await delay(faults.latencyMs);
    const fault = faults.take(service, operation);
    const action = `${service}:${operation}`;
    if (fault === 'accessDenied')
      throw service === 'sts' ? sts.accessDenied(action, caller.arn) : jsonServices[service].accessDenied(action, caller.arn);
    if (fault === 'throttled') throw service === 'sts' ? sts.throttled() : jsonServices[service].throttled();
    return caller;
  };

  const record = (
    request: IncomingMessage,
    service: AwsService,
    operation: string,
    accountId: string,
    input: EmulatedCall['input'],
    at: Date,
    outcome: string,
  ): void => {
    calls.push({ service, operation, accountId, region: regionOf(request), input, at, outcome });
  };

  const answerJson = async (request: IncomingMessage, body: string, target: string): Promise<WireAnswer> => {
    const found = JSON_TARGETS.map(([pattern, service]) => ({ match: pattern.exec(target), service })).find(({ match }) => match !== null);
    if (found === undefined) {
      return jsonError(
        new ServiceError('UnknownOperationException', `The local AWS context emulator does not implement "${target}".`),
        { typePrefix: '', queryCompatible: false },
        'application/x-amz-json-1.1',
      );
    }
    const service = jsonServices[found.service];
    const operation = (found.match as RegExpExecArray)[1];
    const now = new Date();
    let input: Input = {};
    let accountId = defaultAccountId;
    try {
      const handler = service.operations[operation];
      if (handler === undefined) {
        throw new ServiceError('UnknownOperationException', `The local ${found.service} emulator does not implement ${operation}.`);
      }
      try {
        input = (body === '' ? {} : JSON.parse(body)) as Input;
      } catch {
        throw new ServiceError('SerializationException', 'The request body is not valid JSON.');
      }
      const caller = await admit(request, found.service, operation, now);
      accountId = caller.accountId;
      const output = handler(input, { accountId, region: regionOf(request), callerArn: caller.arn, now });
      record(request, found.service, operation, accountId, input, now, 'ok');
      return jsonAnswer(output, service.contentType);
    } catch (error) {
      const serviceError =
        error instanceof ServiceError ? error : new ServiceError('InternalFailure', (error as Error).message, 500, 'InternalFailure');
      record(request, found.service, operation, accountId, input, now, serviceError.code);
      return jsonError(serviceError, service.errorStyle, service.contentType);
    }
  };

  const answerQuery = async (request: IncomingMessage, body: string): Promise<WireAnswer> => {
    const params = new URLSearchParams(body);
    const operation = params.get('Action') ?? '';
    const requestId = randomUUID();
    const now = new Date();
    let accountId = defaultAccountId;
    try {
      if (!STS_OPERATIONS.includes(operation)) {
        throw new ServiceError('InvalidAction', `The local AWS context emulator does not implement the STS action "${operation}".`);
      }
      const caller = await admit(request, 'sts', operation, now);
      accountId = caller.accountId;
      const result = operation === 'AssumeRole' ? sts.assumeRole(params, caller, now) : sts.getCallerIdentity(caller);
      record(request, 'sts', operation, accountId, Object.fromEntries(params), now, 'ok');
      return queryAnswer(operation, STS_NAMESPACE, result, requestId);
    } catch (error) {
      const serviceError = error instanceof ServiceError ? error : new ServiceError('InternalFailure', (error as Error).message, 500);
      record(request, 'sts', operation, accountId, Object.fromEntries(params), now, serviceError.code);
      return queryError(serviceError, STS_NAMESPACE, requestId);
    }
  };

  const server: Server = createServer((request, response) => {
    void (async () => {
      // A client that goes away mid-body (a provider's timeout) is no reason to take the emulator down.
      const body = await text(request).catch(() => undefined);
      if (body === undefined) return void response.destroy();
      const target = request.headers['x-amz-target'];
      const answer =
        typeof target === 'string'
          ? await answerJson(request, body, target)
          : String(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')
            ? await answerQuery(request, body)
            : jsonError(
                new ServiceError(
                  'UnknownOperationException',
                  'Requests need an X-Amz-Target header (JSON services) or a form-encoded Action (STS).',
                ),
                { typePrefix: '', queryCompatible: false },
                'application/x-amz-json-1.1',
              );
      response.writeHead(answer.status, {
        ...answer.headers,
        'content-length': Buffer.byteLength(answer.body),
        'x-amzn-requestid': randomUUID(),
      });
      response.end(answer.body);
    })();
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
  const endpoint = `http://127.0.0.1:${port}`;

  return {
    endpoint,
    env: {
      AWS_ENDPOINT_URL_CLOUDWATCH: endpoint,
      AWS_ENDPOINT_URL_CLOUDTRAIL: endpoint,
      AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: endpoint,
      AWS_ENDPOINT_URL_STS: endpoint,
    },
    calls,
    seedScenario(seed, seedOptions = {}) {
      const parsed = parseSeed(seed, seedOptions.source ?? 'seedScenario');
      const now = seedOptions.now ?? new Date();
      for (const alarm of parsed.alarms) cloudWatch.seedAlarm(alarm, alarm.accountId ?? defaultAccountId, now);
      for (const alarm of parsed.compositeAlarms) cloudWatch.seedCompositeAlarm(alarm, alarm.accountId ?? defaultAccountId, now);
      for (const series of parsed.metrics) cloudWatch.seedSeries(series, series.accountId ?? defaultAccountId, now);
      for (const event of parsed.cloudTrailEvents) cloudTrail.seedEvent(event, event.accountId ?? defaultAccountId, now);
      for (const group of parsed.logGroups) logs.seedGroup(group, group.accountId ?? defaultAccountId, now);
      for (const role of parsed.assumableRoles) sts.addRole(role);
    },
    setFaults: (next) => faults.set(next),
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
