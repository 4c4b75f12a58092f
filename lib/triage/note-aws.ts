import type { AlarmHistorySummary, AwsContext, AwsContextSource, ChangeRecord, LogSurge, MetricBehaviour } from '../context/evidence';
import { clockTime, measure, quoted, relativeToTrigger, shown, unavailableEntry } from './note-text';
import { agentText, itemText, linkLine, type NoteText, type VouchedLinks } from './plain-text';
import { describeMovement } from './analysers/metric-movement';
import { oneLine, timeOf } from './text';

/**
 * The note's sections on what the AWS providers found: how the metric behaved, what changed before the trigger, the
 * errors new in the logs, and how often the alarm fired. A console page is shown, on its own line under the line it
 * belongs to, only when `VouchedLinks` vouches for it (AWS console hosts, built by the agent's providers, short enough
 * to tap); any other URL is left out.
 */

const MAX_CHANGES = 5;
const MAX_LOG_SURGES = 3;
const MAX_LABEL = 100;
const MAX_SUMMARY = 160;
const MAX_NAME = 80;
const MAX_LOG_LINE = 240;
const MAX_CLAIM = 280;

/** The line, then the console page's URL on a line of its own when one is vouched for. */
function withConsoleLink(line: NoteText, links: VouchedLinks, ...urls: (string | undefined)[]): NoteText[] {
  const vouched = urls.map((url) => links.vouch(url)).find((url) => url !== undefined);
  return vouched === undefined ? [line] : [line, linkLine(vouched)];
}

function whenCrossed(metric: MetricBehaviour): NoteText {
  const at = clockTime(metric.crossedAt);
  return at === undefined ? agentText`` : agentText` at ${at}`;
}

function fromTo(metric: MetricBehaviour): NoteText {
  const from = metric.baseline === undefined ? agentText`` : agentText` from ${measure(metric.baseline, metric.unit)}`;
  const to = metric.latest === undefined ? agentText`` : agentText` to ${measure(metric.latest, metric.unit)}`;
  return agentText`${from}${to}`;
}

/** Where a climb or drop is heading: the rate, the latest value, and when capacity runs out at that rate. */
function trend(metric: MetricBehaviour, verb: NoteText, exhausted: NoteText): NoteText {
  const rate =
    metric.ratePerMinute === undefined
      ? agentText`${verb}${fromTo(metric)}`
      : agentText`${verb} ${measure(Math.abs(metric.ratePerMinute), metric.unit)}/min`;
  const now =
    metric.ratePerMinute !== undefined && metric.latest !== undefined
      ? agentText`, now ${measure(metric.latest, metric.unit)}`
      : agentText``;
  const minutes = metric.minutesToExhaustion;
  const eta =
    minutes === undefined || !Number.isFinite(minutes)
      ? agentText``
      : agentText`; ${exhausted} in about ${Math.max(0, Math.round(minutes))} min at this rate`;
  const crossed = metric.crossedAt === undefined ? agentText`` : agentText`; crossed the threshold${whenCrossed(metric)}`;
  return agentText`${rate}${now}${eta}${crossed}`;
}

/** The metric's shape in words: "stepped up from 0.2 to 14 at 03:12 UTC", "climbing 1.3%/min; full in about 38 min". */
export function metricShapeInWords(metric: MetricBehaviour): NoteText {
  // A step or a spike the change-point analysis placed reads as the analysers tell it: when, and from what to what.
  const placed =
    (metric.levelChange !== undefined && (metric.shape === 'step' || metric.shape === 'drop')) ||
    (metric.excursion !== undefined && metric.shape === 'spike');
  const movement = placed ? describeMovement(metric, Number.NaN, { relativeToTrigger: false, zoneSuffix: ' UTC' }) : undefined;
  if (movement !== undefined) return shown(movement, 200);
  const latest = metric.latest === undefined ? agentText`` : agentText` at ${measure(metric.latest, metric.unit)}`;
  switch (metric.shape) {
    case 'step': {
      const down = metric.latest !== undefined && metric.baseline !== undefined && metric.latest < metric.baseline;
      return agentText`${down ? agentText`stepped down` : agentText`stepped up`}${fromTo(metric)}${whenCrossed(metric)}`;
    }
    case 'spike':
      return agentText`spiked${fromTo(metric)}${whenCrossed(metric)}`;
    case 'climb':
      return trend(metric, agentText`climbing`, agentText`full`);
    case 'drop':
      return trend(metric, agentText`dropping`, agentText`exhausted`);
    case 'steady':
      return agentText`steady${latest}`;
    case 'noisy':
      return agentText`noisy, latest${latest}`;
    case 'no-data':
      return agentText`sent no data in the window`;
  }
}

/**
 * The metric's line, with the alarm's page when there is one (it graphs the metric against its threshold, in a URL a
 * phone can open) rather than a metrics-explorer query hundreds of characters long.
 */
export function metricSection(metric: MetricBehaviour | undefined, links: VouchedLinks, alarmUrl?: string): NoteText[] {
  if (metric === undefined) return [];
  const sparkline = shown(metric.sparkline, 60);
  const line = agentText`- ${itemText(metric.metricLabel, MAX_LABEL)} ${metricShapeInWords(metric)}${sparkline === '' ? agentText`` : agentText` ${sparkline}`}`;
  return withConsoleLink(line, links, alarmUrl, metric.consoleUrl);
}

