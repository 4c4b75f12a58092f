import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DEMO_AGENT_CONFIG, demoSeed } from '../../../local/demo';
import { startLocalStack, type LocalStack } from '../../../local/local-stack';
import type { BeforeOperation } from '../../../local/secrets-manager-emulator';
import { SANDBOX_BOT_USER, type Sandbox } from '../../../local/sandbox';
import type { AgentSecret, WebhookSigningSecret } from '../../../lib/secrets/agent-secret';
import { SIGNING_SECRETS_MAX_AGE_MS, SigningSecretSource } from '../../../lib/secrets/signing-secret-source';
import { runCliCaptured } from '../../support/cli-harness';

/**
 * The split layout end to end against the local stack (Secrets Manager emulator, PagerDuty sandbox, bundled handlers):
 * subscribe stores the secret before PagerDuty may deliver, a credentials rotation cannot lose a subscription added
 * while it runs, concurrent writers lose no entry, revoke deletes the subscription before its secret (or, for a leaked
 * one, the secret first), and `secret split` migrates a stack deployed before the split.
 */
describe('webhook signing secrets in their own secret', () => {
  let stack: LocalStack;
  let sandbox: Sandbox;
  let secrets: SecretsManagerClient;
  let releaseRotation: (() => void) | undefined;
  let rotationHeld: Promise<void> = Promise.resolve();
  /** What the Secrets Manager emulator awaits before each call, while a test sets it. */
  let beforeSecretsCall: BeforeOperation | undefined;
  const stateDir = mkdtempSync(join(tmpdir(), 'pd-agent-signing-'));
  const previousStateDir = process.env.PD_AGENT_STATE_DIR;

  beforeAll(async () => {
    process.env.PD_AGENT_STATE_DIR = stateDir;
    stack = await startLocalStack({
      port: 0,
      agentConfig: DEMO_AGENT_CONFIG,
      sandboxSeed: demoSeed(),
      beforeRotationSteps: () => rotationHeld,
      beforeSecretsManagerOperation: async (operation, input) => beforeSecretsCall?.(operation, input),
    });
    sandbox = stack.sandbox as Sandbox;
    secrets = new SecretsManagerClient({
      endpoint: stack.secretsManager.endpoint,
      region: stack.aws.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  }, 60_000);
  afterEach(() => {
    beforeSecretsCall = undefined;
    sandbox.faults.clear();
  });
  afterAll(async () => {
    releaseRotation?.();
    secrets.destroy();
    await stack.stop();
    if (previousStateDir === undefined) delete process.env.PD_AGENT_STATE_DIR;
    else process.env.PD_AGENT_STATE_DIR = previousStateDir;
    rmSync(stateDir, { recursive: true, force: true });
  });

  const read = async (secretId: string, stage = 'AWSCURRENT'): Promise<Record<string, unknown>> =>
    JSON.parse((await secrets.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }))).SecretString as string);
  const signing = async (stage = 'AWSCURRENT'): Promise<WebhookSigningSecret[]> =>
    (await read(stack.webhookSecretId, stage)).webhookSecrets as WebhookSigningSecret[];
  const credentials = async (): Promise<AgentSecret> => (await read(stack.secretId)) as unknown as AgentSecret;
  const subscribe = async (): Promise<string> => {
    const run = await runCliCaptured(['webhook', 'subscribe', '--local', '--json']);
    expect(run.code).toBe(0);
    return (JSON.parse(run.stdout) as { id: string }).id;
  };
  const sendSignedWith = async (secret: string): Promise<number> => {
    const run = await runCliCaptured(['send-test', 'pagey_ping', '--url', stack.webhookUrl, '--secret-stdin', '--json'], { stdin: secret });
    return (JSON.parse(run.stdout) as { results: { status: number }[] }).results[0].status;
  };
  /** A fresh ingress read (a cold start, or a warm one once its cache has expired) of the stack's signing secrets. */
  const ingressTrusts = async (): Promise<readonly string[]> =>
    new SigningSecretSource({ client: secrets, secretId: stack.webhookSecretId }).getWebhookSecrets();

  it('keeps the signing secrets out of the credentials secret', async () => {
    expect((await credentials()).webhookSecrets).toBeUndefined();
    expect((await signing()).length).toBe(1);
  });

  it('subscribe creates the subscription inactive, stores its secret, then activates it; its deliveries verify', async () => {
    const before = sandbox.requests({ route: 'PUT /webhook_subscriptions/{id}' }).length;
    const id = await subscribe();
    const stored = (await signing()).find((entry) => entry.subscriptionId === id);
    expect(stored?.secret).toBeTruthy();
    const create = sandbox.requests({ route: 'POST /webhook_subscriptions' }).at(-1)!;
    const activate = sandbox.requests({ route: 'PUT /webhook_subscriptions/{id}' });
    expect(activate).toHaveLength(before + 1);
    expect(activate.at(-1)!.seq).toBeGreaterThan(create.seq);
    expect(sandbox.subscriptions().find((subscription) => subscription.id === id)?.active).toBe(true);

    const incident = sandbox.triggerIncident({ serviceId: 'PSVC001', title: 'Disk full on db-1', urgency: 'high' });
    await stack.settled({ timeoutMs: 30_000 });
    const deliveries = sandbox.deliveries({ incidentId: incident.id }).filter((delivery) => delivery.subscriptionId === id);
    expect(deliveries.length).toBeGreaterThan(0);
    expect(deliveries.every((delivery) => delivery.outcome === 'delivered')).toBe(true);
    expect(sandbox.notes(incident.id).map((note) => note.user.id)).toContain(SANDBOX_BOT_USER.id);
  });

  it('a subscription added while a key rotation is staged keeps its secret after the promotion (no 48-hour cliff)', async () => {
    rotationHeld = new Promise((resolve) => {
      releaseRotation = resolve;
    });
    const newKey = 'sandbox-rest-api-key-during-subscribe';
    sandbox.addApiToken(newKey);
    const staged = await runCliCaptured(['secret', 'stage', '--local'], { stdin: `${newKey}\n` });
    expect(staged.code).toBe(0);

    const added = await subscribe();
    releaseRotation?.();
    const outcome = (await stack.rotation.settled()).at(-1);
    expect(outcome?.completedSteps).toEqual(['createSecret', 'setSecret', 'testSecret', 'finishSecret']);
    expect((await credentials()).apiToken).toBe(newKey);

    const addedSecret = (await signing()).find((entry) => entry.subscriptionId === added)?.secret as string;
    expect(addedSecret).toBeTruthy();
    // Only AWSCURRENT is trusted, and the rotation never touched this document: no grace period can run out.
    expect(await ingressTrusts()).toContain(addedSecret);
    expect(await sendSignedWith(addedSecret)).toBe(200);
  });

  /** The DELETEs PagerDuty had received of `id` each time AWSCURRENT of the signing secrets was moved. */
  const deletesAtEachSwap = (id: string): number[] => {
    const seen: number[] = [];
    beforeSecretsCall = async (operation, input) => {
      if (operation === 'UpdateSecretVersionStage' && input.SecretId === stack.webhookSecretId) {
        seen.push(sandbox.requests({ route: 'DELETE /webhook_subscriptions/{id}' }).filter((request) => request.path.endsWith(id)).length);
      }
    };
    return seen;
  };

  it('two subscribes at once keep both secrets: the write that lost the race for AWSCURRENT is applied again', async () => {
    let reached!: () => void;
    const firstIsWriting = new Promise<void>((resolve) => {
      reached = resolve;
    });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let holding = true;
    // The first subscribe has read AWSCURRENT and is about to write; it waits there until the second one has finished.
    beforeSecretsCall = async (operation, input) => {
      if (holding && operation === 'PutSecretValue' && input.SecretId === stack.webhookSecretId) {
        holding = false;
        reached();
        await released;
      }
    };
    const first = runCliCaptured(['webhook', 'subscribe', '--local', '--json']);
    await firstIsWriting;
    const second = await subscribe();
    release();
    const firstRun = await first;
    expect(firstRun.code).toBe(0);
    const firstId = (JSON.parse(firstRun.stdout) as { id: string }).id;

    const stored = await signing();
    for (const id of [firstId, second]) {
      const secret = stored.find((entry) => entry.subscriptionId === id)?.secret as string;
      expect(secret).toBeTruthy();
      expect(sandbox.subscriptions().find((subscription) => subscription.id === id)?.active).toBe(true);
      expect(await ingressTrusts()).toContain(secret);
    }
    for (const id of [firstId, second]) expect((await runCliCaptured(['webhook', 'revoke', id, '--local', '--yes'])).code).toBe(0);
  });

  it('revoke deletes the subscription in PagerDuty first, then writes a new AWSCURRENT without its secret', async () => {
    const id = await subscribe();
    const secret = (await signing()).find((entry) => entry.subscriptionId === id)?.secret as string;
    const clock = { now: Date.now() };
    const warmIngress = new SigningSecretSource({ client: secrets, secretId: stack.webhookSecretId, now: () => clock.now });
    expect(await warmIngress.getWebhookSecrets()).toContain(secret);
    const deletes = deletesAtEachSwap(id);

    const run = await runCliCaptured(['webhook', 'revoke', id, '--local', '--yes']);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain(secret);
    // While PagerDuty could still deliver on the subscription, its secret was trusted: no delivery was refused.
    expect(deletes).toEqual([1]);
    expect((await signing()).some((entry) => entry.subscriptionId === id)).toBe(false);
    expect(sandbox.subscriptions().some((subscription) => subscription.id === id)).toBe(false);
    // The revoked secret is in AWSPREVIOUS now, which the ingress never trusts.
    expect((await signing('AWSPREVIOUS')).some((entry) => entry.secret === secret)).toBe(true);
    expect(await ingressTrusts()).not.toContain(secret);
    clock.now += SIGNING_SECRETS_MAX_AGE_MS;
    expect(await warmIngress.getWebhookSecrets()).not.toContain(secret);
  });

  it('revoke whose delete fails in PagerDuty keeps the secret trusted and says to run it again, which finishes it', async () => {
    const id = await subscribe();
    const secret = (await signing()).find((entry) => entry.subscriptionId === id)?.secret as string;
    sandbox.faults.script('DELETE /webhook_subscriptions/{id}', [{ status: 500 }]);

    const failed = await runCliCaptured(['webhook', 'revoke', id, '--local', '--yes']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('its signing secret is still stored, so its deliveries still verify');
    expect(failed.stderr).toContain(`pd-agent webhook revoke ${id} --local --yes`);
    expect(await ingressTrusts()).toContain(secret);

    const again = await runCliCaptured(['webhook', 'revoke', id, '--local', '--yes']);
    expect(again.code).toBe(0);
    expect(sandbox.subscriptions().some((subscription) => subscription.id === id)).toBe(false);
    expect((await signing()).some((entry) => entry.subscriptionId === id)).toBe(false);
  });

  it('revoke --leaked stops trusting the secret before deleting the subscription; a failed delete is finished by running it again', async () => {
    const id = await subscribe();
    const secret = (await signing()).find((entry) => entry.subscriptionId === id)?.secret as string;
    const deletes = deletesAtEachSwap(id);
    sandbox.faults.script('DELETE /webhook_subscriptions/{id}', [{ status: 500 }]);

    const failed = await runCliCaptured(['webhook', 'revoke', id, '--local', '--leaked', '--yes']);
    expect(failed.code).toBe(1);
    expect(deletes).toEqual([0]);
    expect(failed.stderr).toContain('Its secret is already revoked, so its deliveries are refused (401) until it is deleted.');
    expect(failed.stderr).toContain(`pd-agent webhook revoke ${id} --local --leaked --yes`);
    expect(failed.stdout + failed.stderr).not.toContain(secret);
    expect(await ingressTrusts()).not.toContain(secret);
    expect(sandbox.subscriptions().some((subscription) => subscription.id === id)).toBe(true);

    const again = await runCliCaptured(['webhook', 'revoke', id, '--local', '--leaked', '--yes']);
    expect(again.code).toBe(0);
    expect(sandbox.subscriptions().some((subscription) => subscription.id === id)).toBe(false);
  });

  it('revoke refuses an unknown subscription, changing nothing', async () => {
    const before = await signing();
    const run = await runCliCaptured(['webhook', 'revoke', 'PNOSUCH', '--local', '--yes']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('No signing secret of subscription PNOSUCH');
    expect(await signing()).toEqual(before);
  });

  it('migrates a stack deployed before the split with `secret split`, and doctor says which layout it sees', async () => {
    // The state after `cdk deploy` of a stack whose signing secrets still live in the credentials secret.
    const live = await signing();
    const creds = await credentials();
    await secrets.send(
      new PutSecretValueCommand({ SecretId: stack.secretId, SecretString: JSON.stringify({ ...creds, webhookSecrets: live }) }),
    );
    await secrets.send(
      new PutSecretValueCommand({
        SecretId: stack.webhookSecretId,
        SecretString: JSON.stringify({ notSet: 'run pd-agent secret split', placeholder: 'x' }),
      }),
    );
    const layoutCheck = async () => {
      const doctor = await runCliCaptured(['doctor', '--local', '--json']);
      return (JSON.parse(doctor.stdout) as { checks: { name: string; ok: boolean; detail: string; fix?: string }[] }).checks.find(
        (check) => check.name === 'secret layout',
      );
    };
    expect(await layoutCheck()).toMatchObject({
      ok: false,
      detail: expect.stringContaining('migration pending'),
      fix: 'Run `pd-agent secret split --local`.',
    });

    // Until it is split, nothing may snapshot or write the signing secrets in the old place.
    const refused = await runCliCaptured(['webhook', 'subscribe', '--local']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('pd-agent secret split --local');
    const stage = await runCliCaptured(['secret', 'stage', '--local'], { stdin: 'another-key\n' });
    expect(stage.code).toBe(1);
    expect(stage.stderr).toContain('pd-agent secret split --local');
    // The ingress of a migrating stack (WEBHOOK_SECRET_ID and SECRET_ID) still verifies every delivery meanwhile.
    expect(await sendSignedWith(live[0].secret)).toBe(200);

    const split = await runCliCaptured(['secret', 'split', '--local']);
    expect(split.code).toBe(0);
    expect(split.stdout).toContain(`Moved ${live.length} signing secret(s)`);
    expect(await signing()).toEqual(live);
    expect((await credentials()).webhookSecrets).toBeUndefined();
    expect((await credentials()).apiToken).toBe(creds.apiToken);
    expect(await layoutCheck()).toMatchObject({ ok: true, detail: expect.stringContaining('split') });

    const again = await runCliCaptured(['secret', 'split', '--local']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Already split');
    for (const entry of live) expect(await sendSignedWith(entry.secret)).toBe(200);
  });
});
