import type { PredictionCheck } from '../../lib/followup/prediction';
import type { AuditCompletion, AuditEntry, AuditHandle, AuditIntent, AuditPage, AuditTrail } from '../../lib/audit/audit-log';
import type { NewFeedback, NewOutcome, OutcomeWriter } from '../../lib/outcomes/outcome-store';
import type { AuditItem } from '../../lib/audit/audit-record';
import type { NoteFooter, NoteRenderer } from '../../lib/agent/agent-ports';
import {
  ResolveRefusedError,
  type DecisionFacts,
  type EscalationIntent,
  type IncidentLedger,
  type IncidentProgress,
  type NoteReservation,
  type RecordedDecision,
} from '../../lib/state/incident-ledger';
import {
  FINISHED_STATUSES,
  MAX_OPTIONAL_READ_RETRIES,
  MAX_RETRIES_PER_EVENT,
  operationRetriesAttribute,
  refusedBy,
  type RetryCharge,
  type RetryGrant,
  type ClaimRequest,
  type ClaimResult,
  type EventWork,
  type FinishedStatus,
  type WorkLedger,
} from '../../lib/state/work-ledger';
import type { Hypothesis, IncidentContext } from '../../lib/triage/types';

/**
 * In-memory ledgers and audit trail with the same conditions as the DynamoDB ones (those are tested against dynalite
 * in test/integration/state-ledgers.test.ts), so the worker's orchestration can be tested fast and deterministically.
 */
export class MemoryWorkLedger implements WorkLedger {
  readonly items = new Map<string, EventWork>();

  async claim({ eventId, leaseMs, now = new Date() }: ClaimRequest): Promise<ClaimResult> {
    const item = this.items.get(eventId) ?? {};
    const status = item.workStatus;
    if (status !== undefined && (FINISHED_STATUSES as readonly string[]).includes(status)) {
      return { claimed: false, reason: 'finished', workStatus: status as FinishedStatus };
    }
    if (status === 'processing' && (item.leaseUntil ?? 0) >= now.getTime()) {
      return { claimed: false, reason: 'leased', leaseUntil: item.leaseUntil ?? 0 };
    }
    const next: EventWork = {
      ...item,
      workStatus: 'processing',
      leaseUntil: now.getTime() + leaseMs,
      attempt: (item.attempt ?? 0) + 1,
      retriesUsed: item.retriesUsed ?? 0,
    };
    this.items.set(eventId, next);
    return { claimed: true, attempt: next.attempt ?? 1, retriesUsed: next.retriesUsed ?? 0, failedCalls: [...(next.failedCalls ?? [])] };
  }

  async finish(eventId: string, attempt: number, status: FinishedStatus, detail: string): Promise<boolean> {
    return this.owned(eventId, attempt, { workStatus: status, finishDetail: detail, leaseUntil: undefined });
  }

  async release(eventId: string, attempt: number): Promise<boolean> {
    return this.owned(eventId, attempt, { workStatus: 'released', leaseUntil: undefined });
  }

  /** The same caps as DynamoWorkLedger's conditional update: all counts move together, or none. */
  async consumeRetry(eventId: string, charge?: RetryCharge): Promise<RetryGrant> {
    const item = this.items.get(eventId) ?? {};
    const attribute = charge === undefined ? undefined : operationRetriesAttribute(charge.operation);
    const spent =
      (item.retriesUsed ?? 0) >= MAX_RETRIES_PER_EVENT ||
      (charge !== undefined && attribute !== undefined && (item[attribute] ?? 0) >= charge.operationMax) ||
      (charge?.optional === true && (item.optionalReadRetries ?? 0) >= MAX_OPTIONAL_READ_RETRIES);
    if (spent) return refusedBy(item, charge);
    const next: EventWork = { ...item, retriesUsed: (item.retriesUsed ?? 0) + 1 };
    if (attribute !== undefined) next[attribute] = (item[attribute] ?? 0) + 1;
    if (charge?.optional === true) next.optionalReadRetries = (item.optionalReadRetries ?? 0) + 1;
    this.items.set(eventId, next);
    return 'granted';
  }

  async claimLastChance(eventId: string, now = new Date()): Promise<boolean> {
    const item = this.items.get(eventId) ?? {};
    if (item.lastChanceAt !== undefined) return false;
    this.items.set(eventId, { ...item, lastChanceAt: now.toISOString() });
    return true;
  }

