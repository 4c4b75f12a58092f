import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DEMO_AGENT_CONFIG, demoSeed } from '../../../local/demo';
import { startLocalStack, type LocalStack } from '../../../local/local-stack';
import type { RotationOutcome } from '../../../local/runner/rotation-invoker';
import { SANDBOX_API_TOKEN, SANDBOX_BOT_USER, type Sandbox } from '../../../local/sandbox';
import type { AgentSecret } from '../../../lib/secrets/agent-secret';
import { runCliCaptured } from '../../support/cli-harness';

/**
 * The quarterly runbook end to end: `pd-agent secret stage --local` stages the new key as AWSPENDING and calls
 * RotateSecret; the local stack then runs the bundled rotation function's four steps against the Secrets Manager
 * emulator and the PagerDuty sandbox, as Secrets Manager runs the rotation Lambda.
 */
describe('secret stage and the rotation function against the local stack', () => {
  const NEW_KEY = 'sandbox-rest-api-key-2025-q3';
  const REJECTED_KEY = 'sandbox-key-never-created-in-pagerduty';

  let stack: LocalStack;
  let sandbox: Sandbox;
  let secrets: SecretsManagerClient;
  const stateDir = mkdtempSync(join(tmpdir(), 'pd-agent-rotation-'));
  const previousStateDir = process.env.PD_AGENT_STATE_DIR;

  beforeAll(async () => {
    process.env.PD_AGENT_STATE_DIR = stateDir;
    stack = await startLocalStack({ port: 0, agentConfig: DEMO_AGENT_CONFIG, sandboxSeed: demoSeed() });
    sandbox = stack.sandbox as Sandbox;
    secrets = new SecretsManagerClient({ endpoint: stack.secretsManager.endpoint, region: stack.aws.region });
  }, 60_000);
  afterAll(async () => {
    secrets.destroy();
    await stack.stop();
    if (previousStateDir === undefined) delete process.env.PD_AGENT_STATE_DIR;
    else process.env.PD_AGENT_STATE_DIR = previousStateDir;
    rmSync(stateDir, { recursive: true, force: true });
  });

  const versionStages = async (): Promise<Record<string, string[]>> =>
    (await secrets.send(new DescribeSecretCommand({ SecretId: stack.secretId }))).VersionIdsToStages ?? {};
  const versionWith = (stages: Record<string, string[]>, stage: string): string | undefined =>
    Object.keys(stages).find((id) => stages[id]?.includes(stage));
  /**
   * No rotation in progress. AWS lets a rotation end with AWSPENDING on the AWSCURRENT version or on none (API
   * RotateSecret); finishSecret only moves AWSCURRENT, so it stays on the promoted version, which holds the same value.
   */
  const noRotationInProgress = (stages: Record<string, string[]>): boolean => {
    const pending = versionWith(stages, 'AWSPENDING');
    return pending === undefined || pending === versionWith(stages, 'AWSCURRENT');
  };
  const secretAt = async (stage: string): Promise<AgentSecret> =>
    JSON.parse(
      (await secrets.send(new GetSecretValueCommand({ SecretId: stack.secretId, VersionStage: stage }))).SecretString as string,
    ) as AgentSecret;

  /** `secret stage --local` with the key on stdin; returns the staged version id the CLI printed. */
  const stage = async (key: string): Promise<{ code: number; stdout: string; stderr: string; versionId: string | undefined }> => {
    const run = await runCliCaptured(['secret', 'stage', '--local'], { stdin: `${key}\n` });
    return { ...run, versionId: /\(version ([0-9a-f-]{36})\)/.exec(run.stdout)?.[1] };
  };

  /** An incident is triggered in PagerDuty; returns the sandbox requests the agent made for it once everything settled. */
  const agentHandlesAnIncident = async (title: string): Promise<{ incidentId: string; requests: ReturnType<Sandbox['requests']> }> => {
    const incident = sandbox.triggerIncident({ serviceId: 'PSVC001', title, urgency: 'high' });
    await stack.settled({ timeoutMs: 30_000 });
    // The agent's note proves it read the incident and wrote to PagerDuty with the key in use.
    expect(sandbox.notes(incident.id).map((note) => note.user.id)).toContain(SANDBOX_BOT_USER.id);
    return { incidentId: incident.id, requests: sandbox.requests({ incidentId: incident.id }) };
  };

  let rotatedVersionId: string | undefined;
  let newKeyId: string;

  it('promotes a new key the sandbox accepts: AWSCURRENT new, AWSPREVIOUS old, no rotation pending, signing secrets untouched', async () => {
    // A warm worker: it has read the secret and holds the old key in its cache.
    await agentHandlesAnIncident('Checkout answers 503 before the key rotation');
    const before = await secretAt('AWSCURRENT');
    const signingBefore = await secrets.send(new GetSecretValueCommand({ SecretId: stack.webhookSecretId }));
    const oldVersionId = versionWith(await versionStages(), 'AWSCURRENT');
    // The runbook's first step: an admin creates the new key in PagerDuty.
    newKeyId = sandbox.addApiToken(NEW_KEY);

    const run = await stage(NEW_KEY);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('started rotation of pd-agent/local');
    expect(`${run.stdout}${run.stderr}`).not.toContain(NEW_KEY);
    expect(run.versionId).toBeDefined();

    const outcomes = await stack.rotation.settled();
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toEqual<RotationOutcome>({
      request: expect.objectContaining({ secretId: stack.secretId, clientRequestToken: run.versionId }),
      completedSteps: ['createSecret', 'setSecret', 'testSecret', 'finishSecret'],
    });
    // testSecret asked PagerDuty about the bot user with the staged key.
    expect(sandbox.requests({ route: 'GET /users' }).some((request) => request.apiTokenId === newKeyId && request.status === 200)).toBe(
      true,
    );

    const stages = await versionStages();
    expect(versionWith(stages, 'AWSCURRENT')).toBe(run.versionId);
    expect(stages[oldVersionId as string]).toEqual(['AWSPREVIOUS']);
    expect(noRotationInProgress(stages)).toBe(true);
    const current = await secretAt('AWSCURRENT');
    expect(current).toEqual({ ...before, apiToken: NEW_KEY });
    // The credentials rotation has no part in the signing secrets: their document keeps its version.
    expect(current.webhookSecrets).toBeUndefined();
    const signingAfter = await secrets.send(new GetSecretValueCommand({ SecretId: stack.webhookSecretId }));
    expect(signingAfter.VersionId).toBe(signingBefore.VersionId);
    expect((await secretAt('AWSPREVIOUS')).apiToken).toBe(SANDBOX_API_TOKEN);
    rotatedVersionId = run.versionId;
  });

  it('when the old key is revoked at once, the warm agent re-reads the secret on the first 401 and goes on with the new key', async () => {
    // The runbook's last step, done immediately: the worker still has the old key cached from the first incident.
    sandbox.revokeApiToken(SANDBOX_API_TOKEN);
    const { requests } = await agentHandlesAnIncident('Checkout answers 503 after the key rotation');
    expect(requests.filter((request) => request.status === 401)).toHaveLength(1);
    const answered = requests.filter((request) => request.status !== 401);
    expect(answered.every((request) => request.apiTokenId === newKeyId)).toBe(true);
    expect(answered.some((request) => request.route === 'POST /incidents/{id}/notes' && request.status === 200)).toBe(true);
  });

  it('a key PagerDuty rejects fails testSecret with what to do, stays AWSPENDING, and the agent keeps the current key', async () => {
    const reported: string[] = [];
    const consoleError = jest.spyOn(console, 'error').mockImplementation((line: unknown) => void reported.push(String(line)));
    try {
      const run = await stage(REJECTED_KEY);
      // As in AWS, RotateSecret only starts the rotation: the CLI cannot know the outcome and says where to look.
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('pd-agent doctor');

      const outcome = (await stack.rotation.settled()).at(-1) as RotationOutcome;
      expect(outcome.request.clientRequestToken).toBe(run.versionId);
      expect(outcome.completedSteps).toEqual(['createSecret', 'setSecret']);
      expect(outcome.failedStep).toBe('testSecret');
      expect(outcome.error).toContain('PagerDuty rejected the staged key (HTTP 401)');
      expect(outcome.error).toContain('stage it again');
      expect(outcome.error).not.toContain(REJECTED_KEY);
      const line = reported.find((text) => text.startsWith('Rotation of pd-agent/local'));
      expect(line).toContain('failed at testSecret');
      expect(line).toContain('stays AWSPENDING');
      expect(reported.join('\n')).not.toContain(REJECTED_KEY);

      const stages = await versionStages();
      expect(versionWith(stages, 'AWSCURRENT')).toBe(rotatedVersionId);
      expect(versionWith(stages, 'AWSPENDING')).toBe(run.versionId);
      expect((await secretAt('AWSCURRENT')).apiToken).toBe(NEW_KEY);
      expect(sandbox.requests({ route: 'GET /users' }).some((request) => request.status === 401)).toBe(true);

      // Where the CLI told the operator to look: doctor names the stuck version and what to do.
      const doctor = await runCliCaptured(['doctor', '--local', '--json']);
      const checks = (JSON.parse(doctor.stdout) as { checks: { name: string; ok: boolean; detail: string; fix?: string }[] }).checks;
      expect(checks.find((check) => check.name === 'key rotation')).toMatchObject({
        ok: false,
        detail: expect.stringContaining(`version ${run.versionId} is staged (AWSPENDING) but was not promoted`),
        fix: expect.stringContaining('pd-agent secret stage'),
      });
      expect(doctor.stdout).not.toContain(REJECTED_KEY);
    } finally {
      consoleError.mockRestore();
    }

    const { requests } = await agentHandlesAnIncident('Checkout answers 503 after a failed rotation');
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.every((request) => request.apiTokenId === newKeyId)).toBe(true);
  });

  it('staging a good key again after the failure replaces the stuck AWSPENDING version and completes', async () => {
    const nextKey = 'sandbox-rest-api-key-2025-q3-retry';
    sandbox.addApiToken(nextKey);
    const run = await stage(nextKey);
    expect(run.code).toBe(0);
    const outcome = (await stack.rotation.settled()).at(-1) as RotationOutcome;
    expect(outcome).toEqual<RotationOutcome>({
      request: expect.objectContaining({ clientRequestToken: run.versionId }),
      completedSteps: ['createSecret', 'setSecret', 'testSecret', 'finishSecret'],
    });
    const stages = await versionStages();
    expect(versionWith(stages, 'AWSCURRENT')).toBe(run.versionId);
    expect(versionWith(stages, 'AWSPREVIOUS')).toBe(rotatedVersionId);
    expect(noRotationInProgress(stages)).toBe(true);
  });
});
