/**
 * Text helpers for triage output. Everything the agent writes into a PagerDuty note passes through here: titles,
 * alert fields and change summaries come from monitoring tools and people, so they are flattened to one line and
 * bounded before they reach a note.
 */

/**
 * One line: control characters and line breaks become spaces, runs of whitespace collapse, and bidirectional
 * overrides and isolates (which can make text display in an order other than the one it has) are dropped.
 */
export function oneLine(text: string): string {
  return (
    text
      .replace(/[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '')
      // Control characters are exactly what this strips: outside text must not break a note's lines.
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
      .replace(/\s+/g, ' ')
      .trim()
  );
}

/** At most `max` characters, ending with an ellipsis when something was cut. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 1) return text.slice(0, Math.max(0, max));
  return `${text.slice(0, max - 1).trimEnd()}…`;
}

/** A value of any shape as short one-line text (objects as JSON). */
export function shortValue(value: unknown, max: number): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (value === null || value === undefined) text = String(value);
  else if (typeof value === 'number' || typeof value === 'boolean') text = String(value);
  else {
    try {
      text = JSON.stringify(value) ?? typeof value;
    } catch {
      text = '[unserialisable]';
    }
  }
  return truncate(oneLine(text), max);
}

/** "4 min", "3 h 5 min", "2 d 4 h": how long before or after, for people reading a note at night. */
export function humanDuration(milliseconds: number): string {
  const minutes = Math.max(0, Math.round(Math.abs(milliseconds) / 60_000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${days} d` : `${days} d ${hours % 24} h`;
}

/** Milliseconds since the epoch, or NaN for a missing or unparseable timestamp. */
export function timeOf(iso: string | null | undefined): number {
  return iso ? Date.parse(iso) : Number.NaN;
}

/** A measurement rounded for reading: whole numbers from 100 up, two decimals below. */
export function roundedForReading(value: number): number {
  return Math.abs(value) >= 100 ? Math.round(value) : Math.round(value * 100) / 100;
}
