import type { AuditCompletion, AuditIntent, AuditSubject, AuditTrail } from '../audit/audit-log';
import { MetricName } from '../observability/telemetry';
import { PagerDutyApiError } from '../pagerduty/errors';
import type { EscalationTarget, Incident, Note, Oncall, PagerDutyApi, PagerDutyResponse } from '../pagerduty/types';
import type { IncidentLedger } from '../state/incident-ledger';
import type { AgentSettings, MetricsSink, NoteFooter, NoteRenderer } from './agent-ports';
import { OperationFailedError, RetryStopError, type Attempted, type RetryPolicy } from './retry-policy';
import { messageOf } from '../errors/message-of';

/**
 * The PagerDuty mutations of one event, each wrapped in its audit intent and outcome, shared by the worker and the
 * handback function: acknowledge, post a note exactly once, escalate (with a fallback), resolve.
 */
export interface AgentActionsDeps {
  api: PagerDutyApi;
  audit: AuditTrail;
  incidentLedger: IncidentLedger;
  retry: RetryPolicy;
  notes: NoteRenderer;
  env: string;
  settings: AgentSettings;
  subject: AuditSubject & { incidentId: string };
  /** The agent's own PagerDuty user: an incident assigned to it is escalated above it, never back to it. */
  botUserId: string;
  /** Counts audit completions that failed after the call (`AuditIncomplete`). */
  metrics: MetricsSink;
  clock?: () => Date;
}

export interface NotePosted {
  noteId: string;
  /** False when an earlier attempt had posted it (found by its token or its dedup reference). */
  postedNow: boolean;
}

type MutationAction = AuditIntent['action'];

function failureCompletion(error: unknown): AuditCompletion {
  if (error instanceof RetryStopError) {
    return { outcome: 'failed', detail: error.message, httpStatus: error.httpStatus, requestId: error.requestId, attempts: error.attempts };
  }
  return { outcome: 'failed', detail: messageOf(error) };
}

/** The level above the one currently paged, read from who was assigned before the agent acknowledged. */
export function nextEscalationLevel(incident: Incident, oncalls: Oncall[]): number | null {
  const assignees = new Set(incident.assignments.map((assignment) => assignment.assignee.id));
  const levels = oncalls
    .filter((oncall) => oncall.escalation_policy.id === incident.escalation_policy.id && assignees.has(oncall.user.id))
    .map((oncall) => oncall.escalation_level);
  return levels.length === 0 ? null : Math.max(...levels) + 1;
}

export class AgentActions {
  private readonly clock: () => Date;

