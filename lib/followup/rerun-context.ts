import { awsContextFor, type AwsGatherDeps } from '../agent/gather-context';
import { understandAlerts } from '../context/alert';
import type { AwsContext, NormalisedAlert } from '../context/evidence';
import type { Alert, Incident } from '../pagerduty/types';

/**
 * The AWS providers again, over the window that ends now rather than at the trigger: the metric's latest periods, the
 * changes and log surges of the last `lookbackMinutes`, the alarm's flips. The same providers, mapping, account role
 * and bounds as the first look (lib/agent/gather-context.ts), so a follow-up (and, later, a `pd-agent: recheck`) reads
 * exactly what the first note read, only later.
 */
export interface RerunResult {
  alert?: NormalisedAlert;
  /** Each provider's failures, and clients that could not be created, are in `aws.unavailable`. */
  aws?: AwsContext;
}

export async function rerunAwsContext(
  incident: Incident,
  alerts: Alert[],
  aws: AwsGatherDeps | undefined,
  now: Date,
): Promise<RerunResult> {
  const alert = understandAlerts(alerts);
  const withAlert = alert === undefined ? {} : { alert };
  if (aws === undefined || !aws.config.enabled) return withAlert;
  const context = await awsContextFor(incident, alert, aws, now, undefined, now);
  return context === undefined ? withAlert : { ...withAlert, aws: context };
}
