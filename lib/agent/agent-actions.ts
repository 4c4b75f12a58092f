import type { AuditCompletion, AuditIntent, AuditSubject, AuditTrail } from '../audit/audit-log';
import { MetricName } from '../observability/telemetry';
import { PagerDutyApiError } from '../pagerduty/errors';
import type { EscalationTarget, EventsApi, Incident, Note, Oncall, PagerDutyApi, PagerDutyResponse } from '../pagerduty/types';
import type { IncidentLedger } from '../state/incident-ledger';
import type { AgentConnection, AgentSettings, MetricsSink, NoteFooter, NoteRenderer } from './agent-ports';
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
  /** The fallback service's Events API key and client; absent when the credentials secret names none. */
  fallbackPaging?: FallbackPaging;
  clock?: () => Date;
}

export interface FallbackPaging {
  events: EventsApi;
  routingKey: string;
}

/** The Events API dedup key of a fallback page starts so; the incident it opens carries it as its incident key. */
export const fallbackDedupPrefix = (env: string): string => `pd-agent/${env}/nobody-paged/`;

/** The connection's fallback service, when its secret names one. */
export function fallbackPagingOf(connection: Pick<AgentConnection, 'events' | 'fallbackRoutingKey'>): FallbackPaging | undefined {
  return connection.fallbackRoutingKey === undefined ? undefined : { events: connection.events, routingKey: connection.fallbackRoutingKey };
}

/**
 * Who pages a person at the end of an escalation: PagerDuty's escalation, the direct assignment that followed it, the
 * fallback service's alert, or nobody (every step refused or failed, and audited so). `incident` is PagerDuty's answer
 * when a person is assigned on it.
 */
