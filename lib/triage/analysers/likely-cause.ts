import type { TriagePolicy } from '../../config/agent-config';
import type { ChangeRecord, LogSurge, MetricBehaviour } from '../../context/evidence';
import type { Evidence, Finding, IncidentContext } from '../types';
import { humanDuration, oneLine, roundedForReading, timeOf, truncate } from '../text';
import { triggerTime } from '../trigger-time';
import type { Analyser } from './analyser';

/**
 * Weighs what the AWS providers found into one likely cause. Three sources are independent: a change on the alarmed
 * resource (CloudTrail, change events), how the metric behaved (a step or spike at the trigger, a climb towards
 * exhaustion), and errors that are new or surging in the resource's logs. The cause named is the source that started
 * first (a change explains a step and the errors that follow it); the confidence grows with every other source that
 * agrees in time and drops when they contradict each other (a change that came after the errors had begun).
 */

export const ANALYSER = 'likely-cause';
const MINUTE_MS = 60_000;
/** A metric step or the first new error this close after a change (or just before: clocks and periods) agrees with it. */
const AGREEMENT_AFTER_MS = 15 * MINUTE_MS;
const AGREEMENT_BEFORE_MS = 2 * MINUTE_MS;
/** A change not on the alarmed resource counts only this close before the trigger, and weaker. */
const NEARBY_CHANGE_WINDOW_MS = 30 * MINUTE_MS;
/** A log line counts as surging when it is at least this many times as frequent as before, and at least this often. */
const SURGE_FACTOR = 5;
const SURGE_MIN_COUNT = 10;

const WEIGHT = { oneSource: 0.5, nearbyChange: 0.35, perAgreeing: 0.2, contradicted: 0.35, max: 0.9 } as const;

interface Candidate {
  kind: 'change' | 'metric' | 'logs';
  /** When it started (ms), when known. */
  at?: number;
  headline: string;
  evidence: Evidence;
  nextStep: string;
  /** A nearby change, not on the alarmed resource. */
  weak?: boolean;
}

export function isSurging(surge: LogSurge): boolean {
  return surge.isNew || (surge.countRecent >= SURGE_MIN_COUNT && surge.countRecent >= SURGE_FACTOR * Math.max(1, surge.countBefore));
}

/** A name from outside (action, resource, log group) as one bounded line; the note renders it inert. */
function named(text: string, max: number): string {
  return truncate(oneLine(text), max);
}

function changeCandidate(change: ChangeRecord, trigger: number, weak: boolean): Candidate {
  const at = timeOf(change.at);
  const target = change.target === undefined ? '' : ` on ${named(change.target, 80)}`;
  const who = change.who === undefined ? '' : ` by ${truncate(oneLine(change.who), 80)}`;
  const when = `${humanDuration(trigger - at)} before the trigger`;
  const text = `${weak ? 'Nearby change' : 'Change on the alarmed resource'}: ${named(change.action, 60)}${target}${who} ${when} (${change.at}): ${truncate(oneLine(change.summary), 160)}`;
  return {
    kind: 'change',
    at,
    weak,
    headline: `${named(change.action, 60)}${target}${who} ${when}`,
    evidence: { source: ANALYSER, text, ...(change.link ? { link: change.link } : {}) },
    nextStep: `Check whether ${named(change.action, 60)}${target} caused this; roll it back or revert it if the timing and symptoms match`,
  };
}

function freshChange(context: IncidentContext, trigger: number, windowMs: number): Candidate | undefined {
  const inWindow = (change: ChangeRecord, window: number): boolean => {
    const before = trigger - timeOf(change.at);
    return before >= 0 && before <= window;
  };
  const byCloseness = (a: ChangeRecord, b: ChangeRecord): number => timeOf(b.at) - timeOf(a.at);
  const changes = context.aws?.changes ?? [];
  const onResource = changes.filter((change) => change.onAlarmedResource && inWindow(change, windowMs)).sort(byCloseness)[0];
  if (onResource !== undefined) return changeCandidate(onResource, trigger, false);
  const nearby = changes.filter((change) => !change.onAlarmedResource && inWindow(change, NEARBY_CHANGE_WINDOW_MS)).sort(byCloseness)[0];
  return nearby === undefined ? undefined : changeCandidate(nearby, trigger, true);
}

function number(value: number | undefined, unit: string | undefined): string {
  if (value === undefined) return '?';
  return `${roundedForReading(value)}${unit === undefined || unit === 'None' ? '' : unit === 'Percent' ? '%' : ` ${unit}`}`;
}

