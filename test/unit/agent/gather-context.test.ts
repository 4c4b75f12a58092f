import { gatherContext, type AwsGatherDeps } from '../../../lib/agent/gather-context';
import { localBudget, RetryPolicy } from '../../../lib/agent/retry-policy';
import { agentConfigSchema } from '../../../lib/config/agent-config';
import type { AwsProviders } from '../../../lib/context/aws/aws-context';
import type { AwsProviderInput, VerifiedAlarm } from '../../../lib/context/aws/aws-input';
import type { AwsTarget } from '../../../lib/context/aws/clients';
import { SourceUnavailableError, type ContextProvider } from '../../../lib/context/provider';
import { SharedServiceContextReader } from '../../../lib/context/shared-service-context';
import type { ServiceContextCachePort } from '../../../lib/state/service-context-cache';
import type { Alert } from '../../../lib/pagerduty/types';
import type { IncidentContext } from '../../../lib/triage/types';
import { awsClients, lambdaAlarmDetails, lambdaErrorsAlert } from '../../support/aws-context';
import { FakePagerDuty, makeIncident } from '../../support/fake-pagerduty';

const policy = agentConfigSchema.parse({}).triage;
const retry = () =>
  new RetryPolicy({ budget: localBudget(5), remainingTimeMs: () => 60_000, sleep: async () => undefined, random: () => 0 });
const NOW = new Date('2026-03-01T10:05:00Z');

const cloudWatchAlert: Alert = {
  id: 'A1',
  type: 'alert',
  summary: 'orders-api-errors',
  status: 'triggered',
  created_at: '2026-03-01T10:00:00Z',
  body: { details: lambdaAlarmDetails('2026-03-01T09:59:30.000+0000') },
};

function fakeApi(alerts: Alert[] = [cloudWatchAlert]): FakePagerDuty {
  const api = new FakePagerDuty();
  api.alerts.set('PINC001', alerts);
  api.changeEvents.set('PINC001', [{ id: 'C1', summary: 'Deploy #41', timestamp: '2026-03-01T09:40:00Z', source: 'github' }]);
  return api;
}

const VERIFIED_ORDERS_ALARM: VerifiedAlarm = {
  name: 'orders-api-errors',
  arn: 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:orders-api-errors',
  region: 'eu-west-1',
  accountId: '123456789012',
  kind: 'metric',
  metricAlarm: {
    AlarmName: 'orders-api-errors',
    Namespace: 'AWS/Lambda',
    MetricName: 'Errors',
    Dimensions: [{ Name: 'FunctionName', Value: 'orders-api' }],
  },
};

/** Providers that record what they were given and answer fixed evidence. */
function recordingProviders(seen: AwsProviderInput[], overrides: Partial<AwsProviders> = {}): AwsProviders {
  const answer = <T>(name: string, value: T): ContextProvider<AwsProviderInput, T> => ({
    name,
    needs: [],
    budget: { timeMs: 1000, requests: 1 },
    run: async (input) => {
      seen.push(input);
      return value;
    },
  });
  return {
    // The alarm as its definition in eu-west-1 has it (not recorded in `seen`: it runs before the others).
    definition: {
      name: 'definition',
      needs: ['alert'],
      budget: { timeMs: 1000, requests: 1 },
      run: async () => VERIFIED_ORDERS_ALARM,
    },
    alarm: answer('alarm', { alarmName: 'orders-api-errors', alarmsLast24h: 3, flipsLast24h: 6, consoleUrl: 'https://console/alarm' }),
    metric: answer('metric', undefined),
    changes: answer('changes', [
      {
        at: '2026-03-01T09:55:00.000Z',
        source: 'cloudtrail' as const,
        action: 'lambda:UpdateFunctionCode',
        summary: 'function code deployed on orders-api',
        onAlarmedResource: true,
      },
    ]),
    logs: answer('logs', []),
    ...overrides,
  };
}

function awsDeps(providers: AwsProviders, services: Record<string, unknown> = {}): AwsGatherDeps {
  const config = agentConfigSchema.parse({ context: { aws: { services } } }).context.aws;
  return { config, clientsFor: async () => awsClients(), workerRegion: 'us-east-2', providers };
}

/** gatherContext on an incident whose only alert is not a CloudWatch alarm, with recording AWS providers. */
async function gatherForNonAlarm(services: Record<string, unknown> = {}): Promise<{ context: IncidentContext; seen: AwsProviderInput[] }> {
  const seen: AwsProviderInput[] = [];
  const alert = { ...cloudWatchAlert, body: { details: { error: 'disk full' } } };
  const aws = awsDeps(recordingProviders(seen), services);
  const context = await gatherContext(makeIncident(), { api: fakeApi([alert]), retry: retry(), policy, now: () => NOW, aws });
  return { context, seen };
}