  constructor(private readonly deps: AgentActionsDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  get incidentId(): string {
    return this.deps.subject.incidentId;
  }

  footer(triggerEventId: string): NoteFooter {
    return {
      agentName: this.deps.settings.agentName,
      env: this.deps.env,
      ref: this.deps.notes.dedupRef(this.deps.env, this.incidentId, triggerEventId),
    };
  }

  /**
   * Writes the intent, makes the call, completes the item with the outcome, whatever happens. The call's result (or
   * error) is what the caller gets even when completing the item fails.
   */
  async audited<T>(
    action: MutationAction,
    call: () => Promise<Attempted<T>>,
    extra: { detail?: string; hypothesisSummary?: string; noteId?: (value: T) => string } = {},
  ): Promise<Attempted<T>> {
    const handle = await this.deps.audit.begin({
      ...this.deps.subject,
      action,
      detail: extra.detail,
      hypothesisSummary: extra.hypothesisSummary,
    });
    // PagerDuty has answered by now: a failing completion (DynamoDB throttled) must not make the caller skip what the
    // answer calls for (recording the acknowledgement, marking the handback). The intent already shows the attempt.
    const complete = async (completion: AuditCompletion): Promise<void> => {
      try {
        await this.deps.audit.complete(handle, completion);
      } catch {
        this.deps.metrics.addMetric(MetricName.auditIncomplete, 'Count', 1);
      }
    };
    const startedAt = Date.now();
    let result: Attempted<T>;
    try {
      result = await call();
    } catch (error) {
      await complete({ ...failureCompletion(error), durationMs: Date.now() - startedAt });
      throw error;
    }
    const { response, attempts } = result;
    await complete({
      outcome: response.alreadyDone === true ? 'already-done' : 'succeeded',
      httpStatus: response.status,
      requestId: response.requestId,
      attempts,
      durationMs: Date.now() - startedAt,
      noteId: extra.noteId?.(response.value),
      hypothesisSummary: extra.hypothesisSummary,
    });
    return result;
  }

  acknowledge(): Promise<Attempted<Incident>> {
    return this.audited('acknowledge', () =>
      this.deps.retry.idempotent('acknowledge', () => this.deps.api.acknowledgeIncident(this.incidentId)),
    );
  }

  /**
   * One note per (incident, triggering event): reserve the token, post, record the note id. A token reserved by an
   * earlier attempt without a note id means that attempt may have posted: its dedup reference is looked for among the
   * incident's notes first. The single retry of the post is also preceded by that look.
   */
  async postNote(triggerEventId: string, content: string, ref: string, summary: string, recordOnIncident: boolean): Promise<NotePosted> {
    const reservation = await this.deps.incidentLedger.reserveNote(this.incidentId, triggerEventId, ref);
    if (reservation.state === 'posted') return { noteId: reservation.noteId, postedNow: false };
    if (reservation.state === 'unconfirmed') {
      const found = await this.findNote(ref);
      if (found !== null) {
        await this.deps.incidentLedger.recordNote(this.incidentId, triggerEventId, found.value.id, recordOnIncident);
        await this.deps.audit.record({
          ...this.deps.subject,
          action: 'note',
          outcome: 'skipped',
          detail: `an earlier attempt posted note ${found.value.id} (dedup reference ${ref} found); not posting again`,
          hypothesisSummary: summary,
        });
        return { noteId: found.value.id, postedNow: false };
      }
    }
    const { response } = await this.audited(
      'note',
      () =>
        this.deps.retry.createOnce(
          'create note',
          () => this.deps.api.createNote(this.incidentId, content),
          () => this.findNote(ref),
        ),
      { hypothesisSummary: summary, noteId: (note) => note.id },
    );
    await this.deps.incidentLedger.recordNote(this.incidentId, triggerEventId, response.value.id, recordOnIncident);
    return { noteId: response.value.id, postedNow: true };
  }

  /**
   * Hands the incident to people on call. `next_level` raises the escalation level when the current one is known;
   * when it is not, or PagerDuty refuses it (no such level), the incident is reassigned to its escalation policy.
   * The ledger forbids any later resolve before the call is made. With `forEvent`, the ledger also keeps which
   * triggering event escalated, to where, and whether PagerDuty confirmed it; `repeat` (the target kept for this event
   * by an earlier delivery that got no confirmation) is sent again as it was: read after the first escalation landed,
   * the assignees are the next level's, and working the level out again would page one level further.
   */
  async escalate(
    incident: Incident,
    oncalls: Oncall[],
    detail: string,
    options: { forEvent?: string; repeat?: EscalationTarget } = {},
  ): Promise<Attempted<Incident>> {
    const policyTarget: EscalationTarget = { mode: 'escalation_policy', escalationPolicyId: incident.escalation_policy.id };
    // Assigned to the agent (a policy that pages it first): reassigning to the policy would page the agent again, so
    // it goes to the level above the agent's whatever the mode, with the on-calls read here when none were given.
    const pagesAgent = incident.assignments.some((assignment) => assignment.assignee.id === this.deps.botUserId);
    const mode = pagesAgent ? 'next_level' : this.deps.settings.escalation.mode;
    let level = mode === 'next_level' ? nextEscalationLevel(incident, oncalls) : null;
    if (level === null && pagesAgent && options.repeat === undefined)
      level = nextEscalationLevel(incident, await this.readOncalls(incident));
    const target: EscalationTarget = options.repeat ?? (level === null ? policyTarget : { mode: 'next_level', level });
    await this.deps.incidentLedger.beginEscalation(
      this.incidentId,
      this.clock(),
      options.forEvent === undefined ? undefined : { triggerEventId: options.forEvent, target },
    );
    const attempt = (to: EscalationTarget, why: string) =>
      this.audited(
        'escalate',
        () =>
          this.deps.retry.idempotent(to.mode === 'next_level' ? 'escalate to the next level' : 'escalate', () =>
            this.deps.api.escalateIncident(this.incidentId, to),
          ),
        {
          detail: `${why}; ${to.mode === 'next_level' ? `escalation level ${to.level}` : `reassigned to escalation policy ${to.escalationPolicyId}`}`,
        },
      );
    const escalated = await this.escalateOrFallBack(target, policyTarget, attempt, detail);
    if (options.forEvent !== undefined) await this.deps.incidentLedger.confirmEscalation(this.incidentId, options.forEvent);
    return escalated;
  }

  private async escalateOrFallBack(
    target: EscalationTarget,
    policyTarget: EscalationTarget,
    attempt: (to: EscalationTarget, why: string) => Promise<Attempted<Incident>>,
    detail: string,
  ): Promise<Attempted<Incident>> {
    if (target.mode !== 'next_level') return attempt(target, detail);
    try {
      return await attempt(target, detail);
    } catch (error) {
      const refused =
        error instanceof OperationFailedError && !error.retryable && error.cause instanceof PagerDutyApiError && error.cause.status === 400;
      if (!refused) throw error;
      return attempt(policyTarget, `${detail}; PagerDuty refused level ${target.level}, reassigning to the escalation policy instead`);
    }
  }

  resolve(resolution: string): Promise<Attempted<Incident>> {
    return this.audited(
      'resolve',
      () => this.deps.retry.idempotent('resolve', () => this.deps.api.resolveIncident(this.incidentId, resolution)),
      {
        detail: resolution,
      },
    );
  }

  /**
   * The safety net: escalate first (people get paged even if the note then fails), then a short note saying why,
   * deduplicated like any note, then the ledger marks the incident handed back.
   */
  async handBack(incident: Incident, reason: string): Promise<void> {
    await this.escalate(incident, [], `handback: ${reason}`);
    const triggerEventId = `handback-${this.deps.subject.eventId}`;
    const footer = this.footer(triggerEventId);
    let noteProblem = '';
    try {
      await this.postNote(
        triggerEventId,
        this.deps.notes.handbackNote(this.incidentId, reason, footer),
        footer.ref,
        `handback: ${reason}`,
        false,
      );
    } catch (error) {
      // The escalation already paged people; a missing explanation must not undo the handback.
      noteProblem = `; the handback note could not be posted: ${messageOf(error)}`;
    }
    await this.deps.incidentLedger.markHandedBack(this.incidentId, reason, this.clock());
    await this.deps.audit.record({ ...this.deps.subject, action: 'handback', outcome: 'succeeded', detail: `${reason}${noteProblem}` });
  }

  /** The escalation policy's on-calls, or none when they cannot be read (the escalation then falls back to the policy). */
  private async readOncalls(incident: Incident): Promise<Oncall[]> {
    try {
      const { response } = await this.deps.retry.idempotent('read on-calls (escalation level)', () =>
        this.deps.api.listOncalls([incident.escalation_policy.id]),
      );
      return response.value;
    } catch {
      return [];
    }
  }

  private async findNote(ref: string): Promise<PagerDutyResponse<Note> | null> {
    const { response } = await this.deps.retry.idempotent('list notes (dedup check)', () => this.deps.api.listNotes(this.incidentId));
    const note = response.value.find((candidate) => this.deps.notes.containsRef(candidate.content, ref));
    return note === undefined ? null : { ...response, value: note };
  }
}
