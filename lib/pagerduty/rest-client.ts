import type { AuthProvider } from './auth';
import { PagerDutyApiError } from './errors';
import { apiError, exchange, parseJsonAnswer, type RawAnswer } from './http-exchange';
import type {
  Alert,
  AlertsWithIncident,
  ChangeEvent,
  EscalationTarget,
  Incident,
  IncidentListQuery,
  Note,
  Oncall,
  PagedResponse,
  PagerDutyApi,
  PagerDutyResponse,
  ReadOptions,
  User,
  WebhookSubscription,
  WebhookSubscriptionRequest,
} from './types';

export interface PagerDutyClientOptions {
  /** `https://api.pagerduty.com`, `https://api.eu.pagerduty.com`, or a sandbox. */
  apiUrl: string;
  auth: AuthProvider;
  /** The agent's own PagerDuty user: sent as `From` on every incident write. */
  fromEmail: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export const PAGERDUTY_ACCEPT = 'application/vnd.pagerduty+json;version=2';
const DEFAULT_TIMEOUT_MS = 5_000;
const PAGE_LIMIT = 100;
/** PagerDuty refuses offset + limit above 10,000 (400); stop paging before that. */
const MAX_OFFSET = 10_000;
/**
 * Pages one list read may take. Alerts and on-calls: the first page (100) is enough to triage, and one request per
 * read keeps the worker's requests per incident fixed however many alerts an incident holds (an incident with
 * thousands of alerts would otherwise cost up to 100 requests for one read). Other lists stop at DEFAULT_MAX_PAGES.
 */
export const ALERT_PAGES = 1;
export const ONCALL_PAGES = 1;
export const DEFAULT_MAX_PAGES = 10;

/** DD-ERR codes meaning "the incident is already in the state you asked for". */
const ALREADY_RESOLVED = 1001;
const ALREADY_ACKNOWLEDGED = 1002;

type Query = Record<string, string | number | boolean | string[] | undefined>;

interface RequestSpec {
  operation: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  query?: Query;
  body?: unknown;
  /** Incident writes carry `From: fromEmail` (PagerDuty answers 400 without it for account-level keys). */
  from?: boolean;
  /** The caller's deadline: once aborted, the request is abandoned and no further one is sent. */
  signal?: AbortSignal;
}

interface Page {
  more?: boolean;
  total?: number | null;
}

interface PageBounds {
  /** Stop after this many items. */
  maxItems?: number;
  /** Stop after this many pages (default DEFAULT_MAX_PAGES). */
  maxPages?: number;
}

/** Raw incident as the REST API returns it: `incident_number`, and nullable fields sometimes omitted. */
type RawIncident = Omit<Incident, 'number' | 'priority' | 'incident_key' | 'teams' | 'assignments' | 'acknowledgements'> & {
  number?: number;
  incident_number?: number;
  priority?: Incident['priority'];
  incident_key?: string | null;
  teams?: Incident['teams'];
  assignments?: Incident['assignments'];
  acknowledgements?: Incident['acknowledgements'];
};

export function normaliseIncident(raw: RawIncident): Incident {
  return {
    ...raw,
    number: raw.number ?? raw.incident_number ?? 0,
    priority: raw.priority ?? null,
    incident_key: raw.incident_key ?? null,
    teams: raw.teams ?? [],
    assignments: raw.assignments ?? [],
    acknowledgements: raw.acknowledgements ?? [],
    resolved_at: raw.resolved_at ?? null,
  };
}

type RawOncall = Omit<Oncall, 'schedule' | 'start' | 'end'> & Partial<Pick<Oncall, 'schedule' | 'start' | 'end'>>;

const normaliseOncall = (raw: RawOncall): Oncall => ({
  ...raw,
  schedule: raw.schedule ?? null,
  start: raw.start ?? null,
  end: raw.end ?? null,
});

const normaliseAlert = (raw: Alert): Alert => ({ ...raw, body: raw.body ?? null });

type AlertWithIncident = Alert & { incident?: unknown };

/**
 * The incident embedded in an alert by `include[]=incidents`, when it is whole enough to decide on: the incident asked
 * for (not a reference), with its status, assignments and escalation policy, and its acknowledgements listed when it
 * is acknowledged. Anything less would let a missing list read as "nobody acknowledged it": null, and the caller
 * reads the incident itself.
 */
function embeddedIncident(raw: unknown, incidentId: string): Incident | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const candidate = raw as Partial<RawIncident> & { type?: unknown };
  const whole =
    candidate.type === 'incident' &&
    candidate.id === incidentId &&
    (candidate.status === 'triggered' || candidate.status === 'acknowledged' || candidate.status === 'resolved') &&
    Array.isArray(candidate.assignments) &&
    typeof candidate.escalation_policy?.id === 'string' &&
    typeof candidate.service?.id === 'string' &&
    (candidate.status !== 'acknowledged' || Array.isArray(candidate.acknowledgements));
  return whole ? normaliseIncident(candidate as RawIncident) : null;
}

