import type { AuditSubject, AuditTrail } from '../audit/audit-log';
import type { EventFilters } from '../config/agent-config';
import { MetricName } from '../observability/telemetry';
import type { OutcomeRecorder } from '../outcomes/outcome-recorder';
import { HOLD_EXPIRY_EVENT_TYPE, type DeadLetteredEvent } from '../queue/queued-event';
import type { IncidentLedger } from '../state/incident-ledger';
import type { WorkLedger } from '../state/work-ledger';
import { evaluateFilters } from '../webhook/filters';
import { parseWebhookEvent } from '../webhook/parse-event';
import { AgentActions, fallbackPagingOf } from './agent-actions';
import type { AgentConnection, AgentSettings, Invocation, MetricsSink, NoteRenderer } from './agent-ports';
import { TRIGGERING_EVENT_TYPES, acknowledgedByAgentAlone, pagesOnlyTheAgent } from './process-event';

/** Events whose dead-lettering may leave an incident paging only the agent: triage, and the hand-over after an un-acknowledgement. */
const HANDS_OVER = [...TRIGGERING_EVENT_TYPES, 'incident.unacknowledged'];
import { RetryPolicy, localBudget, type RetryBudget, type RetrySettings } from './retry-policy';

/**
 * The safety net on the dead-letter queue: an event the worker could not finish. If the agent acknowledged its
 * incident and did not finish it, the incident is silenced with nobody behind it: escalate it to humans with a short
 * note saying what failed, audit it, mark it handed back, and raise one Events API alert about the agent's own health
 * (stable dedup key, so repeated failures are one alert). Anything else is recorded only. Then, and only then, a
 * responder's `pd-agent: right|wrong` note the worker never got to record becomes its feedback item.
 */
export interface HandbackDeps {
  env: string;
  settings: AgentSettings & { filters: EventFilters };
  connect: () => Promise<AgentConnection>;
  workLedger: WorkLedger;
  incidentLedger: IncidentLedger;
  audit: AuditTrail;
  notes: NoteRenderer;
  metrics: MetricsSink;
  /** Records dead-lettered feedback notes, as the worker would have; absent, they are only audited like any event. */
  outcomes?: Pick<OutcomeRecorder, 'observe'>;
  clock?: () => Date;
  retry?: { sleep?: (ms: number) => Promise<void>; random?: () => number; settings?: Partial<RetrySettings> };
}

export type HandbackOutcome = 'handed-back' | 'recorded';

/** Retries the handback function allows itself per dead event (it has no per-webhook budget left to draw on). */
const HANDBACK_RETRY_BUDGET = 3;
/**
 * The feedback's own: its note is in the webhook, so recording it reads nothing from PagerDuty, and whatever the
 * recorder might read one day cannot draw on the handback's budget.
 */
const FEEDBACK_RETRY_BUDGET = 1;
/** The webhook a responder's note arrives with. */
const NOTE_EVENT_TYPE = 'incident.annotated';

export const healthDedupKey = (env: string): string => `pd-agent/${env}/handback`;

export class DeadLetterHandback {
  private readonly clock: () => Date;

