import type { AwsGatherDeps } from '../agent/gather-context';
import { understandAlerts } from '../context/alert';
import { gatherAwsContext } from '../context/aws/aws-context';
import { resolveAwsScope } from '../context/aws/mapping';
import type { AwsContext, NormalisedAlert } from '../context/evidence';
import { messageOf } from '../errors/message-of';
import type { Alert, Incident } from '../pagerduty/types';

/**
 * The AWS providers again, over the window that ends now rather than at the trigger: the metric's latest periods, the
 * changes and log surges of the last `lookbackMinutes`, the alarm's flips. The same providers, mapping, account role
 * and bounds as the first look (lib/agent/gather-context.ts), so a follow-up (and, later, a `pd-agent: recheck`) reads
 * exactly what the first note read, only later.
 */
export interface RerunResult {
  alert?: NormalisedAlert;
  aws?: AwsContext;
  /** Why the AWS context could not be read at all (no clients); each provider's own failures are in `aws.unavailable`. */
  unavailable?: string;
}

export async function rerunAwsContext(
  incident: Incident,
  alerts: Alert[],
  aws: AwsGatherDeps | undefined,
  now: Date,
): Promise<RerunResult> {
  const alert = understandAlerts(alerts);
  if (aws === undefined || !aws.config.enabled) return alert === undefined ? {} : { alert };
  const mapped = aws.config.services[incident.service.id] !== undefined;
  if (alert?.monitor !== 'cloudwatch' && !mapped) return alert === undefined ? {} : { alert };
  const scope = resolveAwsScope(aws.config, incident.service.id, alert, aws.workerRegion);
  if (scope === undefined) return alert === undefined ? {} : { alert };
  try {
    const clients = await aws.clientsFor({ region: scope.region, roleArn: scope.roleArn, externalId: scope.externalId });
    const context = await gatherAwsContext({ alert, scope, clients, triggeredAt: now, now }, aws.providers);
    return { ...(alert === undefined ? {} : { alert }), aws: context };
  } catch (error) {
    return { ...(alert === undefined ? {} : { alert }), unavailable: `the AWS clients could not be created (${messageOf(error)})` };
  }
}
