import type { Comparison } from '../context/evidence';
import type { Incident } from '../pagerduty/types';
import { QUICK_RESOLUTION_MS } from '../triage/analysers/flapping';
import { similarPastIncidents } from '../triage/analysers/recurrence';
import { oneLine, roundedForReading, timeOf, truncate } from '../triage/text';
import { triggerTime } from '../triage/trigger-time';
import type { Hypothesis, IncidentContext } from '../triage/types';
import type { MaterialChange } from './material-change';
import type { ContextSnapshot } from './snapshot';

/**
 * One prediction per first note: what the data will show if the likely cause is right, in a form a later read of the
 * same data can check. Structured (kind, metric, threshold, deadline) so the follow-up checks it without parsing the
 * sentence; the sentence is what the note shows.
 *
 * - `stays-until-change`: the cause is a change, so the metric stays past its threshold until that change is undone.
 * - `exhausted-by`: a capacity metric climbing at its current rate is exhausted at `deadline`.
 * - `clears-by`: the alert keeps clearing by itself, so it has cleared by `deadline`.
 * - `stays-crossed`: nothing named a change or a pattern: the metric stays past its threshold until someone acts.
 * - `alert-persists`: no metric to read: the alert is still triggered at `deadline` unless someone acts.
 */
export type PredictionKind = 'stays-until-change' | 'exhausted-by' | 'clears-by' | 'stays-crossed' | 'alert-persists';

export interface Prediction {
  kind: PredictionKind;
  /** The sentence the note shows (agent's words; outside names in it are one line and bounded). */
  text: string;
  /** When it was made (ISO-8601). */
  madeAt: string;
  metric?: string;
  threshold?: { comparison: Comparison; value: number };
  /** `exhausted-by`, `clears-by`, `alert-persists`: the time it is about (ISO-8601). */
  deadline?: string;
  /** `stays-until-change`: the change it hangs on. */
  change?: { at: string; summary: string };
}

export type PredictionStatus = 'held' | 'failed' | 'holding' | 'unknown';

export interface PredictionCheck {
  status: PredictionStatus;
  /** One sentence for the follow-up note and the outcome record. */
  text: string;
  checkedAt: string;
}

const MAX_NAME = 80;
/** An exhaustion re-projected within this share of the time it had left is still on course. */
export const EXHAUSTION_TOLERANCE = 0.25;
const FLAPPING_WINDOW_MS = 24 * 3_600_000;

const name = (text: string): string => truncate(oneLine(text), MAX_NAME);
const clock = (ms: number): string => `${new Date(ms).toISOString().slice(11, 16)} UTC`;
const side = (comparison: Comparison): string => (comparison === '<' || comparison === '<=' ? 'below' : 'above');
const lastsMs = (past: Incident): number => timeOf(past.resolved_at ?? past.last_status_change_at) - timeOf(past.created_at);

function checkableThreshold(context: IncidentContext): { comparison: Comparison; value: number } | undefined {
  const threshold = context.alert?.threshold;
  if (threshold === undefined || threshold.comparison === 'other' || threshold.comparison === 'outside-band') return undefined;
  return threshold;
}

/** The change before the trigger the hypothesis hangs on: the latest on the alarmed resource, else the latest at all. */
function causeChange(context: IncidentContext): { at: string; summary: string } | undefined {
  const trigger = triggerTime(context);
  const before = (context.aws?.changes ?? []).filter((change) => timeOf(change.at) <= trigger);
  const chosen = [...before].reverse().find((change) => change.onAlarmedResource) ?? before[before.length - 1];
  return chosen === undefined ? undefined : { at: chosen.at, summary: name(chosen.summary) };
}

/** How long the similar past incidents that cleared by themselves lasted at most, and how many there were. */
function selfClearing(context: IncidentContext): { count: number; withinMs: number } | undefined {
  const quick = similarPastIncidents(context, FLAPPING_WINDOW_MS)
    .filter((past) => past.status === 'resolved')
    .map(lastsMs)
    .filter((lasted) => lasted >= 0 && lasted <= QUICK_RESOLUTION_MS);
  return quick.length === 0 ? undefined : { count: quick.length, withinMs: Math.max(...quick) };
}

/**
 * The prediction that follows from the hypothesis's likely cause and that the data can check; `now` is when the note
 * is written, `followUpMs` when the agent looks again (the deadline of a prediction that has no other).
 */
