import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, MetricName } from '../../lib/observability/telemetry';
import { AgentMetrics } from './agent-metrics';

export interface AgentAlarmsProps {
  environment: string;
  alarmEmail?: string;
  /** Mailed the low-priority security topic (sustained signature failures) when set. */
  securityAlarmEmail?: string;
  /** The webhook front's own 5xx count (API Gateway), whatever answered it: the ingress, Lambda or the gateway. */
  webhookServerErrors: cloudwatch.IMetric;
  /** The webhook API's access log group (JSON lines with `status` and a constant `environment`). */
  accessLogs: logs.ILogGroup;
  /** Which access-log lines are throttled requests; unset: every line with status 429. */
  throttledRequests?: logs.IFilterPattern;
  deadLetterQueue: sqs.IQueue;
  functions: { ingress: lambda.IFunction; worker: lambda.IFunction; handback: lambda.IFunction; rotateSecret: lambda.IFunction };
}

/** Sustained PagerDuty throttling: this many 429s in each of THROTTLING_PERIODS consecutive 5-minute periods. */
export const THROTTLING_THRESHOLD = 5;
export const THROTTLING_PERIODS = 3;

/** The metric the access-log filter counts: requests API Gateway answered 429 (stage or route throttle). */
export const WEBHOOK_THROTTLED_METRIC = 'WebhookThrottled';

/**
 * Sustained signature failures: at least one 401 or unconfirmed signature in SIGNATURE_FAILURE_PERIODS_TO_ALARM of
 * the last SIGNATURE_FAILURE_EVALUATION_PERIODS 5-minute periods. One stray unsigned POST never fires it; a forged
 * flood or a wrong signing secret (every genuine delivery refused) does within 15 minutes.
 */
export const SIGNATURE_FAILURE_PERIODS_TO_ALARM = 3;
export const SIGNATURE_FAILURE_EVALUATION_PERIODS = 6;

/**
 * The ingress's failures that are the agent's own: its IngressFailure metric, Lambda errors, and the webhook front's
 * 5xx beyond the SignatureUnconfirmed 503s (a signature the ingress could not check yet is a claim from outside, not a
 * failure: under a forged flood most forgeries get that 503). IF clamps the difference at zero, so a period where the
 * counts land skewed cannot cancel a genuine failure counted by the other terms.
 */
export const INGRESS_FAILURES_EXPRESSION =
  'FILL(failures, 0) + FILL(lambdaErrors, 0) + IF(FILL(server5xx, 0) > FILL(unconfirmed, 0), FILL(server5xx, 0) - FILL(unconfirmed, 0), 0)';

/**
 * The environment's alarms. Those that page reflect the agent's own failures and go to one encrypted SNS topic (mailed to `alarmEmail` when set). docs/operations.md "Deploy"
 * says what to do when each one fires; the alarm descriptions repeat it for whoever reads the notification.
 */
