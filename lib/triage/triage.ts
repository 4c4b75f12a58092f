import type { TriagePolicy } from '../config/agent-config';
import { alertIsCleared, describeNotRead, type Analyser, type IncidentAsRead } from './analysers/analyser';
import { BUILT_IN_ANALYSERS } from './analysers';
import { isSurging } from './analysers/likely-cause';
import { matchRules, type RuleMatch } from './rules-engine';
import { FULL_TRUST, type RuleTrust } from '../trust/rule-trust';
import { humanDuration, oneLine, timeOf, truncate } from './text';
import { triggerTime } from './trigger-time';
import type { Decision, Evidence, Finding, Hypothesis, IncidentContext } from './types';

/** Without a rule the analysers' confidence stays modest, and always below `holdMinConfidence`. */
export const NO_RULE_CONFIDENCE_CEILING = 0.65;
const NO_RULE_MARGIN = 0.01;
const NOTHING_FOUND = 'No matching rule or prior pattern; handing to on-call';
/** A change or a new error this close before the trigger is fresh evidence that the incident is not the known pattern. */
export const FRESH_EVIDENCE_MINUTES = 15;

export interface TriageOptions {
  /** Replaces the built-in analysers (tests, or an environment that wants fewer). */
  analysers?: readonly Analyser[];
  /** Demoted rules and whether this incident is held out (lib/trust/rule-trust.ts); absent: every rule is trusted. */
  trust?: RuleTrust;
}

export interface AlertsClearance {
  cleared: boolean;
  /** Why the incident does or does not count as cleared, for the decision reason. */
  detail: string;
}

/**
 * An incident is cleared only when the agent can see that every one of its alerts resolved: at least one alert, the
 * alert read succeeded and took in every alert (none left beyond its page cap), and PagerDuty's own `alert_counts`
 * (when present) agree that none is still triggered and that no alert was left out of the read.
 */
export function alertsClearance(context: IncidentContext): AlertsClearance {
  const { alerts } = context;
  const unavailable = context.unavailable.find((entry) => entry.source === 'alerts');
  if (unavailable) return { cleared: false, detail: `the alerts could not be read (${unavailable.reason})` };
  if (alerts.length === 0) return { cleared: false, detail: 'no alerts were found to confirm it cleared' };
  if (context.alertsNotRead !== undefined && context.alertsNotRead !== 0) {
    return { cleared: false, detail: `only the first ${alerts.length} alerts were read (${describeNotRead(context.alertsNotRead)})` };
  }
  const open = alerts.filter((alert) => !alertIsCleared(alert)).length;
  if (open > 0) return { cleared: false, detail: `${open} of ${alerts.length} alerts are still triggered` };
  const counts = (context.incident as IncidentAsRead).alert_counts;
  if (counts && typeof counts.triggered === 'number' && counts.triggered > 0) {
    return { cleared: false, detail: `PagerDuty still counts ${counts.triggered} triggered alert(s)` };
  }
  if (counts && typeof counts.all === 'number' && counts.all > alerts.length) {
    return { cleared: false, detail: `only ${alerts.length} of ${counts.all} alerts were read` };
  }
  return { cleared: true, detail: `all ${alerts.length} alert(s) resolved` };
}

function percent(value: number): string {
  return `${Math.round(value * 100)}%`;
}

/**
 * Fresh evidence against holding, from the AWS providers: a change on the alarmed resource (a code update, a
 * configuration or security-group change, a PagerDuty change event the providers tied to the resource) within
 * FRESH_EVIDENCE_MINUTES before the trigger, or an error its logs never showed before. A rule says "this is the known,
 * harmless pattern"; evidence that the resource itself just changed says it may not be, so a human looks. Change
 * events on the service alone do not count: rules are written knowing the service deploys often.
 */
