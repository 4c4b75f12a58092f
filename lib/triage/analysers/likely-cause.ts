import type { TriagePolicy } from '../../config/agent-config';
import { breaches } from '../../context/aws/metric-shape';
import type { AwsContext, ChangeRecord, LogSurge, MetricBehaviour, NormalisedAlert } from '../../context/evidence';
import type { Evidence, Finding, IncidentContext } from '../types';
import { humanDuration, oneLine, timeOf, truncate } from '../text';
import { triggerTime } from '../trigger-time';
import type { Analyser } from './analyser';
import { clock, describeMovement, movementStart, withUnit } from './metric-movement';

/**
 * Weighs what the AWS providers found into one likely cause, told as the story the sources tell together. Three
 * sources are independent: a change on the alarmed resource (CloudTrail, change events), how the metric moved (a step
 * or a spike, a climb towards exhaustion) and errors new or surging in the resource's logs. A change is named when a
 * symptom began with it or within AGREEMENT_AFTER_MS after it (or when it is the only source); otherwise the symptom
 * that began first is named. The weight grows with every source that agrees in time and drops when they contradict
 * each other (a change that came after the errors had begun). A change that is not on the alarmed resource is named
 * only when a symptom began in step with it; without that evidence it is listed, never the cause. When nothing
 * explains the alarm the finding says so (weight 0), with what was checked and what could not be read.
 */

export const ANALYSER = 'likely-cause';
const MINUTE_MS = 60_000;
/** A metric move or the first new error this close after a change (or just before: clocks and periods) agrees with it. */
const AGREEMENT_AFTER_MS = 15 * MINUTE_MS;
const AGREEMENT_BEFORE_MS = 2 * MINUTE_MS;
/** A change not on the alarmed resource is considered only this close before the trigger. */
const NEARBY_CHANGE_WINDOW_MS = 30 * MINUTE_MS;
/** A log line counts as surging when it is at least this many times as frequent as before, and at least this often. */
const SURGE_FACTOR = 5;
const SURGE_MIN_COUNT = 10;
const MAX_NEARBY_LISTED = 3;

const WEIGHT = { oneSource: 0.5, nearbyChange: 0.35, perAgreeing: 0.2, contradicted: 0.35, max: 0.9 } as const;

interface Candidate {
  kind: 'change' | 'metric' | 'logs';
  /** When it started (ms), when known. */
  at?: number;
  /** The candidate's part of the one-sentence story ("Errors stepped from ~0 to 42 at 23:02"). */
  story: string;
  evidence: Evidence;
  nextStep: string;
  /** A change that is not on the alarmed resource. */
  nearby?: boolean;
  /** A symptom that stayed (new errors, a metric at a new level), unlike a spike that came back. */
  lasting?: boolean;
  /** A capacity metric running out: its own cause whatever else is found. */
  exhaustion?: boolean;
}

export function isSurging(surge: LogSurge): boolean {
  return surge.isNew || (surge.countRecent >= SURGE_MIN_COUNT && surge.countRecent >= SURGE_FACTOR * Math.max(1, surge.countBefore));
}

/** A name from outside (action, resource, log group) as one bounded line; the note renders it inert. */
function named(text: string, max: number): string {
  return truncate(oneLine(text), max);
}

/** `lambda:UpdateFunctionCode` → `UpdateFunctionCode`: the event name is what responders search CloudTrail for. */
function eventName(change: ChangeRecord): string {
  return change.source === 'cloudtrail' ? (change.action.split(':').at(-1) ?? change.action) : change.action;
}

/** "AWS/Lambda Errors FunctionName=checkout-fn" → "Errors". */
function metricName(label: string): string {
  const name = /^[\w.-]+\/[\w.-]+ (\S+)/.exec(oneLine(label))?.[1];
  return named(name ?? label, 40);
}

/** An ARN by its resource part (`loadbalancer/app/web/50dc…`): the account and region are the incident's own. */
function resourceName(target: string): string {
  return target.startsWith('arn:') ? target.split(':').slice(5).join(':') || target : target;
}

