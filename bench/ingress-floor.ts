import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';

/**
 * The floor the ingress bundle is compared with (bench/ingress.bench.ts): only the AWS SDK clients and commands the
 * ingress uses, created at module scope as the ingress creates them, built with the same esbuild options. Never deployed.
 */
const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const sqs = new SQSClient({});
const secrets = new SecretsManagerClient({});

export const handler = async (eventId: string): Promise<unknown[]> =>
  Promise.all([
    secrets.send(new GetSecretValueCommand({ SecretId: 'floor' })),
    dynamo.send(new PutCommand({ TableName: 'floor', Item: { pk: eventId } })),
    dynamo.send(new GetCommand({ TableName: 'floor', Key: { pk: eventId } })),
    dynamo.send(
      new UpdateCommand({
        TableName: 'floor',
        Key: { pk: eventId },
        UpdateExpression: 'SET a = :a',
        ExpressionAttributeValues: { ':a': 1 },
      }),
    ),
    sqs.send(new SendMessageCommand({ QueueUrl: 'floor', MessageBody: eventId })),
  ]);
