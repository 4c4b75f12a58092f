import type { MonitorKind, NormalisedAlert } from '../evidence';
import type { AlertPayload } from './payload';
import type { ThresholdReading } from './thresholds';

/** What one monitor's normaliser read from a payload; the ranked details are added by the caller. */
export type MonitorReading = Omit<NormalisedAlert, 'monitor' | 'details'>;

export interface MonitorNormaliser {
  monitor: MonitorKind;
  /** Whether the payload has this monitor's shape (keys, client name); checked in a fixed order, generic last. */
  recognises(payload: AlertPayload): boolean;
  read(payload: AlertPayload): MonitorReading;
}

/** Copies a threshold reading (from a reason text) into a monitor reading, keeping what the monitor said explicitly. */
export function applyThresholdReading(reading: MonitorReading, text: ThresholdReading): void {
  if (reading.threshold === undefined && text.threshold !== undefined) {
    reading.threshold = { comparison: text.comparison ?? 'other', value: text.threshold };
  } else if (reading.threshold !== undefined && reading.threshold.comparison === 'other' && text.comparison !== undefined) {
    reading.threshold.comparison = text.comparison;
  }
  if (reading.observed === undefined && text.observed !== undefined) {
    reading.observed = text.observedAt === undefined ? { value: text.observed } : { value: text.observed, at: text.observedAt };
  }
}

/** `key=value` pairs from Prometheus-style label lists or Datadog tags (`env:prod`, `host:web-1`). */
export function tagsToDimensions(tags: unknown): Record<string, string> {
  const list = typeof tags === 'string' ? tags.split(',') : Array.isArray(tags) ? tags : [];
  const dimensions: Record<string, string> = {};
  for (const tag of list) {
    if (typeof tag !== 'string') continue;
    const separator = tag.indexOf(':');
    if (separator <= 0) continue;
    dimensions[tag.slice(0, separator).trim()] = tag.slice(separator + 1).trim();
  }
  return dimensions;
}
