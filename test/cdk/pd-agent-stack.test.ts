import { Match, Template } from 'aws-cdk-lib/assertions';
import { INGRESS_STATE_ACTIONS, ROTATION_INTERVAL_DAYS } from '../../cdk/pd-agent-stack';
import { FUNCTION_LIMITS } from '../../lib/infra/deployment-contract';
import {
  SIGNATURE_FAILURE_EVALUATION_PERIODS,
  SIGNATURE_FAILURE_PERIODS_TO_ALARM,
  THROTTLING_PERIODS,
  THROTTLING_THRESHOLD,
  WEBHOOK_THROTTLED_METRIC,
} from '../../cdk/constructs/agent-alarms';
import { CONTEXT_READ_ACTIONS } from '../../cdk/constructs/context-reads';
import { parseAgentConfig } from '../../lib/config/agent-config';
import { AUDIT_TIME_INDEX, DEAD_LETTER_QUEUE, EVENT_QUEUE, WORKER_TIMEOUT_SECONDS } from '../../lib/infra/resource-definitions';
import { METRICS_NAMESPACE, MetricName } from '../../lib/observability/telemetry';
import { cdkJsonContext, synthEnvironment } from '../support/cdk-app';

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string };

type IngressCapacity = { reservedConcurrency: number; rateLimit: number; burstLimit: number };
const dev = cdkJsonContext().environments.dev as Record<string, number | string> & { webhookIngress: IngressCapacity };
const prod = cdkJsonContext().environments.prod as Record<string, number | string> & { webhookIngress: IngressCapacity };

let devTemplate: Template;
let prodTemplate: Template;
let bedrockTemplate: Template;

beforeAll(() => {
  devTemplate = synthEnvironment('dev').template;
  prodTemplate = synthEnvironment('prod', { alarmEmail: 'sre-oncall@acme.example' }).template;
  bedrockTemplate = synthEnvironment('staging', {
    region: 'eu-west-1',
    account: '111111111111',
    agentConfig: { triage: { bedrock: { enabled: true, modelId: 'anthropic.claude-3-5-haiku-20241022-v1:0' } } },
  }).template;
});

const resources = (template: Template, type: string): Record<string, Resource> => template.findResources(type) as Record<string, Resource>;

/** The Lambda function whose description names it, e.g. `worker`. */
function lambdaFunction(template: Template, service: string): [string, Resource] {
  const matches = Object.entries(resources(template, 'AWS::Lambda::Function')).filter(([, fn]) =>
    String(fn.Properties.Description).includes(`: ${descriptionOf[service]}`),
  );
  expect(matches).toHaveLength(1);
  return matches[0];
}
const descriptionOf: Record<string, string> = {
  ingress: 'verifies PagerDuty webhooks',
  worker: 'acknowledges, triages',
  handback: 'hands dead-lettered incidents',
  'rotate-secret': 'tests and promotes',
  scheduler: 'puts scheduled checks',
};

/** Every IAM statement attached to the role of a function. */
function statementsOf(template: Template, service: string): { Action: string | string[]; Resource: unknown }[] {
  const [, fn] = lambdaFunction(template, service);
  const roleId = fn.Properties.Role['Fn::GetAtt'][0];
  return Object.values(resources(template, 'AWS::IAM::Policy'))
    .filter((policy) => policy.Properties.Roles.some((role: { Ref: string }) => role.Ref === roleId))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement);
}
const actionsOf = (template: Template, service: string): string[] =>
  statementsOf(template, service).flatMap((statement) => [statement.Action].flat());

const logicalIdOf = (template: Template, type: string, predicate: (resource: Resource) => boolean): string => {
  const found = Object.entries(resources(template, type)).filter(([, resource]) => predicate(resource));
  expect(found).toHaveLength(1);
  return found[0][0];
};

