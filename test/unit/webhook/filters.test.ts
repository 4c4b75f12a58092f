import { parseAgentConfig, type EventFilters } from '../../../lib/config/agent-config';
import { evaluateFilters, eventTypeMatches } from '../../../lib/webhook/filters';
import type { IncidentSummary, WebhookEvent } from '../../../lib/webhook/webhook-event';

const defaults = parseAgentConfig(undefined).filters;
const filters = (overrides: Partial<EventFilters>): EventFilters => ({ ...defaults, ...overrides });

const incident = (overrides: Partial<IncidentSummary> = {}): IncidentSummary => ({
  id: 'PINC1',
  number: 1,
  title: 'Disk full',
  status: 'triggered',
  urgency: 'high',
  priorityName: 'P2',
  serviceId: 'PSVC1',
  serviceName: 'checkout',
  escalationPolicyId: 'PEP1',
  teamIds: ['PTEAM1'],
  assigneeIds: [],
  incidentKey: null,
  htmlUrl: null,
  ...overrides,
});

const event = (overrides: Partial<WebhookEvent> = {}, summary: Partial<IncidentSummary> = {}): WebhookEvent => ({
  eventId: 'E1',
  eventType: 'incident.triggered',
  resourceType: 'incident',
  dataType: 'incident',
  occurredAt: null,
  agent: null,
  incidentId: 'PINC1',
  incident: incident(summary),
  ...overrides,
});

const noteEvent = event({ eventType: 'incident.annotated', dataType: 'incident_note', incident: null });

describe('evaluateFilters', () => {
  it('takes on every incident event with the default filters', () => {
    expect(evaluateFilters(event({}, { priorityName: null, teamIds: [], urgency: 'low' }), defaults)).toEqual({ pass: true });
  });

  describe('eventTypes', () => {
    it('matches wildcards and exact types', () => {
      expect(eventTypeMatches('incident.triggered', 'incident.*')).toBe(true);
      expect(eventTypeMatches('incident.responder.added', 'incident.*')).toBe(true);
      expect(eventTypeMatches('incidents.triggered', 'incident.*')).toBe(false);
      expect(eventTypeMatches('service.updated', 'incident.*')).toBe(false);
      expect(eventTypeMatches('incident.triggered', 'incident.triggered')).toBe(true);
      expect(eventTypeMatches('incident.triggered', 'incident.trigger')).toBe(false);
      expect(eventTypeMatches('service.updated', '*')).toBe(true);
    });

    it('drops types not listed, saying why', () => {
      const verdict = evaluateFilters(event({ eventType: 'incident.resolved' }), filters({ eventTypes: ['incident.triggered'] }));
      expect(verdict).toEqual({ pass: false, reason: expect.stringContaining('incident.resolved') });
      expect(evaluateFilters(event({ eventType: 'service.updated', incident: null }), defaults).pass).toBe(false);
    });
  });

  describe('services', () => {
    it('passes listed services and drops others', () => {
      expect(evaluateFilters(event(), filters({ services: ['PSVC1'] })).pass).toBe(true);
      expect(evaluateFilters(event(), filters({ services: ['PSVC2'] }))).toEqual({
        pass: false,
        reason: expect.stringContaining('PSVC1'),
      });
    });

    it('drops an incident that names no service when services are set', () => {
      expect(evaluateFilters(event({}, { serviceId: null }), filters({ services: ['PSVC1'] })).pass).toBe(false);
    });
  });

  describe('teams', () => {
    it('passes when any team is listed', () => {
      expect(evaluateFilters(event({}, { teamIds: ['PX', 'PTEAM1'] }), filters({ teams: ['PTEAM1'] })).pass).toBe(true);
      expect(evaluateFilters(event({}, { teamIds: ['PX'] }), filters({ teams: ['PTEAM1'] })).pass).toBe(false);
    });

    it('lets withoutTeams decide for teams: [] (default drop)', () => {
      const teamless = event({}, { teamIds: [] });
      expect(evaluateFilters(teamless, filters({ teams: ['PTEAM1'] })).pass).toBe(false);
      expect(evaluateFilters(teamless, filters({ teams: ['PTEAM1'], withoutTeams: 'pass' })).pass).toBe(true);
      expect(evaluateFilters(teamless, defaults).pass).toBe(true);
    });
  });

  describe('minPriority', () => {
    it('passes priorities at or above the minimum by rank', () => {
      const p3 = filters({ minPriority: 'P3' });
      expect(evaluateFilters(event({}, { priorityName: 'P1' }), p3).pass).toBe(true);
      expect(evaluateFilters(event({}, { priorityName: 'P3' }), p3).pass).toBe(true);
      expect(evaluateFilters(event({}, { priorityName: 'P4' }), p3)).toEqual({
        pass: false,
        reason: expect.stringContaining('below filters.minPriority P3'),
      });
    });

    it("uses the account's own ranks", () => {
      const ranks = filters({ priorityRanks: ['SEV1', 'SEV2', 'SEV3'], minPriority: 'SEV2' });
      expect(evaluateFilters(event({}, { priorityName: 'SEV1' }), ranks).pass).toBe(true);
      expect(evaluateFilters(event({}, { priorityName: 'SEV3' }), ranks).pass).toBe(false);
    });

    it('lets withoutPriority decide for priority: null and for names outside priorityRanks (default drop)', () => {
      for (const priorityName of [null, 'Sev-X']) {
        const unranked = event({}, { priorityName });
        expect(evaluateFilters(unranked, filters({ minPriority: 'P3' })).pass).toBe(false);
        expect(evaluateFilters(unranked, filters({ minPriority: 'P3', withoutPriority: 'pass' })).pass).toBe(true);
      }
      expect(evaluateFilters(event({}, { priorityName: null }), defaults).pass).toBe(true);
    });
  });

  describe('minUrgency', () => {
    it('high takes only high-urgency incidents; low takes both', () => {
      expect(evaluateFilters(event({}, { urgency: 'low' }), filters({ minUrgency: 'high' })).pass).toBe(false);
      expect(evaluateFilters(event({}, { urgency: null }), filters({ minUrgency: 'high' })).pass).toBe(false);
      expect(evaluateFilters(event({}, { urgency: 'high' }), filters({ minUrgency: 'high' })).pass).toBe(true);
      expect(evaluateFilters(event({}, { urgency: 'low' }), filters({ minUrgency: 'low' })).pass).toBe(true);
    });
  });

  it('passes an event carrying only an incident reference through service, team, priority and urgency filters', () => {
    const strict = filters({ services: ['POTHER'], teams: ['POTHER'], minPriority: 'P1', minUrgency: 'high' });
    expect(evaluateFilters(noteEvent, strict)).toEqual({ pass: true });
    expect(evaluateFilters(noteEvent, filters({ eventTypes: ['incident.triggered'] })).pass).toBe(false);
  });
});
