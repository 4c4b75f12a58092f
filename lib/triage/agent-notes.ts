/**
 * The agent's own notes end with a footer carrying its dedup reference (`ref pda-<10 hex>`, see `noteDedupRef`).
 * When the agent reads earlier incidents' notes for "how it was resolved", its own notes are its earlier guesses, not
 * a person's resolution: they must neither be quoted as one nor make a recurrence look better understood.
 */
const AGENT_NOTE_REFERENCE = /\bpda-[0-9a-f]{10}\b/;

/** Whether a note was written by the agent: its author is the agent's user, or it carries the agent's note reference. */
export function isAgentNote(content: string, author?: { authorId?: string; botUserId?: string }): boolean {
  if (author?.authorId !== undefined && author.authorId === author.botUserId) return true;
  return AGENT_NOTE_REFERENCE.test(content);
}
