import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack, type LocalStack } from '../../../local/local-stack';
import { SANDBOX_PRIMARY_USER, SANDBOX_SERVICE_ID } from '../../../local/sandbox';
import type { OutcomeReport } from '../../../lib/outcomes/outcome-report';
import type { HoldoutComparison } from '../../../lib/trust/holdout-report';
import type { RuleStanding } from '../../../lib/trust/demotion-store';
import { isHeldOut } from '../../../lib/trust/rule-trust';
import { runCliCaptured } from '../../support/cli-harness';

const HOLDOUT = 0.5;
const RULE = 'checkout-latency';

/**
 * Through the bundled worker and the sandbox: incidents in the holdout stay with on-call, the others are held; a
 * responder's `pd-agent: wrong` on a held incident demotes the rule, whose next incident goes to on-call; a person
 * promotes it again; `report` compares held and held-out incidents and `doctor` shows the demotion.
 */
describe('rules that earn and lose trust, against the local stack', () => {
  let stack: LocalStack;
  const stateDir = mkdtempSync(join(tmpdir(), 'pd-agent-trust-'));
  const previousStateDir = process.env.PD_AGENT_STATE_DIR;

  beforeAll(async () => {
    process.env.PD_AGENT_STATE_DIR = stateDir;
    const agentConfig = JSON.stringify({
      triage: {
        rules: [{ id: RULE, match: { title: 'Checkout latency' }, hypothesis: 'A known slow path', confidence: 0.9, action: 'hold' }],
      },
      trust: { holdout: HOLDOUT },
    });
    stack = await startLocalStack({ port: 0, agentConfig });
  }, 90_000);

  afterAll(async () => {
    await stack.stop();
    if (previousStateDir === undefined) delete process.env.PD_AGENT_STATE_DIR;
    else process.env.PD_AGENT_STATE_DIR = previousStateDir;
    rmSync(stateDir, { recursive: true, force: true });
  });

  const acknowledgedByAgent = (incidentId: string): boolean =>
    stack.sandbox!.acknowledgements(incidentId).some((ack) => ack.acknowledger.id !== SANDBOX_PRIMARY_USER.id);
  const agentNotes = (incidentId: string): string =>
    stack
      .sandbox!.notes(incidentId)
      .map((note) => note.content)
      .join('\n');

  it('holds out, holds, demotes after a contradicted hold, escalates the next incident, and is promoted again', async () => {
    const sandbox = stack.sandbox!;
    const incidents = Array.from({ length: 8 }, (_, index) =>
      sandbox.triggerIncident({ serviceId: SANDBOX_SERVICE_ID, title: `Checkout latency above ${index + 2}s` }),
    );
    await stack.settled({ timeoutMs: 60_000 });
    const heldOut = incidents.filter((incident) => isHeldOut(incident.id, HOLDOUT));
    const held = incidents.filter((incident) => !isHeldOut(incident.id, HOLDOUT));
    expect(heldOut.length).toBeGreaterThan(0);
    expect(held.length).toBeGreaterThan(0);
    for (const incident of held) expect(acknowledgedByAgent(incident.id)).toBe(true);
    for (const incident of heldOut) {
      expect(acknowledgedByAgent(incident.id)).toBe(false);
      expect(agentNotes(incident.id)).toContain('holdout');
    }

    // People act on the held-out ones (they have them); the held ones clear without anyone.
    for (const incident of heldOut) sandbox.addNoteAs(incident.id, SANDBOX_PRIMARY_USER.id, 'Looked: the slow path again');
    for (const incident of incidents) sandbox.resolveAs(incident.id, SANDBOX_PRIMARY_USER.id);
    await stack.settled({ timeoutMs: 60_000 });
    const before = JSON.parse((await runCliCaptured(['report', '--local', '--since', '1h', '--json'])).stdout) as OutcomeReport & {
      holdout: HoldoutComparison;
      rules: RuleStanding[];
    };
    expect(before.holdout.held.incidents).toBe(held.length);
    expect(before.holdout.heldOut).toMatchObject({ incidents: heldOut.length, peopleActed: heldOut.length, actedShare: 1 });
    expect(before.rules).toEqual([]);

    // A responder says the agent was wrong about one it held: the rule is demoted.
    sandbox.addNoteAs(held[0].id, SANDBOX_PRIMARY_USER.id, 'pd-agent: wrong, it was the database');
    await stack.settled({ timeoutMs: 60_000 });
    const doctor = JSON.parse((await runCliCaptured(['doctor', '--local', '--json'])).stdout) as {
      checks: { name: string; ok: boolean; detail: string }[];
    };
    expect(doctor.checks.find((check) => check.name === 'demoted rules')).toMatchObject({
      ok: false,
      detail: expect.stringContaining(`rule ${RULE} since`),
    });

    // Its next incident, held out or not, goes to on-call with the note saying why.
    const next = sandbox.triggerIncident({ serviceId: SANDBOX_SERVICE_ID, title: 'Checkout latency above 9s' });
    await stack.settled({ timeoutMs: 60_000 });
    expect(acknowledgedByAgent(next.id)).toBe(false);
    expect(agentNotes(next.id)).toContain(`pd-agent rule promote ${RULE}`);

    const table = await runCliCaptured(['report', '--local', '--since', '1h']);
    expect(table.stdout).toContain('Held and held out');
    expect(table.stdout).toMatch(new RegExp(`Demoted rules: 1[\\s\\S]*${RULE}\\s+│ demoted`));

    const promote = await runCliCaptured(['rule', 'promote', RULE, '--local', '--by', 'alice']);
    expect(promote).toMatchObject({ code: 0, stderr: '' });
    expect(promote.stdout).toContain(`Rule ${RULE} promoted by alice`);
    const again = await runCliCaptured(['rule', 'promote', RULE, '--local', '--by', 'alice']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`Rule ${RULE} is not demoted`);
    const audit = await runCliCaptured(['audit', '--local', '--since', '1h', '--json']);
    expect(audit.stdout).toContain(`rule ${RULE} demoted:`);
    expect(audit.stdout).toContain(`rule ${RULE} promoted by alice`);

    // Promoted, it holds again (an incident outside the holdout).
    const trusted = Array.from({ length: 6 }, (_, index) =>
      sandbox.triggerIncident({ serviceId: SANDBOX_SERVICE_ID, title: `Checkout latency above ${index + 10}s` }),
    ).find((incident) => !isHeldOut(incident.id, HOLDOUT));
    await stack.settled({ timeoutMs: 60_000 });
    expect(trusted).toBeDefined();
    expect(acknowledgedByAgent(trusted!.id)).toBe(true);
  }, 180_000);
});
