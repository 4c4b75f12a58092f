import { MetricName } from '../observability/telemetry';
import { WOULD_BE_NOTE_LABEL } from '../rollout/rollout';
import type { Hypothesis, IncidentContext } from '../triage/types';
import type { IncidentRun, StepDeps } from './incident-run';

/** Posts the hypothesis note exactly once per trigger event; returns its id. */
export async function postNote(deps: StepDeps, run: IncidentRun, context: IncidentContext, hypothesis: Hypothesis): Promise<string | null> {
  const { eventId } = run.event;
  const footer = run.actions.footer(eventId);
  const markdown = deps.notes.hypothesisNote(hypothesis, context, footer);
  if (!run.writes.note) {
    // Observe mode: the note goes to the audit trail, where the team reads what the agent would have said.
    await deps.audit.record({
      ...run.subject,
      action: 'note',
      outcome: 'skipped',
      hypothesisSummary: hypothesis.summary,
      detail: `${run.rollout.mode} mode (${run.rollout.reason}): not posted to PagerDuty. ${WOULD_BE_NOTE_LABEL}\n${markdown}`,
    });
    return null;
  }
  const note = await run.actions.postNote(eventId, markdown, footer.ref, hypothesis.summary, true);
  if (note.postedNow) deps.metrics.addMetric(MetricName.notePosted, 'Count', 1);
  return note.noteId;
}
