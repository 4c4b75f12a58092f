import type { AgentActions } from '../agent/agent-actions';
import type { AgentConnection, AgentSettings, MetricsSink } from '../agent/agent-ports';
import { awsContextFor, type AwsGatherDeps } from '../agent/gather-context';
import type { RetryPolicy } from '../agent/retry-policy';
import type { AuditTrail } from '../audit/audit-log';
import type { RequestsConfig } from '../config/agent-config';
import { understandAlerts } from '../context/alert';
import { AWS_PROVIDERS, type AwsProviders } from '../context/aws/aws-context';
import type { AwsContext, AwsContextSource, NormalisedAlert } from '../context/evidence';
import { materialChanges } from '../followup/material-change';
import { rerunAwsContext } from '../followup/rerun-context';
import { takeSnapshot } from '../followup/snapshot';
import { MetricName } from '../observability/telemetry';
import type { Alert, AlertsWithIncident, Incident } from '../pagerduty/types';
import { WOULD_BE_NOTE_LABEL, allowedWrites, resolveRollout } from '../rollout/rollout';
import type { IncidentLedger } from '../state/incident-ledger';
import { alertsClearance } from '../triage/triage';
import type { NoteText } from '../triage/plain-text';
import type { Hypothesis, IncidentContext } from '../triage/types';
import type { WebhookEvent } from '../webhook/webhook-event';
import { parseRequest, type AgentRequest } from './parse-request';
import {
  HELP_LINES,
  answerNote,
  askedText,
  changesLines,
  logsLines,
  malformedLine,
  metricLines,
  overLimitDetail,
  recheckLines,
  stopLines,
  whyLines,
} from './request-answers';
import type { RequestQuota } from './request-quota';

/**
 * Answers a person's `pd-agent:` note (docs/how-it-works.md "Ask it in the timeline") with one note of its own:
 * - one answer per request: the note's dedup reference is keyed on the person's note id (the event id when the
 *   webhook has none), so redeliveries and duplicate webhooks of one note post at most one answer;
 * - at most `requests.maxAnswers` answers per incident per `requests.windowMinutes`: a request over it gets an audit
 *   row and no note;
 * - read-only: it reads PagerDuty and the AWS providers and writes one note, never an acknowledgement, an escalation
 *   or a resolve; in `observe` mode the answer goes to the audit trail only;
 * - never for the agent's own notes, and never for `pd-agent: right|wrong` (feedback, lib/outcomes/).
 */
export interface RequestAnswererDeps {
  settings: Pick<AgentSettings, 'agentName' | 'rollout'> & { requests: RequestsConfig };
  incidentLedger: Pick<IncidentLedger, 'get'>;
  audit: AuditTrail;
  quota: RequestQuota;
  metrics: MetricsSink;
  /** The same re-triage the worker runs, for `why`. */
  triage: (context: IncidentContext) => Hypothesis;
  /** The AWS providers; absent, AWS requests say the context is not read. */
  aws?: AwsGatherDeps;
  clock?: () => Date;
}

export interface RequestInput {
  event: WebhookEvent;
  /** The webhook body as received: the note's id and text are not part of WebhookEvent. */
  rawBody: Buffer;
  connection: Pick<AgentConnection, 'api' | 'botUserId'>;
  retry: RetryPolicy;
  actions: Pick<AgentActions, 'footer' | 'postNote'>;
}

export type AnswerOutcome =
  | { status: 'not-a-request' | 'feedback' | 'own-note' | 'over-limit' }
  /** `noteId` is null in observe mode (the answer went to the audit trail). */
  | { status: 'answered'; noteId: string | null };

/** The note's id and text from an `incident.annotated` body, read leniently. */
export function annotatedNote(rawBody: Buffer): { noteId?: string; content?: string } {
  try {
    const data = (JSON.parse(rawBody.toString('utf8')) as { event?: { data?: { id?: unknown; content?: unknown } } }).event?.data;
    return {
      ...(typeof data?.id === 'string' ? { noteId: data.id } : {}),
      ...(typeof data?.content === 'string' ? { content: data.content } : {}),
    };
  } catch {
    return {};
  }
}

/** The providers with every source but `source` answering empty: a request reads only what it asks for. */
function onlySource(providers: AwsProviders, source: AwsContextSource): AwsProviders {
  return {
    definition: providers.definition,
    alarm: source === 'alarm' ? providers.alarm : { ...providers.alarm, run: () => Promise.resolve(undefined) },
    metric: source === 'metric' ? providers.metric : { ...providers.metric, run: () => Promise.resolve(undefined) },
    changes: source === 'changes' ? providers.changes : { ...providers.changes, run: () => Promise.resolve([]) },
    logs: source === 'logs' ? providers.logs : { ...providers.logs, run: () => Promise.resolve(undefined) },
  };
}

