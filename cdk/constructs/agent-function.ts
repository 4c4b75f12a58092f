import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { FunctionService } from '../../lib/observability/telemetry';
import type { RuntimeVariable } from '../../lib/config/runtime-env';
import type { IamConditions } from './table-conditions';

/** Where `npm run build` (local/build.ts) writes each function's bundle. */
export const DIST_DIR = join(__dirname, '..', '..', 'dist');

export class MissingBundleError extends Error {
  override readonly name = 'MissingBundleError';
  constructor(readonly functionName: string) {
    super(`dist/${functionName}/index.js does not exist: run npm run build first (it bundles functions/*.ts into dist/).`);
  }
}

export interface AgentFunctionProps {
  service: FunctionService;
  description: string;
  timeout: Duration;
  memorySize: number;
  /**
   * Runtime-contract variables that name no AWS resource (docs/configuration.md "Configuration"); a variable that names
   * a table, queue or secret is bound with its grant by `bindTable`, `bindQueueSender` or `bindSecretReader`.
   */
  environment: Partial<Record<RuntimeVariable, string>>;
  logRetention: logs.RetentionDays;
  removalPolicy: RemovalPolicy;
  /** Executions reserved for (and capping) this function; unset, it shares the account's unreserved pool. */
  reservedConcurrentExecutions?: number;
}

export interface TableGrantOptions {
  indexes?: boolean;
  /** IAM conditions on the grant (cdk/constructs/table-conditions.ts). */
  conditions?: IamConditions;
}

/**
 * One pd-agent Lambda function: the esbuild bundle from dist/ (the same file the tests and benchmarks measure, not a
 * bundle made at synth), nodejs22.x on arm64, source maps on, its own log group with retention, and its own role
 * that can write only to that log group. Callers grant it the rest, resource by resource.
 */
export class AgentFunction extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: AgentFunctionProps) {
    super(scope, id);
    const bundleDir = join(DIST_DIR, props.service);
    if (!existsSync(join(bundleDir, 'index.js'))) throw new MissingBundleError(props.service);

    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention, removalPolicy: props.removalPolicy });
    // A role of its own instead of AWSLambdaBasicExecutionRole, whose log permissions cover every log group.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `pd-agent ${props.service}: its own log group plus the grants the stack adds`,
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [this.logGroup.logGroupArn] }),
    );

    this.function = new lambda.Function(this, 'Function', {
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(bundleDir),
      timeout: props.timeout,
      memorySize: props.memorySize,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
      ...(props.reservedConcurrentExecutions === undefined ? {} : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'nodejs22.x on purpose: local/build.ts bundles for target node22 and the tests and benchmarks measure that bundle; ' +
        'nodejs22.x is supported until April 2027. Moving to nodejs24.x is a deliberate change of the build target and runtime together.',
    });
  }

  /** The table's name in `variable`, and exactly `actions` on it (its indexes included only when asked), under `conditions`. */
  bindTable(variable: RuntimeVariable, table: dynamodb.ITable, actions: readonly string[], options: TableGrantOptions = {}): void {
    this.function.addEnvironment(variable, table.tableName);
    this.allowOnTable(table, actions, options);
  }

  /** Exactly `actions` on a table already bound, in a statement of their own when they carry conditions. */
  allowOnTable(table: dynamodb.ITable, actions: readonly string[], options: TableGrantOptions = {}): void {
    const resources = options.indexes === true ? [table.tableArn, `${table.tableArn}/index/*`] : [table.tableArn];
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [...actions],
        resources,
        ...(options.conditions === undefined ? {} : { conditions: options.conditions }),
      }),
    );
  }

  /** The queue's URL in `variable`, and permission to send to it. */
  bindQueueSender(variable: RuntimeVariable, queue: sqs.IQueue): void {
    this.function.addEnvironment(variable, queue.queueUrl);
    queue.grantSendMessages(this.role);
  }

  /** The secret's ARN in `variable`, and permission to read its value (nothing else). */
  bindSecretReader(variable: RuntimeVariable, secret: secretsmanager.ISecret): void {
    this.function.addEnvironment(variable, secret.secretArn);
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretArn] }));
  }
}
