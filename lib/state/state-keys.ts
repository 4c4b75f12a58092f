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
  /** The context of one service shared by the incidents of a burst while fresh (lib/state/service-context-cache.ts). */
  serviceContext: (serviceId: string): string => `servicectx#${serviceId}`,
  /** How many incidents of one service the agent saw in one window, and since when. */
  burst: (serviceId: string, windowStart: Date): string => `burst#${serviceId}#${windowStart.toISOString()}`,
  /** The notes of one past incident (how it was resolved), shared by the incidents whose title resembles it. */
  pastNotes: (incidentId: string): string => `pastnotes#${incidentId}`,
  /** The `pd-agent:` requests answered on one incident in one rate-limit window (lib/requests/request-quota.ts). */
  requestQuota: (incidentId: string, windowStart: Date): string => `requests#${incidentId}#${windowStart.toISOString()}`,
  /** One resource name's CloudTrail lookup (account, region, name), shared by the incidents of a burst. */
  changeLookup: (key: string): string => `awschanges#${key}`,
  /** One rule's standing (demoted or promoted), kept without TTL until a person promotes it (lib/trust/demotion-store.ts). */
  ruleStanding: (ruleId: string): string => `rule#${ruleId}`,
} as const;

/** Epoch seconds, as DynamoDB TTL wants them. */
export const epochSeconds = (date: Date): number => Math.floor(date.getTime() / 1000);
