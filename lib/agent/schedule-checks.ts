import type { AuditSubject, AuditTrail } from '../audit/audit-log';
import type { AgentConfig } from '../config/agent-config';
import { messageOf } from '../errors/message-of';
import { predictionFor } from '../followup/prediction';
import { takeSnapshot } from '../followup/snapshot';
import type { ScheduledCheck } from '../queue/queued-event';
import type { CheckRequest } from '../scheduling/check-scheduler';
import { alertsClearance } from '../triage/triage';
import type { RecordedDecision } from '../state/incident-ledger';
import type { Hypothesis, IncidentContext } from '../triage/types';

/**
 * What the worker schedules once it has triaged an incident (lib/agent/scheduled-check.ts handles them when due): the
 * end of a hold, and the first follow-up with what the note was based on and the prediction it stated.
 */
export interface CheckSchedulingDeps {
  scheduler?: { schedule(request: CheckRequest): Promise<ScheduledCheck> };
  settings: Pick<AgentConfig, 'triage' | 'followUp'>;
  audit: AuditTrail;
  clock: () => Date;
}

/** The hypothesis with the prediction its note states, made when the note is written. */
export function withPrediction(
  hypothesis: Hypothesis,
  context: IncidentContext,
  deps: Pick<CheckSchedulingDeps, 'settings' | 'clock'>,
): Hypothesis {
  return { ...hypothesis, prediction: predictionFor(hypothesis, context, deps.clock(), deps.settings.followUp.afterMinutes * 60_000) };
}

export interface TriagedIncident {
  subject: AuditSubject & { incidentId: string };
  triggerEventId: string;
  decision: RecordedDecision;
  /** The agent holds the incident (its acknowledgement landed): only then does a hold need an end. */
  heldByAgent: boolean;
  hypothesis: Hypothesis;
  context: IncidentContext;
  /**
   * Called when a hold's end cannot be scheduled: a hold nobody comes back to would silence the incident, so the
   * caller escalates it now instead.
   */
  escalateUnboundedHold: (reason: string) => Promise<void>;
}

/** Without a scheduler (a processor built without CHECK_QUEUE_URL, as in tests) nothing is scheduled. */
export async function scheduleChecksAfterTriage(deps: CheckSchedulingDeps, triaged: TriagedIncident): Promise<void> {
  const { scheduler, settings } = deps;
  const { subject, triggerEventId, decision, hypothesis, context } = triaged;
  if (decision === 'resolved' || scheduler === undefined) return;
  if (decision === 'held' && triaged.heldByAgent) {
    const unscheduled = await scheduler
      .schedule({
        check: 'hold-expiry',
        incidentId: subject.incidentId,
        triggerEventId,
        afterMinutes: settings.triage.holdMinutes,
        sequence: 1,
      })
      .then(() => undefined)
      .catch((error: unknown) => messageOf(error));
    if (unscheduled !== undefined) {
      await triaged.escalateUnboundedHold(
        `The agent cannot schedule the end of its hold (${unscheduled}), and a hold nobody comes back to would silence the incident: on-call takes it now.`,
      );
      return;
    }
  }
  if (settings.followUp.max === 0) return;
  const now = deps.clock();
  try {
    await scheduler.schedule({
      check: 'follow-up',
      incidentId: subject.incidentId,
      triggerEventId,
      afterMinutes: settings.followUp.afterMinutes,
      sequence: 1,
      baseline: takeSnapshot({ at: now, aws: context.aws, alert: context.alert, alertsCleared: alertsClearance(context).cleared }),
      ...(hypothesis.prediction === undefined ? {} : { prediction: hypothesis.prediction }),
    });
  } catch (error) {
    // A follow-up is a courtesy: the incident is triaged and with whoever has it; its loss is recorded, not retried.
    await deps.audit.record({ ...subject, action: 'record', outcome: 'failed', detail: `follow-up not scheduled: ${messageOf(error)}` });
  }
}
