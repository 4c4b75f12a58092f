/**
 * PagerDuty REST API v2 resources as pd-agent reads them (the subset the agent uses, per PagerDuty's OpenAPI
 * document), and the client interface the worker, the handback function, the rotation function and the CLI share.
 * The sandbox (`local/sandbox`) serves the same shapes.
 */

export interface Reference {
  id: string;
  type: string;
  summary?: string;
  self?: string | null;
  html_url?: string | null;
}

export type IncidentStatus = 'triggered' | 'acknowledged' | 'resolved';
export type Urgency = 'high' | 'low';

export interface Incident {
  id: string;
  type: 'incident';
  number: number;
  title: string;
  status: IncidentStatus;
  urgency: Urgency;
  html_url: string;
  created_at: string;
  incident_key: string | null;
  service: Reference;
  escalation_policy: Reference;
  priority: (Reference & { name?: string }) | null;
  teams: Reference[];
  assignments: { at: string; assignee: Reference }[];
  acknowledgements: { at: string; acknowledger: Reference }[];
  last_status_change_at?: string;
  resolved_at?: string | null;
}

export interface Alert {
  id: string;
  type: 'alert';
  summary: string;
  status: 'triggered' | 'resolved';
  created_at: string;
  severity?: string;
  alert_key?: string;
  html_url?: string;
  body: { details?: Record<string, unknown> | string; contexts?: unknown[]; [key: string]: unknown } | null;
}

export interface Note {
  id: string;
  content: string;
  created_at: string;
  user: Reference;
}

export interface ChangeEvent {
  id: string;
  summary: string;
  timestamp: string;
  source?: string | null;
  custom_details?: Record<string, unknown> | null;
  links?: { href: string; text?: string }[];
}

export interface Oncall {
  user: Reference;
  escalation_level: number;
  escalation_policy: Reference;
  schedule: Reference | null;
  start: string | null;
  end: string | null;
}

export interface User {
  id: string;
  type: 'user';
  name: string;
  email: string;
}

export interface WebhookSubscription {
  id: string;
  type: 'webhook_subscription';
  active: boolean;
  description?: string;
  events: string[];
  filter: { type: 'service_reference' | 'team_reference' | 'account_reference'; id?: string };
  delivery_method: {
    type: 'http_delivery_method';
    url: string;
    /** Only present in the create response; PagerDuty never returns it again. */
    secret: string | null;
    temporarily_disabled: boolean;
    custom_headers?: { name: string; value: string }[];
  };
}

/** The `ratelimit-*` headers of one answer; null where PagerDuty sent none. */
export interface RateLimit {
  limit: number | null;
  remaining: number | null;
  /** Seconds until the window resets. */
  resetSeconds: number | null;
}

/** One HTTP exchange with PagerDuty: what the audit trail records of every mutation. */
export interface PagerDutyResponse<T> {
  value: T;
  status: number;
  requestId: string | null;
  rateLimit: RateLimit;
  durationMs: number;
  /**
   * Set by `acknowledgeIncident`/`resolveIncident` when PagerDuty refused the change because the incident was already
   * in that state (error 1002/1001): `value` is then the incident as read right after, `status`/`requestId` are the
   * refusal's. A 200 for an already acknowledged incident is not flagged (PagerDuty does not say so).
   */
  alreadyDone?: boolean;
}

/** A list read with a page cap: what was read, and how much PagerDuty holds beyond it. */
export interface PagedResponse<T> extends PagerDutyResponse<T[]> {
  /**
   * Items left unread because the read's page cap was reached: 0 when the list was read whole, the count when
   * PagerDuty reported its total (`total=true`), null when more exist and PagerDuty did not say how many.
   */
  notRead: number | null;
}

export interface AlertsWithIncident extends PagedResponse<Alert> {
  incident: Incident | null;
}

/** What the caller of a read can bound: its own deadline. Once `signal` aborts, no further request is sent. */
export interface ReadOptions {
  signal?: AbortSignal;
}

export type EscalationTarget = { mode: 'escalation_policy'; escalationPolicyId: string } | { mode: 'next_level'; level: number };

export interface IncidentListQuery {
  serviceIds?: string[];
  since?: string;
  until?: string;
  statuses?: IncidentStatus[];
  /** Stop after this many incidents (pages are fetched until then). */
  max?: number;
}

