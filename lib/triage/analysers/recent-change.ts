import type { TriagePolicy } from '../../config/agent-config';
import type { ChangeEvent } from '../../pagerduty/types';
import type { Evidence, Finding, IncidentContext } from '../types';
import { humanDuration, oneLine, shortValue, timeOf, truncate } from '../text';
import type { Analyser } from './analyser';

const ANALYSER = 'recent-change';
const MINUTE_MS = 60_000;
const MAX_EVIDENCE = 5;
const DEPLOY_WORDS =
  /\b(deploy(ed|ment|ing)?|release[ds]?|roll(ed)?[ -]?out|rollback|upgrade[ds]?|migrat(e|ed|ion)|version|v\d+(\.\d+)+)\b/i;

export interface RecentChange {
  change: ChangeEvent;
  /** How long before the incident's creation the change happened. */
  beforeMs: number;
  isDeploy: boolean;
}

/** A deploy, release or rollout (by its summary, source or custom details), as opposed to e.g. a feature-flag flip. */
export function looksLikeDeploy(change: ChangeEvent): boolean {
  const details = change.custom_details ? shortValue(change.custom_details, 500) : '';
  return DEPLOY_WORDS.test(`${change.summary} ${change.source ?? ''} ${details}`);
}

/** Change events in `[created - window, created]`, closest to the trigger first. */
export function changesBeforeTrigger(context: IncidentContext, windowMinutes: number): RecentChange[] {
  const created = timeOf(context.incident.created_at);
  return context.changeEvents
    .map((change) => ({ change, beforeMs: created - timeOf(change.timestamp), isDeploy: looksLikeDeploy(change) }))
    .filter(({ beforeMs }) => beforeMs >= 0 && beforeMs <= windowMinutes * MINUTE_MS)
    .sort((a, b) => a.beforeMs - b.beforeMs);
}

/** The change's summary as a name; "Deployed api v2.3.1" reads as deploy api v2.3.1. */
function label(change: ChangeEvent, isDeploy = false): string {
  const text = oneLine(change.summary);
  const stripped = isDeploy ? text.replace(/^deploy(ed|ing|ment)?(\s+of)?\s*:?\s+/i, '') : text;
  return truncate(stripped === '' ? text : stripped, 80);
}

function describe({ change, beforeMs, isDeploy }: RecentChange): Evidence {
  const source = change.source ? ` from ${truncate(oneLine(change.source), 60)}` : '';
  const kind = isDeploy ? 'Deploy' : 'Change';
  const evidence: Evidence = {
    source: ANALYSER,
    text: `${kind} ${label(change, isDeploy)}${source} ${humanDuration(beforeMs)} before the trigger (${change.timestamp})`,
  };
  const link = change.links?.find((candidate) => /^https?:\/\//i.test(candidate.href));
  if (link) evidence.link = link.href;
  return evidence;
}

/** A change shortly before the trigger: the most common cause of an incident, and the first thing to rule out. */
export const recentChange: Analyser = (context: IncidentContext, policy: TriagePolicy): Finding | null => {
  const changes = changesBeforeTrigger(context, policy.changeWindowMinutes);
  const closest = changes[0];
  if (closest === undefined) return null;

  const minutes = humanDuration(closest.beforeMs);
  const summary = closest.isDeploy
    ? `Likely caused by deploy ${label(closest.change, true)} ${minutes} before the trigger`
    : `Possibly related to change ${label(closest.change)} ${minutes} before the trigger`;
  // The closer to the trigger, the stronger; a deploy explains more than another kind of change.
  const closeness = 1 - closest.beforeMs / (policy.changeWindowMinutes * MINUTE_MS);
  const weight = (closest.isDeploy ? 0.45 : 0.3) + 0.2 * closeness;
  const nextSteps = [
    closest.isDeploy
      ? `Check whether deploy ${label(closest.change, true)} caused this; roll it back if the timing and symptoms match`
      : `Check whether ${label(closest.change)} caused this; revert it if the timing and symptoms match`,
  ];
  if (changes.length > 1)
    nextSteps.push(`Review the other ${changes.length - 1} change(s) in the ${policy.changeWindowMinutes} min before the trigger`);
  const evidence = changes.slice(0, MAX_EVIDENCE).map(describe);
  if (changes.length > MAX_EVIDENCE)
    evidence.push({ source: ANALYSER, text: `and ${changes.length - MAX_EVIDENCE} more changes in the window` });
  return { analyser: ANALYSER, summary, weight, evidence, nextSteps, cause: 'change' };
};
