import type { Comparison, NormalisedAlert } from '../context/evidence';
import { MONITOR_LABELS } from './analysers/alert-details';
import { clockTime, measure, quoted, shown } from './note-text';
import { agentText, itemText, joinText, type NoteText, type VouchedLinks } from './plain-text';
import { oneLine } from './text';

/**
 * "What the alert says": the monitor's own account of the condition (which alarm, which metric against which
 * threshold, on which resource, where), then the details it carried that tell the on-call the most and are not
 * already shown.
 */

const MAX_NAME = 120;
const MAX_RESOURCE = 200;
const MAX_DIMENSIONS = 5;
const MAX_DETAILS = 3;
/** Below this a detail only identifies the notification (times, ids, signatures, empty values): not worth a line. */
const MIN_DETAIL_SCORE = 0.25;
const MAX_DETAIL_KEY = 60;
const MAX_DETAIL_VALUE = 200;

const COMPARISON_WORDS: Record<Comparison, NoteText> = {
  '>': agentText`>`,
  '>=': agentText`≥`,
  '<': agentText`<`,
  '<=': agentText`≤`,
  'outside-band': agentText`outside the band of`,
  other: agentText`at`,
};

function headline(alert: NormalisedAlert): NoteText {
  const name = alert.name === undefined ? agentText`` : agentText` ${quoted(alert.name, MAX_NAME)}`;
  const state = alert.state === undefined || oneLine(alert.state) === '' ? agentText`` : agentText` is ${shown(alert.state, 30)}`;
  return agentText`${shown(MONITOR_LABELS[alert.monitor], 60)}${name}${state}`;
}

function condition(alert: NormalisedAlert): NoteText | undefined {
  const parts: NoteText[] = [];
  const { metric, threshold, observed } = alert;
  if (metric !== undefined) {
    const namespace = metric.namespace === undefined ? agentText`` : agentText`${shown(metric.namespace, 60)} `;
    const statistic = metric.statistic === undefined ? agentText`` : agentText`, ${shown(metric.statistic, 30)}`;
    const period = metric.periodSeconds === undefined ? agentText`` : agentText` over ${metric.periodSeconds} s`;
    const expression = metric.expression === undefined ? agentText`` : agentText` (${quoted(metric.expression, MAX_RESOURCE)})`;
    parts.push(agentText`${namespace}${shown(metric.name, 100)}${expression}${statistic}${period}`);
  }
  if (threshold !== undefined)
    parts.push(agentText`threshold ${COMPARISON_WORDS[threshold.comparison]} ${measure(threshold.value, metric?.unit)}`);
  if (observed !== undefined) {
    const at = clockTime(observed.at);
    parts.push(agentText`observed ${measure(observed.value, metric?.unit)}${at === undefined ? agentText`` : agentText` at ${at}`}`);
  }
  return parts.length === 0 ? undefined : joinText(parts, agentText`; `);
}

function resource(alert: NormalisedAlert): NoteText | undefined {
  const parts: NoteText[] = [];
  const dimensions = Object.entries(alert.resource?.dimensions ?? {});
  if (alert.resource?.arn !== undefined) parts.push(shown(alert.resource.arn, MAX_RESOURCE));
  else if (dimensions.length > 0) {
    const shownDimensions = dimensions.slice(0, MAX_DIMENSIONS).map(([name, value]) => agentText`${shown(name, 40)}=${shown(value, 80)}`);
    const more = dimensions.length > MAX_DIMENSIONS ? agentText` and ${dimensions.length - MAX_DIMENSIONS} more` : agentText``;
    parts.push(agentText`${joinText(shownDimensions, agentText`, `)}${more}`);
  }
  if (alert.region !== undefined) parts.push(agentText`region ${shown(alert.region, 30)}`);
  if (alert.accountId !== undefined) parts.push(agentText`account ${shown(alert.accountId, 30)}`);
  return parts.length === 0 ? undefined : joinText(parts, agentText` · `);
}

/** The values the lines above already show, so a detail repeating one of them is not shown twice. */
function valuesShown(alert: NormalisedAlert): Set<string> {
  const values = [
    alert.name,
    alert.state,
    alert.metric?.namespace,
    alert.metric?.name,
    alert.metric?.statistic,
    alert.metric?.expression,
    alert.resource?.arn,
    ...Object.entries(alert.resource?.dimensions ?? {}).flat(),
    alert.region,
    alert.accountId,
    alert.alarmArn,
    alert.triggeredAt,
    alert.observed?.at,
    alert.sourceUrl,
    alert.threshold === undefined ? undefined : String(alert.threshold.value),
    alert.observed === undefined ? undefined : String(alert.observed.value),
  ];
  return new Set(values.filter((value): value is string => value !== undefined).map(oneLine));
}

/** Keys of details that the metric and resource lines already say in words (`GreaterThanThreshold`, `EU (Ireland)`). */
function keysShown(alert: NormalisedAlert): RegExp | undefined {
  const words = [
    ...(alert.metric !== undefined || alert.threshold !== undefined
      ? ['comparison', 'operator', 'statistic', 'period', 'threshold', 'unit']
      : []),
    ...(alert.region !== undefined ? ['region'] : []),
  ];
  return words.length === 0 ? undefined : new RegExp(`(${words.join('|')})`, 'i');
}

/** The last segment of a flattened key (`Trigger.Threshold` → `Threshold`), bounded: keys are outside text of any length. */
const lastKeySegment = (key: string): string => key.slice(key.lastIndexOf('.') + 1).slice(0, 100);

function tellingDetails(alert: NormalisedAlert, links: VouchedLinks): NoteText[] {
  const already = valuesShown(alert);
  const shownKey = keysShown(alert);
  return [...alert.details]
    .sort((a, b) => b.score - a.score)
    .filter(
      (detail) =>
        detail.score >= MIN_DETAIL_SCORE &&
        !already.has(oneLine(detail.value)) &&
        (shownKey === undefined || !shownKey.test(lastKeySegment(detail.key))),
    )
    .slice(0, MAX_DETAILS)
    .map((detail) => agentText`- ${itemText(detail.key, MAX_DETAIL_KEY)}: ${links.quoted(detail.value, MAX_DETAIL_VALUE)}`);
}

/** The section's lines, or none when the alert says nothing beyond which monitor sent it. */
export function alertSection(alert: NormalisedAlert | undefined, links: VouchedLinks): NoteText[] {
  if (alert === undefined) return [];
  const lines: NoteText[] = [];
  const what = condition(alert);
  const where = resource(alert);
  const details = tellingDetails(alert, links);
  if (what === undefined && where === undefined && details.length === 0 && alert.name === undefined) return [];
  lines.push(agentText`- ${headline(alert)}`);
  if (what !== undefined) lines.push(agentText`- Metric: ${what}`);
  if (where !== undefined) lines.push(agentText`- On ${where}`);
  return [...lines, ...details];
}