describe('functions', () => {
  it('runs the five dist/ bundles on nodejs22.x arm64 with source maps and index.handler', () => {
    const functions = Object.values(resources(devTemplate, 'AWS::Lambda::Function'));
    expect(functions).toHaveLength(5);
    for (const fn of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        Code: { S3Key: expect.stringMatching(/\.zip$/) },
      });
      expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
      expect(fn.Properties.LoggingConfig.LogGroup).toEqual({ Ref: expect.any(String) });
    }
  });

  it.each([
    ['ingress', ['AGENT_ENV', 'STATE_TABLE', 'QUEUE_URL', 'WEBHOOK_SECRET_ID', 'AGENT_CONFIG']],
    [
      'worker',
      [
        'AGENT_ENV',
        'STATE_TABLE',
        'AUDIT_TABLE',
        'QUEUE_URL',
        'CHECK_QUEUE_URL',
        'SECRET_ID',
        'AGENT_CONFIG',
        'PAGERDUTY_API_URL',
        'PAGERDUTY_EVENTS_URL',
      ],
    ],
    ['scheduler', ['AGENT_ENV', 'CHECK_QUEUE_URL', 'QUEUE_URL']],
    ['handback', ['AGENT_ENV', 'STATE_TABLE', 'AUDIT_TABLE', 'SECRET_ID', 'AGENT_CONFIG', 'PAGERDUTY_API_URL', 'PAGERDUTY_EVENTS_URL']],
    ['rotate-secret', ['AGENT_ENV', 'PAGERDUTY_API_URL', 'PAGERDUTY_EVENTS_URL']],
  ])('gives %s only the runtime variables it uses', (service, variables) => {
    const [, fn] = lambdaFunction(devTemplate, service);
    expect(Object.keys(fn.Properties.Environment.Variables).sort()).toEqual([...variables, 'NODE_OPTIONS'].sort());
    expect(fn.Properties.Environment.Variables.AGENT_ENV).toBe('dev');
  });

  it('passes the environment policy as AGENT_CONFIG, valid, with the audit retention from cdk.json', () => {
    const [, fn] = lambdaFunction(prodTemplate, 'worker');
    const config = parseAgentConfig(fn.Properties.Environment.Variables.AGENT_CONFIG);
    expect(config.audit.retentionDays).toBe(prod.auditRetentionDays);
    expect(config.filters.minUrgency).toBe('high');
  });

  it('points the PagerDuty clients at the EU service region when pagerdutyRegion is eu', () => {
    const { template } = synthEnvironment('dev', { pagerdutyRegion: 'eu' });
    const [, fn] = lambdaFunction(template, 'worker');
    expect(fn.Properties.Environment.Variables).toMatchObject({
      PAGERDUTY_API_URL: 'https://api.eu.pagerduty.com',
      PAGERDUTY_EVENTS_URL: 'https://events.eu.pagerduty.com',
    });
  });

  it('keeps every function log group and the API access logs for logRetentionDays', () => {
    const groups = Object.values(resources(devTemplate, 'AWS::Logs::LogGroup'));
    expect(groups).toHaveLength(6);
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(dev.logRetentionDays);
    for (const group of Object.values(resources(prodTemplate, 'AWS::Logs::LogGroup'))) {
      expect(group.Properties.RetentionInDays).toBe(prod.logRetentionDays);
      expect(group.DeletionPolicy).toBe('Retain');
    }
  });

  it('fits the worker timeout inside the queue visibility timeout at least six times', () => {
    const [, worker] = lambdaFunction(devTemplate, 'worker');
    expect(worker.Properties.Timeout).toBe(WORKER_TIMEOUT_SECONDS);
    const [, handback] = lambdaFunction(devTemplate, 'handback');
    expect(handback.Properties.Timeout).toBe(FUNCTION_LIMITS.handback.timeoutSeconds);
    expect(DEAD_LETTER_QUEUE.visibilityTimeoutSeconds).toBeGreaterThanOrEqual(6 * FUNCTION_LIMITS.handback.timeoutSeconds);
  });
});

describe('queues', () => {
  const queueNamed = (template: Template, visibility: number): Resource =>
    Object.values(resources(template, 'AWS::SQS::Queue')).find((queue) => queue.Properties.VisibilityTimeout === visibility)!;

  it('builds the event queue and its dead-letter queue from the shared definitions: FIFO, encrypted', () => {
    const queues = Object.values(resources(devTemplate, 'AWS::SQS::Queue')).filter((queue) => queue.Properties.FifoQueue === true);
    expect(queues).toHaveLength(2);
    // The largest signed body the ingress accepts (256 KiB) is about 350 KB once queued: the queues take SQS's 1 MiB.
    for (const queue of queues)
      expect(queue.Properties).toMatchObject({ FifoQueue: true, SqsManagedSseEnabled: true, MaximumMessageSize: 1_048_576 });
    const events = queueNamed(devTemplate, EVENT_QUEUE.visibilityTimeoutSeconds);
    expect(events.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * WORKER_TIMEOUT_SECONDS);
    expect(events.Properties.MessageRetentionPeriod).toBe(EVENT_QUEUE.retentionSeconds);
    expect(events.Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [expect.stringMatching(/^DeadLetterQueue/), 'Arn'] },
      maxReceiveCount: dev.maxReceiveCount,
    });
    expect(queueNamed(devTemplate, DEAD_LETTER_QUEUE.visibilityTimeoutSeconds).Properties.MessageRetentionPeriod).toBe(
      DEAD_LETTER_QUEUE.retentionSeconds,
    );
  });

  it('takes maxReceiveCount from the environment', () => {
    const { template } = synthEnvironment('dev', { maxReceiveCount: 3 });
    expect(queueNamed(template, EVENT_QUEUE.visibilityTimeoutSeconds).Properties.RedrivePolicy.maxReceiveCount).toBe(3);
  });

  it('refuses every request to any queue (events, checks and their dead-letter queues) that is not over TLS', () => {
    const policies = Object.values(resources(devTemplate, 'AWS::SQS::QueuePolicy'));
    expect(policies).toHaveLength(4);
    for (const policy of policies) {
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  it('feeds the worker in batches of at most 10 with partial failures and the configured concurrency', () => {
    const [workerId] = lambdaFunction(devTemplate, 'worker');
    devTemplate.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: workerId },
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^EventQueue'), 'Arn'] },
      BatchSize: Match.anyValue(),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: dev.workerMaxConcurrency },
    });
    for (const mapping of Object.values(resources(devTemplate, 'AWS::Lambda::EventSourceMapping'))) {
      expect(mapping.Properties.BatchSize).toBeLessThanOrEqual(10);
      expect(mapping.Properties.MaximumBatchingWindowInSeconds).toBeUndefined();
    }
    prodTemplate.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: prod.workerMaxConcurrency },
    });
  });

  it('runs the handback function on the dead-letter queue', () => {
    const [handbackId] = lambdaFunction(devTemplate, 'handback');
    devTemplate.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: handbackId },
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DeadLetterQueue'), 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });
});

