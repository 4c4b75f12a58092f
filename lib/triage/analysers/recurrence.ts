import type { TriagePolicy } from '../../config/agent-config';
import type { Incident } from '../../pagerduty/types';
import type { Evidence, Finding, IncidentContext } from '../types';
import { humanDuration, oneLine, timeOf, truncate } from '../text';
import { isAgentNote } from '../agent-notes';
import { serviceName, statusChangedBy, type Analyser } from './analyser';
import { jaccard, titleTokens, TITLE_SIMILARITY_THRESHOLD } from './title-similarity';

const ANALYSER = 'recurrence';
const DAY_MS = 86_400_000;
const MAX_EVIDENCE = 5;
const MAX_PAST_FIXES = 3;

/**
 * Past incidents on the same service whose title is similar, created in `[created - windowMs, created]`, newest first.
 * In a burst, the incidents opened since it began are the same storm, not history: they are left out.
 */
export function similarPastIncidents(context: IncidentContext, windowMs: number): Incident[] {
  const { incident } = context;
  const created = timeOf(incident.created_at);
  const burstSince = context.burst === undefined ? Number.POSITIVE_INFINITY : timeOf(context.burst.since);
  const tokens = titleTokens(incident.title);
  return context.recentIncidents
    .filter((past) => past.id !== incident.id && past.service.id === incident.service.id)
    .filter((past) => {
      const at = timeOf(past.created_at);
      return at <= created && created - at <= windowMs && at < burstSince;
    })
    .filter((past) => jaccard(tokens, titleTokens(past.title)) >= TITLE_SIMILARITY_THRESHOLD)
    .sort((a, b) => timeOf(b.created_at) - timeOf(a.created_at));
}

/** The first note a person wrote on an incident, on one line, or undefined when nobody did (the agent's own notes excluded). */
export function resolutionOf(context: IncidentContext, incidentId: string): string | undefined {
  const note = (context.resolutionNotes[incidentId] ?? [])
    .filter((content) => !isAgentNote(content))
    .map(oneLine)
    .find((text) => text !== '');
  return note === undefined ? undefined : truncate(note, 200);
}

function describe(context: IncidentContext, past: Incident): Evidence {
  const parts = [
    `#${past.number} "${truncate(oneLine(past.title), 120)}" ${humanDuration(timeOf(context.incident.created_at) - timeOf(past.created_at))} before this one`,
  ];
  if (past.status === 'resolved') {
    const resolvedAt = past.resolved_at ?? past.last_status_change_at;
    const by = statusChangedBy(past);
    parts.push(`resolved${resolvedAt ? ` at ${resolvedAt}` : ''}${by ? ` by ${by}` : ''}`);
  } else {
    parts.push(`still ${past.status}`);
  }
  const fix = resolutionOf(context, past.id);
  if (fix) parts.push(`note: "${fix}"`);
  return { source: ANALYSER, text: parts.join('; '), link: past.html_url };
}

/** Similar titles on the same service within `recurrenceWindowDays`: the problem has been seen, and maybe fixed, before. */
export const recurrence: Analyser = (context: IncidentContext, policy: TriagePolicy): Finding | null => {
  const similar = similarPastIncidents(context, policy.recurrenceWindowDays * DAY_MS);
  if (similar.length === 0) return null;

  const withFix = similar.filter((past) => resolutionOf(context, past.id) !== undefined);
  const lastFix = withFix[0] === undefined ? undefined : resolutionOf(context, withFix[0].id);
  const count = similar.length;
  const plural = count === 1 ? 'similar incident' : 'similar incidents';
  let summary = `Recurring: ${count} ${plural} on ${serviceName(context.incident)} in ${policy.recurrenceWindowDays} days`;
  if (lastFix !== undefined) summary += `, last resolved with: "${truncate(lastFix, 100)}"`;
  else if (similar[0]?.status === 'resolved') {
    const by = statusChangedBy(similar[0]);
    summary += by ? `, last one resolved by ${by} (no resolution note)` : ', last one resolved without a resolution note';
  }

  const nextSteps = withFix.slice(0, MAX_PAST_FIXES).map((past) => {
    const by = statusChangedBy(past);
    return `Last time (#${past.number}${by ? `, ${by}` : ''}): ${resolutionOf(context, past.id)}`;
  });
  const newest = similar[0];
  if (newest !== undefined) nextSteps.push(`Compare with incident #${newest.number}: ${newest.html_url}`);

  // More repetitions and a known fix make "this is the same problem again" a stronger explanation, never a certainty.
  const weight = Math.min(0.65, 0.35 + 0.08 * (Math.min(count, 4) - 1) + (lastFix !== undefined ? 0.1 : 0));
  const evidence = similar.slice(0, MAX_EVIDENCE).map((past) => describe(context, past));
  if (count > MAX_EVIDENCE) evidence.push({ source: ANALYSER, text: `and ${count - MAX_EVIDENCE} more similar incidents in the window` });
  return { analyser: ANALYSER, summary, weight, evidence, nextSteps, cause: 'recurrence' };
};
