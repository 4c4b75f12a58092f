import { AUDIT_TABLE } from '../../lib/infra/resource-definitions';
import { stateKeys } from '../../lib/state/state-keys';

/**
 * IAM conditions that narrow the functions' table grants to the items and attributes their code writes, so IAM and
 * not only the code keeps them there. test/cdk/least-privilege.test.ts runs the code against a recording client and
 * checks every request it makes would pass these conditions, and that the stack's grants carry them.
 */
export type IamConditions = Record<string, Record<string, string[]>>;

/**
 * The partition-key prefixes the ingress writes and reads in the state table: the event's record (`event#<id>`) and a
 * quarantined body (`quarantine#<sha256>`). It cannot touch an incident's ledger, a note reservation or a cache entry.
 */
export const INGRESS_STATE_KEY_PATTERNS = [`${stateKeys.event('')}*`, `${stateKeys.quarantine('')}*`];

export const INGRESS_STATE_CONDITIONS: IamConditions = {
  'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': INGRESS_STATE_KEY_PATTERNS },
};

/**
 * The top-level attributes an audit UpdateItem may name: the item's key, and the completion and outcome fields
 * `AuditLog.complete` sets (lib/audit/audit-log.ts; `outcome` is also what its condition reads). Not the TTL
 * (`expiresAt`), nor the history an item was written with (`at`, `day`, `action`, `eventId`, `env`, the intent's detail
 * is replaced only while the item is an intent, which the code's condition enforces).
 */
export const AUDIT_COMPLETION_ATTRIBUTES = [
  AUDIT_TABLE.partitionKey.name,
  ...(AUDIT_TABLE.sortKey === undefined ? [] : [AUDIT_TABLE.sortKey.name]),
  'outcome',
  'detail',
  'httpStatus',
  'requestId',
  'attempts',
  'durationMs',
  'noteId',
  'hypothesisSummary',
  'completedAt',
];

/** UpdateItem on the audit table: only the completion attributes, and nothing returned (no read through a write). */
export const AUDIT_COMPLETION_CONDITIONS: IamConditions = {
  'ForAllValues:StringEquals': { 'dynamodb:Attributes': AUDIT_COMPLETION_ATTRIBUTES },
  StringEqualsIfExists: { 'dynamodb:ReturnValues': ['NONE'] },
};

/** PutItem on the audit table returns nothing either: ALL_OLD would read the item a put replaced. */
export const AUDIT_APPEND_CONDITIONS: IamConditions = {
  StringEqualsIfExists: { 'dynamodb:ReturnValues': ['NONE'] },
};
