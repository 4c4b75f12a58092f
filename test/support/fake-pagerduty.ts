import { PagerDutyApiError, PagerDutyNetworkError } from '../../lib/pagerduty/errors';
import type {
  Alert,
  AlertsWithIncident,
  ChangeEvent,
  EscalationTarget,
  EventsApi,
  EventsApiEvent,
  Incident,
  Note,
  Oncall,
  PagedResponse,
  PagerDutyApi,
  PagerDutyResponse,
  Reference,
} from '../../lib/pagerduty/types';

/**
 * An in-memory PagerDutyApi for unit tests: incidents, notes, alerts, change events and on-calls, a log of every call,
 * and scripted faults per operation (`fail('createNote', 503)`, `throttle('getIncident', 7)`).
 */
export type Operation = keyof PagerDutyApi | 'sendEvent';

export const BOT = { id: 'PBOT001', type: 'user_reference', summary: 'SRE Agent' };
export const HUMAN = { id: 'PUSR001', type: 'user_reference', summary: 'Ada Oncall' };

const rateLimit = { limit: 960, remaining: 900, resetSeconds: 30 };

/** The fake's lists always fit in one read. */
const readWhole = <T>(response: PagerDutyResponse<T[]>): PagedResponse<T> => ({ ...response, notRead: 0 });

export function makeIncident(overrides: Partial<Incident> = {}): Incident {
  return {
    id: 'PINC001',
    type: 'incident',
    number: 1,
    title: 'High error rate on checkout',
    status: 'triggered',
    urgency: 'high',
    html_url: 'https://sandbox.pagerduty.com/incidents/PINC001',
    created_at: '2026-03-01T10:00:00Z',
    incident_key: null,
    service: { id: 'PSVC001', type: 'service_reference', summary: 'checkout' },
    escalation_policy: { id: 'PEP0001', type: 'escalation_policy_reference', summary: 'checkout on-call' },
    priority: null,
    teams: [],
    assignments: [{ at: '2026-03-01T10:00:00Z', assignee: HUMAN }],
    acknowledgements: [],
    ...overrides,
  };
}

type Fault = (operation: Operation) => Error;

export class FakePagerDuty implements PagerDutyApi {
  readonly incidents = new Map<string, Incident>();
  readonly notes = new Map<string, Note[]>();
  readonly alerts = new Map<string, Alert[]>();
  readonly changeEvents = new Map<string, ChangeEvent[]>();
  oncalls: Oncall[] = [];
  /** Whom an accepted escalation assigns: a person by default; `[BOT]` models a policy whose next level is the agent. */
  escalationPages: Reference[] = [HUMAN];
  readonly calls: { operation: Operation; incidentId?: string; detail?: unknown }[] = [];
  readonly events: EventsApiEvent[] = [];
  private readonly faults = new Map<Operation, Fault[]>();
  private readonly lostAnswers = new Map<Operation, number>();
  private noteSequence = 0;
  /** Runs after a note is stored and before the answer returns: a test can simulate a crash there. */
  afterCreateNote: (() => void) | undefined;
  /** While true, new notes stay out of note lists until `settleNoteLists()`: PagerDuty's list lagging behind a create. */
  lagNoteLists = false;
  private readonly unlistedNotes = new Set<string>();

  constructor(incidents: Incident[] = [makeIncident()]) {
    for (const incident of incidents) this.incidents.set(incident.id, incident);
  }

  count(operation: Operation, incidentId?: string): number {
    return this.calls.filter((call) => call.operation === operation && (incidentId === undefined || call.incidentId === incidentId)).length;
  }

  /** The next `times` calls of `operation` answer `status` (429 carries `ratelimit-reset`). */
  fail(operation: Operation, status: number, times = 1, code: number | null = null): this {
    for (let i = 0; i < times; i += 1) {
      this.push(operation, (op) => new PagerDutyApiError(op, status, code, `fake ${status}`, [], `req-fault-${status}`, rateLimit));
    }
    return this;
  }

