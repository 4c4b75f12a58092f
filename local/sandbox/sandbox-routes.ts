import { SandboxRefusal, type AccountState, type SeedAlert } from './account-state';
import type { Route, RouteContext, RouteAnswer } from './rest-routes';

/**
 * Routes real PagerDuty does not have, under `/sandbox/`, for tools that need the account in a given state (e.g.
 * `pd-agent send-test --local` making a fixture's incident exist before delivering its trigger).
 */

interface PlacedIncidentBody {
  title?: unknown;
  service?: { id?: unknown };
  urgency?: unknown;
  alerts?: unknown;
}

const INCIDENT_ID = /^[A-Z0-9]{1,32}$/i;

function isSeedAlert(value: unknown): value is SeedAlert {
  return typeof value === 'object' && value !== null && typeof (value as { summary?: unknown }).summary === 'string';
}

function placeIncident(state: AccountState, context: RouteContext): RouteAnswer {
  const id = context.params.id;
  const body = (context.body as { incident?: PlacedIncidentBody } | null)?.incident;
  const problems: string[] = [];
  if (!INCIDENT_ID.test(id)) problems.push('the incident id must be 1-32 letters and digits');
  if (typeof body?.title !== 'string' || body.title === '') problems.push('incident.title is required');
  if (typeof body?.service?.id !== 'string') problems.push('incident.service.id is required');
  if (body?.urgency !== undefined && body.urgency !== 'high' && body.urgency !== 'low')
    problems.push('incident.urgency must be high or low');
  if (body?.alerts !== undefined && !(Array.isArray(body.alerts) && body.alerts.every(isSeedAlert)))
    problems.push('incident.alerts must be a list of {summary, severity?, details?}');
  if (problems.length > 0 || body === undefined) throw new SandboxRefusal(400, 2001, 'Invalid Input Provided', problems);
  const requested = body.service?.id as string;
  const serviceId = state.services.has(requested) ? requested : [...state.services.keys()][0];
  if (serviceId === undefined)
    throw new SandboxRefusal(400, 2001, 'Invalid Input Provided', ['the sandbox account has no service: seed one first']);
  const { incident, created } = state.placeIncident({
    id,
    serviceId,
    title: body.title as string,
    urgency: body.urgency as 'high' | 'low' | undefined,
    alerts: body.alerts as SeedAlert[] | undefined,
  });
  return {
    status: created ? 201 : 200,
    body: {
      incident: structuredClone(incident),
      created,
      ...(created && serviceId !== requested ? { service_substituted: { requested, used: serviceId } } : {}),
    },
  };
}

export function sandboxRoutes(state: AccountState): Route[] {
  return [
    { method: 'PUT', pattern: '/sandbox/incidents/{id}', scope: 'incidents.write', handle: (context) => placeIncident(state, context) },
  ];
}
