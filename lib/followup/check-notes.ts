import { oneLine, roundedForReading, truncate } from '../triage/text';
import type { NoteFooter } from '../agent/agent-ports';
import type { MaterialChange } from './material-change';
import type { PredictionCheck } from './prediction';

/**
 * The two short notes of scheduled checks, in plain text (PagerDuty shows a note as written): the likely news on the
 * first line, then one line per change, then the footer with the dedup reference. Outside text (change summaries,
 * error signatures, metric names) is one line, bounded, quoted, and never starts a line; a URL in it is defanged so no
 * surface turns it into a link.
 */
const MAX_QUOTED = 160;
const MAX_LINES = 8;

/** Outside text, inert: one line, bounded, in quotes, with `scheme://` broken so it is not a link. */
export function quoted(text: string): string {
  const flat = truncate(oneLine(text), MAX_QUOTED)
    .replace(/"/g, "'")
    .replace(/([a-z][a-z0-9+.-]*):\/\//gi, '$1[:]//');
  return `"${flat}"`;
}

const clock = (iso: string): string => `${new Date(iso).toISOString().slice(11, 16)} UTC`;
const valueOf = (value: number, unit: string | undefined): string => `${roundedForReading(value)}${unit === undefined ? '' : ` ${unit}`}`;

export function changeLine(change: MaterialChange): string {
  switch (change.kind) {
    case 'metric-recovered':
      return `- The metric recovered: ${quoted(change.label)} is back at ${valueOf(change.latest, change.unit)}, within its threshold.`;
    case 'metric-crossed-again':
      return `- The metric crossed its threshold again: ${quoted(change.label)} is at ${valueOf(change.latest, change.unit)}.`;
    case 'metric-worsened':
      return `- The metric worsened: ${quoted(change.label)} went from ${valueOf(change.from, change.unit)} to ${valueOf(change.latest, change.unit)}.`;
    case 'new-change':
      return `- A new change landed at ${clock(change.at)}${change.onAlarmedResource ? ' on the alarmed resource' : ''}: ${quoted(change.summary)}.`;
    case 'new-error':
      return `- A new error signature appeared in the logs: ${quoted(change.signature)}.`;
    case 'alarm-flipped':
      return `- The alarm changed state ${change.flips} time(s) since the last note.`;
    case 'alerts-cleared':
      return '- Every alert of this incident has cleared.';
  }
}

export function footerLine(footer: NoteFooter): string {
  return `-- ${oneLine(footer.agentName)} · env ${oneLine(footer.env)} · ref ${footer.ref}`;
}

function headline(changes: MaterialChange[]): string {
  if (changes.some((change) => change.kind === 'metric-recovered' || change.kind === 'alerts-cleared')) return 'it is recovering';
  if (changes.some((change) => change.kind === 'metric-worsened' || change.kind === 'metric-crossed-again')) return 'it is getting worse';
  return 'something changed';
}

/** The follow-up: what changed since the last note, and whether the first note's prediction held. */
export function followUpNote(input: {
  agentName: string;
  sinceIso: string;
  changes: MaterialChange[];
  prediction?: { text: string; check: PredictionCheck };
  footer: NoteFooter;
}): string {
  const lines = [
    `${oneLine(input.agentName)} follow-up: ${headline(input.changes)} (since ${clock(input.sinceIso)}).`,
    '',
    'What changed:',
    ...input.changes.slice(0, MAX_LINES).map(changeLine),
  ];
  if (input.prediction !== undefined) {
    lines.push('', `Prediction: ${input.prediction.text}`, `Checked: ${input.prediction.check.text}`);
  }
  lines.push('', footerLine(input.footer));
  return lines.join('\n');
}

/** A hold that ended with the incident still open and its alerts not cleared. */
export function holdExpiredNote(input: { agentName: string; holdMinutes: number; alertsDetail: string; footer: NoteFooter }): string {
  return [
    `${oneLine(input.agentName)} held this incident for ${input.holdMinutes} min and it has not cleared (${oneLine(input.alertsDetail)}): on-call takes it now.`,
    '',
    'The first note above has what the agent found.',
    '',
    footerLine(input.footer),
  ].join('\n');
}
