import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { NO_FAULT, SANDBOX_BOT_USER, SANDBOX_PRIMARY_USER, SANDBOX_SERVICE_ID, type Sandbox } from '../../local/sandbox';
import { MAX_RETRIES_PER_EVENT } from '../../lib/state/work-ledger';
import { FaultDice, faultSeed } from '../support/fault-injection/dice';
import {
  AGENT_FIRST_SERVICE_ID,
  RECOVERED_TITLE,
  SECOND_SERVICE_ID,
  startFaultStack,
  type FaultRates,
  type FaultStack,
  type IngressAnswer,
} from '../support/fault-injection/fault-stack';
import { captureOutput, findCanaries, type OutputCapture } from '../support/fault-injection/output-capture';
import {
  agentNotes,
  judge,
  judgeFeedback,
  type FeedbackVerdict,
  type TriggeredIncident,
  type Verdict,
} from '../support/fault-injection/verdict';

/**
 * The promises under fire (docs/guarantees.md "Guarantees and how they are tested"): 200 incidents through the whole pipeline,
 * every webhook delivered 1-3 times (PagerDuty's own retries apart), some out of order, the second service's through a
 * second subscription with its own secret, while PagerDuty, DynamoDB and SQS fail now and then and the worker is
 * killed at random points of its steps. Every secret is a canary that must appear nowhere. `FAULT_SEED=<n>` replays.
 * A third of the incidents are on a policy that pages the agent first (people at the levels above), the others on
 * policies that page people first; none may end paging only the agent.
 * A tenth of the incidents have cleared alerts and a rule that lets the agent resolve them; a fifth of those are first
 * handed back (the worker dies on them), then resolved and reopened by a human: the agent triages them again with a
 * rule that would resolve them, and must not, because it escalated them. A fifth of the others have an acknowledgement
 * or an escalation that PagerDuty applies while the answer is lost, after 0 to 6 failed reads of the incident (at 5 and
 * more the retry budget is spent before the mutation): the agent must find out, never leave one silenced.
 */
const INCIDENTS = 200;
const RATES: FaultRates = {
  dynamoThrottle: 0.02,
  sqsRefusal: 0.05,
  crashAfterCall: 0.006,
  sandbox: { serverError: 0.02, throttled: 0.01, slow: 0.02, dropBefore: 0.01, dropAfter: 0.01 },
};
const REPLAY_ATTEMPTS = 8;
/** Share of the other incidents the worker can never finish (each one's kills take down whole batches: keep it small). */
const DOOMED_SHARE = 0.02;
/** Every n-th cleared incident the worker can never finish at first, so that it is handed back before the reopen. */
const CLEARED_HANDED_BACK_EVERY = 5;
/** Share of the other incidents whose acknowledgement or escalation is applied with its answer lost. */
const LOST_ANSWER_SHARE = 0.2;

jest.setTimeout(420_000);

const titleFor = (dice: FaultDice, index: number): string => {
  const kind = dice.fraction(`title|${index}`);
  if (kind < 0.3) return `disk usage high on db-${index}`;
  if (kind < 0.45) return `health check flapping on web-${index}`;
  if (kind < 0.55) return `${RECOVERED_TITLE} on cache-${index}`;
  // A rule may hold payment errors (on a database host's alert), so the agent acknowledges them, then escalates.
  if (kind < 0.75) return `payment errors high (${index})`;
  // No rule could keep checkout latency: the agent leaves it with the people PagerDuty pages, and notes it.
  return `checkout latency high (${index})`;
};

/**
 * Whether this incident gets a lost answer, on which call (escalations only where triage escalates), and after how many
 * failed reads: each call takes 0, 1, … 6 failed reads in turn, so every point of the budget is covered.
 */
