import type { AuditSubject, AuditTrail } from '../audit/audit-log';
import type { MetricsSink } from '../agent/agent-ports';
import type { TrustConfig } from '../config/agent-config';
import { MetricName } from '../observability/telemetry';
import type { IncidentOutcomes, OutcomeStore } from '../outcomes/outcome-store';
import type { Verdict } from '../outcomes/verdict';
import { recordedDecision } from '../state/incident-ledger';
import type { DemotionStore } from './demotion-store';
import { judgeRecord, type JudgedOutcome } from './rule-trust';

/**
 * The circuit breaker (docs/rollout-and-outcomes.md "Trust"): when an outcome or a responder's feedback contradicts a
 * rule, the rule's rolling record is read back from the outcome items and judged (lib/trust/rule-trust.ts judgeRecord);
 * a bad record demotes the rule with a conditional write, audited and counted (RuleDemoted, alarmed). Only a
 * contradiction can turn a record bad, so confirmed and unknown outcomes read nothing.
 */
export interface CircuitBreakerDeps {
  demotions: Pick<DemotionStore, 'standings' | 'demote'>;
  outcomes: Pick<OutcomeStore, 'byTimeRange'>;
  audit: AuditTrail;
  metrics: MetricsSink;
  settings: Pick<TrustConfig, 'minPrecision' | 'lookbackDays'>;
  clock?: () => Date;
}

export type BreakerResult = 'not-contradicted' | 'already-demoted' | 'record-good' | 'demoted';

const DAY_MS = 86_400_000;
const KEEPING_DECISIONS = new Set(['held', 'resolved']);

/** The rule's judged outcomes among the incidents read: the responders' feedback overrides the inferred verdict. */
export function judgedOutcomesOf(ruleId: string, incidents: readonly IncidentOutcomes[]): JudgedOutcome[] {
  const judged: JudgedOutcome[] = [];
  for (const { incidentId, outcome, feedback } of incidents) {
    const facts = outcome ?? feedback;
    if (facts?.cause?.ruleId !== ruleId) continue;
    const verdict = feedback?.verdict ?? outcome?.verdict;
    if (verdict === undefined || verdict === 'unknown') continue;
    const decision = recordedDecision(facts.decision);
    const kept = (decision !== undefined && KEEPING_DECISIONS.has(decision)) || facts.cause.withheld === 'held-out';
    judged.push({ incidentId, at: (feedback ?? outcome)?.at ?? facts.at, verdict, kept });
  }
  return judged;
}

export class RuleCircuitBreaker {
  private readonly clock: () => Date;

  constructor(private readonly deps: CircuitBreakerDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  /**
   * Called after an outcome or feedback item of `ruleId` was written (or found written by an earlier delivery, so a
   * crash between the two is made good). Failures propagate: the event is delivered again and the judgement redone.
   */
  async afterOutcome(subject: AuditSubject & { incidentId: string }, ruleId: string, verdict: Verdict): Promise<BreakerResult> {
    if (verdict !== 'contradicted') return 'not-contradicted';
    const standing = (await this.deps.demotions.standings([ruleId])).get(ruleId);
    if (standing?.state === 'demoted') return 'already-demoted';
    const now = this.clock();
    const incidents = await this.deps.outcomes.byTimeRange(new Date(now.getTime() - this.deps.settings.lookbackDays * DAY_MS), now);
    const judgement = judgeRecord(judgedOutcomesOf(ruleId, incidents), now, this.deps.settings.minPrecision, standing?.promotedAt);
    if (!judgement.bad) return 'record-good';
    const demoted = await this.deps.demotions.demote({
      ruleId,
      demotedAt: now.toISOString(),
      reason: judgement.reason,
      incidentId: subject.incidentId,
    });
    if (!demoted) return 'already-demoted';
    await this.deps.audit.record({
      ...subject,
      action: 'record',
      outcome: 'recorded',
      detail: `rule ${ruleId} demoted: ${judgement.reason}; it holds nothing until a person runs pd-agent rule promote ${ruleId}`,
    });
    this.deps.metrics.addMetric(MetricName.ruleDemoted, 'Count', 1);
    return 'demoted';
  }
}
