import type { TriagePolicy } from '../../config/agent-config';
import type { Incident } from '../../pagerduty/types';
import type { Evidence, Finding, IncidentContext } from '../types';
import { humanDuration, oneLine, timeOf, truncate } from '../text';
import { serviceName, statusChangedBy, type Analyser } from './analyser';
import { similarPastIncidents } from './recurrence';

const ANALYSER = 'flapping';
const HOUR_MS = 3_600_000;
/** An incident resolved this soon after it opened most likely cleared by itself. */
export const QUICK_RESOLUTION_MS = 15 * 60_000;
const MAX_EVIDENCE = 5;

function resolvedQuickly(incident: Incident): boolean {
  if (incident.status !== 'resolved') return false;
  const duration = timeOf(incident.resolved_at ?? incident.last_status_change_at) - timeOf(incident.created_at);
  return duration >= 0 && duration <= QUICK_RESOLUTION_MS;
}

function lastedMs(incident: Incident): number {
  return timeOf(incident.resolved_at ?? incident.last_status_change_at) - timeOf(incident.created_at);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/**
 * At least `flappingThreshold` earlier incidents with a similar title on the same service within
 * `flappingWindowHours`. When most of them cleared by themselves within minutes, the incident is a recurring one
 * that clears by itself (a noisy threshold, or an intermittent fault worth fixing once): the headline says how often
 * it comes back and how fast it clears. Otherwise the alert keeps reopening: flapping.
 */
export const flapping: Analyser = (context: IncidentContext, policy: TriagePolicy): Finding | null => {
  const similar = similarPastIncidents(context, policy.flappingWindowHours * HOUR_MS);
  if (similar.length < policy.flappingThreshold) return null;

  const quick = similar.filter(resolvedQuickly);
  const mostlyQuick = quick.length * 2 >= similar.length;
  const service = serviceName(context.incident);
  let summary: string;
  if (mostlyQuick) {
    const oldest = similar[similar.length - 1];
    const span = oldest === undefined ? 0 : timeOf(context.incident.created_at) - timeOf(oldest.created_at);
    const every = humanDuration(span / similar.length);
    summary =
      `Recurring, clears by itself: ${similar.length} similar incidents on ${service} in the last ${policy.flappingWindowHours} h ` +
      `(about every ${every}); ${quick.length} of them cleared within ${humanDuration(Math.max(...quick.map(lastedMs)))} ` +
      `(median ${humanDuration(median(quick.map(lastedMs)))})`;
  } else {
    summary = `Flapping: ${similar.length} similar incidents on ${service} in the last ${policy.flappingWindowHours} h`;
    if (quick.length > 0) summary += `, ${quick.length} of them resolved within ${humanDuration(QUICK_RESOLUTION_MS)}`;
  }

  const evidence: Evidence[] = similar.slice(0, MAX_EVIDENCE).map((past) => {
    const lasted =
      past.status === 'resolved'
        ? `resolved after ${humanDuration(lastedMs(past))}${statusChangedBy(past) ? ` by ${statusChangedBy(past)}` : ''}`
        : `still ${past.status}`;
    return {
      source: ANALYSER,
      text: `#${past.number} "${truncate(oneLine(past.title), 100)}" at ${past.created_at}, ${lasted}`,
      link: past.html_url,
    };
  });
  if (similar.length > MAX_EVIDENCE) evidence.push({ source: ANALYSER, text: `and ${similar.length - MAX_EVIDENCE} more in the window` });

  const nextSteps = mostlyQuick
    ? [
        'Check whether the condition is still present; if it has cleared again, the alert is likely noisy',
        "Review the monitor's threshold, evaluation window and recovery (hysteresis) settings",
      ]
    : ['The same alert keeps reopening: look for an intermittent fault (restarts, retries, capacity) rather than a new outage'];
  // Repetition explains the page (noise or an intermittent fault) more strongly when the earlier ones cleared quickly:
  // then it outweighs a recurrence without a known fix (at most 0.59), not one a person left a fix for.
  const weight = mostlyQuick ? 0.62 : 0.4;
  return { analyser: ANALYSER, summary, weight, evidence, nextSteps, cause: 'flapping' };
};