function metricCandidate(metric: MetricBehaviour): Candidate | undefined {
  const link = { link: metric.consoleUrl };
  const label = named(metric.metricLabel, 80);
  if ((metric.shape === 'climb' || metric.shape === 'drop') && metric.minutesToExhaustion !== undefined) {
    const direction = metric.shape === 'climb' ? 'climbing' : 'dropping';
    const rate = metric.ratePerMinute === undefined ? '' : ` ${direction} ${number(Math.abs(metric.ratePerMinute), metric.unit)}/min`;
    const headline = `capacity exhaustion: ${label}${rate}, at ${number(metric.latest, metric.unit)} and exhausted in about ${Math.max(0, Math.round(metric.minutesToExhaustion))} min`;
    return {
      kind: 'metric',
      ...(metric.crossedAt ? { at: timeOf(metric.crossedAt) } : {}),
      headline,
      evidence: { source: ANALYSER, text: `Metric ${label} ${metric.sparkline}: ${headline}`, ...link },
      nextStep: `Free or add capacity before ${label} is exhausted, then find what consumes it`,
    };
  }
  if (metric.shape !== 'step' && metric.shape !== 'spike') return undefined;
  const from = metric.baseline === undefined ? '' : ` from ${number(metric.baseline, metric.unit)}`;
  const crossed = metric.crossedAt === undefined ? '' : ` at ${metric.crossedAt}`;
  const headline = `a ${metric.shape} in ${label}${from} to ${number(metric.latest, metric.unit)}${crossed}`;
  return {
    kind: 'metric',
    ...(metric.crossedAt ? { at: timeOf(metric.crossedAt) } : {}),
    headline,
    evidence: { source: ANALYSER, text: `Metric ${label} ${metric.sparkline}: ${headline}`, ...link },
    nextStep: `Find what changed when ${label} ${metric.shape === 'step' ? 'stepped' : 'spiked'}${crossed}`,
  };
}

function logCandidate(surge: LogSurge): Candidate {
  const counts = surge.isNew
    ? `${surge.countRecent} recently, never in the baseline`
    : `${surge.countRecent} recently vs ${surge.countBefore} before`;
  const headline = `${surge.isNew ? 'new' : 'surging'} errors in ${named(surge.logGroup, 100)}: ${named(surge.signature, 140)} (${counts})`;
  return {
    kind: 'logs',
    ...(surge.firstSeenAt ? { at: timeOf(surge.firstSeenAt) } : {}),
    headline,
    evidence: { source: ANALYSER, text: `Log surge: ${headline}; e.g. ${named(surge.example, 200)}`, link: surge.consoleUrl },
    nextStep: `Read the new errors in ${named(surge.logGroup, 100)}: they name the failing call or dependency`,
  };
}

/** A signal that started with the cause or within AGREEMENT_AFTER_MS after it agrees with it. */
function agrees(cause: Candidate, other: Candidate): boolean {
  if (cause.at === undefined || other.at === undefined || !Number.isFinite(cause.at) || !Number.isFinite(other.at)) return false;
  const after = other.at - cause.at;
  return after >= -AGREEMENT_BEFORE_MS && after <= AGREEMENT_AFTER_MS;
}

const SOURCE_NAMES: Record<Candidate['kind'], string> = { change: 'a change', metric: 'the metric', logs: 'the logs' };

function startedAt(candidate: Candidate): number {
  return candidate.at !== undefined && Number.isFinite(candidate.at) ? candidate.at : Number.POSITIVE_INFINITY;
}

export const likelyCause: Analyser = (context: IncidentContext, policy: TriagePolicy): Finding | null => {
  const aws = context.aws;
  if (aws === undefined) return null;
  const trigger = triggerTime(context);
  const change = freshChange(context, trigger, policy.changeWindowMinutes * MINUTE_MS);
  const metric = aws.metric === undefined ? undefined : metricCandidate(aws.metric);
  const surge = aws.logSurges.filter(isSurging).sort((a, b) => b.countRecent - a.countRecent)[0];
  const logs = surge === undefined ? undefined : logCandidate(surge);
  // Capacity running out is its own cause. Otherwise the source that started first explains the others (a change
  // explains the step and the errors after it); on a tie, or without times, a change before errors before a step.
  const candidates = [change, logs, metric].filter((candidate): candidate is Candidate => candidate !== undefined);
  const ordered =
    metric !== undefined && metric.headline.startsWith('capacity')
      ? [metric, ...candidates.filter((candidate) => candidate !== metric)]
      : candidates
          .map((candidate, order) => ({ candidate, order }))
          .sort((a, b) => startedAt(a.candidate) - startedAt(b.candidate) || a.order - b.order)
          .map(({ candidate }) => candidate);
  const [cause, ...others] = ordered;
  if (cause === undefined) return null;

  const agreeing = others.filter((other) => agrees(cause, other));
  // A change that came after the problem had begun contradicts "the change did it": name the earlier source, lower.
  const lateChange =
    cause.kind !== 'change' && change !== undefined && !agreeing.includes(change) && startedAt(change) > startedAt(cause)
      ? change
      : undefined;
  let weight = (cause.weak ? WEIGHT.nearbyChange : WEIGHT.oneSource) + WEIGHT.perAgreeing * agreeing.length;
  let corroboration = '';
  if (lateChange !== undefined) {
    weight = WEIGHT.contradicted;
    corroboration = `; the change ${lateChange.headline} came after it began, so it is unlikely to be the cause`;
  } else if (agreeing.length > 0) {
    corroboration = `; ${agreeing.length + 1} independent sources agree (${[cause, ...agreeing].map((candidate) => SOURCE_NAMES[candidate.kind]).join(', ')})`;
  }
  return {
    analyser: ANALYSER,
    summary: `Likely cause: ${cause.headline}${corroboration}`,
    weight: Math.min(WEIGHT.max, weight),
    evidence: ordered.map((candidate) => candidate.evidence),
    nextSteps: ordered.map((candidate) => candidate.nextStep),
    cause: cause.kind,
  };
};
