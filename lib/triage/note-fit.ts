import { agentText, joinText, type NoteText } from './plain-text';
import { truncate } from './text';

/**
 * Fitting a note into the size an on-call reads at a glance: whole sections go, least telling first, rather than the note being cut
 * mid-line; the note says what was left out.
 */

/** The longest line a note has: a phone shows it in a few rows. Link lines stay under it (MAX_LINK_LENGTH). */
export const MAX_LINE_LENGTH = 300;

/** A part of the note; `dropOrder` says how early it goes when the note is too long (never, when absent). */
export interface NoteSection {
  title: NoteText;
  lines: NoteText[];
  dropOrder?: number;
}

export function section(title: NoteText, lines: NoteText[], dropOrder?: number, heading = true): NoteSection {
  if (lines.length === 0) return { title, lines: [] };
  // A cut only shortens what is shown, so it cannot make a link or a line start out of outside text.
  const body = (heading ? [title, ...lines] : lines).map((line) => truncate(line, MAX_LINE_LENGTH) as NoteText);
  return { title, lines: [...body, agentText``], ...(dropOrder === undefined ? {} : { dropOrder }) };
}

/** The sections joined; when they do not fit `room`, the least telling go first, and the note says which. */
export function fitted(sections: readonly NoteSection[], room: number): NoteText {
  const dropped = new Set<NoteSection>();
  const build = (): NoteText => {
    const kept = sections.filter((part) => !dropped.has(part)).flatMap((part) => part.lines);
    const leftOut = sections.filter((part) => dropped.has(part)).map((part) => part.title);
    if (leftOut.length > 0) kept.push(agentText`Left out to fit the note size: ${joinText(leftOut, agentText`, `)}.`);
    return joinText(kept, agentText`\n`);
  };
  const droppable = sections
    .filter((part) => part.dropOrder !== undefined && part.lines.length > 0)
    .sort((a, b) => (a.dropOrder ?? 0) - (b.dropOrder ?? 0));
  for (const next of droppable) {
    if (build().trimEnd().length <= room) break;
    dropped.add(next);
  }
  return build();
}
