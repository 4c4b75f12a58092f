import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoRequestQuota } from '../../lib/requests/request-quota';
import { SANDBOX_BOT_USER, SANDBOX_PRIMARY_USER, SANDBOX_SERVICE_ID } from '../../local/sandbox';
import { settle, startAgentStack, type AgentStack } from '../support/agent-stack';

/** `pd-agent:` requests through the real local stack: the sandbox's humans write the notes, its webhooks carry them. */
jest.setTimeout(90_000);

let stack: AgentStack;

beforeAll(async () => {
  stack = await startAgentStack({ agentEnv: 'req', config: { requests: { maxAnswers: 20, windowMinutes: 10 } } });
});

afterAll(async () => {
  await stack.stop();
});

const VERBS = ['help', 'why', 'recheck', 'changes 6h', 'logs 30m', 'metric', 'stop'];
const answersIn = (incidentId: string): string[] =>
  stack.sandbox
    .notes(incidentId)
    .filter((note) => note.user.id === SANDBOX_BOT_USER.id && / answers /.test(note.content.split('\n')[0] ?? ''))
    .map((note) => note.content);
const writesOf = (incidentId: string): string[] =>
  stack.sandbox
    .requests({ incidentId })
    .filter((entry) => entry.method !== 'GET' && entry.route !== 'POST /incidents/{id}/notes')
    .map((entry) => entry.route);

describe('requests in the timeline against the sandbox', () => {
  it('answers each verb once, also when its webhooks are delivered again, and changes nothing else', async () => {
    const incident = stack.sandbox.triggerIncident({ serviceId: SANDBOX_SERVICE_ID, title: 'Checkout errors above 5%' });
    await settle(stack);
    const writesAfterTriage = writesOf(incident.id);

    for (const verb of VERBS) stack.sandbox.addNoteAs(incident.id, SANDBOX_PRIMARY_USER.id, `pd-agent: ${verb}`);
    await settle(stack);
    for (const delivery of stack.sandbox.deliveries({ incidentId: incident.id, eventType: 'incident.annotated' })) {
      stack.sandbox.redeliver(delivery.eventId, { sameWebhookId: true });
      stack.sandbox.redeliver(delivery.eventId);
    }
    await settle(stack);

    const answers = answersIn(incident.id);
    expect(answers).toHaveLength(VERBS.length);
    for (const verb of VERBS)
      expect(answers.filter((answer) => answer.includes(`answers pd-agent: ${verb.split(' ')[0]}`))).toHaveLength(1);
    for (const line of answers.flatMap((answer) => answer.split('\n'))) expect(line.length).toBeLessThanOrEqual(300);
    // Requests only read: no acknowledgement, escalation, assignment or resolve beyond what triage did.
    expect(writesOf(incident.id)).toEqual(writesAfterTriage);
  });

  it('answers a malformed request with one clear line and leaves feedback and plain notes unanswered', async () => {
    const incident = stack.sandbox.triggerIncident({ serviceId: SANDBOX_SERVICE_ID, title: 'Checkout latency above 2s' });
    await settle(stack);
    stack.sandbox.addNoteAs(incident.id, SANDBOX_PRIMARY_USER.id, 'pd-agent: changes 48h');
    stack.sandbox.addNoteAs(incident.id, SANDBOX_PRIMARY_USER.id, 'pd-agent: right');
    stack.sandbox.addNoteAs(incident.id, SANDBOX_PRIMARY_USER.id, 'looking at the database');
    await settle(stack);
    const answers = answersIn(incident.id);
    expect(answers).toHaveLength(1);
    expect(answers[0]?.split('\n')[1]).toMatch(
      /^Not understood: a window is at most 24h\. It understands pd-agent: recheck \| changes \[window\]/,
    );
  });

  it('the quota in DynamoDB lets at most maxAnswers requests through per window, and a repeat of one through again', async () => {
    const client = new DynamoDBClient({
      endpoint: stack.aws.dynamodbEndpoint,
      region: stack.aws.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    try {
      const quota = new DynamoRequestQuota(DynamoDBDocumentClient.from(client), stack.aws.stateTable, { maxAnswers: 2, windowMinutes: 10 });
      const at = new Date('2026-03-01T10:41:00Z');
      const admitted = [];
      for (const requestId of ['PN1', 'PN2', 'PN3', 'PN1']) admitted.push(await quota.admit('PQUOTA1', requestId, at));
      expect(admitted).toEqual([true, true, false, true]);
      // The next window starts empty.
      await expect(quota.admit('PQUOTA1', 'PN3', new Date('2026-03-01T10:50:00Z'))).resolves.toBe(true);
    } finally {
      client.destroy();
    }
  });
});
