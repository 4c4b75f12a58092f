import {
  DEFAULT_SANDBOX_SEED,
  SANDBOX_BOT_USER,
  SANDBOX_ESCALATION_POLICY_ID,
  SANDBOX_PRIMARY_USER,
  SANDBOX_SECONDARY_USER,
  SANDBOX_SERVICE_ID,
  signWebhookBody,
  type SandboxSeed,
} from './sandbox';
import type { AuditItem } from '../lib/audit/audit-record';
import type { RolloutMode } from '../lib/config/agent-config';
import { WOULD_BE_NOTE_LABEL } from '../lib/rollout/rollout';
import { AuditLog } from '../lib/audit/audit-log';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { LocalStack } from './local-stack';
import type { Colours } from '../lib/cli/output';
import { oneLine, renderTable } from '../lib/cli/output';
import {
  LAMBDA_DEPLOY_SEED_FILE,
  LAMBDA_DEPLOY_TITLE,
  lambdaDeployIncident,
  missingScenarioPhrases,
} from './aws-emulators/lambda-deploy-scenario';

const HOUR_MS = 3_600_000;

/** Demo services whose rollout stage is not `act` (docs/rollout-and-outcomes.md): one incident is paged on each. */
export const DEMO_OBSERVE_SERVICE = { id: 'PSVCOBS', name: 'search-api', mode: 'observe' } as const;
export const DEMO_NOTE_SERVICE = { id: 'PSVCNOT', name: 'inventory-api', mode: 'note' } as const;
/**
 * The recommended policy shape (docs/how-it-works.md): the agent's user alone at level 1, people at level 2. The
 * sandbox's checkout service shows the other shape, people at level 1.
 */
export const DEMO_AGENT_FIRST_POLICY_ID = 'PEPAGENT';
export const DEMO_AGENT_FIRST_SERVICE = { id: 'PSVCPAY', name: 'payments-api', mode: 'act' } as const;

/**
 * The local environment's policy for the demo: one rule the "known pattern" incident matches; the environment acts,
 * one service is observed and one gets notes only.
 */
export const DEMO_AGENT_CONFIG = JSON.stringify({
  agentName: 'pd-agent (local)',
  // The demo shows a hold on every run: no incident of it is held out (docs/rollout-and-outcomes.md "Trust").
  trust: { holdout: 0 },
  rollout: {
    mode: 'act',
    sampleRate: 1,
    services: Object.fromEntries([DEMO_OBSERVE_SERVICE, DEMO_NOTE_SERVICE].map(({ id, mode }) => [id, { mode, sampleRate: 1 }])),
  },
  triage: {
    rules: [
      {
        id: 'cache-warmup-latency',
        match: { title: 'latency.*cache warm-?up' },
        hypothesis: 'Latency rises while the cache warms up after a deploy; it clears by itself within 15 minutes.',
        confidence: 0.9,
        action: 'hold',
        nextSteps: ['Watch p99 latency for 15 minutes', 'Escalate if the cache hit rate stays under 80%'],
      },
    ],
    // Scaled by the local stack's SCHEDULER_TIME_SCALE: the held incident is looked at again after 72 s, once the demo is over.
    holdMinutes: 120,
  },
  // A follow-up 3 s after each note (5 min scaled by 0.01), one per incident.
  followUp: { afterMinutes: 5, max: 1 },
});

/** `npm start` compresses the scheduler's time: a 15-minute follow-up after 9 s. */
export const DEMO_SCHEDULER_TIME_SCALE = 0.01;

const RECURRING_TITLE = 'Disk usage above 90% on db-3';