  throttle(operation: Operation, resetSeconds: number): this {
    this.push(
      operation,
      (op) => new PagerDutyApiError(op, 429, 2020, 'Rate Limit Exceeded', [], 'req-429', { limit: 960, remaining: 0, resetSeconds }),
    );
    return this;
  }

  drop(operation: Operation, times = 1): this {
    for (let i = 0; i < times; i += 1)
      this.push(operation, (op) => new PagerDutyNetworkError(op, 'connection', new Error('socket hang up')));
    return this;
  }

  /** The next `times` calls of `operation` are applied, then their answer is lost (a timeout): the caller cannot know. */
  loseAnswer(operation: Operation, times = 1): this {
    this.lostAnswers.set(operation, (this.lostAnswers.get(operation) ?? 0) + times);
    return this;
  }

  settleNoteLists(): void {
    this.unlistedNotes.clear();
  }

  incident(id = 'PINC001'): Incident {
    const incident = this.incidents.get(id);
    if (incident === undefined) throw new Error(`fake has no incident ${id}`);
    return incident;
  }

  getIncident(incidentId: string): Promise<PagerDutyResponse<Incident>> {
    return this.answer('getIncident', incidentId, () => structuredClone(this.incident(incidentId)));
  }

  listIncidents(): Promise<PagerDutyResponse<Incident[]>> {
    return this.answer('listIncidents', undefined, () => [...this.incidents.values()].map((incident) => structuredClone(incident)));
  }

  acknowledgeIncident(incidentId: string): Promise<PagerDutyResponse<Incident>> {
    const current = this.incidents.get(incidentId);
    // Like the REST client: PagerDuty's "already acknowledged" (400, 1002) comes back as `alreadyDone`.
    if (current?.status === 'acknowledged') {
      return this.answer('acknowledgeIncident', incidentId, () => structuredClone(current)).then((response) => ({
        ...response,
        status: 400,
        alreadyDone: true,
      }));
    }
    return this.answer('acknowledgeIncident', incidentId, () => {
      const incident = this.incident(incidentId);
      incident.status = 'acknowledged';
      incident.acknowledgements.push({ at: new Date().toISOString(), acknowledger: BOT });
      incident.assignments = [{ at: new Date().toISOString(), assignee: BOT }];
      return structuredClone(incident);
    });
  }

  escalateIncident(incidentId: string, target: EscalationTarget): Promise<PagerDutyResponse<Incident>> {
    return this.answer(
      'escalateIncident',
      incidentId,
      () => {
        const incident = this.incident(incidentId);
        incident.status = 'triggered';
        incident.acknowledgements = [];
        incident.assignments = this.escalationPages.map((assignee) => ({ at: new Date().toISOString(), assignee }));
        return structuredClone(incident);
      },
      target,
    );
  }

  assignIncident(incidentId: string, userIds: string[]): Promise<PagerDutyResponse<Incident>> {
    return this.answer(
      'assignIncident',
      incidentId,
      () => {
        const incident = this.incident(incidentId);
        incident.status = 'triggered';
        incident.acknowledgements = [];
        incident.assignments = userIds.map((id) => ({ at: new Date().toISOString(), assignee: { id, type: 'user_reference' } }));
        return structuredClone(incident);
      },
      userIds,
    );
  }

  resolveIncident(incidentId: string, resolution: string): Promise<PagerDutyResponse<Incident>> {
    return this.answer(
      'resolveIncident',
      incidentId,
      () => {
        const incident = this.incident(incidentId);
        incident.status = 'resolved';
        return structuredClone(incident);
      },
      resolution,
    );
  }

  listNotes(incidentId: string): Promise<PagerDutyResponse<Note[]>> {
    return this.answer('listNotes', incidentId, () =>
      structuredClone((this.notes.get(incidentId) ?? []).filter((note) => !this.unlistedNotes.has(note.id))),
    );
  }

