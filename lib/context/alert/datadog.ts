import { asRecord, asString, type AlertPayload } from './payload';
import { applyThresholdReading, tagsToDimensions, type MonitorNormaliser, type MonitorReading } from './reading';
import { parseArn, regionCode } from './regions';
import { comparisonOfText, readThresholdText } from './thresholds';

/**
 * Datadog monitors, through PagerDuty's Datadog integration or a webhook built from Datadog's template variables:
 * `title` ("[Triggered on {host:db-1}] DB CPU high"), `body` (the monitor message, markdown between `%%%`),
 * `event_type` (`query_alert_monitor`, …), `tags` (`env:prod,host:db-1`), and, when the template has them,
 * `alert_metric`, `alert_query`, `alert_status` ("system.mem.used over host:api was > 7516192768.0 on average during
 * the last 5m"), `alert_transition`, `alert_scope`, `hostname`, `link`.
 */

const TITLE_PREFIX = /^\s*(?:\[[^\]]*\]\s*)+/;
const SCOPE_IN_TITLE = /\[\w+ on \{([^}]*)\}\]/;
const QUERY_METRIC = /(?:^|:)([a-zA-Z][\w.]*)\{/;
const QUERY_THRESHOLD = /(>=|<=|>|<)\s*(-?\d+(?:\.\d+)?)\s*$/;
const STATUS_METRIC = /^([a-zA-Z][\w.]*) over /;
const MONITOR_LINK = /https:\/\/[\w.-]*datadoghq\.(?:com|eu)\/monitors\/\d+/;

/** Monitor texts are read only this far: a message is short, and a hostile one then costs bounded work. */
const MAX_READ_LENGTH = 4_000;

function bounded(text: string | undefined): string | undefined {
  return text === undefined ? undefined : text.slice(0, MAX_READ_LENGTH);
}

function plainText(text: string): string {
  return text.replace(/%%%/g, ' ').replace(/\*\*/g, '');
}

function recognises({ details, client }: AlertPayload): boolean {
  if (client !== undefined && /datadog/i.test(client)) return true;
  const eventType = asString(details['event_type']) ?? '';
  return (
    /_monitor$|^(service_check|event_alert|metric_alert)/.test(eventType) ||
    'alert_metric' in details ||
    'alert_transition' in details ||
    'alert_query' in details ||
    (typeof details['body'] === 'string' && details['body'].includes('%%%'))
  );
}

function read({ details, clientUrl }: AlertPayload): MonitorReading {
  const reading: MonitorReading = {};
  const title = asString(details['alert_title']) ?? asString(details['title']);
  const monitor = asRecord(details['monitor']);
  const name = asString(monitor?.['name']) ?? (title === undefined ? undefined : title.replace(TITLE_PREFIX, '').trim());
  if (name !== undefined && name !== '') reading.name = name;
  const state =
    asString(details['alert_transition']) ??
    asString(details['transition']) ??
    /^\s*\[(?:P\d\]\s*\[)?(\w+)/.exec(asString(details['title']) ?? '')?.[1];
  if (state !== undefined) reading.state = state;

  const query = bounded(asString(details['alert_query']) ?? asString(monitor?.['query']));
  const status = bounded(asString(details['alert_status']));
  const metricName =
    asString(details['alert_metric']) ?? (query && QUERY_METRIC.exec(query)?.[1]) ?? (status && STATUS_METRIC.exec(status)?.[1]);
  if (metricName) {
    reading.metric = { name: metricName };
    if (query !== undefined) reading.metric.expression = query;
  }
  const queryThreshold = query === undefined ? null : QUERY_THRESHOLD.exec(query);
  if (queryThreshold)
    reading.threshold = { comparison: comparisonOfText(queryThreshold[1] ?? '') ?? 'other', value: Number(queryThreshold[2]) };
  for (const text of [status, asString(details['body']), asString(details['message']), asString(details['text_only_msg'])]) {
    if (text !== undefined) applyThresholdReading(reading, readThresholdText(plainText(text)));
  }

  const dimensions = {
    ...tagsToDimensions(details['tags']),
    ...tagsToDimensions(asString(details['alert_scope'])),
    ...tagsToDimensions(SCOPE_IN_TITLE.exec(bounded(asString(details['title'])) ?? '')?.[1]),
  };
  const host = asString(details['hostname']);
  if (host !== undefined && dimensions['host'] === undefined) dimensions['host'] = host;
  if (Object.keys(dimensions).length > 0) reading.resource = { dimensions };
  const region = regionCode(dimensions['region'] ?? dimensions['aws_region']);
  if (region !== undefined) reading.region = region;
  const accountId = dimensions['aws_account'] ?? parseArn(dimensions['arn'])?.accountId;
  if (accountId !== undefined && /^\d{12}$/.test(accountId)) reading.accountId = accountId;
  const at = asString(details['date']) ?? asString(details['last_updated']);
  if (at !== undefined && /^\d{13}$/.test(at)) reading.triggeredAt = new Date(Number(at)).toISOString();
  const link =
    asString(details['link']) ??
    MONITOR_LINK.exec(bounded(asString(details['body'])) ?? '')?.[0] ??
    asString(details['event_url']) ??
    clientUrl;
  if (link !== undefined) reading.sourceUrl = link;
  return reading;
}

export const datadog: MonitorNormaliser = { monitor: 'datadog', recognises, read };