function changeCandidate(change: ChangeRecord, trigger: number, nearby: boolean): Candidate {
  const at = timeOf(change.at);
  const target = change.target === undefined ? '' : ` on ${named(resourceName(change.target), 60)}`;
  const who = change.who === undefined ? '' : ` by ${named(change.who, 40)}`;
  const when = `${humanDuration(trigger - at)} before the trigger`;
  const label = nearby ? 'Nearby change (not on the alarmed resource)' : 'Change on the alarmed resource';
  return {
    kind: 'change',
    at,
    nearby,
    story: `${named(eventName(change), 50)}${target}${who} at ${clock(at)}`,
    evidence: {
      source: ANALYSER,
      text: `${label}: ${named(change.action, 60)}${target}${who} ${when} (${change.at}): ${truncate(oneLine(change.summary), 160)}`,
      ...(change.link ? { link: change.link } : {}),
    },
    nextStep: `Check whether ${named(change.action, 60)}${target} caused this; roll it back or revert it if the timing and symptoms match`,
  };
}

function inWindow(change: ChangeRecord, trigger: number, windowMs: number): boolean {
  const before = trigger - timeOf(change.at);
  return before >= 0 && before <= windowMs;
}

const byCloseness = (a: ChangeRecord, b: ChangeRecord): number => timeOf(b.at) - timeOf(a.at);

/**
 * Whether the move can explain the alarm: it went the way the alarm watches (up for `>`, down for `<`) and reached
 * its threshold. A latency dip, or a wobble that stayed below the threshold, does not explain a latency alarm.
 */
function explainsAlarm(metric: MetricBehaviour, threshold: NormalisedAlert['threshold']): boolean {
  const from = metric.levelChange?.before ?? metric.excursion?.backTo ?? metric.baseline;
  const to = metric.levelChange?.after ?? metric.excursion?.peak ?? metric.latest;
  if (threshold === undefined || from === undefined || to === undefined) return true;
  const { comparison } = threshold;
  if (comparison !== '>' && comparison !== '>=' && comparison !== '<' && comparison !== '<=') return true;
  const towards = comparison === '>' || comparison === '>=' ? to > from : to < from;
  return towards && breaches(to, threshold) === true;
}

/** A metric move far earlier than the change window before the trigger is no part of this alarm. */
function recentEnough(at: number | undefined, trigger: number, windowMs: number): boolean {
  return at === undefined || trigger - at <= windowMs;
}

function metricCandidate(
  metric: MetricBehaviour,
  trigger: number,
  threshold: NormalisedAlert['threshold'],
  windowMs: number,
): Candidate | undefined {
  const link = { link: metric.consoleUrl };
  const name = metricName(metric.metricLabel);
  const label = named(metric.metricLabel, 80);
  const moved = describeMovement(metric, trigger);
  const movedBriefly = describeMovement(metric, trigger, { relativeToTrigger: false });
  // Running out is a trend; a level that changed once is a step or a drop, whatever its rate since.
  if (
    (metric.shape === 'climb' || metric.shape === 'drop') &&
    metric.minutesToExhaustion !== undefined &&
    metric.levelChange === undefined
  ) {
    const story = `capacity exhaustion: ${name} ${moved ?? `at ${withUnit(metric.latest ?? Number.NaN, metric.unit)}`}`;
    const crossed = timeOf(metric.crossedAt);
    return {
      kind: 'metric',
      ...(Number.isFinite(crossed) ? { at: crossed } : {}),
      exhaustion: true,
      story,
      evidence: { source: ANALYSER, text: `Metric ${label} ${metric.sparkline}: ${story}`, ...link },
      nextStep: `Free or add capacity before ${name} is exhausted, then find what consumes it`,
    };
  }
  if ((metric.shape !== 'step' && metric.shape !== 'spike' && metric.levelChange === undefined) || moved === undefined) return undefined;
  if (!explainsAlarm(metric, threshold) || !recentEnough(movementStart(metric), trigger, windowMs)) return undefined;
  const at = movementStart(metric);
  return {
    kind: 'metric',
    ...(at === undefined ? {} : { at }),
    lasting: metric.shape !== 'spike',
    story: `${name} ${movedBriefly ?? moved}`,
    evidence: { source: ANALYSER, text: `A ${metric.shape} in ${label} ${metric.sparkline}: ${moved}`, ...link },
    nextStep: `Find what changed when ${name} ${metric.shape === 'spike' ? 'spiked' : 'moved'}${at === undefined ? '' : ` at ${clock(at)}`}`,
  };
}