  async recordFailedCall(eventId: string, operation: string): Promise<void> {
    const item = this.items.get(eventId) ?? {};
    this.items.set(eventId, { ...item, failedCalls: new Set([...(item.failedCalls ?? []), operation]) });
  }

  async markHandedBack(eventId: string, detail: string): Promise<void> {
    this.items.set(eventId, { ...this.items.get(eventId), workStatus: 'handed-back', finishDetail: detail, leaseUntil: undefined });
  }

  async get(eventId: string): Promise<EventWork | undefined> {
    return this.items.get(eventId);
  }

  private owned(eventId: string, attempt: number, update: Partial<EventWork>): boolean {
    const item = this.items.get(eventId);
    if (item?.workStatus !== 'processing' || item.attempt !== attempt) return false;
    this.items.set(eventId, { ...item, ...update });
    return true;
  }
}

export class MemoryIncidentLedger implements IncidentLedger {
  readonly progress = new Map<string, IncidentProgress & { resolvingAt?: string }>();
  readonly noteTokens = new Map<string, { ref: string; noteId?: string }>();

  async get(incidentId: string): Promise<IncidentProgress | undefined> {
    const item = this.progress.get(incidentId);
    return item === undefined ? undefined : { ...item };
  }

  async markAcknowledged(incidentId: string, triggerEventId: string, at: Date): Promise<void> {
    this.set(incidentId, {
      acknowledgedByAgentAt: at.toISOString(),
      triggerEventId,
      finished: false,
      acknowledgementUnconfirmedBy: undefined,
      acknowledgementUnconfirmedAt: undefined,
    });
  }

  async markAcknowledgementUnconfirmed(incidentId: string, triggerEventId: string, at: Date): Promise<void> {
    this.set(incidentId, { acknowledgementUnconfirmedBy: triggerEventId, acknowledgementUnconfirmedAt: at.toISOString(), finished: false });
  }

  async recordDecision(incidentId: string, decision: RecordedDecision, facts: DecisionFacts = {}): Promise<void> {
    this.set(incidentId, { decision, ...facts });
  }

  async beginEscalation(incidentId: string, at: Date, intent?: EscalationIntent): Promise<void> {
    this.set(incidentId, {
      escalatedAt: this.progress.get(incidentId)?.escalatedAt ?? at.toISOString(),
      ...(intent === undefined ? {} : { escalatedFor: intent.triggerEventId, escalationTarget: intent.target }),
    });
  }

  async markLeftWithOnCall(incidentId: string, triggerEventId: string, at: Date): Promise<void> {
    this.set(incidentId, {
      leftWithOnCallAt: this.progress.get(incidentId)?.leftWithOnCallAt ?? at.toISOString(),
      leftWithOnCallFor: triggerEventId,
    });
  }

  async confirmEscalation(incidentId: string, triggerEventId: string): Promise<void> {
    this.set(incidentId, { escalationConfirmedFor: triggerEventId });
  }

  async markFinished(incidentId: string): Promise<void> {
    this.set(incidentId, { finished: true });
  }

  async recordPredictionCheck(incidentId: string, check: PredictionCheck): Promise<void> {
    this.set(incidentId, { predictionCheck: check });
  }

  async beginResolve(incidentId: string): Promise<void> {
    const item = this.progress.get(incidentId);
    if (item?.escalatedAt !== undefined || item?.leftWithOnCallAt !== undefined || item?.handedBackAt !== undefined) {
      throw new ResolveRefusedError(incidentId);
    }
    this.set(incidentId, { resolvingAt: new Date().toISOString() });
  }

  async markResolved(incidentId: string, at: Date): Promise<void> {
    this.set(incidentId, { resolvedAt: at.toISOString(), finished: true });
  }

  async markHandedBack(incidentId: string, reason: string, at: Date): Promise<void> {
    this.set(incidentId, { handedBackAt: at.toISOString(), handbackReason: reason, finished: true });
  }

  async reserveNote(incidentId: string, triggerEventId: string, ref: string): Promise<NoteReservation> {
    const key = `${incidentId}#${triggerEventId}`;
    const token = this.noteTokens.get(key);
    if (token === undefined) {
      this.noteTokens.set(key, { ref });
      return { state: 'reserved' };
    }
    return token.noteId === undefined ? { state: 'unconfirmed' } : { state: 'posted', noteId: token.noteId };
  }