export class AgentAlarms extends Construct {
  readonly topic: sns.Topic;
  /** Low priority: what someone outside can cause (sustained signature failures), never a page. */
  readonly securityTopic: sns.Topic;
  readonly all: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: AgentAlarmsProps) {
    super(scope, id);
    const { environment, functions } = props;
    const metrics = new AgentMetrics(environment);

    // CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key, hence a key of our own.
    const key = new kms.Key(this, 'TopicKey', {
      description: `pd-agent ${environment}: encrypts the alarm topic`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    // Only CloudWatch alarms of this account may use the key through the service (the confused-deputy guard).
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: `pd-agent ${environment} alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    if (props.alarmEmail !== undefined) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    this.securityTopic = new sns.Topic(this, 'SecurityTopic', {
      displayName: `pd-agent ${environment} security notices (low priority)`,
      masterKey: key,
      enforceSSL: true,
    });
    if (props.securityAlarmEmail !== undefined)
      this.securityTopic.addSubscription(new subscriptions.EmailSubscription(props.securityAlarmEmail));
    const notify = new actions.SnsAction(this.topic);

    const lambdaErrors = (fn: lambda.IFunction): cloudwatch.IMetric =>
      fn.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM });

    const alarm = (
      alarmId: string,
      metric: cloudwatch.IMetric,
      description: string,
      options: { threshold?: number; evaluationPeriods?: number; datapointsToAlarm?: number; action?: actions.SnsAction } = {},
    ): void => {
      const created = new cloudwatch.Alarm(this, alarmId, {
        alarmName: `pd-agent-${environment}-${alarmId}`,
        alarmDescription: `pd-agent ${environment}: ${description}`,
        metric,
        threshold: options.threshold ?? 1,
        evaluationPeriods: options.evaluationPeriods ?? 1,
        datapointsToAlarm: options.datapointsToAlarm ?? options.evaluationPeriods ?? 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(options.action ?? notify);
      created.addOkAction(options.action ?? notify);
      this.all.push(created);
    };

    alarm(
      'SignatureFailures',
      AgentMetrics.sum('Signature failures', [
        metrics.metric(MetricName.signatureInvalid, 'ingress'),
        metrics.metric(MetricName.signatureUnconfirmed, 'ingress'),
      ]),
      'requests with a signature matching no signing secret (401, or 503 signature-unconfirmed) kept arriving for 15 of ' +
        'the last 30 minutes. Low priority, never a page: either a forged flood (the access log shows where from; the ' +
        'throttle and, with webhookIngress.waf, the per-IP rule absorb it) or a wrong signing secret, in which case ' +
        'PagerDuty is dropping genuine deliveries: run pd-agent webhook status and pd-agent doctor.',
      {
        evaluationPeriods: SIGNATURE_FAILURE_EVALUATION_PERIODS,
        datapointsToAlarm: SIGNATURE_FAILURE_PERIODS_TO_ALARM,
        action: new actions.SnsAction(this.securityTopic),
      },
    );
    alarm(
      'IngressFailures',
      new cloudwatch.MathExpression({
        expression: INGRESS_FAILURES_EXPRESSION,
        usingMetrics: {
          failures: metrics.metric(MetricName.ingressFailure, 'ingress'),
          lambdaErrors: lambdaErrors(functions.ingress),
          server5xx: props.webhookServerErrors,
          unconfirmed: metrics.metric(MetricName.signatureUnconfirmed, 'ingress'),
        },
        label: 'Ingress failures of its own',
        period: Duration.minutes(5),
      }),
      'the webhook endpoint failed (state table, queue or secret unavailable, a Lambda error, or a 5xx other than an ' +
        'unconfirmed signature). PagerDuty retries for 48 h; find the cause in the ingress logs.',
    );
    // An HTTP API publishes no throttle metric, and its 4xx count mixes throttling with 401s and scanners' 404s; the
    // access log has each request's status, so a filter counts exactly the 429s. Lambda's own Throttles show the
    // reserved concurrency running out (API Gateway then answers 5xx, which IngressFailures also sees).
    const throttled = new logs.MetricFilter(this, 'WebhookThrottledFilter', {
      logGroup: props.accessLogs,
      metricNamespace: METRICS_NAMESPACE,
      metricName: WEBHOOK_THROTTLED_METRIC,
      filterPattern: props.throttledRequests ?? logs.FilterPattern.stringValue('$.status', '=', '429'),
      metricValue: '1',
      dimensions: { environment: '$.environment' },
    });
    alarm(
      'IngressThrottling',
      AgentMetrics.sum('Webhook requests throttled', [
        throttled.metric({ dimensionsMap: { environment }, statistic: cloudwatch.Stats.SUM, period: Duration.minutes(5) }),
        functions.ingress.metricThrottles({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
      ]),
      'webhook requests were throttled (API Gateway 429 or the ingress out of reserved concurrency). PagerDuty retries them, ' +
        'but pages reach the agent late: if the access log shows a flood from elsewhere, it is being absorbed; if PagerDuty itself ' +
        'is throttled, raise webhookIngress in cdk.json (docs/operations.md "Webhook ingress capacity").',
    );
    alarm(
      'QuarantinedWebhooks',
      AgentMetrics.sum('Quarantined webhooks', [metrics.metric(MetricName.webhookQuarantined, 'ingress')]),
      'a signed webhook was not a usable PagerDuty V3 event, so it was answered 200 and kept aside instead of processed: ' +
        'the agent did not act on it (PagerDuty still pages people). Take quarantineKey from the ingress log and read the ' +
        'quarantine#<sha256> item in the state table within 7 days (body, headers, reason); if PagerDuty changed its ' +
        'payload, fix the parser and send the event again with pd-agent send-test.',
    );
    alarm(
      'EventsGivenUp',
      AgentMetrics.sum('Events given up', [metrics.metric(MetricName.gaveUp, 'worker')]),
      'the agent gave up on incidents it had not acknowledged (retry budget or Lambda time spent, or PagerDuty refused a ' +
        'call for good): PagerDuty keeps paging the on-call, but those incidents got no note. Read why with ' +
        'pd-agent audit --action record --outcome failed and in the worker logs; repeated give-ups point at PagerDuty ' +
        'errors, throttling or a worker timeout that is too short.',
    );
    alarm(
      'DeadLetterMessages',
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }),
      'events wait in the dead-letter queue, so the handback function is not draining it: check its logs; incidents may be acknowledged by the agent with nobody behind them.',
    );
    alarm(
      'Handbacks',
      AgentMetrics.sum('Handbacks', [metrics.metric(MetricName.handedBack, 'handback'), metrics.metric(MetricName.handedBack, 'worker')]),
      'the agent handed incidents back to humans because it could not finish them. Read the audit trail (pd-agent audit) for why.',
    );
    alarm(
      'HandbackFailures',
      AgentMetrics.sum('Handback failures', [metrics.metric(MetricName.handbackFailed, 'handback'), lambdaErrors(functions.handback)]),
      'a handback failed: an incident may be acknowledged by the agent with nobody behind it. Open the incidents in the audit trail now and escalate them by hand.',
    );
    alarm(
      'NobodyPaged',
      AgentMetrics.sum('Incidents paging nobody but the agent', [
        metrics.metric(MetricName.nobodyPaged, 'worker'),
        metrics.metric(MetricName.nobodyPaged, 'handback'),
      ]),
      'PagerDuty refused an escalation and the direct assignment to the next level: the incident paged nobody but the agent ' +
        '(the fallback service was alerted if fallbackRoutingKey is set). Run pd-agent audit --action escalate --outcome failed, ' +
        'page the on-call people of those incidents by hand, then check the escalation policy (the level above the agent).',
    );
    alarm(
      'WorkerErrors',
      AgentMetrics.sum('Worker errors', [metrics.metric(MetricName.workerError, 'worker'), lambdaErrors(functions.worker)]),
      'the worker failed on events (they are retried, then handed back). Check the worker logs.',
    );
    alarm(
      'PagerDutyThrottling',
      AgentMetrics.sum('PagerDuty 429s', [
        metrics.metric(MetricName.throttled, 'worker'),
        metrics.metric(MetricName.throttled, 'handback'),
      ]),
      'PagerDuty has been rate-limiting the agent for 15 minutes. Lower workerMaxConcurrency or look for another client sharing the key.',
      { threshold: THROTTLING_THRESHOLD, evaluationPeriods: THROTTLING_PERIODS },
    );
    alarm(
      'RulesDemoted',
      AgentMetrics.sum('Rules demoted', [
        metrics.metric(MetricName.ruleDemoted, 'worker'),
        metrics.metric(MetricName.ruleDemoted, 'handback'),
      ]),
      'the circuit breaker demoted a rule: its record turned bad (a contradicted hold in 7 days, or precision below trust.minPrecision), so it holds nothing and its incidents go to on-call. Run pd-agent doctor and pd-agent report to see which rule and why; fix the rule, then pd-agent rule promote <id>.',
    );
    alarm(
      'RotationFailures',
      AgentMetrics.sum('Rotation failures', [
        metrics.metric(MetricName.rotationFailed, 'rotate-secret'),
        lambdaErrors(functions.rotateSecret),
      ]),
      'the secret rotation failed; the current key stays in use. If no new key was staged, create one in PagerDuty and run pd-agent secret stage.',
    );
  }
}
