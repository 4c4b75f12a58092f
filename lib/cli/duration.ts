import { CliError } from './cli-error';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `90s`, `15m`, `24h`, `7d`, `2w` in milliseconds; null when the text is not a duration. */
export function parseDuration(text: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$/i.exec(text);
  if (match === null) return null;
  return Math.round(Number(match[1]) * UNIT_MS[match[2].toLowerCase()]);
}

/** A point in time given as a duration ago (`24h`), an ISO-8601 date or time, or `now`. */
export function parseTimePoint(text: string, option: string, now: Date = new Date()): Date {
  if (text.trim().toLowerCase() === 'now') return now;
  const duration = parseDuration(text);
  if (duration !== null) return new Date(now.getTime() - duration);
  if (/^\d{4}-\d{2}-\d{2}/.test(text.trim())) {
    const date = new Date(text.trim());
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw new CliError(
    `${option} "${text}" is neither a duration nor a date.`,
    `Give a duration ago such as 30m, 24h or 7d, or an ISO-8601 time such as 2026-03-12T19:00:00Z.`,
  );
}
