import { randomBytes } from 'node:crypto';
import type { Alert, ChangeEvent, IncidentStatus, Note, Reference, Urgency, User } from '../../lib/pagerduty/types';
import { WriteRefusals } from './refusals';
import { SandboxRefusal } from './sandbox-refusal';

export { SandboxRefusal } from './sandbox-refusal';

/**
 * The sandbox's PagerDuty account: users, escalation policies, services, incidents with their alerts and notes, change
 * events. Resources are kept in the REST API's shapes (as the OpenAPI document describes them, e.g.
 * `incident_number`); every incident change is reported to `onChange`, which is how webhooks get emitted.
 */

export interface SeedUser {
  id: string;
  name: string;
  email: string;
}

export interface SeedEscalationPolicy {
  id: string;
  name: string;
  /** User ids on call at each level, level 1 first. */
  levels: string[][];
  /**
   * Each level's `escalation_delay_in_minutes`: a triggered incident still unacknowledged after it escalates to the
   * next level (default 30 for every level). The last level never escalates further (`num_loops` 0).
   */
  escalationDelayInMinutes?: number[];
}

export interface SeedService {
  id: string;
  name: string;
  escalationPolicyId: string;
  teamIds?: string[];
  /** Events API v2 routing key of the service's integration: triggers sent with it open incidents here. */
  integrationKey?: string;
  /** The service's `acknowledgement_timeout`: an incident acknowledged this long ago triggers again (null/absent: never). */
  acknowledgementTimeoutSeconds?: number | null;
}

export interface SeedAlert {
  summary: string;
  severity?: 'critical' | 'error' | 'warning' | 'info';
  details?: Record<string, unknown>;
  alertKey?: string;
}

export interface SeedNote {
  content: string;
  userId: string;
  createdAt: string;
}

export interface SeedIncident {
  serviceId: string;
  title: string;
  createdAt: string;
  status?: IncidentStatus;
  urgency?: Urgency;
  resolvedAt?: string;
  /** Who resolved or acknowledged it (defaults to the first user on level 1). */
  userId?: string;
  incidentKey?: string;
  alerts?: SeedAlert[];
  notes?: SeedNote[];
}

export interface SeedChangeEvent {
  serviceId: string;
  summary: string;
  timestamp: string;
  source?: string;
  customDetails?: Record<string, unknown>;
  links?: { href: string; text?: string }[];
}

export interface SandboxSeed {
  users?: SeedUser[];
  escalationPolicies?: SeedEscalationPolicy[];
  services?: SeedService[];
  incidents?: SeedIncident[];
  changeEvents?: SeedChangeEvent[];
}

/** An incident placed in the account as it already is, e.g. the one a webhook fixture describes. */
export interface PlacedIncidentInput {
  id: string;
  serviceId: string;
  title: string;
  urgency?: Urgency;
  alerts?: SeedAlert[];
}

export interface TriggerIncidentInput {
  serviceId: string;
  title: string;
  urgency?: Urgency;
  priority?: string;
  incidentKey?: string;
  alerts?: SeedAlert[];
  /** Default: the service's integration triggers it (webhook agent = the service). */
  triggeredByUserId?: string;
}

/** The REST `Incident` as stored and served (OpenAPI field names). */
export interface StoredIncident {
  id: string;
  type: 'incident';
  summary: string;
  self: string;
  html_url: string;
  incident_number: number;
  title: string;
  created_at: string;
  updated_at: string;
  status: IncidentStatus;
  incident_key?: string;
  service: Reference;
  assignments: { at: string; assignee: Reference }[];
  assigned_via: 'escalation_policy' | 'direct_assignment';
  last_status_change_at: string;
  resolved_at?: string;
  escalation_policy: Reference;
  teams: Reference[];
  acknowledgements: { at: string; acknowledger: Reference }[];
  urgency: Urgency;
  priority?: Reference & { name: string };
  incident_type: { name: string };
}

export type IncidentEventType =
  | 'incident.triggered'
  | 'incident.acknowledged'
  | 'incident.unacknowledged'
  | 'incident.annotated'
  | 'incident.delegated'
  | 'incident.escalated'
  | 'incident.reassigned'
  | 'incident.resolved'
  | 'incident.reopened';

