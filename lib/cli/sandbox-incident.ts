import type { IncidentSummary } from '../webhook/webhook-event';
import { CliError } from './cli-error';

/** What the sandbox answered to `PUT /sandbox/incidents/{id}`. */
export interface PlacedIncident {
  id: string;
  created: boolean;
  /** The service the incident is on in the sandbox (the webhook's, or the one substituted for it). */
  serviceId: string;
  /** Set when the webhook's service does not exist in the sandbox and the incident was put on another one. */
  serviceSubstituted?: { requested: string; used: string };
}

interface PlaceAnswer {
  incident?: { service?: { id?: string } };
  created?: boolean;
  service_substituted?: { requested: string; used: string };
  error?: { message?: string; errors?: string[] };
}

/**
 * Makes the incident a webhook describes exist in the local stack's PagerDuty sandbox, without the sandbox emitting
 * a webhook of its own (the caller delivers the trigger): the agent then reads, acknowledges and notes a real
 * incident. Idempotent: an incident that already has the id is left as it is.
 */
export async function placeSandboxIncident(apiUrl: string, authorization: string, incident: IncidentSummary): Promise<PlacedIncident> {
  const url = `${apiUrl}/sandbox/incidents/${encodeURIComponent(incident.id)}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'PUT',
      headers: { authorization, 'content-type': 'application/json', accept: 'application/vnd.pagerduty+json;version=2' },
      body: JSON.stringify({
        incident: {
          title: incident.title ?? `send-test incident ${incident.id}`,
          service: { id: incident.serviceId ?? 'unknown' },
          ...(incident.urgency === null ? {} : { urgency: incident.urgency }),
        },
      }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    throw new CliError(
      `Could not reach the PagerDuty sandbox at ${apiUrl}: ${(error as Error).message}`,
      'Check that the local stack is running (`npm start`).',
    );
  }
  const answer = (await response.json().catch(() => ({}))) as PlaceAnswer;
  if (!response.ok) {
    const reasons = [answer.error?.message, ...(answer.error?.errors ?? [])].filter((reason) => reason !== undefined).join('; ');
    throw new CliError(
      `The PagerDuty sandbox refused to create incident ${incident.id} (${response.status}${reasons === '' ? '' : `: ${reasons}`}).`,
      'Check the payload is a V3 incident webhook; nothing was delivered.',
    );
  }
  return {
    id: incident.id,
    created: answer.created === true,
    serviceId: answer.incident?.service?.id ?? answer.service_substituted?.used ?? incident.serviceId ?? '',
    ...(answer.service_substituted === undefined ? {} : { serviceSubstituted: answer.service_substituted }),
  };
}