  async recordNote(incidentId: string, triggerEventId: string, noteId: string, recordOnIncident: boolean): Promise<void> {
    const key = `${incidentId}#${triggerEventId}`;
    this.noteTokens.set(key, { ref: this.noteTokens.get(key)?.ref ?? '', noteId });
    if (recordOnIncident) this.set(incidentId, { noteId });
  }

  private set(incidentId: string, update: Partial<IncidentProgress & { resolvingAt: string }>): void {
    this.progress.set(incidentId, { ...(this.progress.get(incidentId) ?? { incidentId }), ...update });
  }
}

export class MemoryAuditTrail implements AuditTrail {
  readonly items: AuditItem[] = [];

  async begin(intent: AuditIntent): Promise<AuditHandle> {
    const at = new Date().toISOString();
    const item: AuditItem = {
      incidentId: intent.incidentId ?? 'none',
      sk: `${at}#${intent.action}#${intent.eventId}#${this.items.length}`,
      day: at.slice(0, 10),
      at,
      env: 'test',
      action: intent.action,
      outcome: 'intent',
      eventId: intent.eventId,
      eventType: intent.eventType,
      detail: intent.detail,
      hypothesisSummary: intent.hypothesisSummary,
      expiresAt: 0,
    };
    this.items.push(item);
    return { incidentId: item.incidentId, sk: item.sk };
  }

  async complete(handle: AuditHandle, completion: AuditCompletion): Promise<void> {
    const item = this.items.find((candidate) => candidate.sk === handle.sk);
    if (item === undefined) throw new Error(`no intent ${handle.sk}`);
    Object.assign(item, { ...completion, requestId: completion.requestId ?? undefined, completedAt: new Date().toISOString() });
  }

  async record(entry: AuditEntry): Promise<void> {
    const at = new Date().toISOString();
    this.items.push({
      incidentId: entry.incidentId ?? 'none',
      sk: `${at}#${entry.action}#${entry.eventId}#${this.items.length}`,
      day: at.slice(0, 10),
      at,
      env: 'test',
      action: entry.action,
      outcome: entry.outcome,
      eventId: entry.eventId,
      eventType: entry.eventType,
      detail: entry.detail,
      decision: entry.decision,
      hypothesisSummary: entry.hypothesisSummary,
      expiresAt: 0,
    });
  }

  of(action: AuditItem['action']): AuditItem[] {
    return this.items.filter((item) => item.action === action);
  }

  async byIncident(incidentId: string): Promise<AuditPage> {
    return { items: this.items.filter((item) => item.incidentId === incidentId) };
  }
}

/** Outcome items kept in memory, append-only like the conditional put of OutcomeStore. */
export class MemoryOutcomeStore implements OutcomeWriter {
  readonly items: (NewOutcome | NewFeedback)[] = [];

  async append(item: NewOutcome | NewFeedback): Promise<boolean> {
    if (this.items.some((existing) => existing.kind === item.kind && existing.eventId === item.eventId)) return false;
    this.items.push(item);
    return true;
  }
}

/** A plain renderer: the real one lives in the triage module; these tests are about when notes are posted. */
export const testNotes: NoteRenderer = {
  hypothesisNote: (hypothesis: Hypothesis, _context: IncidentContext, footer: NoteFooter) =>
    `**${hypothesis.summary}** (${hypothesis.decision})\n\n— ${footer.agentName} (${footer.env}) ref ${footer.ref}`,
  handbackNote: (incidentId: string, reason: string, footer: NoteFooter) => `Handing ${incidentId} back: ${reason}\n\nref ${footer.ref}`,
  dedupRef: (env: string, incidentId: string, triggerEventId: string) => `pda:${env}:${incidentId}:${triggerEventId}`,
  containsRef: (content: string, ref: string) => content.includes(`ref ${ref}`),
};

export class RecordingMetrics {
  readonly values: { name: string; unit: string; value: number }[] = [];
  published = 0;

  addMetric(name: string, unit: 'Count' | 'Milliseconds', value: number): void {
    this.values.push({ name, unit, value });
  }

  publishStoredMetrics(): void {
    this.published += 1;
  }

  hasStoredMetrics(): boolean {
    return this.values.length > 0;
  }

  total(name: string): number {
    return this.values.filter((entry) => entry.name === name).reduce((sum, entry) => sum + entry.value, 0);
  }
}
