import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FUNCTION_LIMITS } from '../../lib/infra/deployment-contract';
import { CHECK_DEAD_LETTER_QUEUE, CHECK_QUEUE, type DelayQueueDefinition } from '../../lib/infra/resource-definitions';
import { MetricName } from '../../lib/observability/telemetry';
import { AgentFunction } from './agent-function';
import { AgentMetrics } from './agent-metrics';

export interface CheckSchedulerProps {
  environment: string;
  logRetention: logs.RetentionDays;
  removalPolicy: RemovalPolicy;
  /** The FIFO event queue a due check is put on, in its incident's group. */
  eventQueue: sqs.IQueue;
  /** Functions that schedule checks (the worker): CHECK_QUEUE_URL and send permission on the delay queue, nothing else. */
  schedulers: AgentFunction[];
  /** Reads the check dead-letter queue: the handback, which hands back a held incident whose hold-expiry check died. */
  deadLetterReader: lambda.IFunction;
  /** Where the failure alarm notifies. */
  topic: sns.ITopic;
}

/**
 * The one scheduler (lib/scheduling/): a standard SQS delay queue with its dead-letter queue, and the scheduler function
 * that relays due checks to the event queue. Least privilege: the scheduler function receives from the delay queue
 * (its event source) and sends to it and to the event queue; it reads no secret and no table. One alarm when
 * scheduled checks fail (relay, worker, or a check dead-lettered).
 */
export class CheckScheduler extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly function: AgentFunction;
  readonly failureAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: CheckSchedulerProps) {
    super(scope, id);
    const queueFrom = (queueId: string, definition: DelayQueueDefinition, deadLetterQueue?: sqs.DeadLetterQueue): sqs.Queue =>
      new sqs.Queue(this, queueId, {
        visibilityTimeout: Duration.seconds(definition.visibilityTimeoutSeconds),
        retentionPeriod: Duration.seconds(definition.retentionSeconds),
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        removalPolicy: RemovalPolicy.DESTROY,
        ...(deadLetterQueue === undefined ? {} : { deadLetterQueue }),
      });
    this.deadLetterQueue = queueFrom('DeadLetterQueue', CHECK_DEAD_LETTER_QUEUE);
    this.queue = queueFrom('DelayQueue', CHECK_QUEUE, { queue: this.deadLetterQueue, maxReceiveCount: CHECK_QUEUE.maxReceiveCount });

    this.function = new AgentFunction(this, 'Relay', {
      service: 'scheduler',
      description: `pd-agent ${props.environment}: puts scheduled checks on the event queue when they are due`,
      timeout: Duration.seconds(FUNCTION_LIMITS.scheduler.timeoutSeconds),
      memorySize: FUNCTION_LIMITS.scheduler.memoryMb,
      environment: { AGENT_ENV: props.environment },
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.function.bindQueueSender('CHECK_QUEUE_URL', this.queue);
    this.function.bindQueueSender('QUEUE_URL', props.eventQueue);
    this.function.function.addEventSource(new SqsEventSource(this.queue, { batchSize: 10, reportBatchItemFailures: true }));
    for (const scheduler of props.schedulers) scheduler.bindQueueSender('CHECK_QUEUE_URL', this.queue);
    props.deadLetterReader.addEventSource(new SqsEventSource(this.deadLetterQueue, { batchSize: 10, reportBatchItemFailures: true }));

    const metrics = new AgentMetrics(props.environment);
    const failures = AgentMetrics.sum('Scheduled checks failed', [
      metrics.metric(MetricName.scheduleFailed, 'scheduler'),
      metrics.metric(MetricName.scheduleFailed, 'worker'),
      this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }),
    ]);
    this.failureAlarm = new cloudwatch.Alarm(this, 'ScheduleFailedAlarm', {
      alarmName: `pd-agent-${props.environment}-ScheduleFailures`,
      alarmDescription:
        `pd-agent ${props.environment}: scheduled checks (a hold's end, follow-ups) failed or were dead-lettered. ` +
        'A held incident whose end was not checked is handed back by the handback function; read the scheduler and worker logs ' +
        '(docs/operations.md "Scheduled checks") and the check dead-letter queue.',
      metric: failures,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.failureAlarm.addAlarmAction(new actions.SnsAction(props.topic));
    this.failureAlarm.addOkAction(new actions.SnsAction(props.topic));
  }
}
