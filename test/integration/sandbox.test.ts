import { createHmac } from 'node:crypto';
import { apiKeyAuth, oauthClientCredentialsAuth } from '../../lib/pagerduty/auth';
import { PagerDutyApiError, PagerDutyNetworkError } from '../../lib/pagerduty/errors';
import { createEventsClient } from '../../lib/pagerduty/events-client';
import { createPagerDutyClient } from '../../lib/pagerduty/rest-client';
import type { PagerDutyApi } from '../../lib/pagerduty/types';
import {
  SANDBOX_API_TOKEN,
  SANDBOX_BOT_USER,
  SANDBOX_ESCALATION_POLICY_ID,
  SANDBOX_INTEGRATION_KEY,
  SANDBOX_PRIMARY_USER,
  SANDBOX_SECONDARY_USER,
  SANDBOX_SERVICE_ID,
  startSandbox,
  type Sandbox,
} from '../../local/sandbox';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

const TARGET_SECRET = 'target-signing-secret';
const hmac = (secret: string, body: string) => `v1=${createHmac('sha256', secret).update(body).digest('hex')}`;
const parse = (body: string) =>
  JSON.parse(body) as { event: { id: string; event_type: string; agent: { id: string } | null; data: { id: string; status?: string } } };

describe('PagerDuty sandbox through the REST client', () => {
  let sandbox: Sandbox;
  let receiver: WebhookReceiver;
  let client: PagerDutyApi;

  beforeEach(async () => {
    receiver = await startWebhookReceiver();
    sandbox = await startSandbox({
      webhookTarget: { url: receiver.url, secrets: [TARGET_SECRET], subscriptionId: 'PTARGET' },
      webhookDelivery: { retryBackoffMs: 5 },
      oauthClients: [{ clientId: 'client-1', clientSecret: 'client-secret-1' }],
    });
    client = createPagerDutyClient({ apiUrl: sandbox.apiUrl, auth: apiKeyAuth(SANDBOX_API_TOKEN), fromEmail: SANDBOX_BOT_USER.email });
  });

  afterEach(async () => {
    await sandbox.stop();
    await receiver.stop();
  });

  it('acknowledges as the From user, posts a note, and emits signed webhooks for both, in order, with the bot as agent', async () => {
    const incident = sandbox.triggerIncident({
      serviceId: SANDBOX_SERVICE_ID,
      title: 'Checkout latency',
      alerts: [{ summary: 'p99 > 2s', details: { p99_ms: 2400 } }],
    });
    const acked = await client.acknowledgeIncident(incident.id);
    expect(acked.value.status).toBe('acknowledged');
    expect(acked.value.number).toBe(incident.incident_number);
    expect(acked.value.acknowledgements.map((ack) => ack.acknowledger.id)).toEqual([SANDBOX_BOT_USER.id]);
    const note = await client.createNote(incident.id, 'Hypothesis: a deploy');
    expect(note.value.user.id).toBe(SANDBOX_BOT_USER.id);
    await sandbox.settled();

    const events = receiver.received.map((delivery) => parse(delivery.body).event);
    expect(events.map((event) => event.event_type)).toEqual(['incident.triggered', 'incident.acknowledged', 'incident.annotated']);
    expect(events[0].agent?.id).toBe(SANDBOX_SERVICE_ID);
    expect(events[1].agent?.id).toBe(SANDBOX_BOT_USER.id);
    expect(events[2].agent?.id).toBe(SANDBOX_BOT_USER.id);
    for (const delivery of receiver.received) {
      expect(delivery.headers['x-pagerduty-signature']).toBe(hmac(TARGET_SECRET, delivery.body));
      expect(delivery.headers['x-webhook-subscription']).toBe('PTARGET');
      expect(delivery.headers['content-type']).toBe('application/json');
    }
    expect(new Set(receiver.received.map((delivery) => delivery.headers['x-webhook-id'])).size).toBe(3);
    expect(sandbox.requests({ incidentId: incident.id }).map((entry) => entry.route)).toEqual([
      'PUT /incidents/{id}',
      'POST /incidents/{id}/notes',
    ]);
  });

  it('retries a webhook answered 5xx with the same x-webhook-id, and keeps later events of the incident behind it', async () => {
    receiver.answerWith([503, 500]);
    const incident = sandbox.triggerIncident({ serviceId: SANDBOX_SERVICE_ID, title: 'Disk full' });
    await client.acknowledgeIncident(incident.id);
    await sandbox.settled();
    const ids = receiver.received.map((delivery) => delivery.headers['x-webhook-id']);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[1]).toBe(ids[2]);
    expect(receiver.received.map((delivery) => parse(delivery.body).event.event_type)).toEqual([
      'incident.triggered',
      'incident.triggered',
      'incident.triggered',
      'incident.acknowledged',
    ]);
    expect(sandbox.deliveries({ incidentId: incident.id }).map((record) => record.outcome)).toEqual(['delivered', 'delivered']);
  });

  it('drops a webhook answered 4xx without retry and disables the target after three drops in a row', async () => {
    receiver.answerWith([400, 401, 403]);
    for (const title of ['one', 'two', 'three', 'four']) {
      sandbox.triggerIncident({ serviceId: SANDBOX_SERVICE_ID, title });
      await sandbox.settled();
    }
    expect(receiver.received).toHaveLength(3);
    // Once disabled, new events are not even queued for the target.
    expect(sandbox.deliveries().map((record) => record.outcome)).toEqual(['dropped', 'dropped', 'dropped']);
  });

  it('redelivers an event with the same event id, and delivers a forged body as given', async () => {
    const incident = sandbox.triggerIncident({ serviceId: SANDBOX_SERVICE_ID, title: 'Duplicate me' });
    await sandbox.settled();
    const [first] = sandbox.deliveries({ incidentId: incident.id });
    sandbox.redeliver(first.eventId);
    await sandbox.settled();
    expect(receiver.received.map((delivery) => parse(delivery.body).event.id)).toEqual([first.eventId, first.eventId]);
    expect(receiver.received[0].body).toBe(receiver.received[1].body);
    const status = await sandbox.deliverRaw({ body: '{"event":{}}', signature: 'v1=00' });
    expect(status).toBe(202);
    expect(receiver.received[2].headers['x-pagerduty-signature']).toBe('v1=00');
  });

  it('refuses an incident write without From (400, code kept) and unknown credentials (401)', async () => {
    const incident = sandbox.triggerIncident({ serviceId: SANDBOX_SERVICE_ID, title: 'No From' });
    const response = await fetch(`${sandbox.apiUrl}/incidents/${incident.id}`, {
      method: 'PUT',
      headers: {
        Authorization: `Token token=${SANDBOX_API_TOKEN}`,
        'Content-Type': 'application/json',
        Accept: 'application/vnd.pagerduty+json;version=2',
      },
      body: JSON.stringify({ incident: { type: 'incident_reference', status: 'acknowledged' } }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: number } }).error.code).toBe(2001);
    const stranger = createPagerDutyClient({ apiUrl: sandbox.apiUrl, auth: apiKeyAuth('wrong-key'), fromEmail: SANDBOX_BOT_USER.email });
    await expect(stranger.getIncident(incident.id)).rejects.toMatchObject({ status: 401, code: 2006 });
  });

  it('escalates by reassigning to the policy or by level, pages the on-call users, and reads context', async () => {
    sandbox.seed({
      changeEvents: [{ serviceId: SANDBOX_SERVICE_ID, summary: 'Deploy v42', timestamp: new Date(Date.now() - 60_000).toISOString() }],
    });
    const incident = sandbox.triggerIncident({
      serviceId: SANDBOX_SERVICE_ID,
      title: 'Errors up',
      alerts: [{ summary: 'error rate', details: { rate: 0.3 } }],
    });
    await client.acknowledgeIncident(incident.id);
    const delegated = await client.escalateIncident(incident.id, {
      mode: 'escalation_policy',
      escalationPolicyId: SANDBOX_ESCALATION_POLICY_ID,
    });
    expect(delegated.value.status).toBe('triggered');
    expect(delegated.value.assignments.map((assignment) => assignment.assignee.id)).toEqual([SANDBOX_PRIMARY_USER.id]);
    const leveled = await client.escalateIncident(incident.id, { mode: 'next_level', level: 2 });
    expect(leveled.value.assignments.map((assignment) => assignment.assignee.id)).toEqual([SANDBOX_SECONDARY_USER.id]);
    await expect(client.escalateIncident(incident.id, { mode: 'next_level', level: 9 })).rejects.toMatchObject({ status: 400, code: 1006 });

    expect((await client.listAlerts(incident.id)).value[0].body).toMatchObject({ details: { rate: 0.3 } });
    expect((await client.listRelatedChangeEvents(incident.id)).value.map((change) => change.summary)).toEqual(['Deploy v42']);
    const oncalls = await client.listOncalls([SANDBOX_ESCALATION_POLICY_ID]);
    expect(oncalls.value.map((oncall) => [oncall.escalation_level, oncall.user.id])).toEqual([
      [1, SANDBOX_PRIMARY_USER.id],
      [2, SANDBOX_SECONDARY_USER.id],
    ]);
    expect((await client.findUsersByEmail(SANDBOX_BOT_USER.email.toUpperCase())).value.map((user) => user.id)).toEqual([
      SANDBOX_BOT_USER.id,
    ]);
    await sandbox.settled();
    expect(sandbox.deliveries({ incidentId: incident.id }).map((record) => record.eventType)).toEqual([
      'incident.triggered',
      'incident.acknowledged',
      'incident.delegated',
      'incident.escalated',
    ]);
  });

  it("clears an incident's alerts without resolving it, reopens as a human, and keeps the history of who did what", async () => {
    const incident = sandbox.triggerIncident({
      serviceId: SANDBOX_SERVICE_ID,
      title: 'Replica lag',
      alerts: [{ summary: 'lag > 30s' }, { summary: 'lag > 60s' }],
    });
    expect((await client.listAlerts(incident.id)).value.map((alert) => alert.status)).toEqual(['triggered', 'triggered']);
    sandbox.clearAlerts(incident.id);
    expect((await client.listAlerts(incident.id)).value.map((alert) => alert.status)).toEqual(['resolved', 'resolved']);
    expect((await client.getIncident(incident.id)).value.status).toBe('triggered');

    expect(() => sandbox.reopenAs(incident.id, SANDBOX_PRIMARY_USER.id)).toThrow(/not resolved/);
    await client.acknowledgeIncident(incident.id);
    sandbox.resolveAs(incident.id, SANDBOX_PRIMARY_USER.id);
    const reopened = sandbox.reopenAs(incident.id, SANDBOX_PRIMARY_USER.id);
    expect(reopened.status).toBe('triggered');
    expect(reopened.assignments.map((assignment) => assignment.assignee.id)).toEqual([SANDBOX_PRIMARY_USER.id]);
    await sandbox.settled();

    const history = sandbox.history({ incidentId: incident.id });
    expect(history.map((entry) => [entry.eventType, entry.agentId])).toEqual([
      ['incident.triggered', SANDBOX_SERVICE_ID],
      ['incident.acknowledged', SANDBOX_BOT_USER.id],
      ['incident.resolved', SANDBOX_PRIMARY_USER.id],
      ['incident.reopened', SANDBOX_PRIMARY_USER.id],
    ]);
    // The history is PagerDuty's side of what the webhooks carried: the same event ids, in the same order.
    expect(history.map((entry) => entry.eventId)).toEqual(receiver.received.map((delivery) => parse(delivery.body).event.id));
  });

  it('pages through incident lists newest first and stops at max', async () => {
    const past = Array.from({ length: 130 }, (_, index) => ({
      serviceId: SANDBOX_SERVICE_ID,
      title: `Past ${index}`,
      createdAt: new Date(Date.now() - (index + 1) * 60_000).toISOString(),
    }));
    sandbox.seed({ incidents: past });
    const all = await client.listIncidents({ serviceIds: [SANDBOX_SERVICE_ID], statuses: ['resolved'] });
    expect(all.value).toHaveLength(130);
    expect(all.value[0].title).toBe('Past 0');
    expect(sandbox.requests({ route: 'GET /incidents' })).toHaveLength(2);
    const recent = await client.listIncidents({ serviceIds: [SANDBOX_SERVICE_ID], max: 5 });
    expect(recent.value.map((incident) => incident.title)).toEqual(['Past 0', 'Past 1', 'Past 2', 'Past 3', 'Past 4']);
  });

  it("enforces the rate limit per token with ratelimit headers and PagerDuty's 429 body", async () => {
    await sandbox.stop();
    sandbox = await startSandbox({ rateLimit: { limit: 2, windowMs: 60_000 } });
    client = createPagerDutyClient({ apiUrl: sandbox.apiUrl, auth: apiKeyAuth(SANDBOX_API_TOKEN), fromEmail: SANDBOX_BOT_USER.email });
    const first = await client.listAbilities();
    expect(first.rateLimit).toEqual({ limit: 2, remaining: 1, resetSeconds: 60 });
    await client.listAbilities();
    const error = await client.listAbilities().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PagerDutyApiError);
    expect(error).toMatchObject({
      status: 429,
      code: 2020,
      pagerDutyMessage: 'Rate Limit Exceeded',
      throttled: true,
      rateLimit: { remaining: 0 },
    });
  });

  it('injects scripted faults: 5xx, 429 with reset, dropped connection after applying the write', async () => {
    const incident = sandbox.triggerIncident({ serviceId: SANDBOX_SERVICE_ID, title: 'Faulty' });
    sandbox.faults.script('POST /incidents/{id}/notes', [{ status: 503 }, { status: 429, rateLimitResetSeconds: 7 }, { drop: 'after' }]);
    await expect(client.createNote(incident.id, 'a')).rejects.toMatchObject({ status: 503, retryable: true });
    await expect(client.createNote(incident.id, 'b')).rejects.toMatchObject({ status: 429, rateLimit: { resetSeconds: 7 } });
    await expect(client.createNote(incident.id, 'c')).rejects.toBeInstanceOf(PagerDutyNetworkError);
    expect(sandbox.notes(incident.id).map((note) => note.content)).toEqual(['c']);
    expect((await client.createNote(incident.id, 'd')).status).toBe(200);
    expect(
      sandbox.requests({ incidentId: incident.id, route: 'POST /incidents/{id}/notes' }).map((entry) => [entry.status, entry.fault]),
    ).toEqual([
      [503, true],
      [429, true],
      [0, true],
      [200, false],
    ]);
  });

  it('issues scoped OAuth tokens, refuses calls outside the scopes, and renews a revoked token once', async () => {
    const auth = oauthClientCredentialsAuth({
      credentials: {
        clientId: 'client-1',
        clientSecret: 'client-secret-1',
        subdomain: 'sandbox',
        scopes: 'incidents.read incidents.write',
      },
      region: 'us',
      tokenUrl: sandbox.tokenUrl,
    });
    const oauthClient = createPagerDutyClient({ apiUrl: sandbox.apiUrl, auth, fromEmail: SANDBOX_BOT_USER.email });
    const incident = sandbox.triggerIncident({ serviceId: SANDBOX_SERVICE_ID, title: 'OAuth' });
    expect((await oauthClient.acknowledgeIncident(incident.id)).value.status).toBe('acknowledged');
    await expect(oauthClient.listOncalls([SANDBOX_ESCALATION_POLICY_ID])).rejects.toMatchObject({ status: 403, code: 2010 });
    sandbox.revokeOAuthTokens();
    expect((await oauthClient.getIncident(incident.id)).status).toBe(200);
    expect(sandbox.oauthTokensIssued()).toBe(2);
  });

  it('manages webhook subscriptions: the secret once, ping delivering pagey.ping signed with it, enable, delete', async () => {
    const created = await client.createWebhookSubscription({
      url: receiver.url,
      events: ['incident.triggered'],
      filter: { type: 'service_reference', id: SANDBOX_SERVICE_ID },
    });
    const secret = created.value.delivery_method.secret as string;
    expect(secret.length).toBeGreaterThan(20);
    const listed = await client.listWebhookSubscriptions();
    // The configured target (the local stack's own subscription) is listed first, like any account-wide subscription.
    expect(listed.value.map((item) => [item.id, item.delivery_method.secret])).toEqual([
      ['PTARGET', null],
      [created.value.id, null],
    ]);
    expect((await client.pingWebhookSubscription(created.value.id)).status).toBe(202);
    await sandbox.settled();
    const ping = receiver.received.find((delivery) => delivery.headers['x-webhook-subscription'] === created.value.id);
    expect(ping && parse(ping.body).event.event_type).toBe('pagey.ping');
    expect(ping?.headers['x-pagerduty-signature']).toBe(hmac(secret, ping?.body ?? ''));
    expect((await client.enableWebhookSubscription(created.value.id)).value.delivery_method.temporarily_disabled).toBe(false);
    expect((await client.deleteWebhookSubscription(created.value.id)).status).toBe(204);
    expect((await client.listWebhookSubscriptions()).value.map((item) => item.id)).toEqual(['PTARGET']);
  });

  it('delivers nothing to a subscription created inactive until it is activated, and refuses to change its delivery method', async () => {
    const created = await client.createWebhookSubscription({
      url: receiver.url,
      events: ['incident.triggered'],
      filter: { type: 'service_reference', id: SANDBOX_SERVICE_ID },
      active: false,
    });
    const id = created.value.id;
    expect(created.value.active).toBe(false);
    const fromIt = () => receiver.received.filter((delivery) => delivery.headers['x-webhook-subscription'] === id);
    sandbox.triggerIncident({ serviceId: SANDBOX_SERVICE_ID, title: 'While inactive', urgency: 'high' });
    await sandbox.settled();
    expect(fromIt()).toEqual([]);
    expect((await client.setWebhookSubscriptionActive(id, true)).value.active).toBe(true);
    const incident = sandbox.triggerIncident({ serviceId: SANDBOX_SERVICE_ID, title: 'Once active', urgency: 'high' });
    await sandbox.settled();
    expect(fromIt().map((delivery) => parse(delivery.body).event.data.id)).toEqual([incident.id]);
    const refused = await fetch(`${sandbox.apiUrl}/webhook_subscriptions/${id}`, {
      method: 'PUT',
      headers: {
        authorization: `Token token=${SANDBOX_API_TOKEN}`,
        'content-type': 'application/json',
        accept: 'application/vnd.pagerduty+json;version=2',
      },
      body: JSON.stringify({
        webhook_subscription: { delivery_method: { type: 'http_delivery_method', url: 'https://elsewhere.example' } },
      }),
    });
    expect(refused.status).toBe(400);
    await client.deleteWebhookSubscription(id);
  });

  it('accepts Events API v2 alerts (202) and opens one incident per open dedup key', async () => {
    const events = createEventsClient({ eventsUrl: sandbox.eventsUrl });
    const event = {
      routingKey: SANDBOX_INTEGRATION_KEY,
      action: 'trigger' as const,
      dedupKey: 'pd-agent/dev/health',
      summary: 'pd-agent gave up',
      source: 'pd-agent',
      severity: 'error' as const,
    };
    expect((await events.send(event)).value.dedup_key).toBe('pd-agent/dev/health');
    await events.send(event);
    expect(sandbox.incidents().filter((incident) => incident.incident_key === 'pd-agent/dev/health')).toHaveLength(1);
    await expect(events.send({ ...event, routingKey: 'short' })).rejects.toMatchObject({ status: 400 });
  });

  it('places an incident with a given id through the sandbox-only route, once, on a sandbox service, emitting no webhook', async () => {
    const place = (id: string, incident: unknown) =>
      fetch(`${sandbox.apiUrl}/sandbox/incidents/${id}`, {
        method: 'PUT',
        headers: { authorization: `Token token=${SANDBOX_API_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ incident }),
      });
    const first = await place('PFIXT01', { title: 'Fixture incident', service: { id: 'PNOSUCH' }, urgency: 'low' });
    expect(first.status).toBe(201);
    expect(await first.json()).toMatchObject({
      created: true,
      service_substituted: { requested: 'PNOSUCH', used: SANDBOX_SERVICE_ID },
      incident: { id: 'PFIXT01', title: 'Fixture incident', status: 'triggered', urgency: 'low' },
    });
    const again = await place('PFIXT01', { title: 'Another title', service: { id: SANDBOX_SERVICE_ID } });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ created: false, incident: { title: 'Fixture incident' } });
    expect(sandbox.incidents().filter((incident) => incident.id === 'PFIXT01')).toHaveLength(1);
    expect((await client.getIncident('PFIXT01')).value.service.id).toBe(SANDBOX_SERVICE_ID);
    expect((await client.listAlerts('PFIXT01')).value.map((alert) => alert.summary)).toEqual(['Fixture incident']);
    await sandbox.settled();
    expect(sandbox.history({ incidentId: 'PFIXT01' })).toEqual([]);
    expect(receiver.received).toHaveLength(0);

    const bad = await place('not-an-id!', { service: {} });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { errors: string[] } }).error.errors).toEqual([
      'the incident id must be 1-32 letters and digits',
      'incident.title is required',
      'incident.service.id is required',
    ]);
  });
});