export interface IncidentChange {
  eventType: IncidentEventType;
  incident: StoredIncident;
  /** Who caused it: a user (the `From` user for API writes) or the service whose integration triggered it. */
  agent: Reference;
  note?: Note;
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export function randomId(prefix: string, length: number): string {
  const bytes = randomBytes(length);
  let id = prefix;
  for (const byte of bytes) id += ID_ALPHABET[byte % ID_ALPHABET.length];
  return id;
}

/** Change events count as related to an incident when they hit its service within this window before it. */
const RELATED_CHANGE_WINDOW_MS = 24 * 3600_000;

export class AccountState {
  readonly users = new Map<string, SeedUser>();
  readonly escalationPolicies = new Map<string, SeedEscalationPolicy>();
  readonly services = new Map<string, SeedService>();
  readonly incidents = new Map<string, StoredIncident>();
  readonly alerts = new Map<string, Alert[]>();
  readonly notes = new Map<string, Note[]>();
  readonly changeEvents: (ChangeEvent & { serviceId: string })[] = [];
  /** Every acknowledgement ever made, kept across escalations (which clear the incident's own list). */
  private readonly acknowledgementLog = new Map<string, { at: string; acknowledger: Reference }[]>();
  /** The policy level paging each incident (PagerDuty keeps it internally; its REST Incident has no such field). */
  private readonly levels = new Map<string, number>();
  /** Escalations and direct assignments PagerDuty refuses, as tests configure them. */
  readonly refusals = new WriteRefusals();
  private nextNumber = 1;

  constructor(
    private readonly apiUrl: string,
    private readonly webUrl: string,
    private readonly onChange: (change: IncidentChange) => void,
    private readonly now: () => Date = () => new Date(),
  ) {}

  seed(seed: SandboxSeed): void {
    for (const user of seed.users ?? []) this.users.set(user.id, user);
    for (const policy of seed.escalationPolicies ?? []) this.escalationPolicies.set(policy.id, policy);
    for (const service of seed.services ?? []) this.services.set(service.id, service);
    for (const change of seed.changeEvents ?? []) this.addChangeEvent(change);
    for (const incident of seed.incidents ?? []) this.addPastIncident(incident);
  }

  userRef(userId: string): Reference {
    const user = this.users.get(userId);
    if (user === undefined) throw new SandboxRefusal(404, 2100, 'Not Found', [`No user ${userId} in the sandbox account`]);
    return {
      id: user.id,
      type: 'user_reference',
      summary: user.name,
      self: `${this.apiUrl}/users/${user.id}`,
      html_url: `${this.webUrl}/users/${user.id}`,
    };
  }

  userByEmail(email: string): SeedUser | undefined {
    return [...this.users.values()].find((user) => user.email.toLowerCase() === email.toLowerCase());
  }

  apiUser(user: SeedUser): User & Record<string, unknown> {
    return {
      id: user.id,
      type: 'user',
      name: user.name,
      email: user.email,
      summary: user.name,
      self: `${this.apiUrl}/users/${user.id}`,
      html_url: `${this.webUrl}/users/${user.id}`,
    };
  }

  serviceRef(serviceId: string): Reference {
    const service = this.requireService(serviceId);
    return {
      id: service.id,
      type: 'service_reference',
      summary: service.name,
      self: `${this.apiUrl}/services/${service.id}`,
      html_url: `${this.webUrl}/service-directory/${service.id}`,
    };
  }

  policyRef(policyId: string): Reference {
    const policy = this.escalationPolicies.get(policyId);
    if (policy === undefined) throw new SandboxRefusal(400, 1014, 'Escalation Policy Not Found', [`No escalation policy ${policyId}`]);
    return {
      id: policy.id,
      type: 'escalation_policy_reference',
      summary: policy.name,
      self: `${this.apiUrl}/escalation_policies/${policy.id}`,
      html_url: `${this.webUrl}/escalation_policies/${policy.id}`,
    };
  }

  requireService(serviceId: string): SeedService {
    const service = this.services.get(serviceId);
    if (service === undefined) throw new SandboxRefusal(404, 2100, 'Not Found', [`No service ${serviceId} in the sandbox account`]);
    return service;
  }

  requireIncident(incidentId: string): StoredIncident {
    const incident =
      this.incidents.get(incidentId) ?? [...this.incidents.values()].find((item) => String(item.incident_number) === incidentId);
    if (incident === undefined) throw new SandboxRefusal(404, 2100, 'Not Found', [`Incident ${incidentId} not found`]);
    return incident;
  }

  /** The users on call at a level of a policy: the sandbox's schedules are fixed per level. */
  assigneesAt(policyId: string, level: number): Reference[] {
    const policy = this.escalationPolicies.get(policyId);
    return (policy?.levels[level - 1] ?? []).map((userId) => this.userRef(userId));
  }