export interface WebhookSubscriptionRequest {
  url: string;
  events: string[];
  filter: WebhookSubscription['filter'];
  description?: string;
  /** false creates it without deliveries until it is activated (PagerDuty's default is true). */
  active?: boolean;
}

/** Every call is one HTTP request (no retries inside): the caller's retry policy decides what to repeat. */
export interface PagerDutyApi {
  getIncident(incidentId: string, options?: ReadOptions): Promise<PagerDutyResponse<Incident>>;
  listIncidents(query: IncidentListQuery, options?: ReadOptions): Promise<PagerDutyResponse<Incident[]>>;
  /** `PUT /incidents/{id}` status acknowledged, `From: fromEmail`. */
  acknowledgeIncident(incidentId: string): Promise<PagerDutyResponse<Incident>>;
  /** Hands the incident to humans: reassign to its escalation policy, or raise the escalation level. */
  escalateIncident(incidentId: string, target: EscalationTarget): Promise<PagerDutyResponse<Incident>>;
  /**
   * `PUT /incidents/{id}` with `assignments` of users: pages them directly. PagerDuty then marks the incident
   * `assigned_via: direct_assignment`, which no longer escalates up its policy on its own.
   */
  assignIncident(incidentId: string, userIds: string[]): Promise<PagerDutyResponse<Incident>>;
  resolveIncident(incidentId: string, resolution: string): Promise<PagerDutyResponse<Incident>>;
  listNotes(incidentId: string, options?: ReadOptions): Promise<PagerDutyResponse<Note[]>>;
  createNote(incidentId: string, content: string): Promise<PagerDutyResponse<Note>>;
  /** The first ALERT_PAGES pages only: enough to triage, and the request count stays fixed whatever the incident holds. */
  listAlerts(incidentId: string, options?: ReadOptions): Promise<PagedResponse<Alert>>;
  /**
   * The alerts with their incident embedded (`include[]=incidents`): one request answers both "who holds it now" and
   * "what do its alerts say". `incident` is null when no alert carried a whole incident (none has alerts, or the
   * embedded object lacks what the agent decides on); the caller then reads the incident itself.
   */
  listAlertsWithIncident(incidentId: string, options?: ReadOptions): Promise<AlertsWithIncident>;
  listRelatedChangeEvents(incidentId: string, options?: ReadOptions): Promise<PagerDutyResponse<ChangeEvent[]>>;
  /** The first ONCALL_PAGES pages only. */
  listOncalls(escalationPolicyIds: string[], options?: ReadOptions): Promise<PagedResponse<Oncall>>;
  /** `GET /users?query=<email>`: exact-email matches only. */
  findUsersByEmail(email: string): Promise<PagerDutyResponse<User[]>>;
  listAbilities(): Promise<PagerDutyResponse<string[]>>;
  listWebhookSubscriptions(): Promise<PagerDutyResponse<WebhookSubscription[]>>;
  createWebhookSubscription(request: WebhookSubscriptionRequest): Promise<PagerDutyResponse<WebhookSubscription>>;
  /** `PUT /webhook_subscriptions/{id}` with `active`: starts (or stops) deliveries. */
  setWebhookSubscriptionActive(subscriptionId: string, active: boolean): Promise<PagerDutyResponse<WebhookSubscription>>;
  deleteWebhookSubscription(subscriptionId: string): Promise<PagerDutyResponse<null>>;
  enableWebhookSubscription(subscriptionId: string): Promise<PagerDutyResponse<WebhookSubscription>>;
  pingWebhookSubscription(subscriptionId: string): Promise<PagerDutyResponse<null>>;
}

/** Events API v2 (`POST /v2/enqueue`): the agent's alerts about its own health. */
export interface EventsApiEvent {
  routingKey: string;
  action: 'trigger' | 'acknowledge' | 'resolve';
  dedupKey: string;
  summary: string;
  source: string;
  severity: 'critical' | 'error' | 'warning' | 'info';
  customDetails?: Record<string, unknown>;
}

export interface EventsApi {
  send(event: EventsApiEvent): Promise<PagerDutyResponse<{ dedup_key: string }>>;
}
