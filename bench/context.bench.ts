import { setTimeout as pause } from 'node:timers/promises';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { CloudWatchClient, DescribeAlarmHistoryCommand, DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { parseAgentConfig } from '../lib/config/agent-config';
import type { ProcessEventDeps } from '../lib/agent/process-event';
import { SANDBOX_SERVICE_ID } from '../local/sandbox';
import { settle, startAgentStack } from '../test/support/agent-stack';
import { awsClients, awsFixture, lambdaAlarmDetails, lookupEventFrom, verifiedLambdaAlarm } from '../test/support/aws-context';

/**
 * Trigger → note with realistic service latency: every PagerDuty request takes 150 ms (the sandbox's latency fault)
 * and every AWS request 100 ms (mocked CloudWatch, CloudTrail and Logs clients answering fixtures after a delay).
 * Incidents are CloudWatch alarms on a Lambda function, triggered one at a time so the figures are the latency of
 * one incident, not of a queue; run once without and once with the AWS providers. `npm run bench -- context`.
 * Incidents start at least ISOLATION_MS apart: CloudTrail's LookupEvents allows 2 requests per second per account and
 * region, and incidents back to back (under a second each) would measure that shared allowance, not one incident.
 * BENCH_AWS_LATENCY_MS changes the AWS latency (0: what the providers cost besides the network). Then a burst of
 * BENCH_BURST (20) incidents at once on the same function: how many CloudTrail lookups they needed.
 */
const INCIDENTS = 40;
const PAGERDUTY_LATENCY_MS = 150;
const ISOLATION_MS = 1000;
const BURST = Number(process.env.BENCH_BURST ?? 20);
const AWS_LATENCY_MS = Number(process.env.BENCH_AWS_LATENCY_MS ?? 100);

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
};

/** Mocked AWS answers after AWS_LATENCY_MS; returns counters of AWS requests, and of CloudTrail's among them. */
function mockAws(): { requests: () => number; lookups: () => number } {
  let requests = 0;
  let lookups = 0;
  const later =
    <T>(answer: () => T) =>
    async (): Promise<T> => {
      requests += 1;
      await pause(AWS_LATENCY_MS);
      return answer();
    };
  const minute = 60_000;
  const cloudWatch = mockClient(CloudWatchClient);
  cloudWatch.on(DescribeAlarmHistoryCommand).callsFake(later(() => awsFixture('cloudwatch-describealarmhistory-stateupdate.json')));
  // The alarm's definition as the providers verify it: the alarm the bench's alerts name, in the account and region they say.
  cloudWatch.on(DescribeAlarmsCommand).callsFake(later(() => ({ MetricAlarms: [verifiedLambdaAlarm().metricAlarm], CompositeAlarms: [] })));
  cloudWatch.on(GetMetricDataCommand).callsFake(
    later(() => {
      const now = Date.now();
      const timestamps = Array.from({ length: 60 }, (_, i) => new Date(now - (59 - i) * minute));
      return { MetricDataResults: [{ Id: 'm1', Timestamps: timestamps, Values: timestamps.map((_, i) => (i < 50 ? 1 : 20)) }] };
    }),
  );
  const record = awsFixture<Parameters<typeof lookupEventFrom>[0][]>('cloudtrail-lambda-updatefunctioncode.json')[0];
  mockClient(CloudTrailClient)
    .on(LookupEventsCommand)
    .callsFake(
      later(() => {
        lookups += 1;
        return { Events: [lookupEventFrom({ ...record, eventTime: new Date(Date.now() - 10 * minute).toISOString() })] };
      }),
    );
  mockClient(CloudWatchLogsClient)
    .on(FilterLogEventsCommand)
    .callsFake(later(() => awsFixture('logs-filterlogevents.json')));
  return { requests: () => requests, lookups: () => lookups };
}