export function freshContradiction(context: IncidentContext): string | undefined {
  const trigger = triggerTime(context);
  const windowMs = FRESH_EVIDENCE_MINUTES * 60_000;
  const freshAws = (context.aws?.changes ?? [])
    .filter((change) => change.onAlarmedResource)
    .map((change) => ({ change, before: trigger - timeOf(change.at) }))
    .filter(({ before }) => before >= 0 && before <= windowMs)
    .sort((a, b) => a.before - b.before)[0];
  if (freshAws !== undefined) {
    const target = freshAws.change.target === undefined ? '' : ` on ${truncate(oneLine(freshAws.change.target), 80)}`;
    return `${truncate(oneLine(freshAws.change.action), 60)}${target} ${humanDuration(freshAws.before)} before the trigger`;
  }
  const newError = (context.aws?.logSurges ?? []).find((surge) => surge.isNew && isSurging(surge));
  if (newError !== undefined) return `a new error in ${truncate(oneLine(newError.logGroup), 80)}`;
  return undefined;
}

function decideForRule(match: RuleMatch, context: IncidentContext, policy: TriagePolicy): { decision: Decision; reason: string } {
  const decided = decideByRule(match, context, policy);
  if (decided.decision !== 'hold') return decided;
  const contradiction = freshContradiction(context);
  if (contradiction === undefined) return decided;
  return {
    decision: 'escalate',
    reason: `Rule ${match.rule.id} would hold it, but fresh evidence contradicts the known pattern: ${contradiction}; handing to on-call.`,
  };
}

type RuleDecision = { decision: Decision; reason: string; withheld?: Hypothesis['withheld'] };

/**
 * A hold or resolve the rule allows is withheld when the rule is demoted (escalated, with the note) or the incident is
 * in the holdout (left with on-call, with the note): trust only ever turns keeping into handing over.
 */
function applyTrust(ruleId: string, decided: RuleDecision, trust: RuleTrust): RuleDecision {
  if (decided.decision === 'escalate') return decided;
  const demotion = trust.demoted.get(ruleId);
  if (demotion !== undefined) {
    return {
      decision: 'escalate',
      reason:
        `Rule ${ruleId} is demoted, so on-call has it until a person runs pd-agent rule promote ${ruleId} ` +
        `(demoted ${demotion.demotedAt.slice(0, 10)}: ${demotion.reason}).`,
      withheld: 'demoted',
    };
  }
  if (trust.heldOut) {
    return {
      decision: 'escalate',
      reason: `Rule ${ruleId} would keep it, but this incident is in the holdout (${Math.round(trust.holdoutShare * 100)}% of the incidents a rule would keep are left with on-call, to measure what keeping saves); on-call has it.`,
      withheld: 'held-out',
    };
  }
  return decided;
}

function decideByRule(match: RuleMatch, context: IncidentContext, policy: TriagePolicy): { decision: Decision; reason: string } {
  const { rule } = match;
  const confident = rule.confidence >= policy.holdMinConfidence;
  const confidence = `confidence ${percent(rule.confidence)}`;
  const required = `${percent(policy.holdMinConfidence)} required`;
  switch (rule.action) {
    case 'escalate':
      return { decision: 'escalate', reason: `Rule ${rule.id} hands this kind of incident to on-call.` };
    case 'hold':
      return confident
        ? { decision: 'hold', reason: `Rule ${rule.id} allows the agent to hold it (${confidence}, ${required}).` }
        : {
            decision: 'escalate',
            reason: `Rule ${rule.id} would hold it, but its ${confidence} is below the ${required}; handing to on-call.`,
          };
    case 'resolve-if-cleared': {
      if (!confident) {
        return {
          decision: 'escalate',
          reason: `Rule ${rule.id} would resolve it once cleared, but its ${confidence} is below the ${required}; handing to on-call.`,
        };
      }
      const clearance = alertsClearance(context);
      return clearance.cleared
        ? {
            decision: 'resolve',
            reason: `Rule ${rule.id} allows resolving once cleared and ${clearance.detail} (${confidence}, ${required}).`,
          }
        : {
            decision: 'hold',
            reason: `Rule ${rule.id} allows resolving once cleared, but ${clearance.detail}; holding (${confidence}, ${required}).`,
          };
    }
  }
}

