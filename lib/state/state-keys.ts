/**
 * Key layout of the state table (partition key `pk`, TTL attribute `expiresAt`). One place so that the ingress, the
 * worker, the handback function and the CLI agree on what each item is.
 */
export const stateKeys = {
  /** The webhook event as received: dedup record, enqueue status, claim/lease, retry budget. */
  event: (eventId: string): string => `event#${eventId}`,
  /** What the agent has done to one incident: acknowledged, note posted, decision, escalated, handed back. */
  incident: (incidentId: string): string => `incident#${incidentId}`,
  /** The note token reserved before posting a hypothesis note for one triggering event of an incident. */
  note: (incidentId: string, triggerEventId: string): string => `note#${incidentId}#${triggerEventId}`,
  /** A signed body that could not be parsed, kept for inspection (the ingress answers 2xx and alarms). */
  quarantine: (bodySha256: string): string => `quarantine#${bodySha256}`,
} as const;

/** Epoch seconds, as DynamoDB TTL wants them. */
export const epochSeconds = (date: Date): number => Math.floor(date.getTime() / 1000);
