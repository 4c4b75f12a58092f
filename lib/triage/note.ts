import { createHash } from 'node:crypto';
import { oneLine, truncate } from './text';
import type { ContextSource, Decision, Hypothesis, IncidentContext } from './types';

/**
 * The one note the agent adds to an incident, and the handback note. Notes are markdown; everything that came from
 * monitoring tools or people is flattened to one line, bounded, and kept from forming links or HTML, and only
 * http(s) links the agent chose are rendered as links.
 */

/** Well under what PagerDuty accepts for a note; the footer with the dedup reference always survives the cap. */
export const MAX_NOTE_LENGTH = 25_000;
const MAX_SUMMARY = 300;
const MAX_REASON = 600;
const MAX_EVIDENCE_ITEMS = 15;
const MAX_EVIDENCE_TEXT = 500;
const MAX_LINK = 500;
const MAX_STEPS = 10;
const MAX_STEP = 300;
const MAX_NAMES = 10;
const MAX_UNAVAILABLE_REASON = 150;

export interface HypothesisNoteInput {
  hypothesis: Hypothesis;
  context: IncidentContext;
  agentName: string;
  env: string;
  dedupRef: string;
  /**
   * The escalation level the agent's escalation pages: 1 when it reassigns the incident to its escalation policy,
   * the next level in `next_level` mode.
   */
  pagedIfEscalated: { level: number };
}

export interface HandbackNoteInput {
  agentName: string;
  env: string;
  reason: string;
  dedupRef: string;
}

/** `pda-<10 hex>`: stable for one triggering event of one incident in one environment, short enough to search for. */
export function noteDedupRef(env: string, incidentId: string, triggerEventId: string): string {
  const digest = createHash('sha256').update(`pd-agent-note\n${env}\n${incidentId}\n${triggerEventId}`).digest('hex');
  return `pda-${digest.slice(0, 10)}`;
}

/** Whether a note (as PagerDuty returns it) carries the reference, so a retry does not post it twice. */
export function noteContainsRef(content: string, ref: string): boolean {
  return ref !== '' && content.includes(ref);
}

/**
 * Untrusted text as inline markdown: one line, no link or image syntax, no HTML. Text inside `code spans` is kept
 * as is (backslash escapes do not apply there).
 */
export function inlineMarkdown(text: string): string {
  const line = oneLine(text);
  const escape = (plain: string): string => plain.replace(/([\\[\]<>*])/g, '\\$1');
  const parts = line.split('`');
  if (parts.length % 2 === 0) return escape(line.replace(/`/g, "'"));
  return parts.map((part, index) => (index % 2 === 1 ? `\`${part}\`` : escape(part))).join('');
}

/** An http(s) URL fit for a markdown link target, or undefined. */
export function safeLink(url: string | undefined): string | undefined {
  if (url === undefined || url.length > MAX_LINK) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return undefined;
  return parsed.href.replace(/[()<> ]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
}

const SOURCE_LABELS: Record<ContextSource, string> = {
  alerts: 'alerts',
  recentIncidents: 'recent incidents',
  resolutionNotes: 'resolution notes',
  changeEvents: 'change events',
  oncalls: 'on-call lookup',
};

const DECISION_LABELS: Record<Decision, string> = {
  escalate: 'escalate to on-call',
  hold: 'hold (the agent keeps it acknowledged)',
  resolve: 'resolve',
};

function percent(value: number): string {
  return `${Math.round(Math.min(1, Math.max(0, value)) * 100)}%`;
}

/** Who PagerDuty pages when the agent escalates, from the on-calls of the incident's escalation policy at that level. */
export function whoIsPagedOnEscalation(context: IncidentContext, level: number): string {
  const policy = context.incident.escalation_policy;
  const policyName = inlineMarkdown(truncate(policy.summary ?? policy.id, 80));
  const failed = context.unavailable.find((entry) => entry.source === 'oncalls');
  if (failed) return `unknown: the on-call lookup failed (${inlineMarkdown(truncate(failed.reason, MAX_UNAVAILABLE_REASON))})`;
  const names = new Map<string, string>();
  for (const oncall of context.oncalls) {
    if (oncall.escalation_policy.id !== policy.id || oncall.escalation_level !== level) continue;
    names.set(oncall.user.id, oncall.user.summary ?? oncall.user.id);
  }
  if (names.size === 0)
    return `nobody found on call at level ${level} of ${policyName}; PagerDuty follows the escalation policy as configured`;
  const shown = [...names.values()].slice(0, MAX_NAMES).map((name) => inlineMarkdown(truncate(name, 60)));
  const more = names.size > MAX_NAMES ? ` and ${names.size - MAX_NAMES} more` : '';
  return `${shown.join(', ')}${more} (level ${level} of ${policyName})`;
}

function footer(agentName: string, env: string, dedupRef: string, extra = ''): string {
  return `---\n_${inlineMarkdown(truncate(agentName, 60))} · env \`${oneLine(env).replace(/`/g, "'")}\` · ref \`${dedupRef}\`${extra}_`;
}

