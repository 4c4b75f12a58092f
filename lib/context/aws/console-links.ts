/**
 * Deep links into the AWS console for what a note mentions, short enough to read and tap on a phone (a note shows
 * them as bare URLs; lib/triage/plain-text.ts leaves out any over MAX_LINK_LENGTH). Names go into the URL fragment
 * encoded, so an alarm or log group name with `/`, `#` or spaces still opens the right page.
 */

const consoleBase = (region: string): string => `https://${region}.console.aws.amazon.com`;

export function alarmConsoleUrl(region: string, alarmName: string): string {
  return `${consoleBase(region)}/cloudwatch/home?region=${region}#alarmsV2:alarm/${encodeURIComponent(alarmName)}`;
}

/** The metrics explorer on one metric, graphed over [start, end]. */
export function metricConsoleUrl(
  region: string,
  metric: { namespace: string; name: string; dimensions: Record<string, string>; statistic?: string; periodSeconds?: number },
  window: { start: Date; end: Date },
): string {
  const series = [metric.namespace, metric.name, ...Object.entries(metric.dimensions).flat()];
  const graph = {
    metrics: [series],
    region,
    stat: metric.statistic ?? 'Average',
    period: metric.periodSeconds ?? 60,
    start: window.start.toISOString(),
    end: window.end.toISOString(),
  };
  return `${consoleBase(region)}/cloudwatch/home?region=${region}#metricsV2:graph=${encodeURIComponent(JSON.stringify(graph))}`;
}

/** CloudTrail event history filtered on one resource name. */
export function cloudTrailConsoleUrl(region: string, resourceName: string): string {
  return `${consoleBase(region)}/cloudtrailv2/home?region=${region}#/events?ResourceName=${encodeURIComponent(resourceName)}`;
}

/** One CloudTrail event's page: who did what, with the request and response, in a URL of about 130 characters. */
export function cloudTrailEventConsoleUrl(region: string, eventId: string): string {
  return `${consoleBase(region)}/cloudtrailv2/home?region=${region}#/events/${encodeURIComponent(eventId)}`;
}

/** The console's own double encoding of a log group name in its fragment (`/` → `$252F`). */
const consoleEncode = (value: string): string => encodeURIComponent(encodeURIComponent(value)).replace(/%/g, '$');

export function logGroupConsoleUrl(region: string, logGroup: string, filterPattern?: string): string {
  const query = filterPattern === undefined ? '' : `/log-events$3FfilterPattern$3D${consoleEncode(filterPattern)}`;
  return `${consoleBase(region)}/cloudwatch/home?region=${region}#logsV2:log-groups/log-group/${consoleEncode(logGroup)}${query}`;
}
