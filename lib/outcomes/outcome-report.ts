import type { RolloutMode } from '../config/agent-config';
import { recordedDecision, type RecordedDecision } from '../state/incident-ledger';
import type { IncidentOutcomes } from './outcome-store';
import type { Verdict } from './verdict';

/**
 * The figures `pd-agent report`, the dashboard and `pd-agent doctor` show, from outcome and feedback items. Pure:
 * the CLI reads the items, this module counts.
 */
export interface EffectiveVerdict {
  verdict: Verdict;
  /** `feedback`: a responder's `pd-agent: right|wrong` note, which overrides what the agent inferred. */
  source: 'feedback' | 'inferred';
  reason: string;
}

export function effectiveVerdict(entry: IncidentOutcomes): EffectiveVerdict {
  if (entry.feedback !== undefined) {
    const comment = entry.feedback.comment === '' ? '' : `: ${entry.feedback.comment}`;
    return {
      verdict: entry.feedback.verdict,
      source: 'feedback',
      reason: `a responder said the agent was ${entry.feedback.verdict === 'confirmed' ? 'right' : 'wrong'}${comment}`,
    };
  }
  if (entry.outcome !== undefined) return { verdict: entry.outcome.verdict, source: 'inferred', reason: entry.outcome.verdictReason };
  return { verdict: 'unknown', source: 'inferred', reason: 'no outcome recorded' };
}

export interface ReportRow {
  /** The rule id (`(no rule)` when none matched) or the kind of finding. */
  key: string;
  incidents: number;
  modes: Partial<Record<RolloutMode, number>>;
  held: number;
  escalated: number;
  /** Left with the people PagerDuty paged, or with a person who took it over, in act mode. */
  leftWithOnCall: number;
  resolved: number;
  /** Incidents in `note` mode: the agent only posted its note. */
  noted: number;
  /** Incidents in `observe` mode: the agent wrote nothing to PagerDuty. */
  observed: number;
  confirmed: number;
  contradicted: number;
  unknown: number;
  /** confirmed / (confirmed + contradicted); null before any verdict. */
  precision: number | null;
  /** Median of first note → first human action. */
  medianHeadStartMs: number | null;
  /** Incidents the agent held or resolved that a human then took over. */
  takenBack: number;
  /** Holds whose verdict is `contradicted`: the agent kept a page it misunderstood. */
  contradictedHolds: number;
}

export interface OutcomeReport {
  since: string;
  until: string;
  serviceId?: string;
  total: ReportRow;
  byRule: ReportRow[];
  byKind: ReportRow[];
}

export const NO_RULE = '(no rule)';

interface Counted {
  mode: RolloutMode;
  decision?: RecordedDecision;
  ruleId?: string;
  kind: string;
  verdict: Verdict;
  headStartMs?: number;
  takenBack: boolean;
}

function counted(entry: IncidentOutcomes): Counted {
  const facts = entry.outcome ?? entry.feedback;
  const result: Counted = {
    mode: facts?.mode ?? 'act',
    kind: facts?.cause?.kind ?? 'none',
    verdict: effectiveVerdict(entry).verdict,
    takenBack: entry.outcome?.humanTookOver ?? false,
  };
  // Outcome items written before today's decision names keep the old ones (lib/state/incident-ledger.ts).
  const decision = recordedDecision(facts?.decision);
  if (decision !== undefined) result.decision = decision;
  if (facts?.cause?.ruleId !== undefined) result.ruleId = facts.cause.ruleId;
  if (entry.outcome?.headStartMs !== undefined) result.headStartMs = entry.outcome.headStartMs;
  return result;
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function row(key: string, items: Counted[]): ReportRow {
  const count = (predicate: (item: Counted) => boolean): number => items.filter(predicate).length;
  const modes: Partial<Record<RolloutMode, number>> = {};
  for (const item of items) modes[item.mode] = (modes[item.mode] ?? 0) + 1;
  const confirmed = count((item) => item.verdict === 'confirmed');
  const contradicted = count((item) => item.verdict === 'contradicted');
  const acted = (decision: RecordedDecision) => (item: Counted) => item.mode === 'act' && item.decision === decision;
  return {
    key,
    incidents: items.length,
    modes,
    held: count(acted('held')),
    escalated: count(acted('escalated')),
    leftWithOnCall: count(acted('left-with-on-call')),
    resolved: count(acted('resolved')),
    noted: count((item) => item.mode === 'note'),
    observed: count((item) => item.mode === 'observe'),
    confirmed,
    contradicted,
    unknown: count((item) => item.verdict === 'unknown'),
    precision: confirmed + contradicted === 0 ? null : confirmed / (confirmed + contradicted),
    medianHeadStartMs: median(items.flatMap((item) => (item.headStartMs === undefined ? [] : [item.headStartMs]))),
    takenBack: count((item) => item.takenBack),
    contradictedHolds: count((item) => item.decision === 'held' && item.verdict === 'contradicted'),
  };
}

function grouped(items: Counted[], keyOf: (item: Counted) => string): ReportRow[] {
  const groups = new Map<string, Counted[]>();
  for (const item of items) groups.set(keyOf(item), [...(groups.get(keyOf(item)) ?? []), item]);
  return [...groups.entries()]
    .map(([key, members]) => row(key, members))
    .sort((a, b) => b.incidents - a.incidents || a.key.localeCompare(b.key));
}

export function buildOutcomeReport(entries: IncidentOutcomes[], range: { since: Date; until: Date; serviceId?: string }): OutcomeReport {
  const selected = entries.filter((entry) => {
    if (range.serviceId === undefined) return true;
    return (entry.outcome?.serviceId ?? entry.feedback?.serviceId) === range.serviceId;
  });
  const items = selected.map(counted);
  return {
    since: range.since.toISOString(),
    until: range.until.toISOString(),
    ...(range.serviceId === undefined ? {} : { serviceId: range.serviceId }),
    total: row('all', items),
    byRule: grouped(items, (item) => item.ruleId ?? NO_RULE),
    byKind: grouped(items, (item) => item.kind),
  };
}

/** What a rule's record must show before `hold` is justified (docs/rollout-and-outcomes.md). */
export const HOLD_READINESS = { minConfirmed: 10, minPrecision: 0.95, maxContradictedHolds: 0 } as const;

export function justifiesHold(row: ReportRow): boolean {
  return (
    row.key !== NO_RULE &&
    row.confirmed >= HOLD_READINESS.minConfirmed &&
    row.precision !== null &&
    row.precision >= HOLD_READINESS.minPrecision &&
    row.contradictedHolds <= HOLD_READINESS.maxContradictedHolds
  );
}
