import type { AwsContextConfig, TriagePolicy } from '../config/agent-config';
import type { AwsReadClients, AwsTarget } from '../context/aws/clients';
import type { ShareChangeLookup } from '../context/aws/aws-input';
import { gatherAwsContext, type AwsProviders } from '../context/aws/aws-context';
import { contextSessionName } from '../context/aws/read-role-contract';
import { mergeChangeTimeline } from '../context/aws/change-provider';
import { understandAlerts } from '../context/alert';
import { planAwsReads } from '../context/aws/mapping';
import { trustedTriggerTime } from '../context/aws/trust';
import type { AwsContext, AwsContextSource, NormalisedAlert } from '../context/evidence';
import {
  pagerDutyInputHas,
  pagerDutyProviders,
  resolutionNotesProvider,
  type AlertsRead,
  type PagerDutyProviderInput,
} from '../context/pagerduty/pagerduty-providers';
import { runProviders, type ContextProvider, type ProviderRun } from '../context/provider';
import {
  SERVICE_SOURCES,
  type ServiceRun,
  type ServiceSource,
  type SharedServiceContextReader,
  type SharedServiceRun,
} from '../context/shared-service-context';
import type { Alert, Incident, Oncall, PagerDutyApi } from '../pagerduty/types';
import type { IncidentContext } from '../triage/types';
import type { RetryPolicy } from './retry-policy';
import { titlesAreSimilar } from '../triage/analysers/title-similarity';
import { messageOf } from '../errors/message-of';

/**
 * Gathers what triage needs from context providers (lib/context/provider.ts), in at most MAX_CONTEXT_READS PagerDuty
 * reads, each bounded in time:
 *   1 alerts (usually read already, with the incident, before acknowledging: `alertsRead`) · 2 recent incidents on the
 *   service · 3 related change events · 4 on-calls of the escalation policy
 *   5..6 notes of the most recent resolved incidents with a similar title (how they were resolved).
 * As soon as the alerts are read, the AWS providers (alarm history, metric, CloudTrail changes, log surges) start
 * beside the remaining PagerDuty reads; they never go through PagerDuty's RetryPolicy or pacer.
 * With `shared`, reads 2–6 are the service's: the first incident of a burst makes them and the others use its copy
 * from the state table (lib/context/shared-service-context.ts).
 * A source that is plan-gated (402/403/404), too slow, denied or keeps failing becomes an `unavailable` entry: it
 * degrades the evidence, never the run. PagerDuty throttling, a spent budget and the Lambda running out of time do
 * stop the run.
 */
export const MAX_CONTEXT_READS = 6;
/** How long an incident waits for another incident's CloudTrail lookup of the same name. */
const CHANGE_LOOKUP_WAIT_MS = 2000;
/** Reads 1–4, always made. */
const FIRST_READS = 4;

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
  // One note read keeps a held incident at 7 PagerDuty requests (the incident with its alerts, ack, 4 context reads, note).
  resolutionNoteReads: 1,
  recentIncidentsMax: 50,
};

/** What the AWS providers need from the worker: the mapping and a source of clients per region and role. */
export interface AwsGatherDeps {
  config: AwsContextConfig;
  clientsFor: (target: AwsTarget) => Promise<AwsReadClients>;
  /** The worker's own region (`AWS_REGION`), used when neither the alert nor the mapping names one. */
  workerRegion?: string;
  providers?: AwsProviders;
}

const AWS_CONTEXT_SOURCES: AwsContextSource[] = ['alarm', 'metric', 'changes', 'logs'];

export type UnderstandAlert = (alerts: Alert[]) => NormalisedAlert | undefined;

export interface GatherDeps {
  api: PagerDutyApi;
  retry: RetryPolicy;
  policy: TriagePolicy;
  settings?: Partial<GatherSettings>;
  now?: () => Date;
  /** Reads the alerts' payloads into one NormalisedAlert; default: a minimal CloudWatch alarm reader. */
  understandAlert?: UnderstandAlert;
  /** Without it no AWS context is gathered. */
  aws?: AwsGatherDeps;
  /** Shares the service-level reads between the incidents of a burst (state table); without it each incident reads its own. */
  shared?: SharedServiceContextReader;
  /** The alerts as already read with the incident (lib/agent/take-ownership.ts); without it they are read here. */
  alertsRead?: AlertsRun;
}