/**
 * PagerDuty REST API v2 client. One call is one HTTP request (lists: one per page, up to the read's page cap), with
 * one exception each:
 * a 401 with a renewable credential (OAuth) is repeated once with a fresh token, and an "already acknowledged /
 * already resolved" refusal is followed by one read of the incident (see `acknowledgeIncident`). No other retries:
 * the worker's retry policy decides.
 */
export function createPagerDutyClient(options: PagerDutyClientOptions): PagerDutyApi {
  const apiUrl = options.apiUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  const buildUrl = (path: string, query: Query | undefined): string => {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const item of value) search.append(key, item);
      else search.append(key, String(value));
    }
    const encoded = search.toString();
    return `${apiUrl}${path}${encoded === '' ? '' : `?${encoded}`}`;
  };

  const send = async (spec: RequestSpec): Promise<{ answer: RawAnswer; startedAt: number }> => {
    const startedAt = Date.now();
    const attempt = async (): Promise<RawAnswer> => {
      const headers: Record<string, string> = {
        Accept: PAGERDUTY_ACCEPT,
        'Content-Type': 'application/json',
        Authorization: await options.auth.authorization(),
      };
      if (spec.from === true) headers.From = options.fromEmail;
      return exchange(
        spec.operation,
        doFetch,
        buildUrl(spec.path, spec.query),
        { method: spec.method, headers, body: spec.body === undefined ? undefined : JSON.stringify(spec.body) },
        timeoutMs,
        spec.signal,
      );
    };
    let answer = await attempt();
    if (answer.status === 401 && options.auth.renewable) {
      options.auth.invalidate();
      answer = await attempt();
    }
    return { answer, startedAt };
  };

  const respond = <T>(answer: RawAnswer, startedAt: number, value: T): PagerDutyResponse<T> => ({
    value,
    status: answer.status,
    requestId: answer.requestId,
    rateLimit: answer.rateLimit,
    durationMs: Date.now() - startedAt,
  });

  const call = async <B, T>(spec: RequestSpec, read: (body: B) => T): Promise<PagerDutyResponse<T>> => {
    const { answer, startedAt } = await send(spec);
    if (!answer.ok) throw apiError(spec.operation, answer);
    return respond(answer, startedAt, read(parseJsonAnswer<B>(spec.operation, answer)));
  };

  /** DELETE (204) and ping (202) answer without a body. */
  const callWithoutBody = async (spec: RequestSpec): Promise<PagerDutyResponse<null>> => {
    const { answer, startedAt } = await send(spec);
    if (!answer.ok) throw apiError(spec.operation, answer);
    return respond(answer, startedAt, null);
  };

  /**
   * Classic offset pagination: pages of 100 until `more` is false, `maxItems` items or `maxPages` pages were read.
   * The first page asks for PagerDuty's `total`, so a capped read can say how many items it left unread.
   */
  const paginate = async <T>(spec: RequestSpec, key: string, bounds: PageBounds = {}): Promise<PagedResponse<T>> => {
    const maxItems = bounds.maxItems ?? Number.POSITIVE_INFINITY;
    const maxPages = bounds.maxPages ?? DEFAULT_MAX_PAGES;
    const items: T[] = [];
    let offset = 0;
    let pages = 0;
    let more = false;
    let total: number | null = null;
    let last: PagerDutyResponse<T[]>;
    const startedAt = Date.now();
    for (;;) {
      const limit = Math.min(PAGE_LIMIT, maxItems - items.length);
      const query = { ...spec.query, limit, offset, total: pages === 0 ? true : undefined };
      last = await call({ ...spec, query }, (body: Page & Partial<Record<string, T[]>>) => {
        more = body.more === true;
        if (typeof body.total === 'number') total = body.total;
        return body[key] ?? [];
      });
      pages += 1;
      items.push(...last.value.slice(0, maxItems - items.length));
      offset += last.value.length;
      if (!more || last.value.length === 0 || items.length >= maxItems || pages >= maxPages || offset + PAGE_LIMIT > MAX_OFFSET) break;
    }
    const counted: number | null = total;
    const notRead = !more ? 0 : counted === null ? null : Math.max(0, counted - items.length);
    return { ...last, value: items, durationMs: Date.now() - startedAt, notRead };
  };

  const incidentPath = (incidentId: string) => `/incidents/${encodeURIComponent(incidentId)}`;

  const getIncident = (incidentId: string, options: ReadOptions = {}) =>
    call(
      { operation: 'getIncident', method: 'GET', path: incidentPath(incidentId), signal: options.signal },
      (body: { incident: RawIncident }) => normaliseIncident(body.incident),
    );

  const updateIncident = (operation: string, incidentId: string, fields: Record<string, unknown>) =>
    call(
      {
        operation,
        method: 'PUT',
        path: incidentPath(incidentId),
        from: true,
        body: { incident: { type: 'incident_reference', ...fields } },
      },
      (body: { incident: RawIncident }) => normaliseIncident(body.incident),
    );

  /**
   * PagerDuty may refuse a repeated status change with error 1002 (already acknowledged) or 1001 (already resolved)
   * instead of answering 200. Both mean the requested state holds, so the call counts as done: the incident is read
   * once and returned with `alreadyDone: true`, keeping the refusal's status and request id for the audit trail.
   */
  const updateStatus = async (operation: string, incidentId: string, fields: Record<string, unknown>, alreadyCode: number) => {
    try {
      return await updateIncident(operation, incidentId, fields);
    } catch (error) {
      if (!(error instanceof PagerDutyApiError) || error.code !== alreadyCode) throw error;
      const current = await getIncident(incidentId);
      return { ...current, status: error.status, requestId: error.requestId, alreadyDone: true };
    }
  };

  return {
    getIncident,

    listIncidents: (query: IncidentListQuery, options: ReadOptions = {}) =>
      paginate<RawIncident>(
        {
          operation: 'listIncidents',
          method: 'GET',
          path: '/incidents',
          signal: options.signal,
          // Newest first, so that `max` keeps the most recent incidents.
          query: {
            'service_ids[]': query.serviceIds,
            since: query.since,
            until: query.until,
            'statuses[]': query.statuses,
            sort_by: 'created_at:desc',
          },
        },
        'incidents',
        { maxItems: query.max },
      ).then((response) => ({ ...response, value: response.value.map(normaliseIncident) })),

    acknowledgeIncident: (incidentId: string) =>
      updateStatus('acknowledgeIncident', incidentId, { status: 'acknowledged' }, ALREADY_ACKNOWLEDGED),

    escalateIncident: (incidentId: string, target: EscalationTarget) =>
      updateIncident(
        'escalateIncident',
        incidentId,
        target.mode === 'escalation_policy'
          ? { escalation_policy: { id: target.escalationPolicyId, type: 'escalation_policy_reference' } }
          : { escalation_level: target.level },
      ),

    assignIncident: (incidentId: string, userIds: string[]) =>
      updateIncident('assignIncident', incidentId, {
        assignments: userIds.map((id) => ({ assignee: { id, type: 'user_reference' } })),
      }),

    resolveIncident: (incidentId: string, resolution: string) =>
      updateStatus('resolveIncident', incidentId, { status: 'resolved', resolution }, ALREADY_RESOLVED),

    listNotes: (incidentId: string, options: ReadOptions = {}) =>
      call(
        { operation: 'listNotes', method: 'GET', path: `${incidentPath(incidentId)}/notes`, signal: options.signal },
        (body: { notes: Note[] }) => body.notes,
      ),

    createNote: (incidentId: string, content: string) =>
      call(
        { operation: 'createNote', method: 'POST', path: `${incidentPath(incidentId)}/notes`, from: true, body: { note: { content } } },
        (body: { note: Note }) => body.note,
      ),

    listAlerts: (incidentId: string, options: ReadOptions = {}) =>
      paginate<Alert>(
        { operation: 'listAlerts', method: 'GET', path: `${incidentPath(incidentId)}/alerts`, signal: options.signal },
        'alerts',
        { maxPages: ALERT_PAGES },
      ).then((response) => ({ ...response, value: response.value.map(normaliseAlert) })),

    listAlertsWithIncident: async (incidentId: string, options: ReadOptions = {}): Promise<AlertsWithIncident> => {
      const response = await paginate<AlertWithIncident>(
        {
          operation: 'listAlertsWithIncident',
          method: 'GET',
          path: `${incidentPath(incidentId)}/alerts`,
          query: { 'include[]': ['incidents'] },
          signal: options.signal,
        },
        'alerts',
        { maxPages: ALERT_PAGES },
      );
      // Every alert embeds the same incident; the first whole one is as fresh as a read of the incident.
      const incident = response.value.map((alert) => embeddedIncident(alert.incident, incidentId)).find((found) => found !== null) ?? null;
      const alerts = response.value.map(({ incident: _embedded, ...alert }) => normaliseAlert(alert));
      return { ...response, value: alerts, incident };
    },

    listRelatedChangeEvents: (incidentId: string, options: ReadOptions = {}) =>
      call(
        {
          operation: 'listRelatedChangeEvents',
          method: 'GET',
          path: `${incidentPath(incidentId)}/related_change_events`,
          signal: options.signal,
        },
        (body: { change_events?: ChangeEvent[] }) => body.change_events ?? [],
      ),

    listOncalls: (escalationPolicyIds: string[], options: ReadOptions = {}) =>
      paginate<RawOncall>(
        {
          operation: 'listOncalls',
          method: 'GET',
          path: '/oncalls',
          query: { 'escalation_policy_ids[]': escalationPolicyIds },
          signal: options.signal,
        },
        'oncalls',
        { maxPages: ONCALL_PAGES },
      ).then((response) => ({ ...response, value: response.value.map(normaliseOncall) })),

    findUsersByEmail: (email: string) =>
      // `query` matches names and emails by substring; only the exact email (case-insensitive) is the user asked for.
      paginate<User>({ operation: 'findUsersByEmail', method: 'GET', path: '/users', query: { query: email } }, 'users').then(
        (response) => ({
          ...response,
          value: response.value.filter((user) => user.email.toLowerCase() === email.toLowerCase()),
        }),
      ),

    listAbilities: () =>
      call({ operation: 'listAbilities', method: 'GET', path: '/abilities' }, (body: { abilities: string[] }) => body.abilities),

    listWebhookSubscriptions: () =>
      paginate<WebhookSubscription>(
        { operation: 'listWebhookSubscriptions', method: 'GET', path: '/webhook_subscriptions' },
        'webhook_subscriptions',
      ),

    createWebhookSubscription: (request: WebhookSubscriptionRequest) =>
      call(
        {
          operation: 'createWebhookSubscription',
          method: 'POST',
          path: '/webhook_subscriptions',
          body: {
            webhook_subscription: {
              type: 'webhook_subscription',
              delivery_method: { type: 'http_delivery_method', url: request.url },
              events: request.events,
              filter: request.filter,
              ...(request.description === undefined ? {} : { description: request.description }),
              ...(request.active === undefined ? {} : { active: request.active }),
            },
          },
        },
        (body: { webhook_subscription: WebhookSubscription }) => body.webhook_subscription,
      ),

    setWebhookSubscriptionActive: (subscriptionId: string, active: boolean) =>
      call(
        {
          operation: 'updateWebhookSubscription',
          method: 'PUT',
          path: `/webhook_subscriptions/${encodeURIComponent(subscriptionId)}`,
          body: { webhook_subscription: { active } },
        },
        (body: { webhook_subscription: WebhookSubscription }) => body.webhook_subscription,
      ),

    deleteWebhookSubscription: (subscriptionId: string) =>
      callWithoutBody({
        operation: 'deleteWebhookSubscription',
        method: 'DELETE',
        path: `/webhook_subscriptions/${encodeURIComponent(subscriptionId)}`,
      }),

    enableWebhookSubscription: (subscriptionId: string) =>
      call(
        {
          operation: 'enableWebhookSubscription',
          method: 'POST',
          path: `/webhook_subscriptions/${encodeURIComponent(subscriptionId)}/enable`,
        },
        (body: { webhook_subscription: WebhookSubscription }) => body.webhook_subscription,
      ),

    pingWebhookSubscription: (subscriptionId: string) =>
      callWithoutBody({
        operation: 'pingWebhookSubscription',
        method: 'POST',
        path: `/webhook_subscriptions/${encodeURIComponent(subscriptionId)}/ping`,
      }),
  };
}
