import { createHash } from 'node:crypto';
import { bucket, evaluate, isSupportedStat, MetricMathError, type TimeSeries } from './metric-math';
import { decodeToken, page } from './pagination';
import { FieldReader, ServiceError, type Input, type Output } from './protocol';
import { type CallContext, type JsonService, accessDeniedError } from './service';
import {
  DEFAULT_REGION,
  resolveSeedTime,
  type AlarmState,
  type MetricDimension,
  type SeedCompositeAlarm,
  type SeedMetricAlarm,
  type SeedMetricSeries,
} from './seed';

/**
 * CloudWatch alarms and metrics: DescribeAlarms, DescribeAlarmHistory, GetMetricData and PutMetricData, with the
 * service's defaults that callers trip over (GetMetricData answers newest first unless `ScanBy: TimestampAscending`;
 * DescribeAlarmHistory too; alarm history carries `HistoryData` as a JSON string; DescribeAlarms and
 * DescribeAlarmHistory answer for composite alarms only when `AlarmTypes` names CompositeAlarm). Alarms live in one
 * account and region and are answered for the region a request is signed for; metric series are per account only.
 */

const invalidValue = (message: string) => new ServiceError('InvalidParameterValueException', message, 400, 'InvalidParameterValue');
const missing = (message: string) => new ServiceError('MissingRequiredParameterException', message, 400, 'MissingParameter');
const combination = (message: string) =>
  new ServiceError('InvalidParameterCombinationException', message, 400, 'InvalidParameterCombination');
const invalidToken = () => new ServiceError('InvalidNextToken', 'The service returned an invalid NextToken. Start again without it.');

interface HistoryItem {
  at: number;
  type: 'StateUpdate' | 'Action';
  summary: string;
  data: string;
}

type AlarmType = 'MetricAlarm' | 'CompositeAlarm';

interface StoredAlarm {
  accountId: string;
  region: string;
  arn: string;
  type: AlarmType;
  /** A composite alarm's seed carries its rule instead of a metric. */
  seed: SeedMetricAlarm | SeedCompositeAlarm;
  configuredAt: number;
  state: AlarmState;
  stateReason: string;
  stateReasonData?: string;
  stateUpdatedAt: number;
  history: HistoryItem[];
}

interface StoredSeries {
  accountId: string;
  namespace: string;
  metricName: string;
  dimensionsKey: string;
  unit?: string;
  points: { at: number; value: number }[];
}

const dimensionsKey = (dimensions: MetricDimension[]): string =>
  JSON.stringify([...dimensions].sort((a, b) => a.Name.localeCompare(b.Name)).map((dimension) => [dimension.Name, dimension.Value]));

const iso = (ms: number): string => new Date(ms).toISOString().replace('Z', '+0000');
const seconds = (ms: number): number => ms / 1000;
const fingerprint = (input: Input): string =>
  createHash('sha256')
    .update(JSON.stringify({ ...input, NextToken: undefined }))
    .digest('hex')
    .slice(0, 16);

function readDimensions(value: unknown, where: string): MetricDimension[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalidValue(`${where}.Dimensions must be a list.`);
  return value.map((item, index) => {
    const dimension = item as Partial<MetricDimension>;
    if (typeof dimension?.Name !== 'string' || typeof dimension.Value !== 'string') {
      throw invalidValue(`${where}.Dimensions.member.${index + 1} must have a Name and a Value.`);
    }
    return { Name: dimension.Name, Value: dimension.Value };
  });
}

function rangeChecked(reader: FieldReader, field: string, min: number, max: number, fallback: number): number {
  const value = reader.number(field) ?? fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalidValue(`The value ${value} for parameter ${field} is not valid: it must be an integer from ${min} to ${max}.`);
  }
  return value;
}

