import { DynamoDBClient, DynamoDBServiceException, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { SQSClient, SQSServiceException } from '@aws-sdk/client-sqs';
import type { CrashLog } from './simulated-crash';
import type { FaultDice } from './dice';

/**
 * AWS faults injected into real SDK clients as middleware, so the code under test sees exactly the errors the SDK
 * raises when DynamoDB throttles or SQS refuses a send. They are injected at the `initialize` step, before the SDK's
 * own retries: an injected error stands for a throttle that outlasted them.
 */
export interface InjectedAwsFault {
  service: 'dynamodb' | 'sqs';
  command: string;
  /** The item key or queue the refused request was about (JSON). */
  key: string;
  error: string;
}

type Input = { Key?: unknown; Item?: Record<string, unknown>; TableName?: string; QueueUrl?: string; MessageDeduplicationId?: string };

function itemKey(input: Input): string {
  if (input.Key !== undefined) return JSON.stringify(input.Key);
  const item = input.Item ?? {};
  return JSON.stringify({ pk: item.pk, incidentId: item.incidentId, sk: item.sk });
}

/** Fails a seeded fraction of the client's requests with ProvisionedThroughputExceededException or ThrottlingException. */
export function throttleDynamo(
  client: DynamoDBClient,
  dice: FaultDice,
  rate: number,
  log: InjectedAwsFault[],
  crashes?: CrashLog,
): DynamoDBClient {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      crashes?.assertAlive();
      const input = args.input as Input;
      const key = `${input.TableName ?? ''}|${itemKey(input)}`;
      if (dice.roll(`dynamodb|${context.commandName}`, key, rate)) {
        const provisioned = dice.fraction(`dynamodb-kind|${key}|${log.length}`) < 0.5;
        const message = 'Injected: the request rate is too high for the table (fault injection).';
        const error = provisioned
          ? new ProvisionedThroughputExceededException({ message, $metadata: { httpStatusCode: 400 } })
          : new DynamoDBServiceException({ name: 'ThrottlingException', $fault: 'client', message, $metadata: { httpStatusCode: 400 } });
        log.push({ service: 'dynamodb', command: context.commandName ?? '', key: itemKey(input), error: error.name });
        throw error;
      }
      return next(args);
    },
    { step: 'initialize', name: 'faultInjectionDynamoThrottle' },
  );
  return client;
}

/** Refuses a seeded fraction of SendMessage calls, as SQS does when it is unavailable or throttling. */
export function refuseSqsSends(client: SQSClient, dice: FaultDice, rate: number, log: InjectedAwsFault[]): SQSClient {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Input;
      if (context.commandName === 'SendMessageCommand' && dice.roll('sqs-send', input.MessageDeduplicationId ?? '', rate)) {
        log.push({ service: 'sqs', command: context.commandName, key: input.MessageDeduplicationId ?? '', error: 'ServiceUnavailable' });
        throw new SQSServiceException({
          name: 'ServiceUnavailable',
          $fault: 'server',
          message: 'Injected: SQS is unavailable (fault injection).',
          $metadata: { httpStatusCode: 503 },
        });
      }
      return next(args);
    },
    { step: 'initialize', name: 'faultInjectionSqsRefusal' },
  );
  return client;
}

/** A dead invocation makes no further SQS call either (visibility changes included). */
export function stopWhenDead(client: SQSClient, crashes: CrashLog): SQSClient {
  client.middlewareStack.add(
    (next) => async (args) => {
      crashes.assertAlive();
      return next(args);
    },
    { step: 'initialize', name: 'faultInjectionDeadInvocation' },
  );
  return client;
}