const CHANGE_SOURCES: Record<ChangeRecord['source'], NoteText> = {
  cloudtrail: agentText`CloudTrail`,
  pagerduty: agentText`PagerDuty change event`,
};

function changeLines(change: ChangeRecord, trigger: number, links: VouchedLinks): NoteText[] {
  const at = timeOf(change.at);
  const clock = clockTime(change.at) ?? agentText`time unknown`;
  const target = change.target === undefined ? agentText`` : agentText` on ${shown(change.target, MAX_NAME)}`;
  const who = change.who === undefined ? agentText`` : agentText` by ${shown(change.who, MAX_NAME)}`;
  const summary = oneLine(change.summary) === '' ? agentText`` : agentText`: ${links.quoted(change.summary, MAX_SUMMARY)}`;
  const marked = change.onAlarmedResource ? agentText`, on the alarmed resource` : agentText``;
  const line = agentText`- ${clock}, ${relativeToTrigger(at, trigger)}: ${shown(change.action, 60)}${target}${who} (${CHANGE_SOURCES[change.source]}${marked})${summary}`;
  return change.source === 'cloudtrail' ? withConsoleLink(line, links, change.link) : [line];
}

/**
 * The changes most likely to matter (on the alarmed resource first, then closest to the trigger), as a timeline
 * with the newest last.
 */
export function changesSection(changes: readonly ChangeRecord[], trigger: number, links: VouchedLinks): NoteText[] {
  if (changes.length === 0) return [];
  const distance = (change: ChangeRecord): number => {
    const at = timeOf(change.at);
    return Number.isFinite(at) ? Math.abs(trigger - at) : Number.POSITIVE_INFINITY;
  };
  const chosen = [...changes]
    .sort((a, b) => Number(b.onAlarmedResource) - Number(a.onAlarmedResource) || distance(a) - distance(b))
    .slice(0, MAX_CHANGES)
    .sort((a, b) => (timeOf(a.at) || 0) - (timeOf(b.at) || 0));
  const lines = chosen.flatMap((change) => changeLines(change, trigger, links));
  if (changes.length > MAX_CHANGES) lines.push(agentText`- …and ${changes.length - MAX_CHANGES} more`);
  return lines;
}

function surgeLines(surge: LogSurge, links: VouchedLinks): NoteText[] {
  const kind = surge.isNew ? agentText`new` : agentText`surging`;
  const line = oneLine(surge.example) === '' ? surge.signature : surge.example;
  const first = clockTime(surge.firstSeenAt);
  const since = first === undefined ? agentText`` : agentText`, first at ${first}`;
  const counts = agentText`${surge.countRecent} recently vs ${surge.countBefore} before`;
  return withConsoleLink(
    agentText`- ${kind}: ${quoted(line, MAX_LOG_LINE)} in ${shown(surge.logGroup, MAX_LABEL)}, ${counts}${since}`,
    links,
    surge.consoleUrl,
  );
}

/** The new errors first, then the most frequent. */
export function logsSection(surges: readonly LogSurge[], links: VouchedLinks): NoteText[] {
  return [...surges]
    .sort((a, b) => Number(b.isNew) - Number(a.isNew) || b.countRecent - a.countRecent)
    .slice(0, MAX_LOG_SURGES)
    .flatMap((surge) => surgeLines(surge, links));
}

/**
 * A line when the alarm fired more than once in a day (once is this page), otherwise nothing; with the alarm's page
 * unless the metric's line already shows it.
 */
export function alarmHistoryLines(alarm: AlarmHistorySummary | undefined, links: VouchedLinks, pageShownAbove: boolean): NoteText[] {
  if (alarm === undefined || alarm.alarmsLast24h <= 1) return [];
  const flips = alarm.flipsLast24h > alarm.alarmsLast24h ? agentText` (${alarm.flipsLast24h} state changes)` : agentText``;
  const line = agentText`- This alarm went into ALARM ${alarm.alarmsLast24h} times in the last 24 h${flips}.`;
  return pageShownAbove ? [line] : withConsoleLink(line, links, alarm.consoleUrl);
}

const AWS_SOURCE_LABELS: Record<AwsContextSource, NoteText> = {
  alarm: agentText`alarm history`,
  metric: agentText`metric data`,
  changes: agentText`CloudTrail changes`,
  logs: agentText`logs`,
};

/** The AWS sources the providers could not read, with their reasons, as the note's "unavailable" entries. */
export function awsUnavailable(aws: AwsContext | undefined): NoteText[] {
  return (aws?.unavailable ?? []).map((entry) =>
    unavailableEntry(
      Object.hasOwn(AWS_SOURCE_LABELS, entry.source) ? AWS_SOURCE_LABELS[entry.source] : shown(entry.source, 30),
      entry.reason,
    ),
  );
}

/**
 * What the alert claimed that the agent did not follow (another region or account, a far-off time, an alarm whose
 * definition does not match): one line each, whole, since they are why some context is missing.
 */
export function claimsNotFollowedLines(aws: AwsContext | undefined): NoteText[] {
  return (aws?.notFollowed ?? []).map((claim) => agentText`- ${quoted(claim, MAX_CLAIM)}`);
}