/** Independent findings combine like probabilities: 1 - Π(1 - weight). */
function combinedWeight(findings: Finding[]): number {
  return 1 - findings.reduce((remaining, finding) => remaining * (1 - Math.min(1, Math.max(0, finding.weight))), 1);
}

function unique(items: string[]): string[] {
  return [...new Set(items.filter((item) => item.trim() !== ''))];
}

/**
 * Evidence once: two analysers may cite the same past incident (recurrence and flapping) or the same change; the
 * first citation (from the stronger finding) stays.
 */
function uniqueEvidence(items: Evidence[]): Evidence[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const key = item.link ?? `${item.source}\n${item.text}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Turns the gathered context into one hypothesis. The decision is the safety core:
 * - default `escalate`: humans take it;
 * - `hold` only when the matching rule says `hold` and its confidence ≥ `holdMinConfidence`;
 * - `resolve` only when the rule says `resolve-if-cleared`, every alert is seen resolved and the confidence suffices;
 *   not yet cleared, it holds if confident and escalates otherwise;
 * - without a rule, always `escalate`, with the analysers' best explanation and a confidence below the hold threshold.
 */
export function triageIncident(context: IncidentContext, policy: TriagePolicy, options: TriageOptions = {}): Hypothesis {
  const analysers = options.analysers ?? BUILT_IN_ANALYSERS;
  const findings = analysers
    .map((analyse) => analyse(context, policy))
    .filter((finding): finding is Finding => finding !== null)
    .map((finding, order) => ({ finding, order }))
    .sort((a, b) => b.finding.weight - a.finding.weight || a.order - b.order)
    .map(({ finding }) => finding);
  const explaining = findings.filter((finding) => finding.weight > 0);
  const best = explaining[0];
  const findingEvidence: Evidence[] = uniqueEvidence(findings.flatMap((finding) => finding.evidence));
  const findingSteps = findings.flatMap((finding) => finding.nextSteps);

  const { match } = matchRules(policy.rules, context);
  if (match !== undefined) {
    const { rule } = match;
    const { decision, reason, withheld } = applyTrust(rule.id, decideForRule(match, context, policy), options.trust ?? FULL_TRUST);
    const hypothesis: Hypothesis = {
      summary: rule.hypothesis,
      confidence: rule.confidence,
      evidence: [
        {
          source: `rule:${rule.id}`,
          text: `Matched rule ${rule.id} on ${match.matchedOn.join(', ')}`,
          ...(rule.runbook ? { link: rule.runbook } : {}),
        },
        ...findingEvidence,
      ],
      nextSteps: unique([...rule.nextSteps, ...findingSteps]),
      decision,
      decisionReason: reason,
      ruleId: rule.id,
      producedBy: 'rules',
      ...(withheld === undefined ? {} : { withheld }),
    };
    if (rule.runbook !== undefined) hypothesis.runbook = rule.runbook;
    return hypothesis;
  }

  const ceiling = Math.max(0, Math.min(NO_RULE_CONFIDENCE_CEILING, policy.holdMinConfidence - NO_RULE_MARGIN));
  if (best === undefined) {
    // An analyser that looked and found nothing (likely-cause: what was checked, what could not be read) says so.
    const checkedAndFoundNothing = findings.find((finding) => finding.cause === 'none');
    return {
      summary: checkedAndFoundNothing?.summary ?? NOTHING_FOUND,
      cause: 'none',
      confidence: 0,
      evidence: findingEvidence,
      nextSteps: unique(['Start from the alert details and the service dashboards; the agent found no prior pattern', ...findingSteps]),
      decision: 'escalate',
      decisionReason:
        'No rule matches this incident and the analysers found no prior pattern; the agent never holds without a rule, so on-call takes it.',
      producedBy: 'rules',
    };
  }
  return {
    summary: best.summary,
    cause: best.cause ?? 'none',
    confidence: Math.min(ceiling, Math.round(combinedWeight(explaining) * 100) / 100),
    evidence: findingEvidence,
    nextSteps: unique(findingSteps),
    decision: 'escalate',
    decisionReason: 'No rule matches this incident; the agent never holds without a rule, so on-call takes it with this head start.',
    producedBy: 'rules',
  };
}
