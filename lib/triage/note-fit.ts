import { agentMd, joinMarkdown, type Markdown } from './markdown';

/**
 * Fitting a note into PagerDuty's size: whole sections go, least telling first, rather than the note being cut
 * mid-line; the note says what was left out.
 */

/** A part of the note; `dropOrder` says how early it goes when the note is too long (never, when absent). */
export interface NoteSection {
  title: Markdown;
  lines: Markdown[];
  dropOrder?: number;
}

export function section(title: Markdown, lines: Markdown[], dropOrder?: number, heading = true): NoteSection {
  if (lines.length === 0) return { title, lines: [] };
  const body = heading ? [agentMd`**${title}**`, ...lines] : lines;
  return { title, lines: [...body, agentMd``], ...(dropOrder === undefined ? {} : { dropOrder }) };
}

/** The sections joined; when they do not fit `room`, the least telling go first, and the note says which. */
export function fitted(sections: readonly NoteSection[], room: number): Markdown {
  const dropped = new Set<NoteSection>();
  const build = (): Markdown => {
    const kept = sections.filter((part) => !dropped.has(part)).flatMap((part) => part.lines);
    const leftOut = sections.filter((part) => dropped.has(part)).map((part) => part.title);
    if (leftOut.length > 0) kept.push(agentMd`_Left out to fit the note size: ${joinMarkdown(leftOut, agentMd`, `)}._`);
    return joinMarkdown(kept, agentMd`\n`);
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