function lostAnswerFor(
  dice: FaultDice,
  index: number,
  title: string,
  taken: Record<'acknowledge' | 'escalate', number>,
): TriggeredIncident['lostAnswer'] {
  // Checkout latency is never acknowledged nor escalated (on-call already has it): no PUT to lose an answer of.
  if (title.startsWith('checkout latency') || dice.fraction(`lost|${index}`) >= LOST_ANSWER_SHARE) return undefined;
  // Payment errors are acknowledged, then escalated (the second PUT); the others are acknowledged and kept.
  const call = title.startsWith('payment errors') && taken.escalate <= taken.acknowledge ? 'escalate' : 'acknowledge';
  const readFailures = taken[call] % (MAX_RETRIES_PER_EVENT + 2);
  taken[call] += 1;
  return { call, readFailures, putsBefore: call === 'escalate' ? 1 : 0 };
}

/** Failed reads of the incident (with its alerts) first, then the PUT after `putsBefore` others applied and its answer lost. */
function scriptLostAnswer(sandbox: Sandbox, incidentId: string, lost: NonNullable<TriggeredIncident['lostAnswer']>): void {
  if (lost.readFailures > 0)
    sandbox.faults.script(
      'GET /incidents/{id}/alerts',
      Array.from({ length: lost.readFailures }, () => ({ status: 500 })),
      incidentId,
    );
  sandbox.faults.script('PUT /incidents/{id}', [...Array.from({ length: lost.putsBefore }, () => NO_FAULT), { drop: 'after' }], incidentId);
}

/** PagerDuty's own retry of a delivery answered non-2xx, bounded like the sandbox's. */
async function deliverAgain(url: string, answer: IngressAnswer): Promise<number> {
  let status = 0;
  for (let attempt = 1; attempt <= REPLAY_ATTEMPTS; attempt += 1) {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'PagerDuty-Webhook/V3.0',
        'x-webhook-id': answer.webhookId ?? '',
        'x-webhook-subscription': answer.subscriptionId ?? '',
        'x-pagerduty-signature': answer.signature ?? '',
      },
      body: Buffer.from(answer.body, answer.isBase64Encoded ? 'base64' : 'utf8'),
    });
    await response.arrayBuffer();
    status = response.status;
    if (status < 300) return status;
    await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
  }
  return status;
}

