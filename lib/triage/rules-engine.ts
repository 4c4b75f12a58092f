import type { RE2JS } from 're2js';
import type { TriageRule } from '../config/agent-config';
import { compileRulePattern, RulePatternError } from '../config/rule-patterns';
import type { Alert, Incident } from '../pagerduty/types';
import { flattenDetails } from '../context/alert';
import { shortValue } from './text';
import type { IncidentContext } from './types';
import { FULL_TRUST, type RuleTrust } from '../trust/rule-trust';

/**
 * Operator patterns run on RE2 (linear time in the input, whatever the pattern) and see bounded input: a title or
 * alert value from a monitoring tool can be arbitrarily long, and an incident can have many alerts.
 */
export const MAX_MATCHED_INPUT_LENGTH = 1024;

export interface RuleMatch {
  rule: TriageRule;
  /** What held, for the note's evidence: `service PSVC1`, `title /disk full/`, `alert host=/db-\d+/`, … */
  matchedOn: string[];
}

export interface RuleMatchResult {
  match?: RuleMatch;
  /** A rule whose pattern RE2 cannot run (`cdk synth` refuses such a configuration); matching stopped there. */
  skipped: { ruleId: string; reason: string }[];
}

function testBounded(pattern: RE2JS, input: string): boolean {
  // A cut is marked (`…`), so that an anchored pattern (`…\d+$`) cannot match at the cut of a longer text.
  return pattern.test(shortValue(input, MAX_MATCHED_INPUT_LENGTH));
}

/** Whether one alert's details satisfy every `field → pattern` pair (field names compared case-insensitively). */
function alertSatisfies(alert: Alert, fields: [string, RE2JS][]): boolean {
  const flat = new Map<string, unknown>();
  for (const [key, value] of flattenDetails(alert.body?.details)) flat.set(key.toLowerCase(), value);
  return fields.every(([field, pattern]) => {
    const key = field.toLowerCase();
    return flat.has(key) && testBounded(pattern, shortValue(flat.get(key), MAX_MATCHED_INPUT_LENGTH));
  });
}

/** The reasons the rule's incident-level conditions hold (service, urgency, priority, title), or null. Throws RulePatternError. */
function incidentConditions(rule: TriageRule, incident: Incident): string[] | null {
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
    if (!testBounded(compileRulePattern(match.title), incident.title)) return null;
    reasons.push(`title /${match.title}/`);
  }
  return reasons;
}

/** The rule's alert conditions, compiled; empty when it has none. Throws RulePatternError. */
function alertConditions(rule: TriageRule): [string, RE2JS][] {
  return Object.entries(rule.match.alertFields ?? {}).map(([field, pattern]): [string, RE2JS] => [field, compileRulePattern(pattern)]);
}

/** The reasons the rule holds for this incident, or null when one of its conditions does not. Throws RulePatternError. */
function evaluate(rule: TriageRule, context: IncidentContext): string[] | null {
  const reasons = incidentConditions(rule, context.incident);
  if (reasons === null) return null;
  const fields = alertConditions(rule);
  if (fields.length > 0) {
    if (!context.alerts.some((alert) => alertSatisfies(alert, fields))) return null;
    reasons.push(`alert ${fields.map(([field]) => `${field}=/${rule.match.alertFields?.[field] ?? ''}/`).join(', ')}`);
  }
  if (reasons.length === 0) reasons.push('every incident (the rule has no conditions)');
  return reasons;
}

/**
 * The first rule, in configuration order, whose every condition holds: operators order rules from specific to
 * general. A rule whose pattern RE2 cannot run stops the matching with no match, reported in `skipped`: it may have
 * been the specific rule that escalates, so a later, more general rule must not decide instead (with no match, the
 * agent escalates).
 */
export function matchRules(rules: readonly TriageRule[], context: IncidentContext): RuleMatchResult {
  for (const rule of rules) {
    try {
      const matchedOn = evaluate(rule, context);
      if (matchedOn !== null) return { match: { rule, matchedOn }, skipped: [] };
    } catch (error) {
      if (!(error instanceof RulePatternError)) throw error;
      return { skipped: [{ ruleId: rule.id, reason: `${error.message}: fix the rule in AGENT_CONFIG` }] };
    }
  }
  return { skipped: [] };
}

/**
 * Whether any outcome of triage could leave the incident with the agent (hold, or resolve once cleared), judged from
 * the incident alone, before anything else is read. It walks the rules as `matchRules` does; a rule whose alert
 * conditions cannot be judged yet counts as possibly matching, so the answer is false only when every way through the
 * rules ends in an escalation: the agent then hands the incident to on-call at once instead of acknowledging it first.
 * Evidence and the model only ever turn a hold into an escalation, never the reverse, so they cannot make it true.
 * Trust does the same: a demoted rule keeps nothing, and an incident in the holdout is kept by no rule.
 */
export function rulesMayKeep(
  rules: readonly TriageRule[],
  incident: Incident,
  holdMinConfidence: number,
  trust: RuleTrust = FULL_TRUST,
): boolean {
  if (trust.heldOut) return false;
  for (const rule of rules) {
    let fields: [string, RE2JS][];
    try {
      if (incidentConditions(rule, incident) === null) continue;
      fields = alertConditions(rule);
    } catch (error) {
      if (!(error instanceof RulePatternError)) throw error;
      return false;
    }
    const keeps = rule.action !== 'escalate' && rule.confidence >= holdMinConfidence && !trust.demoted.has(rule.id);
    if (fields.length === 0 || keeps) return keeps;
  }
  return false;
}
