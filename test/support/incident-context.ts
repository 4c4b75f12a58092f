import { agentConfigSchema, type TriagePolicy, type TriageRule } from '../../lib/config/agent-config';
import type { Alert, ChangeEvent, Incident, Oncall } from '../../lib/pagerduty/types';
import type { IncidentContext } from '../../lib/triage/types';

/**
 * Builders for triage inputs shaped like PagerDuty REST answers (`GET /incidents/{id}`, `/alerts`, `/oncalls`, …).
 * Every builder takes overrides; times are relative to `INCIDENT_CREATED_AT` so windows are easy to reason about.
 */

export const INCIDENT_CREATED_AT = '2026-03-10T03:12:00Z';
export const SERVICE = {
  id: 'PSVC001',
  type: 'service_reference',
  summary: 'Checkout API',
  html_url: 'https://acme.pagerduty.com/service-directory/PSVC001',
};
export const ESCALATION_POLICY = {
  id: 'PEP0001',
  type: 'escalation_policy_reference',
  summary: 'Checkout on-call',
  html_url: 'https://acme.pagerduty.com/escalation_policies/PEP0001',
};

/** ISO time `minutes` before (negative: after) the incident's creation. */
export function minutesBefore(minutes: number, from = INCIDENT_CREATED_AT): string {
  return new Date(Date.parse(from) - minutes * 60_000).toISOString();
}

export function hoursBefore(hours: number, from = INCIDENT_CREATED_AT): string {
  return minutesBefore(hours * 60, from);
}

export function daysBefore(days: number, from = INCIDENT_CREATED_AT): string {
  return minutesBefore(days * 24 * 60, from);
}

let sequence = 0;
function nextId(prefix: string): string {
  sequence += 1;
  return `${prefix}${String(sequence).padStart(6, '0')}`;
}

export function makeIncident(overrides: Partial<Incident> = {}): Incident {
  const id = overrides.id ?? nextId('PINC');
  return {
    id,
    type: 'incident',
    number: 1000 + sequence,
    title: 'High error rate on checkout-api',
    status: 'triggered',
    urgency: 'high',
    html_url: `https://acme.pagerduty.com/incidents/${id}`,
    created_at: INCIDENT_CREATED_AT,
    incident_key: null,
    service: SERVICE,
    escalation_policy: ESCALATION_POLICY,
    priority: null,
    teams: [],
    assignments: [],
    acknowledgements: [],
    last_status_change_at: overrides.created_at ?? INCIDENT_CREATED_AT,
    resolved_at: null,
    ...overrides,
  };
}

/** A past incident on the same service, resolved `resolvedAfterMinutes` after it opened (by `resolvedBy` when given). */
export function makePastIncident(
  createdAt: string,
  overrides: Partial<Incident> & { resolvedAfterMinutes?: number; resolvedBy?: { id: string; type: string; summary: string } } = {},
): Incident {
  const { resolvedAfterMinutes = 30, resolvedBy, ...incident } = overrides;
  const resolvedAt = new Date(Date.parse(createdAt) + resolvedAfterMinutes * 60_000).toISOString();
  const past = makeIncident({
    created_at: createdAt,
    status: 'resolved',
    resolved_at: resolvedAt,
    last_status_change_at: resolvedAt,
    ...incident,
  });
  return resolvedBy ? Object.assign(past, { last_status_change_by: resolvedBy }) : past;
}

export function makeAlert(overrides: Partial<Alert> = {}): Alert {
  const id = overrides.id ?? nextId('PALR');
  return {
    id,
    type: 'alert',
    summary: 'checkout-api 5xx rate above 5%',
    status: 'triggered',
    created_at: INCIDENT_CREATED_AT,
    severity: 'critical',
    alert_key: `key-${id}`,
    html_url: `https://acme.pagerduty.com/alerts/${id}`,
    body: { details: { host: 'checkout-api-1', region: 'eu-west-1', metric: 'http_5xx_rate', threshold: '5%', value: '12.4%' } },
    ...overrides,
  };
}

export function makeChangeEvent(overrides: Partial<ChangeEvent> = {}): ChangeEvent {
  const id = overrides.id ?? nextId('PCHG');
  return {
    id,
    summary: 'Deployed checkout-api v2.3.1',
    timestamp: minutesBefore(4),
    source: 'github-actions',
    custom_details: { version: 'v2.3.1' },
    links: [{ href: `https://github.example/acme/checkout/releases/${id}`, text: 'release' }],
    ...overrides,
  };
}

export function makeOncall(name: string, overrides: Partial<Oncall> = {}): Oncall {
  const id = nextId('PUSR');
  return {
    user: { id, type: 'user_reference', summary: name, html_url: `https://acme.pagerduty.com/users/${id}` },
    escalation_level: 1,
    escalation_policy: ESCALATION_POLICY,
    schedule: null,
    start: null,
    end: null,
    ...overrides,
  };
}

export function makeIncidentContext(overrides: Partial<IncidentContext> = {}): IncidentContext {
  return {
    incident: makeIncident(),
    alerts: [makeAlert()],
    recentIncidents: [],
    resolutionNotes: {},
    changeEvents: [],
    oncalls: [makeOncall('Alice Example')],
    unavailable: [],
    gatheredAt: minutesBefore(-1),
    ...overrides,
  };
}

/** The environment's default triage policy (as `AGENT_CONFIG` gives it), with overrides. */
export function makeTriagePolicy(overrides: Partial<TriagePolicy> = {}): TriagePolicy {
  return { ...agentConfigSchema.parse({}).triage, ...overrides };
}

export function makeRule(overrides: Partial<TriageRule> = {}): TriageRule {
  return {
    id: 'checkout-errors',
    match: {},
    hypothesis: 'A bad checkout-api release; it has happened after every unflagged deploy.',
    confidence: 0.9,
    action: 'hold',
    nextSteps: [],
    ...overrides,
  };
}