/** `AlarmTypes` as CloudWatch reads it: absent means metric alarms only. */
function alarmTypes(reader: FieldReader): string[] {
  const types = reader.stringList('AlarmTypes') ?? ['MetricAlarm'];
  const unknown = types.find((type) => type !== 'MetricAlarm' && type !== 'CompositeAlarm');
  if (unknown !== undefined)
    throw invalidValue(`The value ${unknown} for parameter AlarmTypes is not valid: use MetricAlarm or CompositeAlarm.`);
  return types;
}

export class CloudWatchEmulator implements JsonService {
  readonly service = 'cloudwatch' as const;
  readonly contentType = 'application/x-amz-json-1.0';
  readonly errorStyle = { typePrefix: 'com.amazonaws.cloudwatch#', queryCompatible: true };
  private readonly alarms = new Map<string, StoredAlarm>();
  private readonly series: StoredSeries[] = [];

  readonly operations: Record<string, (input: Input, context: CallContext) => Output> = {
    DescribeAlarms: (input, context) => this.describeAlarms(input, context),
    DescribeAlarmHistory: (input, context) => this.describeAlarmHistory(input, context),
    GetMetricData: (input, context) => this.getMetricData(input, context),
    PutMetricData: (input, context) => this.putMetricData(input, context),
  };

  accessDenied(action: string, callerArn: string): ServiceError {
    return accessDeniedError(action, callerArn, { status: 403, code: 'AccessDenied' });
  }

  throttled(): ServiceError {
    return new ServiceError('ThrottlingException', 'Rate exceeded', 400, 'Throttling');
  }

  seedAlarm(alarm: SeedMetricAlarm, accountId: string, now: Date): void {
    this.store(alarm, 'MetricAlarm', accountId, now);
  }

  seedCompositeAlarm(alarm: SeedCompositeAlarm, accountId: string, now: Date): void {
    this.store(alarm, 'CompositeAlarm', accountId, now);
  }

  private store(alarm: SeedMetricAlarm | SeedCompositeAlarm, type: AlarmType, accountId: string, now: Date): void {
    const region = alarm.region ?? DEFAULT_REGION;
    const metric = 'EvaluationPeriods' in alarm ? alarm : undefined;
    const history: HistoryItem[] = [];
    let state: AlarmState = 'OK';
    let stateReason = 'Unchecked: Initial alarm creation';
    let stateReasonData: string | undefined;
    let stateUpdatedAt = resolveSeedTime(alarm.configuredAt, now);
    for (const change of alarm.history) {
      const at = resolveSeedTime(change.at, now);
      const reasonData =
        change.recentDatapoints === undefined || metric === undefined
          ? undefined
          : {
              version: '1.0',
              queryDate: iso(at),
              startDate: iso(at - (metric.Period ?? 60) * metric.EvaluationPeriods * 1000),
              ...(metric.Unit === undefined ? {} : { unit: metric.Unit }),
              statistic: metric.Statistic ?? metric.ExtendedStatistic,
              period: metric.Period,
              recentDatapoints: change.recentDatapoints,
              threshold: metric.Threshold,
            };
      history.push({
        at,
        type: 'StateUpdate',
        summary: `Alarm updated from ${change.from} to ${change.to}`,
        data: JSON.stringify({
          version: '1.0',
          oldState: { stateValue: change.from, stateReason },
          newState: {
            stateValue: change.to,
            stateReason: change.reason,
            ...(reasonData === undefined ? {} : { stateReasonData: reasonData }),
          },
        }),
      });
      const actions = change.to === 'ALARM' ? alarm.AlarmActions : change.to === 'OK' ? alarm.OKActions : alarm.InsufficientDataActions;
      for (const action of actions) {
        history.push({
          at: at + 50,
          type: 'Action',
          summary: `Successfully executed action ${action}`,
          data: JSON.stringify({ actionState: 'Succeeded', stateUpdateTimestamp: at, notificationResource: action }),
        });
      }
      state = change.to;
      stateReason = change.reason;
      stateReasonData = reasonData === undefined ? undefined : JSON.stringify(reasonData);
      stateUpdatedAt = at;
    }
    this.alarms.set(`${accountId}/${region}/${alarm.AlarmName}`, {
      accountId,
      region,
      type,
      arn: `arn:aws:cloudwatch:${region}:${accountId}:alarm:${alarm.AlarmName}`,
      seed: alarm,
      configuredAt: resolveSeedTime(alarm.configuredAt, now),
      state,
      stateReason,
      stateReasonData,
      stateUpdatedAt,
      history,
    });
  }

