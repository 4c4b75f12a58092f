import { GetMetricDataCommand, type MetricAlarm, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import type { Comparison, MetricBehaviour } from '../evidence';
import { SourceUnavailableError, type ContextProvider } from '../provider';
import type { AwsProviderInput } from './aws-input';
import { comparisonOfOperator } from '../alert/thresholds';
import { awsRead } from './aws-failures';
import { alarmConsoleUrl, metricConsoleUrl } from './console-links';
import { analyseMetric, capacityKindOf, type ShapeAnalysis } from './metric-shape';

/**
 * The alarmed metric around the trigger (`GetMetricData`): its shape, when it crossed, its rate and, for capacity
 * metrics, the time left. The metric is the one the alarm's verified definition names (lib/context/aws/alarm-definition.ts),
 * never the alert's words: a metric-math alarm's expression, a composite alarm's first child in ALARM.
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
    const name = returned?.Label ?? returned?.Id ?? alarm.AlarmName ?? 'metric math';
    return {
      // The expression is the alarm's own (its definition), so the reader sees what moved: `e1: m1/m2*100`.
      label: returned?.Expression === undefined ? name : `${name}: ${returned.Expression}`,
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
  budget: { timeMs: 2500, requests: 1 },
  async run(input, options) {
    const verified = input.alarm;
    if (verified?.metricAlarm === undefined) {
      if (verified?.kind === 'composite') {
        throw new SourceUnavailableError(`no child alarm of the composite alarm ${verified.name} is in ALARM with a metric to read`);
      }
      return undefined;
    }
    const childOf = verified.kind === 'composite' ? ` (child alarm ${verified.metricAlarm.AlarmName ?? ''} of ${verified.name})` : '';
    const found = specFromAlarm(verified.metricAlarm);
    if (found === undefined) return undefined;
    const spec = { ...found, label: `${found.label}${childOf}` };
    const alarmName = verified.name;

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
        ? alarmConsoleUrl(region, alarmName)
        : metricConsoleUrl(region, { ...spec.console, periodSeconds: spec.periodSeconds }, { start, end }),
    );
  },
};
