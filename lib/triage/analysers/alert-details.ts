import { normaliseAlert, understandAlerts } from '../../context/alert';
import type { NormalisedAlert } from '../../context/evidence';
import type { Alert } from '../../pagerduty/types';
import type { Evidence, Finding, IncidentContext } from '../types';
import { oneLine, truncate } from '../text';
import { describeNotRead, type Analyser } from './analyser';

const ANALYSER = 'alert-details';
const MAX_ALERTS_DESCRIBED = 3;
const MAX_FIELDS_PER_ALERT = 8;
const MAX_VALUE_LENGTH = 160;
/** Details scored below this (timestamps, ids, signatures, empty values) are not worth a line in the note. */
const MIN_SHOWN_SCORE = 0.3;
/** A detail this telling (a value near its limit with the resource, a state reason with an error) names the problem. */
const TELLING_SCORE = 0.8;
/** What the alert itself says explains the page only weakly: it is the symptom, not the cause. */
const ALERT_DETAIL_WEIGHT = 0.2;

export const MONITOR_LABELS: Record<NormalisedAlert['monitor'], string> = {
  cloudwatch: 'CloudWatch alarm',
  datadog: 'Datadog monitor',
  prometheus: 'Prometheus alert',
  grafana: 'Grafana alert',
  newrelic: 'New Relic condition',
  generic: 'Alert',
};

/** The alert's details to show, most telling first (every detail is ranked, not only known keys), bounded. */
export function salientFields(alert: Alert): [string, string][] {
  return normaliseAlert(alert)
    .details.filter((detail) => detail.score >= MIN_SHOWN_SCORE)
    .slice(0, MAX_FIELDS_PER_ALERT)
    .map(({ key, value }) => [truncate(key, 60), truncate(oneLine(value), MAX_VALUE_LENGTH)]);
}

function countBy(values: string[]): string {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts].map(([value, count]) => (count > 1 ? `${value} ×${count}` : value)).join(', ');
}

function describe(alert: Alert): Evidence {
  const fields = salientFields(alert).map(([key, value]) => `${key}=${value}`);
  const head = `Alert "${truncate(oneLine(alert.summary), 120)}" (${alert.status}${alert.severity ? `, ${alert.severity}` : ''})`;
  const evidence: Evidence = { source: ANALYSER, text: fields.length > 0 ? `${head}: ${fields.join('; ')}` : head };
  if (alert.html_url) evidence.link = alert.html_url;
  return evidence;
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Math.round(value * 1000) / 1000);
}

/** "CloudWatch alarm cpu-high (ALARM): CPUUtilization 99.5 > 50 on InstanceId=i-0abc, us-east-1", or undefined. */
export function describeNormalised(alert: NormalisedAlert): string | undefined {
  const parts: string[] = [];
  const metric = alert.metric?.name;
  const observed = alert.observed === undefined ? undefined : formatNumber(alert.observed.value);
  const threshold = alert.threshold === undefined ? undefined : `${alert.threshold.comparison} ${formatNumber(alert.threshold.value)}`;
  const condition = [metric, observed, threshold].filter((part): part is string => part !== undefined).join(' ');
  if (condition !== '') parts.push(condition);
  const dimensions = Object.entries(alert.resource?.dimensions ?? {})
    .slice(0, 3)
    .map(([name, value]) => `${name}=${truncate(oneLine(value), 80)}`);
  if (alert.resource?.arn !== undefined) parts.push(`on ${truncate(alert.resource.arn, 160)}`);
  else if (dimensions.length > 0) parts.push(`on ${dimensions.join(', ')}`);
  if (alert.region !== undefined) parts.push(`in ${alert.region}${alert.accountId ? ` (account ${alert.accountId})` : ''}`);
  if (parts.length === 0) return undefined;
  const name = alert.name === undefined ? '' : ` ${truncate(oneLine(alert.name), 100)}`;
  const state = alert.state === undefined ? '' : ` (${truncate(oneLine(alert.state), 30)})`;
  return `${MONITOR_LABELS[alert.monitor]}${name}${state}: ${parts.join(' ')}`;
}

/** The threshold is crossed in the direction the monitor watches. */
function crossed(alert: NormalisedAlert): boolean {
  if (alert.observed === undefined || alert.threshold === undefined) return false;
  const { value } = alert.observed;
  const limit = alert.threshold.value;
  switch (alert.threshold.comparison) {
    case '>':
      return value > limit;
    case '>=':
      return value >= limit;
    case '<':
      return value < limit;
    case '<=':
      return value <= limit;
    default:
      return true;
  }
}

/**
 * What the alerts say: how many, how severe, still firing or cleared, what the monitor measured against which
 * threshold on which resource, and every detail ranked by how telling it is. When the alert itself names the problem
 * (a threshold crossed, a detail such as a mount point 97% full) that is a weak explanation of its own, so the note
 * leads with it when nothing better is found.
 */
export const alertDetails: Analyser = (context: IncidentContext): Finding | null => {
  const { alerts } = context;
  if (alerts.length === 0) return null;
  const triggered = alerts.filter((alert) => alert.status === 'triggered').length;
  const severities = alerts
    .map((alert) => alert.severity)
    .filter((severity): severity is string => typeof severity === 'string' && severity !== '');
  const plural = alerts.length === 1 ? 'alert' : 'alerts';
  let counts = `${alerts.length} ${plural} (${triggered} triggered, ${alerts.length - triggered} resolved)`;
  if (severities.length > 0) counts += `; severities: ${countBy(severities)}`;
  const evidence: Evidence[] = [{ source: ANALYSER, text: counts }];

  const normalised = context.alert ?? understandAlerts(alerts);
  const condition = normalised === undefined ? undefined : describeNormalised(normalised);
  if (condition !== undefined)
    evidence.push({ source: ANALYSER, text: condition, ...(normalised?.sourceUrl ? { link: normalised.sourceUrl } : {}) });
  evidence.push(...alerts.slice(0, MAX_ALERTS_DESCRIBED).map(describe));
  if (alerts.length > MAX_ALERTS_DESCRIBED)
    evidence.push({ source: ANALYSER, text: `and ${alerts.length - MAX_ALERTS_DESCRIBED} more alerts` });
  if (context.alertsNotRead !== undefined && context.alertsNotRead !== 0)
    evidence.push({
      source: ANALYSER,
      text: `The agent read the first ${alerts.length} alerts only: ${describeNotRead(context.alertsNotRead)}`,
    });

  const top = normalised?.details[0];
  const telling = top !== undefined && top.score >= TELLING_SCORE;
  if (normalised === undefined || !(telling || crossed(normalised)))
    return { analyser: ANALYSER, summary: counts, weight: 0, evidence, nextSteps: [] };
  const says = telling ? `The alert says ${truncate(top.key, 60)}=${truncate(oneLine(top.value), 120)}` : (condition ?? counts);
  return {
    analyser: ANALYSER,
    summary: `${says}; nothing else found explains it yet`,
    weight: ALERT_DETAIL_WEIGHT,
    evidence,
    nextSteps: ['Start from what the alert names and look for what changed on that resource'],
    cause: 'alert-detail',
  };
};
