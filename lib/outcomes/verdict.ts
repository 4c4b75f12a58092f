import { oneLine, truncate } from '../triage/text';
import { jaccard, titleTokens } from '../triage/analysers/title-similarity';
import type { HypothesisCause } from './hypothesis-cause';
import type { PredictionCheck } from '../followup/prediction';

/**
 * Compares what the agent said with what the humans wrote and did. Each rule below needs a concrete sign (the named
 * change in a note, the same fix as last time, an alert cleared by its monitor, a reopen after the agent resolved);
 * anything less is `unknown`, with the reason, so a report never counts a guess as a hit.
 */
export type Verdict = 'confirmed' | 'contradicted' | 'unknown';

export interface VerdictWithReason {
  verdict: Verdict;
  reason: string;
}

/** Who closed the incident: a person, its monitoring integration (cleared by itself), or nobody known. */
export type Resolver =
  { kind: 'human'; id: string; name?: string } | { kind: 'integration'; id: string; name?: string } | { kind: 'unknown' };

export interface OutcomeEvidence {
  cause: HypothesisCause | undefined;
  /** How the incident ended: `resolved`, or `reopened` after the agent resolved or held it. */
  ending: 'resolved' | 'reopened';
  resolver: Resolver;
  agentResolved: boolean;
  /** Notes written by people (the agent's own and feedback notes excluded), oldest first. */
  humanNotes: string[];
  /** What a follow-up found of the note's prediction, when it settled it: evidence from the data, not from people. */
  predictionCheck?: PredictionCheck;
}

export interface Feedback {
  verdict: 'confirmed' | 'contradicted';
  /** What the responder added after `pd-agent: right|wrong`, bounded and on one line. */
  comment: string;
}

const FEEDBACK = /^\s*pd-agent\s*:\s*(right|wrong)\b[\s:,.;!-]*([\s\S]*)$/i;
const MAX_COMMENT = 300;

/** A note beginning `pd-agent: right` or `pd-agent: wrong` (any case), optionally followed by what it was. */
export function parseFeedback(content: string): Feedback | null {
  const match = FEEDBACK.exec(content);
  if (match === null) return null;
  const word = match[1].toLowerCase();
  return { verdict: word === 'right' ? 'confirmed' : 'contradicted', comment: truncate(oneLine(match[2] ?? ''), MAX_COMMENT) };
}

const ROLLBACK = /\b(roll(ed|ing)?[ -]?back|revert(ed|ing)?|undid|undo(ne)?)\b/i;
const NEGATION = /\b(not|n't|unrelated|ruled out|wasn't|no)\b/i;
/** Words every change summary shares, which say nothing about which change it was. */
const GENERIC_WORDS = new Set(['deploy', 'deployed', 'deployment', 'release', 'released', 'change', 'changed', 'to', 'the', 'of', 'on']);

/** Tokens that identify one change: versions, ticket and commit ids (anything with a digit). */
const identifiers = (text: string): string[] =>
  (text.toLowerCase().match(/[a-z0-9][a-z0-9._#/-]*\d[a-z0-9._#/-]*/g) ?? []).map((token) => token.replace(/[.,;:]+$/, ''));

/** Whether a note names the change: its id, one of its identifiers, or most of its words. */
export function mentionsChange(note: string, change: { id: string; summary: string }): boolean {
  const text = note.toLowerCase();
  if (text.includes(change.id.toLowerCase())) return true;
  const ids = identifiers(change.summary).filter((token) => token.length >= 3);
  if (ids.some((token) => text.includes(token))) return true;
  const words = [...titleTokens(change.summary)].filter((word) => !GENERIC_WORDS.has(word));
  if (words.length === 0) return false;
  const noteWords = titleTokens(note);
  return words.filter((word) => noteWords.has(word)).length / words.length >= 0.6;
}

const sentences = (text: string): string[] => text.split(/(?<=[.!?;])\s+|\n+/);

/** Notes resembling the past fix this closely repeat it. */
const SAME_FIX_SIMILARITY = 0.5;

function changeVerdict(change: NonNullable<HypothesisCause['change']>, notes: string[]): VerdictWithReason | null {
  const label = `\`${truncate(change.summary, 80)}\``;
  const naming = notes.flatMap(sentences).filter((sentence) => mentionsChange(sentence, change));
  if (naming.some((sentence) => NEGATION.test(sentence) && !ROLLBACK.test(sentence))) {
    return { verdict: 'contradicted', reason: `a responder's note names the change ${label} as not the cause` };
  }
  if (naming.some((sentence) => ROLLBACK.test(sentence))) {
    return { verdict: 'confirmed', reason: `responders rolled back the change ${label} the agent named` };
  }
  if (naming.length > 0) return { verdict: 'confirmed', reason: `the responders' notes name the change ${label} the agent named` };
  if (change.isDeploy && notes.some((note) => ROLLBACK.test(note))) {
    return { verdict: 'confirmed', reason: `responders rolled back after the agent named deploy ${label}` };
  }
  return null;
}

function fixVerdict(pastIncident: NonNullable<HypothesisCause['pastIncident']>, notes: string[]): VerdictWithReason | null {
  if (pastIncident.fix === undefined) return null;
  const fixTokens = titleTokens(pastIncident.fix);
  const same = notes.some((note) => jaccard(fixTokens, titleTokens(note)) >= SAME_FIX_SIMILARITY);
  return same ? { verdict: 'confirmed', reason: `resolved with the same fix as incident #${pastIncident.number}` } : null;
}

export function inferVerdict(evidence: OutcomeEvidence): VerdictWithReason {
  const { cause, resolver, humanNotes } = evidence;
  if (evidence.ending === 'reopened' && evidence.agentResolved) {
    return { verdict: 'contradicted', reason: 'reopened after the agent resolved it: the problem had not cleared for good' };
  }
  if (cause === undefined) return { verdict: 'unknown', reason: 'no hypothesis was recorded for this incident at triage time' };
  if (cause.change !== undefined) {
    const found = changeVerdict(cause.change, humanNotes);
    if (found !== null) return found;
  }
  if (cause.pastIncident !== undefined) {
    const found = fixVerdict(cause.pastIncident, humanNotes);
    if (found !== null) return found;
  }
  const settled = evidence.predictionCheck;
  if (settled?.status === 'held') return { verdict: 'confirmed', reason: `the agent's prediction held: ${settled.text}` };
  if (settled?.status === 'failed') return { verdict: 'contradicted', reason: `the agent's prediction failed: ${settled.text}` };
  if (resolver.kind === 'integration') {
    return cause.kind === 'flapping'
      ? { verdict: 'confirmed', reason: `the alert cleared by itself (resolved by ${resolver.name ?? resolver.id}), as flapping predicted` }
      : { verdict: 'unknown', reason: `the alert cleared by itself (resolved by ${resolver.name ?? resolver.id}); nothing says why` };
  }
  if (evidence.ending === 'reopened') return { verdict: 'unknown', reason: 'reopened; no note confirms or contradicts the hypothesis' };
  if (humanNotes.length === 0) return { verdict: 'unknown', reason: 'resolved without a note that confirms or contradicts the hypothesis' };
  return { verdict: 'unknown', reason: "the responders' notes neither name nor rule out what the agent named" };
}