  acknowledgementHistory(incidentId: string): { at: string; acknowledger: Reference }[] {
    return this.acknowledgementLog.get(incidentId) ?? [];
  }

  triggerIncident(input: TriggerIncidentInput): StoredIncident {
    const incident = this.createIncident({
      serviceId: input.serviceId,
      title: input.title,
      urgency: input.urgency ?? 'high',
      incidentKey: input.incidentKey,
      createdAt: this.now().toISOString(),
      priority: input.priority,
    });
    this.addAlerts(incident, input.alerts ?? [{ summary: input.title, severity: 'critical' }], 'triggered');
    const agent = input.triggeredByUserId === undefined ? incident.service : this.userRef(input.triggeredByUserId);
    this.onChange({ eventType: 'incident.triggered', incident, agent });
    return incident;
  }

  /**
   * Makes a triggered incident with the given id exist, emitting no webhook (whoever places it delivers its trigger
   * themselves); an incident that already has the id is left as it is.
   */
  placeIncident(input: PlacedIncidentInput): { incident: StoredIncident; created: boolean } {
    const existing = this.incidents.get(input.id);
    if (existing !== undefined) return { incident: existing, created: false };
    const incident = this.createIncident({
      id: input.id,
      serviceId: input.serviceId,
      title: input.title,
      urgency: input.urgency ?? 'high',
      createdAt: this.now().toISOString(),
    });
    this.addAlerts(incident, input.alerts ?? [{ summary: input.title, severity: 'critical' }], 'triggered');
    return { incident, created: true };
  }

  acknowledge(incidentId: string, userId: string): { incident: StoredIncident; changed: boolean } {
    const incident = this.requireIncident(incidentId);
    if (incident.status === 'acknowledged') return { incident, changed: false };
    const reopened = incident.status === 'resolved';
    const at = this.stamp(incident, 'acknowledged');
    const user = this.userRef(userId);
    incident.acknowledgements = [...incident.acknowledgements, { at, acknowledger: user }];
    this.acknowledgementLog.set(incident.id, [...this.acknowledgementHistory(incident.id), { at, acknowledger: user }]);
    // Acknowledging through the API assigns the incident to the acknowledger (hubot-pager-me#125).
    incident.assignments = [{ at, assignee: user }];
    if (reopened) this.onChange({ eventType: 'incident.reopened', incident, agent: user });
    this.onChange({ eventType: 'incident.acknowledged', incident, agent: user });
    return { incident, changed: true };
  }

  resolve(incidentId: string, userId: string): { incident: StoredIncident; changed: boolean } {
    const incident = this.requireIncident(incidentId);
    if (incident.status === 'resolved') return { incident, changed: false };
    incident.resolved_at = this.stamp(incident, 'resolved');
    incident.assignments = [];
    this.onChange({ eventType: 'incident.resolved', incident, agent: this.userRef(userId) });
    return { incident, changed: true };
  }

  /**
   * Every alert of the incident resolves while the incident stays open: what the agent's `resolve-if-cleared` rules
   * wait for. Alert changes emit no V3 webhook.
   */
  clearAlerts(incidentId: string): void {
    const incident = this.requireIncident(incidentId);
    this.alerts.set(
      incident.id,
      (this.alerts.get(incident.id) ?? []).map((alert) => ({ ...alert, status: 'resolved' as const })),
    );
  }

  /** Back to triggered: from acknowledged it is an unacknowledge, from resolved a reopen. */
  retrigger(incidentId: string, userId: string): { incident: StoredIncident; changed: boolean } {
    const incident = this.requireIncident(incidentId);
    if (incident.status === 'triggered') return { incident, changed: false };
    const eventType = incident.status === 'resolved' ? 'incident.reopened' : 'incident.unacknowledged';
    this.pageLevel(incident, incident.escalation_policy.id, 1);
    this.onChange({ eventType, incident, agent: this.userRef(userId) });
    return { incident, changed: true };
  }

  escalationLevel(incidentId: string): number {
    return this.levels.get(this.requireIncident(incidentId).id) ?? 1;
  }

  /** Reassign to an escalation policy: its level-1 on-call users are paged (webhook `incident.delegated`). */
  delegate(incidentId: string, policyId: string, userId: string): StoredIncident {
    const incident = this.requireIncident(incidentId);
    this.refuseIfResolved(incident);
    this.refusals.check('escalate', incident.id);
    incident.escalation_policy = this.policyRef(policyId);
    this.pageLevel(incident, policyId, 1);
    this.onChange({ eventType: 'incident.delegated', incident, agent: this.userRef(userId) });
    return incident;
  }

