import { SandboxRefusal, type AccountState, type SeedUser, type StoredIncident } from './account-state';
import { DEFAULT_ESCALATION_DELAY_MINUTES } from './escalation-timers';
import type { WebhookSubscriptions } from './webhook-subscriptions';

export interface RouteContext {
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  /** The user named by the `From` header; refuses like PagerDuty when it is missing or unknown. */
  fromUser(): SeedUser;
}

export interface RouteAnswer {
  status: number;
  body?: unknown;
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** As in the OpenAPI document, e.g. `/incidents/{id}/notes`. */
  pattern: string;
  /** The OAuth scope a scoped app token needs (REST API keys may do everything). */
  scope: string;
  handle(context: RouteContext): RouteAnswer;
}

export interface RouteDependencies {
  state: AccountState;
  subscriptions: WebhookSubscriptions;
  abilities: string[];
  /** How a repeated acknowledge/resolve is answered: 200 with the incident, or PagerDuty's 1002/1001 error. */
  repeatedStatusAnswer: 'ok' | 'error';
  ping(subscriptionId: string): void;
}

const PAGE_DEFAULT = 25;
const PAGE_MAX = 100;
const DEFAULT_LIST_WINDOW_MS = 30 * 24 * 3600_000;

/** Classic offset pagination (DD-PAG): `limit` (default 25, max 100), `offset`, `more`, `total` (null unless asked). */
function page<T>(items: T[], query: URLSearchParams, key: string): Record<string, unknown> {
  const limit = Math.min(Math.max(Number(query.get('limit') ?? PAGE_DEFAULT) || PAGE_DEFAULT, 1), PAGE_MAX);
  const offset = Math.max(Number(query.get('offset') ?? 0) || 0, 0);
  if (offset + limit > 10_000) throw new SandboxRefusal(400, 2001, 'Invalid Input Provided', ['Offset must be less than 10000']);
  return {
    [key]: items.slice(offset, offset + limit),
    limit,
    offset,
    more: offset + limit < items.length,
    total: query.get('total') === 'true' ? items.length : null,
  };
}

const incidentOut = (incident: StoredIncident) => ({ incident: structuredClone(incident) });

function listIncidents(state: AccountState, query: URLSearchParams): StoredIncident[] {
  const serviceIds = query.getAll('service_ids[]');
  const statuses = query.getAll('statuses[]');
  const allDates = query.get('date_range') === 'all';
  const until = query.has('until') ? Date.parse(query.get('until') as string) : Date.now();
  const since = query.has('since') ? Date.parse(query.get('since') as string) : until - DEFAULT_LIST_WINDOW_MS;
  if (Number.isNaN(since) || Number.isNaN(until))
    throw new SandboxRefusal(400, 2001, 'Invalid Input Provided', ['since and until must be ISO-8601 dates']);
  const descending = query.get('sort_by') === 'created_at:desc';
  return [...state.incidents.values()]
    .filter((incident) => serviceIds.length === 0 || serviceIds.includes(incident.service.id))
    .filter((incident) => statuses.length === 0 || statuses.includes(incident.status))
    .filter((incident) => {
      const at = Date.parse(incident.created_at);
      return allDates || (at >= since && at < until);
    })
    .sort((a, b) => (descending ? -1 : 1) * (Date.parse(a.created_at) - Date.parse(b.created_at) || a.incident_number - b.incident_number))
    .map((incident) => structuredClone(incident));
}

interface IncidentUpdate {
  type?: unknown;
  status?: unknown;
  resolution?: unknown;
  escalation_level?: unknown;
  escalation_policy?: { id?: unknown; type?: unknown };
  assignments?: unknown;
}

/** `assignments: [{assignee: {id, type: "user_reference"}}]`: the user ids, or PagerDuty's 400 for anything else. */
function assigneeIds(assignments: unknown): string[] {
  const ids = Array.isArray(assignments)
    ? assignments.map((assignment: { assignee?: { id?: unknown; type?: unknown } } | null) =>
        assignment?.assignee?.type === 'user_reference' && typeof assignment.assignee.id === 'string' ? assignment.assignee.id : null,
      )
    : [null];
  if (ids.length === 0 || ids.includes(null))
    throw new SandboxRefusal(400, 2001, 'Invalid Input Provided', ['assignments must be a non-empty list of {assignee: user_reference}']);
  return ids as string[];
}

