import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { clientsFor } from '../aws-clients';
import { CliError } from '../cli-error';
import { coloursFor, startProgress, writeJson, writeLine, type CliIo } from '../output';
import { resolveTarget, type TargetOptions } from '../stack-target';

export interface RedriveOptions extends TargetOptions {
  max?: string;
  json?: boolean;
}

export interface RedriveResult {
  moved: number;
  /** Messages whose original deduplication id was still inside SQS's 5-minute window, resent under a new one. */
  renamedDeduplicationIds: number;
}

/**
 * Sends one dead-lettered message back with its message group and deduplication id. Inside FIFO's 5-minute dedup
 * window SQS would accept the send and silently drop it (answering with the original message id), which would lose
 * the page: then it is sent again under a derived deduplication id. The worker dedups by event id, not by this id.
 */
async function moveBack(sqs: SQSClient, queueUrl: string, message: Message): Promise<{ renamed: boolean }> {
  const group = message.Attributes?.MessageGroupId;
  const dedup = message.Attributes?.MessageDeduplicationId ?? message.MessageId;
  const send = (deduplicationId: string | undefined) =>
    sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: message.Body ?? '',
        MessageGroupId: group,
        MessageDeduplicationId: deduplicationId,
        ...(message.MessageAttributes === undefined ? {} : { MessageAttributes: message.MessageAttributes }),
      }),
    );
  const first = await send(dedup);
  if (first.MessageId !== message.MessageId) return { renamed: false };
  await send(`${dedup}.redrive-${Date.now()}`);
  return { renamed: true };
}

export async function redrive(
  sqs: SQSClient,
  from: string,
  to: string,
  max: number,
  onProgress: (moved: number, total: number) => void,
): Promise<RedriveResult> {
  const attributes = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: from, AttributeNames: ['ApproximateNumberOfMessages'] }));
  const total = Math.min(max, Number(attributes.Attributes?.ApproximateNumberOfMessages ?? 0));
  const result: RedriveResult = { moved: 0, renamedDeduplicationIds: 0 };
  while (result.moved < max) {
    const answer = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: from,
        MaxNumberOfMessages: 1,
        AttributeNames: ['All'],
        MessageAttributeNames: ['All'],
        VisibilityTimeout: 60,
      }),
    );
    const message = answer.Messages?.[0];
    if (message === undefined) break;
    const { renamed } = await moveBack(sqs, to, message);
    // Deleted only once it is back in the queue: a crash in between leaves a copy in both, never in neither.
    await sqs.send(new DeleteMessageCommand({ QueueUrl: from, ReceiptHandle: message.ReceiptHandle }));
    result.moved += 1;
    if (renamed) result.renamedDeduplicationIds += 1;
    onProgress(result.moved, Math.max(total, result.moved));
  }
  return result;
}

export async function redriveCommand(options: RedriveOptions, io: CliIo): Promise<RedriveResult> {
  const max = options.max === undefined ? Number.MAX_SAFE_INTEGER : Number(options.max);
  if (!Number.isInteger(max) || max <= 0)
    throw new CliError(`--max "${options.max}" is not a positive whole number.`, 'Give e.g. --max 10, or leave it out to move everything.');
  const target = await resolveTarget(options, io.env);
  const clients = clientsFor(target);
  const progress = startProgress(io, 'Moving dead-lettered messages back');
  let result: RedriveResult;
  try {
    result = await redrive(clients.sqs, target.deadLetterQueueUrl, target.queueUrl, max, (moved, total) =>
      progress.update(`Moving dead-lettered messages back: ${moved}/${total}`),
    );
  } finally {
    progress.stop();
    clients.destroy();
  }
  if (options.json === true) writeJson(io, result);
  else {
    const colours = coloursFor(io.stdout, io.env);
    writeLine(
      io.stdout,
      result.moved === 0
        ? 'The dead-letter queue is empty: nothing to move.'
        : `${colours.green('✔')} Moved ${result.moved} message(s) back to the event queue (groups and deduplication ids kept${result.renamedDeduplicationIds > 0 ? `; ${result.renamedDeduplicationIds} resent under a new deduplication id because the original was still in SQS's 5-minute window` : ''}).`,
    );
  }
  return result;
}