/** The alerts source's run: what was read, or why it is unavailable. */
export type AlertsRun = ProviderRun<{ alerts: AlertsRead }>;

/**
 * The AWS context of an incident: what its alarm's verified definition and the service's mapping allow, over the
 * window that ends at its trigger (from PagerDuty's creation time), or at `windowEndsAt` for a later look (a follow-up
 * reads the same things again, only later).
 */
export async function awsContextFor(
  incident: Incident,
  alert: NormalisedAlert | undefined,
  aws: AwsGatherDeps,
  now: Date,
  shareLookup: ShareChangeLookup | undefined,
  windowEndsAt?: Date,
): Promise<AwsContext | undefined> {
  const mapped = aws.config.services[incident.service.id] !== undefined;
  if (alert?.monitor !== 'cloudwatch' && !mapped) return undefined;
  const plan = planAwsReads(aws.config, incident.service.id, alert, aws.workerRegion);
  if (plan === undefined) return undefined;
  const { scope } = plan;
  // PagerDuty's creation time bounds the window: the alert's own time is a claim, used only close to it.
  const trigger = trustedTriggerTime(alert?.triggeredAt, incident.created_at);
  const notFollowed = trigger.notFollowed === undefined ? plan.notFollowed : [...plan.notFollowed, trigger.notFollowed];
  const triggeredAt = windowEndsAt ?? trigger.at;
  let clients: AwsReadClients;
  try {
    clients = await aws.clientsFor({
      region: scope.region,
      roleArn: scope.roleArn,
      externalId: scope.externalId,
      sessionName: contextSessionName(incident.service.id),
    });
  } catch (error) {
    const reason = `the AWS clients could not be created (${messageOf(error)})`;
    const unavailable = AWS_CONTEXT_SOURCES.map((source) => ({ source, reason }));
    return { region: scope.region, accountId: scope.accountId, changes: [], logSurges: [], unavailable, notFollowed };
  }
  return gatherAwsContext(
    { alert, scope, clients, triggeredAt, now, ...(shareLookup === undefined ? {} : { shareLookup }) },
    aws.providers,
    { regionClaimed: plan.regionClaimed, notFollowed },
  );
}

/** A gathering under way: the whole context, and the on-calls on their own as soon as they are read. */
export interface Gathering {
  context: Promise<IncidentContext>;
  /** The escalation policy's on-calls (undefined when they could not be read); asked for only by whoever needs them early. */
  oncalls: () => Promise<Oncall[] | undefined>;
}

export function gatherContext(incident: Incident, deps: GatherDeps): Promise<IncidentContext> {
  return startGathering(incident, deps).context;
}

/**
 * Starts every read at once and hands out the on-calls as soon as they arrive: an incident the agent hands to on-call
 * before triage needs them to know which level to page, and waiting for the whole context would delay the page.
 */
