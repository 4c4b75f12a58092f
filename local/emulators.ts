import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { CreateTableCommand, DynamoDBClient, type AttributeDefinition, type KeySchemaElement } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createSqsServer } from 'local-aws-sqs';
import { startAwsContextEmulator, type AwsContextEmulator } from './aws-emulators/server';
import {
  AUDIT_TABLE,
  CHECK_DEAD_LETTER_QUEUE,
  CHECK_QUEUE,
  DEAD_LETTER_QUEUE,
  DEFAULT_MAX_RECEIVE_COUNT,
  EVENT_QUEUE,
  STATE_TABLE,
  type KeyAttribute,
  type TableDefinition,
} from '../lib/infra/resource-definitions';

// dynalite ships no type declarations; this is the part of its API we use.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite') as (options: { createTableMs: number; deleteTableMs: number; updateTableMs: number }) => Server;

/** The emulated AWS side of one environment: endpoints, and the names pd-agent's handlers are configured with. */
export interface LocalAws {
  dynamodbEndpoint: string;
  sqsEndpoint: string;
  stateTable: string;
  auditTable: string;
  queueUrl: string;
  deadLetterQueueUrl: string;
  /** The scheduler's delay queue (standard SQS) and its dead-letter queue. */
  checkQueueUrl: string;
  checkDeadLetterQueueUrl: string;
  region: string;
  /** CloudWatch, CloudTrail, CloudWatch Logs and STS for the worker's context providers; empty until seeded. */
  awsContext: AwsContextEmulator;
  /** The variables a handler needs to reach these emulators with the real SDK clients. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export interface LocalAwsOptions {
  /** Prefix of table and queue names, like the environment name of a deployment. */
  agentEnv?: string;
  dynamodbPort?: number;
  sqsPort?: number;
  maxReceiveCount?: number;
}

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

const listen = (server: Server, port: number): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });

const close = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });

function attributeDefinitions(table: TableDefinition): AttributeDefinition[] {
  const attributes = new Map<string, KeyAttribute>();
  const add = (key: KeyAttribute | undefined): void => {
    if (key !== undefined) attributes.set(key.name, key);
  };
  add(table.partitionKey);
  add(table.sortKey);
  for (const index of table.globalSecondaryIndexes) {
    add(index.partitionKey);
    add(index.sortKey);
  }
  return [...attributes.values()].map((key) => ({ AttributeName: key.name, AttributeType: key.type }));
}

function keySchema(partitionKey: KeyAttribute, sortKey?: KeyAttribute): KeySchemaElement[] {
  return [
    { AttributeName: partitionKey.name, KeyType: 'HASH' },
    ...(sortKey === undefined ? [] : [{ AttributeName: sortKey.name, KeyType: 'RANGE' as const }]),
  ];
}

/** Creates a table from its shared definition (TTL is not emulated by dynalite; the CDK stack sets it). */
export async function createTable(client: DynamoDBClient, table: TableDefinition, tableName: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: attributeDefinitions(table),
      KeySchema: keySchema(table.partitionKey, table.sortKey),
      GlobalSecondaryIndexes:
        table.globalSecondaryIndexes.length === 0
          ? undefined
          : table.globalSecondaryIndexes.map((index) => ({
              IndexName: index.indexName,
              KeySchema: keySchema(index.partitionKey, index.sortKey),
              Projection: { ProjectionType: 'ALL' },
            })),
    }),
  );
}

/** Creates the FIFO event queue and its FIFO dead-letter queue from their shared definitions. */
export async function createQueues(
  client: SQSClient,
  prefix: string,
  maxReceiveCount: number,
): Promise<{ queueUrl: string; deadLetterQueueUrl: string }> {
  const dlq = await client.send(
    new CreateQueueCommand({
      QueueName: `${prefix}-${DEAD_LETTER_QUEUE.logicalName}.fifo`,
      Attributes: {
        FifoQueue: 'true',
        VisibilityTimeout: String(DEAD_LETTER_QUEUE.visibilityTimeoutSeconds),
        MessageRetentionPeriod: String(DEAD_LETTER_QUEUE.retentionSeconds),
      },
    }),
  );
  const deadLetterQueueUrl = dlq.QueueUrl as string;
  const dlqAttributes = await client.send(new GetQueueAttributesCommand({ QueueUrl: deadLetterQueueUrl, AttributeNames: ['QueueArn'] }));
  const queue = await client.send(
    new CreateQueueCommand({
      QueueName: `${prefix}-${EVENT_QUEUE.logicalName}.fifo`,
      Attributes: {
        FifoQueue: 'true',
        VisibilityTimeout: String(EVENT_QUEUE.visibilityTimeoutSeconds),
        MessageRetentionPeriod: String(EVENT_QUEUE.retentionSeconds),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqAttributes.Attributes?.QueueArn,
          maxReceiveCount,
        }),
      },
    }),
  );
  return { queueUrl: queue.QueueUrl as string, deadLetterQueueUrl };
}