describe('tables', () => {
  it('keeps state on demand with TTL and point-in-time recovery', () => {
    devTemplate.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('keys the audit table by incident and time, with the byTime index, TTL and point-in-time recovery', () => {
    devTemplate.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'incidentId', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      GlobalSecondaryIndexes: [
        {
          IndexName: AUDIT_TIME_INDEX,
          KeySchema: [
            { AttributeName: 'day', KeyType: 'HASH' },
            { AttributeName: 'at', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('protects and retains the tables outside dev, and lets dev be torn down', () => {
    for (const table of Object.values(resources(prodTemplate, 'AWS::DynamoDB::Table'))) {
      expect(table.Properties.DeletionProtectionEnabled).toBe(true);
      expect(table.DeletionPolicy).toBe('Retain');
      expect(table.UpdateReplacePolicy).toBe('Retain');
    }
    for (const table of Object.values(resources(devTemplate, 'AWS::DynamoDB::Table'))) {
      expect(table.Properties.DeletionProtectionEnabled).toBe(false);
      expect(table.DeletionPolicy).toBe('Delete');
    }
  });
});

describe('secret and rotation', () => {
  it.each(['pd-agent/dev', 'pd-agent/dev/webhook-signing'])('creates %s with a placeholder, never a value in the template', (name) => {
    devTemplate.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: name,
      SecretString: Match.absent(),
      GenerateSecretString: Match.objectLike({ GenerateStringKey: 'placeholder' }),
    });
    const secret = Object.values(resources(devTemplate, 'AWS::SecretsManager::Secret')).find(
      (candidate) => candidate.Properties.Name === name,
    );
    const template = JSON.parse(secret!.Properties.GenerateSecretString.SecretStringTemplate);
    // No webhookSecrets key: the ingress and the CLI read that as "not written yet" (migration pending or no subscription).
    expect(Object.keys(template)).toEqual(['notSet']);
    for (const kept of Object.values(resources(prodTemplate, 'AWS::SecretsManager::Secret'))) expect(kept.DeletionPolicy).toBe('Retain');
  });

  it('rotates with the rotate-secret function every 90 days, never on deploy', () => {
    const [rotatorId] = lambdaFunction(devTemplate, 'rotate-secret');
    devTemplate.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      SecretId: { Ref: Match.stringLikeRegexp('^AgentSecret') },
      RotationLambdaARN: { 'Fn::GetAtt': [rotatorId, 'Arn'] },
      RotationRules: { ScheduleExpression: `rate(${ROTATION_INTERVAL_DAYS} days)` },
      RotateImmediatelyOnUpdate: false,
    });
    devTemplate.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: { 'Fn::GetAtt': [rotatorId, 'Arn'] },
      Principal: 'secretsmanager.amazonaws.com',
      SourceArn: { Ref: Match.stringLikeRegexp('^AgentSecret') },
    });
  });
});

describe('least privilege', () => {
  const stateTableId = () =>
    logicalIdOf(devTemplate, 'AWS::DynamoDB::Table', (table) => table.Properties.KeySchema[0].AttributeName === 'pk');
  const auditTableId = () =>
    logicalIdOf(devTemplate, 'AWS::DynamoDB::Table', (table) => table.Properties.KeySchema[0].AttributeName === 'incidentId');
  const referencedIds = (service: string): string[] =>
    statementsOf(devTemplate, service)
      .flatMap((statement) => [statement.Resource].flat())
      .map((resource) => JSON.stringify(resource));

  const secretId = (template: Template, name: string): string =>
    logicalIdOf(template, 'AWS::SecretsManager::Secret', (secret) => secret.Properties.Name === name);
  const secretResources = (template: Template, service: string): string[] =>
    statementsOf(template, service)
      .filter((statement) => [statement.Action].flat().some((action) => action.startsWith('secretsmanager:')))
      .flatMap((statement) => [statement.Resource].flat())
      .map((resource) => JSON.stringify(resource));

  it('lets the worker read, lease and write the shared service context and burst counts in the state table', () => {
    const onStateTable = statementsOf(devTemplate, 'worker').filter((statement) =>
      JSON.stringify(statement.Resource).includes(stateTableId()),
    );
    const actions = onStateTable.flatMap((statement) => [statement.Action].flat());
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']));
  });

  it('lets the internet-facing ingress read the signing secrets and nothing of the PagerDuty credentials', () => {
    const credentials = secretId(devTemplate, 'pd-agent/dev');
    const signing = secretId(devTemplate, 'pd-agent/dev/webhook-signing');
    expect(secretResources(devTemplate, 'ingress')).toEqual([JSON.stringify({ Ref: signing })]);
    expect(JSON.stringify(statementsOf(devTemplate, 'ingress'))).not.toContain(credentials);
    expect(actionsOf(devTemplate, 'ingress').filter((action) => action.startsWith('secretsmanager:'))).toEqual([
      'secretsmanager:GetSecretValue',
    ]);
    const [, ingress] = lambdaFunction(devTemplate, 'ingress');
    expect(ingress.Properties.Environment.Variables.WEBHOOK_SECRET_ID).toEqual({ Ref: signing });
    expect(ingress.Properties.Environment.Variables.SECRET_ID).toBeUndefined();
  });

  it('gives the worker, handback and rotation the credentials secret only', () => {
    const credentials = JSON.stringify({ Ref: secretId(devTemplate, 'pd-agent/dev') });
    for (const service of ['worker', 'handback', 'rotate-secret']) {
      expect(new Set(secretResources(devTemplate, service))).toEqual(new Set([credentials]));
    }
  });

  it('while migrating, lets the ingress also read the credentials secret, which still holds the signing secrets', () => {
    const { template } = synthEnvironment('dev', { webhookSecretLayout: 'migrating' });
    const credentials = secretId(template, 'pd-agent/dev');
    expect(new Set(secretResources(template, 'ingress'))).toEqual(
      new Set([JSON.stringify({ Ref: secretId(template, 'pd-agent/dev/webhook-signing') }), JSON.stringify({ Ref: credentials })]),
    );
    const [, ingress] = lambdaFunction(template, 'ingress');
    expect(ingress.Properties.Environment.Variables.SECRET_ID).toEqual({ Ref: credentials });
    expect((template.toJSON().Outputs as Record<string, { Value: unknown }>).WebhookSecretLayout.Value).toBe('migrating');
  });

  it('lets the ingress call only the state-table actions it uses: no Scan, no DeleteItem, no batch writes', () => {
    const dynamo = actionsOf(devTemplate, 'ingress').filter((action) => action.startsWith('dynamodb:'));
    expect(dynamo.sort()).toEqual([...INGRESS_STATE_ACTIONS].sort());
    expect(dynamo.some((action) => /Scan|DeleteItem|Batch/.test(action))).toBe(false);
  });

  it('lets the ingress write state, send to the queue and read the signing secrets, nothing more', () => {
    const actions = actionsOf(devTemplate, 'ingress');
    expect(actions).toEqual(expect.arrayContaining(['sqs:SendMessage', 'secretsmanager:GetSecretValue', 'dynamodb:PutItem']));
    expect(actions).not.toContain('sqs:ReceiveMessage');
    expect(actions.filter((action) => action.startsWith('bedrock:'))).toEqual([]);
    const references = referencedIds('ingress').join(' ');
    expect(references).toContain(stateTableId());
    expect(references).not.toContain(auditTableId());
  });

  it('lets the worker and the handback function write the audit table and query only its time index besides, never delete items', () => {
    // The worker also reads an incident's own audit items (when its note was posted, for the outcome); both query the
    // time index for a rule's recent outcome items when an outcome contradicts it (the circuit breaker).
    const table = 'table';
    const index = 'index/byTime';
    const expected: Record<string, string[]> = {
      worker: [`dynamodb:PutItem ${table}`, `dynamodb:Query ${index}`, `dynamodb:Query ${table}`, `dynamodb:UpdateItem ${table}`],
      handback: [`dynamodb:PutItem ${table}`, `dynamodb:Query ${index}`, `dynamodb:UpdateItem ${table}`],
    };
    const tableArn = JSON.stringify({ 'Fn::GetAtt': [auditTableId(), 'Arn'] });
    const timeIndexArn = JSON.stringify({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [auditTableId(), 'Arn'] }, '/index/byTime']] });
    for (const service of ['worker', 'handback']) {
      const auditStatements = statementsOf(devTemplate, service).filter((statement) =>
        JSON.stringify(statement.Resource).includes(auditTableId()),
      );
      // Every action on exactly the table or its time index (under their own conditions: test/cdk/least-privilege.test.ts).
      const grants = auditStatements.flatMap((statement) =>
        [statement.Action].flat().flatMap((action) =>
          [statement.Resource].flat().map((resource) => {
            const arn = JSON.stringify(resource);
            return `${String(action)} ${arn === tableArn ? table : arn === timeIndexArn ? index : arn}`;
          }),
        ),
      );
      expect([...new Set(grants)].sort()).toEqual(expected[service]);
    }
  });

  it('lets the handback consume the dead-letter queue but not send to the event queue', () => {
    const actions = actionsOf(devTemplate, 'handback');
    expect(actions).toContain('sqs:ReceiveMessage');
    expect(actions).not.toContain('sqs:SendMessage');
  });

  it('gives the worker Bedrock only when the environment enables it, and only for the configured model', () => {
    expect(actionsOf(devTemplate, 'worker')).not.toContain('bedrock:InvokeModel');
    const bedrock = statementsOf(bedrockTemplate, 'worker').filter((statement) =>
      [statement.Action].flat().includes('bedrock:InvokeModel'),
    );
    expect(bedrock).toHaveLength(1);
    expect(JSON.stringify(bedrock[0].Resource)).toContain(':bedrock:eu-west-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0');
  });

  it('gives the worker the AWS context reads, scoped to alarms and log groups of its account, and no other function any', () => {
    const reads = [...CONTEXT_READ_ACTIONS.alarms, ...CONTEXT_READ_ACTIONS.unscoped, ...CONTEXT_READ_ACTIONS.logs];
    expect(actionsOf(devTemplate, 'worker')).toEqual(expect.arrayContaining(reads));
    expect(actionsOf(devTemplate, 'worker')).not.toContain('sts:AssumeRole');
    for (const service of ['ingress', 'handback', 'rotate-secret']) {
      expect(actionsOf(devTemplate, service).filter((action) => reads.includes(action as (typeof reads)[number]))).toEqual([]);
    }
    const scoped = statementsOf(devTemplate, 'worker').filter((statement) => [statement.Action].flat().includes('logs:FilterLogEvents'));
    expect(JSON.stringify(scoped[0]?.Resource)).toContain(':logs:*:');
    expect(JSON.stringify(scoped[0]?.Resource)).toContain(':log-group:*');
  });

  it('lets the rotation function read and promote its own secret, without PutSecretValue or GetRandomPassword', () => {
    const statements = statementsOf(devTemplate, 'rotate-secret').filter((statement) =>
      [statement.Action].flat().some((action) => action.startsWith('secretsmanager:')),
    );
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
        Resource: { Ref: expect.stringMatching(/^AgentSecret/) },
      },
    ]);
    expect(actionsOf(devTemplate, 'rotate-secret').filter((action) => action.startsWith('dynamodb:') || action.startsWith('sqs:'))).toEqual(
      [],
    );
  });

  it('writes each function only to its own log group and grants nothing on every resource but the unscopable context reads', () => {
    for (const service of Object.keys(descriptionOf)) {
      for (const statement of statementsOf(devTemplate, service)) {
        if (statement.Resource !== '*') continue;
        expect({ service, actions: [statement.Action].flat().sort() }).toEqual({
          service: 'worker',
          actions: [...CONTEXT_READ_ACTIONS.unscoped].sort(),
        });
      }
    }
    expect(Object.values(resources(devTemplate, 'AWS::IAM::Role')).flatMap((role) => role.Properties.ManagedPolicyArns ?? [])).toEqual([]);
  });
});

