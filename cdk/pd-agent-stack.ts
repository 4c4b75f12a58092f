import { CfnOutput, Duration, RemovalPolicy, Stack, Tags, Validations, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import {
  AUDIT_TIME_INDEX,
  AUDIT_TABLE,
  DEAD_LETTER_QUEUE,
  EVENT_QUEUE,
  MAX_QUEUE_MESSAGE_BYTES,
  STATE_TABLE,
  type QueueDefinition,
} from '../lib/infra/resource-definitions';
import { parseAgentConfig } from '../lib/config/agent-config';
import {
  FUNCTION_LIMITS,
  PAGERDUTY_URLS,
  secretNameFor,
  webhookSecretNameFor,
  type StackOutputName,
} from '../lib/infra/deployment-contract';
import { AgentAlarms } from './constructs/agent-alarms';
import { AgentDashboard } from './constructs/agent-dashboard';
import { AgentFunction } from './constructs/agent-function';
import { CheckScheduler } from './constructs/check-scheduler';
import { SecretsKey } from './constructs/secrets-key';
import { WafWebhookApi } from './constructs/waf-webhook-api';
import { httpWebhookApi, type WebhookFront } from './constructs/webhook-front';
import { WorkerContextReads } from './constructs/context-reads';
import { AUDIT_APPEND_CONDITIONS, AUDIT_COMPLETION_CONDITIONS, INGRESS_STATE_CONDITIONS } from './constructs/table-conditions';
import { tableFromDefinition } from './constructs/table-from-definition';
import type { EnvironmentConfig } from './environments';

export const ROTATION_INTERVAL_DAYS = 90;

/** The only actions the ingress calls on the state table (lib/state/event-ledger.ts): record, read status, mark enqueued, quarantine. */
export const INGRESS_STATE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'];

export interface PdAgentStackProps extends StackProps {
  config: EnvironmentConfig;
}

/**
 * The functions only ever append to the audit table: a conditional PutItem of a new item, and one conditional
 * UpdateItem that fills an intent's outcome (`lib/audit/audit-log.ts`). They never read it (operators do, through
 * the CLI and the console), so no Get, Query or Scan; and nothing that deletes or replaces in bulk (DeleteItem,
 * BatchWriteItem, PartiQL, table changes). The UpdateItem may name only the completion attributes
 * (AUDIT_COMPLETION_CONDITIONS), so TTL and history cannot be rewritten; IAM cannot require a put to be of a new item,
 * so the code's condition keeps PutItem from replacing one (and `auditArchive` keeps a tamper-evident copy).
 * `test/cdk/audit-append-only.test.ts` and `test/cdk/least-privilege.test.ts` check every policy.
 */
export const AUDIT_APPEND_ACTIONS = ['dynamodb:PutItem'];
export const AUDIT_COMPLETION_ACTIONS = ['dynamodb:UpdateItem'];

/**
 * All the worker and the handback read in the audit table: the worker an incident's own items (when its note was
 * posted), both the outcome items of a time range by the time index when an outcome contradicts a rule (the circuit
 * breaker, lib/trust/circuit-breaker.ts).
 */
export const AUDIT_READER_ACTIONS = ['dynamodb:Query'];

/**
 * What the worker and the handback call on the state table: ledgers, the note reservation, the storm cache, and the
 * rules' standings (one BatchGetItem of the configured rules' keys per incident, lib/trust/demotion-store.ts).
 */
export const AGENT_STATE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];

/**
 * Everything one pd-agent environment runs on. Nothing in it is shared with another environment: its own secret,
 * tables, queues, functions, alarms and dashboard, and roles that only reach those.
 */
export class PdAgentStack extends Stack {
  readonly config: EnvironmentConfig;

