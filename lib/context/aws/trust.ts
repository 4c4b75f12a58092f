import type { CompositeAlarm, MetricAlarm } from '@aws-sdk/client-cloudwatch';
import type { NormalisedAlert } from '../evidence';
import { parseArn } from '../alert/regions';

/**
 * What an alert may and may not decide about the AWS reads (issue 19: alert text is a claim, not an instruction).
 * Whoever can send an alert into PagerDuty writes its details: the region, account, alarm, dimensions and times in it
 * are compared with what the agent knows (the service's mapping, the alarm's own definition, PagerDuty's incident
 * times) and followed only where they agree. Pure functions; the AWS reads are in alarm-definition.ts.
 */

/** The trigger a monitor claims is used only this close to PagerDuty's own incident creation time. */
export const MAX_TRIGGER_CLAIM_SKEW_MS = 15 * 60_000;

export interface TrustedTrigger {
  at: Date;
  /** Set when the alert's own time was not used: the sentence says why. */
  notFollowed?: string;
}

const minutesOrDays = (ms: number): string => {
  const minutes = Math.round(ms / 60_000);
  return minutes < 48 * 60 ? `${minutes} min` : `${Math.round(minutes / (24 * 60))} days`;
};

/**
 * The time the AWS windows are built around: the alert's state-change time when it lies within 15 minutes of the
 * incident's `created_at` (PagerDuty's, not the sender's), else `created_at` itself.
 */
export function trustedTriggerTime(claimed: string | undefined, incidentCreatedAt: string): TrustedTrigger {
  const created = new Date(incidentCreatedAt);
  if (claimed === undefined) return { at: created };
  const at = Date.parse(claimed);
  if (Number.isNaN(at))
    return { at: created, notFollowed: `the alert's trigger time is not a time; the window is built from the incident's creation` };
  const skew = at - created.getTime();
  if (Math.abs(skew) <= MAX_TRIGGER_CLAIM_SKEW_MS) return { at: new Date(at) };
  const side = skew < 0 ? 'before' : 'after';
  return {
    at: created,
    notFollowed: `the alert's trigger time ${new Date(at).toISOString()} is ${minutesOrDays(Math.abs(skew))} ${side} the incident's creation; the window uses the creation`,
  };
}

/** An allowlist entry matches a name exactly, or as a prefix when it ends with `*`. */
export function matchesAllowlist(name: string, entries: readonly string[]): boolean {
  return entries.some((entry) => (entry.endsWith('*') ? name.startsWith(entry.slice(0, -1)) : name === entry));
}

/** Entries written as prefixes (`checkout-*`) bound reads; they name no resource CloudTrail could look up. */
export const isPrefixEntry = (entry: string): boolean => entry.endsWith('*');

export type AlarmDefinition = { kind: 'metric'; alarm: MetricAlarm } | { kind: 'composite'; alarm: CompositeAlarm };

/** Dimensions the alert reader adds from outside the metric (a composite's triggering child), never compared. */
const READER_ADDED_DIMENSIONS = new Set(['TriggeringChild']);

/**
 * Where the alert and the definition disagree, as a sentence; undefined when every claim the alert makes that the
 * definition can check (alarm ARN, region, account, metric, dimensions) agrees with it.
 */
export function definitionMismatch(alert: NormalisedAlert, definition: AlarmDefinition): string | undefined {
  const arn = definition.alarm.AlarmArn ?? '';
  const actual = parseArn(arn);
  if (alert.alarmArn !== undefined && alert.alarmArn !== arn) return `the alert's alarm ARN is not the alarm's (${arn})`;
  if (alert.region !== undefined && actual?.region !== undefined && alert.region !== actual.region) {
    return `the alert names region ${alert.region}, the alarm is in ${actual.region}`;
  }
  if (alert.accountId !== undefined && actual?.accountId !== undefined && alert.accountId !== actual.accountId) {
    return `the alert names account ${alert.accountId}, the alarm is in ${actual.accountId}`;
  }
  if (definition.kind === 'composite') return undefined;
  const alarm = definition.alarm;
  const metric = alert.metric;
  if (metric !== undefined && metric.expression === undefined && alarm.MetricName !== undefined) {
    if (metric.name !== alarm.MetricName || (metric.namespace !== undefined && metric.namespace !== alarm.Namespace)) {
      return `the alert names metric ${metric.namespace ?? ''} ${metric.name}, the alarm watches ${alarm.Namespace ?? ''} ${alarm.MetricName}`.replace(
        /\s+/g,
        ' ',
      );
    }
  }
  const defined = definedDimensions(alarm);
  for (const [name, value] of Object.entries(alert.resource?.dimensions ?? {})) {
    if (READER_ADDED_DIMENSIONS.has(name)) continue;
    if (defined[name] !== value) {
      return defined[name] === undefined
        ? `the alert names dimension ${name}, which the alarm does not have`
        : `the alert names ${name} ${value}, the alarm watches ${defined[name]}`;
    }
  }
  return undefined;
}

/** The dimensions of a metric alarm: its own, or those of the metric-math query's metrics (the first of each name). */
export function definedDimensions(alarm: MetricAlarm): Record<string, string> {
  const dimensions: Record<string, string> = {};
  const lists = [alarm.Dimensions ?? [], ...(alarm.Metrics ?? []).map((query) => query.MetricStat?.Metric?.Dimensions ?? [])];
  for (const list of lists) {
    for (const { Name, Value } of list) if (Name !== undefined && Value !== undefined && !(Name in dimensions)) dimensions[Name] = Value;
  }
  return dimensions;
}

/**
 * The alarms a composite alarm's rule names (`ALARM("checkout-errors") OR ALARM(arn:…:alarm:db-cpu)`), by name, in
 * the order written; an ARN of another account is left out (the read role cannot describe it).
 */
export function ruleAlarmNames(rule: string, accountId: string | undefined): string[] {
  const names: string[] = [];
  for (const match of rule.matchAll(/\b(?:ALARM|OK|INSUFFICIENT_DATA)\s*\(\s*(?:"([^"]+)"|'([^']+)'|([^)\s]+))\s*\)/g)) {
    const reference = match[1] ?? match[2] ?? match[3] ?? '';
    const arn = reference.startsWith('arn:') ? parseArn(reference) : undefined;
    if (arn !== undefined && accountId !== undefined && arn.accountId !== undefined && arn.accountId !== accountId) continue;
    const name = arn === undefined ? reference : reference.slice(reference.indexOf(':alarm:') + ':alarm:'.length);
    if (name !== '' && !names.includes(name)) names.push(name);
  }
  return names;
}
