import { NO_HOLDOUT } from '../support/agent-stack';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SQSClient } from '@aws-sdk/client-sqs';
import { startLocalStack, type LocalStack } from '../../local/local-stack';
import { DEFAULT_SANDBOX_SEED, SANDBOX_BOT_USER, SANDBOX_PRIMARY_USER, SANDBOX_SERVICE_ID, type Sandbox } from '../../local/sandbox';
import { incidentEnvelope } from '../../local/sandbox/webhook-events';
import type { OutcomeReport } from '../../lib/outcomes/outcome-report';
import { EventQueue } from '../../lib/queue/event-queue';
import { QUEUED_EVENT_VERSION } from '../../lib/queue/queued-event';
import { runCliCaptured } from '../support/cli-harness';

/**
 * A responder's `pd-agent: wrong` note whose webhook the worker failed on until it was dead-lettered: the bundled
 * handback function (its real wiring, on dynalite and the sandbox) turns it into the feedback item the worker would
 * have written, and `pd-agent report` counts it.
 */
describe('a dead-lettered feedback note', () => {
  let stack: LocalStack;
  let sandbox: Sandbox;
  let sqs: SQSClient;
  const stateDir = mkdtempSync(join(tmpdir(), 'pd-agent-dlq-feedback-'));
  const previousStateDir = process.env.PD_AGENT_STATE_DIR;

  beforeAll(async () => {
    process.env.PD_AGENT_STATE_DIR = stateDir;
    const agentConfig = JSON.stringify({
      trust: NO_HOLDOUT,
      triage: {
        rules: [
          {
            id: 'checkout-latency',
            match: { title: 'Checkout latency' },
            hypothesis: 'A checkout deploy slowed it',
            confidence: 0.9,
            action: 'hold',
          },
        ],
      },
    });
    stack = await startLocalStack({
      port: 0,
      agentConfig,
      sandboxSeed: {
        ...DEFAULT_SANDBOX_SEED,
        changeEvents: [
          {
            serviceId: SANDBOX_SERVICE_ID,
            summary: 'Deployed checkout v2.3.1',
            timestamp: new Date(Date.now() - 5 * 60_000).toISOString(),
          },
        ],
      },
    });
    sandbox = stack.sandbox as Sandbox;
    sqs = new SQSClient({
      endpoint: stack.aws.sqsEndpoint,
      region: stack.aws.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  }, 90_000);

  afterAll(async () => {
    sqs.destroy();
    await stack.stop();
    if (previousStateDir === undefined) delete process.env.PD_AGENT_STATE_DIR;
    else process.env.PD_AGENT_STATE_DIR = previousStateDir;
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('becomes its feedback item through the handback, and the report counts it', async () => {
    const incident = sandbox.triggerIncident({ serviceId: SANDBOX_SERVICE_ID, title: 'Checkout latency above 2s' });
    await stack.settled({ timeoutMs: 30_000 });
    expect(sandbox.incident(incident.id).status).toBe('acknowledged');
    const before = await runCliCaptured(['report', '--local', '--since', '1h', '--json']);
    expect((JSON.parse(before.stdout) as OutcomeReport).total.incidents).toBe(0);

    // The note's webhook as the sandbox emits it, in the message the ingress queued, moved to the dead-letter queue as
    // SQS's redrive moves it (body and group unchanged) after the worker failed on it every time.
    const content = 'pd-agent: wrong - the cache cluster failed over';
    const envelope = incidentEnvelope(
      {
        eventType: 'incident.annotated',
        incident: sandbox.incident(incident.id),
        agent: { id: SANDBOX_PRIMARY_USER.id, type: 'user_reference', summary: SANDBOX_PRIMARY_USER.name },
        note: {
          id: 'PNOTEDLQ',
          content,
          created_at: new Date().toISOString(),
          user: { id: SANDBOX_PRIMARY_USER.id, type: 'user_reference' },
        },
      },
      new Date().toISOString(),
    );
    await new EventQueue(sqs, stack.aws.deadLetterQueueUrl).send({
      version: QUEUED_EVENT_VERSION,
      eventId: envelope.event.id,
      eventType: 'incident.annotated',
      incidentId: incident.id,
      rawBodyBase64: Buffer.from(JSON.stringify(envelope)).toString('base64'),
      webhookId: null,
      subscriptionId: null,
      receivedAt: new Date().toISOString(),
    });
    await stack.settled({ timeoutMs: 30_000 });

    const audit = await runCliCaptured(['audit', '--local', '--incident', incident.id, '--json']);
    const rows = JSON.parse(audit.stdout) as { action: string; eventId: string; detail: string }[];
    expect(rows.filter((row) => row.eventId === envelope.event.id).map((row) => row.detail)).toEqual(
      expect.arrayContaining([
        'dead-lettered; the agent had finished with the incident, so nothing is silenced',
        `feedback from ${SANDBOX_PRIMARY_USER.name}: contradicted (the cache cluster failed over)`,
      ]),
    );

    const report = await runCliCaptured(['report', '--local', '--since', '1h', '--json']);
    expect(report.code).toBe(0);
    const figures = JSON.parse(report.stdout) as OutcomeReport;
    expect(figures.total).toMatchObject({ incidents: 1, confirmed: 0, contradicted: 1, unknown: 0 });
    expect(figures.byRule.find((row) => row.key === 'checkout-latency')).toMatchObject({ incidents: 1, held: 1, contradictedHolds: 1 });
    // Recording the feedback wrote nothing to PagerDuty: the agent's only note is its triage note.
    expect(sandbox.notes(incident.id).filter((note) => note.user.id === SANDBOX_BOT_USER.id)).toHaveLength(1);
  });
});