/** Bounded by construction; the final cap only guards against surprises, and always keeps the footer. */
function capped(body: string, foot: string): string {
  const room = MAX_NOTE_LENGTH - foot.length - 2;
  return `${truncate(body, room)}\n\n${foot}`;
}

export function renderHypothesisNote(input: HypothesisNoteInput): string {
  const { hypothesis, context, agentName, env, dedupRef, pagedIfEscalated } = input;
  const lines: string[] = [];
  lines.push(`**${inlineMarkdown(truncate(hypothesis.summary, MAX_SUMMARY)) || 'No hypothesis'}**`, '');
  lines.push(
    `**Confidence:** ${percent(hypothesis.confidence)} · **Decision:** ${DECISION_LABELS[hypothesis.decision]}. ${inlineMarkdown(truncate(hypothesis.decisionReason, MAX_REASON))}`,
    '',
  );

  if (hypothesis.evidence.length > 0) {
    lines.push('**Evidence**');
    for (const evidence of hypothesis.evidence.slice(0, MAX_EVIDENCE_ITEMS)) {
      const link = safeLink(evidence.link);
      lines.push(`- ${inlineMarkdown(truncate(evidence.text, MAX_EVIDENCE_TEXT))}${link ? ` ([link](${link}))` : ''}`);
    }
    if (hypothesis.evidence.length > MAX_EVIDENCE_ITEMS) lines.push(`- …and ${hypothesis.evidence.length - MAX_EVIDENCE_ITEMS} more`);
    lines.push('');
  }

  if (hypothesis.nextSteps.length > 0) {
    lines.push('**Next steps**');
    hypothesis.nextSteps
      .slice(0, MAX_STEPS)
      .forEach((step, index) => lines.push(`${index + 1}. ${inlineMarkdown(truncate(step, MAX_STEP))}`));
    lines.push('');
  }

  const runbook = safeLink(hypothesis.runbook);
  if (runbook) lines.push(`**Runbook:** ${runbook}`, '');
  lines.push(`**Paged if it escalates:** ${whoIsPagedOnEscalation(context, pagedIfEscalated.level)}`, '');
  if (context.unavailable.length > 0) {
    const sources = context.unavailable.map(
      (entry) =>
        `${SOURCE_LABELS[entry.source] ?? inlineMarkdown(entry.source)} (${inlineMarkdown(truncate(entry.reason, MAX_UNAVAILABLE_REASON))})`,
    );
    lines.push(`**Unavailable sources:** ${sources.join('; ')}`, '');
  }

  const refinedBy = hypothesis.producedBy === 'bedrock' ? ' · refined by Amazon Bedrock' : '';
  return capped(lines.join('\n').trimEnd(), footer(agentName, env, dedupRef, refinedBy));
}

/** The note the handback function adds when the agent could not finish: short, and clear about who has it now. */
export function renderHandbackNote(input: HandbackNoteInput): string {
  const { agentName, env, reason, dedupRef } = input;
  const name = inlineMarkdown(truncate(agentName, 60));
  const why = inlineMarkdown(truncate(reason, MAX_REASON)).replace(/\.$/, '');
  return capped(
    `**${name} could not finish triage: ${why}.** Handing this incident to the on-call humans.`,
    footer(agentName, env, dedupRef),
  );
}
