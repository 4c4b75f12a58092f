import { mkdtempSync, rmSync } from 'node:fs';
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
describe('the first ten minutes on a fresh local stack', () => {
  const FIXTURE_INCIDENT = 'PFQZPSY';
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
  }
  const auditOf = async (incidentId: string): Promise<AuditRow[]> => {
    const run = await runCliCaptured(['audit', '--local', '--incident', incidentId, '--json']);
    expect(run.code).toBe(0);
    return JSON.parse(run.stdout) as AuditRow[];
  };
  const agentNotes = () => sandbox.notes(FIXTURE_INCIDENT).filter((note) => note.user.id === SANDBOX_BOT_USER.id);

  it('send-test --local triggered_v3 makes the incident exist, and the agent acknowledges, notes and decides', async () => {
    const run = await runCliCaptured(['send-test', 'triggered_v3', '--local']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`created incident ${FIXTURE_INCIDENT}`);
    expect(run.stdout).toContain(`service PA2P440 is not in the sandbox; the incident is on service ${SANDBOX_SERVICE_ID}`);
    expect(run.stdout).toMatch(/delivery 1: 202 .*accepted/);
    expect(run.stdout).toContain(`npx pd-agent audit --local --incident ${FIXTURE_INCIDENT}`);
    await stack.settled({ timeoutMs: 30_000 });

    const rows = await auditOf(FIXTURE_INCIDENT);
    expect(rows).toContainEqual(expect.objectContaining({ action: 'acknowledge', outcome: 'succeeded' }));
    expect(rows).toContainEqual(expect.objectContaining({ action: 'note', outcome: 'succeeded' }));
    expect(rows.find((row) => row.action === 'triage')?.decision).toMatch(/^(escalate|hold|resolve-if-cleared|noted)/);
    expect(rows.some((row) => row.outcome === 'failed')).toBe(false);
    expect(sandbox.acknowledgements(FIXTURE_INCIDENT).map((ack) => ack.acknowledger.id)).toContain(SANDBOX_BOT_USER.id);
    expect(agentNotes()).toHaveLength(1);
    // Placing the incident emitted no trigger of its own: the agent saw one triggering event, the delivered one.
    expect(sandbox.history({ incidentId: FIXTURE_INCIDENT }).map((entry) => entry.eventType)).not.toContain('incident.triggered');
  });

  it('send-test --twice neither creates the incident again nor makes a second note', async () => {
    const run = await runCliCaptured(['send-test', 'triggered_v3', '--local', '--twice', '--json']);
    expect(run.code).toBe(0);
    const answer = JSON.parse(run.stdout) as { results: { status: number }[]; sandboxIncident: { created: boolean } };
    expect(answer.sandboxIncident.created).toBe(false);
    expect(answer.results.map((result) => result.status)).toEqual([200, 200]);
    await stack.settled({ timeoutMs: 30_000 });
    expect(sandbox.incidents().filter((incident) => incident.id === FIXTURE_INCIDENT)).toHaveLength(1);
    expect(agentNotes()).toHaveLength(1);
  });

  it('send-test --bad-signature is refused and creates nothing', async () => {
    const before = sandbox.incidents().length;
    const run = await runCliCaptured(['send-test', 'triggered_v3', '--local', '--bad-signature']);
    expect(run.stdout).toMatch(/delivery 1: 401 .*as expected/);
    expect(sandbox.incidents()).toHaveLength(before);
  });

  it('send-test of a non-triggering event says it is only recorded', async () => {
    const run = await runCliCaptured(['send-test', 'acknowledged_v3', '--local']);
    expect(run.stdout).toContain('incident.acknowledged is not a triggering event');
    expect(run.stdout).toMatch(/delivery 1: 202/);
    await stack.settled({ timeoutMs: 30_000 });
  });

  it('doctor --local passes every check', async () => {
    const run = await runCliCaptured(['doctor', '--local']);
    expect(run.stdout).not.toContain('FAIL');
    expect(run.code).toBe(0);
  });
});
