import { DescribeAlarmsCommand, type DescribeAlarmsCommandOutput, type MetricAlarm } from '@aws-sdk/client-cloudwatch';
import type { NormalisedAlert } from '../evidence';
import { SourceUnavailableError, type ContextProvider, type ProviderRunOptions } from '../provider';
import { parseArn } from '../alert/regions';
import { resourceArn } from '../alert/cloudwatch';
import { alarmNameOf, type AwsProviderInput, type VerifiedAlarm } from './aws-input';
import { awsRead } from './aws-failures';
import { NAME_DIMENSIONS, withoutQualifier } from './mapping';
import { definedDimensions, definitionMismatch, matchesAllowlist, ruleAlarmNames, type AlarmDefinition } from './trust';

/**
 * The alarm an alert names, looked up where the agent reads (the mapping's account and region, or its own): the AWS
 * providers then read only what this definition names. `DescribeAlarms` returns composite alarms only when asked for
 * them (`AlarmTypes`), so both types are asked for; a composite alarm's rule is read and its children in ALARM are
 * described in a second call, the first metric child giving the metric.
 */

const BOTH_TYPES = ['MetricAlarm', 'CompositeAlarm'] as const;
/** DescribeAlarms takes at most 100 names. */
const MAX_CHILDREN = 100;

async function describe(
  input: AwsProviderInput,
  names: string[],
  { signal, requests }: ProviderRunOptions,
  stateValue?: 'ALARM',
): Promise<DescribeAlarmsCommandOutput> {
  requests.take('cloudwatch:DescribeAlarms');
  const { region, accountId } = input.scope;
  const resource = names.length === 1 ? `arn:aws:cloudwatch:${region}:${accountId ?? '<account>'}:alarm:${names[0]}` : '*';
  return awsRead({ action: 'cloudwatch:DescribeAlarms', resource }, () =>
    input.clients.cloudWatch.send(
      new DescribeAlarmsCommand({ AlarmNames: names, AlarmTypes: [...BOTH_TYPES], StateValue: stateValue, MaxRecords: 100 }),
      { abortSignal: signal },
    ),
  );
}

/** The names CloudTrail and the allowlist know the alarmed resource by (`orders-api` for FunctionName `orders-api:live`). */
function resourceNames(alarm: MetricAlarm): string[] {
  const dimensions = definedDimensions(alarm);
  return NAME_DIMENSIONS.flatMap((key) => (dimensions[key] === undefined ? [] : [withoutQualifier(key, dimensions[key])]));
}

/** The alert as the providers use it once verified: metric, threshold and resource from the definition. */
export function alertFromDefinition(alert: NormalisedAlert, verified: VerifiedAlarm): NormalisedAlert {
  const metricAlarm = verified.metricAlarm;
  const trusted: NormalisedAlert = {
    ...alert,
    name: verified.name,
    alarmArn: verified.arn,
    region: verified.region,
    accountId: verified.accountId,
    metric: undefined,
    resource: undefined,
  };
  if (metricAlarm === undefined) return trusted;
  const dimensions = definedDimensions(metricAlarm);
  const arn = resourceArn(dimensions, verified.region, verified.accountId);
  trusted.resource = arn === undefined ? { dimensions } : { arn, dimensions };
  if (metricAlarm.MetricName !== undefined) {
    trusted.metric = {
      name: metricAlarm.MetricName,
      namespace: metricAlarm.Namespace,
      statistic: metricAlarm.ExtendedStatistic ?? metricAlarm.Statistic,
    };
  }
  return trusted;
}

/** The composite's children in ALARM, by name, and the first metric alarm among them. */
async function childrenInAlarm(
  input: AwsProviderInput,
  rule: string,
  accountId: string,
  options: ProviderRunOptions,
): Promise<{ names: string[]; metricAlarm?: MetricAlarm }> {
  const children = ruleAlarmNames(rule, accountId).slice(0, MAX_CHILDREN);
  if (children.length === 0 || options.requests.remaining === 0) return { names: [] };
  const answer = await describe(input, children, options, 'ALARM');
  const inAlarm = [...(answer.MetricAlarms ?? []), ...(answer.CompositeAlarms ?? [])]
    .map((alarm) => alarm.AlarmName)
    .filter((name): name is string => name !== undefined);
  // In the rule's order, so the child the rule names first is read first.
  const names = children.filter((name) => inAlarm.includes(name));
  const metricAlarm = names
    .map((name) => answer.MetricAlarms?.find((alarm) => alarm.AlarmName === name))
    .find((alarm) => alarm !== undefined);
  return { names, metricAlarm };
}

export const alarmDefinitionProvider: ContextProvider<AwsProviderInput, VerifiedAlarm | undefined> = {
  name: 'alarm definition',
  needs: ['alert'],
  budget: { timeMs: 2500, requests: 2 },
  async run(input, options) {
    const alert = input.alert as NormalisedAlert;
    const name = alarmNameOf(alert);
    if (name === undefined) return undefined;
    const { region } = input.scope;
    const where = `${region} (${input.scope.accountId === undefined ? 'own account' : `account ${input.scope.accountId}`})`;
    const answer = await describe(input, [name], options);
    const metric = answer.MetricAlarms?.find((alarm) => alarm.AlarmName === name);
    const composite = answer.CompositeAlarms?.find((alarm) => alarm.AlarmName === name);
    const definition: AlarmDefinition | undefined =
      metric !== undefined
        ? { kind: 'metric', alarm: metric }
        : composite !== undefined
          ? { kind: 'composite', alarm: composite }
          : undefined;
    if (definition === undefined) {
      throw new SourceUnavailableError(`alarm ${name} does not exist in ${where}; nothing read for it`);
    }
    const mismatch = definitionMismatch(alert, definition);
    if (mismatch !== undefined) {
      throw new SourceUnavailableError(`alarm ${name} in ${where} does not match the alert: ${mismatch}; nothing read for it`);
    }
    const arn = definition.alarm.AlarmArn ?? `arn:aws:cloudwatch:${region}::alarm:${name}`;
    const accountId = parseArn(arn)?.accountId ?? input.scope.accountId ?? '';
    const verified: VerifiedAlarm = { name, arn, region, accountId, kind: definition.kind };
    if (definition.kind === 'metric') verified.metricAlarm = definition.alarm;
    else {
      const rule = definition.alarm.AlarmRule ?? '';
      const children = await childrenInAlarm(input, rule, accountId, options);
      verified.composite = { rule, childrenInAlarm: children.names };
      if (children.metricAlarm !== undefined) verified.metricAlarm = children.metricAlarm;
    }
    const allowlist = input.scope.resources;
    if (allowlist.length > 0 && verified.metricAlarm !== undefined) {
      const outside = resourceNames(verified.metricAlarm).find((resource) => !matchesAllowlist(resource, allowlist));
      if (outside !== undefined) {
        throw new SourceUnavailableError(
          `alarm ${name} watches ${outside}, not among the resources this service's mapping allows; nothing read for it`,
        );
      }
    }
    return verified;
  },
};