/** The sandbox account plus past incidents for the recurrence evidence. */
export function demoSeed(now: Date = new Date()): SandboxSeed {
  const past = (hoursAgo: number, note: string) => ({
    serviceId: SANDBOX_SERVICE_ID,
    title: RECURRING_TITLE,
    createdAt: new Date(now.getTime() - hoursAgo * HOUR_MS).toISOString(),
    status: 'resolved' as const,
    resolvedAt: new Date(now.getTime() - (hoursAgo - 1) * HOUR_MS).toISOString(),
    notes: [{ content: note, userId: 'PUSR001', createdAt: new Date(now.getTime() - (hoursAgo - 1) * HOUR_MS).toISOString() }],
  });
  return {
    ...DEFAULT_SANDBOX_SEED,
    escalationPolicies: [
      ...(DEFAULT_SANDBOX_SEED.escalationPolicies ?? []),
      {
        id: DEMO_AGENT_FIRST_POLICY_ID,
        name: 'Payments: agent first',
        levels: [[SANDBOX_BOT_USER.id], [SANDBOX_PRIMARY_USER.id], [SANDBOX_SECONDARY_USER.id]],
      },
    ],
    services: [
      ...(DEFAULT_SANDBOX_SEED.services ?? []),
      ...[DEMO_OBSERVE_SERVICE, DEMO_NOTE_SERVICE].map(({ id, name }) => ({ id, name, escalationPolicyId: SANDBOX_ESCALATION_POLICY_ID })),
      { id: DEMO_AGENT_FIRST_SERVICE.id, name: DEMO_AGENT_FIRST_SERVICE.name, escalationPolicyId: DEMO_AGENT_FIRST_POLICY_ID },
    ],
    incidents: [
      past(72, 'Rotated the WAL archive and pruned old snapshots.'),
      past(30, 'Pruned old snapshots again; WAL archiving cron was stuck.'),
    ],
  };
}

export interface DemoIncidentSummary {
  scenario: string;
  incidentId: string;
  /** Who PagerDuty paged first: the agent (its user first in the policy) or people. */
  policy: string;
  acknowledgedBy: string;
  /** Why the agent acknowledged it or not (AGENT_CONFIG.acknowledge, default agent-first). */
  why: string;
  noteFirstLine: string;
  decision: string;
  auditRows: number;
}

export interface DemoResult {
  summaries: DemoIncidentSummary[];
  /** Expectations that did not hold, one line each. */
  failures: string[];
  checks: number;
  firstAcknowledgedMs?: number;
}

export type DemoLog = (line: string) => void;

interface Scenario {
  name: string;
  title: string;
  urgency: 'high' | 'low';
  /** Default: the sandbox's checkout service (people first in its policy), where the agent acts. */
  service?: typeof DEMO_OBSERVE_SERVICE | typeof DEMO_NOTE_SERVICE | typeof DEMO_AGENT_FIRST_SERVICE;
  /** Why the agent acknowledges this incident or not, as the summary explains it. */
  why: string;
}

const LAMBDA_DEPLOY = 'bad deploy (AWS context)';

const AGENT_FIRST = 'agent first in the policy';
const PEOPLE_PAGED = 'not acknowledged: PagerDuty paged people and no rule could keep it, so they keep it with the note';

const SCENARIOS: Scenario[] = [
  {
    name: 'known pattern',
    title: 'Checkout latency high during cache warm-up',
    urgency: 'low',
    why: 'acknowledged: a rule could keep it, and it did (held)',
  },
  { name: 'unknown, high urgency', title: 'Payment provider answers 503 for card payments', urgency: 'high', why: PEOPLE_PAGED },
  {
    name: AGENT_FIRST,
    title: 'Card payments failing: 502 from the payment gateway',
    urgency: 'high',
    service: DEMO_AGENT_FIRST_SERVICE,
    why: 'acknowledged silently (PagerDuty paged only the agent), noted, then escalated to level 2',
  },
  { name: 'recurring', title: RECURRING_TITLE, urgency: 'low', why: PEOPLE_PAGED },
  { name: LAMBDA_DEPLOY, title: LAMBDA_DEPLOY_TITLE, urgency: 'high', why: PEOPLE_PAGED },
  {
    name: 'observe mode',
    title: 'Search API p95 latency above 800ms',
    urgency: 'high',
    service: DEMO_OBSERVE_SERVICE,
    why: 'never acknowledged in observe mode; nothing written',
  },
  {
    name: 'note mode',
    title: 'Inventory sync backlog above 10k messages',
    urgency: 'high',
    service: DEMO_NOTE_SERVICE,
    why: 'never acknowledged in note mode; the note only',
  },
];

/** The scenario service's rollout stage: observe writes nothing to PagerDuty, note only its note. */
const modeOf = (scenario: Scenario): RolloutMode => scenario.service?.mode ?? 'act';
const isWouldBeNote = (row: AuditItem): boolean => row.action === 'note' && (row.detail ?? '').includes(WOULD_BE_NOTE_LABEL);

/**
 * Runs the scripted demo against a started local stack (with the sandbox): every behaviour of the agent, one line per
 * step as it happens, and the expectations `--once` checks.
 */