function updateIncident(deps: RouteDependencies, context: RouteContext): RouteAnswer {
  const update = (context.body as { incident?: IncidentUpdate } | null)?.incident;
  if (update === undefined || (update.type !== 'incident' && update.type !== 'incident_reference')) {
    throw new SandboxRefusal(400, 2001, 'Invalid Input Provided', ['incident.type must be "incident" or "incident_reference"']);
  }
  const user = context.fromUser();
  const { state } = deps;
  const incidentId = state.requireIncident(context.params.id).id;
  if (update.escalation_policy !== undefined) {
    if (typeof update.escalation_policy.id !== 'string')
      throw new SandboxRefusal(400, 2001, 'Invalid Input Provided', ['escalation_policy.id is required']);
    state.delegate(incidentId, update.escalation_policy.id, user.id);
  }
  if (update.assignments !== undefined) state.assign(incidentId, assigneeIds(update.assignments), user.id);
  if (update.escalation_level !== undefined) {
    if (typeof update.escalation_level !== 'number')
      throw new SandboxRefusal(400, 2001, 'Invalid Input Provided', ['escalation_level must be an integer']);
    state.escalateToLevel(incidentId, update.escalation_level, user.id);
  }
  if (update.status !== undefined) {
    if (update.status === 'acknowledged') {
      const { changed } = state.acknowledge(incidentId, user.id);
      if (!changed && deps.repeatedStatusAnswer === 'error') throw new SandboxRefusal(400, 1002, 'Incident Already Acknowledged');
    } else if (update.status === 'resolved') {
      const { changed } = state.resolve(incidentId, user.id);
      if (!changed && deps.repeatedStatusAnswer === 'error') throw new SandboxRefusal(400, 1001, 'Incident Already Resolved');
    } else if (update.status === 'triggered') {
      state.retrigger(incidentId, user.id);
    } else {
      throw new SandboxRefusal(400, 2001, 'Invalid Input Provided', ['status must be acknowledged, resolved or triggered']);
    }
  }
  return { status: 200, body: incidentOut(state.requireIncident(incidentId)) };
}

