/**
 * The one source of truth for the shape of pd-agent's tables and queues. The CDK stack builds its resources from
 * these definitions and the local stack (`npm start`, integration tests) creates the emulated ones from them, so a
 * key or index cannot differ between what is tested and what is deployed.
 */

export interface KeyAttribute {
  name: string;
  type: 'S' | 'N';
}

export interface IndexDefinition {
  indexName: string;
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
}

export interface TableDefinition {
  /** Logical name: `<AGENT_ENV>-<logicalName>` locally; CDK lets CloudFormation name it. */
  logicalName: string;
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
  timeToLiveAttribute: string;
  globalSecondaryIndexes: IndexDefinition[];
}

/** Event dedup records, work claims and leases, retry budgets, per-incident progress and note tokens. */
export const STATE_TABLE: TableDefinition = {
  logicalName: 'state',
  partitionKey: { name: 'pk', type: 'S' },
  timeToLiveAttribute: 'expiresAt',
  globalSecondaryIndexes: [],
};

/** Name of the audit table's time-range index: partition `day` (YYYY-MM-DD, UTC), sort `at` (ISO-8601). */
export const AUDIT_TIME_INDEX = 'byTime';

/** One item per PagerDuty mutation (intent, then outcome) and per recorded event; read by incident or by time. */
export const AUDIT_TABLE: TableDefinition = {
  logicalName: 'audit',
  partitionKey: { name: 'incidentId', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  timeToLiveAttribute: 'expiresAt',
  globalSecondaryIndexes: [
    {
      indexName: AUDIT_TIME_INDEX,
      partitionKey: { name: 'day', type: 'S' },
      sortKey: { name: 'at', type: 'S' },
    },
  ],
};

/** SQS's largest message: a signed body of up to 256 KiB travels base64-encoded (about 350 KB) with a few fields. */
export const MAX_QUEUE_MESSAGE_BYTES = 1_048_576;

export interface QueueDefinition {
  logicalName: string;
  fifo: true;
  /** Seconds; at least six times the worker's timeout (AWS's guidance for SQS event sources). */
  visibilityTimeoutSeconds: number;
  retentionSeconds: number;
}

/** The worker Lambda's timeout, in seconds. The queue's visibility timeout is derived from it. */
export const WORKER_TIMEOUT_SECONDS = 60;

export const EVENT_QUEUE: QueueDefinition = {
  logicalName: 'events',
  fifo: true,
  visibilityTimeoutSeconds: WORKER_TIMEOUT_SECONDS * 6,
  // Four days: longer than PagerDuty's 48-hour retry window, so nothing expires in the queue before a retry could.
  retentionSeconds: 4 * 24 * 3600,
};

export const DEAD_LETTER_QUEUE: QueueDefinition = {
  logicalName: 'events-dlq',
  fifo: true,
  visibilityTimeoutSeconds: 300,
  retentionSeconds: 14 * 24 * 3600,
};

/** The scheduler's delay queue: standard SQS, because a FIFO queue takes no per-message DelaySeconds. */
export interface DelayQueueDefinition {
  logicalName: string;
  fifo: false;
  /** Seconds; six times the scheduler function's timeout. */
  visibilityTimeoutSeconds: number;
  retentionSeconds: number;
  /** Receives before a check that cannot be relayed is dead-lettered (the handback reads that queue). */
  maxReceiveCount: number;
}

/** The scheduler function's timeout, in seconds: relaying ten messages is ten SendMessage calls. */
export const SCHEDULER_TIMEOUT_SECONDS = 30;

/** Scheduled checks until they are due (at most 24 h ahead: holdMinutes and followUp.afterMinutes are bounded so). */
export const CHECK_QUEUE: DelayQueueDefinition = {
  logicalName: 'checks',
  fifo: false,
  visibilityTimeoutSeconds: SCHEDULER_TIMEOUT_SECONDS * 6,
  retentionSeconds: 4 * 24 * 3600,
  maxReceiveCount: 5,
};

export const CHECK_DEAD_LETTER_QUEUE: DelayQueueDefinition = {
  logicalName: 'checks-dlq',
  fifo: false,
  visibilityTimeoutSeconds: 120,
  retentionSeconds: 14 * 24 * 3600,
  maxReceiveCount: 0,
};

/** Receives before a message is dead-lettered; per environment in cdk.json, this is the default. */
export const DEFAULT_MAX_RECEIVE_COUNT = 5;

/** How long a recorded webhook event is remembered: well beyond PagerDuty's 48-hour retry window. */
export const EVENT_RECORD_TTL_SECONDS = 7 * 24 * 3600;