export interface EscalationOutcome {
  pagedBy: 'escalation' | 'assignment' | 'fallback-alert' | 'nobody';
  incident: Incident | null;
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

/** Someone other than the agent is assigned: PagerDuty pages them. */
export function pagesPerson(incident: Incident, botUserId: string): boolean {
  return incident.assignments.some((assignment) => assignment.assignee.id !== botUserId);
}

/**
 * The on-call people of the lowest level above every level the agent is on in the policy (above none when it is not
 * on it): whom PagerDuty would page once the agent's level timed out.
 */
export function onCallPeopleAbove(oncalls: Oncall[], escalationPolicyId: string, botUserId: string): string[] {
  const inPolicy = oncalls.filter((oncall) => oncall.escalation_policy.id === escalationPolicyId);
  const agentLevel = Math.max(0, ...inPolicy.filter((oncall) => oncall.user.id === botUserId).map((oncall) => oncall.escalation_level));
  const people = inPolicy.filter((oncall) => oncall.escalation_level > agentLevel && oncall.user.id !== botUserId);
  if (people.length === 0) return [];
  const level = Math.min(...people.map((oncall) => oncall.escalation_level));
  return [...new Set(people.filter((oncall) => oncall.escalation_level === level).map((oncall) => oncall.user.id))];
}

/**
 * PagerDuty answered and said no (a 4xx other than 429: no such level, nobody on call, not allowed): repeating the
 * request would not help, the next step of the chain might.
 */
function refusedByPagerDuty(error: unknown): boolean {
  return error instanceof OperationFailedError && !error.retryable && error.cause instanceof PagerDutyApiError;
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
   * Hands the incident to people on call, and makes sure a person is paged at the end (docs/how-it-works.md "The
   * escalation chain"):
   * 1. the escalation: `next_level` (the level above the one paged, the on-calls say which; above the agent's when the
   *    incident is assigned to it) or, when the level is unknown, a reassignment to the incident's escalation policy;
   * 2. the incident's assignees after it (the escalation's answer, or one read when PagerDuty refused it): when they
   *    are only the agent, or nobody, the next level's on-call people are assigned directly;
   * 3. when that is refused too (or nobody is on call above the agent), an alert through the Events API on the
   *    fallback service (`fallbackRoutingKey`), audited and counted as `NobodyPaged`.
   * A refusal never ends the chain; any other failure (budget, time, rate limit, no answer) is thrown for the caller's
   * handback, except with `lastResort` (the handback itself), where the fallback alert is sent before it is thrown.
   * The caller posts its note whatever the result. The ledger forbids any later resolve before the first call; with
   * `forEvent`, it also keeps which triggering event escalated, to where, and whether a person was paged; `repeat` (the
   * target kept for this event by an earlier delivery that got no confirmation) is sent again as it was: read after
   * the first escalation landed, the assignees are the next level's, and working the level out again would page one
   * level further.
   */
  async escalate(
    incident: Incident,
    oncalls: Oncall[],
    detail: string,
    options: { forEvent?: string; repeat?: EscalationTarget; lastResort?: boolean } = {},
  ): Promise<EscalationOutcome> {
    const policyTarget: EscalationTarget = { mode: 'escalation_policy', escalationPolicyId: incident.escalation_policy.id };
    // Assigned to the agent (a policy that pages it first): reassigning to the policy would page the agent again, so
    // it goes to the level above the agent's whatever the mode, with the on-calls read here when none were given.
    const pagesAgent = incident.assignments.some((assignment) => assignment.assignee.id === this.deps.botUserId);
    const mode = pagesAgent ? 'next_level' : this.deps.settings.escalation.mode;
    let knownOncalls = oncalls;
    let level = mode === 'next_level' ? nextEscalationLevel(incident, oncalls) : null;
    if (level === null && pagesAgent && options.repeat === undefined) {
      knownOncalls = await this.readOncalls(incident);
      level = nextEscalationLevel(incident, knownOncalls);
    }
    const target: EscalationTarget = options.repeat ?? (level === null ? policyTarget : { mode: 'next_level', level });
    await this.deps.incidentLedger.beginEscalation(
      this.incidentId,
      this.clock(),
      options.forEvent === undefined ? undefined : { triggerEventId: options.forEvent, target },
    );
    const outcome = await this.pageSomeone(incident, knownOncalls, target, detail, options.lastResort === true);
    if (options.forEvent !== undefined && outcome.pagedBy !== 'nobody')
      await this.deps.incidentLedger.confirmEscalation(this.incidentId, options.forEvent);
    return outcome;
  }

  private async pageSomeone(
    incident: Incident,
    oncalls: Oncall[],
    target: EscalationTarget,
    detail: string,
    lastResort: boolean,
  ): Promise<EscalationOutcome> {
    const toTarget =
      target.mode === 'next_level' ? `escalation level ${target.level}` : `reassigned to escalation policy ${target.escalationPolicyId}`;
    let after: Incident | null;
    let refusal: string | null = null;
    try {
      const { response } = await this.audited(
        'escalate',
        () =>
          this.deps.retry.idempotent(target.mode === 'next_level' ? 'escalate to the next level' : 'escalate', () =>
            this.deps.api.escalateIncident(this.incidentId, target),
          ),
        { detail: `${detail}; ${toTarget}` },
      );
      after = response.value;
    } catch (error) {
      if (!refusedByPagerDuty(error)) return this.lastResortOrThrow(incident, error, lastResort, detail);
      refusal = `PagerDuty refused the escalation (${toTarget}): ${messageOf(error)}`;
      after = await this.readOnce(incident.id);
    }
    if (after !== null && pagesPerson(after, this.deps.botUserId)) return { pagedBy: 'escalation', incident: after };
    const why =
      refusal ??
      (after === null
        ? 'the incident could not be read after the escalation'
        : `after the escalation (${toTarget}) PagerDuty pages ${after.assignments.length === 0 ? 'nobody' : 'only the agent'}`);
    return this.assignOrAlert(incident, oncalls, `${detail}; ${why}`, lastResort);
  }

  /** Step 2 and 3 of the chain: the next level's people assigned directly, else the fallback alert. */
  private async assignOrAlert(incident: Incident, oncalls: Oncall[], why: string, lastResort: boolean): Promise<EscalationOutcome> {
    const known = oncalls.some((oncall) => oncall.escalation_policy.id === incident.escalation_policy.id);
    const people = onCallPeopleAbove(
      known ? oncalls : await this.readOncalls(incident),
      incident.escalation_policy.id,
      this.deps.botUserId,
    );
    if (people.length === 0) return this.alertFallback(incident, `${why}; nobody but the agent is on call in its escalation policy`);
    try {
      const { response } = await this.audited(
        'escalate',
        () => this.deps.retry.idempotent('assign on-call people', () => this.deps.api.assignIncident(this.incidentId, people)),
        { detail: `${why}; assigned directly to the on-call people ${people.join(', ')}` },
      );
      if (pagesPerson(response.value, this.deps.botUserId)) return { pagedBy: 'assignment', incident: response.value };
      return this.alertFallback(incident, `${why}; the direct assignment to ${people.join(', ')} left nobody but the agent assigned`);
    } catch (error) {
      if (!refusedByPagerDuty(error)) return this.lastResortOrThrow(incident, error, lastResort, why);
      return this.alertFallback(incident, `${why}; PagerDuty refused the direct assignment to ${people.join(', ')}: ${messageOf(error)}`);
    }
  }

  /** The handback is the last chance: before its failure goes up, the fallback service pages someone. */
  private async lastResortOrThrow(incident: Incident, error: unknown, lastResort: boolean, why: string): Promise<never> {
    if (lastResort) await this.alertFallback(incident, `${why}; the handback could not reach PagerDuty: ${messageOf(error)}`);
    throw error;
  }

  /**
   * The last resort: one Events API alert on the fallback service, which pages its own people. Audited and counted
   * (`NobodyPaged`, alarmed) whether or not it could be sent: someone must look at why PagerDuty refused.
   */
  private async alertFallback(incident: Incident, why: string): Promise<EscalationOutcome> {
    this.deps.metrics.addMetric(MetricName.nobodyPaged, 'Count', 1);
    const fallback = this.deps.fallbackPaging;
    if (fallback === undefined) {
      await this.deps.audit.record({
        ...this.deps.subject,
        action: 'escalate',
        outcome: 'failed',
        detail: `${why}. Nobody is paged and no fallback service is configured: set fallbackRoutingKey in the credentials secret.`,
      });
      return { pagedBy: 'nobody', incident: null };
    }
    const dedupKey = `${fallbackDedupPrefix(this.deps.env)}${this.incidentId}`;
    if (incident.incident_key?.startsWith(fallbackDedupPrefix(this.deps.env)) === true) {
      // This incident is the fallback's own page: alerting again would open another one, and so on.
      await this.deps.audit.record({
        ...this.deps.subject,
        action: 'escalate',
        outcome: 'failed',
        detail: `${why}. It is itself a fallback page (${incident.incident_key}), so no further one is sent: keep the fallback service out of the agent's filters.`,
      });
      return { pagedBy: 'nobody', incident: null };
    }
    try {
      await this.audited(
        'events-api',
        async () => ({
          attempts: 1,
          response: await fallback.events.send({
            routingKey: fallback.routingKey,
            action: 'trigger',
            dedupKey,
            // The title is the alert's text, not the agent's: quoted, and cut to fit PagerDuty's summary.
            summary: `PagerDuty incident #${incident.number} pages nobody but ${this.deps.settings.agentName}: "${incident.title.slice(0, 200)}"`,
            source: `pd-agent/${this.deps.env}`,
            severity: 'critical',
            customDetails: { incidentId: this.incidentId, incidentUrl: incident.html_url, why },
          }),
        }),
        { detail: `${why}; fallback alert ${dedupKey}` },
      );
      return { pagedBy: 'fallback-alert', incident: null };
    } catch (error) {
      await this.deps.audit.record({
        ...this.deps.subject,
        action: 'escalate',
        outcome: 'failed',
        detail: `${why}. The fallback alert failed too (${messageOf(error)}): nobody is paged.`,
      });
      return { pagedBy: 'nobody', incident: null };
    }
  }

  /** One read outside the budget and never retried, like the safety net's other reads; null without an answer. */
  private async readOnce(incidentId: string): Promise<Incident | null> {
    try {
      return (await this.deps.api.getIncident(incidentId)).value;
    } catch {
      return null;
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
   * deduplicated like any note, then the ledger marks the incident handed back. The note is posted even when the
   * escalation failed (the fallback service's people, or whoever looks next, read why); that failure is then thrown,
   * and the incident is not marked handed back, so that the dead-letter handback tries again.
   */
  async handBack(incident: Incident, reason: string, options: { note?: boolean } = {}): Promise<EscalationOutcome> {
    let escalated: EscalationOutcome | undefined;
    let escalationError: unknown;
    try {
      escalated = await this.escalate(incident, [], `handback: ${reason}`, { lastResort: true });
    } catch (error) {
      escalationError = error;
    }
    // Observe mode allows the hand-over and nothing else: no note, even for a hand-over that had to stop.
    const noteProblem =
      options.note === false ? '; no handback note: the rollout mode writes no notes' : await this.postHandbackNote(reason);
    if (escalated === undefined) throw escalationError;
    await this.deps.incidentLedger.markHandedBack(this.incidentId, reason, this.clock());
    await this.deps.audit.record({
      ...this.deps.subject,
      action: 'handback',
      outcome: escalated.pagedBy === 'nobody' ? 'failed' : 'succeeded',
      detail: `${reason}; paged by: ${escalated.pagedBy}${noteProblem}`,
    });
    return escalated;
  }
  /** The handback's short note, deduplicated like any note; what went wrong posting it, for the audit, or ''. */
  private async postHandbackNote(reason: string): Promise<string> {
    const triggerEventId = `handback-${this.deps.subject.eventId}`;
    const footer = this.footer(triggerEventId);
    try {
      await this.postNote(
        triggerEventId,
        this.deps.notes.handbackNote(this.incidentId, reason, footer),
        footer.ref,
        `handback: ${reason}`,
        false,
      );
      return '';
    } catch (error) {
      // The escalation already paged people; a missing explanation must not undo the handback.
      return `; the handback note could not be posted: ${messageOf(error)}`;
    }
  }

  /** The escalation policy's on-calls, or none when they cannot be read (the chain then goes on without them). */
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
