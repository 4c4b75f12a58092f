import { asString, type AlertPayload } from './payload';
import { applyThresholdReading, type MonitorNormaliser, type MonitorReading } from './reading';
import { readThresholdText } from './thresholds';

/**
 * New Relic. Workflows send the `customDetails` template (default keys `IssueURL`, `NewRelic priority`,
 * `Total Incidents`, `Impacted Entities`, `Runbook`, `Description`, `Alert Policy Names`, `Alert Condition Names`,
 * `Workflow Name`); legacy alert channels sent `condition_name`, `policy_name`, `current_state`, `details`,
 * `incident_url`, `targets[{name, labels}]`.
 */

function firstName(value: unknown): string | undefined {
  if (Array.isArray(value)) return value.map(asString).find((text) => text !== undefined);
  return asString(value);
}

function recognises({ details, client }: AlertPayload): boolean {
  if (client !== undefined && /new ?relic/i.test(client)) return true;
  return (
    'IssueURL' in details ||
    'NewRelic priority' in details ||
    'Alert Condition Names' in details ||
    ('condition_name' in details && ('policy_name' in details || 'incident_url' in details))
  );
}

function read({ details, clientUrl }: AlertPayload): MonitorReading {
  const reading: MonitorReading = {};
  const name = firstName(details['Alert Condition Names']) ?? asString(details['condition_name']);
  if (name !== undefined) reading.name = name;
  const state = asString(details['current_state']) ?? asString(details['state']);
  if (state !== undefined) reading.state = state;
  for (const text of [asString(details['Description']), asString(details['details'])]) {
    if (text !== undefined) applyThresholdReading(reading, readThresholdText(text));
  }
  const dimensions: Record<string, string> = {};
  const entities = details['Impacted Entities'];
  const entity = firstName(entities);
  if (entity !== undefined) dimensions['entity'] = entity;
  const targets = Array.isArray(details['targets']) ? details['targets'] : [];
  for (const target of targets) {
    const targetName = typeof target === 'object' && target !== null ? asString((target as Record<string, unknown>)['name']) : undefined;
    if (targetName !== undefined && dimensions['entity'] === undefined) dimensions['entity'] = targetName;
  }
  const policy = firstName(details['Alert Policy Names']) ?? asString(details['policy_name']);
  if (policy !== undefined) dimensions['policy'] = policy;
  if (Object.keys(dimensions).length > 0) reading.resource = { dimensions };
  const link = asString(details['IssueURL']) ?? asString(details['incident_url']) ?? clientUrl;
  if (link !== undefined) reading.sourceUrl = link;
  return reading;
}

export const newRelic: MonitorNormaliser = { monitor: 'newrelic', recognises, read };