export function startGathering(incident: Incident, deps: GatherDeps): Gathering {
  const settings = { ...DEFAULT_GATHER_SETTINGS, ...deps.settings };
  const now = deps.now ?? (() => new Date());
  const understandAlert = deps.understandAlert ?? understandAlerts;
  const providers = pagerDutyProviders(settings.readTimeoutMs);
  const createdAt = new Date(incident.created_at);
  const input: PagerDutyProviderInput = {
    incident,
    api: deps.api,
    retry: deps.retry,
    since: new Date(createdAt.getTime() - deps.policy.recurrenceWindowDays * 24 * 3600 * 1000),
    until: now(),
    recentIncidentsMax: settings.recentIncidentsMax,
  };

  // A wait for another incident's shared read ends while this one can still read for itself (one bounded read) and keep
  // the time the retry policy needs for the note and the decision.
  const waitAllowance = (): number => deps.retry.spareTimeMs() - settings.readTimeoutMs;
  const { shared } = deps;
  // The changes provider has 4 s in all: a wait for another incident's CloudTrail lookup leaves room for its own.
  const shareLookup: ShareChangeLookup | undefined =
    shared === undefined
      ? undefined
      : (key, window, read) => shared.changeLookup(key, window, now, read, () => Math.min(waitAllowance(), CHANGE_LOOKUP_WAIT_MS));
  const alertsRead: Promise<AlertsRun> =
    deps.alertsRead === undefined ? runProviders({ alerts: providers.alerts }, input, pagerDutyInputHas) : Promise.resolve(deps.alertsRead);
  const evidenceFromAlerts = alertsRead.then(async ({ results }) => {
    const alert = understandAlert(results.alerts?.alerts ?? []);
    const aws = deps.aws === undefined ? undefined : await awsContextFor(incident, alert, deps.aws, now(), shareLookup);
    return { alert, aws };
  });
  const readServiceSources = (sources: readonly ServiceSource[]): Promise<ServiceRun> =>
    runProviders(
      Object.fromEntries(sources.map((source) => [source, providers[source]])) as Pick<typeof providers, ServiceSource>,
      input,
      pagerDutyInputHas,
    );
  const othersRead: Promise<ServiceRun & Pick<SharedServiceRun, 'burst'>> =
    deps.shared === undefined ? readServiceSources(SERVICE_SOURCES) : deps.shared.gather(incident, now, readServiceSources, waitAllowance);
  const sharedNotes = (pastIncidentId: string): ContextProvider<PagerDutyProviderInput, string[]> => {
    const provider = resolutionNotesProvider(settings.readTimeoutMs, pastIncidentId);
    if (shared === undefined) return provider;
    return {
      ...provider,
      run: (runInput, options) => shared.pastNotes(pastIncidentId, now, () => provider.run(runInput, options), waitAllowance),
    };
  };
  const notesRead = othersRead.then(({ results }) => {
    const recentIncidents = (results.recentIncidents ?? [])
      .filter((other) => other.id !== incident.id)
      .sort((a, b) => b.created_at.localeCompare(a.created_at));
    const similarResolved = recentIncidents
      .filter((other) => other.status === 'resolved' && titlesAreSimilar(other.title, incident.title))
      .slice(0, Math.min(settings.resolutionNoteReads, MAX_CONTEXT_READS - FIRST_READS));
    const noteProviders = Object.fromEntries(similarResolved.map((other) => [other.id, sharedNotes(other.id)]));
    return runProviders<PagerDutyProviderInput, Record<string, string[]>>(noteProviders, input, pagerDutyInputHas).then((notes) => ({
      recentIncidents,
      notes,
    }));
  });

  const context = Promise.all([alertsRead, othersRead, notesRead, evidenceFromAlerts]).then(
    ([alerts, others, { recentIncidents, notes }, { alert, aws }]): IncidentContext => {
      const changeEvents = others.results.changeEvents ?? [];
      return {
        incident,
        alerts: alerts.results.alerts?.alerts ?? [],
        // Absent when the alerts could not be read at all (their absence is in `unavailable`).
        alertsNotRead: alerts.results.alerts?.notRead,
        recentIncidents,
        resolutionNotes: Object.fromEntries(
          Object.entries(notes.results).filter((entry): entry is [string, string[]] => entry[1] !== undefined),
        ),
        changeEvents,
        oncalls: others.results.oncalls ?? [],
        unavailable: [
          ...alerts.unavailable,
          ...others.unavailable,
          ...notes.unavailable.map(({ reason }) => ({ source: 'resolutionNotes' as const, reason })),
        ],
        gatheredAt: now().toISOString(),
        ...(others.burst === undefined ? {} : { burst: others.burst }),
        alert,
        aws: aws === undefined ? undefined : { ...aws, changes: mergeChangeTimeline(aws.changes, changeEvents) },
      };
    },
  );
  return { context, oncalls: () => othersRead.then(({ results }) => results.oncalls) };
}
