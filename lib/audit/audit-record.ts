/**
 * One audit item (AUDIT_TABLE: partition `incidentId`, sort `sk`; GSI `byTime` on `day` + `at`).
 * A PagerDuty mutation is written as an intent before the call and completed with its outcome after it, so a crash
 * between the two leaves a visible `intent` item. Events the worker only records are written complete.
 */
export type AuditAction = 'acknowledge' | 'note' | 'escalate' | 'resolve' | 'events-api' | 'record' | 'triage' | 'handback';

export type AuditOutcome = 'intent' | 'succeeded' | 'already-done' | 'failed' | 'skipped' | 'recorded';

export interface AuditItem {
  incidentId: string;
  /** `<at>#<action>#<eventId>`: unique per event and action, sorted by time within an incident. */
  sk: string;
  day: string;
  at: string;
  env: string;
  action: AuditAction;
  outcome: AuditOutcome;
  eventId: string;
  eventType?: string;
  /** Free text: why this outcome (filtered, agent's own event, resolved already, error message, …). */
  detail?: string;
  httpStatus?: number;
  requestId?: string;
  attempts?: number;
  durationMs?: number;
  /** For notes: the hypothesis summary; for triage: the decision. */
  hypothesisSummary?: string;
  decision?: string;
  noteId?: string;
  completedAt?: string;
  expiresAt: number;
}
