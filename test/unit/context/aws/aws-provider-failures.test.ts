import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { AWS_PROVIDERS } from '../../../../lib/context/aws/aws-context';
import { awsInputHas } from '../../../../lib/context/aws/aws-input';
import { runProviders } from '../../../../lib/context/provider';
import { awsError, awsInput } from '../../../support/aws-context';

/** Every AWS provider degrades the same way: a denial names the permission, a throttle and a timeout say so. */

/** The part of aws-sdk-client-mock's stub these tests use, the same for every client. */
interface ClientStub {
  reset(): void;
  onAnyCommand(): { rejects(error: Error): unknown; callsFake(fake: () => unknown): unknown };
  send: { getCall(index: number): { args: unknown[] } };
}
const cloudWatch = mockClient(CloudWatchClient) as unknown as ClientStub;
const cloudTrail = mockClient(CloudTrailClient) as unknown as ClientStub;
const logs = mockClient(CloudWatchLogsClient) as unknown as ClientStub;

const cases = [
  {
    source: 'definition',
    mock: cloudWatch,
    action: 'cloudwatch:DescribeAlarms',
    resource: 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:orders-api-errors',
  },
  {
    source: 'alarm',
    mock: cloudWatch,
    action: 'cloudwatch:DescribeAlarmHistory',
    resource: 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:orders-api-errors',
  },
  { source: 'metric', mock: cloudWatch, action: 'cloudwatch:GetMetricData', resource: '*' },
  { source: 'changes', mock: cloudTrail, action: 'cloudtrail:LookupEvents', resource: '*' },
  {
    source: 'logs',
    mock: logs,
    action: 'logs:FilterLogEvents',
    resource: 'arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/orders-api',
  },
] as const;

beforeEach(() => {
  cloudWatch.reset();
  cloudTrail.reset();
  logs.reset();
});

describe.each(cases)('the $source provider', ({ source, mock, action, resource }) => {
  const provider = AWS_PROVIDERS[source];
  const runAlone = (budget = provider.budget) => runProviders({ [source]: { ...provider, budget } }, awsInput(), awsInputHas);

  it('names the missing permission and the resource when AWS denies the read', async () => {
    mock.onAnyCommand().rejects(awsError(source === 'changes' ? 'AccessDeniedException' : 'AccessDenied'));
    const run = await runAlone();
    expect(run.unavailable).toHaveLength(1);
    expect(run.unavailable[0]?.source).toBe(source);
    expect(run.unavailable[0]?.reason).toContain(`no permission: ${action} on ${resource}`);
    expect(run.unavailable[0]?.reason).toContain('grant it');
  });

  it('says AWS throttled it', async () => {
    mock.onAnyCommand().rejects(awsError('ThrottlingException', 'Rate exceeded'));
    const run = await runAlone();
    expect(run.unavailable).toEqual([
      { source, reason: `throttled by AWS on ${action} (ThrottlingException); the note goes out without it` },
    ]);
  });

  it('gives up at its deadline and aborts the SDK call', async () => {
    mock.onAnyCommand().callsFake(() => new Promise(() => undefined));
    const run = await runAlone({ timeMs: 5, requests: provider.budget.requests });
    expect(run.unavailable).toEqual([{ source, reason: 'timed out after 5 ms' }]);
    const options = mock.send.getCall(0).args[1] as { abortSignal?: AbortSignal } | undefined;
    expect(options?.abortSignal?.aborted).toBe(true);
  });
});
