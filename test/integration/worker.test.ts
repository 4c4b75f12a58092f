import { SANDBOX_BOT_USER, SANDBOX_PRIMARY_USER, SANDBOX_SERVICE_ID } from '../../local/sandbox';
import { ACKNOWLEDGE_FIRST_CONFIG, settle, startAgentStack, type AgentStack } from '../support/agent-stack';

/** Ingress → queue → worker (→ DLQ → handback) with dynalite, local-aws-sqs and the PagerDuty sandbox. */
jest.setTimeout(60_000);

let stack: AgentStack;
let counter = 0;

beforeAll(async () => {
  stack = await startAgentStack({ agentEnv: 'itw', config: ACKNOWLEDGE_FIRST_CONFIG });
});

afterAll(async () => {
  await stack.stop();
});

afterEach(() => {
  stack.sandbox.faults.clear();
  stack.hooks.beforeRecordNote = undefined;
});

const trigger = (title = `Checkout latency ${(counter += 1)}`) => stack.sandbox.triggerIncident({ serviceId: SANDBOX_SERVICE_ID, title });
const writes = (incidentId: string, route: string) =>
  stack.sandbox.requests({ incidentId, route }).filter((entry) => entry.status >= 200 && entry.status < 300);
const botAcks = (incidentId: string) =>
  stack.sandbox.acknowledgements(incidentId).filter((ack) => ack.acknowledger.id === SANDBOX_BOT_USER.id);

