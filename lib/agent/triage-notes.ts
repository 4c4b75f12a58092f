import type { AgentConfig } from '../config/agent-config';
import { noteContainsRef, noteDedupRef, renderHandbackNote, renderHypothesisNote } from '../triage/note';
import { nextEscalationLevel } from './agent-actions';
import type { NoteRenderer } from './agent-ports';

/** The triage module's note rendering, told which escalation level the agent's escalation would page. */
export function createNoteRenderer(escalationMode: AgentConfig['escalation']['mode']): NoteRenderer {
  return {
    hypothesisNote: (hypothesis, context, footer) =>
      renderHypothesisNote({
        hypothesis,
        context,
        agentName: footer.agentName,
        env: footer.env,
        dedupRef: footer.ref,
        pagedIfEscalated: {
          level: escalationMode === 'next_level' ? (nextEscalationLevel(context.incident, context.oncalls) ?? 1) : 1,
        },
      }),
    handbackNote: (_incidentId, reason, footer) =>
      renderHandbackNote({ agentName: footer.agentName, env: footer.env, reason, dedupRef: footer.ref }),
    dedupRef: noteDedupRef,
    containsRef: noteContainsRef,
  };
}