describe('gatherContext', () => {
  it('reads the alert, gathers AWS evidence beside the PagerDuty reads and merges both change sources into one timeline', async () => {
    const api = fakeApi();
    const seen: AwsProviderInput[] = [];
    const context = await gatherContext(makeIncident(), {
      api,
      retry: retry(),
      policy,
      now: () => NOW,
      aws: awsDeps(recordingProviders(seen)),
    });

    expect(context.alert).toMatchObject({ monitor: 'cloudwatch', name: 'orders-api-errors', region: 'eu-west-1' });
    expect(seen).toHaveLength(4);
    expect(seen[0]?.scope).toMatchObject({ region: 'eu-west-1', accountId: '123456789012', lookbackMinutes: 60 });
    expect(seen[0]?.triggeredAt).toEqual(new Date('2026-03-01T09:59:30.000Z'));
    expect(context.aws).toMatchObject({ region: 'eu-west-1', alarm: { alarmsLast24h: 3 }, logSurges: [], unavailable: [] });
    expect(context.aws?.changes.map((change) => [change.source, change.summary])).toEqual([
      ['pagerduty', 'Deploy #41'],
      ['cloudtrail', 'function code deployed on orders-api'],
    ]);
    expect(context.changeEvents).toHaveLength(1);
    // AWS reads never touch PagerDuty: alerts, recent incidents, change events, on-calls.
    expect(api.calls).toHaveLength(4);
  });

  it("reads through the service's mapped role in a session named for the service (pd-agent-<service id>)", async () => {
    const targets: AwsTarget[] = [];
    const roleArn = 'arn:aws:iam::210987654321:role/pd-agent-context-read';
    const aws = {
      ...awsDeps(recordingProviders([]), { PSVC001: { roleArn, externalId: 'checkout-7f3a9c2e41d8' } }),
      clientsFor: async (target: AwsTarget) => {
        targets.push(target);
        return awsClients();
      },
    };
    await gatherContext(makeIncident(), { api: fakeApi(), retry: retry(), policy, now: () => NOW, aws });
    expect(targets).toEqual([expect.objectContaining({ roleArn, externalId: 'checkout-7f3a9c2e41d8', sessionName: 'pd-agent-PSVC001' })]);
  });

  it('keeps going when an AWS provider fails, with the reason in aws.unavailable', async () => {
    const failing: ContextProvider<AwsProviderInput, never> = {
      name: 'logs',
      needs: [],
      budget: { timeMs: 1000, requests: 1 },
      run: async () => {
        throw new SourceUnavailableError(
          'no permission: logs:FilterLogEvents on arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/orders-api',
        );
      },
    };
    const context = await gatherContext(makeIncident(), {
      api: fakeApi(),
      retry: retry(),
      policy,
      now: () => NOW,
      aws: awsDeps(recordingProviders([], { logs: failing })),
    });
    expect(context.aws?.unavailable).toEqual([{ source: 'logs', reason: expect.stringContaining('no permission: logs:FilterLogEvents') }]);
    expect(context.aws?.alarm).toEqual(expect.objectContaining({ alarmName: 'orders-api-errors' }));
    expect(context.unavailable).toEqual([]);
  });

  it('keeps going, every AWS source unavailable with the reason, when the AWS clients cannot be created', async () => {
    const aws = {
      ...awsDeps(recordingProviders([])),
      clientsFor: () => Promise.reject(new Error('Cannot find module @aws-sdk/client-cloudwatch')),
    };
    const context = await gatherContext(makeIncident(), { api: fakeApi(), retry: retry(), policy, now: () => NOW, aws });
    expect(context.aws?.unavailable.map((entry) => entry.source)).toEqual(['alarm', 'metric', 'changes', 'logs']);
    expect(context.aws?.unavailable[0]?.reason).toBe(
      'the AWS clients could not be created (Cannot find module @aws-sdk/client-cloudwatch)',
    );
    // The PagerDuty reads went on regardless: the change events were read and nothing of PagerDuty's is missing.
    expect(context.changeEvents.map((change) => change.id)).toEqual(['C1']);
    expect(context.unavailable).toEqual([]);
  });

  it('reads no AWS for an alert that is not a CloudWatch alarm on an unmapped service', async () => {
    const { context, seen } = await gatherForNonAlarm();
    expect(context.aws).toBeUndefined();
    expect(context.alert?.monitor).toBe('generic');
    expect(seen).toHaveLength(0);
  });

  it("reads AWS for a mapped service's incident whatever the alert, in the mapping's region", async () => {
    const { context, seen } = await gatherForNonAlarm({ PSVC001: { region: 'ap-southeast-2', logGroups: ['/ecs/orders'] } });
    expect(context.aws?.region).toBe('ap-southeast-2');
    expect(seen[0]?.scope.logGroups).toEqual(['/ecs/orders']);
    expect(seen[0]?.triggeredAt).toEqual(new Date('2026-03-01T10:00:00Z'));
  });

  it("builds the window from PagerDuty's creation time when the alert claims one months away, and reads in the mapped region", async () => {
    const stale = { ...cloudWatchAlert, body: { details: lambdaAlarmDetails('2025-11-01T00:00:00.000+0000') } };
    const seen: AwsProviderInput[] = [];
    const aws = awsDeps(recordingProviders(seen), { PSVC001: { region: 'ap-southeast-2' } });
    const context = await gatherContext(makeIncident(), { api: fakeApi([stale]), retry: retry(), policy, now: () => NOW, aws });
    expect(seen[0]?.triggeredAt).toEqual(new Date('2026-03-01T10:00:00Z'));
    expect(seen[0]?.scope.region).toBe('ap-southeast-2');
    expect(context.aws?.notFollowed).toEqual([
      "the alert names region eu-west-1; this service's mapping says ap-southeast-2: read there only",
      expect.stringMatching(/^the alert's trigger time 2025-11-01T00:00:00.000Z is 120 days before the incident's creation/),
    ]);
  });

  it('uses the injected alert reader', async () => {
    const understandAlert = jest.fn(() => lambdaErrorsAlert({ name: 'from-the-normaliser' }));
    const context = await gatherContext(makeIncident(), { api: fakeApi(), retry: retry(), policy, now: () => NOW, understandAlert });
    expect(understandAlert).toHaveBeenCalledWith([cloudWatchAlert]);
    expect(context.alert?.name).toBe('from-the-normaliser');
    expect(context.aws).toBeUndefined();
  });

  it('records a plan-gated PagerDuty read as unavailable and stops the run when PagerDuty throttles', async () => {
    const gated = fakeApi().fail('listRelatedChangeEvents', 402);
    const context = await gatherContext(makeIncident(), { api: gated, retry: retry(), policy, now: () => NOW });
    expect(context.unavailable).toEqual([{ source: 'changeEvents', reason: expect.stringContaining('PagerDuty answered 402') }]);

    const throttled = fakeApi().throttle('listAlerts', 30);
    await expect(gatherContext(makeIncident(), { api: throttled, retry: retry(), policy, now: () => NOW })).rejects.toThrow();
  });

  it('reads the notes of the most recent similar resolved incident within the six-read budget', async () => {
    const api = fakeApi();
    const past = makeIncident({ id: 'PPAST01', status: 'resolved', created_at: '2026-02-27T10:00:00Z' });
    api.incidents.set(past.id, past);
    api.notes.set(past.id, [
      { id: 'N1', content: 'Restarted the pool', created_at: '2026-02-27T11:00:00Z', user: { id: 'U', type: 'user_reference' } },
    ]);
    const context = await gatherContext(makeIncident(), { api, retry: retry(), policy, now: () => NOW });
    expect(context.resolutionNotes).toEqual({ PPAST01: ['Restarted the pool'] });
    expect(api.calls.length).toBeLessThanOrEqual(6);
  });

  it("waits for another incident's shared read only while it can still read for itself in time", async () => {
    let clock = NOW.getTime();
    let remaining = 12_000;
    const sleeps: number[] = [];
    const sleep = async (ms: number) => {
      sleeps.push(ms);
      clock += ms;
      remaining -= ms;
    };
    // Another incident holds the lease on the service's context and never shares it.
    const leaseHeldElsewhere: ServiceContextCachePort = {
      joinBurst: async () => ({ count: 2, since: NOW.toISOString() }),
      read: async () => undefined,
      claimRead: async () => false,
      write: async () => true,
      readPastNotes: async () => undefined,
      claimPastNotes: async () => false,
      writePastNotes: async () => true,
      readChangeLookup: async () => undefined,
      claimChangeLookup: async () => false,
      writeChangeLookup: async () => true,
    };
    const api = fakeApi([]);

    const context = await gatherContext(makeIncident(), {
      api,
      retry: new RetryPolicy({ budget: localBudget(5), remainingTimeMs: () => remaining, sleep: async () => undefined }),
      policy,
      now: () => new Date(clock),
      shared: new SharedServiceContextReader({ cache: leaseHeldElsewhere, sleep }),
    });

    // 12 s left: the retry policy keeps 8 s for what follows and the incident's own read takes up to 3 s, so 1 s of waiting.
    expect(sleeps.reduce((sum, ms) => sum + ms, 0)).toBe(1_000);
    expect(api.count('listIncidents')).toBe(1);
    expect(api.count('listOncalls')).toBe(1);
    expect(api.count('listRelatedChangeEvents')).toBe(1);
    expect(context.unavailable).toEqual([]);
  });
});
