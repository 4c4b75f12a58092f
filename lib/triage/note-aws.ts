import type { AlarmHistorySummary, AwsContext, AwsContextSource, ChangeRecord, LogSurge, MetricBehaviour } from '../context/evidence';
import { agentMd, link, type Markdown, type VouchedLinks } from './markdown';
import { clockTime, measure, relativeToTrigger, shown, shownAsCode, unavailableEntry } from './note-text';
import { oneLine, timeOf } from './text';

/**
 * The note's sections on what the AWS providers found: how the metric behaved, what changed before the trigger, the
 * errors new in the logs, and how often the alarm fired. Console links are links only when `VouchedLinks` vouches
 * for them (AWS console hosts, built by the agent's providers); any other URL is left out.
 */

const MAX_CHANGES = 5;
const MAX_LOG_SURGES = 3;
const MAX_LABEL = 100;
const MAX_SUMMARY = 160;
const MAX_NAME = 80;
const MAX_LOG_LINE = 240;

function consoleLink(url: string | undefined, links: VouchedLinks, label: Markdown): Markdown {
  const vouched = links.vouch(url);
  return vouched === undefined ? agentMd`` : agentMd` (${link(label, vouched)})`;
}

function whenCrossed(metric: MetricBehaviour): Markdown {
  const at = clockTime(metric.crossedAt);
  return at === undefined ? agentMd`` : agentMd` at ${at}`;
}

function fromTo(metric: MetricBehaviour): Markdown {
  const from = metric.baseline === undefined ? agentMd`` : agentMd` from ${measure(metric.baseline, metric.unit)}`;
  const to = metric.latest === undefined ? agentMd`` : agentMd` to ${measure(metric.latest, metric.unit)}`;
  return agentMd`${from}${to}`;
}

/** Where a climb or drop is heading: the rate, the latest value, and when capacity runs out at that rate. */
function trend(metric: MetricBehaviour, verb: Markdown, exhausted: Markdown): Markdown {
  const rate =
    metric.ratePerMinute === undefined
      ? agentMd`${verb}${fromTo(metric)}`
      : agentMd`${verb} ${measure(Math.abs(metric.ratePerMinute), metric.unit)}/min`;
  const now =
    metric.ratePerMinute !== undefined && metric.latest !== undefined ? agentMd`, now ${measure(metric.latest, metric.unit)}` : agentMd``;
  const minutes = metric.minutesToExhaustion;
  const eta =
    minutes === undefined || !Number.isFinite(minutes)
      ? agentMd``
      : agentMd`; ${exhausted} in about ${Math.max(0, Math.round(minutes))} min at this rate`;
  const crossed = metric.crossedAt === undefined ? agentMd`` : agentMd`; crossed the threshold${whenCrossed(metric)}`;
  return agentMd`${rate}${now}${eta}${crossed}`;
}

/** The metric's shape in words: "stepped up from 0.2 to 14 at 03:12 UTC", "climbing 1.3%/min; full in about 38 min". */
export function metricShapeInWords(metric: MetricBehaviour): Markdown {
  const latest = metric.latest === undefined ? agentMd`` : agentMd` at ${measure(metric.latest, metric.unit)}`;
  switch (metric.shape) {
    case 'step': {
      const down = metric.latest !== undefined && metric.baseline !== undefined && metric.latest < metric.baseline;
      return agentMd`${down ? agentMd`stepped down` : agentMd`stepped up`}${fromTo(metric)}${whenCrossed(metric)}`;
    }
    case 'spike':
      return agentMd`spiked${fromTo(metric)}${whenCrossed(metric)}`;
    case 'climb':
      return trend(metric, agentMd`climbing`, agentMd`full`);
    case 'drop':
      return trend(metric, agentMd`dropping`, agentMd`exhausted`);
    case 'steady':
      return agentMd`steady${latest}`;
    case 'noisy':
      return agentMd`noisy, latest${latest}`;
    case 'no-data':
      return agentMd`sent no data in the window`;
  }
}

export function metricSection(metric: MetricBehaviour | undefined, links: VouchedLinks): Markdown[] {
  if (metric === undefined) return [];
  const sparkline = shownAsCode(metric.sparkline, 60);
  return [
    agentMd`- ${shown(metric.metricLabel, MAX_LABEL)} ${metricShapeInWords(metric)}${sparkline === '' ? agentMd`` : agentMd` ${sparkline}`}${consoleLink(metric.consoleUrl, links, agentMd`open in CloudWatch`)}`,
  ];
}

const CHANGE_SOURCES: Record<ChangeRecord['source'], Markdown> = {
  cloudtrail: agentMd`CloudTrail`,
  pagerduty: agentMd`PagerDuty change event`,
};

