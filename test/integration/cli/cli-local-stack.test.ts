import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendMessageCommand, SQSClient, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { startLocalStack, type LocalStack } from '../../../local/local-stack';
import { demoSeed, DEMO_AGENT_CONFIG } from '../../../local/demo';
import { runCliCaptured } from '../../support/cli-harness';

describe('pd-agent CLI against the local stack and the PagerDuty sandbox', () => {
  let stack: LocalStack;
  let secrets: SecretsManagerClient;
  let sqs: SQSClient;

  const stateDir = mkdtempSync(join(tmpdir(), 'pd-agent-cli-'));
  const previousStateDir = process.env.PD_AGENT_STATE_DIR;

  beforeAll(async () => {
    process.env.PD_AGENT_STATE_DIR = stateDir;
    stack = await startLocalStack({ port: 0, agentConfig: DEMO_AGENT_CONFIG, sandboxSeed: demoSeed() });
    secrets = new SecretsManagerClient({ endpoint: stack.secretsManager.endpoint, region: stack.aws.region });
    sqs = new SQSClient({ endpoint: stack.aws.sqsEndpoint, region: stack.aws.region });
  }, 60_000);
  afterAll(async () => {
    secrets.destroy();
    sqs.destroy();
    await stack.stop();
    if (previousStateDir === undefined) delete process.env.PD_AGENT_STATE_DIR;
    else process.env.PD_AGENT_STATE_DIR = previousStateDir;
    rmSync(stateDir, { recursive: true, force: true });
  });

  const secretValue = async (): Promise<{
    apiToken?: string;
    webhookSecrets?: { subscriptionId: string; secret: string }[];
    fromEmail: string;
  }> => JSON.parse((await secrets.send(new GetSecretValueCommand({ SecretId: stack.secretId }))).SecretString as string);
  const signingSecrets = async (): Promise<{ subscriptionId: string; secret: string }[]> =>
    JSON.parse((await secrets.send(new GetSecretValueCommand({ SecretId: stack.webhookSecretId }))).SecretString as string).webhookSecrets;

  it('refuses to run without --env or --local, saying what to do', async () => {
    const run = await runCliCaptured(['audit', '--since', '1h']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('No environment was chosen');
    expect(run.stderr).toContain('--env <name>');
  });

  it('send-test delivers a signed fixture (202), a duplicate (200) and a forged one (401)', async () => {
    const twice = await runCliCaptured(['send-test', 'triggered_v3', '--local', '--twice', '--json']);
    expect(twice.code).toBe(0);
    expect(JSON.parse(twice.stdout).results.map((result: { status: number }) => result.status)).toEqual([202, 200]);
    const forged = await runCliCaptured(['send-test', 'triggered_v3', '--local', '--bad-signature', '--json']);
    expect(JSON.parse(forged.stdout).results[0].status).toBe(401);
    await stack.settled({ timeoutMs: 30_000 });
  });

  it('send-test signs with a secret from stdin and delivers to --url', async () => {
    const webhookSecrets = await signingSecrets();
    const run = await runCliCaptured(['send-test', 'pagey_ping', '--url', stack.webhookUrl, '--secret-stdin', '--json'], {
      stdin: webhookSecrets[0].secret,
    });
    expect(JSON.parse(run.stdout).results[0].status).toBe(200);
    expect(run.stdout).not.toContain(webhookSecrets[0].secret);
  });

  it('audit reads the trail by time range with filters, and by incident', async () => {
    const incident = stack.sandbox?.triggerIncident({ serviceId: 'PSVC001', title: 'Payment provider answers 503', urgency: 'high' });
    await stack.settled({ timeoutMs: 30_000 });
    const byTime = await runCliCaptured(['audit', '--local', '--since', '1h', '--action', 'note', '--json']);
    expect(byTime.code).toBe(0);
    const rows = JSON.parse(byTime.stdout) as { action: string; incidentId: string }[];
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((row) => row.action === 'note')).toBe(true);
    expect(rows.map((row) => row.incidentId)).toContain(incident?.id);
    const byIncident = await runCliCaptured(['audit', '--local', '--incident', incident?.id as string]);
    expect(byIncident.stdout).toContain('triage');
    expect(byIncident.stdout).toContain('note');
    expect(byIncident.stdout).toMatch(/\d+ row\(s\)/);
    const wrong = await runCliCaptured(['audit', '--local', '--since', 'yesterday-ish']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('neither a duration nor a date');
  });

  it('secret set reads the document from stdin, leaves the signing secrets alone, never echoes values, and refuses a bad shape', async () => {
    const before = await secretValue();
    const signingBefore = await signingSecrets();
    const bad = await runCliCaptured(['secret', 'set', '--local'], {
      stdin: JSON.stringify({ apiToken: 'new-key-123', fromEmail: 'not-an-email', botUserId: 'PBOT001' }),
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('fromEmail');
    expect(bad.stderr).not.toContain('new-key-123');
    expect(await secretValue()).toEqual(before);
    const good = await runCliCaptured(['secret', 'set', '--local'], {
      stdin: JSON.stringify({ apiToken: before.apiToken, fromEmail: before.fromEmail, botUserId: 'PBOT001' }),
    });
    expect(good.code).toBe(0);
    expect(good.stdout).not.toContain(before.apiToken as string);
    expect((await secretValue()).webhookSecrets).toBeUndefined();
    expect(await signingSecrets()).toEqual(signingBefore);
    const misplaced = await runCliCaptured(['secret', 'set', '--local'], {
      stdin: JSON.stringify({ apiToken: before.apiToken, fromEmail: before.fromEmail, botUserId: 'PBOT001', webhookSecrets: [] }),
    });
    expect(misplaced.code).toBe(1);
    expect(misplaced.stderr).toContain('pd-agent webhook subscribe');
  });

  it('webhook subscribe creates the subscription and stores its secret without printing it; rotate swaps it', async () => {
    const subscribe = await runCliCaptured(['webhook', 'subscribe', '--local', '--scope', 'service', '--scope-id', 'PSVC001', '--json']);
    expect(subscribe.code).toBe(0);
    const created = JSON.parse(subscribe.stdout) as { id: string; url: string };
    expect(created.url).toBe(stack.webhookUrl);
    const stored = (await signingSecrets()).find((entry) => entry.subscriptionId === created.id);
    expect(stored?.secret).toBeTruthy();
    expect(subscribe.stdout).not.toContain(stored?.secret as string);

    const rotate = await runCliCaptured(['webhook', 'rotate', '--local', '--subscription', created.id, '--yes']);
    expect(rotate.code).toBe(0);
    const after = await signingSecrets();
    expect(after.some((entry) => entry.subscriptionId === created.id)).toBe(false);
    const live = stack.sandbox?.subscriptions().map((subscription) => subscription.id) ?? [];
    expect(live).not.toContain(created.id);
    const replacement = after.find((entry) => live.includes(entry.subscriptionId));
    expect(replacement).toBeDefined();

    const status = await runCliCaptured(['webhook', 'status', '--local', '--json']);
    const listed = JSON.parse(status.stdout) as {
      subscriptions: { id: string; temporarilyDisabled: boolean; signingSecretStored: boolean }[];
    };
    expect(listed.subscriptions.find((subscription) => subscription.id === replacement?.subscriptionId)).toMatchObject({
      temporarilyDisabled: false,
      signingSecretStored: true,
    });
  });

  it('redrive moves dead-lettered messages back with their group, and doctor reports the dead-letter depth', async () => {
    // Stopped first: the runner's handback poller would otherwise take the dead letter in flight before redrive sees it.
    await stack.runner.stop();
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.aws.deadLetterQueueUrl,
        MessageBody: 'not a queued event',
        MessageGroupId: 'PINCDLQ',
        MessageDeduplicationId: 'dlq-1',
      }),
    );
    const doctor = await runCliCaptured(['doctor', '--local', '--json']);
    const report = JSON.parse(doctor.stdout) as { checks: { name: string; ok: boolean; detail: string }[] };
    expect(report.checks.find((check) => check.name === 'dead-letter queue')).toMatchObject({ ok: false, detail: '1 message(s) waiting' });
    expect(report.checks.find((check) => check.name === 'secret shape')?.ok).toBe(true);
    expect(report.checks.find((check) => check.name === 'PagerDuty key')?.ok).toBe(true);
    expect(report.checks.find((check) => check.name === 'agent identity')?.ok).toBe(true);
    expect(doctor.code).toBe(1);

    const redrive = await runCliCaptured(['redrive', '--local', '--json']);
    expect(JSON.parse(redrive.stdout)).toMatchObject({ moved: 1 });
    const depth = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: stack.aws.queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    expect(depth.Attributes?.ApproximateNumberOfMessages).toBe('1');
  });
});