function logCandidate(surge: LogSurge): Candidate {
  const counts = surge.isNew
    ? `${surge.countRecent} recently, never in the baseline`
    : `${surge.countRecent} recently vs ${surge.countBefore} before`;
  const at = timeOf(surge.firstSeenAt);
  const since = Number.isFinite(at) ? ` since ${clock(at)}` : '';
  const story = surge.isNew
    ? `new "${named(surge.signature, 48)}" errors${since}`
    : `"${named(surge.signature, 48)}" errors surging (${surge.countRecent} vs ${surge.countBefore} before)${since}`;
  return {
    kind: 'logs',
    ...(Number.isFinite(at) ? { at } : {}),
    lasting: true,
    story,
    evidence: {
      source: ANALYSER,
      text: `Log surge: ${surge.isNew ? 'new' : 'surging'} errors in ${named(surge.logGroup, 100)}: ${named(surge.signature, 140)} (${counts}); e.g. ${named(surge.example, 200)}`,
      link: surge.consoleUrl,
    },
    nextStep: `Read the new errors in ${named(surge.logGroup, 100)}: they name the failing call or dependency`,
  };
}

const known = (at: number | undefined): at is number => at !== undefined && Number.isFinite(at);

/** A signal that started with the cause or within AGREEMENT_AFTER_MS after it agrees with it. */
function agrees(cause: Candidate, other: Candidate): boolean {
  if (!known(cause.at) || !known(other.at)) return false;
  const after = other.at - cause.at;
  return after >= -AGREEMENT_BEFORE_MS && after <= AGREEMENT_AFTER_MS;
}

function startedAt(candidate: Candidate): number {
  return known(candidate.at) ? candidate.at : Number.POSITIVE_INFINITY;
}

const SOURCE_NAMES: Record<Candidate['kind'], string> = { change: 'a change', metric: 'the metric', logs: 'the logs' };

interface Ranking {
  cause: Candidate;
  agreeing: Candidate[];
  /** Everything else considered, shown after the cause. */
  rest: Candidate[];
  /** A change on the resource that came after the symptoms began. */
  lateChange?: Candidate;
}

/** The symptoms (errors, then the metric on a tie) in the order they began. */
function inOrder(symptoms: Candidate[]): Candidate[] {
  return symptoms
    .map((candidate, order) => ({ candidate, order }))
    .sort((a, b) => startedAt(a.candidate) - startedAt(b.candidate) || a.order - b.order)
    .map(({ candidate }) => candidate);
}

function rank(change: Candidate | undefined, nearby: Candidate | undefined, symptoms: Candidate[]): Ranking | undefined {
  const exhaustion = symptoms.find((candidate) => candidate.exhaustion === true);
  const all = [change, nearby, ...symptoms].filter((candidate): candidate is Candidate => candidate !== undefined);
  const result = (cause: Candidate, agreeing: Candidate[], lateChange?: Candidate): Ranking => ({
    cause,
    // The story runs in time; on a tie the metric's move before the errors it shows in the logs.
    agreeing: [...agreeing].sort((a, b) => startedAt(a) - startedAt(b) || (a.kind === 'metric' ? -1 : b.kind === 'metric' ? 1 : 0)),
    rest: all.filter((candidate) => candidate !== cause && !agreeing.includes(candidate)),
    ...(lateChange === undefined ? {} : { lateChange }),
  });
  if (exhaustion !== undefined) return result(exhaustion, []);
  const ordered = inOrder(symptoms);
  if (change !== undefined) {
    const agreeing = symptoms.filter((symptom) => agrees(change, symptom));
    const before = ordered.find((symptom) => known(symptom.at) && symptom.at < startedAt(change) - AGREEMENT_BEFORE_MS);
    if (before !== undefined)
      return result(
        before,
        ordered.filter((symptom) => symptom !== before && agrees(before, symptom)),
        change,
      );
    if (agreeing.length > 0 || symptoms.length === 0) return result(change, agreeing);
  }
  if (nearby !== undefined) {
    // Only a lasting symptom ties a change elsewhere to this alarm: new errors or a new level, not a spike that passed.
    const agreeing = symptoms.filter((symptom) => symptom.lasting === true && agrees(nearby, symptom));
    if (agreeing.length > 0) return result(nearby, agreeing);
  }
  const [first] = ordered;
  if (first === undefined) return undefined;
  return result(
    first,
    ordered.filter((symptom) => symptom !== first && agrees(first, symptom)),
  );
}