  createNote(incidentId: string, content: string): Promise<PagerDutyResponse<Note>> {
    return this.answer('createNote', incidentId, () => {
      this.noteSequence += 1;
      const note: Note = { id: `PNOTE${this.noteSequence}`, content, created_at: new Date().toISOString(), user: BOT };
      this.notes.set(incidentId, [...(this.notes.get(incidentId) ?? []), note]);
      if (this.lagNoteLists) this.unlistedNotes.add(note.id);
      this.afterCreateNote?.();
      return structuredClone(note);
    });
  }

  listAlerts(incidentId: string): Promise<PagedResponse<Alert>> {
    return this.answer('listAlerts', incidentId, () => structuredClone(this.alerts.get(incidentId) ?? [])).then(readWhole);
  }

  /** Like PagerDuty's `include[]=incidents`: the incident rides along only with an alert to embed it in. */
  listAlertsWithIncident(incidentId: string): Promise<AlertsWithIncident> {
    return this.answer('listAlertsWithIncident', incidentId, () => structuredClone(this.alerts.get(incidentId) ?? []))
      .then(readWhole)
      .then((response) => ({ ...response, incident: response.value.length === 0 ? null : structuredClone(this.incident(incidentId)) }));
  }

  listRelatedChangeEvents(incidentId: string): Promise<PagerDutyResponse<ChangeEvent[]>> {
    return this.answer('listRelatedChangeEvents', incidentId, () => structuredClone(this.changeEvents.get(incidentId) ?? []));
  }

  listOncalls(): Promise<PagedResponse<Oncall>> {
    return this.answer('listOncalls', undefined, () => structuredClone(this.oncalls)).then(readWhole);
  }

  findUsersByEmail(): Promise<PagerDutyResponse<never[]>> {
    return this.answer('findUsersByEmail', undefined, () => []);
  }

  listAbilities(): Promise<PagerDutyResponse<string[]>> {
    return this.answer('listAbilities', undefined, () => []);
  }

  listWebhookSubscriptions(): Promise<PagerDutyResponse<never[]>> {
    return this.answer('listWebhookSubscriptions', undefined, () => []);
  }

  createWebhookSubscription(): Promise<never> {
    return Promise.reject(new Error('the fake does not manage webhook subscriptions'));
  }

  setWebhookSubscriptionActive(): Promise<never> {
    return Promise.reject(new Error('the fake does not manage webhook subscriptions'));
  }

  deleteWebhookSubscription(): Promise<PagerDutyResponse<null>> {
    return this.answer('deleteWebhookSubscription', undefined, () => null);
  }

  enableWebhookSubscription(): Promise<never> {
    return Promise.reject(new Error('the fake does not manage webhook subscriptions'));
  }

  pingWebhookSubscription(): Promise<PagerDutyResponse<null>> {
    return this.answer('pingWebhookSubscription', undefined, () => null);
  }

  readonly eventsApi: EventsApi = {
    send: (event) =>
      this.answer('sendEvent', undefined, () => {
        this.events.push(event);
        return { dedup_key: event.dedupKey };
      }),
  };

  private push(operation: Operation, fault: Fault): void {
    this.faults.set(operation, [...(this.faults.get(operation) ?? []), fault]);
  }

  private async answer<T>(
    operation: Operation,
    incidentId: string | undefined,
    produce: () => T,
    detail?: unknown,
  ): Promise<PagerDutyResponse<T>> {
    this.calls.push({ operation, incidentId, detail });
    const fault = this.faults.get(operation)?.shift();
    if (fault !== undefined) throw fault(operation);
    const value = produce();
    const lost = this.lostAnswers.get(operation) ?? 0;
    if (lost > 0) {
      this.lostAnswers.set(operation, lost - 1);
      throw new PagerDutyNetworkError(operation, 'timeout', new Error('no answer within 5000 ms'));
    }
    return { value, status: 200, requestId: `req-${this.calls.length}`, rateLimit, durationMs: 1 };
  }
}
