import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SANDBOX_BOT_USER, SANDBOX_PRIMARY_USER, SANDBOX_SERVICE_ID } from '../../local/sandbox';
import { QUEUED_MESSAGE_VERSION, encodeScheduledCheck, type ScheduledCheck } from '../../lib/queue/queued-event';
import { checkIdFor } from '../../lib/scheduling/check-scheduler';
import { settle, startAgentStack, type AgentStack } from '../support/agent-stack';

/**
 * Holds that end and follow-ups through the whole local stack: the worker schedules on the delay queue (local-aws-sqs,
 * real DelaySeconds), the relay puts due checks in the incident's FIFO group, the worker acts on the sandbox. Delays
 * are scaled by 0.005 (a 2-minute hold ends after 0.6 s).
 */
jest.setTimeout(60_000);

const HOLD_RULE = {
  triage: {
    holdMinutes: 2,
    rules: [{ id: 'db-host', match: { alertFields: { host: '^db-' } }, hypothesis: 'database host', confidence: 0.9, action: 'hold' }],
  },
  followUp: { afterMinutes: 1, max: 1 },
};

let stack: AgentStack;
let counter = 0;

beforeAll(async () => {
  stack = await startAgentStack({ agentEnv: 'itsc', config: HOLD_RULE, schedulerTimeScale: 0.005 });
});

afterAll(async () => {
  await stack.stop();
});

const agentNotes = (incidentId: string) => stack.sandbox.notes(incidentId).filter((note) => note.user.id === SANDBOX_BOT_USER.id);
const auditOf = async (incidentId: string) => (await stack.audit.byIncident(incidentId, { limit: 200 })).items;

/** Lets the stack run (the checks come due in their time) until `done` holds, or fails with what it saw. */
async function until(done: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`still waiting for ${what}`);
    await settle(stack);
  }
}

const followUpDone = (incidentId: string) => async () =>
  (await auditOf(incidentId)).some((item) => item.eventType === 'pd-agent.check.follow-up' && item.action !== 'note');

describe('scheduled checks through the local stack', () => {
  it('escalates a hold that did not clear after holdMinutes with one note, once under a duplicate check; a quiet follow-up posts nothing', async () => {
    const incident = stack.sandbox.triggerIncident({
      serviceId: SANDBOX_SERVICE_ID,
      title: `Replica lag ${(counter += 1)}`,
      alerts: [{ summary: 'replica lag', severity: 'critical', details: { host: 'db-1' } }],
    });
    await until(async () => agentNotes(incident.id).length >= 2, 'the hold-expiry note');
    await until(followUpDone(incident.id), 'the follow-up');

    const notes = agentNotes(incident.id);
    expect(notes).toHaveLength(2);
    // The first note states its prediction on one labelled line (whatever the renderer's emphasis).
    expect(notes[0]?.content).toMatch(/Prediction:\W*Unless someone acts, the alert is still triggered at/);
    expect(notes[1]?.content).toMatch(/held this incident for 2 min and it has not cleared .*: on-call takes it now/);
    const current = stack.sandbox.incident(incident.id);
    expect(current.assignments.some((assignment) => assignment.assignee.id !== SANDBOX_BOT_USER.id)).toBe(true);
    const audit = await auditOf(incident.id);
    expect(audit.some((item) => /follow-up 1: nothing material changed/.test(item.detail ?? ''))).toBe(true);

    // The same check delivered again (a second copy past SQS's deduplication window): claimed once, nothing more.
    const triggered = stack.sandbox.deliveries({ incidentId: incident.id, eventType: 'incident.triggered' })[0];
    const request = { check: 'hold-expiry' as const, incidentId: incident.id, triggerEventId: triggered?.eventId ?? '', sequence: 1 };
    const duplicate: ScheduledCheck = {
      version: QUEUED_MESSAGE_VERSION,
      kind: 'scheduled-check',
      ...request,
      checkId: checkIdFor(request),
      dueAt: new Date().toISOString(),
      scheduledAt: new Date().toISOString(),
    };
    const sqs = new SQSClient({
      endpoint: stack.aws.sqsEndpoint,
      region: stack.aws.region,
      credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    });
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.aws.queueUrl,
        MessageBody: encodeScheduledCheck(duplicate),
        MessageGroupId: incident.id,
        MessageDeduplicationId: `${duplicate.checkId}.again`,
      }),
    );
    sqs.destroy();
    await settle(stack);
    expect(agentNotes(incident.id)).toHaveLength(2);
    const escalations = (await auditOf(incident.id)).filter((item) => item.action === 'escalate' && item.outcome === 'succeeded');
    expect(escalations.filter((item) => item.eventId === duplicate.checkId)).toHaveLength(1);
  });

  it('posts no follow-up once the incident is resolved', async () => {
    const incident = stack.sandbox.triggerIncident({ serviceId: SANDBOX_SERVICE_ID, title: `Checkout errors ${(counter += 1)}` });
    await settle(stack);
    stack.sandbox.resolveAs(incident.id, SANDBOX_PRIMARY_USER.id);
    await until(followUpDone(incident.id), 'the follow-up');
    expect(agentNotes(incident.id)).toHaveLength(1);
    expect((await auditOf(incident.id)).some((item) => /follow-up: the incident is resolved/.test(item.detail ?? ''))).toBe(true);
  });

  it('follows up when every alert cleared, saying so and whether the prediction held', async () => {
    const incident = stack.sandbox.triggerIncident({ serviceId: SANDBOX_SERVICE_ID, title: `Checkout latency ${(counter += 1)}` });
    await settle(stack);
    stack.sandbox.clearAlerts(incident.id);
    await until(async () => agentNotes(incident.id).length >= 2, 'the follow-up note');
    const followUp = agentNotes(incident.id)[1]?.content ?? '';
    expect(followUp).toContain('Every alert of this incident has cleared.');
    expect(followUp).toMatch(
      /Prediction: Unless someone acts, the alert is still triggered at .*\nChecked: The prediction did not hold: the alert cleared\./,
    );
    expect((await stack.incidentLedger.get(incident.id))?.predictionCheck?.status).toBe('failed');
  });
});
