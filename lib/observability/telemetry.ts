import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/** CloudWatch namespace of every pd-agent metric (EMF); the CDK alarms and dashboard read the same names. */
export const METRICS_NAMESPACE = 'PdAgent';

/**
 * Metric names, one catalogue for the functions that emit them and the CDK stack that alarms on them. Each is
 * emitted with the dimensions `service` (the function: ingress, worker, handback, rotate-secret) and `environment`.
 */
export const MetricName = {
  webhookReceived: 'WebhookReceived',
  signatureInvalid: 'SignatureInvalid',
  signatureMissing: 'SignatureMissing',
  signatureMalformed: 'SignatureMalformed',
  signatureMismatch: 'SignatureMismatch',
  /** A signature matching no cached secret, answered 503 because the secrets were re-read too recently to re-read now. */
  signatureUnconfirmed: 'SignatureUnconfirmed',
  webhookTooLarge: 'WebhookTooLarge',
  webhookDuplicate: 'WebhookDuplicate',
  webhookEnqueued: 'WebhookEnqueued',
  webhookIgnored: 'WebhookIgnored',
  webhookQuarantined: 'WebhookQuarantined',
  ingressFailure: 'IngressFailure',
  incidentAcknowledged: 'IncidentAcknowledged',
  notePosted: 'NotePosted',
  incidentEscalated: 'IncidentEscalated',
  incidentHeld: 'IncidentHeld',
  incidentResolved: 'IncidentResolved',
  /** Left with the people PagerDuty already pages, or with a person who took it over: the agent paged nobody. */
  incidentLeftWithOnCall: 'IncidentLeftWithOnCall',
  handedBack: 'HandedBack',
  /**
   * An escalation left the incident paging only the agent (or nobody) and a direct assignment to the next level's people
   * was refused too: the fallback alert was the last resort. Alarmed at 1.
   */
  nobodyPaged: 'NobodyPaged',
  gaveUp: 'GaveUp',
  /** An event reached with too little Lambda time to start: returned to the queue untouched, not given up on. */
  deferredForLackOfTime: 'EventDeferredForLackOfTime',
  /** An acknowledgement got no answer (it may have landed) and the agent had to stop: PagerDuty's state decides. */
  acknowledgementUnconfirmed: 'AcknowledgementUnconfirmed',
  throttled: 'PagerDutyThrottled',
  retriesUsed: 'RetriesUsed',
  timeToAcknowledge: 'TimeToAcknowledge',
  triageDuration: 'TriageDuration',
  workerError: 'WorkerError',
  handbackFailed: 'HandbackFailed',
  /** A PagerDuty call went through but its audit item could not be completed: it stays an intent. */
  auditIncomplete: 'AuditIncomplete',
  rotationFailed: 'RotationFailed',
  rotationSucceeded: 'RotationSucceeded',
  /** Outcomes of triaged incidents by inferred verdict (docs/rollout-and-outcomes.md); also per rule (RuleMetricsSink). */
  outcomeConfirmed: 'OutcomeConfirmed',
  outcomeContradicted: 'OutcomeContradicted',
  outcomeUnknown: 'OutcomeUnknown',
  /** `pd-agent: right|wrong` notes recorded. */
  feedbackRight: 'FeedbackRight',
  feedbackWrong: 'FeedbackWrong',
  /** From the agent's first note to the first human action on the incident. */
  headStart: 'HeadStart',
  /** Incidents the agent held or resolved that a person then took over. */
  humanTookOver: 'HumanTookOver',
  /** Scheduled checks (lib/scheduling/): written to the delay queue, put on the event queue when due, ended without acting, failed. */
  scheduleCreated: 'ScheduleCreated',
  scheduleFired: 'ScheduleFired',
  scheduleSkipped: 'ScheduleSkipped',
  scheduleFailed: 'ScheduleFailed',
  /** Follow-up notes posted (something material changed). */
  followUpPosted: 'FollowUpPosted',
  /** Holds that ended with the incident still open and its alerts not cleared: escalated. */
  holdExpired: 'HoldExpired',
  /** `pd-agent:` requests answered (a note, or the audit trail in observe mode), and those over the per-incident limit. */
  requestAnswered: 'RequestAnswered',
  requestOverLimit: 'RequestOverLimit',
  /** A rule's record turned bad and the circuit breaker demoted it (lib/trust/circuit-breaker.ts). Alarmed at 1. */
  ruleDemoted: 'RuleDemoted',
} as const;

export type MetricNameValue = (typeof MetricName)[keyof typeof MetricName];

export type FunctionService = 'ingress' | 'worker' | 'handback' | 'rotate-secret' | 'scheduler';

export interface Telemetry {
  logger: Logger;
  metrics: Metrics;
}

/** One Logger and one Metrics per function, created at module scope by the handler. */
export function createTelemetry(service: FunctionService, env: NodeJS.ProcessEnv = process.env): Telemetry {
  const environment = env.AGENT_ENV ?? 'unknown';
  const logger = new Logger({ serviceName: service, persistentKeys: { environment } });
  const metrics = new Metrics({
    namespace: METRICS_NAMESPACE,
    serviceName: service,
    defaultDimensions: { environment },
  });
  return { logger, metrics };
}

/** The dimension of per-rule outcome metrics; `none` when no rule matched. */
export const RULE_DIMENSION = 'rule';
export const NO_RULE_DIMENSION_VALUE = 'none';

/** Metrics with a `rule` dimension besides the function's own: outcome verdicts and head start per rule. */
export interface RuleMetricsSink {
  addRuleMetric(ruleId: string | undefined, name: MetricNameValue, unit: 'Count' | 'Milliseconds', value: number): void;
}

/** Each per-rule value goes out as its own EMF record, so the batch's metrics keep only the function's dimensions. */
export function ruleMetrics(metrics: Metrics): RuleMetricsSink {
  return {
    addRuleMetric(ruleId, name, unit, value) {
      const single = metrics.singleMetric();
      single.addDimension(RULE_DIMENSION, ruleId ?? NO_RULE_DIMENSION_VALUE);
      single.addMetric(name, unit, value);
    },
  };
}