export async function runDemo(stack: LocalStack, log: DemoLog, colours: Colours, startedAt: number): Promise<DemoResult> {
  const sandbox = stack.sandbox;
  if (sandbox === undefined) throw new Error('The demo needs the PagerDuty sandbox; it does not run against real PagerDuty.');
  const failures: string[] = [];
  let checks = 0;
  const expect = (ok: boolean, what: string): void => {
    checks += 1;
    log(`${ok ? colours.green('  ✔') : colours.red('  ✘')} ${what}`);
    if (!ok) failures.push(what);
  };
  const rawDynamo = new DynamoDBClient({
    endpoint: stack.aws.dynamodbEndpoint,
    region: stack.aws.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const audit = new AuditLog(DynamoDBDocumentClient.from(rawDynamo), stack.aws.auditTable, 'local');
  const auditOf = async (incidentId: string): Promise<AuditItem[]> => (await audit.byIncident(incidentId, { limit: 500 })).items;
  let firstAcknowledgedMs: number | undefined;
  const summaries: DemoIncidentSummary[] = [];
  const incidents: Record<string, string> = {};

  try {
    for (const scenario of SCENARIOS) {
      // The bad-deploy page carries a CloudWatch alarm; its alarm, deploy and logs are seeded in the AWS emulators first.
      const awsPage = scenario.name === LAMBDA_DEPLOY ? lambdaDeployIncident(new Date()) : undefined;
      if (awsPage !== undefined) stack.aws.awsContext.seedScenario(awsPage.seed, { source: LAMBDA_DEPLOY_SEED_FILE });
      const incident = sandbox.triggerIncident({
        serviceId: scenario.service?.id ?? SANDBOX_SERVICE_ID,
        title: scenario.title,
        urgency: scenario.urgency,
        alerts: [
          awsPage?.alert ?? {
            summary: scenario.title,
            severity: scenario.urgency === 'high' ? 'critical' : 'warning',
            details: { host: 'checkout-1' },
          },
        ],
      });
      incidents[scenario.name] = incident.id;
      log(
        `${colours.cyan('▶')} ${scenario.name}: PagerDuty triggers ${colours.bold(incident.id)} "${scenario.title}" (${scenario.urgency} urgency${scenario.service === undefined ? '' : `, service ${scenario.service.name}`})`,
      );
    }
    await stack.settled({ timeoutMs: 60_000 });
    firstAcknowledgedMs = Date.now() - startedAt;

    for (const scenario of SCENARIOS) {
      const id = incidents[scenario.name];
      const incident = sandbox.incident(id);
      const notes = sandbox.notes(id).filter((note) => note.user.id === SANDBOX_BOT_USER.id);
      const acks = sandbox.acknowledgements(id);
      log(
        `${colours.cyan('●')} ${scenario.name} (${id}): ${incident.status}, assigned to ${incident.assignments.map((a) => a.assignee.summary ?? a.assignee.id).join(', ') || 'nobody'}`,
      );
      const agentAcknowledged = acks.some((ack) => ack.acknowledger.id === SANDBOX_BOT_USER.id);
      const mode = modeOf(scenario);
      if (mode === 'observe') {
        expect(!agentAcknowledged && notes.length === 0, `${id} observe mode: no acknowledgement and no note in PagerDuty`);
        const wouldBe = (await auditOf(id)).find(isWouldBeNote);
        expect(wouldBe !== undefined, `${id} observe mode: the note it would have posted is in the audit trail`);
        continue;
      }
      if (mode === 'note') {
        expect(!agentAcknowledged && notes.length === 1, `${id} note mode: one note, no acknowledgement (notes: ${notes.length})`);
        expect(incident.status === 'triggered', `${id} note mode: left triggered, the humans on call are paged as usual`);
        continue;
      }
      if (scenario.name === 'known pattern') expect(agentAcknowledged, `${id} acknowledged by the agent (its rule may keep it)`);
      else if (scenario.name === AGENT_FIRST) expect(agentAcknowledged, `${id} acknowledged by the agent (PagerDuty paged only the agent)`);
      else expect(!agentAcknowledged, `${id} left with the people PagerDuty paged, never acknowledged (no rule could keep it)`);
      expect(notes.length === 1, `${id} has exactly one agent note (has ${notes.length})`);
      const humansAssigned = incident.assignments.some((assignment) => assignment.assignee.id !== SANDBOX_BOT_USER.id);
      if (scenario.name === AGENT_FIRST) {
        const order = sandbox
          .history({ incidentId: id })
          .filter((change) => change.agentId === SANDBOX_BOT_USER.id)
          .map((change) => change.eventType.replace('incident.', ''));
        expect(
          order.join(',') === 'acknowledged,annotated,escalated',
          `${id} acknowledged, noted, then escalated, in that order (${order.join(', ')})`,
        );
        const level2 = incident.assignments.map((assignment) => assignment.assignee.id).join(',') === SANDBOX_PRIMARY_USER.id;
        expect(level2 && incident.status === 'triggered', `${id} paging ${SANDBOX_PRIMARY_USER.name} at level 2, the note already there`);
      } else if (scenario.name === 'known pattern') {
        expect(!humansAssigned && incident.status === 'acknowledged', `${id} held by the agent (rule matched, confident)`);
        expect(/cache warms up/i.test(notes[0]?.content ?? ''), `${id} note carries the rule's hypothesis`);
      } else if (scenario.name === 'unknown, high urgency') {
        expect(humansAssigned && incident.status === 'triggered', `${id} with the humans on call, still paging them`);
      } else if (scenario.name === LAMBDA_DEPLOY) {
        expect(humansAssigned && incident.status === 'triggered', `${id} with the humans on call, still paging them`);
        const missing = missingScenarioPhrases(notes[0]?.content ?? '');
        const named = `${id} note names the alarm, the UpdateFunctionCode six minutes before and the new TypeError`;
        expect(missing.length === 0, `${named} (missing: ${missing.join(', ') || 'none'})`);
      } else {
        expect(/similar incident/i.test(notes[0]?.content ?? ''), `${id} note cites the past similar incidents`);
      }
    }

    const known = incidents['known pattern'];
    const firstTrigger = sandbox.deliveries({ incidentId: known, eventType: 'incident.triggered' })[0];
    log(`${colours.cyan('▶')} duplicate delivery: PagerDuty delivers ${firstTrigger?.eventId ?? '?'} again`);
    if (firstTrigger !== undefined) sandbox.redeliver(firstTrigger.eventId);
    await stack.settled({ timeoutMs: 60_000 });
    const redelivered = sandbox.deliveries({ incidentId: known, eventType: 'incident.triggered' });
    const lastStatus = redelivered.at(-1)?.attempts.at(-1)?.status;
    expect(redelivered.length >= 2 && lastStatus === 200, `the duplicate was answered 200 (deduplicated), got ${lastStatus}`);
    expect(
      sandbox.notes(known).filter((note) => note.user.id === SANDBOX_BOT_USER.id).length === 1,
      `${known} still has one agent note after the duplicate`,
    );

    log(`${colours.cyan('▶')} forged delivery: a body signed with the wrong secret`);
    const forged = await sandbox.deliverRaw({
      body: '{"event":{"id":"forged","event_type":"incident.triggered"}}',
      signature: signWebhookBody('{}', ['not-the-secret']),
    });
    expect(forged === 401, `the forged delivery was answered 401 (got ${forged})`);

    const ownEvents = sandbox
      .deliveries()
      .filter(
        (delivery) =>
          ['incident.acknowledged', 'incident.annotated'].includes(delivery.eventType) &&
          Object.values(incidents).includes(delivery.incidentId ?? ''),
      );
    log(`${colours.cyan('●')} the agent's own acknowledgements and notes came back as ${ownEvents.length} webhook(s)`);
    expect(
      ownEvents.length > 0 && ownEvents.every((delivery) => delivery.outcome === 'delivered'),
      "the agent's own events were delivered and accepted",
    );
    for (const scenario of SCENARIOS) {
      const id = incidents[scenario.name];
      const rows = await auditOf(id);
      const recorded = rows.filter(
        (row) => row.action === 'record' && (row.eventType === 'incident.acknowledged' || row.eventType === 'incident.annotated'),
      );
      const triages = rows.filter((row) => row.action === 'triage');
      // In observe mode the agent writes nothing, so none of its own events come back.
      if (modeOf(scenario) !== 'observe') expect(recorded.length > 0, `${id}: the agent's own events recorded in the audit trail`);
      expect(triages.length === 1, `${id}: triaged once (${triages.length})`);
      const incident = sandbox.incident(id);
      const posted = sandbox.notes(id).find((candidate) => candidate.user.id === SANDBOX_BOT_USER.id)?.content;
      const wouldBe = rows.find(isWouldBeNote)?.detail?.split(WOULD_BE_NOTE_LABEL)[1];
      const noteText = posted ?? (wouldBe === undefined ? undefined : `(audit only) ${wouldBe.trim()}`);
      summaries.push({
        scenario: scenario.name,
        incidentId: id,
        policy: scenario.service === DEMO_AGENT_FIRST_SERVICE ? 'agent first' : 'people first',
        why: scenario.why,
        acknowledgedBy:
          sandbox.acknowledgements(id)[0]?.acknowledger.id === SANDBOX_BOT_USER.id
            ? SANDBOX_BOT_USER.name
            : (sandbox.acknowledgements(id)[0]?.acknowledger.id ?? 'nobody'),
        noteFirstLine: oneLine(noteText?.trim(), 60),
        decision:
          modeOf(scenario) === 'act'
            ? (triages[0]?.decision ?? incident.status)
            : `would be ${triages[0]?.decision ?? incident.status} (${modeOf(scenario)} mode: not carried out)`,
        auditRows: rows.length,
      });
    }
    const followedUp = await demoFollowUp(stack, log, colours, expect);
    if (followedUp !== undefined) await demoRequest(stack, followedUp, log, colours, expect);
  } finally {
    rawDynamo.destroy();
  }
  return { summaries, failures, checks, firstAcknowledgedMs };
}

/**
 * The agent comes back: an incident whose alerts clear after the note gets a follow-up saying so, and whether the
 * note's prediction held (the scheduler's delay queue, relay and the worker, with time compressed).
 */
async function demoFollowUp(
  stack: LocalStack,
  log: DemoLog,
  colours: Colours,
  expect: (ok: boolean, what: string) => void,
): Promise<string | undefined> {
  const sandbox = stack.sandbox;
  if (sandbox === undefined) return undefined;
  const incident = sandbox.triggerIncident({
    serviceId: SANDBOX_SERVICE_ID,
    title: 'Checkout 5xx rate above 2%',
    urgency: 'high',
    alerts: [{ summary: 'Checkout 5xx rate above 2%', severity: 'critical', details: { host: 'checkout-2' } }],
  });
  log(`${colours.cyan('▶')} follow-up: PagerDuty triggers ${colours.bold(incident.id)}; once it is noted, its alerts clear`);
  await stack.settled({ timeoutMs: 60_000 });
  sandbox.clearAlerts(incident.id);
  const agentNotes = () => sandbox.notes(incident.id).filter((note) => note.user.id === SANDBOX_BOT_USER.id);
  const deadline = Date.now() + 60_000;
  while (agentNotes().length < 2 && Date.now() < deadline) await stack.settled({ timeoutMs: 60_000 });
  const followUp = agentNotes()[1]?.content ?? '';
  log(`${colours.cyan('●')} ${incident.id} follow-up: ${oneLine(followUp.split('\n')[0], 100)}`);
  expect(/Every alert of this incident has cleared/.test(followUp), `${incident.id} got a follow-up saying its alerts cleared`);
  expect(/Checked: /.test(followUp), `${incident.id} follow-up says whether the first note's prediction held`);
  return incident.id;
}

/** Asked in the timeline: a person writes `pd-agent: why` on the incident and the agent answers with one note. */
async function demoRequest(
  stack: LocalStack,
  incidentId: string,
  log: DemoLog,
  colours: Colours,
  expect: (ok: boolean, what: string) => void,
): Promise<void> {
  const sandbox = stack.sandbox;
  if (sandbox === undefined) return;
  log(`${colours.cyan('▶')} request: ${SANDBOX_PRIMARY_USER.name} writes "pd-agent: why" on ${colours.bold(incidentId)}`);
  sandbox.addNoteAs(incidentId, SANDBOX_PRIMARY_USER.id, 'pd-agent: why');
  await stack.settled({ timeoutMs: 60_000 });
  const answers = sandbox
    .notes(incidentId)
    .filter((note) => note.user.id === SANDBOX_BOT_USER.id && note.content.includes('answers pd-agent: why'));
  for (const line of (answers[0]?.content ?? '').split('\n').slice(0, 6)) log(`${colours.cyan('●')}   ${oneLine(line, 110)}`);
  expect(answers.length === 1, `${incidentId}: the request was answered with one note (${answers.length})`);
}

export function summaryTable(summaries: DemoIncidentSummary[], colour: boolean): string {
  return renderTable(
    ['scenario', 'incident', 'policy', 'acknowledged by', 'why', 'note (first line)', 'decision', 'audit rows'],
    summaries.map((summary) => [
      summary.scenario,
      summary.incidentId,
      summary.policy,
      summary.acknowledgedBy,
      summary.why,
      summary.noteFirstLine,
      summary.decision,
      summary.auditRows,
    ]),
    { colour },
  );
}