export function restRoutes(deps: RouteDependencies): Route[] {
  const { state, subscriptions } = deps;
  return [
    {
      method: 'GET',
      pattern: '/incidents',
      scope: 'incidents.read',
      handle: ({ query }) => ({ status: 200, body: page(listIncidents(state, query), query, 'incidents') }),
    },
    {
      method: 'GET',
      pattern: '/incidents/{id}',
      scope: 'incidents.read',
      handle: ({ params }) => ({ status: 200, body: incidentOut(state.requireIncident(params.id)) }),
    },
    { method: 'PUT', pattern: '/incidents/{id}', scope: 'incidents.write', handle: (context) => updateIncident(deps, context) },
    {
      method: 'GET',
      pattern: '/incidents/{id}/notes',
      scope: 'incidents.read',
      handle: ({ params }) => ({
        status: 200,
        body: { notes: structuredClone(state.notes.get(state.requireIncident(params.id).id) ?? []) },
      }),
    },
    {
      method: 'POST',
      pattern: '/incidents/{id}/notes',
      scope: 'incidents.write',
      handle: (context) => {
        const content = (context.body as { note?: { content?: unknown } } | null)?.note?.content;
        if (typeof content !== 'string' || content === '')
          throw new SandboxRefusal(400, 2001, 'Invalid Input Provided', ['note.content is required']);
        const user = context.fromUser();
        return { status: 200, body: { note: state.addNote(context.params.id, user.id, content) } };
      },
    },
    {
      method: 'GET',
      pattern: '/incidents/{id}/alerts',
      scope: 'incidents.read',
      handle: ({ params, query }) => {
        const incident = state.requireIncident(params.id);
        const alerts = structuredClone(state.alerts.get(incident.id) ?? []);
        // `include[]=incidents` expands each alert's incident reference into the whole incident, as PagerDuty does.
        const withIncidents = query.getAll('include[]').includes('incidents');
        const listed = withIncidents ? alerts.map((alert) => ({ ...alert, incident: structuredClone(incident) })) : alerts;
        return { status: 200, body: page(listed, query, 'alerts') };
      },
    },
    {
      method: 'GET',
      pattern: '/incidents/{id}/related_change_events',
      scope: 'incidents.read',
      handle: ({ params, query }) => {
        const limit = Math.min(Number(query.get('limit') ?? PAGE_DEFAULT) || PAGE_DEFAULT, PAGE_MAX);
        return { status: 200, body: { change_events: state.relatedChangeEvents(state.requireIncident(params.id)).slice(0, limit) } };
      },
    },
    {
      method: 'GET',
      pattern: '/oncalls',
      scope: 'oncalls.read',
      handle: ({ query }) => {
        const policyIds = query.getAll('escalation_policy_ids[]');
        const now = new Date();
        const oncalls = [...state.escalationPolicies.values()]
          .filter((policy) => policyIds.length === 0 || policyIds.includes(policy.id))
          .flatMap((policy) =>
            policy.levels.flatMap((userIds, index) =>
              userIds.map((userId) => ({
                user: state.userRef(userId),
                escalation_policy: state.policyRef(policy.id),
                escalation_level: index + 1,
                start: new Date(now.getTime() - 3600_000).toISOString(),
                end: new Date(now.getTime() + 7 * 24 * 3600_000).toISOString(),
              })),
            ),
          );
        return { status: 200, body: page(oncalls, query, 'oncalls') };
      },
    },
    {
      method: 'GET',
      pattern: '/users',
      scope: 'users.read',
      handle: ({ query }) => {
        const text = (query.get('query') ?? '').toLowerCase();
        const users = [...state.users.values()].filter(
          (user) => user.name.toLowerCase().includes(text) || user.email.toLowerCase().includes(text),
        );
        return {
          status: 200,
          body: page(
            users.map((user) => state.apiUser(user)),
            query,
            'users',
          ),
        };
      },
    },
    {
      method: 'GET',
      pattern: '/users/{id}',
      scope: 'users.read',
      handle: ({ params }) => {
        const user = state.users.get(params.id);
        if (user === undefined) throw new SandboxRefusal(404, 2100, 'Not Found');
        return { status: 200, body: { user: state.apiUser(user) } };
      },
    },
    {
      method: 'GET',
      pattern: '/services',
      scope: 'services.read',
      handle: ({ query }) => ({
        status: 200,
        body: page(
          [...state.services.keys()].map((id) => serviceOut(state, id)),
          query,
          'services',
        ),
      }),
    },
    {
      method: 'GET',
      pattern: '/services/{id}',
      scope: 'services.read',
      handle: ({ params }) => ({ status: 200, body: { service: serviceOut(state, params.id) } }),
    },
    {
      method: 'GET',
      pattern: '/escalation_policies/{id}',
      scope: 'escalation_policies.read',
      handle: ({ params }) => ({ status: 200, body: { escalation_policy: escalationPolicyOut(state, params.id) } }),
    },
    {
      method: 'GET',
      pattern: '/abilities',
      scope: 'abilities.read',
      handle: () => ({ status: 200, body: { abilities: [...deps.abilities] } }),
    },
    {
      method: 'GET',
      pattern: '/abilities/{id}',
      scope: 'abilities.read',
      handle: ({ params }) => {
        if (!deps.abilities.includes(params.id))
          throw new SandboxRefusal(402, 2014, 'Account does not have the abilities to perform the action');
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      pattern: '/webhook_subscriptions',
      scope: 'webhook_subscriptions.read',
      handle: ({ query }) => ({ status: 200, body: page(subscriptions.list(), query, 'webhook_subscriptions') }),
    },
    {
      method: 'POST',
      pattern: '/webhook_subscriptions',
      scope: 'webhook_subscriptions.write',
      handle: ({ body }) => ({ status: 200, body: { webhook_subscription: subscriptions.create(body) } }),
    },
    {
      method: 'GET',
      pattern: '/webhook_subscriptions/{id}',
      scope: 'webhook_subscriptions.read',
      handle: ({ params }) => ({ status: 200, body: { webhook_subscription: subscriptions.get(params.id) } }),
    },
    {
      method: 'PUT',
      pattern: '/webhook_subscriptions/{id}',
      scope: 'webhook_subscriptions.write',
      handle: ({ params, body }) => ({ status: 200, body: { webhook_subscription: subscriptions.update(params.id, body) } }),
    },
    {
      method: 'DELETE',
      pattern: '/webhook_subscriptions/{id}',
      scope: 'webhook_subscriptions.write',
      handle: ({ params }) => {
        subscriptions.delete(params.id);
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      pattern: '/webhook_subscriptions/{id}/enable',
      scope: 'webhook_subscriptions.write',
      handle: ({ params }) => ({ status: 200, body: { webhook_subscription: subscriptions.enable(params.id) } }),
    },
    {
      method: 'POST',
      pattern: '/webhook_subscriptions/{id}/ping',
      scope: 'webhook_subscriptions.write',
      handle: ({ params }) => {
        deps.ping(params.id);
        return { status: 202 };
      },
    },
  ];
}

function serviceOut(state: AccountState, serviceId: string): Record<string, unknown> {
  const service = state.requireService(serviceId);
  return {
    ...state.serviceRef(service.id),
    type: 'service',
    name: service.name,
    status: 'active',
    escalation_policy: state.policyRef(service.escalationPolicyId),
    // PagerDuty documents null for "none", but its OpenAPI schema types the field integer only: absent when unset.
    ...(service.acknowledgementTimeoutSeconds == null ? {} : { acknowledgement_timeout: service.acknowledgementTimeoutSeconds }),
  };
}

/** The policy with its rules: each level's users as targets and its escalation delay. */
function escalationPolicyOut(state: AccountState, policyId: string): Record<string, unknown> {
  const policy = state.escalationPolicies.get(policyId);
  if (policy === undefined) throw new SandboxRefusal(404, 2100, 'Not Found', [`No escalation policy ${policyId}`]);
  return {
    ...state.policyRef(policy.id),
    type: 'escalation_policy',
    name: policy.name,
    num_loops: 0,
    escalation_rules: policy.levels.map((_userIds, index) => ({
      id: `${policy.id}R${index + 1}`,
      escalation_delay_in_minutes: policy.escalationDelayInMinutes?.[index] ?? DEFAULT_ESCALATION_DELAY_MINUTES,
      targets: state.assigneesAt(policy.id, index + 1).map((user) => ({ ...user, type: 'user_reference' })),
    })),
    services: [...state.services.values()]
      .filter((service) => service.escalationPolicyId === policy.id)
      .map((service) => state.serviceRef(service.id)),
  };
}
