import type { AgentConfig } from '../config/agent-config';
import { noteContainsRef, noteDedupRef, renderHandbackNote, renderHypothesisNote } from '../triage/note';
import { nextEscalationLevel } from './agent-actions';
import type { NoteRenderer } from './agent-ports';

/**
 * The triage module's note rendering, told which escalation level the agent's escalation would page, which runbooks
 * AGENT_CONFIG names (the only links besides the incident's own PagerDuty pages and the AWS console pages the agent
 * builds) and which hosts' URLs may stay clickable in outside text (`links.trustedHosts`).
 */
export function createNoteRenderer(config: Pick<AgentConfig, 'escalation' | 'triage' | 'links'>): NoteRenderer {
  const runbooks = config.triage.rules.flatMap((rule) => (rule.runbook === undefined ? [] : [rule.runbook]));
  return {
    hypothesisNote: (hypothesis, context, footer) =>
      renderHypothesisNote({
        hypothesis,
        context,
        agentName: footer.agentName,
        env: footer.env,
        dedupRef: footer.ref,
        pagedIfEscalated: {
          level: config.escalation.mode === 'next_level' ? (nextEscalationLevel(context.incident, context.oncalls) ?? 1) : 1,
        },
        runbooks,
        trustedHosts: config.links.trustedHosts,
      }),
    handbackNote: (_incidentId, reason, footer) =>
      renderHandbackNote({ agentName: footer.agentName, env: footer.env, reason, dedupRef: footer.ref }),
    dedupRef: noteDedupRef,
    containsRef: noteContainsRef,
  };
}