function changeLine(change: ChangeRecord, trigger: number, links: VouchedLinks): Markdown {
  const at = timeOf(change.at);
  const clock = clockTime(change.at) ?? agentMd`time unknown`;
  const target = change.target === undefined ? agentMd`` : agentMd` on ${shown(change.target, MAX_NAME)}`;
  const who = change.who === undefined ? agentMd`` : agentMd` by ${shown(change.who, MAX_NAME)}`;
  const summary = oneLine(change.summary) === '' ? agentMd`` : agentMd` — ${shown(change.summary, MAX_SUMMARY)}`;
  const marked = change.onAlarmedResource ? agentMd` · **on the alarmed resource**` : agentMd``;
  const linked = consoleLink(change.link, links, agentMd`event`);
  return agentMd`- ${clock}, ${relativeToTrigger(at, trigger)}: ${shownAsCode(change.action, 60)}${target}${who} (${CHANGE_SOURCES[change.source]})${summary}${marked}${linked}`;
}

/**
 * The changes most likely to matter (on the alarmed resource first, then closest to the trigger), as a timeline
 * with the newest last.
 */
export function changesSection(changes: readonly ChangeRecord[], trigger: number, links: VouchedLinks): Markdown[] {
  if (changes.length === 0) return [];
  const distance = (change: ChangeRecord): number => {
    const at = timeOf(change.at);
    return Number.isFinite(at) ? Math.abs(trigger - at) : Number.POSITIVE_INFINITY;
  };
  const chosen = [...changes]
    .sort((a, b) => Number(b.onAlarmedResource) - Number(a.onAlarmedResource) || distance(a) - distance(b))
    .slice(0, MAX_CHANGES)
    .sort((a, b) => (timeOf(a.at) || 0) - (timeOf(b.at) || 0));
  const lines = chosen.map((change) => changeLine(change, trigger, links));
  if (changes.length > MAX_CHANGES) lines.push(agentMd`- …and ${changes.length - MAX_CHANGES} more`);
  return lines;
}

function surgeLine(surge: LogSurge, links: VouchedLinks): Markdown {
  const kind = surge.isNew ? agentMd`**new**` : agentMd`surging`;
  const line = oneLine(surge.example) === '' ? surge.signature : surge.example;
  const first = clockTime(surge.firstSeenAt);
  const since = first === undefined ? agentMd`` : agentMd`, first at ${first}`;
  const counts = agentMd`${surge.countRecent} recently vs ${surge.countBefore} before`;
  return agentMd`- ${kind} ${shownAsCode(line, MAX_LOG_LINE)} in ${shown(surge.logGroup, MAX_LABEL)}: ${counts}${since}${consoleLink(surge.consoleUrl, links, agentMd`open in CloudWatch Logs`)}`;
}

/** The new errors first, then the most frequent. */
export function logsSection(surges: readonly LogSurge[], links: VouchedLinks): Markdown[] {
  return [...surges]
    .sort((a, b) => Number(b.isNew) - Number(a.isNew) || b.countRecent - a.countRecent)
    .slice(0, MAX_LOG_SURGES)
    .map((surge) => surgeLine(surge, links));
}

/** One line when the alarm fired more than once in a day (once is this page), otherwise nothing. */
export function alarmHistoryLine(alarm: AlarmHistorySummary | undefined, links: VouchedLinks): Markdown | undefined {
  if (alarm === undefined || alarm.alarmsLast24h <= 1) return undefined;
  const flips = alarm.flipsLast24h > alarm.alarmsLast24h ? agentMd` (${alarm.flipsLast24h} state changes)` : agentMd``;
  return agentMd`This alarm went into ALARM ${alarm.alarmsLast24h} times in the last 24 h${flips}${consoleLink(alarm.consoleUrl, links, agentMd`history`)}.`;
}

const AWS_SOURCE_LABELS: Record<AwsContextSource, Markdown> = {
  alarm: agentMd`alarm history`,
  metric: agentMd`metric data`,
  changes: agentMd`CloudTrail changes`,
  logs: agentMd`logs`,
};

/** The AWS sources the providers could not read, with their reasons, as the note's "unavailable" entries. */
export function awsUnavailable(aws: AwsContext | undefined): Markdown[] {
  return (aws?.unavailable ?? [])
    .map((entry) =>
      unavailableEntry(
        Object.hasOwn(AWS_SOURCE_LABELS, entry.source) ? AWS_SOURCE_LABELS[entry.source] : shown(entry.source, 30),
        entry.reason,
      ),
    )
    .concat((aws?.notFollowed ?? []).map((claim) => unavailableEntry(agentMd`alert claim not followed`, claim)));
}
