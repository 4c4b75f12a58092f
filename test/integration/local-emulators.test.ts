import { DescribeTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { startLocalAws, type LocalAws } from '../../local/emulators';
import { AUDIT_TIME_INDEX, DEFAULT_MAX_RECEIVE_COUNT } from '../../lib/infra/resource-definitions';

describe('local AWS emulators built from the shared resource definitions', () => {
  let aws: LocalAws;
  beforeAll(async () => {
    aws = await startLocalAws({ agentEnv: 'emu' });
  });
  afterAll(async () => aws.stop());

  it('creates the audit table with the time-range index the CLI queries', async () => {
    const dynamo = new DynamoDBClient({ endpoint: aws.dynamodbEndpoint, region: aws.region });
    const table = await dynamo.send(new DescribeTableCommand({ TableName: aws.auditTable }));
    expect(table.Table?.KeySchema).toEqual([
      { AttributeName: 'incidentId', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(table.Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName)).toEqual([AUDIT_TIME_INDEX]);
    await expect(dynamo.send(new PutItemCommand({ TableName: aws.stateTable, Item: { pk: { S: 'event#1' } } }))).resolves.toBeDefined();
    dynamo.destroy();
  });

  it('creates a FIFO queue that redrives to a FIFO dead-letter queue', async () => {
    const sqs = new SQSClient({ endpoint: aws.sqsEndpoint, region: aws.region });
    const attributes = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: aws.queueUrl, AttributeNames: ['All'] }));
    expect(attributes.Attributes?.FifoQueue).toBe('true');
    expect(JSON.parse(attributes.Attributes?.RedrivePolicy ?? '{}').maxReceiveCount).toBe(DEFAULT_MAX_RECEIVE_COUNT);
    const first = await sqs.send(
      new SendMessageCommand({ QueueUrl: aws.queueUrl, MessageBody: 'x', MessageGroupId: 'g', MessageDeduplicationId: 'd' }),
    );
    const second = await sqs.send(
      new SendMessageCommand({ QueueUrl: aws.queueUrl, MessageBody: 'x', MessageGroupId: 'g', MessageDeduplicationId: 'd' }),
    );
    expect(second.MessageId).toBe(first.MessageId);
    sqs.destroy();
  });
});
