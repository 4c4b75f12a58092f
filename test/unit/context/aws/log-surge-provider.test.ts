import {
  CloudWatchLogsClient,
  FilterLogEventsCommand,
  type FilteredLogEvent,
  type FilterLogEventsCommandOutput,
} from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { logSignature } from '../../../../lib/context/aws/log-signature';
import { ERROR_FILTER_PATTERN, logSurgeProvider } from '../../../../lib/context/aws/log-surge-provider';
import { RequestBudget } from '../../../../lib/context/provider';
import { awsFixture, awsInput, awsScope, lambdaErrorsAlert, TRIGGERED_AT } from '../../../support/aws-context';

const logs = mockClient(CloudWatchLogsClient);
const options = (requests = 12) => ({ signal: new AbortController().signal, requests: new RequestBudget(requests) });
const trigger = TRIGGERED_AT.getTime();
const RECENT_START = trigger - 10 * 60_000;

const line = (minutesBefore: number, message: string): FilteredLogEvent => ({
  timestamp: trigger - minutesBefore * 60_000,
  message,
  logStreamName: 's',
});
const lambdaLine = (minutesBefore: number, requestId: string, text: string) =>
  line(minutesBefore, `${new Date(trigger - minutesBefore * 60_000).toISOString()}\t${requestId}\tERROR\t${text}`);
const times = (count: number, make: (i: number) => FilteredLogEvent): FilteredLogEvent[] =>
  Array.from({ length: count }, (_, i) => make(i));

/** Answers the recent and baseline scans (told apart by their start time) with these events. */
function answer(recent: FilteredLogEvent[], baseline: FilteredLogEvent[]): void {
  logs
    .on(FilterLogEventsCommand)
    .callsFake((input: { startTime?: number }) => ({ events: input.startTime === RECENT_START ? recent : baseline }));
}

beforeEach(() => logs.reset());

describe('log surge provider', () => {
  it('finds error lines new or surging in the last 10 minutes against the hour before, top three, with counts', async () => {
    const uuid = (i: number) => `1b2c3d4e-0000-4000-8000-${String(i).padStart(12, '0')}`;
    answer(
      [
        ...times(7, (i) => lambdaLine(2, uuid(i), `Connection refused to db-7f3a9c01:5432 after ${100 + i} ms`)),
        ...times(6, (i) => lambdaLine(3, uuid(i), 'Task timed out after 3.01 seconds')),
        ...times(2, (i) => lambdaLine(4, uuid(i), 'Deprecated config key used')),
        ...times(1, (i) => lambdaLine(1, uuid(i), 'KeyError: order_id')),
      ],
      [
        ...times(12, (i) => lambdaLine(20 + i, uuid(i), 'Task timed out after 3.01 seconds')),
        ...times(12, (i) => lambdaLine(30 + i, uuid(i), 'Deprecated config key used')),
      ],
    );
    const surges = await logSurgeProvider.run(awsInput(), options());
    expect(surges?.map((surge) => [surge.signature, surge.countRecent, surge.countBefore, surge.isNew])).toEqual([
      ['ERROR Connection refused to db-<hex>:<n> after <n> ms', 7, 0, true],
      ['ERROR Task timed out after <n> seconds', 6, 12, false],
      ['ERROR KeyError: order_id', 1, 0, true],
    ]);
    expect(surges?.[0]).toMatchObject({
      logGroup: '/aws/lambda/orders-api',
      firstSeenAt: new Date(trigger - 2 * 60_000).toISOString(),
      example: expect.stringContaining('Connection refused to db-7f3a9c01:5432 after 100 ms'),
    });
    expect(surges?.[0]?.consoleUrl).toContain('#logsV2:log-groups/log-group/$252Faws$252Flambda$252Forders-api');
    const inputs = logs.commandCalls(FilterLogEventsCommand).map((call) => call.args[0].input);
    expect(inputs).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          logGroupName: '/aws/lambda/orders-api',
          filterPattern: ERROR_FILTER_PATTERN,
          startTime: RECENT_START,
          endTime: trigger,
        }),
        expect.objectContaining({ startTime: trigger - 70 * 60_000, endTime: RECENT_START - 1 }),
      ]),
    );
  });

  it('reads the fixture answer and finds nothing surging in lines that were as common before', async () => {
    const fixture = awsFixture<FilterLogEventsCommandOutput>('logs-filterlogevents.json');
    answer(fixture.events ?? [], [
      ...(fixture.events ?? []),
      ...(fixture.events ?? []),
      ...(fixture.events ?? []),
      ...(fixture.events ?? []),
      ...(fixture.events ?? []),
      ...(fixture.events ?? []),
    ]);
    await expect(logSurgeProvider.run(awsInput(), options())).resolves.toEqual([]);
  });

  it('searches the mapped log groups of a resource without its own', async () => {
    answer([], []);
    const alert = lambdaErrorsAlert({
      metric: { namespace: 'AWS/ECS', name: 'CPUUtilization' },
      resource: { dimensions: { ServiceName: 'orders' } },
    });
    await logSurgeProvider.run(awsInput({ alert, scope: awsScope({ logGroups: ['/ecs/orders'] }) }), options());
    expect(new Set(logs.commandCalls(FilterLogEventsCommand).map((call) => call.args[0].input.logGroupName))).toEqual(
      new Set(['/ecs/orders']),
    );
  });

  it('reads nothing when no log group is known', async () => {
    const alert = lambdaErrorsAlert({ resource: { dimensions: { TableName: 'orders' } } });
    await expect(logSurgeProvider.run(awsInput({ alert }), options())).resolves.toBeUndefined();
    expect(logs.calls()).toHaveLength(0);
  });

  it('bounds the scan: at most two pages per window', async () => {
    logs.on(FilterLogEventsCommand).resolves({ events: [], nextToken: 'more' });
    await logSurgeProvider.run(awsInput(), options());
    expect(logs.commandCalls(FilterLogEventsCommand)).toHaveLength(4);
  });
});

describe('logSignature', () => {
  it('masks what varies between occurrences of one kind of line', () => {
    expect(
      logSignature(
        '2024-05-09T10:00:00.123Z\t6f1c2a3b-1111-4222-8333-444455556666\tERROR\tTimeout after 3012 ms calling arn:aws:lambda:eu-west-1:123456789012:function:x',
      ),
    ).toBe('ERROR Timeout after <n> ms calling <arn>');
    expect(logSignature('user 42 failed at 2026-03-10 03:11:02,123 trace deadbeef42')).toBe('user <n> failed at <time> trace <hex>');
    expect(logSignature('Error: request 9a8b7c6d-0000-4000-8000-000000000001 failed')).toBe(
      logSignature('Error: request 1a8b7c6d-0000-4000-8000-000000000002 failed'),
    );
  });
});
