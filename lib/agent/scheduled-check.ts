import type { AuditSubject, AuditTrail } from '../audit/audit-log';
import type { FollowUpConfig } from '../config/agent-config';
import { messageOf } from '../errors/message-of';
import { followUpNote, holdExpiredNote } from '../followup/check-notes';
import { materialChanges } from '../followup/material-change';
import { checkPrediction, type PredictionCheck } from '../followup/prediction';
import { rerunAwsContext } from '../followup/rerun-context';
import { takeSnapshot, type ContextSnapshot } from '../followup/snapshot';
import { stopRequestIn } from '../followup/stop-request';
import { MetricName } from '../observability/telemetry';
import type { Alert, AlertsWithIncident, Incident } from '../pagerduty/types';
import type { QueuedCheck, ScheduledCheck } from '../queue/queued-event';
import { WOULD_BE_NOTE_LABEL, allowedWrites, resolveRollout } from '../rollout/rollout';
import type { IncidentLedger, IncidentProgress } from '../state/incident-ledger';
import type { FinishedStatus, WorkLedger } from '../state/work-ledger';
import { alertsClearance } from '../triage/triage';
import type { IncidentContext } from '../triage/types';
import { AgentActions } from './agent-actions';
import type { AgentConnection, AgentSettings, Invocation, MetricsSink, NoteRenderer } from './agent-ports';
import type { AwsGatherDeps } from './gather-context';
import { LeaseHeldError, RetryLaterError, acknowledgedByAgentAlone, pagesOnlyTheAgent } from './process-event';
import { RetryPolicy, RetryStopError, webhookBudget, type RetrySettings } from './retry-policy';
import type { CheckRequest } from '../scheduling/check-scheduler';

/**
 * What the worker does with a scheduled check when it comes due (lib/scheduling/): it arrives in the incident's FIFO
 * group, so it never races the incident's own webhook events.
 *
 * - `hold-expiry`: the agent held the incident for `triage.holdMinutes`. Still open, still held by the agent (or paging
 *   only it) and its alerts not cleared: escalated with a short note saying so. A person who took it, a resolve, cleared
 *   alerts, an escalation since, or a reopen (a newer trigger has its own checks) end the hold without a write.
 * - `follow-up`: a triaged incident still open gets the providers run again over the window ending now; a short note
 *   only when something material changed since the last note, with whether the first note's prediction held. None
 *   once resolved, after `pd-agent: stop`, or beyond `followUp.max`; observe mode writes it to the audit trail only.
 *
 * Exactly once across duplicates and redeliveries: the check id is the work ledger's claim key, the escalation is
 * recorded for it before the call (a redelivery repeats the same target, never a level further), and the note is
 * reserved under it like any note.
 */
export interface ScheduledCheckDeps {
  env: string;
  settings: AgentSettings & { followUp: FollowUpConfig };
  connect: () => Promise<AgentConnection>;
  workLedger: WorkLedger;
  incidentLedger: IncidentLedger;
  audit: AuditTrail;
  notes: NoteRenderer;
  metrics: MetricsSink;
  /** Schedules the next follow-up; absent, none is scheduled. */
  scheduler?: { schedule(request: CheckRequest): Promise<ScheduledCheck> };
  /** The AWS providers the follow-up runs again; absent, only PagerDuty's own state is compared. */
  aws?: AwsGatherDeps;
  clock?: () => Date;
  retry?: { sleep?: (ms: number) => Promise<void>; random?: () => number; settings?: Partial<RetrySettings> };
  leaseMarginMs?: number;
  retryLaterSeconds?: number;
}

export type CheckOutcome =
  | { status: 'already-finished' }
  | { status: 'skipped'; reason: string }
  | { status: 'escalated' }
  | { status: 'quiet' }
  /** `noteId` is null in observe mode (the note went to the audit trail). */
  | { status: 'noted'; noteId: string | null };

const DEFAULT_LEASE_MARGIN_MS = 10_000;
const RETRY_LATER_SECONDS = 20;