  constructor(scope: Construct, id: string, props: PdAgentStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.config = config;
    const env = config.name;
    const removalPolicy = config.removalPolicy === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const logRetention = config.logRetentionDays as logs.RetentionDays;
    const pagerduty = PAGERDUTY_URLS[config.pagerdutyRegion];

    Tags.of(this).add('application', 'pd-agent');
    Tags.of(this).add('pd-agent:environment', env);

    // --- Data -----------------------------------------------------------------------------------------------------
    const stateTable = tableFromDefinition(this, 'StateTable', { definition: STATE_TABLE, removalPolicy: config.removalPolicy });
    const auditTable = tableFromDefinition(this, 'AuditTable', { definition: AUDIT_TABLE, removalPolicy: config.removalPolicy });

    const queueFrom = (queueId: string, definition: QueueDefinition, deadLetterQueue?: sqs.DeadLetterQueue): sqs.Queue =>
      new sqs.Queue(this, queueId, {
        fifo: true,
        visibilityTimeout: Duration.seconds(definition.visibilityTimeoutSeconds),
        retentionPeriod: Duration.seconds(definition.retentionSeconds),
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        // A 256 KiB body is about 350 KB once base64-encoded in the message: never a smaller (older) default.
        maxMessageSizeBytes: MAX_QUEUE_MESSAGE_BYTES,
        enforceSSL: true,
        removalPolicy: RemovalPolicy.DESTROY,
        ...(deadLetterQueue === undefined ? {} : { deadLetterQueue }),
      });
    const deadLetterQueue = queueFrom('DeadLetterQueue', DEAD_LETTER_QUEUE);
    const queue = queueFrom('EventQueue', EVENT_QUEUE, { queue: deadLetterQueue, maxReceiveCount: config.maxReceiveCount });

    // The environment's keys, in two secrets so that the internet-facing ingress can read the signing secrets and
    // nothing else. Both are created with a generated placeholder, never a real value: the CLI writes the first real
    // documents, so no key ever passes through CloudFormation.
    const secret = new secretsmanager.Secret(this, 'AgentSecret', {
      secretName: secretNameFor(env),
      description: `pd-agent ${env}: PagerDuty credentials and bot identity. Write it with pd-agent secret set --env ${env}.`,
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ notSet: `run pd-agent secret set --env ${env}` }),
        generateStringKey: 'placeholder',
        passwordLength: 16,
        excludePunctuation: true,
      },
      removalPolicy,
    });
    const signingSecret = new secretsmanager.Secret(this, 'WebhookSigningSecret', {
      secretName: webhookSecretNameFor(env),
      description: `pd-agent ${env}: webhook signing secrets, the only secret the ingress reads. Written by pd-agent webhook subscribe|revoke|rotate --env ${env}.`,
      generateSecretString: {
        secretStringTemplate: JSON.stringify({
          notSet: `run pd-agent webhook subscribe --env ${env} (or pd-agent secret split --env ${env})`,
        }),
        generateStringKey: 'placeholder',
        passwordLength: 16,
        excludePunctuation: true,
      },
      removalPolicy,
    });
    Validations.of(signingSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'PagerDuty has no endpoint to rotate a webhook signing secret; it is rotated by subscribing anew and revoking the old subscription ' +
        '(pd-agent webhook rotate), each change written as a new AWSCURRENT, and a leaked one is removed at once with pd-agent webhook revoke.',
    });
    const migrating = config.webhookSecretLayout === 'migrating';

    // --- Functions ------------------------------------------------------------------------------------------------
    const common = { logRetention, removalPolicy };
    const agentConfig = config.agentConfigJson;
    const ingress = new AgentFunction(this, 'Ingress', {
      ...common,
      service: 'ingress',
      description: `pd-agent ${env}: verifies PagerDuty webhooks, records and enqueues them`,
      timeout: Duration.seconds(FUNCTION_LIMITS.ingress.timeoutSeconds),
      memorySize: FUNCTION_LIMITS.ingress.memoryMb,
      reservedConcurrentExecutions: config.webhookIngress.reservedConcurrency,
      environment: { AGENT_ENV: env, AGENT_CONFIG: agentConfig },
    });
    const worker = new AgentFunction(this, 'Worker', {
      ...common,
      service: 'worker',
      description: `pd-agent ${env}: acknowledges, triages, notes and hands back incidents`,
      timeout: Duration.seconds(FUNCTION_LIMITS.worker.timeoutSeconds),
      memorySize: FUNCTION_LIMITS.worker.memoryMb,
      // QUEUE_URL: deferred messages' visibility, which the queue's event source already grants.
      environment: {
        AGENT_ENV: env,
        QUEUE_URL: queue.queueUrl,
        AGENT_CONFIG: agentConfig,
        PAGERDUTY_API_URL: pagerduty.api,
        PAGERDUTY_EVENTS_URL: pagerduty.events,
      },
    });
    const handback = new AgentFunction(this, 'Handback', {
      ...common,
      service: 'handback',
      description: `pd-agent ${env}: hands dead-lettered incidents back to humans`,
      timeout: Duration.seconds(FUNCTION_LIMITS.handback.timeoutSeconds),
      memorySize: FUNCTION_LIMITS.handback.memoryMb,
      environment: {
        AGENT_ENV: env,
        AGENT_CONFIG: agentConfig,
        PAGERDUTY_API_URL: pagerduty.api,
        PAGERDUTY_EVENTS_URL: pagerduty.events,
      },
    });
    const rotator = new AgentFunction(this, 'RotateSecret', {
      ...common,
      service: 'rotate-secret',
      description: `pd-agent ${env}: tests and promotes an operator-staged PagerDuty key`,
      timeout: Duration.seconds(FUNCTION_LIMITS.rotateSecret.timeoutSeconds),
      memorySize: FUNCTION_LIMITS.rotateSecret.memoryMb,
      environment: {
        AGENT_ENV: env,
        PAGERDUTY_API_URL: pagerduty.api,
        PAGERDUTY_EVENTS_URL: pagerduty.events,
      },
    });

    // --- Least privilege: each function, only what it uses, only on this environment's resources -------------------
    // The internet-facing function: only the state-table calls it makes, and only the signing secrets (plus, while a
    // stack deployed before the split is migrating, the credentials secret that still holds them).
    // Each variable that names a resource is bound together with exactly the access the function needs to it.
    ingress.bindTable('STATE_TABLE', stateTable, INGRESS_STATE_ACTIONS, { conditions: INGRESS_STATE_CONDITIONS });
    ingress.bindQueueSender('QUEUE_URL', queue);
    ingress.bindSecretReader('WEBHOOK_SECRET_ID', signingSecret);
    // Only while migrating: the signing secrets are read from here until `pd-agent secret split` moves them.
    if (migrating) ingress.bindSecretReader('SECRET_ID', secret);

    worker.bindTable('STATE_TABLE', stateTable, AGENT_STATE_ACTIONS);
    worker.bindTable('AUDIT_TABLE', auditTable, AUDIT_APPEND_ACTIONS, { conditions: AUDIT_APPEND_CONDITIONS });
    worker.allowOnTable(auditTable, AUDIT_COMPLETION_ACTIONS, { conditions: AUDIT_COMPLETION_CONDITIONS });
    // The outcome recorder reads when the incident's note was posted from the incident's own audit items.
    worker.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: AUDIT_READER_ACTIONS, resources: [auditTable.tableArn] }));
    // The circuit breaker reads a rule's recent outcome items by the time index (worker and handback record outcomes).
    const auditTimeIndex = `${auditTable.tableArn}/index/${AUDIT_TIME_INDEX}`;
    worker.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: AUDIT_READER_ACTIONS, resources: [auditTimeIndex] }));
    worker.bindSecretReader('SECRET_ID', secret);
    if (config.bedrockEnabled) this.grantBedrock(worker.role);
    // AWS context providers: read-only, alarm- and log-group-scoped where IAM allows (docs/context-providers.md).
    new WorkerContextReads(this, 'WorkerContextReads', { role: worker.role, config: parseAgentConfig(agentConfig).context.aws });

    handback.bindTable('STATE_TABLE', stateTable, AGENT_STATE_ACTIONS);
    handback.bindTable('AUDIT_TABLE', auditTable, AUDIT_APPEND_ACTIONS, { conditions: AUDIT_APPEND_CONDITIONS });
    handback.allowOnTable(auditTable, AUDIT_COMPLETION_ACTIONS, { conditions: AUDIT_COMPLETION_CONDITIONS });
    handback.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: AUDIT_READER_ACTIONS, resources: [auditTimeIndex] }));
    handback.bindSecretReader('SECRET_ID', secret);

    worker.function.addEventSource(
      new SqsEventSource(queue, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: config.workerMaxConcurrency }),
    );
    handback.function.addEventSource(
      new SqsEventSource(deadLetterQueue, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: 2 }),
    );

    this.addRotation(secret, rotator);

    // The secrets' own key: its policy names who may decrypt them (docs/operations.md "Least privilege").
    const [credentialsName, signingName] = [secretNameFor(env), webhookSecretNameFor(env)];
    const credentialReaders = [worker, handback, rotator].map((fn) => ({ role: fn.role, secretNames: [credentialsName] }));
    const secretsKey = new SecretsKey(this, 'SecretsKey', {
      environment: env,
      readers: [{ role: ingress.role, secretNames: migrating ? [signingName, credentialsName] : [signingName] }, ...credentialReaders],
      operatorRoleArns: config.operatorRoleArns,
      secrets: [
        { secret, name: credentialsName },
        { secret: signingSecret, name: signingName },
      ],
      removalPolicy,
    });

    // --- Webhook front: the HTTP API, or with webhookIngress.waf a REST API behind AWS WAF (docs/operations.md) ----
    const { rateLimit, burstLimit } = config.webhookIngress;
    const frontProps = { environment: env, ingress: ingress.function, rateLimit, burstLimit, logRetention, removalPolicy };
    const front: WebhookFront = config.webhookIngress.waf
      ? new WafWebhookApi(this, 'WafWebhookApi', { ...frontProps, requestsPerIpPer5Minutes: config.webhookIngress.wafRequestsPerIp })
      : httpWebhookApi(this, frontProps);

    // --- Alarms and dashboard -------------------------------------------------------------------------------------
    const alarms = new AgentAlarms(this, 'Alarms', {
      environment: env,
      alarmEmail: config.alarmEmail,
      securityAlarmEmail: config.securityAlarmEmail,
      webhookServerErrors: front.serverErrors,
      accessLogs: front.accessLogs,
      ...(front.throttledRequests === undefined ? {} : { throttledRequests: front.throttledRequests }),
      deadLetterQueue,
      functions: { ingress: ingress.function, worker: worker.function, handback: handback.function, rotateSecret: rotator.function },
    });
    // Holds that end and follow-ups: the delay queue, its relay function and its failure alarm (docs/operations.md).
    const checks = new CheckScheduler(this, 'CheckScheduler', {
      environment: env,
      logRetention,
      removalPolicy,
      eventQueue: queue,
      schedulers: [worker],
      deadLetterReader: handback.function,
      topic: alarms.topic,
    });
    const dashboard = new AgentDashboard(this, 'Dashboard', {
      environment: env,
      queue,
      deadLetterQueue,
      alarms: [...alarms.all, checks.failureAlarm],
    });

    // --- Outputs: the CLI finds a deployed environment's resources by these names ----------------------------------
    const outputs: Record<StackOutputName, { value: string; description: string }> = {
      Environment: { value: env, description: 'AGENT_ENV of this stack' },
      WebhookUrl: {
        value: front.webhookUrl,
        description: 'URL to subscribe in PagerDuty (pd-agent webhook subscribe)',
      },
      StateTableName: { value: stateTable.tableName, description: 'DynamoDB state table (dedup records, claims, note tokens)' },
      AuditTableName: { value: auditTable.tableName, description: 'DynamoDB audit table (one item per PagerDuty mutation)' },
      AuditTimeIndexName: {
        value: AUDIT_TABLE.globalSecondaryIndexes[0]?.indexName ?? '',
        description: 'Audit table GSI for time-range reads',
      },
      QueueUrl: { value: queue.queueUrl, description: 'SQS FIFO event queue' },
      DeadLetterQueueUrl: {
        value: deadLetterQueue.queueUrl,
        description: 'SQS FIFO dead-letter queue (consumed by the handback function)',
      },
      SecretName: {
        value: secretNameFor(env),
        description: 'Secrets Manager secret with the PagerDuty credentials (pd-agent secret set/stage)',
      },
      SecretArn: { value: secret.secretArn, description: 'Secrets Manager secret ARN' },
      SecretsKeyArn: { value: secretsKey.key.keyArn, description: 'KMS key of both secrets: its policy names who may decrypt them' },
      SecretsOperatorRoleArns: {
        value: secretsKey.operatorRoleArns.join(','),
        description: 'Roles that may run the pd-agent secret and webhook commands (the only operators the secrets key lets decrypt)',
      },
      WebhookSecretName: {
        value: webhookSecretNameFor(env),
        description: 'Secrets Manager secret with the webhook signing secrets, the only one the ingress reads (pd-agent webhook …)',
      },
      WebhookSecretArn: { value: signingSecret.secretArn, description: 'Webhook signing secrets ARN' },
      WebhookSecretLayout: {
        value: config.webhookSecretLayout,
        description: 'split, or migrating while the ingress may still read the credentials secret (pd-agent doctor)',
      },
      IngressFunctionName: { value: ingress.function.functionName, description: 'Ingress Lambda function' },
      WorkerFunctionName: { value: worker.function.functionName, description: 'Worker Lambda function' },
      WorkerRoleArn: { value: worker.role.roleArn, description: 'Worker role: the principal a workload account ContextReadRole trusts' },
      HandbackFunctionName: { value: handback.function.functionName, description: 'Handback Lambda function' },
      RotateSecretFunctionName: { value: rotator.function.functionName, description: 'Secret rotation Lambda function' },
      AlarmTopicArn: { value: alarms.topic.topicArn, description: "SNS topic of the alarms that page: the agent's own failures" },
      SecurityAlarmTopicArn: {
        value: alarms.securityTopic.topicArn,
        description: 'Low-priority SNS topic: sustained signature failures (a forged flood or a wrong signing secret)',
      },
      DashboardName: { value: dashboard.dashboard.dashboardName, description: 'CloudWatch dashboard' },
      PagerDutyApiUrl: { value: pagerduty.api, description: 'PagerDuty REST API of this environment' },
    };
    for (const [name, output] of Object.entries(outputs)) new CfnOutput(this, name, output);
  }

  /** Bedrock only when the environment's triage policy turns it on, and only for the configured model. */
  private grantBedrock(role: iam.IRole): void {
    const { bedrockModelId: modelId, bedrockRegion } = this.config;
    const region = bedrockRegion ?? this.region;
    // A cross-region inference profile id (us., eu., apac., global.) routes to the model in several regions.
    const profile = /^(us|eu|apac|global)\.(.+)$/.exec(modelId);
    const resources =
      profile === null
        ? [`arn:${this.partition}:bedrock:${region}::foundation-model/${modelId}`]
        : [
            `arn:${this.partition}:bedrock:${region}:${this.account}:inference-profile/${modelId}`,
            `arn:${this.partition}:bedrock:*::foundation-model/${profile[2]}`,
          ];
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['bedrock:InvokeModel'], resources }));
  }

  /**
   * Rotation by the function's four steps, every 90 days, never on deploy. Built from the L1 resource so the rotator
   * gets exactly the calls it makes (RotationSchedule's L2 grant adds GetRandomPassword on `*` and PutSecretValue,
   * which an operator-staged key does not need).
   */
  private addRotation(secret: secretsmanager.Secret, rotator: AgentFunction): void {
    const policy = new iam.Policy(this, 'RotateSecretPolicy', {
      statements: [
        new iam.PolicyStatement({
          actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
          resources: [secret.secretArn],
        }),
      ],
    });
    rotator.role.attachInlinePolicy(policy);
    const permission = new lambda.CfnPermission(this, 'RotateSecretInvokePermission', {
      action: 'lambda:InvokeFunction',
      functionName: rotator.function.functionArn,
      principal: 'secretsmanager.amazonaws.com',
      sourceAccount: this.account,
      sourceArn: secret.secretArn,
    });
    const schedule = new secretsmanager.CfnRotationSchedule(this, 'SecretRotation', {
      secretId: secret.secretArn,
      rotationLambdaArn: rotator.function.functionArn,
      rotationRules: { scheduleExpression: `rate(${ROTATION_INTERVAL_DAYS} days)` },
      rotateImmediatelyOnUpdate: false,
    });
    schedule.node.addDependency(permission, policy);
  }
}