  seedSeries(series: SeedMetricSeries, accountId: string, now: Date): void {
    this.addPoints(
      accountId,
      series.Namespace,
      series.MetricName,
      series.Dimensions,
      series.Unit,
      series.points.map((point) => ({ at: resolveSeedTime(point.at, now), value: point.value })),
    );
  }

  private addPoints(
    accountId: string,
    namespace: string,
    metricName: string,
    dimensions: MetricDimension[],
    unit: string | undefined,
    points: { at: number; value: number }[],
  ): void {
    const key = dimensionsKey(dimensions);
    let stored = this.series.find(
      (candidate) =>
        candidate.accountId === accountId &&
        candidate.namespace === namespace &&
        candidate.metricName === metricName &&
        candidate.dimensionsKey === key,
    );
    if (stored === undefined) {
      stored = { accountId, namespace, metricName, dimensionsKey: key, unit, points: [] };
      this.series.push(stored);
    }
    stored.points.push(...points);
  }

  private alarmOutput(alarm: StoredAlarm): Output {
    const seed = alarm.seed;
    const optional = (name: string, value: unknown): Output => (value === undefined ? {} : { [name]: value });
    if (!('EvaluationPeriods' in seed)) {
      return {
        AlarmName: seed.AlarmName,
        AlarmArn: alarm.arn,
        ...optional('AlarmDescription', seed.AlarmDescription),
        AlarmConfigurationUpdatedTimestamp: seconds(alarm.configuredAt),
        ActionsEnabled: true,
        OKActions: seed.OKActions,
        AlarmActions: seed.AlarmActions,
        InsufficientDataActions: seed.InsufficientDataActions,
        AlarmRule: seed.AlarmRule,
        StateValue: alarm.state,
        StateReason: alarm.stateReason,
        StateUpdatedTimestamp: seconds(alarm.stateUpdatedAt),
        StateTransitionedTimestamp: seconds(alarm.stateUpdatedAt),
      };
    }
    return {
      AlarmName: seed.AlarmName,
      AlarmArn: alarm.arn,
      ...optional('AlarmDescription', seed.AlarmDescription),
      AlarmConfigurationUpdatedTimestamp: seconds(alarm.configuredAt),
      ActionsEnabled: true,
      OKActions: seed.OKActions,
      AlarmActions: seed.AlarmActions,
      InsufficientDataActions: seed.InsufficientDataActions,
      StateValue: alarm.state,
      StateReason: alarm.stateReason,
      ...optional('StateReasonData', alarm.stateReasonData),
      StateUpdatedTimestamp: seconds(alarm.stateUpdatedAt),
      StateTransitionedTimestamp: seconds(alarm.stateUpdatedAt),
      ...optional('MetricName', seed.MetricName),
      ...optional('Namespace', seed.Namespace),
      ...optional('Statistic', seed.Statistic),
      ...optional('ExtendedStatistic', seed.ExtendedStatistic),
      Dimensions: seed.Dimensions,
      ...optional('Period', seed.Period),
      ...optional('Unit', seed.Unit),
      EvaluationPeriods: seed.EvaluationPeriods,
      ...optional('DatapointsToAlarm', seed.DatapointsToAlarm),
      Threshold: seed.Threshold,
      ComparisonOperator: seed.ComparisonOperator,
      TreatMissingData: seed.TreatMissingData,
      ...optional('Metrics', seed.Metrics),
    };
  }

