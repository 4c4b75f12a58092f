import { MetricName } from '../observability/telemetry';
import type { Hypothesis, IncidentContext } from '../triage/types';
import { checkScheduling, type IncidentRun, type StepDeps } from './incident-run';
import { withPrediction } from './schedule-checks';

/**
 * The model may reword the hypothesis; it never chooses a less safe action than the rules did. It may only turn a hold
 * or resolve into an escalation (the refiner does so when it lowers confidence below the hold threshold).
 */
export function keepSaferDecision(rules: Hypothesis, refined: Hypothesis): Hypothesis {
  // What trust withheld (a demoted rule, the holdout) stays marked whatever the model wrote.
  const withheld = rules.withheld === undefined ? {} : { withheld: rules.withheld };
  if (refined.decision === 'escalate') return { ...refined, ...withheld };
  return { ...refined, decision: rules.decision, decisionReason: rules.decisionReason, ruleId: rules.ruleId, ...withheld };
}

/** The rules' hypothesis (refined when Bedrock is on); a human who acknowledged first turns any decision into a hold. */
export async function decide(deps: StepDeps, run: IncidentRun, context: IncidentContext, human: string | null): Promise<Hypothesis> {
  const hypothesis = withPrediction(await runTriage(deps, context, run), context, checkScheduling(deps));
  if (human === null) return hypothesis;
  return {
    ...hypothesis,
    decision: 'hold',
    decisionReason: `${human} acknowledged it before the agent: the agent leaves it with them, pages nobody and changes nothing.`,
  };
}

async function runTriage(deps: StepDeps, context: IncidentContext, run: IncidentRun): Promise<Hypothesis> {
  const { subject } = run;
  const startedAt = Date.now();
  const rules = deps.triage(context, run.trust);
  let hypothesis = rules;
  if (deps.settings.triage.bedrock.enabled && deps.refine !== undefined) {
    // The refiner keeps its own deadline and falls back to the rules' hypothesis on any failure.
    const result = await deps.refine(rules, context);
    hypothesis = keepSaferDecision(rules, result.hypothesis);
    if (!result.refined) {
      await deps.audit.record({
        ...subject,
        action: 'triage',
        outcome: 'skipped',
        detail: `Bedrock refinement not used, the rules' hypothesis stands: ${result.fallbackReason ?? 'no reason given'}`,
      });
    }
  }
  deps.metrics.addMetric(MetricName.triageDuration, 'Milliseconds', Date.now() - startedAt);
  return hypothesis;
}
