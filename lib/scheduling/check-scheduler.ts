import { createHash } from 'node:crypto';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { MetricsSink } from '../agent/agent-ports';
import { messageOf } from '../errors/message-of';
import { MetricName } from '../observability/telemetry';
import { QUEUED_MESSAGE_VERSION, encodeScheduledCheck, type ScheduledCheck } from '../queue/queued-event';

/**
 * The one scheduler: a check written to a standard SQS queue with a per-message delay (SQS allows at most 900 s, so the
 * relay (delay-relay.ts) delays it again until it is due), then put on the event queue in the incident's FIFO group.
 * It survives the Lambda that scheduled it: the queue holds it, not a timer. No new dependency (EventBridge Scheduler's
 * client is not part of the stack), and the local stack emulates it with the same SQS emulator.
 */

/** SQS's ceiling for a message's DelaySeconds. */
export const MAX_DELAY_SECONDS = 900;

/** What the caller says; the scheduler fills in the id, the times and the version. */
export interface CheckRequest {
  check: ScheduledCheck['check'];
  incidentId: string;
  triggerEventId: string;
  /** Real minutes from now (the local stack's time scale shortens them). */
  afterMinutes: number;
  sequence: number;
  baseline?: ScheduledCheck['baseline'];
  prediction?: ScheduledCheck['prediction'];
}

export class ScheduleError extends Error {
  override readonly name = 'ScheduleError';
  constructor(
    readonly checkId: string,
    cause: unknown,
  ) {
    super(
      `The scheduled check ${checkId} could not be written to the check queue (CHECK_QUEUE_URL): ${messageOf(cause)}. ` +
        'Check the queue exists and the function may send to it (sqs:SendMessage).',
      { cause },
    );
  }
}

/**
 * Stable per (check, incident, triggering event, sequence): a redelivered triage schedules the same id, and the event
 * queue's deduplication and the worker's claim make it one check. A hash keeps it within SQS's 128 characters.
 */
export function checkIdFor(request: Pick<CheckRequest, 'check' | 'incidentId' | 'triggerEventId' | 'sequence'>): string {
  const digest = createHash('sha256').update(`${request.incidentId}\n${request.triggerEventId}`).digest('hex').slice(0, 24);
  return `check-${request.check}-${request.sequence}-${digest}`;
}

/** Seconds to delay a message due at `dueAt`, within what SQS allows. */
export function delaySecondsUntil(dueAt: Date, now: Date): number {
  return Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil((dueAt.getTime() - now.getTime()) / 1000)));
}

export interface CheckSchedulerDeps {
  sqs: SQSClient;
  /** The delay queue (CHECK_QUEUE_URL). */
  queueUrl: string;
  metrics: MetricsSink;
  clock?: () => Date;
  /**
   * Multiplies every delay: 1 in AWS. Only the local stack sets it (SCHEDULER_TIME_SCALE), so `npm start` shows a
   * follow-up within seconds.
   */
  timeScale?: number;
}

export class CheckScheduler {
  private readonly clock: () => Date;

  constructor(private readonly deps: CheckSchedulerDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  async schedule(request: CheckRequest): Promise<ScheduledCheck> {
    const now = this.clock();
    const dueAt = new Date(now.getTime() + request.afterMinutes * 60_000 * (this.deps.timeScale ?? 1));
    const check: ScheduledCheck = {
      version: QUEUED_MESSAGE_VERSION,
      kind: 'scheduled-check',
      check: request.check,
      checkId: checkIdFor(request),
      incidentId: request.incidentId,
      triggerEventId: request.triggerEventId,
      dueAt: dueAt.toISOString(),
      sequence: request.sequence,
      scheduledAt: now.toISOString(),
      ...(request.baseline === undefined ? {} : { baseline: request.baseline }),
      ...(request.prediction === undefined ? {} : { prediction: request.prediction }),
    };
    try {
      await this.deps.sqs.send(
        new SendMessageCommand({
          QueueUrl: this.deps.queueUrl,
          MessageBody: encodeScheduledCheck(check),
          DelaySeconds: delaySecondsUntil(dueAt, now),
        }),
      );
    } catch (error) {
      this.deps.metrics.addMetric(MetricName.scheduleFailed, 'Count', 1);
      throw new ScheduleError(check.checkId, error);
    }
    this.deps.metrics.addMetric(MetricName.scheduleCreated, 'Count', 1);
    return check;
  }
}

/** The local stack's time scale (SCHEDULER_TIME_SCALE, a number in (0, 1]); 1 when unset. */
export function timeScaleFrom(env: NodeJS.ProcessEnv): number {
  const raw = env.SCHEDULER_TIME_SCALE;
  if (raw === undefined || raw === '') return 1;
  const scale = Number(raw);
  if (!Number.isFinite(scale) || scale <= 0 || scale > 1) {
    throw new Error(
      `SCHEDULER_TIME_SCALE is ${JSON.stringify(raw)}: it must be a number above 0 and at most 1 (unset it outside the local stack).`,
    );
  }
  return scale;
}
