import { parseWebhookEvent } from '../../../lib/webhook/parse-event';
import { fixtureEventId, fixtureNames, loadFixture } from '../../support/webhooks';

const parse = (value: unknown) => parseWebhookEvent(Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)));
const parsedFixture = (name: string) => {
  const result = parseWebhookEvent(loadFixture(name));
  if (!result.ok) throw new Error(`${name} did not parse: ${result.detail}`);
  return result.event;
};

describe('parseWebhookEvent over every fixture', () => {
  it.each(fixtureNames())('parses %s with its event id and type', (name) => {
    const body = loadFixture(name);
    const event = parsedFixture(name);
    const raw = JSON.parse(body.toString('utf8')) as { event: { event_type: string; occurred_at: string } };
    expect(event.eventId).toBe(fixtureEventId(body));
    expect(event.eventType).toBe(raw.event.event_type);
    expect(event.occurredAt).toBe(raw.event.occurred_at);
  });

  it('reads a 2021 trigger that lacks incident_key and created_at, with null priority and no teams', () => {
    expect(parsedFixture('triggered_v3.json')).toEqual({
      eventId: '01BZYIL05THJDFF2Y08X9SVMTU',
      eventType: 'incident.triggered',
      resourceType: 'incident',
      dataType: 'incident',
      occurredAt: expect.any(String),
      agent: { id: 'PJ0LVEB', type: 'user_reference' },
      incidentId: 'PFQZPSY',
      incident: {
        id: 'PFQZPSY',
        number: 9,
        title: 'Test Incident 3',
        status: 'triggered',
        urgency: 'high',
        priorityName: null,
        serviceId: 'PA2P440',
        serviceName: 'pig208',
        escalationPolicyId: 'PY82TC6',
        teamIds: [],
        assigneeIds: ['PJ0LVEB'],
        incidentKey: null,
        htmlUrl: 'https://pig208.pagerduty.com/incidents/PFQZPSY',
      },
    });
  });

  it('reads a 2026 event with incident_key and a priority', () => {
    const event = parsedFixture('priority_updated_v3.json');
    expect(event.incident).toMatchObject({
      id: 'Q3B15VLMF3ASBD',
      number: 5,
      priorityName: 'P2',
      incidentKey: 'd387d7bd2e0a4294a5307339dfe1669a',
      escalationPolicyId: 'P3RAX8S',
      serviceName: 'Default Service',
    });
  });

  it('takes the incident id of a note from data.incident', () => {
    const event = parsedFixture('annotated_v3.json');
    expect(event).toMatchObject({ dataType: 'incident_note', incidentId: 'Q3B15VLMF3ASBD', incident: null });
  });

  it('reads the ping: no agent, no incident', () => {
    expect(parsedFixture('pagey_ping.json')).toMatchObject({
      eventType: 'pagey.ping',
      resourceType: 'pagey',
      dataType: 'ping',
      agent: null,
      incidentId: null,
      incident: null,
    });
  });

  it('reads a resolved incident with no assignees', () => {
    expect(parsedFixture('resolved_v3.json').incident).toMatchObject({ status: 'resolved', assigneeIds: [] });
  });
});

describe('parseWebhookEvent edge cases', () => {
  const envelope = (event: Record<string, unknown>) => ({ event: { id: 'E1', event_type: 'incident.triggered', ...event } });

  it('reads a service event, which has no incident', () => {
    const result = parse(envelope({ event_type: 'service.updated', resource_type: 'service', data: { id: 'PSVC', type: 'service' } }));
    expect(result).toMatchObject({ ok: true, event: { resourceType: 'service', incidentId: null, incident: null } });
  });

  it('derives the resource type from the event type when resource_type is absent', () => {
    expect(parse(envelope({ data: { id: 'P1', type: 'incident' } }))).toMatchObject({ event: { resourceType: 'incident' } });
  });

  it('turns wrong-typed and unknown values into nulls instead of failing', () => {
    const result = parse(
      envelope({
        agent: { id: 7 },
        occurred_at: 12,
        data: {
          id: 'P1',
          type: 'incident',
          number: '10',
          status: 'snoozed',
          urgency: 'critical',
          priority: 'P1',
          service: null,
          teams: [null, { id: 'PT1' }, 'PT2'],
          assignees: 'PU1',
          conference_bridge: null,
          incident_key: '',
        },
      }),
    );
    expect(result).toEqual({
      ok: true,
      event: expect.objectContaining({
        agent: null,
        occurredAt: null,
        incident: expect.objectContaining({
          number: null,
          status: null,
          urgency: null,
          priorityName: null,
          serviceId: null,
          teamIds: ['PT1'],
          assigneeIds: [],
          incidentKey: null,
        }),
      }),
    });
  });

  it('accepts an event without data', () => {
    expect(parse(envelope({}))).toMatchObject({ ok: true, event: { dataType: null, incidentId: null } });
  });

  it.each([
    ['an empty body', '', 'not-json'],
    ['truncated JSON', '{"event":{"id":"E1"', 'not-json'],
    ['a JSON string', '"event"', 'not-an-envelope'],
    ['null', 'null', 'not-an-envelope'],
    ['an array', '[{"event":{}}]', 'not-an-envelope'],
    ['a V2 webhook', '{"messages":[{"event":"incident.trigger"}]}', 'not-an-envelope'],
    ['an event without id', '{"event":{"event_type":"incident.triggered"}}', 'missing-event-id'],
    ['a numeric event id', '{"event":{"id":5,"event_type":"incident.triggered"}}', 'missing-event-id'],
    ['an event without type', '{"event":{"id":"E1"}}', 'missing-event-type'],
    ['an incident without id', '{"event":{"id":"E1","event_type":"incident.triggered","data":{"type":"incident"}}}', 'incident-without-id'],
    ['an event id with spaces', '{"event":{"id":"E 1","event_type":"incident.triggered"}}', 'unusable-id'],
    [
      'an overlong incident id',
      `{"event":{"id":"E1","event_type":"incident.triggered","data":{"type":"incident","id":"${'P'.repeat(200)}"}}}`,
      'unusable-id',
    ],
  ])('fails with a reason for %s', (_what, body, reason) => {
    expect(parse(body)).toEqual({ ok: false, reason, detail: expect.any(String) });
  });

  it('never throws, whatever the bytes', () => {
    for (const bytes of [Buffer.from([0xff, 0xfe, 0x00]), Buffer.from('{"__proto__":{"event":1}}'), Buffer.alloc(0)]) {
      expect(parseWebhookEvent(bytes).ok).toBe(false);
    }
  });
});