/** Creates the scheduler's standard delay queue and its dead-letter queue (local-aws-sqs honours DelaySeconds). */
export async function createCheckQueues(
  client: SQSClient,
  prefix: string,
): Promise<{ checkQueueUrl: string; checkDeadLetterQueueUrl: string }> {
  const dlq = await client.send(
    new CreateQueueCommand({
      QueueName: `${prefix}-${CHECK_DEAD_LETTER_QUEUE.logicalName}`,
      Attributes: {
        VisibilityTimeout: String(CHECK_DEAD_LETTER_QUEUE.visibilityTimeoutSeconds),
        MessageRetentionPeriod: String(CHECK_DEAD_LETTER_QUEUE.retentionSeconds),
      },
    }),
  );
  const checkDeadLetterQueueUrl = dlq.QueueUrl as string;
  const dlqAttributes = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: checkDeadLetterQueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const queue = await client.send(
    new CreateQueueCommand({
      QueueName: `${prefix}-${CHECK_QUEUE.logicalName}`,
      Attributes: {
        VisibilityTimeout: String(CHECK_QUEUE.visibilityTimeoutSeconds),
        MessageRetentionPeriod: String(CHECK_QUEUE.retentionSeconds),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqAttributes.Attributes?.QueueArn,
          maxReceiveCount: CHECK_QUEUE.maxReceiveCount,
        }),
      },
    }),
  );
  return { checkQueueUrl: queue.QueueUrl as string, checkDeadLetterQueueUrl };
}

/**
 * Starts dynalite and local-aws-sqs on loopback (port 0 = any free port) and creates pd-agent's tables and queues in
 * them. Used by `npm start` and the integration tests; the handlers reach them through the SDK's own
 * `AWS_ENDPOINT_URL_*` variables, exactly as they reach AWS.
 */
export async function startLocalAws(options: LocalAwsOptions = {}): Promise<LocalAws> {
  const agentEnv = options.agentEnv ?? 'local';
  const dynamoServer = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const dynamoPort = await listen(dynamoServer, options.dynamodbPort ?? 0);
  const sqsServer = await createSqsServer({
    port: options.sqsPort ?? 0,
    hostname: '127.0.0.1',
    emulateQueueCreationLifecycle: false,
  });
  const sqsPort = (sqsServer.address() as AddressInfo).port;
  const awsContext = await startAwsContextEmulator();

  const dynamodbEndpoint = `http://127.0.0.1:${dynamoPort}`;
  const sqsEndpoint = `http://127.0.0.1:${sqsPort}`;
  const dynamo = new DynamoDBClient({ endpoint: dynamodbEndpoint, region: REGION, credentials: CREDENTIALS });
  const sqs = new SQSClient({ endpoint: sqsEndpoint, region: REGION, credentials: CREDENTIALS });
  const stateTable = `${agentEnv}-${STATE_TABLE.logicalName}`;
  const auditTable = `${agentEnv}-${AUDIT_TABLE.logicalName}`;
  try {
    await createTable(dynamo, STATE_TABLE, stateTable);
    await createTable(dynamo, AUDIT_TABLE, auditTable);
    const { queueUrl, deadLetterQueueUrl } = await createQueues(sqs, agentEnv, options.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT);
    const { checkQueueUrl, checkDeadLetterQueueUrl } = await createCheckQueues(sqs, agentEnv);
    return {
      dynamodbEndpoint,
      sqsEndpoint,
      stateTable,
      auditTable,
      queueUrl,
      deadLetterQueueUrl,
      checkQueueUrl,
      checkDeadLetterQueueUrl,
      region: REGION,
      awsContext,
      env: {
        AWS_REGION: REGION,
        AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
        AWS_ENDPOINT_URL_DYNAMODB: dynamodbEndpoint,
        AWS_ENDPOINT_URL_SQS: sqsEndpoint,
        ...awsContext.env,
        STATE_TABLE: stateTable,
        AUDIT_TABLE: auditTable,
        QUEUE_URL: queueUrl,
        CHECK_QUEUE_URL: checkQueueUrl,
      },
      async stop() {
        dynamo.destroy();
        sqs.destroy();
        await Promise.all([close(dynamoServer), close(sqsServer), awsContext.stop()]);
      },
    };
  } catch (error) {
    dynamo.destroy();
    sqs.destroy();
    await Promise.all([close(dynamoServer), close(sqsServer), awsContext.stop()]);
    throw error;
  }
}