  escalateToLevel(incidentId: string, level: number, userId: string): StoredIncident {
    const incident = this.requireIncident(incidentId);
    this.refuseIfResolved(incident);
    this.refusals.check('escalate', incident.id);
    const policy = this.escalationPolicies.get(incident.escalation_policy.id);
    if (policy === undefined || !Number.isInteger(level) || level < 1 || level > policy.levels.length) {
      throw new SandboxRefusal(400, 1006, 'Cannot Escalate', [
        `Escalation level ${level} does not exist on policy ${incident.escalation_policy.id}`,
      ]);
    }
    this.pageLevel(incident, policy.id, level);
    this.onChange({ eventType: 'incident.escalated', incident, agent: this.userRef(userId) });
    return incident;
  }

  /**
   * `assignments` of users: they are paged, the incident triggers again (an acknowledgement ends) and, assigned
   * directly, it no longer escalates up its policy (webhook `incident.reassigned`).
   */
  assign(incidentId: string, assigneeIds: string[], userId: string): StoredIncident {
    const incident = this.requireIncident(incidentId);
    this.refuseIfResolved(incident);
    this.refusals.check('assign', incident.id);
    const assignees = assigneeIds.map((id) => this.userRef(id));
    const at = this.stamp(incident, 'triggered');
    incident.acknowledgements = [];
    incident.assignments = assignees.map((assignee) => ({ at, assignee }));
    incident.assigned_via = 'direct_assignment';
    this.onChange({ eventType: 'incident.reassigned', incident, agent: this.userRef(userId) });
    return incident;
  }

  /** PagerDuty's own escalation when a level's delay passed unacknowledged (at `at`, when it was due). */
  escalateOnTimeout(incidentId: string, at: Date): void {
    const incident = this.requireIncident(incidentId);
    this.pageLevel(incident, incident.escalation_policy.id, this.escalationLevel(incident.id) + 1, at);
    this.onChange({ eventType: 'incident.escalated', incident, agent: incident.service });
  }

  /** The service's acknowledgement timeout passed: the incident triggers again for the same assignees and level. */
  unacknowledgeOnTimeout(incidentId: string, at: Date): void {
    const incident = this.requireIncident(incidentId);
    this.stamp(incident, 'triggered', at);
    incident.acknowledgements = [];
    this.onChange({ eventType: 'incident.unacknowledged', incident, agent: incident.service });
  }

  addNote(incidentId: string, userId: string, content: string, createdAt?: string): Note {
    const incident = this.requireIncident(incidentId);
    const notes = this.notes.get(incident.id) ?? [];
    if (notes.length >= 2000)
      throw new SandboxRefusal(400, 2001, 'Invalid Input Provided', ['A maximum of 2000 notes can be added to an incident']);
    const at = createdAt ?? this.now().toISOString();
    const note = {
      id: randomId('P', 6),
      user: this.userRef(userId),
      channel: { summary: 'The PagerDuty website or APIs' },
      content,
      created_at: at,
      updated_at: at,
    };
    notes.push(note);
    this.notes.set(incident.id, notes);
    if (createdAt === undefined) this.onChange({ eventType: 'incident.annotated', incident, agent: note.user, note });
    return note;
  }

  relatedChangeEvents(incident: StoredIncident): ChangeEvent[] {
    const createdAt = Date.parse(incident.created_at);
    return this.changeEvents
      .filter((change) => change.serviceId === incident.service.id)
      .filter((change) => {
        const at = Date.parse(change.timestamp);
        return at <= createdAt && createdAt - at <= RELATED_CHANGE_WINDOW_MS;
      })
      .sort((a, b) => Date.parse(b.timestamp) - Date.parse(a.timestamp))
      .map(({ serviceId, ...change }) => ({
        ...change,
        services: [this.serviceRef(serviceId)],
        correlation_reason: { reason: 'related_service' },
      }));
  }

  addChangeEvent(change: SeedChangeEvent): void {
    this.changeEvents.push({
      id: randomId('Q', 13),
      type: 'change_event',
      serviceId: change.serviceId,
      summary: change.summary,
      timestamp: change.timestamp,
      source: change.source ?? 'sandbox',
      custom_details: change.customDetails ?? {},
      links: change.links ?? [],
    } as ChangeEvent & { serviceId: string });
  }