async function measure(label: string, context: ProcessEventDeps['context'], awsRequests: () => number): Promise<number[]> {
  const stack = await startAgentStack({
    agentEnv: 'bench',
    sandbox: { rateLimit: { limit: 1_000_000, windowMs: 60_000 } },
    visibilityTimeoutSeconds: 30,
    context,
  });
  try {
    stack.sandbox.faults.probability('*', 1, { latencyMs: PAGERDUTY_LATENCY_MS });
    const toNote: number[] = [];
    const before = awsRequests();
    let previousAt = 0;
    for (let i = 0; i < INCIDENTS; i += 1) {
      await pause(Math.max(0, previousAt + ISOLATION_MS - Date.now()));
      const triggeredAt = Date.now();
      previousAt = triggeredAt;
      const incident = stack.sandbox.triggerIncident({
        serviceId: SANDBOX_SERVICE_ID,
        title: `orders-api-errors ${i}`,
        alerts: [{ summary: 'orders-api-errors', details: lambdaAlarmDetails(new Date().toISOString()) }],
      });
      await settle(stack, 60_000);
      const note = stack.sandbox.notes(incident.id)[0];
      if (note !== undefined) toNote.push(Date.parse(note.created_at) - triggeredAt);
    }
    const pagerDuty = stack.sandbox
      .requests()
      .filter((entry) => !entry.route.includes('webhook') && entry.route !== 'POST /v2/enqueue').length;
    console.log(
      `${label.padEnd(22)} trigger → note p50 ${percentile(toNote, 50)} ms, p99 ${percentile(toNote, 99)} ms ` +
        `(${toNote.length}/${INCIDENTS} notes; PagerDuty requests/incident ${(pagerDuty / INCIDENTS).toFixed(2)}, AWS requests/incident ${((awsRequests() - before) / INCIDENTS).toFixed(2)})`,
    );
    return toNote;
  } finally {
    await stack.stop();
  }
}

/**
 * BURST incidents on one function at once, with the AWS providers: the CloudTrail lookups they made (shared through the
 * state table when one incident's lookup covers another's window) and when their notes landed.
 */
async function measureBurst(sharing: boolean, context: ProcessEventDeps['context'], lookups: () => number): Promise<void> {
  const stack = await startAgentStack({
    agentEnv: 'bench',
    ...(sharing ? {} : { config: { context: { sharedSeconds: 0 } } }),
    sandbox: { rateLimit: { limit: 1_000_000, windowMs: 60_000 } },
    visibilityTimeoutSeconds: 30,
    context,
  });
  try {
    stack.sandbox.faults.probability('*', 1, { latencyMs: PAGERDUTY_LATENCY_MS });
    const before = lookups();
    const triggeredAt = Date.now();
    const incidents = Array.from({ length: BURST }, (_, i) =>
      stack.sandbox.triggerIncident({
        serviceId: SANDBOX_SERVICE_ID,
        title: `orders-api-errors burst ${i}`,
        alerts: [{ summary: 'orders-api-errors', details: lambdaAlarmDetails(new Date(triggeredAt).toISOString()) }],
      }),
    );
    await settle(stack, 120_000);
    const notes = incidents.flatMap((incident) => stack.sandbox.notes(incident.id).slice(0, 1));
    const toNote = notes.map((note) => Date.parse(note.created_at) - triggeredAt);
    const withoutChanges = notes.filter((note) => /changes[^\n]*unavailable|unavailable[^\n]*changes/i.test(note.content)).length;
    console.log(
      `burst of ${BURST} on one function, ${sharing ? 'shared context on' : 'sharing off (context.sharedSeconds 0)'}: ` +
        `${lookups() - before} CloudTrail lookups; trigger → note p50 ${percentile(toNote, 50)} ms, p99 ${percentile(toNote, 99)} ms; ` +
        `${notes.length}/${BURST} notes, ${withoutChanges} saying the changes were unavailable`,
    );
  } finally {
    await stack.stop();
  }
}

export async function run(): Promise<void> {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  const aws = mockAws();
  const clients = awsClients();
  console.log(
    `latency injected: ${PAGERDUTY_LATENCY_MS} ms per PagerDuty request, ${AWS_LATENCY_MS} ms per AWS request; ${INCIDENTS} incidents one at a time, at least ${ISOLATION_MS} ms apart`,
  );
  const without = await measure('PagerDuty only', undefined, aws.requests);
  const withAws = await measure(
    'with AWS providers',
    { aws: { config: parseAgentConfig(undefined).context.aws, clientsFor: async () => clients } },
    aws.requests,
  );
  const p50 = percentile(withAws, 50) - percentile(without, 50);
  console.log(
    `AWS providers add ${p50} ms to the p50 (${(percentile(withAws, 50) / percentile(without, 50)).toFixed(2)}×), ` +
      `${percentile(withAws, 99) - percentile(without, 99)} ms to the p99; target: at most one round trip (${PAGERDUTY_LATENCY_MS} ms)`,
  );
  const awsContext = { aws: { config: parseAgentConfig(undefined).context.aws, clientsFor: async () => clients } };
  await measureBurst(false, awsContext, aws.lookups);
  await measureBurst(true, awsContext, aws.lookups);
}