export function predictionFor(hypothesis: Hypothesis, context: IncidentContext, now: Date, followUpMs: number): Prediction {
  const madeAt = now.toISOString();
  const metric = context.aws?.metric;
  const threshold = checkableThreshold(context);
  const label = metric === undefined ? undefined : name(metric.metricLabel);
  if (metric?.minutesToExhaustion !== undefined && label !== undefined) {
    const deadline = now.getTime() + metric.minutesToExhaustion * 60_000;
    return {
      kind: 'exhausted-by',
      text: `At this rate ${label} is exhausted at ${clock(deadline)}.`,
      madeAt,
      metric: label,
      deadline: new Date(deadline).toISOString(),
    };
  }
  const change = causeChange(context);
  if (hypothesis.cause === 'change' && change !== undefined && label !== undefined && threshold !== undefined) {
    return {
      kind: 'stays-until-change',
      text: `If the change at ${clock(timeOf(change.at))} ("${change.summary}") is the cause, ${label} stays ${side(threshold.comparison)} ${roundedForReading(threshold.value)} until it is rolled back.`,
      madeAt,
      metric: label,
      threshold,
      change,
    };
  }
  const clearing = hypothesis.cause === 'flapping' ? selfClearing(context) : undefined;
  if (clearing !== undefined) {
    const deadline = triggerTime(context) + clearing.withinMs;
    const minutes = Math.max(1, Math.round(clearing.withinMs / 60_000));
    return {
      kind: 'clears-by',
      text: `This alert cleared by itself within ${minutes} min ${clearing.count} time(s) in the last 24 h: expect it to clear by ${clock(deadline)}.`,
      madeAt,
      deadline: new Date(deadline).toISOString(),
      ...(label === undefined ? {} : { metric: label }),
      ...(threshold === undefined ? {} : { threshold }),
    };
  }
  if (label !== undefined && threshold !== undefined) {
    return {
      kind: 'stays-crossed',
      text: `Until someone acts, ${label} stays ${side(threshold.comparison)} ${roundedForReading(threshold.value)}.`,
      madeAt,
      metric: label,
      threshold,
    };
  }
  const deadline = now.getTime() + followUpMs;
  return {
    kind: 'alert-persists',
    text: `Unless someone acts, the alert is still triggered at ${clock(deadline)}.`,
    madeAt,
    deadline: new Date(deadline).toISOString(),
  };
}

/** Whether the prediction held, judged from what the providers read now and what changed since the last note. */
export function checkPrediction(prediction: Prediction, now: ContextSnapshot, changes: MaterialChange[]): PredictionCheck {
  const checkedAt = now.at;
  const at = timeOf(now.at);
  const result = (status: PredictionStatus, text: string): PredictionCheck => ({ status, text, checkedAt });
  const crossed = now.metric?.crossed;
  const cleared = now.alertsCleared === true || crossed === false;
  const deadline = timeOf(prediction.deadline);
  switch (prediction.kind) {
    case 'stays-until-change': {
      const landed = changes.find((change) => change.kind === 'new-change');
      if (crossed === undefined) return result('unknown', 'The metric could not be read again, so the prediction is not checked.');
      if (landed !== undefined && !crossed)
        return result('held', `The prediction held: ${prediction.metric ?? 'the metric'} recovered after a new change landed.`);
      if (landed === undefined && !crossed)
        return result(
          'failed',
          `The prediction did not hold: ${prediction.metric ?? 'the metric'} recovered with no new change, so that change may not be the cause.`,
        );
      if (landed !== undefined)
        return result('holding', `A new change landed and ${prediction.metric ?? 'the metric'} is still past its threshold.`);
      return result(
        'holding',
        `The prediction holds so far: ${prediction.metric ?? 'the metric'} is still past its threshold and nothing was rolled back.`,
      );
    }
    case 'exhausted-by': {
      if (now.metric === undefined) return result('unknown', 'The metric could not be read again, so the prediction is not checked.');
      if (at >= deadline)
        return result('held', `The prediction held: ${prediction.metric ?? 'the metric'} reached exhaustion at the time given.`);
      if (!now.metric.climbing || now.metric.minutesToExhaustion === undefined)
        return result('failed', `The prediction did not hold: ${prediction.metric ?? 'the metric'} stopped climbing.`);
      const projected = at + now.metric.minutesToExhaustion * 60_000;
      const left = deadline - timeOf(prediction.madeAt);
      if (Math.abs(projected - deadline) <= EXHAUSTION_TOLERANCE * left)
        return result('holding', `Still on course: exhausted at about ${clock(projected)}.`);
      return result('failed', `The prediction did not hold: at the current rate it is exhausted at ${clock(projected)} instead.`);
    }
    case 'clears-by': {
      if (cleared)
        return result(
          at <= deadline + 5 * 60_000 ? 'held' : 'failed',
          at <= deadline + 5 * 60_000 ? 'The prediction held: the alert cleared by itself.' : 'The alert cleared, later than predicted.',
        );
      if (crossed === undefined && now.alertsCleared === undefined)
        return result('unknown', 'Neither the metric nor the alerts could be read again.');
      if (at > deadline) return result('failed', `The prediction did not hold: the alert had not cleared by ${clock(deadline)}.`);
      return result('holding', `The alert has not cleared yet; expected by ${clock(deadline)}.`);
    }
    case 'stays-crossed': {
      if (crossed === undefined) return result('unknown', 'The metric could not be read again, so the prediction is not checked.');
      return crossed
        ? result('holding', `The prediction holds so far: ${prediction.metric ?? 'the metric'} is still past its threshold.`)
        : result('failed', `The prediction did not hold: ${prediction.metric ?? 'the metric'} recovered without anyone acting on it.`);
    }
    case 'alert-persists': {
      if (now.alertsCleared === undefined)
        return result('unknown', 'The alerts could not be read again, so the prediction is not checked.');
      if (now.alertsCleared) return result('failed', 'The prediction did not hold: the alert cleared.');
      return result(at >= deadline ? 'held' : 'holding', 'The alert is still triggered.');
    }
  }
}
