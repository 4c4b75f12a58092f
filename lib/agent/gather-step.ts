import { MetricName } from '../observability/telemetry';
import type { Oncall } from '../pagerduty/types';
import type { IncidentContext } from '../triage/types';
import { startGathering } from './gather-context';
import type { IncidentRun, Ownership, StepDeps } from './incident-run';

/** The gathering step, and the hand-over to on-call that starts with it when no rule could keep the incident. */

/**
 * Gathers the context. An incident handed over before triage is left with its on-call people at once (the ledger keeps
 * it), or escalated as soon as the on-calls are read (they say which level to page) while the other reads go on; both
 * are waited for, and a failed escalation is the error that counts.
 */
export async function gather(deps: StepDeps, run: IncidentRun, ownership: Ownership): Promise<IncidentContext> {
  const gathering = startGathering(ownership.incident, {
    ...deps.context,
    alertsRead: ownership.alerts,
    api: run.connection.api,
    retry: run.retry,
    policy: deps.settings.triage,
    settings: deps.gather,
    now: deps.clock,
  });
  if (ownership.handOver === null) return gathering.context;
  if (ownership.handOver === 'already-theirs') {
    await deps.incidentLedger.markLeftWithOnCall(run.subject.incidentId, run.event.eventId, deps.clock());
    run.holding.handedToOnCall = true;
    return gathering.context;
  }
  const handing = gathering.oncalls().then((oncalls) => handToOnCall(deps, run, ownership, oncalls ?? []));
  const [handed, gathered] = await Promise.allSettled([handing, gathering.context]);
  if (handed.status === 'rejected') throw handed.reason;
  if (gathered.status === 'rejected') throw gathered.reason;
  return gathered.value;
}

/**
 * The escalation before triage, of an incident the agent never acknowledged but PagerDuty assigned to it (or to
 * nobody): in act mode when AGENT_CONFIG.acknowledge let no rule keep it, in observe and note modes always, as the one
 * write those modes make, so that people are paged as if the agent were absent.
 */
async function handToOnCall(deps: StepDeps, run: IncidentRun, ownership: Ownership, oncalls: Oncall[]): Promise<void> {
  if (ownership.earlierEscalation?.confirmed !== true) {
    const reason = run.writes.acknowledge
      ? 'No rule lets the agent keep an incident like this: on-call takes it at once, and the hypothesis note follows.'
      : `Hand-over in ${run.rollout.mode} mode, the one write it allows: PagerDuty paged only the agent, so the people above it take the incident now, as if the agent were absent.`;
    await run.actions.escalate(ownership.incident, oncalls, reason, {
      forEvent: run.event.eventId,
      repeat: ownership.earlierEscalation?.target,
    });
    deps.metrics.addMetric(MetricName.incidentEscalated, 'Count', 1);
  }
  run.holding.handedToOnCall = true;
  run.holding.mustHandOver = false;
}
