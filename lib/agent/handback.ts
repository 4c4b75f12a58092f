import type { AuditSubject, AuditTrail } from '../audit/audit-log';
import { MetricName } from '../observability/telemetry';
import type { QueuedEventHeader } from '../queue/queued-event';
import type { IncidentLedger } from '../state/incident-ledger';
import type { WorkLedger } from '../state/work-ledger';
import { AgentActions } from './agent-actions';
import type { AgentConnection, AgentSettings, Invocation, MetricsSink, NoteRenderer } from './agent-ports';
import { TRIGGERING_EVENT_TYPES, acknowledgedByAgentAlone } from './process-event';
import { RetryPolicy, localBudget, type RetrySettings } from './retry-policy';

/**
 * The safety net on the dead-letter queue: an event the worker could not finish. If the agent acknowledged its
 * incident and did not finish it, the incident is silenced with nobody behind it: escalate it to humans with a short
 * note saying what failed, audit it, mark it handed back, and raise one Events API alert about the agent's own health
 * (stable dedup key, so repeated failures are one alert). Anything else is recorded only.
 */
export interface HandbackDeps {
  env: string;
  settings: AgentSettings;
  connect: () => Promise<AgentConnection>;
  workLedger: WorkLedger;
  incidentLedger: IncidentLedger;
  audit: AuditTrail;
  notes: NoteRenderer;
  metrics: MetricsSink;
  clock?: () => Date;
  retry?: { sleep?: (ms: number) => Promise<void>; random?: () => number; settings?: Partial<RetrySettings> };
}

export type HandbackOutcome = 'handed-back' | 'recorded';

/** Retries the handback function allows itself per dead event (it has no per-webhook budget left to draw on). */
const HANDBACK_RETRY_BUDGET = 3;

export const healthDedupKey = (env: string): string => `pd-agent/${env}/handback`;

export class DeadLetterHandback {
  private readonly clock: () => Date;

  constructor(private readonly deps: HandbackDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  /** Needs only which event and incident a message is about, so it works on a message from any release. */
  async handle(queued: QueuedEventHeader, invocation: Invocation): Promise<HandbackOutcome> {
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
    if (progress?.finished === true && !laterTrigger) {
      await audit.record({
        ...subject,
        action: 'record',
        outcome: 'recorded',
        detail: 'dead-lettered; the agent had finished with the incident, so nothing is silenced',
      });
      return 'recorded';
    }

    const connection = await this.deps.connect();
    const retry = new RetryPolicy({
      budget: localBudget(HANDBACK_RETRY_BUDGET),
      remainingTimeMs: () => invocation.remainingTimeMs(),
      pacer: connection.pacer,
      sleep: this.deps.retry?.sleep,
      random: this.deps.retry?.random,
      // The handback is the last chance: it tries while any time is left.
      settings: { minRemainingMs: 2000, ...this.deps.retry?.settings },
    });
    const actions = new AgentActions({
      api: connection.api,
      audit,
      incidentLedger,
      retry,
      notes: this.deps.notes,
      env: this.deps.env,
      settings: this.deps.settings,
      subject: { ...subject, incidentId },
      metrics: this.deps.metrics,
      clock: this.clock,
    });
    const incident = (await retry.idempotent('read incident', () => connection.api.getIncident(incidentId))).response.value;
    // The ledger misses an acknowledgement when the worker died between PagerDuty's answer and recording it, or when
    // the answer was lost, so PagerDuty's own record decides too: acknowledged by the agent alone means silenced with
    // nobody behind it.
    const silencedByAgent = acknowledgedByAgentAlone(incident, connection.botUserId);
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
    const reason = `the agent could not finish ${queued.eventType} event ${queued.eventId} (it was dead-lettered after repeated failures)`;
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
}
