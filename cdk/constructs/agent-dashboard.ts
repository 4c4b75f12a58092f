import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  METRICS_NAMESPACE,
  MetricName,
  RULE_DIMENSION,
  type FunctionService,
  type MetricNameValue,
} from '../../lib/observability/telemetry';
import { AgentMetrics } from './agent-metrics';

export interface AgentDashboardProps {
  environment: string;
  queue: sqs.IQueue;
  deadLetterQueue: sqs.IQueue;
  alarms: cloudwatch.IAlarm[];
}

const WEBHOOK_OUTCOMES: MetricNameValue[] = [
  MetricName.webhookReceived,
  MetricName.webhookEnqueued,
  MetricName.webhookDuplicate,
  MetricName.webhookIgnored,
  MetricName.webhookQuarantined,
  MetricName.webhookTooLarge,
  MetricName.signatureInvalid,
  MetricName.ingressFailure,
];

/** One page per environment: what came in, what the agent did with it, and what is stuck or failing. */
export class AgentDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: AgentDashboardProps) {
    super(scope, id);
    const metrics = new AgentMetrics(props.environment);
    const perMinute = (name: MetricNameValue, service: FunctionService): cloudwatch.Metric =>
      metrics.metric(name, service, { period: Duration.minutes(1), label: name });
    const percentiles = (name: MetricNameValue): cloudwatch.Metric[] =>
      ['p50', 'p99'].map((statistic) =>
        metrics.metric(name, 'worker', { statistic, period: Duration.minutes(5), label: `${name} ${statistic}` }),
      );
    const graph = (title: string, left: cloudwatch.IMetric[], width = 12): cloudwatch.GraphWidget =>
      new cloudwatch.GraphWidget({ title, left, width, height: 6 });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `pd-agent-${props.environment}`,
      defaultInterval: Duration.hours(24),
    });
    this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: props.alarms, width: 24, height: 3 }));
    this.dashboard.addWidgets(
      graph(
        'Webhooks per minute by outcome',
        WEBHOOK_OUTCOMES.map((name) => perMinute(name, 'ingress')),
      ),
      graph('Signature failures per minute', [
        perMinute(MetricName.signatureInvalid, 'ingress'),
        perMinute(MetricName.signatureMissing, 'ingress'),
        perMinute(MetricName.signatureMalformed, 'ingress'),
        perMinute(MetricName.signatureMismatch, 'ingress'),
        perMinute(MetricName.signatureUnconfirmed, 'ingress'),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Time to acknowledge (ms, from occurred_at)', percentiles(MetricName.timeToAcknowledge)),
      graph('Triage duration (ms)', percentiles(MetricName.triageDuration)),
    );
    this.dashboard.addWidgets(
      graph('Agent actions', [
        metrics.metric(MetricName.incidentAcknowledged, 'worker', { label: 'acknowledged' }),
        metrics.metric(MetricName.notePosted, 'worker', { label: 'notes' }),
        metrics.metric(MetricName.incidentEscalated, 'worker', { label: 'escalations' }),
        metrics.metric(MetricName.incidentHeld, 'worker', { label: 'held' }),
        metrics.metric(MetricName.incidentResolved, 'worker', { label: 'resolved' }),
        metrics.metric(MetricName.incidentLeftWithOnCall, 'worker', { label: 'left with on-call' }),
      ]),
      graph('Handbacks', [
        metrics.metric(MetricName.handedBack, 'worker', { label: 'handed back by the worker' }),
        metrics.metric(MetricName.handedBack, 'handback', { label: 'handed back from the dead-letter queue' }),
        metrics.metric(MetricName.gaveUp, 'worker', { label: 'gave up' }),
        metrics.metric(MetricName.handbackFailed, 'handback', { label: 'handback failed' }),
        metrics.metric(MetricName.nobodyPaged, 'worker', { label: 'nobody paged (worker)' }),
        metrics.metric(MetricName.nobodyPaged, 'handback', { label: 'nobody paged (handback)' }),
        metrics.metric(MetricName.acknowledgementUnconfirmed, 'worker', { label: 'acknowledgement answer lost' }),
        metrics.metric(MetricName.deferredForLackOfTime, 'worker', { label: 'deferred: no time to start' }),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Queue and dead-letter depth', [
        props.queue.metricApproximateNumberOfMessagesVisible({ label: 'queue visible', statistic: cloudwatch.Stats.MAXIMUM }),
        props.queue.metricApproximateAgeOfOldestMessage({ label: 'queue oldest (s)', statistic: cloudwatch.Stats.MAXIMUM }),
        props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          label: 'dead-letter visible',
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        props.deadLetterQueue.metricApproximateNumberOfMessagesNotVisible({
          label: 'dead-letter in flight',
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
      ]),
      graph('PagerDuty throttling and retries', [
        metrics.metric(MetricName.throttled, 'worker', { label: '429s (worker)' }),
        metrics.metric(MetricName.throttled, 'handback', { label: '429s (handback)' }),
        metrics.metric(MetricName.retriesUsed, 'worker', { label: 'retries used' }),
      ]),
    );
    // Per-rule series are found by SEARCH: the rules live in AGENT_CONFIG and change without a dashboard deploy.
    const perRule = (name: MetricNameValue, statistic: string, label: string): cloudwatch.MathExpression =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${METRICS_NAMESPACE},environment,${RULE_DIMENSION},service} MetricName="${name}" environment="${props.environment}"', '${statistic}', 86400)`,
        label,
        period: Duration.days(1),
        usingMetrics: {},
      });
    this.dashboard.addWidgets(
      graph('Outcomes per day (pd-agent report has the precision per rule)', [
        metrics.metric(MetricName.outcomeConfirmed, 'worker', { period: Duration.days(1), label: 'confirmed' }),
        metrics.metric(MetricName.outcomeContradicted, 'worker', { period: Duration.days(1), label: 'contradicted' }),
        metrics.metric(MetricName.outcomeUnknown, 'worker', { period: Duration.days(1), label: 'unknown' }),
        metrics.metric(MetricName.humanTookOver, 'worker', { period: Duration.days(1), label: 'taken back by a human' }),
        metrics.metric(MetricName.feedbackRight, 'worker', { period: Duration.days(1), label: 'feedback: right' }),
        metrics.metric(MetricName.feedbackWrong, 'worker', { period: Duration.days(1), label: 'feedback: wrong' }),
        metrics.metric(MetricName.feedbackRight, 'handback', { period: Duration.days(1), label: 'feedback: right (dead-lettered)' }),
        metrics.metric(MetricName.feedbackWrong, 'handback', { period: Duration.days(1), label: 'feedback: wrong (dead-lettered)' }),
        metrics.metric(MetricName.ruleDemoted, 'worker', { period: Duration.days(1), label: 'rules demoted' }),
        metrics.metric(MetricName.ruleDemoted, 'handback', { period: Duration.days(1), label: 'rules demoted (dead-lettered feedback)' }),
      ]),
      graph('Head start: first note to first human action (ms)', [
        metrics.metric(MetricName.headStart, 'worker', { statistic: 'p50', period: Duration.days(1), label: 'p50' }),
        metrics.metric(MetricName.headStart, 'worker', { statistic: 'p90', period: Duration.days(1), label: 'p90' }),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Confirmed per rule per day', [perRule(MetricName.outcomeConfirmed, 'Sum', 'confirmed')], 8),
      graph('Contradicted per rule per day', [perRule(MetricName.outcomeContradicted, 'Sum', 'contradicted')], 8),
      graph('Median head start per rule (ms)', [perRule(MetricName.headStart, 'p50', 'head start p50')], 8),
    );
    this.dashboard.addWidgets(
      graph(
        'Scheduled checks and requests: holds that end, follow-ups, pd-agent: answers',
        [
          metrics.metric(MetricName.scheduleCreated, 'worker', { label: 'scheduled' }),
          metrics.metric(MetricName.scheduleFired, 'scheduler', { label: 'due, put on the event queue' }),
          metrics.metric(MetricName.scheduleSkipped, 'worker', { label: 'ended without acting' }),
          metrics.metric(MetricName.scheduleFailed, 'scheduler', { label: 'failed (relay)' }),
          metrics.metric(MetricName.scheduleFailed, 'worker', { label: 'failed (worker)' }),
          metrics.metric(MetricName.followUpPosted, 'worker', { label: 'follow-up notes' }),
          metrics.metric(MetricName.holdExpired, 'worker', { label: 'holds escalated' }),
          metrics.metric(MetricName.requestAnswered, 'worker', { label: 'requests answered' }),
          metrics.metric(MetricName.requestOverLimit, 'worker', { label: 'requests over the limit' }),
        ],
        24,
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'Errors',
        [
          metrics.metric(MetricName.workerError, 'worker', { label: 'worker errors' }),
          metrics.metric(MetricName.auditIncomplete, 'worker', { label: 'audit items left as intent (worker)' }),
          metrics.metric(MetricName.auditIncomplete, 'handback', { label: 'audit items left as intent (handback)' }),
          metrics.metric(MetricName.rotationFailed, 'rotate-secret', { label: 'rotation failed' }),
          metrics.metric(MetricName.rotationSucceeded, 'rotate-secret', { label: 'rotation succeeded' }),
        ],
        24,
      ),
    );
  }
}