function weightOf({ cause, agreeing, lateChange }: Ranking): number {
  if (lateChange !== undefined) return WEIGHT.contradicted;
  return Math.min(WEIGHT.max, (cause.nearby === true ? WEIGHT.nearbyChange : WEIGHT.oneSource) + WEIGHT.perAgreeing * agreeing.length);
}

function why(ranking: Ranking, weight: number): string {
  const { cause, agreeing, lateChange } = ranking;
  if (lateChange !== undefined)
    return `Weight ${weight}: ${SOURCE_NAMES[cause.kind]} began before ${lateChange.story}, so that change is unlikely to be the cause`;
  if (agreeing.length === 0)
    return `Weight ${weight}: one source (${SOURCE_NAMES[cause.kind]}${cause.nearby === true ? ', not on the alarmed resource' : ''}); nothing else moved in step with it`;
  const sources = [cause, ...agreeing].map((candidate) => SOURCE_NAMES[candidate.kind]).join(', ');
  return `Weight ${weight}: ${agreeing.length + 1} independent sources agree in time (${sources}: each began within ${AGREEMENT_AFTER_MS / MINUTE_MS} min after ${cause.kind === 'change' ? 'the change' : 'the first'})`;
}

/** The one sentence the on-call reads first: the cause, then what moved in step with it. */
function storyOf({ cause, agreeing, lateChange }: Ranking): string {
  const parts = [cause.story, ...agreeing.map((candidate) => candidate.story)];
  const late = lateChange === undefined ? '' : `; ${lateChange.story} came after it began`;
  return `Likely cause: ${parts.join('; ')}${late}`;
}

function notRead(aws: AwsContext): string {
  if (aws.unavailable.length === 0) return '';
  const entries = aws.unavailable.map(({ source, reason }) => `${source} (${truncate(oneLine(reason), 80)})`);
  return `; could not read ${entries.join(', ')}`;
}

const SHAPE_WORDS: Record<MetricBehaviour['shape'], string> = {
  step: 'stepped',
  spike: 'spiked',
  climb: 'climbing with no limit in sight',
  drop: 'falling',
  steady: 'steady',
  noisy: 'noisy',
  'no-data': 'without data',
};

/** Nothing explains the alarm: say so, with what was checked and what could not be read. */
function nothingExplains(aws: AwsContext, policy: TriagePolicy, listed: Evidence[], changeAfterCrossing: boolean): Finding {
  const unread = new Set(aws.unavailable.map(({ source }) => source));
  const checked: string[] = [];
  if (!unread.has('metric'))
    checked.push(aws.metric === undefined ? 'no metric to read' : `the metric was ${SHAPE_WORDS[aws.metric.shape]}`);
  if (!unread.has('changes'))
    checked.push(
      changeAfterCrossing
        ? 'the change on the alarmed resource came after the metric crossed the threshold'
        : `no change on the alarmed resource in the ${policy.changeWindowMinutes} min before`,
    );
  if (!unread.has('logs')) checked.push('no new or surging errors in its logs');
  return {
    analyser: ANALYSER,
    summary: `Nothing found explains the alarm: ${checked.length === 0 ? 'no AWS source could be read' : checked.join(', ')}${notRead(aws)}`,
    weight: 0,
    evidence: listed,
    nextSteps: ['Nothing in the metric, changes or logs explains it: start from the alert details and the service dashboards'],
    cause: 'none',
  };
}