  constructor(private readonly deps: HandbackDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  /**
   * The incident first: a silenced incident is handed back before the feedback is looked at, so the feedback can
   * neither delay it nor, by failing, keep it from happening. A feedback write that fails fails the message, which
   * comes back: the incident is then finished, so only the feedback is tried again.
   */
  async handle(queued: DeadLetteredEvent, invocation: Invocation): Promise<HandbackOutcome> {
    const outcome = await this.handBackIfSilenced(queued, invocation);
    await this.recordFeedback(queued, invocation);
    return outcome;
  }

  /** Needs only which event and incident a message is about, so it works on a message from any release. */
  private async handBackIfSilenced(queued: DeadLetteredEvent, invocation: Invocation): Promise<HandbackOutcome> {
    const { audit, incidentLedger } = this.deps;
    const subject: AuditSubject = { incidentId: queued.incidentId, eventId: queued.eventId, eventType: queued.eventType };
    if (queued.incidentId === null) {
      await audit.record({
        ...subject,
        action: 'record',
        outcome: 'recorded',
        detail: 'dead-lettered; the event has no incident, nothing to hand back',
      });
      return 'recorded';
    }
    const incidentId = queued.incidentId;
    const progress = await incidentLedger.get(incidentId);
    // A finished incident is trusted unless the dead event is a later triggering event (a reopen) of it: the agent may
    // have acknowledged it again, answer lost, so PagerDuty's own state decides.
    const laterTrigger = TRIGGERING_EVENT_TYPES.includes(queued.eventType) && progress?.triggerEventId !== queued.eventId;
    // A hold's end that never ran leaves a held incident silenced, and a held incident is `finished`: PagerDuty decides.
    const holdEnd = queued.eventType === HOLD_EXPIRY_EVENT_TYPE;
    if (progress?.finished === true && !laterTrigger && !holdEnd) {
      await audit.record({
        ...subject,
        action: 'record',
        outcome: 'recorded',
        detail: 'dead-lettered; the agent had finished with the incident, so nothing is silenced',
      });
      return 'recorded';
    }

    const connection = await this.deps.connect();
    const retry = this.retryPolicy(localBudget(HANDBACK_RETRY_BUDGET), connection, invocation);
    const actions = new AgentActions({
      api: connection.api,
      audit,
      incidentLedger,
      retry,
      notes: this.deps.notes,
      env: this.deps.env,
      settings: this.deps.settings,
      subject: { ...subject, incidentId },
      botUserId: connection.botUserId,
      metrics: this.deps.metrics,
      fallbackPaging: fallbackPagingOf(connection),
      clock: this.clock,
    });
    const incident = (await retry.idempotent('read incident', () => connection.api.getIncident(incidentId))).response.value;
    // The ledger misses an acknowledgement when the worker died between PagerDuty's answer and recording it, or when
    // the answer was lost, so PagerDuty's own record decides too: acknowledged by the agent alone means silenced with
    // nobody behind it.
    // A triggering event the worker never finished may also leave an incident paging only the agent (a policy that pages
    // it first): nobody is behind that one either.
    const silencedByAgent =
      acknowledgedByAgentAlone(incident, connection.botUserId) ||
      ((holdEnd || HANDS_OVER.includes(queued.eventType)) && pagesOnlyTheAgent(incident, connection.botUserId));
    // PagerDuty's state decides: triggered means it pages, a human acknowledger means someone is behind it. Escalating
    // those would page over a human who has it, on the ledger's word alone.
    if (!silencedByAgent) {
      await audit.record({
        ...subject,
        action: 'record',
        outcome: 'recorded',
        detail: 'dead-lettered; the agent never acknowledged the incident, so nothing is silenced',
      });
      return 'recorded';
    }
    if (incident.status === 'resolved') {
      await incidentLedger.markFinished(incidentId);
      await audit.record({
        ...subject,
        action: 'record',
        outcome: 'recorded',
        detail: 'dead-lettered; the incident is resolved already, nothing to hand back',
      });
      return 'recorded';
    }
    const reason = holdEnd
      ? `the end of the agent's hold could not be checked (check ${queued.eventId} was dead-lettered after repeated failures)`
      : `the agent could not finish ${queued.eventType} event ${queued.eventId} (it was dead-lettered after repeated failures)`;
    await actions.handBack(incident, reason);
    await this.deps.workLedger.markHandedBack(queued.eventId, reason, this.clock());
    this.deps.metrics.addMetric(MetricName.handedBack, 'Count', 1);

    if (connection.eventsRoutingKey !== undefined) {
      const routingKey = connection.eventsRoutingKey;
      await actions.audited(
        'events-api',
        () =>
          retry.idempotent('send health alert', () =>
            connection.events.send({
              routingKey,
              action: 'trigger',
              dedupKey: healthDedupKey(this.deps.env),
              summary: `${this.deps.settings.agentName} (${this.deps.env}) handed incidents back to humans: it could not finish them`,
              source: `pd-agent/${this.deps.env}`,
              severity: 'error',
              customDetails: { lastIncidentId: incidentId, lastEventId: queued.eventId, lastReason: reason },
            }),
          ),
        { detail: `health alert ${healthDedupKey(this.deps.env)}` },
      );
    }
    return 'handed-back';
  }

  /**
   * A dead-lettered `incident.annotated` event goes through the outcome recorder's own feedback path, with the
   * worker's checks before it: the body this release reads, the environment's filters, not the agent's own note.
   * The recorder ignores a note that is not feedback and an incident the agent never triaged, and writes nothing
   * twice (the worker may have recorded it before failing on something else).
   */
  private async recordFeedback(queued: DeadLetteredEvent, invocation: Invocation): Promise<void> {
    if (this.deps.outcomes === undefined || queued.eventType !== NOTE_EVENT_TYPE || queued.rawBodyBase64 === undefined) return;
    const rawBody = Buffer.from(queued.rawBodyBase64, 'base64');
    const parsed = parseWebhookEvent(rawBody);
    if (!parsed.ok || !evaluateFilters(parsed.event, this.deps.settings.filters).pass) return;
    const connection = await this.deps.connect();
    if (parsed.event.agent?.id === connection.botUserId) return;
    const retry = this.retryPolicy(localBudget(FEEDBACK_RETRY_BUDGET), connection, invocation);
    await this.deps.outcomes.observe({ event: parsed.event, rawBody, connection, retry });
  }

  private retryPolicy(budget: RetryBudget, connection: AgentConnection, invocation: Invocation): RetryPolicy {
    return new RetryPolicy({
      budget,
      remainingTimeMs: () => invocation.remainingTimeMs(),
      pacer: connection.pacer,
      sleep: this.deps.retry?.sleep,
      random: this.deps.retry?.random,
      // The handback is the last chance: it tries while any time is left.
      settings: { minRemainingMs: 2000, ...this.deps.retry?.settings },
    });
  }
}
