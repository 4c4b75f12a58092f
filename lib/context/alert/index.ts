import type { Alert } from '../../pagerduty/types';
import type { NormalisedAlert } from '../evidence';
import { alertmanager, grafana } from './alertmanager';
import { cloudWatch } from './cloudwatch';
import { datadog } from './datadog';
import { generic } from './generic';
import { newRelic } from './newrelic';
import { alertPayload } from './payload';
import { rankDetails } from './rank-details';
import type { MonitorNormaliser } from './reading';

export { rankDetails } from './rank-details';
export { flattenDetails } from './payload';

/** Checked in this order: Grafana before Alertmanager (same text format, Grafana adds lines); generic last. */
const NORMALISERS: readonly MonitorNormaliser[] = [cloudWatch, datadog, grafana, alertmanager, newRelic, generic];

/**
 * What one PagerDuty alert says, whatever monitor sent it. Never throws: a payload the reader does not expect yields
 * the generic reading, and every detail the payload carried is in `details`, ranked.
 */
export function normaliseAlert(alert: Alert): NormalisedAlert {
  const payload = alertPayload(alert);
  const normaliser = NORMALISERS.find((candidate) => candidate.recognises(payload)) ?? generic;
  let reading;
  try {
    reading = normaliser.read(payload);
  } catch {
    // A reader meeting a shape it did not foresee must not cost the page its context: the ranked details remain.
    reading = {};
  }
  const normalised: NormalisedAlert = { monitor: normaliser.monitor, ...reading, details: rankDetails(payload.raw) };
  if (normalised.triggeredAt === undefined) normalised.triggeredAt = alert.created_at;
  return normalised;
}

function relevance(alert: NormalisedAlert): number {
  return (alert.monitor === 'generic' ? 0 : 2) + (alert.metric !== undefined ? 1 : 0) + (alert.threshold !== undefined ? 1 : 0);
}

/**
 * The alert triage starts from: the earliest still-triggered alert (the one that opened the incident, unless it
 * cleared), preferring one a monitor reader understood. Undefined when there are no alerts.
 */
export function understandAlerts(alerts: Alert[]): NormalisedAlert | undefined {
  const open = alerts.filter((alert) => alert.status === 'triggered');
  const candidates = (open.length > 0 ? open : alerts)
    .map((alert, order) => ({ alert, order }))
    .sort((a, b) => a.alert.created_at.localeCompare(b.alert.created_at) || a.order - b.order)
    .map(({ alert }) => normaliseAlert(alert));
  let best: NormalisedAlert | undefined;
  for (const candidate of candidates) if (best === undefined || relevance(candidate) > relevance(best)) best = candidate;
  return best;
}
