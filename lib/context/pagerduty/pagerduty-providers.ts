import { OperationFailedError, type RetryPolicy } from '../../agent/retry-policy';
import { PagerDutyApiError } from '../../pagerduty/errors';
import type {
  Alert,
  ChangeEvent,
  Incident,
  Oncall,
  PagedResponse,
  PagerDutyApi,
  PagerDutyResponse,
  ReadOptions,
} from '../../pagerduty/types';
import type { ContextSource } from '../../triage/types';
import { describeFailure, ProviderTimeoutError, type ContextProvider, type NeedsCheck } from '../provider';
import { messageOf } from '../../errors/message-of';

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
    return `failed after ${error.attempts} attempt(s): ${messageOf(cause)}`;
  }
  if (error instanceof ProviderTimeoutError) return describeFailure(error);
  return null;
}

/**
 * One PagerDuty read as a provider: one request, `timeoutMs` retries included. The provider's signal goes into every
 * request, so a read whose deadline passed is aborted in flight and sends no further page or retry.
 */
function pagerDutyResponseRead<T, R extends PagerDutyResponse<T>>(
  source: ContextSource,
  timeoutMs: number,
  call: (input: PagerDutyProviderInput, options: ReadOptions) => Promise<R>,
): ContextProvider<PagerDutyProviderInput, R> {
  return {
    name: source,
    needs: ['incident'],
    budget: { timeMs: timeoutMs, requests: 1 },
    explainFailure: explainPagerDutyFailure,
    async run(input, { requests, signal }) {
      requests.take(`read ${source}`);
      // The retry policy hands back the answer it accepted; the caller keeps its own response type (paged reads).
      return (await input.retry.optionalRead<T>(`read ${source}`, () => call(input, { signal }))).response as R;
    },
  };
}

/** A read whose value is all the caller needs. */
export function pagerDutyRead<T>(
  source: ContextSource,
  timeoutMs: number,
  call: (input: PagerDutyProviderInput, options: ReadOptions) => Promise<PagerDutyResponse<T>>,
): ContextProvider<PagerDutyProviderInput, T> {
  const read = pagerDutyResponseRead<T, PagerDutyResponse<T>>(source, timeoutMs, call);
  return { ...read, run: async (input, options) => (await read.run(input, options)).value };
}

/** The alerts of the first page, and how many were left unread (`null`: PagerDuty gave no total). */
export interface AlertsRead {
  alerts: Alert[];
  notRead: number | null;
}

export interface PagerDutyProviders {
  alerts: ContextProvider<PagerDutyProviderInput, AlertsRead>;
  recentIncidents: ContextProvider<PagerDutyProviderInput, Incident[]>;
  changeEvents: ContextProvider<PagerDutyProviderInput, ChangeEvent[]>;
  oncalls: ContextProvider<PagerDutyProviderInput, Oncall[]>;
}

export function pagerDutyProviders(timeoutMs: number): PagerDutyProviders {
  return {
    alerts: (() => {
      const read = pagerDutyResponseRead<Alert[], PagedResponse<Alert>>(
        'alerts',
        timeoutMs,
        ({ api, incident }, options): Promise<PagedResponse<Alert>> => api.listAlerts(incident.id, options),
      );
      return {
        ...read,
        run: async (input, options) => {
          const response = await read.run(input, options);
          return { alerts: response.value, notRead: response.notRead };
        },
      };
    })(),
    recentIncidents: pagerDutyRead('recentIncidents', timeoutMs, ({ api, incident, since, until, recentIncidentsMax }, options) =>
      api.listIncidents(
        {
          serviceIds: [incident.service.id],
          since: since.toISOString(),
          until: until.toISOString(),
          max: recentIncidentsMax,
        },
        options,
      ),
    ),
    changeEvents: pagerDutyRead('changeEvents', timeoutMs, ({ api, incident }, options) =>
      api.listRelatedChangeEvents(incident.id, options),
    ),
    oncalls: pagerDutyRead('oncalls', timeoutMs, ({ api, incident }, options) => api.listOncalls([incident.escalation_policy.id], options)),
  };
}

/** The notes of one past incident (how it was resolved). */
export function resolutionNotesProvider(timeoutMs: number, incidentId: string): ContextProvider<PagerDutyProviderInput, string[]> {
  const read = pagerDutyRead('resolutionNotes', timeoutMs, ({ api }, options) => api.listNotes(incidentId, options));
  return { ...read, run: async (input, options) => (await read.run(input, options)).map((note) => note.content) };
}