describe('worker through ingress and queue against the sandbox', () => {
  it('acknowledges once and posts one note under duplicate deliveries, and does not re-triage its own events', async () => {
    const incident = trigger();
    await settle(stack);
    const triggered = stack.sandbox.deliveries({ incidentId: incident.id, eventType: 'incident.triggered' })[0];
    expect(triggered).toBeDefined();
    stack.sandbox.redeliver(triggered?.eventId);
    stack.sandbox.redeliver(triggered?.eventId, { sameWebhookId: true });
    await settle(stack);

    expect(botAcks(incident.id)).toHaveLength(1);
    expect(stack.sandbox.notes(incident.id)).toHaveLength(1);
    // Its own acknowledgement and note came back as webhooks: recorded, never triaged again.
    const audit = (await stack.audit.byIncident(incident.id, { limit: 200 })).items;
    expect(audit.some((item) => item.detail?.includes('caused by the agent'))).toBe(true);
    expect(audit.filter((item) => item.action === 'note' && item.outcome === 'succeeded')).toHaveLength(1);
    // No rule: escalated to on-call, never resolved.
    expect(stack.sandbox.incident(incident.id).status).not.toBe('resolved');
    expect(writes(incident.id, 'PUT /incidents/{id}').length).toBeGreaterThanOrEqual(2);
  });

  it('honours a 429 by returning the message to the queue for ratelimit-reset seconds', async () => {
    stack.sandbox.faults.script('PUT /incidents/{id}', [
      { status: 429, errorCode: 2020, message: 'Rate Limit Exceeded', rateLimitResetSeconds: 1 },
    ]);
    const incident = trigger();
    await settle(stack);
    const acks = stack.sandbox.requests({ incidentId: incident.id, route: 'PUT /incidents/{id}' });
    expect(acks[0]?.status).toBe(429);
    expect(botAcks(incident.id)).toHaveLength(1);
    expect(stack.sandbox.notes(incident.id)).toHaveLength(1);
    const audit = (await stack.audit.byIncident(incident.id, { limit: 200 })).items;
    expect(audit.some((item) => item.action === 'acknowledge' && item.outcome === 'failed' && item.httpStatus === 429)).toBe(true);
  });

  it('retries 5xx within the budget', async () => {
    stack.sandbox.faults.script('GET /incidents/{id}/alerts', [{ status: 503 }, { status: 502 }]);
    const incident = trigger();
    await settle(stack);
    expect(stack.sandbox.notes(incident.id)).toHaveLength(1);
    const triggered = stack.sandbox.deliveries({ incidentId: incident.id, eventType: 'incident.triggered' })[0];
    expect((await stack.workLedger.get(triggered?.eventId))?.retriesUsed).toBe(2);
  });

  it('leaves one note when the worker dies between posting the note and recording it', async () => {
    let crashes = 1;
    stack.hooks.beforeRecordNote = () => {
      if (crashes-- > 0) throw new Error('simulated crash after the note was posted');
    };
    const incident = trigger();
    await settle(stack);
    expect(stack.sandbox.notes(incident.id)).toHaveLength(1);
    expect(botAcks(incident.id)).toHaveLength(1);
    expect(stack.sandbox.requests({ incidentId: incident.id, route: 'POST /incidents/{id}/notes' })).toHaveLength(1);
  });

  it('hands the incident back when the retry budget runs out', async () => {
    stack.sandbox.faults.script(
      'POST /incidents/{id}/notes',
      Array.from({ length: 10 }, () => ({ status: 500 })),
    );
    const incident = trigger();
    await settle(stack);
    const progress = await stack.incidentLedger.get(incident.id);
    expect(progress).toMatchObject({ handedBackAt: expect.any(String), finished: true });
    expect(stack.sandbox.incident(incident.id).status).toBe('triggered');
    const audit = (await stack.audit.byIncident(incident.id, { limit: 200 })).items;
    expect(audit.some((item) => item.action === 'handback')).toBe(true);
    expect(audit.some((item) => item.action === 'resolve')).toBe(false);
  });

  it('attempts the acknowledgement at most 1 + 3 times when every PagerDuty write fails, however often the event is delivered', async () => {
    const failing = Array.from({ length: 20 }, () => ({ status: 500 }));
    stack.sandbox.faults.script('PUT /incidents/{id}', failing);
    stack.sandbox.faults.script('POST /incidents/{id}/notes', failing);
    const incident = trigger();
    await settle(stack);
    // Its own 3 retries, counted across deliveries: the second delivery stops before any attempt.
    expect(stack.sandbox.requests({ incidentId: incident.id, route: 'PUT /incidents/{id}' })).toHaveLength(4);
    const triggered = stack.sandbox.deliveries({ incidentId: incident.id, eventType: 'incident.triggered' })[0];
    expect(await stack.workLedger.get(triggered?.eventId)).toMatchObject({
      retriesUsed: 3,
      'retries#acknowledge': 3,
      workStatus: 'ignored',
    });
    // Never acknowledged: PagerDuty keeps paging the humans on call.
    expect(stack.sandbox.incident(incident.id).status).toBe('triggered');
  });

  it('hands back an incident whose acknowledgement landed but whose answers were lost until the budget was spent', async () => {
    // The first read (the incident with its alerts) takes its 3 retries, then the acknowledgement's answers are lost
    // until the webhook's 5 are spent.
    stack.sandbox.faults.script(
      'GET /incidents/{id}/alerts',
      Array.from({ length: 3 }, () => ({ status: 500 })),
    );
    stack.sandbox.faults.script('PUT /incidents/{id}', [{ drop: 'after' }, { drop: 'after' }, { drop: 'after' }]);
    const incident = trigger();
    await settle(stack);
    const triggered = stack.sandbox.deliveries({ incidentId: incident.id, eventType: 'incident.triggered' })[0];
    expect(await stack.workLedger.get(triggered?.eventId)).toMatchObject({ retriesUsed: 5, workStatus: 'handed-back' });
    const byAgent = stack.sandbox
      .history({ incidentId: incident.id })
      .filter((change) => change.agentId === SANDBOX_BOT_USER.id)
      .map((change) => change.eventType);
    // Its acknowledgement, then the handback: reassigned to the escalation policy, and the handback note.
    expect(byAgent).toEqual(['incident.acknowledged', 'incident.delegated', 'incident.annotated']);
    expect(stack.sandbox.incident(incident.id).status).toBe('triggered');
    expect(await stack.incidentLedger.get(incident.id)).toMatchObject({ handedBackAt: expect.any(String), finished: true });
    const audit = (await stack.audit.byIncident(incident.id, { limit: 200 })).items;
    expect(audit.some((item) => item.action === 'handback')).toBe(true);
    expect(audit.some((item) => item.detail?.startsWith('gave up') === true)).toBe(false);
  });

  it("does not take over a human's acknowledgement, and leaves a resolved incident alone", async () => {
    const humanAcked = trigger();
    stack.sandbox.acknowledgeAs(humanAcked.id, SANDBOX_PRIMARY_USER.id);
    const resolved = trigger();
    stack.sandbox.resolveAs(resolved.id, SANDBOX_PRIMARY_USER.id);
    await settle(stack);

    expect(botAcks(humanAcked.id)).toHaveLength(0);
    expect(stack.sandbox.incident(humanAcked.id).status).toBe('acknowledged');
    expect(stack.sandbox.notes(humanAcked.id)).toHaveLength(1);
    expect(botAcks(resolved.id)).toHaveLength(0);
    expect(stack.sandbox.notes(resolved.id)).toHaveLength(0);
  });
});