describe('HTTP API', () => {
  it('routes POST /webhooks/pagerduty to the ingress function', () => {
    devTemplate.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /webhooks/pagerduty' });
    devTemplate.resourceCountIs('AWS::ApiGatewayV2::Route', 1);
    const [ingressId] = lambdaFunction(devTemplate, 'ingress');
    devTemplate.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      IntegrationUri: { 'Fn::GetAtt': [ingressId, 'Arn'] },
      PayloadFormatVersion: '2.0',
    });
  });

  it('throttles the stage and writes JSON access logs to a log group with retention', () => {
    devTemplate.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: dev.webhookIngress.rateLimit, ThrottlingBurstLimit: dev.webhookIngress.burstLimit },
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^WebhookApiAccessLogs'), 'Arn'] },
        Format: Match.anyValue(),
      },
    });
    const [stage] = Object.values(resources(devTemplate, 'AWS::ApiGatewayV2::Stage'));
    const format = JSON.parse(stage.Properties.AccessLogSettings.Format);
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      status: '$context.status',
      integrationError: '$context.integrationErrorMessage',
    });
  });
});

describe('webhook ingress capacity (cdk.json webhookIngress)', () => {
  it.each([
    ['dev', () => devTemplate, () => dev.webhookIngress],
    ['prod', () => prodTemplate, () => prod.webhookIngress],
  ] as const)(
    '%s: reserves the ingress concurrency and throttles the stage and the webhook route from cdk.json',
    (_env, template, capacity) => {
      const { reservedConcurrency, rateLimit, burstLimit } = capacity();
      const [, ingress] = lambdaFunction(template(), 'ingress');
      expect(ingress.Properties.ReservedConcurrentExecutions).toBe(reservedConcurrency);
      template().hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        DefaultRouteSettings: { ThrottlingRateLimit: rateLimit, ThrottlingBurstLimit: burstLimit },
        RouteSettings: { 'POST /webhooks/pagerduty': { ThrottlingRateLimit: rateLimit, ThrottlingBurstLimit: burstLimit } },
      });
    },
  );

  it('sizes prod above dev and keeps every burst at least the steady rate', () => {
    expect(prod.webhookIngress.rateLimit).toBeGreaterThan(dev.webhookIngress.rateLimit);
    for (const capacity of [dev.webhookIngress, prod.webhookIngress])
      expect(capacity.burstLimit).toBeGreaterThanOrEqual(capacity.rateLimit);
  });

  it('reserves concurrency for the ingress only', () => {
    for (const service of ['worker', 'handback', 'rotate-secret']) {
      expect(lambdaFunction(devTemplate, service)[1].Properties.ReservedConcurrentExecutions).toBeUndefined();
    }
  });

  it('counts 429s from the access log, per environment, and alarms on the first one or on a Lambda throttle', () => {
    devTemplate.hasResourceProperties('AWS::Logs::MetricFilter', {
      LogGroupName: { Ref: Match.stringLikeRegexp('^WebhookApiAccessLogs') },
      FilterPattern: '{ $.status = "429" }',
      MetricTransformations: [
        Match.objectLike({
          MetricNamespace: METRICS_NAMESPACE,
          MetricName: WEBHOOK_THROTTLED_METRIC,
          MetricValue: '1',
          Dimensions: [{ Key: 'environment', Value: '$.environment' }],
        }),
      ],
    });
    const [stage] = Object.values(resources(devTemplate, 'AWS::ApiGatewayV2::Stage'));
    expect(JSON.parse(stage.Properties.AccessLogSettings.Format).environment).toBe('dev');
    const alarm = Object.values(resources(devTemplate, 'AWS::CloudWatch::Alarm')).find(
      (candidate) => candidate.Properties.AlarmName === 'pd-agent-dev-IngressThrottling',
    );
    expect(alarm?.Properties).toMatchObject({ Threshold: 1, EvaluationPeriods: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    const stats = (
      alarm!.Properties.Metrics as { MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions: unknown } } }[]
    )
      .filter((query) => query.MetricStat !== undefined)
      .map((query) => [query.MetricStat!.Metric.Namespace, query.MetricStat!.Metric.MetricName]);
    expect(stats.sort()).toEqual(
      [
        [METRICS_NAMESPACE, WEBHOOK_THROTTLED_METRIC],
        ['AWS/Lambda', 'Throttles'],
      ].sort(),
    );
  });
});

