import { DescribeAlarmsCommand, GetMetricDataCommand, type MetricAlarm, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import type { Comparison, MetricBehaviour, NormalisedAlert } from '../evidence';
import { SourceUnavailableError, type ContextProvider, type ProviderRunOptions } from '../provider';
import { alarmNameOf, type AwsProviderInput } from './aws-input';
import { comparisonOfOperator } from '../alert/thresholds';
import { awsRead } from './aws-failures';
import { alarmConsoleUrl, metricConsoleUrl } from './console-links';
import { analyseMetric, capacityKindOf, type ShapeAnalysis } from './metric-shape';

/**
 * The alarmed metric around the trigger (`GetMetricData`): its shape, when it crossed, its rate and, for capacity
 * metrics, the time left. The metric comes from the alert; only when the alert lacks it (metric math, a bare alarm
 * name) is the alarm read with `DescribeAlarms`.
 */

/** Datapoints shown before the trigger: at least an hour, at least this many periods. */
const MIN_PERIODS = 20;
const MIN_WINDOW_MS = 3600_000;
const MAX_WINDOW_MS = 24 * 3600_000;
/** Periods read after the trigger (when they exist), to see whether it kept going. */
const PERIODS_AFTER = 2;

/** SNS messages spell statistics in capitals (`AVERAGE`); GetMetricData wants `Average`; `p99` stays as it is. */
function statisticName(statistic: string | undefined): string {
  if (statistic === undefined || statistic === '') return 'Average';
  if (/^(average|sum|minimum|maximum|samplecount)$/i.test(statistic)) {
    const lower = statistic.toLowerCase();
    return lower === 'samplecount' ? 'SampleCount' : lower[0]?.toUpperCase() + lower.slice(1);
  }
  return statistic;
}

interface MetricSpec {
  label: string;
  queries: MetricDataQuery[];
  periodSeconds: number;
  unit?: string;
  threshold?: { comparison: Comparison; value: number };
  console?: { namespace: string; name: string; dimensions: Record<string, string>; statistic: string };
}

function specFromAlert(alert: NormalisedAlert): MetricSpec | undefined {
  const metric = alert.metric;
  if (metric?.namespace === undefined || metric.expression !== undefined) return undefined;
  const dimensions = alert.resource?.dimensions ?? {};
  const statistic = statisticName(metric.statistic);
  const periodSeconds = Math.max(60, metric.periodSeconds ?? 60);
  return {
    label: `${metric.namespace} ${metric.name}`,
    periodSeconds,
    unit: metric.unit,
    threshold: alert.threshold,
    console: { namespace: metric.namespace, name: metric.name, dimensions, statistic },
    queries: [
      {
        Id: 'm1',
        MetricStat: {
          Metric: {
            Namespace: metric.namespace,
            MetricName: metric.name,
            Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })),
          },
          Period: periodSeconds,
          Stat: statistic,
        },
        ReturnData: true,
      },
    ],
  };
}

function specFromAlarm(alarm: MetricAlarm): MetricSpec | undefined {
  const threshold =
    alarm.Threshold === undefined
      ? undefined
      : { comparison: comparisonOfOperator(alarm.ComparisonOperator) ?? 'other', value: alarm.Threshold };
  if (alarm.Metrics !== undefined && alarm.Metrics.length > 0) {
    const returned = alarm.Metrics.find((query) => query.ReturnData !== false) ?? alarm.Metrics[0];
    const periodSeconds = Math.max(
      60,
      returned?.Period ?? alarm.Metrics.find((query) => query.MetricStat)?.MetricStat?.Period ?? alarm.Period ?? 60,
    );
    return {
      label: returned?.Label ?? returned?.Expression ?? alarm.AlarmName ?? 'metric math',
      periodSeconds,
      threshold,
      queries: alarm.Metrics,
    };
  }
  if (alarm.Namespace === undefined || alarm.MetricName === undefined) return undefined;
  const dimensions = Object.fromEntries((alarm.Dimensions ?? []).map((dimension) => [dimension.Name ?? '', dimension.Value ?? '']));
  const statistic = alarm.ExtendedStatistic ?? statisticName(alarm.Statistic);
  const periodSeconds = Math.max(60, alarm.Period ?? 60);
  return {
    label: `${alarm.Namespace} ${alarm.MetricName}`,
    periodSeconds,
    unit: alarm.Unit,
    threshold,
    console: { namespace: alarm.Namespace, name: alarm.MetricName, dimensions, statistic },
    queries: [
      {
        Id: 'm1',
        MetricStat: {
          Metric: { Namespace: alarm.Namespace, MetricName: alarm.MetricName, Dimensions: alarm.Dimensions },
          Period: periodSeconds,
          Stat: statistic,
        },
        ReturnData: true,
      },
    ],
  };
}

