import { mkdtempSync, rmSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack, type LocalStack } from '../../../local/local-stack';
import { demoSeed, DEMO_AGENT_CONFIG } from '../../../local/demo';
import { SANDBOX_BOT_USER, SANDBOX_SERVICE_ID, type Sandbox } from '../../../local/sandbox';
import { runCliCaptured } from '../../support/cli-harness';

/**
 * What a newcomer does after `npm start -- --no-demo`, as the README and `npm start` suggest it: each step must end in
 * a success they recognise. `triggered_v3` names incident PFQZPSY on service PA2P440, neither of which the sandbox has.
 */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

describe('the first ten minutes on a fresh local stack', () => {
  const FIXTURE_INCIDENT = 'PFQZPSY';
  /** The incident `acknowledged_v3` names, which the sandbox does not have. */
  const ACKNOWLEDGED_INCIDENT = 'PQ1K5C8';
  let stack: LocalStack;
  let sandbox: Sandbox;
  const stateDir = mkdtempSync(join(tmpdir(), 'pd-agent-first-ten-'));
  const previousStateDir = process.env.PD_AGENT_STATE_DIR;

  beforeAll(async () => {
    process.env.PD_AGENT_STATE_DIR = stateDir;
    stack = await startLocalStack({ port: 0, agentConfig: DEMO_AGENT_CONFIG, sandboxSeed: demoSeed(), skipBuild: true });
    sandbox = stack.sandbox as Sandbox;
  }, 60_000);
  afterAll(async () => {
    await stack.stop();
    if (previousStateDir === undefined) delete process.env.PD_AGENT_STATE_DIR;
    else process.env.PD_AGENT_STATE_DIR = previousStateDir;
    rmSync(stateDir, { recursive: true, force: true });
  });

  interface AuditRow {
    action: string;
    outcome: string;
    decision?: string;
    detail?: string;
  }
  const auditOf = async (incidentId: string): Promise<AuditRow[]> => {
    const run = await runCliCaptured(['audit', '--local', '--incident', incidentId, '--json']);
    expect(run.code).toBe(0);
    return JSON.parse(run.stdout) as AuditRow[];
  };
  const agentNotes = () => sandbox.notes(FIXTURE_INCIDENT).filter((note) => note.user.id === SANDBOX_BOT_USER.id);
  /** The agent's PagerDuty requests about an incident (send-test's own sandbox-only placement is not the agent's). */
  const agentCalls = (incidentId: string) => sandbox.requests({ incidentId }).filter((entry) => !entry.route.includes('/sandbox/'));
  const stateItems = async (): Promise<Record<string, unknown>[]> => {
    const dynamo = DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint: stack.aws.dynamodbEndpoint, region: stack.aws.region, credentials: LOCAL_CREDENTIALS }),
    );
    try {
      const items = (await dynamo.send(new ScanCommand({ TableName: stack.aws.stateTable }))).Items ?? [];
      return items.sort((a, b) => String(a.pk).localeCompare(String(b.pk)));
    } finally {
      dynamo.destroy();
    }
  };

  it('send-test --local triggered_v3 makes the incident exist, and the agent notes and decides, leaving it with on-call (no rule could keep it)', async () => {
    const run = await runCliCaptured(['send-test', 'triggered_v3', '--local']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`created incident ${FIXTURE_INCIDENT}`);
    expect(run.stdout).toContain(`service PA2P440 is not in the sandbox; the incident is on service ${SANDBOX_SERVICE_ID}`);
    expect(run.stdout).toMatch(/delivery 1: 202 .*accepted/);
    expect(run.stdout).toContain(`npx pd-agent audit --local --incident ${FIXTURE_INCIDENT}`);
    // The sandbox's policy pages a person first, so send-test promises the note, not an acknowledgement.
    expect(run.stdout).toContain(
      'What happens (acknowledge "agent-first", the default): PagerDuty pages people first: the agent adds its note and acknowledges only when a rule could keep the incident; PagerDuty keeps paging the people (policy PEP0001).',
    );
    await stack.settled({ timeoutMs: 30_000 });

    const rows = await auditOf(FIXTURE_INCIDENT);
    expect(rows).toContainEqual(expect.objectContaining({ action: 'note', outcome: 'succeeded' }));
    expect(rows.find((row) => row.action === 'triage')?.decision).toBe('left-with-on-call');
    expect(rows.map((row) => row.action)).not.toContain('acknowledge');
    expect(rows.some((row) => row.outcome === 'failed')).toBe(false);
    expect(sandbox.acknowledgements(FIXTURE_INCIDENT).map((ack) => ack.acknowledger.id)).not.toContain(SANDBOX_BOT_USER.id);
    expect(agentNotes()).toHaveLength(1);
    // Placing the incident emitted no trigger of its own: the agent saw one triggering event, the delivered one.
    expect(sandbox.history({ incidentId: FIXTURE_INCIDENT }).map((entry) => entry.eventType)).not.toContain('incident.triggered');
  });

  it('send-test --twice neither creates the incident again nor makes a second note', async () => {
    // The step before it in the walkthrough, so that this case stands alone: the fixture's incident exists and was triaged.
    expect((await runCliCaptured(['send-test', 'triggered_v3', '--local'])).code).toBe(0);
    await stack.settled({ timeoutMs: 30_000 });
    expect(agentNotes()).toHaveLength(1);
    const auditBefore = await auditOf(FIXTURE_INCIDENT);
    const agentCallsBefore = agentCalls(FIXTURE_INCIDENT).length;

    const run = await runCliCaptured(['send-test', 'triggered_v3', '--local', '--twice', '--json']);
    expect(run.code).toBe(0);
    const answer = JSON.parse(run.stdout) as { results: { status: number; body: string }[]; sandboxIncident: { created: boolean } };
    expect(answer.sandboxIncident.created).toBe(false);
    expect(answer.results.map((result) => [result.status, JSON.parse(result.body).status])).toEqual([
      [200, 'duplicate'],
      [200, 'duplicate'],
    ]);
    await stack.settled({ timeoutMs: 30_000 });
    expect(sandbox.incidents().filter((incident) => incident.id === FIXTURE_INCIDENT)).toHaveLength(1);
    expect(agentNotes()).toHaveLength(1);
    // Nothing was queued: the agent neither called PagerDuty about the incident again nor recorded anything new.
    expect(agentCalls(FIXTURE_INCIDENT)).toHaveLength(agentCallsBefore);
    expect(await auditOf(FIXTURE_INCIDENT)).toEqual(auditBefore);
  });

  it('send-test --bad-signature is refused and creates nothing', async () => {
    const incidentsBefore = sandbox.incidents().length;
    const stateBefore = await stateItems();
    const run = await runCliCaptured(['send-test', 'triggered_v3', '--local', '--bad-signature']);
    expect(run.stdout).toMatch(/delivery 1: 401 .*as expected/);
    await stack.settled({ timeoutMs: 30_000 });
    expect(sandbox.incidents()).toHaveLength(incidentsBefore);
    // The ingress refused it before recording or queueing anything.
    expect(await stateItems()).toEqual(stateBefore);
  });

  it('send-test of a non-triggering event says it is only recorded, and the agent records it and does nothing else', async () => {
    const run = await runCliCaptured(['send-test', 'acknowledged_v3', '--local']);
    expect(run.stdout).toContain('incident.acknowledged is not a triggering event');
    expect(run.stdout).toMatch(/delivery 1: 202/);
    await stack.settled({ timeoutMs: 30_000 });
    expect(await auditOf(ACKNOWLEDGED_INCIDENT)).toEqual([
      expect.objectContaining({ action: 'record', outcome: 'recorded', detail: 'incident.acknowledged: recorded, nothing to triage' }),
    ]);
    expect(sandbox.incidents().some((incident) => incident.id === ACKNOWLEDGED_INCIDENT)).toBe(false);
    expect(agentCalls(ACKNOWLEDGED_INCIDENT)).toEqual([]);
  });

  it('doctor --local fails no check on a fresh stack, warns about what it recommends, counts its checks, and only reads', async () => {
    const writesBefore = sandbox.requests().filter((entry) => entry.method !== 'GET').length;
    const run = await runCliCaptured(['doctor', '--local']);
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    const checkLines = lines.filter((line) => /^[A-Z]{4} {2}/.test(line));
    for (const line of checkLines) expect(line).toMatch(/^(PASS|WARN) {2}/);
    const json = await runCliCaptured(['doctor', '--local', '--json']);
    const report = JSON.parse(json.stdout) as {
      healthy: boolean;
      counts: { checks: number; passed: number; warnings: number; failed: number };
      checks: { name: string; ok: boolean; warning?: boolean; detail: string }[];
    };
    expect(report.healthy).toBe(true);
    expect(report.checks.map((check) => check.name)).toEqual(
      expect.arrayContaining(['secret shape', 'PagerDuty key', 'agent identity', 'webhook subscriptions', 'dead-letter queue']),
    );
    expect(checkLines).toHaveLength(report.checks.length);
    const warned = report.checks.filter((check) => check.warning === true).map((check) => check.name);
    expect(report.counts).toEqual({
      checks: report.checks.length,
      passed: report.checks.length - warned.length,
      warnings: warned.length,
      failed: 0,
    });
    expect(lines.at(-1)).toBe(
      `${report.checks.length} checks: ${report.counts.passed} passed, ${warned.length} warning(s), 0 failed (\`pd-agent doctor --list\` says what each verifies).`,
    );
    // The local secret has no fallback routing key; every demo service pages Ada first, with no acknowledgement timeout.
    expect(warned).toContain('fallback routing key');
    const paging = report.checks.find((check) => check.name === `paging: checkout-api (${SANDBOX_SERVICE_ID})`);
    expect(paging).toMatchObject({ ok: true, warning: true });
    expect(paging?.detail).toContain('level 1, 30 min: Ada Oncall; no acknowledgement timeout.');
    expect(paging?.detail).toContain('PagerDuty pages people first');
    expect(run.stdout).toContain("put the agent's user at level 1 of PEP0001 with a short delay");
    expect(run.stdout).not.toMatch(/redeploy/i);
    expect(sandbox.requests().filter((entry) => entry.method !== 'GET')).toHaveLength(writesBefore);
  });
});