interface CheckRun {
  check: ScheduledCheck;
  subject: AuditSubject & { incidentId: string };
  connection: AgentConnection;
  retry: RetryPolicy;
  actions: AgentActions;
}

export class ScheduledCheckProcessor {
  private readonly clock: () => Date;

  constructor(private readonly deps: ScheduledCheckDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  async process(queued: QueuedCheck, invocation: Invocation): Promise<CheckOutcome> {
    const { workLedger } = this.deps;
    const { checkId } = queued.check;
    const claim = await workLedger.claim({
      eventId: checkId,
      leaseMs: invocation.remainingTimeMs() + (this.deps.leaseMarginMs ?? DEFAULT_LEASE_MARGIN_MS),
      now: this.clock(),
    });
    if (!claim.claimed) {
      if (claim.reason === 'finished') {
        this.deps.metrics.addMetric(MetricName.scheduleSkipped, 'Count', 1);
        return { status: 'already-finished' };
      }
      throw new LeaseHeldError(checkId, Math.max(1, Math.ceil((claim.leaseUntil - this.clock().getTime()) / 1000)));
    }
    try {
      const outcome = await this.handle(queued, invocation, claim.failedCalls);
      const status: FinishedStatus = outcome.status === 'skipped' || outcome.status === 'quiet' ? 'ignored' : 'done';
      if (outcome.status === 'skipped') this.deps.metrics.addMetric(MetricName.scheduleSkipped, 'Count', 1);
      await workLedger.finish(checkId, claim.attempt, status, outcome.status === 'skipped' ? `skipped: ${outcome.reason}` : outcome.status);
      return outcome;
    } catch (error) {
      await workLedger.release(checkId, claim.attempt, messageOf(error));
      this.deps.metrics.addMetric(MetricName.scheduleFailed, 'Count', 1);
      if (error instanceof RetryStopError && error.kind === 'failed')
        throw new RetryLaterError(checkId, this.deps.retryLaterSeconds ?? RETRY_LATER_SECONDS, error);
      throw error;
    }
  }

  private async handle(queued: QueuedCheck, invocation: Invocation, failedCalls: string[]): Promise<CheckOutcome> {
    const { check } = queued;
    const subject = { incidentId: check.incidentId, eventId: check.checkId, eventType: queued.eventType };
    const connection = await this.deps.connect();
    const retry = new RetryPolicy({
      budget: webhookBudget(this.deps.workLedger, check.checkId),
      failedCalls,
      remainingTimeMs: () => invocation.remainingTimeMs(),
      pacer: connection.pacer,
      sleep: this.deps.retry?.sleep,
      random: this.deps.retry?.random,
      settings: this.deps.retry?.settings,
      onRetry: () => this.deps.metrics.addMetric(MetricName.retriesUsed, 'Count', 1),
    });
    const actions = new AgentActions({
      api: connection.api,
      audit: this.deps.audit,
      incidentLedger: this.deps.incidentLedger,
      retry,
      notes: this.deps.notes,
      env: this.deps.env,
      settings: this.deps.settings,
      subject,
      botUserId: connection.botUserId,
      metrics: this.deps.metrics,
      clock: this.clock,
    });
    const run: CheckRun = { check, subject, connection, retry, actions };
    const outcome = check.check === 'hold-expiry' ? await this.holdExpiry(run) : await this.followUp(run);
    if (outcome.status === 'skipped') {
      await this.deps.audit.record({ ...subject, action: 'record', outcome: 'skipped', detail: `${check.check}: ${outcome.reason}` });
    }
    return outcome;
  }

  /** The incident with its alerts, in one request when the alerts embed it. */
  private async read(run: CheckRun): Promise<{ incident: Incident; alerts: Alert[]; alertsNotRead: number | null }> {
    const { api } = run.connection;
    const { incidentId } = run.check;
    // The retry policy hands back the answer it accepted, typed as the call's.
    const read = (await run.retry.idempotent('read incident and alerts', () => api.listAlertsWithIncident(incidentId)))
      .response as AlertsWithIncident;
    const incident = read.incident ?? (await run.retry.idempotent('read incident', () => api.getIncident(incidentId))).response.value;
    return { incident, alerts: read.value, alertsNotRead: read.notRead };
  }

  /** A check scheduled for an earlier trigger of a reopened incident: the new trigger scheduled its own. */
  private stale(check: ScheduledCheck, progress: IncidentProgress | undefined): boolean {
    return progress?.triggerEventId !== undefined && progress.triggerEventId !== check.triggerEventId;
  }

  private async holdExpiry(run: CheckRun): Promise<CheckOutcome> {
    const { check, connection } = run;
    const { incident, alerts, alertsNotRead } = await this.read(run);
    const progress = await this.deps.incidentLedger.get(check.incidentId);
    // An escalation this check began on an earlier delivery is finished as it was begun, whatever changed since.
    const ownEscalation = progress?.escalatedFor === check.checkId;
    if (!ownEscalation) {
      if (incident.status === 'resolved') return { status: 'skipped', reason: 'the incident is resolved; the hold ended with it' };
      if (this.stale(check, progress))
        return { status: 'skipped', reason: 'the incident was triggered again since; that trigger has its own hold' };
      if (progress?.escalatedAt !== undefined || progress?.handedBackAt !== undefined)
        return { status: 'skipped', reason: 'the incident was escalated or handed back since; people have it' };
      if (!acknowledgedByAgentAlone(incident, connection.botUserId) && !pagesOnlyTheAgent(incident, connection.botUserId))
        return { status: 'skipped', reason: 'a person has the incident (acknowledged or assigned to people); nothing to end' };
    }
    const clearance = alertsClearance(asContext(incident, alerts, alertsNotRead));
    if (!ownEscalation && clearance.cleared)
      return { status: 'skipped', reason: `${clearance.detail}: the hold ends without paging anyone` };
    const holdMinutes = this.deps.settings.triage.holdMinutes;
    const reason = `The hold ended after ${holdMinutes} min and the incident has not cleared (${clearance.detail}): on-call takes it.`;
    if (!(ownEscalation && progress?.escalationConfirmedFor === check.checkId)) {
      await run.actions.escalate(incident, [], reason, {
        forEvent: check.checkId,
        ...(ownEscalation && progress?.escalationTarget !== undefined ? { repeat: progress.escalationTarget } : {}),
      });
      this.deps.metrics.addMetric(MetricName.incidentEscalated, 'Count', 1);
      this.deps.metrics.addMetric(MetricName.holdExpired, 'Count', 1);
    }
    const footer = run.actions.footer(check.checkId);
    const note = holdExpiredNote({ agentName: this.deps.settings.agentName, holdMinutes, alertsDetail: clearance.detail, footer });
    await run.actions.postNote(check.checkId, note, footer.ref, `hold ended: ${clearance.detail}`, false);
    await this.deps.audit.record({ ...run.subject, action: 'triage', outcome: 'recorded', decision: 'escalated', detail: reason });
    return { status: 'escalated' };
  }

  private async followUp(run: CheckRun): Promise<CheckOutcome> {
    const { check, connection } = run;
    const { followUp } = this.deps.settings;
    if (check.sequence > followUp.max) return { status: 'skipped', reason: `followUp.max is ${followUp.max}; no more follow-ups` };
    const { incident, alerts, alertsNotRead } = await this.read(run);
    if (incident.status === 'resolved') return { status: 'skipped', reason: 'the incident is resolved; no follow-up' };
    const progress = await this.deps.incidentLedger.get(check.incidentId);
    if (this.stale(check, progress))
      return { status: 'skipped', reason: 'the incident was triggered again since; that trigger has its own follow-ups' };
    const notes = (await run.retry.idempotent('list notes (stop request)', () => connection.api.listNotes(check.incidentId))).response
      .value;
    const stop = stopRequestIn(notes, connection.botUserId);
    if (stop !== undefined) return { status: 'skipped', reason: `a person asked the agent to stop (pd-agent: stop, note ${stop.id})` };

    const now = this.clock();
    const rerun = await rerunAwsContext(incident, alerts, this.deps.aws, now);
    const clearance = alertsClearance(asContext(incident, alerts, alertsNotRead));
    const after = takeSnapshot({ at: now, aws: rerun.aws, alert: rerun.alert, alertsCleared: clearance.cleared });
    const before: ContextSnapshot = check.baseline ?? { at: check.scheduledAt, changes: [], errorSignatures: [] };
    const changes = materialChanges(before, after);
    const prediction = check.prediction;
    const predictionCheck = prediction === undefined ? undefined : checkPrediction(prediction, after, changes);
    if (predictionCheck !== undefined && (predictionCheck.status === 'held' || predictionCheck.status === 'failed'))
      await this.deps.incidentLedger.recordPredictionCheck(check.incidentId, predictionCheck);

    if (changes.length === 0) {
      await this.deps.audit.record({
        ...run.subject,
        action: 'record',
        outcome: 'recorded',
        detail: `follow-up ${check.sequence}: nothing material changed since ${before.at}; no note${predictionDetail(predictionCheck)}`,
      });
      await this.scheduleNext(run, before);
      return { status: 'quiet' };
    }
    const footer = run.actions.footer(check.checkId);
    const content = followUpNote({
      agentName: this.deps.settings.agentName,
      sinceIso: before.at,
      changes,
      ...(prediction === undefined || predictionCheck === undefined
        ? {}
        : { prediction: { text: prediction.text, check: predictionCheck } }),
      footer,
    });
    const summary = `follow-up ${check.sequence}: ${changes.map((change) => change.kind).join(', ')}`;
    const rollout = resolveRollout(this.deps.settings, incident.service.id, check.incidentId);
    let noteId: string | null = null;
    if (allowedWrites(rollout).note) {
      const posted = await run.actions.postNote(check.checkId, content, footer.ref, summary, false);
      if (posted.postedNow) this.deps.metrics.addMetric(MetricName.followUpPosted, 'Count', 1);
      noteId = posted.noteId;
    } else {
      await this.deps.audit.record({
        ...run.subject,
        action: 'note',
        outcome: 'skipped',
        hypothesisSummary: summary,
        detail: `${rollout.mode} mode (${rollout.reason}): not posted to PagerDuty. ${WOULD_BE_NOTE_LABEL}\n${content}`,
      });
    }
    await this.scheduleNext(run, after);
    return { status: 'noted', noteId };
  }

  /** The next follow-up, compared with `baseline` (what the last note said), while followUp.max allows. */
  private async scheduleNext(run: CheckRun, baseline: ContextSnapshot): Promise<void> {
    const { check } = run;
    const { followUp } = this.deps.settings;
    if (this.deps.scheduler === undefined || check.sequence >= followUp.max) return;
    await this.deps.scheduler.schedule({
      check: 'follow-up',
      incidentId: check.incidentId,
      triggerEventId: check.triggerEventId,
      afterMinutes: followUp.afterMinutes,
      sequence: check.sequence + 1,
      baseline,
      ...(check.prediction === undefined ? {} : { prediction: check.prediction }),
    });
  }
}

const predictionDetail = (check: PredictionCheck | undefined): string =>
  check === undefined ? '' : `; prediction ${check.status}: ${check.text}`;

/** The parts of a context `alertsClearance` reads, from one read of the incident with its alerts. */
function asContext(incident: Incident, alerts: Alert[], alertsNotRead: number | null): IncidentContext {
  return {
    incident,
    alerts,
    alertsNotRead,
    recentIncidents: [],
    resolutionNotes: {},
    changeEvents: [],
    oncalls: [],
    unavailable: [],
    gatheredAt: new Date().toISOString(),
  };
}
