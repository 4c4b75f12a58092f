import { NO_HOLDOUT } from '../../support/agent-stack';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack, type LocalStack } from '../../../local/local-stack';
import { DEFAULT_SANDBOX_SEED, SANDBOX_PRIMARY_USER, SANDBOX_SERVICE_ID } from '../../../local/sandbox';
import type { FeedbackRow } from '../../../lib/cli/commands/report';
import type { OutcomeReport } from '../../../lib/outcomes/outcome-report';
import { runCliCaptured } from '../../support/cli-harness';

/** `pd-agent report --local` against the bundled worker: its figures match what the sandbox's humans did. */
describe('pd-agent report against the local stack', () => {
  let stack: LocalStack;
  const stateDir = mkdtempSync(join(tmpdir(), 'pd-agent-report-'));
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
  }, 90_000);

  afterAll(async () => {
    await stack.stop();
    if (previousStateDir === undefined) delete process.env.PD_AGENT_STATE_DIR;
    else process.env.PD_AGENT_STATE_DIR = previousStateDir;
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('counts each incident once per rule and finding, with verdicts, feedback overrides, takeovers and precision', async () => {
    const sandbox = stack.sandbox!;
    const confirmed = sandbox.triggerIncident({ serviceId: SANDBOX_SERVICE_ID, title: 'Checkout latency above 2s' });
    const overridden = sandbox.triggerIncident({ serviceId: SANDBOX_SERVICE_ID, title: 'Checkout latency above 5s' });
    const unrelated = sandbox.triggerIncident({ serviceId: SANDBOX_SERVICE_ID, title: 'Disk full on db-1' });
    await stack.settled({ timeoutMs: 30_000 });
    sandbox.addNoteAs(confirmed.id, SANDBOX_PRIMARY_USER.id, 'Rolled back checkout v2.3.1');
    sandbox.resolveAs(confirmed.id, SANDBOX_PRIMARY_USER.id);
    sandbox.resolveAs(overridden.id, SANDBOX_PRIMARY_USER.id);
    sandbox.addNoteAs(overridden.id, SANDBOX_PRIMARY_USER.id, 'pd-agent: wrong, it was the cache');
    sandbox.resolveAs(unrelated.id, SANDBOX_PRIMARY_USER.id);
    await stack.settled({ timeoutMs: 30_000 });

    const json = await runCliCaptured(['report', '--local', '--since', '1h', '--json']);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as OutcomeReport;
    expect(report.total).toMatchObject({ incidents: 3, confirmed: 1, contradicted: 1, unknown: 1, precision: 0.5 });
    const rule = report.byRule.find((row) => row.key === 'checkout-latency');
    expect(rule).toMatchObject({ incidents: 2, held: 2, escalated: 0, confirmed: 1, contradicted: 1, contradictedHolds: 1, takenBack: 2 });
    expect(rule?.modes).toEqual({ act: 2 });
    // Agent-first (the default) on a service that pages people first: the note only, left with the people paged.
    expect(report.byRule.find((row) => row.key === '(no rule)')).toMatchObject({
      incidents: 1,
      escalated: 0,
      leftWithOnCall: 1,
      unknown: 1,
    });

    // Who gave the feedback: the note's author, by id and by the name PagerDuty gave in the webhook.
    expect((report as OutcomeReport & { feedback: FeedbackRow[] }).feedback).toEqual([
      {
        incidentId: overridden.id,
        at: expect.any(String),
        said: 'wrong',
        by: SANDBOX_PRIMARY_USER.id,
        byName: SANDBOX_PRIMARY_USER.name,
        ruleId: 'checkout-latency',
        comment: 'it was the cache',
      },
    ]);

    const table = await runCliCaptured(['report', '--local', '--since', '1h']);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('3 incident(s): 1 confirmed, 1 contradicted, 1 unknown; precision 50%');
    expect(table.stdout).toMatch(/checkout-latency\s+█+▓+\s+50% of 2 judged/);
    expect(table.stdout).toContain('Feedback (`pd-agent: right|wrong` notes): 1');
    expect(table.stdout).toMatch(
      new RegExp(`│ ${overridden.id}\\s+│ wrong\\s+│ ${SANDBOX_PRIMARY_USER.name} \\(${SANDBOX_PRIMARY_USER.id}\\)\\s+│ checkout-latency`),
    );
    expect(table.stdout).toContain('never a runtime decision');

    const other = await runCliCaptured(['report', '--local', '--since', '1h', '--service', 'PNOSUCH', '--json']);
    expect((JSON.parse(other.stdout) as OutcomeReport).total.incidents).toBe(0);
    const doctor = await runCliCaptured(['doctor', '--local', '--json']);
    const checks = (JSON.parse(doctor.stdout) as { checks: { name: string; ok: boolean; detail: string }[] }).checks;
    expect(checks.find((check) => check.name === 'contradicted holds')).toEqual(
      expect.objectContaining({ ok: false, detail: 'rule checkout-latency: 1 of 2 hold(s) contradicted' }),
    );
    // The local stack owns its subscription, so a fresh start passes this check.
    expect(checks.find((check) => check.name === 'webhook subscriptions')).toMatchObject({ ok: true, detail: '1 enabled' });
    expect(checks.find((check) => check.name === 'rules ready for hold')).toMatchObject({
      ok: true,
      detail: expect.stringMatching(/^none yet/),
    });

    const bad = await runCliCaptured(['report', '--local', '--since', 'last-month']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--since');
  }, 60_000);
});