  /** The alarms of the caller's account and region, of the types asked for (MetricAlarm unless told). */
  private visibleAlarms(context: CallContext, types: readonly string[]): StoredAlarm[] {
    return [...this.alarms.values()]
      .filter((alarm) => alarm.accountId === context.accountId && alarm.region === context.region && types.includes(alarm.type))
      .sort((a, b) => a.seed.AlarmName.localeCompare(b.seed.AlarmName));
  }

  describeAlarms(input: Input, context: CallContext): Output {
    const reader = new FieldReader(input, invalidValue);
    const names = reader.stringList('AlarmNames');
    const prefix = reader.string('AlarmNamePrefix');
    const stateValue = reader.string('StateValue');
    const actionPrefix = reader.string('ActionPrefix');
    const types = alarmTypes(reader);
    const maxRecords = rangeChecked(reader, 'MaxRecords', 1, 100, 50);
    if (names !== undefined && prefix !== undefined) throw combination('AlarmNames and AlarmNamePrefix cannot be used together.');
    if (names !== undefined && names.length > 100) throw invalidValue('AlarmNames may hold at most 100 names.');
    if (stateValue !== undefined && !['OK', 'ALARM', 'INSUFFICIENT_DATA'].includes(stateValue)) {
      throw invalidValue(`The value ${stateValue} for parameter StateValue is not valid: use OK, ALARM or INSUFFICIENT_DATA.`);
    }
    const matching = this.visibleAlarms(context, types).filter(
      (alarm) =>
        (names === undefined || names.includes(alarm.seed.AlarmName)) &&
        (prefix === undefined || alarm.seed.AlarmName.startsWith(prefix)) &&
        (stateValue === undefined || alarm.state === stateValue) &&
        (actionPrefix === undefined || alarm.seed.AlarmActions.some((action) => action.startsWith(actionPrefix))),
    );
    const offset = decodeToken(reader.string('NextToken'), 'DescribeAlarms', fingerprint(input), invalidToken);
    const { items, nextToken } = page(matching, offset, maxRecords, 'DescribeAlarms', fingerprint(input));
    return {
      MetricAlarms: items.filter((alarm) => alarm.type === 'MetricAlarm').map((alarm) => this.alarmOutput(alarm)),
      CompositeAlarms: items.filter((alarm) => alarm.type === 'CompositeAlarm').map((alarm) => this.alarmOutput(alarm)),
      ...(nextToken === undefined ? {} : { NextToken: nextToken }),
    };
  }

  describeAlarmHistory(input: Input, context: CallContext): Output {
    const reader = new FieldReader(input, invalidValue);
    const name = reader.string('AlarmName');
    const itemType = reader.string('HistoryItemType');
    const start = reader.epochSecondsAsMs('StartDate') ?? Number.NEGATIVE_INFINITY;
    const end = reader.epochSecondsAsMs('EndDate') ?? Number.POSITIVE_INFINITY;
    const maxRecords = rangeChecked(reader, 'MaxRecords', 1, 100, 100);
    const scanBy = reader.string('ScanBy') ?? 'TimestampDescending';
    if (itemType !== undefined && !['ConfigurationUpdate', 'StateUpdate', 'Action', 'AlarmContributorStateUpdate'].includes(itemType)) {
      throw invalidValue(`The value ${itemType} for parameter HistoryItemType is not valid.`);
    }
    if (!['TimestampDescending', 'TimestampAscending'].includes(scanBy))
      throw invalidValue(`The value ${scanBy} for parameter ScanBy is not valid.`);
    const items = this.visibleAlarms(context, alarmTypes(reader))
      .filter((alarm) => name === undefined || alarm.seed.AlarmName === name)
      .flatMap((alarm) => alarm.history.map((item) => ({ alarm: alarm.seed.AlarmName, type: alarm.type, item })))
      .filter(({ item }) => (itemType === undefined || item.type === itemType) && item.at >= start && item.at <= end)
      .sort((a, b) => (scanBy === 'TimestampAscending' ? a.item.at - b.item.at : b.item.at - a.item.at));
    const offset = decodeToken(reader.string('NextToken'), 'DescribeAlarmHistory', fingerprint(input), invalidToken);
    const result = page(items, offset, maxRecords, 'DescribeAlarmHistory', fingerprint(input));
    return {
      AlarmHistoryItems: result.items.map(({ alarm, type, item }) => ({
        AlarmName: alarm,
        AlarmType: type,
        Timestamp: seconds(item.at),
        HistoryItemType: item.type,
        HistorySummary: item.summary,
        HistoryData: item.data,
      })),
      ...(result.nextToken === undefined ? {} : { NextToken: result.nextToken }),
    };
  }