  private addPastIncident(seed: SeedIncident): void {
    const incident = this.createIncident({
      serviceId: seed.serviceId,
      title: seed.title,
      urgency: seed.urgency ?? 'high',
      incidentKey: seed.incidentKey,
      createdAt: seed.createdAt,
    });
    const status = seed.status ?? 'resolved';
    const userId = seed.userId ?? this.escalationPolicies.get(incident.escalation_policy.id)?.levels[0]?.[0];
    const at = seed.resolvedAt ?? seed.createdAt;
    if (status !== 'triggered' && userId !== undefined) {
      incident.acknowledgements = [{ at, acknowledger: this.userRef(userId) }];
    }
    incident.status = status;
    incident.last_status_change_at = at;
    incident.updated_at = at;
    if (status === 'resolved') {
      incident.resolved_at = at;
      incident.assignments = [];
    }
    this.addAlerts(incident, seed.alerts ?? [{ summary: seed.title }], status === 'resolved' ? 'resolved' : 'triggered');
    for (const note of seed.notes ?? []) this.addNote(incident.id, note.userId, note.content, note.createdAt);
  }

  private createIncident(input: {
    id?: string;
    serviceId: string;
    title: string;
    urgency: Urgency;
    incidentKey?: string;
    createdAt: string;
    priority?: string;
  }): StoredIncident {
    const service = this.requireService(input.serviceId);
    const id = input.id ?? randomId('Q', 13);
    const number = this.nextNumber++;
    const incident: StoredIncident = {
      id,
      type: 'incident',
      summary: `[#${number}] ${input.title}`,
      self: `${this.apiUrl}/incidents/${id}`,
      html_url: `${this.webUrl}/incidents/${id}`,
      incident_number: number,
      title: input.title,
      created_at: input.createdAt,
      updated_at: input.createdAt,
      status: 'triggered',
      incident_key: input.incidentKey ?? randomId('', 32).toLowerCase(),
      service: this.serviceRef(service.id),
      assignments: this.assigneesAt(service.escalationPolicyId, 1).map((assignee) => ({ at: input.createdAt, assignee })),
      assigned_via: 'escalation_policy',
      last_status_change_at: input.createdAt,
      escalation_policy: this.policyRef(service.escalationPolicyId),
      teams: (service.teamIds ?? []).map((teamId) => ({
        id: teamId,
        type: 'team_reference',
        summary: teamId,
        self: `${this.apiUrl}/teams/${teamId}`,
        html_url: `${this.webUrl}/teams/${teamId}`,
      })),
      acknowledgements: [],
      urgency: input.urgency,
      incident_type: { name: 'incident_default' },
      ...(input.priority === undefined
        ? {}
        : {
            priority: {
              id: `PRI${input.priority.toUpperCase()}`,
              type: 'priority_reference',
              summary: input.priority,
              name: input.priority,
            },
          }),
    };
    this.incidents.set(id, incident);
    return incident;
  }

  private addAlerts(incident: StoredIncident, alerts: SeedAlert[], status: 'triggered' | 'resolved'): void {
    this.alerts.set(
      incident.id,
      alerts.map((alert) => ({
        id: randomId('Q', 13),
        type: 'alert',
        summary: alert.summary,
        status,
        created_at: incident.created_at,
        severity: alert.severity ?? 'critical',
        alert_key: alert.alertKey ?? incident.incident_key ?? incident.id,
        html_url: `${this.webUrl}/alerts/${incident.id}`,
        service: incident.service,
        incident: {
          id: incident.id,
          type: 'incident_reference',
          summary: incident.summary,
          self: incident.self,
          html_url: incident.html_url,
        },
        suppressed: false,
        body: { type: 'alert_body', contexts: [], details: alert.details ?? {} },
      })),
    );
  }

  private refuseIfResolved(incident: StoredIncident): void {
    if (incident.status === 'resolved') throw new SandboxRefusal(400, 1001, 'Incident Already Resolved');
  }

  private pageLevel(incident: StoredIncident, policyId: string, level: number, when?: Date): void {
    const at = this.stamp(incident, 'triggered', when);
    this.levels.set(incident.id, level);
    incident.acknowledgements = [];
    delete incident.resolved_at;
    incident.assignments = this.assigneesAt(policyId, level).map((assignee) => ({ at, assignee }));
    incident.assigned_via = 'escalation_policy';
  }

  private stamp(incident: StoredIncident, status: IncidentStatus, when = this.now()): string {
    const at = when.toISOString();
    incident.status = status;
    incident.updated_at = at;
    incident.last_status_change_at = at;
    return at;
  }
}