describe('alarms', () => {
  const alarms = (template: Template): Resource[] => Object.values(resources(template, 'AWS::CloudWatch::Alarm'));
  const alarmNamed = (template: Template, name: string): Resource => {
    const found = alarms(template).find((alarm) => alarm.Properties.AlarmName === name);
    expect(found).toBeDefined();
    return found!;
  };
  /** The metrics an alarm's math expression adds up, as namespace/name/dimensions. */
  const metricsOf = (alarm: Resource): { namespace: string; name: string; dimensions: Record<string, unknown> }[] =>
    alarm.Properties.Metrics.filter((query: { MetricStat?: unknown }) => query.MetricStat !== undefined).map(
      (query: { MetricStat: { Metric: { Namespace: string; MetricName: string; Dimensions: { Name: string; Value: unknown }[] } } }) => ({
        namespace: query.MetricStat.Metric.Namespace,
        name: query.MetricStat.Metric.MetricName,
        dimensions: Object.fromEntries(query.MetricStat.Metric.Dimensions.map((dimension) => [dimension.Name, dimension.Value])),
      }),
    );

  it('notifies the paging topic from every alarm but SignatureFailures, which goes to the low-priority one; both encrypted', () => {
    const topics = resources(devTemplate, 'AWS::SNS::Topic');
    devTemplate.resourceCountIs('AWS::SNS::Topic', 2);
    const topicId = Object.keys(topics).find((id) => String(topics[id].Properties.DisplayName) === 'pd-agent dev alarms');
    const securityId = Object.keys(topics).find((id) => String(topics[id].Properties.DisplayName).includes('security notices'));
    expect([topicId, securityId].every((id) => id !== undefined)).toBe(true);
    for (const topic of Object.values(topics)) expect(topic.Properties.KmsMasterKeyId).toBeDefined();
    devTemplate.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    expect(alarms(devTemplate).length).toBe(14);
    for (const alarm of alarms(devTemplate)) {
      const expected = alarm.Properties.AlarmName === 'pd-agent-dev-SignatureFailures' ? securityId : topicId;
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: expected }]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: expected }]);
      expect(alarm.Properties.TreatMissingData).toBe('notBreaching');
    }
  });

  it('mails the topic only when alarmEmail is configured', () => {
    devTemplate.resourceCountIs('AWS::SNS::Subscription', 0);
    prodTemplate.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'sre-oncall@acme.example' });
  });

  it('fires on signature failures recurring in 3 of the last 6 five-minute periods (test/cdk/alarm-math.test.ts evaluates it)', () => {
    const alarm = alarmNamed(devTemplate, 'pd-agent-dev-SignatureFailures');
    expect(alarm.Properties).toMatchObject({
      Threshold: 1,
      EvaluationPeriods: SIGNATURE_FAILURE_EVALUATION_PERIODS,
      DatapointsToAlarm: SIGNATURE_FAILURE_PERIODS_TO_ALARM,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    const metrics = metricsOf(alarm);
    expect(metrics.map((metric) => metric.name).sort()).toEqual([MetricName.signatureInvalid, MetricName.signatureUnconfirmed].sort());
    for (const metric of metrics) {
      expect(metric).toMatchObject({ namespace: METRICS_NAMESPACE, dimensions: { service: 'ingress', environment: 'dev' } });
    }
    for (const query of alarm.Properties.Metrics.filter((q: { MetricStat?: unknown }) => q.MetricStat !== undefined)) {
      expect(query.MetricStat).toMatchObject({ Period: 300, Stat: 'Sum' });
    }
  });

  it.each([
    [
      'IngressFailures',
      [
        [METRICS_NAMESPACE, MetricName.ingressFailure],
        ['AWS/Lambda', 'Errors'],
        ['AWS/ApiGateway', '5xx'],
        [METRICS_NAMESPACE, MetricName.signatureUnconfirmed],
      ],
    ],
    ['QuarantinedWebhooks', [[METRICS_NAMESPACE, MetricName.webhookQuarantined]]],
    ['EventsGivenUp', [[METRICS_NAMESPACE, MetricName.gaveUp]]],
    ['DeadLetterMessages', [['AWS/SQS', 'ApproximateNumberOfMessagesVisible']]],
    [
      'Handbacks',
      [
        [METRICS_NAMESPACE, MetricName.handedBack],
        [METRICS_NAMESPACE, MetricName.handedBack],
      ],
    ],
    [
      'HandbackFailures',
      [
        [METRICS_NAMESPACE, MetricName.handbackFailed],
        ['AWS/Lambda', 'Errors'],
      ],
    ],
    [
      'WorkerErrors',
      [
        [METRICS_NAMESPACE, MetricName.workerError],
        ['AWS/Lambda', 'Errors'],
      ],
    ],
    [
      'PagerDutyThrottling',
      [
        [METRICS_NAMESPACE, MetricName.throttled],
        [METRICS_NAMESPACE, MetricName.throttled],
      ],
    ],
    [
      'RotationFailures',
      [
        [METRICS_NAMESPACE, MetricName.rotationFailed],
        ['AWS/Lambda', 'Errors'],
      ],
    ],
  ])('alarms on %s from the right metrics', (name, expected) => {
    const alarm = alarmNamed(devTemplate, `pd-agent-dev-${name}`);
    const metrics: { namespace: string; name: string; dimensions: Record<string, unknown> }[] =
      alarm.Properties.Metrics === undefined
        ? [{ namespace: alarm.Properties.Namespace, name: alarm.Properties.MetricName, dimensions: {} }]
        : metricsOf(alarm);
    expect(metrics.map((metric) => [metric.namespace, metric.name]).sort()).toEqual([...expected].sort());
    for (const metric of metrics.filter((m) => m.namespace === METRICS_NAMESPACE)) {
      expect(metric.dimensions.environment).toBe('dev');
    }
  });

  it('treats PagerDuty throttling as an alarm only when sustained', () => {
    expect(alarmNamed(devTemplate, 'pd-agent-dev-PagerDutyThrottling').Properties).toMatchObject({
      Threshold: THROTTLING_THRESHOLD,
      EvaluationPeriods: THROTTLING_PERIODS,
      DatapointsToAlarm: THROTTLING_PERIODS,
    });
  });

  it('reads the rotation failure from the rotate-secret function', () => {
    const metrics = metricsOf(alarmNamed(devTemplate, 'pd-agent-dev-RotationFailures'));
    expect(metrics.find((metric) => metric.name === MetricName.rotationFailed)?.dimensions).toEqual({
      service: 'rotate-secret',
      environment: 'dev',
    });
  });
});