  getMetricData(input: Input, context: CallContext): Output {
    const reader = new FieldReader(input, invalidValue);
    const queries = reader.list('MetricDataQueries');
    if (queries === undefined || queries.length === 0) throw missing('The parameter MetricDataQueries is required.');
    if (queries.length > 500) throw invalidValue('MetricDataQueries may hold at most 500 queries.');
    const start = reader.epochSecondsAsMs('StartTime');
    const end = reader.epochSecondsAsMs('EndTime');
    if (start === undefined) throw missing('The parameter StartTime is required.');
    if (end === undefined) throw missing('The parameter EndTime is required.');
    if (start >= end) throw invalidValue('The parameter StartTime must be less than the parameter EndTime.');
    const scanBy = reader.string('ScanBy') ?? 'TimestampDescending';
    if (!['TimestampDescending', 'TimestampAscending'].includes(scanBy))
      throw invalidValue(`The value ${scanBy} for parameter ScanBy is not valid.`);
    const maxDatapoints = rangeChecked(reader, 'MaxDatapoints', 1, 100_800, 100_800);

    const computed = new Map<string, TimeSeries>();
    const parsed = queries.map((raw, index) => {
      const query = new FieldReader((raw ?? {}) as Input, invalidValue);
      const where = `MetricDataQueries.member.${index + 1}`;
      const id = query.requiredString('Id');
      if (!/^[a-z][a-zA-Z0-9_]*$/.test(id)) {
        throw invalidValue(`The value ${id} for parameter ${where}.Id is not valid: it must start with a lower-case letter.`);
      }
      if (queries.slice(0, index).some((other) => (other as Input)?.Id === id)) {
        throw invalidValue(`The Id ${id} is used by more than one query.`);
      }
      const metricStat = query.object('MetricStat');
      const expression = query.string('Expression');
      if ((metricStat === undefined) === (expression === undefined)) {
        throw combination(`${where} must have exactly one of MetricStat and Expression.`);
      }
      return { id, metricStat, expression, label: query.string('Label'), returnData: (raw as Input).ReturnData !== false, where };
    });
    for (const query of parsed.filter((candidate) => candidate.metricStat !== undefined)) {
      computed.set(query.id, this.statSeries(query.metricStat as Input, query.where, context.accountId, start, end));
    }
    for (const query of parsed.filter((candidate) => candidate.expression !== undefined)) {
      try {
        computed.set(
          query.id,
          evaluate(query.expression as string, (id) => computed.get(id)),
        );
      } catch (error) {
        if (!(error instanceof MetricMathError)) throw error;
        throw new ServiceError(
          'ValidationException',
          `Error in expression '${query.id}': ${error.message} (the local CloudWatch emulator evaluates + - * / on query ids and numbers).`,
          400,
          'ValidationError',
        );
      }
    }
    const results = parsed
      .filter((query) => query.returnData)
      .map((query) => {
        const points = [...(computed.get(query.id) as TimeSeries)].sort((a, b) =>
          scanBy === 'TimestampAscending' ? a[0] - b[0] : b[0] - a[0],
        );
        const metricName = ((query.metricStat?.Metric ?? {}) as Input).MetricName;
        return { id: query.id, label: query.label ?? (typeof metricName === 'string' ? metricName : query.id), points };
      });
    const flattened = results.flatMap((result, index) => result.points.map((point) => ({ index, point })));
    const offset = decodeToken(reader.string('NextToken'), 'GetMetricData', fingerprint(input), invalidToken);
    const { items, nextToken } = page(flattened, offset, maxDatapoints, 'GetMetricData', fingerprint(input));
    return {
      MetricDataResults: results.map((result, index) => {
        const points = items.filter((item) => item.index === index).map((item) => item.point);
        return {
          Id: result.id,
          Label: result.label,
          Timestamps: points.map(([at]) => seconds(at)),
          Values: points.map(([, value]) => value),
          StatusCode: nextToken === undefined ? 'Complete' : 'PartialData',
        };
      }),
      Messages: [],
      ...(nextToken === undefined ? {} : { NextToken: nextToken }),
    };
  }

