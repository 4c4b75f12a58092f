import type { Prediction } from '../followup/prediction';
import type { AwsContext, NormalisedAlert } from '../context/evidence';
import type { Alert, ChangeEvent, Incident, Oncall } from '../pagerduty/types';

/**
 * What the worker gathered about one incident (at most 6 bounded reads). A source the account's plan lacks, or that
 * failed, is recorded in `unavailable` with the reason: it degrades the evidence, never the run.
 */
export interface IncidentContext {
  incident: Incident;
  alerts: Alert[];
  /**
   * Alerts beyond those read (the alert read takes one page): absent or 0 when every alert was read, a count, or null
   * when PagerDuty said more exist without saying how many.
   */
  alertsNotRead?: number | null;
  /** Recent incidents on the same service (the incident itself excluded), newest first. */
  recentIncidents: Incident[];
  /** Notes on those recent incidents that say how they were resolved, keyed by incident id (may be empty). */
  resolutionNotes: Record<string, string[]>;
  changeEvents: ChangeEvent[];
  oncalls: Oncall[];
  unavailable: { source: ContextSource; reason: string }[];
  /** When the context was gathered (ISO-8601); analysers measure windows from the incident's creation. */
  gatheredAt: string;
  /** What the first triggered alert's monitor said (`understandAlerts`); analysers normalise the alerts when it is absent. */
  alert?: NormalisedAlert;
  /** What the AWS providers found around the alarmed resource, when the alert points at AWS and they ran. */
  aws?: AwsContext;
  /**
   * Set when the incident is one of at least two the agent saw on its service within a few minutes (a storm):
   * `count` includes this one, `since` is when the first was seen (ISO-8601). The burst's own incidents are not history.
   */
  burst?: { count: number; since: string };
}

export type ContextSource = 'alerts' | 'recentIncidents' | 'resolutionNotes' | 'changeEvents' | 'oncalls';

export interface Evidence {
  /** Which analyser or rule found it: `recurrence`, `recent-change`, `flapping`, `alert-details`, `rule:<id>`, `bedrock`. */
  source: string;
  text: string;
  link?: string;
}

/** What the agent does with the incident after noting it. `resolve` only where a rule allows it. */
export type Decision = 'escalate' | 'hold' | 'resolve';

/**
 * What kind of cause a finding names: a change before the trigger, a metric's behaviour (a step, a climb to
 * exhaustion), an error surge in logs, the same problem seen before, an alert that keeps clearing by itself, only what
 * the alert itself says, or nothing.
 */
export type CauseKind = 'change' | 'metric' | 'logs' | 'recurrence' | 'flapping' | 'alert-detail' | 'none';

export interface Hypothesis {
  summary: string;
  /** The kind of cause the summary names (`none` when nothing explains the incident); absent for a rule's hypothesis. */
  cause?: CauseKind;
  /** 0..1 */
  confidence: number;
  evidence: Evidence[];
  nextSteps: string[];
  runbook?: string;
  decision: Decision;
  /** Why this decision, in one line (shown in the note and the audit). */
  decisionReason: string;
  /** The rule that matched, if any. */
  ruleId?: string;
  /**
   * The matched rule would have kept the incident, and trust withheld it (lib/trust/rule-trust.ts): the rule is
   * demoted, or the incident is in the holdout. Kept with the cause, so the outcome and the report know.
   */
  withheld?: 'demoted' | 'held-out';
  /** `rules`, or `bedrock` when the LLM refined the rules' hypothesis. */
  producedBy: 'rules' | 'bedrock';
  /** What the data will show if the likely cause is right; stated in the note, checked by the follow-ups. */
  prediction?: Prediction;
}

/** An analyser looks at the context and reports findings; it never decides. */
export interface Finding {
  analyser: string;
  summary: string;
  /** How strongly this finding explains the incident, 0..1. */
  weight: number;
  evidence: Evidence[];
  nextSteps: string[];
  /** The kind of cause this finding names, when it names one. */
  cause?: CauseKind;
}
