import { messageOf } from '../errors/message-of';

/** Seconds before an event whose operation used its own retries is delivered again, unless the deps say otherwise. */
export const RETRY_LATER_SECONDS = 20;

/** The claim is held by another attempt; the message comes back when its lease ends. */
export class LeaseHeldError extends Error {
  override readonly name = 'LeaseHeldError';
  constructor(
    readonly eventId: string,
    readonly retryAfterSeconds: number,
  ) {
    super(
      `Event ${eventId} is being processed by another attempt; it is retried in ${retryAfterSeconds} s, when that attempt's lease ends.`,
    );
  }
}

/** A failure worth another delivery (the operation's retries were used up, the budget is not). */
export class RetryLaterError extends Error {
  override readonly name = 'RetryLaterError';
  constructor(
    readonly eventId: string,
    readonly retryAfterSeconds: number,
    cause: unknown,
  ) {
    super(`Event ${eventId} failed (${messageOf(cause)}); it is delivered again in ${retryAfterSeconds} s.`, {
      cause,
    });
  }
}

/**
 * Reached with too little Lambda time to make a first PagerDuty call: nothing was claimed or spent, and the message
 * goes straight back to the queue (keeping its place in its incident's FIFO group) for the next delivery.
 */
export class NoTimeToStartError extends Error {
  override readonly name = 'NoTimeToStartError';
  readonly retryAfterSeconds = 0;
  constructor(
    readonly eventId: string,
    readonly remainingMs: number,
    readonly minRemainingMs: number,
  ) {
    super(
      `Event ${eventId} was not started: ${remainingMs} ms of Lambda time left, ${minRemainingMs} ms needed. It goes back to the ` +
        "queue in its place and is triaged on the next delivery; if this is frequent, lower the worker's batch size or raise its timeout.",
    );
  }
}

/** The agent had to stop, its acknowledgement may have landed, and PagerDuty could not be asked: the event comes back. */
export class AcknowledgementUnknownError extends Error {
  override readonly name = 'AcknowledgementUnknownError';
  constructor(
    readonly eventId: string,
    readonly incidentId: string,
    readonly retryAfterSeconds: number,
    stopped: unknown,
    cause: unknown,
  ) {
    super(
      `Event ${eventId}: the agent stopped (${messageOf(stopped)}) without knowing whether its ` +
        `acknowledgement of ${incidentId} landed, and could not read the incident (${messageOf(cause)}). ` +
        `The event is delivered again in ${retryAfterSeconds} s (or handed back from the dead-letter queue), so that PagerDuty's state decides.`,
      { cause },
    );
  }
}
