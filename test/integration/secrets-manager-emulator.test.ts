import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  RotateSecretCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
  InvalidRequestException,
  ResourceExistsException,
} from '@aws-sdk/client-secrets-manager';
import { startSecretsManagerEmulator, type RotationRequest, type SecretsManagerEmulator } from '../../local/secrets-manager-emulator';

describe('local Secrets Manager emulator, through the real SDK client', () => {
  let emulator: SecretsManagerEmulator;
  let client: SecretsManagerClient;
  const rotated: RotationRequest[] = [];

  beforeAll(async () => {
    emulator = await startSecretsManagerEmulator({ onRotate: async (request) => void rotated.push(request) });
    client = new SecretsManagerClient({ endpoint: emulator.endpoint, region: 'us-east-1' });
  });
  afterAll(async () => {
    client.destroy();
    await emulator.stop();
  });

  const stagesOf = async (secretId: string): Promise<Record<string, string[]>> =>
    (await client.send(new DescribeSecretCommand({ SecretId: secretId }))).VersionIdsToStages ?? {};

  it('creates a secret whose first value is AWSCURRENT, readable by name and by ARN', async () => {
    const created = await client.send(new CreateSecretCommand({ Name: 'pd-agent/create', SecretString: '{"a":1}' }));
    expect(created.ARN).toMatch(/^arn:aws:secretsmanager:us-east-1:\d{12}:secret:pd-agent\/create-/);
    const byName = await client.send(new GetSecretValueCommand({ SecretId: 'pd-agent/create' }));
    expect(byName.SecretString).toBe('{"a":1}');
    expect(byName.VersionStages).toEqual(['AWSCURRENT']);
    expect(byName.CreatedDate).toBeInstanceOf(Date);
    const byArn = await client.send(new GetSecretValueCommand({ SecretId: created.ARN }));
    expect(byArn.VersionId).toBe(created.VersionId);
  });

  it('refuses to create the same name twice', async () => {
    await client.send(new CreateSecretCommand({ Name: 'pd-agent/twice', SecretString: 'x' }));
    await expect(client.send(new CreateSecretCommand({ Name: 'pd-agent/twice', SecretString: 'y' }))).rejects.toBeInstanceOf(
      ResourceExistsException,
    );
  });

  it('answers ResourceNotFoundException for an unknown secret and for a stage with no version', async () => {
    await expect(client.send(new GetSecretValueCommand({ SecretId: 'pd-agent/missing' }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    await client.send(new CreateSecretCommand({ Name: 'pd-agent/nopending', SecretString: 'x' }));
    await expect(
      client.send(new GetSecretValueCommand({ SecretId: 'pd-agent/nopending', VersionStage: 'AWSPENDING' })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('moves AWSPREVIOUS with AWSCURRENT when a new value is put', async () => {
    const first = await client.send(new CreateSecretCommand({ Name: 'pd-agent/put', SecretString: 'one' }));
    const second = await client.send(new PutSecretValueCommand({ SecretId: 'pd-agent/put', SecretString: 'two' }));
    expect(await stagesOf('pd-agent/put')).toEqual({
      [first.VersionId as string]: ['AWSPREVIOUS'],
      [second.VersionId as string]: ['AWSCURRENT'],
    });
    const previous = await client.send(new GetSecretValueCommand({ SecretId: 'pd-agent/put', VersionStage: 'AWSPREVIOUS' }));
    expect(previous.SecretString).toBe('one');
  });

  it('stages a pending value by ClientRequestToken without touching AWSCURRENT, and is idempotent on the token', async () => {
    await client.send(new CreateSecretCommand({ Name: 'pd-agent/pending', SecretString: 'old' }));
    const token = 'a1b2c3d4-0000-4000-8000-000000000001';
    const put = { SecretId: 'pd-agent/pending', SecretString: 'new', ClientRequestToken: token, VersionStages: ['AWSPENDING'] };
    await client.send(new PutSecretValueCommand(put));
    await client.send(new PutSecretValueCommand(put));
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'pd-agent/pending' }))).SecretString).toBe('old');
    const pending = await client.send(
      new GetSecretValueCommand({ SecretId: 'pd-agent/pending', VersionId: token, VersionStage: 'AWSPENDING' }),
    );
    expect(pending.SecretString).toBe('new');
    await expect(client.send(new PutSecretValueCommand({ ...put, SecretString: 'different' }))).rejects.toBeInstanceOf(
      ResourceExistsException,
    );
  });

  it('finishes a rotation the way a rotation function does: AWSCURRENT moves, AWSPREVIOUS follows, AWSPENDING removed', async () => {
    const created = await client.send(new CreateSecretCommand({ Name: 'pd-agent/finish', SecretString: 'old' }));
    const token = 'a1b2c3d4-0000-4000-8000-000000000002';
    await client.send(
      new PutSecretValueCommand({
        SecretId: 'pd-agent/finish',
        SecretString: 'new',
        ClientRequestToken: token,
        VersionStages: ['AWSPENDING'],
      }),
    );
    await client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: 'pd-agent/finish',
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: token,
        RemoveFromVersionId: created.VersionId,
      }),
    );
    await client.send(
      new UpdateSecretVersionStageCommand({ SecretId: 'pd-agent/finish', VersionStage: 'AWSPENDING', RemoveFromVersionId: token }),
    );
    expect(await stagesOf('pd-agent/finish')).toEqual({
      [created.VersionId as string]: ['AWSPREVIOUS'],
      [token]: ['AWSCURRENT'],
    });
    const versions = await client.send(new ListSecretVersionIdsCommand({ SecretId: 'pd-agent/finish' }));
    expect(versions.Versions?.map((version) => version.VersionId).sort()).toEqual([created.VersionId, token].sort());
  });

  it('refuses to move a label without naming the version that holds it, as the service does', async () => {
    const created = await client.send(new CreateSecretCommand({ Name: 'pd-agent/strict', SecretString: 'old' }));
    const put = await client.send(
      new PutSecretValueCommand({ SecretId: 'pd-agent/strict', SecretString: 'new', VersionStages: ['AWSPENDING'] }),
    );
    await expect(
      client.send(
        new UpdateSecretVersionStageCommand({ SecretId: 'pd-agent/strict', VersionStage: 'AWSCURRENT', MoveToVersionId: put.VersionId }),
      ),
    ).rejects.toThrow(/RemoveFromVersionId/);
    expect((await stagesOf('pd-agent/strict'))[created.VersionId as string]).toEqual(['AWSCURRENT']);
  });

  it('refuses to move AWSCURRENT off a version that no longer holds it: the compare-and-swap pd-agent writes rely on', async () => {
    const created = await client.send(new CreateSecretCommand({ Name: 'pd-agent/cas', SecretString: 'one' }));
    const proposal = { SecretId: 'pd-agent/cas', VersionStages: ['PDAGENT_PROPOSED'] };
    const mine = await client.send(new PutSecretValueCommand({ ...proposal, SecretString: 'mine' }));
    const theirs = await client.send(new PutSecretValueCommand({ SecretId: 'pd-agent/cas', SecretString: 'theirs' }));
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'pd-agent/cas' }))).SecretString).toBe('theirs');
    await expect(
      client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: 'pd-agent/cas',
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: mine.VersionId,
          RemoveFromVersionId: created.VersionId,
        }),
      ),
    ).rejects.toThrow(/RemoveFromVersionId/);
    expect((await stagesOf('pd-agent/cas'))[theirs.VersionId as string]).toEqual(['AWSCURRENT']);
  });

  it('awaits beforeOperation before handling a call, so a test can hold one writer while another runs', async () => {
    let reached!: () => void;
    const putArrived = new Promise<void>((resolve) => {
      reached = resolve;
    });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const holding = await startSecretsManagerEmulator({
      beforeOperation: async (operation, input) => {
        if (operation !== 'PutSecretValue' || input.SecretId !== 'pd-agent/held') return;
        reached();
        await held;
      },
    });
    const holdingClient = new SecretsManagerClient({ endpoint: holding.endpoint, region: 'us-east-1' });
    const current = async (): Promise<string | undefined> =>
      (await holdingClient.send(new GetSecretValueCommand({ SecretId: 'pd-agent/held' }))).SecretString;
    try {
      await holdingClient.send(new CreateSecretCommand({ Name: 'pd-agent/held', SecretString: 'one' }));
      const put = holdingClient.send(new PutSecretValueCommand({ SecretId: 'pd-agent/held', SecretString: 'two' }));
      await putArrived;
      expect(await current()).toBe('one');
      release();
      await put;
      expect(await current()).toBe('two');
    } finally {
      holdingClient.destroy();
      await holding.stop();
    }
  });

  it('records RotateSecret, enables rotation and calls the rotation callback with the token', async () => {
    await client.send(new CreateSecretCommand({ Name: 'pd-agent/rotate', SecretString: 'old' }));
    const token = 'a1b2c3d4-0000-4000-8000-000000000003';
    await client.send(
      new PutSecretValueCommand({
        SecretId: 'pd-agent/rotate',
        SecretString: 'new',
        ClientRequestToken: token,
        VersionStages: ['AWSPENDING'],
      }),
    );
    const answer = await client.send(
      new RotateSecretCommand({
        SecretId: 'pd-agent/rotate',
        ClientRequestToken: token,
        RotationLambdaARN: 'arn:aws:lambda:us-east-1:000000000000:function:rotate',
      }),
    );
    expect(answer.VersionId).toBe(token);
    expect(rotated.at(-1)).toMatchObject({ secretId: 'pd-agent/rotate', clientRequestToken: token, rotateImmediately: true });
    expect(emulator.rotations.at(-1)?.clientRequestToken).toBe(token);
    const description = await client.send(new DescribeSecretCommand({ SecretId: 'pd-agent/rotate' }));
    expect(description.RotationEnabled).toBe(true);
    expect(description.LastRotatedDate).toBeInstanceOf(Date);
  });

  it('refuses a new rotation while another version is AWSPENDING', async () => {
    await client.send(new CreateSecretCommand({ Name: 'pd-agent/busy', SecretString: 'old' }));
    await client.send(new PutSecretValueCommand({ SecretId: 'pd-agent/busy', SecretString: 'new', VersionStages: ['AWSPENDING'] }));
    await expect(client.send(new RotateSecretCommand({ SecretId: 'pd-agent/busy' }))).rejects.toBeInstanceOf(InvalidRequestException);
  });
});