/** Whether the service's mapping lets a request name this log group: listed in `logGroups`, or under a `logGroupPrefixes` entry. */
function logGroupAllowed(aws: AwsGatherDeps, serviceId: string, logGroup: string): boolean {
  const mapping = aws.config.services[serviceId];
  if (mapping === undefined) return false;
  return mapping.logGroups.includes(logGroup) || mapping.logGroupPrefixes.some((prefix) => logGroup.startsWith(prefix));
}

interface Reading {
  incident: Incident;
  alerts: Alert[];
  alertsNotRead: number | null;
}

export class RequestAnswerer {
  private readonly clock: () => Date;

  constructor(private readonly deps: RequestAnswererDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  async answer(input: RequestInput): Promise<AnswerOutcome> {
    const { event } = input;
    const incidentId = event.incidentId;
    if (event.eventType !== 'incident.annotated' || incidentId === null) return { status: 'not-a-request' };
    if (event.agent !== null && event.agent.id === input.connection.botUserId) return { status: 'own-note' };
    const note = annotatedNote(input.rawBody);
    const parsed = parseRequest(note.content ?? '');
    if (parsed.kind === 'not-a-request' || parsed.kind === 'feedback') return { status: parsed.kind };
    const subject = { incidentId, eventId: event.eventId, eventType: event.eventType };
    const requestId = note.noteId ?? event.eventId;
    const { requests } = this.deps.settings;
    if (!(await this.deps.quota.admit(incidentId, requestId, this.clock()))) {
      this.deps.metrics.addMetric(MetricName.requestOverLimit, 'Count', 1);
      await this.deps.audit.record({
        ...subject,
        action: 'record',
        outcome: 'skipped',
        detail: `${overLimitDetail(requests.maxAnswers, requests.windowMinutes)} (note ${requestId})`,
      });
      return { status: 'over-limit' };
    }
    const answerKey = `request-${requestId}`;
    const footer = input.actions.footer(answerKey);
    const { asked, lines, serviceId } =
      parsed.kind === 'malformed'
        ? { asked: 'a request' as NoteText, lines: [malformedLine(parsed.reason)], serviceId: event.incident?.serviceId ?? null }
        : await this.linesFor(parsed.request, input, incidentId);
    const content = answerNote(this.deps.settings.agentName, asked, lines, footer);
    const summary = `answer to ${parsed.kind === 'malformed' ? 'a malformed request' : `pd-agent: ${parsed.request.verb}`} (note ${requestId})`;
    const rollout = resolveRollout(this.deps.settings, serviceId, incidentId);
    if (!allowedWrites(rollout).note) {
      this.deps.metrics.addMetric(MetricName.requestAnswered, 'Count', 1);
      await this.deps.audit.record({
        ...subject,
        action: 'note',
        outcome: 'skipped',
        hypothesisSummary: summary,
        detail: `${rollout.mode} mode (${rollout.reason}): not posted to PagerDuty. ${WOULD_BE_NOTE_LABEL}\n${content}`,
      });
      return { status: 'answered', noteId: null };
    }
    const posted = await input.actions.postNote(answerKey, content, footer.ref, summary, false);
    if (posted.postedNow) this.deps.metrics.addMetric(MetricName.requestAnswered, 'Count', 1);
    return { status: 'answered', noteId: posted.noteId };
  }

  private async linesFor(
    request: AgentRequest,
    input: RequestInput,
    incidentId: string,
  ): Promise<{ asked: NoteText; lines: NoteText[]; serviceId: string | null }> {
    const asked = askedText(request);
    if (request.verb === 'help') return { asked, lines: [...HELP_LINES], serviceId: input.event.incident?.serviceId ?? null };
    if (request.verb === 'stop') return { asked, lines: stopLines(), serviceId: input.event.incident?.serviceId ?? null };
    const reading = await this.read(input, incidentId);
    const serviceId = reading.incident.service.id;
    return { asked, lines: await this.readingLines(request, input, reading), serviceId };
  }

  private async readingLines(request: AgentRequest, input: RequestInput, reading: Reading): Promise<NoteText[]> {
    const now = this.clock();
    const alert = understandAlerts(reading.alerts);
    switch (request.verb) {
      case 'changes':
        return changesLines(await this.readSource(reading.incident, alert, 'changes', request.windowMinutes), request.windowMinutes);
      case 'logs': {
        const { logGroup } = request;
        if (
          logGroup !== undefined &&
          (this.deps.aws === undefined || !logGroupAllowed(this.deps.aws, reading.incident.service.id, logGroup))
        )
          return [malformedLine("that log group is not in this service's mapping (logGroups or logGroupPrefixes), so it is not read")];
        return logsLines(await this.readSource(reading.incident, alert, 'logs', undefined, logGroup), request.windowMinutes);
      }
      case 'metric': {
        const alarmed = alert?.metric?.name;
        if (request.metricName !== undefined && request.metricName.toLowerCase() !== alarmed?.toLowerCase())
          return [malformedLine("only the alarm's own metric is read; ask pd-agent: metric without a name")];
        return metricLines(await this.readSource(reading.incident, alert, 'metric'), alert?.threshold);
      }
      case 'recheck':
        return this.recheck(input, reading, now);
      case 'why':
        return this.why(reading, now);
      case 'help':
      case 'stop':
        return [];
    }
  }

  /** The incident with its alerts, in one request when the alerts embed it. */
  private async read(input: RequestInput, incidentId: string): Promise<Reading> {
    const { api } = input.connection;
    const read = (await input.retry.idempotent('read incident and alerts', () => api.listAlertsWithIncident(incidentId)))
      .response as AlertsWithIncident;
    const incident = read.incident ?? (await input.retry.idempotent('read incident', () => api.getIncident(incidentId))).response.value;
    return { incident, alerts: read.value, alertsNotRead: read.notRead };
  }

  /** One AWS source over the window ending now, with the service's mapping narrowed to what the request named. */
  private async readSource(
    incident: Incident,
    alert: NormalisedAlert | undefined,
    source: AwsContextSource,
    windowMinutes?: number,
    logGroup?: string,
  ): Promise<AwsContext | undefined> {
    const aws = this.deps.aws;
    if (aws === undefined || !aws.config.enabled) return undefined;
    const mapping = aws.config.services[incident.service.id];
    const services =
      mapping === undefined || logGroup === undefined
        ? aws.config.services
        : { ...aws.config.services, [incident.service.id]: { ...mapping, logGroups: [logGroup] } };
    const narrowed: AwsGatherDeps = {
      ...aws,
      config: { ...aws.config, services, ...(windowMinutes === undefined ? {} : { lookbackMinutes: windowMinutes }) },
      providers: onlySource(aws.providers ?? AWS_PROVIDERS, source),
    };
    const now = this.clock();
    return awsContextFor(incident, alert, narrowed, now, undefined, now);
  }

  /**
   * Everything read again now, compared with the same reads over the window that ended at the agent's last note on
   * the incident (re-read, since the first look's snapshot travels only with the scheduled checks).
   */
  private async recheck(input: RequestInput, reading: Reading, now: Date): Promise<NoteText[]> {
    const { api, botUserId } = input.connection;
    const notes = (await input.retry.idempotent('list notes (recheck)', () => api.listNotes(reading.incident.id))).response.value;
    const own = notes.filter((note) => note.user.id === botUserId).map((note) => note.created_at);
    const since = new Date(own.sort().at(-1) ?? reading.incident.created_at);
    const alert = understandAlerts(reading.alerts);
    const aws = this.deps.aws;
    const earlier =
      aws === undefined || !aws.config.enabled ? undefined : await awsContextFor(reading.incident, alert, aws, since, undefined, since);
    const later = await rerunAwsContext(reading.incident, reading.alerts, aws, now);
    const clearance = alertsClearance(contextOf(reading, later.aws, later.alert, now));
    const before = takeSnapshot({ at: since, aws: earlier, alert });
    const after = takeSnapshot({ at: now, aws: later.aws, alert: later.alert, alertsCleared: clearance.cleared });
    return recheckLines(since.toISOString(), materialChanges(before, after));
  }

  private async why(reading: Reading, now: Date): Promise<NoteText[]> {
    const rerun = await rerunAwsContext(reading.incident, reading.alerts, this.deps.aws, now);
    const hypothesis = this.deps.triage(contextOf(reading, rerun.aws, rerun.alert, now));
    const progress = await this.deps.incidentLedger.get(reading.incident.id);
    return whyLines(hypothesis, progress?.cause);
  }
}

/** The incident's context as far as a request reads it: the incident, its alerts and the AWS providers. */
function contextOf(reading: Reading, aws: AwsContext | undefined, alert: NormalisedAlert | undefined, now: Date): IncidentContext {
  return {
    incident: reading.incident,
    alerts: reading.alerts,
    alertsNotRead: reading.alertsNotRead,
    recentIncidents: [],
    resolutionNotes: {},
    changeEvents: [],
    oncalls: [],
    unavailable: [],
    gatheredAt: now.toISOString(),
    ...(alert === undefined ? {} : { alert }),
    ...(aws === undefined ? {} : { aws }),
  };
}
