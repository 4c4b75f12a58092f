import type { Note } from '../pagerduty/types';

/**
 * `pd-agent: stop` in a person's note on the incident: no more follow-ups on it. Read from the incident's notes when a
 * follow-up is due (one read), so a stop written at any time, even while the agent was down, is seen.
 */
const STOP = /^\s*pd-agent\s*:\s*stop\b/i;

export const isStopRequest = (content: string): boolean => STOP.test(content);

/** The first note by someone other than the agent that asks it to stop, if any. */
export function stopRequestIn(notes: readonly Note[], botUserId: string): Note | undefined {
  return notes.find((note) => note.user.id !== botUserId && isStopRequest(note.content));
}