describe('fault injection: the whole pipeline keeps its promises under faults', () => {
  const seed = faultSeed();
  const dice = new FaultDice(seed);
  const canaries = {
    apiToken: `canary-api-token-${randomBytes(12).toString('hex')}`,
    eventsRoutingKey: `canaryrk${randomBytes(12).toString('hex')}`,
  };
  let stack: FaultStack;
  let output: OutputCapture;
  let verdict: Verdict;
  let feedback: FeedbackVerdict;
  let leaks: string[];
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
    output = captureOutput();
    const started = Date.now();
    try {
      const doomed = new Set<string>();
      stack = await startFaultStack({
        dice,
        rates: RATES,
        canaries,
        doomedIncidents: doomed,
        workerTimeoutMs: 5000,
        visibilityTimeoutSeconds: 6,
        maxReceiveCount: 5,
      });
      const { sandbox, runner } = stack;
      const incidents: TriggeredIncident[] = [];
      const lostAnswersTaken = { acknowledge: 0, escalate: 0 };
      let clearedTriageable = 0;
      for (let index = 0; index < INCIDENTS; index += 1) {
        // Both policy shapes: people first (the sandbox's services) and agent first (a third of the incidents).
        const serviceDraw = dice.fraction(`service|${index}`);
        const serviceId = serviceDraw < 0.2 ? SECOND_SERVICE_ID : serviceDraw < 0.55 ? AGENT_FIRST_SERVICE_ID : SANDBOX_SERVICE_ID;
        const title = titleFor(dice, index);
        const incident = sandbox.triggerIncident({ serviceId, title });
        const alertsCleared = title.startsWith(RECOVERED_TITLE);
        // Cleared before the agent can read them: the trigger's webhook is delivered asynchronously.
        if (alertsCleared) sandbox.clearAlerts(incident.id);
        const humanFirst = dice.fraction(`human|${index}`) < 0.05;
        const isDoomed = humanFirst
          ? false
          : alertsCleared
            ? clearedTriageable++ % CLEARED_HANDED_BACK_EVERY === 0
            : dice.fraction(`doomed|${index}`) < DOOMED_SHARE;
        if (humanFirst) sandbox.acknowledgeAs(incident.id, SANDBOX_PRIMARY_USER.id);
        if (isDoomed) doomed.add(incident.id);
        const lostAnswer = humanFirst || isDoomed || alertsCleared ? undefined : lostAnswerFor(dice, index, title, lostAnswersTaken);
        if (lostAnswer !== undefined) scriptLostAnswer(sandbox, incident.id, lostAnswer);
        incidents.push({ id: incident.id, humanFirst, doomed: isDoomed, alertsCleared, lostAnswer });
        // At-least-once: some triggers are delivered again, after later events of other incidents (out of order).
        if (index >= 10 && dice.fraction(`redeliver|${index}`) < 0.4) {
          const earlier = incidents[index - dice.between(`redeliver-which|${index}`, 1, 10)];
          const trigger = sandbox.deliveries({ incidentId: earlier.id, eventType: 'incident.triggered' })[0];
          if (trigger !== undefined) sandbox.redeliver(trigger.eventId);
        }
      }
      await stack.quiesce(240_000);
      const firstQuiet = Date.now();

      // What the agent handed back with its alerts cleared, a human resolves and reopens (the worker no longer dies on
      // it): the agent triages the reopened incident, its rule would resolve it, and the agent escalated it before.
      for (const [index, incident] of incidents.entries()) {
        const escalatedByAgent = sandbox
          .history({ incidentId: incident.id })
          .some(
            (change) =>
              change.agentId === SANDBOX_BOT_USER.id &&
              (change.eventType === 'incident.escalated' || change.eventType === 'incident.delegated'),
          );
        if (!incident.alertsCleared || !escalatedByAgent || sandbox.incident(incident.id).status === 'resolved') continue;
        doomed.delete(incident.id);
        sandbox.resolveAs(incident.id, SANDBOX_PRIMARY_USER.id);
        sandbox.reopenAs(incident.id, SANDBOX_PRIMARY_USER.id);
        const reopen = sandbox.deliveries({ incidentId: incident.id, eventType: 'incident.reopened' })[0];
        if (reopen !== undefined && dice.fraction(`redeliver-reopen|${index}`) < 0.4) sandbox.redeliver(reopen.eventId);
      }

      // Responders' feedback on the agent's notes, some delivered twice: each is recorded once and never answered.
      const feedbackNotes = new Set<string>();
      for (const [index, incident] of incidents.entries()) {
        if (dice.fraction(`feedback|${index}`) >= 0.1 || agentNotes(sandbox, incident.id) === 0) continue;
        const verdictWord = dice.fraction(`feedback-word|${index}`) < 0.7 ? 'right' : 'wrong';
        sandbox.addNoteAs(incident.id, SANDBOX_PRIMARY_USER.id, `pd-agent: ${verdictWord} (fault-injection feedback ${index})`);
        feedbackNotes.add(incident.id);
        const annotated = sandbox.deliveries({ incidentId: incident.id, eventType: 'incident.annotated' }).at(-1);
        if (annotated !== undefined && dice.fraction(`redeliver-feedback|${index}`) < 0.4) sandbox.redeliver(annotated.eventId);
      }

      // Late replays of accepted deliveries, shuffled: the ingress and the worker see events long after, out of order.
      const firstAnswers = new Map<string, IngressAnswer>();
      for (const answer of stack.observations.ingressAnswers) {
        if (answer.eventId !== null && answer.status < 300 && !firstAnswers.has(answer.eventId)) firstAnswers.set(answer.eventId, answer);
      }
      const replays = [...firstAnswers.values()]
        .filter((answer) => dice.fraction(`replay|${answer.eventId}`) < 0.3)
        .sort((a, b) => dice.fraction(`order|${a.eventId}`) - dice.fraction(`order|${b.eventId}`));
      for (let start = 0; start < replays.length; start += 20) {
        await Promise.all(replays.slice(start, start + 20).map((answer) => deliverAgain(runner.webhookUrl, answer)));
      }
      await stack.quiesce(150_000);
      verdict = await judge(stack, incidents);
      feedback = await judgeFeedback(stack, feedbackNotes);
      verdict.counts['feedback notes written by responders'] = feedbackNotes.size;
      verdict.counts['feedback items recorded'] = feedback.recorded;
      verdict.counts['late replays'] = replays.length;
      const seconds = (from: number, to: number) => Math.round((to - from) / 100) / 10;
      verdict.counts['seconds'] = seconds(started, Date.now());
      verdict.counts['seconds per phase (incidents; reopens and late replays)'] = [
        seconds(started, firstQuiet),
        seconds(firstQuiet, Date.now()),
      ].join('; ');

      const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: stack.aws.dynamodbEndpoint, region: stack.aws.region }));
      const tableText = async (table: string) => JSON.stringify((await documents.send(new ScanCommand({ TableName: table }))).Items ?? []);
      const sources = {
        'log output': output.text(),
        'invocation errors': stack.observations.invocationErrors
          .map((error) => `${(error as Error).message}\n${(error as Error).stack ?? ''}\n${JSON.stringify(error)}`)
          .join('\n'),
        'audit table': await tableText(stack.aws.auditTable),
        'state table': await tableText(stack.aws.stateTable),
        'queue messages': stack.observations.queueBodies.join('\n'),
      };
      documents.destroy();
      verdict.counts['log lines captured'] = output.lineCount();
      leaks = findCanaries([canaries.apiToken, canaries.eventsRoutingKey, ...stack.webhookSecrets], sources);
    } finally {
      output.restore();
      process.env = savedEnv;
    }
    console.log(
      [`Fault injection, FAULT_SEED=${seed} (replay: FAULT_SEED=${seed} npx jest test/integration/fault-injection.test.ts)`]
        .concat(Object.entries(verdict?.counts ?? {}).map(([name, value]) => `  ${name}: ${value}`))
        .join('\n'),
    );
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('loses no page, posts nothing twice, silences nothing, leaves nobody paging only the agent and stays within the retry budget', () => {
    expect(verdict.violations).toEqual([]);
    // The run exercised what it claims to: faults of every kind happened and the safety net was used.
    expect(verdict.counts['worker kills']).toBeGreaterThan(0);
    expect(verdict.counts['DynamoDB throttles injected']).toBeGreaterThan(0);
    expect(verdict.counts['SQS sends refused']).toBeGreaterThan(0);
    expect(verdict.counts['PagerDuty faults injected']).toBeGreaterThan(0);
    expect(verdict.counts['incidents handed back']).toBeGreaterThan(0);
  });

  it("records responders' feedback notes once each and never answers them", () => {
    expect(feedback.violations).toEqual([]);
    expect(feedback.recorded).toBeGreaterThan(0);
  });

  it("resolves cleared incidents, and never one it escalated or handed back (from PagerDuty's own history)", () => {
    // Both sides of the guarantee happened in this run, so "no resolve after an escalation" is a claim with teeth.
    expect(verdict.counts['incidents resolved by the agent']).toBeGreaterThan(0);
    expect(verdict.counts['resolves refused after an escalation']).toBeGreaterThan(0);
    expect(verdict.violations.filter((violation) => violation.includes('resolved it'))).toEqual([]);
  });

  it('writes no secret into any log line, error, audit item, state item or queue message', () => {
    expect(verdict.counts['log lines captured']).toBeGreaterThan(0);
    expect(leaks).toEqual([]);
  });
});
