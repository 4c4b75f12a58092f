import { agentMd, code, inert, type Markdown } from './markdown';
import { humanDuration, oneLine, roundedForReading, timeOf, truncate } from './text';

/** How the note's sections write outside text, times and measurements. */

/** Outside text as it appears in a note: one line, at most `max` characters, inert. */
export function shown(text: string, max: number): Markdown {
  return inert(truncate(oneLine(text), max));
}

/** Outside text as a code span (identifiers, log lines): one line, at most `max` characters. */
export function shownAsCode(text: string, max: number): Markdown {
  return code(truncate(oneLine(text), max));
}

/** "03:12 UTC" for an ISO-8601 time, or undefined when it is missing or unparseable. */
export function clockTime(iso: string | undefined): Markdown | undefined {
  const at = timeOf(iso);
  if (!Number.isFinite(at)) return undefined;
  const date = new Date(at);
  const [hours, minutes] = [date.getUTCHours(), date.getUTCMinutes()];
  // Digit by digit: the time is the agent's own, and "03:12" written whole would be escaped like outside text.
  return agentMd`${Math.floor(hours / 10)}${hours % 10}:${Math.floor(minutes / 10)}${minutes % 10} UTC`;
}

/** "6 min before the trigger", "2 min after the trigger", "at the trigger". */
export function relativeToTrigger(at: number, trigger: number): Markdown {
  if (!Number.isFinite(at) || !Number.isFinite(trigger)) return agentMd`at an unknown time`;
  const duration = inert(humanDuration(trigger - at));
  if (Math.abs(trigger - at) < 30_000) return agentMd`at the trigger`;
  return at < trigger ? agentMd`${duration} before the trigger` : agentMd`${duration} after the trigger`;
}

/** CloudWatch unit names as they read after a number; units not listed here are shown as the monitor wrote them. */
const UNIT_SUFFIXES: Record<string, Markdown> = {
  Percent: agentMd`%`,
  None: agentMd``,
  Count: agentMd``,
  Seconds: agentMd` s`,
  Milliseconds: agentMd` ms`,
  Microseconds: agentMd` µs`,
  Bytes: agentMd` bytes`,
  Kilobytes: agentMd` KB`,
  Megabytes: agentMd` MB`,
  Gigabytes: agentMd` GB`,
  'Count/Second': agentMd`/s`,
};

/** A measurement with its unit: "14", "83.5%", "1200 ms". */
export function measure(value: number, unit: string | undefined): Markdown {
  if (unit === undefined) return agentMd`${roundedForReading(value)}`;
  const suffix = Object.hasOwn(UNIT_SUFFIXES, unit) ? UNIT_SUFFIXES[unit] : agentMd` ${shown(unit, 30)}`;
  return agentMd`${roundedForReading(value)}${suffix}`;
}

const MAX_UNAVAILABLE_REASON = 150;

/** One source the agent could not read: "change events (HTTP 402: …)". */
export function unavailableEntry(label: Markdown, reason: string): Markdown {
  return agentMd`${label} (${shown(reason, MAX_UNAVAILABLE_REASON)})`;
}