  private statSeries(metricStat: Input, where: string, accountId: string, start: number, end: number): TimeSeries {
    const stat = new FieldReader(metricStat, invalidValue);
    const metric = stat.object('Metric');
    if (metric === undefined) throw missing(`The parameter ${where}.MetricStat.Metric is required.`);
    const metricReader = new FieldReader(metric, invalidValue);
    const namespace = metricReader.requiredString('Namespace');
    const metricName = metricReader.requiredString('MetricName');
    const dimensions = readDimensions(metric.Dimensions, `${where}.MetricStat.Metric`);
    const period = stat.number('Period');
    if (period === undefined) throw missing(`The parameter ${where}.MetricStat.Period is required.`);
    if (
      !Number.isInteger(period) ||
      period < 1 ||
      (period >= 60 && period % 60 !== 0) ||
      (period < 60 && ![1, 5, 10, 30].includes(period))
    ) {
      throw invalidValue(
        `The value ${period} for parameter ${where}.MetricStat.Period is not valid: use 1, 5, 10, 30 or a multiple of 60.`,
      );
    }
    const statistic = stat.requiredString('Stat');
    if (!isSupportedStat(statistic)) throw invalidValue(`The value ${statistic} for parameter ${where}.MetricStat.Stat is not valid.`);
    const key = dimensionsKey(dimensions);
    const series = this.series.find(
      (candidate) =>
        candidate.accountId === accountId &&
        candidate.namespace === namespace &&
        candidate.metricName === metricName &&
        candidate.dimensionsKey === key,
    );
    return bucket(
      (series?.points ?? []).filter((point) => point.at >= start && point.at < end),
      period,
      statistic,
    );
  }

  putMetricData(input: Input, context: CallContext): Output {
    const reader = new FieldReader(input, invalidValue);
    const namespace = reader.requiredString('Namespace');
    if (namespace.startsWith('AWS/'))
      throw invalidValue('The value AWS/ for parameter Namespace is not valid: the AWS/ namespaces are reserved.');
    const data = reader.list('MetricData') ?? [];
    data.forEach((raw, index) => {
      const datum = new FieldReader((raw ?? {}) as Input, invalidValue);
      const where = `MetricData.member.${index + 1}`;
      const at = datum.epochSecondsAsMs('Timestamp') ?? context.now.getTime();
      const single = datum.number('Value');
      const values = (datum.list('Values') ?? []) as number[];
      const counts = (datum.list('Counts') ?? []) as number[];
      const points =
        single !== undefined
          ? [{ at, value: single }]
          : values.flatMap((value, i) => Array.from({ length: counts[i] ?? 1 }, () => ({ at, value })));
      if (points.length === 0) throw missing(`The parameter ${where}.Value or ${where}.Values is required.`);
      this.addPoints(
        context.accountId,
        namespace,
        datum.requiredString('MetricName'),
        readDimensions((raw as Input).Dimensions, where),
        datum.string('Unit'),
        points,
      );
    });
    return {};
  }
}
