import { agentText, outsideText, quotedText, type NoteText } from './plain-text';
import { humanDuration, roundedForReading, timeOf } from './text';

/**
 * How the note's sections write outside text, times and measurements. Outside text that names something (a metric, a
 * resource, a person) is `shown` as it is; text that says something (a log line, an alarm name, a reason) is `quoted`.
 * Neither is ever clickable; URLs on trusted hosts stay clickable only through `VouchedLinks.shown` and `.quoted`.
 */
export { outsideText as shown, quotedText as quoted } from './plain-text';

/** "07", "42". */
const twoDigits = (value: number): NoteText => (value < 10 ? agentText`0${value}` : agentText`${value}`);

/** "03:12 UTC" for an ISO-8601 time, or undefined when it is missing or unparseable. */
export function clockTime(iso: string | undefined): NoteText | undefined {
  const at = timeOf(iso);
  if (!Number.isFinite(at)) return undefined;
  const date = new Date(at);
  const [hours, minutes] = [date.getUTCHours(), date.getUTCMinutes()];
  return agentText`${twoDigits(hours)}:${twoDigits(minutes)} UTC`;
}

/** "6 min before the trigger", "2 min after the trigger", "at the trigger". */
export function relativeToTrigger(at: number, trigger: number): NoteText {
  if (!Number.isFinite(at) || !Number.isFinite(trigger)) return agentText`at an unknown time`;
  // humanDuration writes the agent's own words from a number.
  const duration = humanDuration(trigger - at) as NoteText;
  if (Math.abs(trigger - at) < 30_000) return agentText`at the trigger`;
  return at < trigger ? agentText`${duration} before the trigger` : agentText`${duration} after the trigger`;
}

/** CloudWatch unit names as they read after a number; units not listed here are shown as the monitor wrote them. */
const UNIT_SUFFIXES: Record<string, NoteText> = {
  Percent: agentText`%`,
  None: agentText``,
  Count: agentText``,
  Seconds: agentText` s`,
  Milliseconds: agentText` ms`,
  Microseconds: agentText` µs`,
  Bytes: agentText` bytes`,
  Kilobytes: agentText` KB`,
  Megabytes: agentText` MB`,
  Gigabytes: agentText` GB`,
  'Count/Second': agentText`/s`,
};

/** A measurement with its unit: "14", "83.5%", "1200 ms". */
export function measure(value: number, unit: string | undefined): NoteText {
  if (unit === undefined) return agentText`${roundedForReading(value)}`;
  const suffix = Object.hasOwn(UNIT_SUFFIXES, unit) ? UNIT_SUFFIXES[unit] : agentText` ${outsideText(unit, 30)}`;
  return agentText`${roundedForReading(value)}${suffix}`;
}

const MAX_UNAVAILABLE_REASON = 150;

/** One source the agent could not read: "change events (HTTP 402: …)". */
export function unavailableEntry(label: NoteText, reason: string): NoteText {
  return agentText`${label} (${quotedText(reason, MAX_UNAVAILABLE_REASON)})`;
}
