import type { TriageRule } from '../config/agent-config';
import type { Alert } from '../pagerduty/types';
import { flattenDetails } from '../context/alert';
import { shortValue } from './text';
import type { IncidentContext } from './types';

/**
 * Operator regular expressions are tested against bounded input: a title or alert value from a monitoring tool can be
 * arbitrarily long, and backtracking cost grows with input length.
 */
export const MAX_MATCHED_INPUT_LENGTH = 256;

export interface RuleMatch {
  rule: TriageRule;
  /** What held, for the note's evidence: `service PSVC1`, `title /disk full/`, `alert host=/db-\d+/`, … */
  matchedOn: string[];
}

export interface RuleMatchResult {
  match?: RuleMatch;
  /** Rules skipped because a pattern does not compile (config validation normally prevents this). */
  skipped: { ruleId: string; reason: string }[];
}

class InvalidRulePattern extends Error {
  constructor(readonly pattern: string) {
    super(`invalid regular expression /${pattern}/`);
  }
}

function compile(pattern: string): RegExp {
  try {
    return new RegExp(pattern, 'i');
  } catch {
    throw new InvalidRulePattern(pattern);
  }
}

function testBounded(pattern: RegExp, input: string): boolean {
  return pattern.test(input.slice(0, MAX_MATCHED_INPUT_LENGTH));
}

/** Whether one alert's details satisfy every `field → pattern` pair (field names compared case-insensitively). */
function alertSatisfies(alert: Alert, fields: [string, RegExp][]): boolean {
  const flat = new Map<string, unknown>();
  for (const [key, value] of flattenDetails(alert.body?.details)) flat.set(key.toLowerCase(), value);
  return fields.every(([field, pattern]) => {
    const key = field.toLowerCase();
    return flat.has(key) && testBounded(pattern, shortValue(flat.get(key), MAX_MATCHED_INPUT_LENGTH));
  });
}

/** The reasons the rule holds for this incident, or null when one of its conditions does not. Throws InvalidRulePattern. */
function evaluate(rule: TriageRule, context: IncidentContext): string[] | null {
  const { incident } = context;
  const { match } = rule;
  const reasons: string[] = [];
  if (match.services !== undefined) {
    if (!match.services.includes(incident.service.id)) return null;
    reasons.push(`service ${incident.service.summary ?? incident.service.id}`);
  }
  if (match.urgency !== undefined) {
    if (incident.urgency !== match.urgency) return null;
    reasons.push(`urgency ${match.urgency}`);
  }
  if (match.priorities !== undefined) {
    const name = incident.priority?.name ?? incident.priority?.summary;
    if (name === undefined || !match.priorities.some((priority) => priority.toLowerCase() === name.toLowerCase())) return null;
    reasons.push(`priority ${name}`);
  }
  if (match.title !== undefined) {
    if (!testBounded(compile(match.title), incident.title)) return null;
    reasons.push(`title /${match.title}/`);
  }
  if (match.alertFields !== undefined) {
    const fields = Object.entries(match.alertFields).map(([field, pattern]): [string, RegExp] => [field, compile(pattern)]);
    if (fields.length > 0) {
      if (!context.alerts.some((alert) => alertSatisfies(alert, fields))) return null;
      reasons.push(
        `alert ${Object.entries(match.alertFields)
          .map(([field, pattern]) => `${field}=/${pattern}/`)
          .join(', ')}`,
      );
    }
  }
  if (reasons.length === 0) reasons.push('every incident (the rule has no conditions)');
  return reasons;
}

/**
 * The first rule, in configuration order, whose every condition holds: operators order rules from specific to
 * general. A rule whose pattern does not compile never matches and is reported in `skipped`.
 */
export function matchRules(rules: readonly TriageRule[], context: IncidentContext): RuleMatchResult {
  const skipped: RuleMatchResult['skipped'] = [];
  for (const rule of rules) {
    try {
      const matchedOn = evaluate(rule, context);
      if (matchedOn !== null) return { match: { rule, matchedOn }, skipped };
    } catch (error) {
      if (!(error instanceof InvalidRulePattern)) throw error;
      skipped.push({ ruleId: rule.id, reason: `${error.message}: fix the rule in AGENT_CONFIG` });
    }
  }
  return { skipped };
}
