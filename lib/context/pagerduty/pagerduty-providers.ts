import { OperationFailedError, type RetryPolicy } from '../../agent/retry-policy';
import { PagerDutyApiError } from '../../pagerduty/errors';
import type { Alert, ChangeEvent, Incident, Oncall, PagerDutyApi, PagerDutyResponse } from '../../pagerduty/types';
import type { ContextSource } from '../../triage/types';
import { describeFailure, ProviderTimeoutError, type ContextProvider, type NeedsCheck } from '../provider';

/**
 * PagerDuty's own reads as context providers. Each is one request through the worker's RetryPolicy (so the pacer
 * keeps the credential under PagerDuty's rate limit and retries count against the event's budget), bounded by the
 * read timeout. A plan-gated (402/403/404) or failing read becomes an `unavailable` entry; throttling, a spent retry
 * budget and the Lambda running out of time stop the run, as they did before providers.
 */

export interface PagerDutyProviderInput {
  incident: Incident;
  api: PagerDutyApi;
  retry: RetryPolicy;
  /** Recent incidents are read from this time until `until`. */
  since: Date;
  until: Date;
  recentIncidentsMax: number;
}

export const pagerDutyInputHas: NeedsCheck<PagerDutyProviderInput> = (_input, need) => need === 'incident';

/** Why a PagerDuty source is missing, or null when the error must stop the run. */
export function explainPagerDutyFailure(error: unknown): string | null {
  if (error instanceof OperationFailedError) {
    const cause = error.cause;
    if (cause instanceof PagerDutyApiError && cause.featureUnavailable) {
      return `PagerDuty answered ${cause.status} (${cause.pagerDutyMessage}): not available to this account or key`;
    }
    return `failed after ${error.attempts} attempt(s): ${(cause as Error)?.message ?? String(cause)}`;
  }
  if (error instanceof ProviderTimeoutError) return describeFailure(error);
  return null;
}

/** One PagerDuty read as a provider: one request, `timeoutMs` retries included. */
export function pagerDutyRead<T>(
  source: ContextSource,
  timeoutMs: number,
  call: (input: PagerDutyProviderInput) => Promise<PagerDutyResponse<T>>,
): ContextProvider<PagerDutyProviderInput, T> {
  return {
    name: source,
    needs: ['incident'],
    budget: { timeMs: timeoutMs, requests: 1 },
    explainFailure: explainPagerDutyFailure,
    async run(input, { requests }) {
      requests.take(`read ${source}`);
      const { response } = await input.retry.idempotent(`read ${source}`, () => call(input));
      return response.value;
    },
  };
}

export interface PagerDutyProviders {
  alerts: ContextProvider<PagerDutyProviderInput, Alert[]>;
  recentIncidents: ContextProvider<PagerDutyProviderInput, Incident[]>;
  changeEvents: ContextProvider<PagerDutyProviderInput, ChangeEvent[]>;
  oncalls: ContextProvider<PagerDutyProviderInput, Oncall[]>;
}

export function pagerDutyProviders(timeoutMs: number): PagerDutyProviders {
  return {
    alerts: pagerDutyRead('alerts', timeoutMs, ({ api, incident }) => api.listAlerts(incident.id)),
    recentIncidents: pagerDutyRead('recentIncidents', timeoutMs, ({ api, incident, since, until, recentIncidentsMax }) =>
      api.listIncidents({
        serviceIds: [incident.service.id],
        since: since.toISOString(),
        until: until.toISOString(),
        max: recentIncidentsMax,
      }),
    ),
    changeEvents: pagerDutyRead('changeEvents', timeoutMs, ({ api, incident }) => api.listRelatedChangeEvents(incident.id)),
    oncalls: pagerDutyRead('oncalls', timeoutMs, ({ api, incident }) => api.listOncalls([incident.escalation_policy.id])),
  };
}

/** The notes of one past incident (how it was resolved). */
export function resolutionNotesProvider(timeoutMs: number, incidentId: string): ContextProvider<PagerDutyProviderInput, string[]> {
  const read = pagerDutyRead('resolutionNotes', timeoutMs, ({ api }) => api.listNotes(incidentId));
  return { ...read, run: async (input, options) => (await read.run(input, options)).map((note) => note.content) };
}