export const likelyCause: Analyser = (context: IncidentContext, policy: TriagePolicy): Finding | null => {
  const aws = context.aws;
  if (aws === undefined) return null;
  const trigger = triggerTime(context);
  const windowMs = policy.changeWindowMinutes * MINUTE_MS;
  const metric = aws.metric === undefined ? undefined : metricCandidate(aws.metric, trigger, context.alert?.threshold, windowMs);
  const surge = aws.logSurges.filter(isSurging).sort((a, b) => b.countRecent - a.countRecent)[0];
  const logs = surge === undefined ? undefined : logCandidate(surge);
  const symptoms = [logs, metric].filter((candidate): candidate is Candidate => candidate !== undefined);

  // The newest change on the resource that came before the symptoms began (a rollback started after them explains
  // nothing), else the newest one.
  // The alarm's condition began with the first symptom, or when the metric crossed the threshold if that was earlier
  // (a move too small or too noisy to call a shape still dates the condition).
  const crossed = timeOf(aws.metric?.crossedAt);
  const began = Math.min(...symptoms.map(startedAt), Number.isFinite(crossed) ? crossed : Number.POSITIVE_INFINITY);
  const onResource = aws.changes
    .filter((change) => change.onAlarmedResource && inWindow(change, trigger, policy.changeWindowMinutes * MINUTE_MS))
    .sort(byCloseness);
  const chosen = onResource.find((change) => timeOf(change.at) <= began + AGREEMENT_BEFORE_MS) ?? onResource[0];
  const nearbyChanges = aws.changes
    .filter((change) => !change.onAlarmedResource && inWindow(change, trigger, NEARBY_CHANGE_WINDOW_MS))
    .sort(byCloseness);
  let change = chosen === undefined ? undefined : changeCandidate(chosen, trigger, false);
  // The nearby change a lasting symptom began in step with, if any, else the newest (listed, not weighed).
  const nearbyCandidates = nearbyChanges.map((record) => changeCandidate(record, trigger, true));
  const nearby =
    nearbyCandidates.find((candidate) => symptoms.some((symptom) => symptom.lasting === true && agrees(candidate, symptom))) ??
    nearbyCandidates[0];
  // A change made after the metric had crossed the threshold, with nothing else to go on, is a response, not a cause.
  const afterCrossing =
    change !== undefined && symptoms.length === 0 && startedAt(change) > began + AGREEMENT_BEFORE_MS ? change : undefined;
  if (afterCrossing !== undefined) change = undefined;

  const ranking = rank(change, nearby, symptoms);
  // Nearby changes that are not the cause are listed after it, never promoted.
  const listedNearby = nearbyCandidates
    .filter((candidate) => ranking === undefined || candidate !== ranking.cause)
    .slice(0, MAX_NEARBY_LISTED)
    .map((candidate) => candidate.evidence);
  if (ranking === undefined) {
    const late =
      afterCrossing === undefined
        ? []
        : [
            {
              ...afterCrossing.evidence,
              text: `${afterCrossing.evidence.text} (after the metric crossed the threshold at ${clock(crossed)})`,
            },
          ];
    return nothingExplains(aws, policy, [...late, ...listedNearby], afterCrossing !== undefined);
  }

  const weight = weightOf(ranking);
  const shown = [ranking.cause, ...ranking.agreeing, ...ranking.rest.filter((candidate) => candidate !== nearby)];
  return {
    analyser: ANALYSER,
    summary: storyOf(ranking),
    weight,
    evidence: [{ source: ANALYSER, text: why(ranking, weight) }, ...shown.map((candidate) => candidate.evidence), ...listedNearby],
    nextSteps: shown.map((candidate) => candidate.nextStep),
    cause: ranking.cause.kind,
  };
};