async function describeAlarm(
  input: AwsProviderInput,
  alarmName: string,
  { signal, requests }: ProviderRunOptions,
): Promise<MetricAlarm | undefined> {
  requests.take('cloudwatch:DescribeAlarms');
  const { region, accountId } = input.scope;
  const answer = await awsRead(
    { action: 'cloudwatch:DescribeAlarms', resource: `arn:aws:cloudwatch:${region}:${accountId ?? '<account>'}:alarm:${alarmName}` },
    () =>
      input.clients.cloudWatch.send(new DescribeAlarmsCommand({ AlarmNames: [alarmName], AlarmTypes: ['MetricAlarm'] }), {
        abortSignal: signal,
      }),
  );
  return answer.MetricAlarms?.[0];
}

/** The evidence contract's record of one analysed series (times as ISO-8601). */
export function metricBehaviour(label: string, unit: string | undefined, analysis: ShapeAnalysis, consoleUrl: string): MetricBehaviour {
  const iso = (ms: number): string => new Date(ms).toISOString();
  return {
    metricLabel: label,
    shape: analysis.shape,
    crossedAt: analysis.crossedAt === undefined ? undefined : iso(analysis.crossedAt),
    ratePerMinute: analysis.ratePerMinute,
    minutesToExhaustion: analysis.minutesToExhaustion,
    latest: analysis.latest,
    baseline: analysis.baseline,
    ...(analysis.levelChange === undefined ? {} : { levelChange: { ...analysis.levelChange, at: iso(analysis.levelChange.at) } }),
    ...(analysis.excursion === undefined
      ? {}
      : { excursion: { ...analysis.excursion, peakAt: iso(analysis.excursion.peakAt), backAt: iso(analysis.excursion.backAt) } }),
    unit,
    sparkline: analysis.sparkline,
    consoleUrl,
  };
}

/** GetMetricData is fastest and exact when start and end sit on period boundaries. */
const alignDown = (ms: number, periodMs: number): number => Math.floor(ms / periodMs) * periodMs;

export const metricProvider: ContextProvider<AwsProviderInput, MetricBehaviour | undefined> = {
  name: 'metric',
  needs: ['alert'],
  budget: { timeMs: 2500, requests: 2 },
  async run(input, options) {
    const alert = input.alert as NormalisedAlert;
    const alarmName = alarmNameOf(alert);
    let spec = specFromAlert(alert);
    if (spec === undefined && alarmName !== undefined) {
      const alarm = await describeAlarm(input, alarmName, options);
      if (alarm === undefined)
        throw new SourceUnavailableError(
          `the alarm ${alarmName} was not found in ${input.scope.region}; it may have been deleted or live in another account (map the service to its account's read role)`,
        );
      spec = specFromAlarm(alarm);
    }
    if (spec === undefined) return undefined;

    const periodMs = spec.periodSeconds * 1000;
    const trigger = input.triggeredAt.getTime();
    const windowMs = Math.min(MAX_WINDOW_MS, Math.max(MIN_WINDOW_MS, MIN_PERIODS * periodMs));
    const start = new Date(alignDown(trigger - windowMs, periodMs));
    const end = new Date(alignDown(Math.min(input.now.getTime(), trigger + PERIODS_AFTER * periodMs), periodMs) + periodMs);
    options.requests.take('cloudwatch:GetMetricData');
    const answer = await awsRead({ action: 'cloudwatch:GetMetricData', resource: '*' }, () =>
      input.clients.cloudWatch.send(
        new GetMetricDataCommand({
          MetricDataQueries: spec.queries,
          StartTime: start,
          EndTime: end,
          ScanBy: 'TimestampAscending',
          MaxDatapoints: 1440,
        }),
        { abortSignal: options.signal },
      ),
    );
    const result =
      answer.MetricDataResults?.find((entry) => spec.queries.some((query) => query.Id === entry.Id && query.ReturnData !== false)) ??
      answer.MetricDataResults?.[0];
    const timestamps = result?.Timestamps ?? [];
    const points = (result?.Values ?? []).flatMap((value, index) => {
      const at = timestamps[index];
      return at === undefined ? [] : [{ at: new Date(at).getTime(), value }];
    });
    const metricName = spec.console?.name ?? spec.label;
    const analysis = analyseMetric({ points, threshold: spec.threshold, capacity: capacityKindOf(metricName, spec.unit) });
    const { region } = input.scope;
    return metricBehaviour(
      spec.label,
      spec.unit,
      analysis,
      spec.console === undefined
        ? alarmConsoleUrl(region, alarmName ?? spec.label)
        : metricConsoleUrl(region, { ...spec.console, periodSeconds: spec.periodSeconds }, { start, end }),
    );
  },
};