describe('dashboard', () => {
  it('shows webhooks by outcome, acknowledgement and triage percentiles, actions, handbacks, DLQ depth, throttling and signatures', () => {
    const [dashboard] = Object.values(resources(devTemplate, 'AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const title of [
      'Webhooks per minute by outcome',
      'Time to acknowledge',
      'Triage duration',
      'Agent actions',
      'Handbacks',
      'Queue and dead-letter depth',
      'PagerDuty throttling',
      'Signature failures per minute',
      'Outcomes per day',
      'Head start: first note to first human action',
      'Confirmed per rule per day',
      'Contradicted per rule per day',
    ]) {
      expect(body).toContain(title);
    }
    for (const name of Object.values(MetricName)) expect(body).toContain(`"${name}"`.replace(/"/g, '\\"'));
    expect(body).toContain('p50');
    expect(body).toContain('p99');
    expect(body).toContain('ApproximateNumberOfMessagesVisible');
    // Feedback notes the handback recorded from the dead-letter queue count beside the worker's.
    for (const name of [MetricName.feedbackRight, MetricName.feedbackWrong])
      expect(body).toMatch(new RegExp(`PdAgent\\W+${name}\\W+environment\\W+dev\\W+service\\W+handback\\W`));
    // Per-rule series come from a SEARCH on the rule dimension, scoped to the environment.
    expect(body).toMatch(/SEARCH\('\{PdAgent,environment,rule,service\} MetricName=\\+"OutcomeContradicted\\+" environment=\\+"dev\\+"'/);
  });
});

describe('stack', () => {
  it('tags every taggable resource with the environment', () => {
    for (const type of ['AWS::SQS::Queue', 'AWS::DynamoDB::Table', 'AWS::Lambda::Function', 'AWS::SecretsManager::Secret']) {
      for (const resource of Object.values(resources(devTemplate, type))) {
        expect(resource.Properties.Tags).toEqual(expect.arrayContaining([{ Key: 'pd-agent:environment', Value: 'dev' }]));
      }
    }
  });

  it('outputs what the CLI needs to find the deployed resources', () => {
    const outputs = devTemplate.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(Object.keys(outputs).sort()).toEqual(
      [
        'AlarmTopicArn',
        'SecurityAlarmTopicArn',
        'AuditTableName',
        'AuditTimeIndexName',
        'DashboardName',
        'DeadLetterQueueUrl',
        'Environment',
        'HandbackFunctionName',
        'IngressFunctionName',
        'PagerDutyApiUrl',
        'QueueUrl',
        'RotateSecretFunctionName',
        'SecretArn',
        'SecretName',
        'SecretsKeyArn',
        'SecretsOperatorRoleArns',
        'StateTableName',
        'WebhookSecretArn',
        'WebhookSecretLayout',
        'WebhookSecretName',
        'WebhookUrl',
        'WorkerFunctionName',
        'WorkerRoleArn',
      ].sort(),
    );
    expect(outputs.SecretName.Value).toBe('pd-agent/dev');
    expect(outputs.WebhookSecretName.Value).toBe('pd-agent/dev/webhook-signing');
    expect(outputs.WebhookSecretLayout.Value).toBe('split');
    expect(outputs.AuditTimeIndexName.Value).toBe(AUDIT_TIME_INDEX);
    expect(JSON.stringify(outputs.WebhookUrl.Value)).toContain('/webhooks/pagerduty');
  });
});
