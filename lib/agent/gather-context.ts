import type { TriagePolicy } from '../config/agent-config';
import { PagerDutyApiError } from '../pagerduty/errors';
import type { Incident, PagerDutyApi, PagerDutyResponse, ReadOptions } from '../pagerduty/types';
import type { ContextSource, IncidentContext } from '../triage/types';
import { OperationFailedError, type RetryPolicy } from './retry-policy';
import { titlesAreSimilar } from '../triage/analysers/title-similarity';

/**
 * Gathers what triage needs in at most MAX_CONTEXT_READS PagerDuty reads, each bounded in time:
 *   1 alerts (first page) · 2 recent incidents on the service · 3 related change events · 4 on-calls of the escalation policy
 *   5..6 notes of the most recent resolved incidents with a similar title (how they were resolved).
 * A source that is plan-gated (402/403/404), too slow, or keeps failing becomes an `unavailable` entry: it degrades
 * the evidence, never the run. Throttling, a spent budget and the Lambda running out of time do stop the run.
 */
export const MAX_CONTEXT_READS = 6;

export interface GatherSettings {
  /** Per-read bound, retries included. */
  readTimeoutMs: number;
  /** Notes read from at most this many similar resolved incidents (reads 5 and 6). */
  resolutionNoteReads: number;
  /** Recent incidents fetched from the service (pages are followed until then). */
  recentIncidentsMax: number;
}

export const DEFAULT_GATHER_SETTINGS: GatherSettings = {
  readTimeoutMs: 3000,
  // One note read keeps a triggered incident at 8 PagerDuty requests (read, ack, 5 context reads, note).
  resolutionNoteReads: 1,
  recentIncidentsMax: 50,
};

export class ReadTimeoutError extends Error {
  override readonly name = 'ReadTimeoutError';
  constructor(
    readonly source: ContextSource,
    readonly timeoutMs: number,
  ) {
    super(`Reading ${source} took longer than ${timeoutMs} ms; the note goes out without it.`);
  }
}

export interface GatherDeps {
  api: PagerDutyApi;
  retry: RetryPolicy;
  policy: TriagePolicy;
  settings?: Partial<GatherSettings>;
  now?: () => Date;
}

/**
 * Runs one read under its deadline. When the deadline passes the read is abandoned for good: its signal aborts the
 * request in flight, and the client sends no further page or retry for it.
 */
async function bounded<T>(run: (signal: AbortSignal) => Promise<T>, source: ContextSource, timeoutMs: number): Promise<T> {
  const deadline = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new ReadTimeoutError(source, timeoutMs);
      reject(error);
      deadline.abort(error);
    }, timeoutMs);
  });
  try {
    return await Promise.race([run(deadline.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Why a source is missing, or null when the error must stop the run. */
function unavailableReason(error: unknown): string | null {
  if (error instanceof ReadTimeoutError) return `timed out after ${error.timeoutMs} ms`;
  if (error instanceof OperationFailedError) {
    const cause = error.cause;
    if (cause instanceof PagerDutyApiError && cause.featureUnavailable) {
      return `PagerDuty answered ${cause.status} (${cause.pagerDutyMessage}): not available to this account or key`;
    }
    return `failed after ${error.attempts} attempt(s): ${(cause as Error)?.message ?? String(cause)}`;
  }
  return null;
}

export async function gatherContext(incident: Incident, deps: GatherDeps): Promise<IncidentContext> {
  const settings = { ...DEFAULT_GATHER_SETTINGS, ...deps.settings };
  const now = deps.now ?? (() => new Date());
  const unavailable: IncidentContext['unavailable'] = [];
  let reads = 0;

  const read = async <T>(source: ContextSource, call: (options: ReadOptions) => Promise<PagerDutyResponse<T>>): Promise<T | null> => {
    if (reads >= MAX_CONTEXT_READS) {
      unavailable.push({ source, reason: `skipped: the ${MAX_CONTEXT_READS}-read budget is spent` });
      return null;
    }
    reads += 1;
    try {
      const { response } = await bounded(
        (signal) => deps.retry.idempotent(`read ${source}`, () => call({ signal })),
        source,
        settings.readTimeoutMs,
      );
      return response.value;
    } catch (error) {
      const reason = unavailableReason(error);
      if (reason === null) throw error;
      unavailable.push({ source, reason });
      return null;
    }
  };

  const createdAt = new Date(incident.created_at);
  const since = new Date(createdAt.getTime() - deps.policy.recurrenceWindowDays * 24 * 3600 * 1000);
  let alertsNotRead: number | null = 0;
  const [alerts, recent, changeEvents, oncalls] = await Promise.all([
    read('alerts', async (options) => {
      const response = await deps.api.listAlerts(incident.id, options);
      alertsNotRead = response.notRead;
      return response;
    }),
    read('recentIncidents', (options) =>
      deps.api.listIncidents(
        {
          serviceIds: [incident.service.id],
          since: since.toISOString(),
          until: now().toISOString(),
          max: settings.recentIncidentsMax,
        },
        options,
      ),
    ),
    read('changeEvents', (options) => deps.api.listRelatedChangeEvents(incident.id, options)),
    read('oncalls', (options) => deps.api.listOncalls([incident.escalation_policy.id], options)),
  ]);

  const recentIncidents = (recent ?? [])
    .filter((other) => other.id !== incident.id)
    .sort((a, b) => b.created_at.localeCompare(a.created_at));
  const similarResolved = recentIncidents
    .filter((other) => other.status === 'resolved' && titlesAreSimilar(other.title, incident.title))
    .slice(0, Math.min(settings.resolutionNoteReads, MAX_CONTEXT_READS - reads));

  const resolutionNotes: Record<string, string[]> = {};
  for (const other of similarResolved) {
    const notes = await read('resolutionNotes', (options) => deps.api.listNotes(other.id, options));
    if (notes !== null) resolutionNotes[other.id] = notes.map((note) => note.content);
  }

  return {
    incident,
    alerts: alerts ?? [],
    alertsNotRead,
    recentIncidents,
    resolutionNotes,
    changeEvents: changeEvents ?? [],
    oncalls: oncalls ?? [],
    unavailable,
    gatheredAt: now().toISOString(),
  };
}
