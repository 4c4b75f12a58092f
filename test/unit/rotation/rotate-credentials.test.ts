import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidParameterException,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { createTelemetry, MetricName } from '../../../lib/observability/telemetry';
import { PagerDutyApiError } from '../../../lib/pagerduty/errors';
import type { EventsApi, EventsApiEvent, PagerDutyApi, PagerDutyResponse, User } from '../../../lib/pagerduty/types';
import type { AgentSecret } from '../../../lib/secrets/agent-secret';
import { createRotationHandler, NothingStagedError, RotationError, rotationDedupKey } from '../../../lib/rotation/rotate-credentials';

const SECRET_ID = 'arn:aws:secretsmanager:us-east-1:111111111111:secret:pd-agent/dev-AbCdEf';
const TOKEN = 'version-new';
const CURRENT_VERSION = 'version-old';
const OLD_TOKEN_VALUE = 'u+oldOLDold-key-value';
const NEW_TOKEN_VALUE = 'y_newNEWnew-key-value';

const currentSecret: AgentSecret = {
  apiToken: OLD_TOKEN_VALUE,
  fromEmail: 'sre-agent@acme.example',
  botUserId: 'PBOT123',
  webhookSecrets: [{ subscriptionId: 'PSUB1', secret: 'whsec-current-value' }],
  eventsRoutingKey: 'R0UTINGKEY0000000000000000000000',
};
const pendingSecret: AgentSecret = { ...currentSecret, apiToken: NEW_TOKEN_VALUE };

const response = <T>(value: T, status = 200): PagerDutyResponse<T> => ({
  value,
  status,
  requestId: 'req-1',
  rateLimit: { limit: null, remaining: null, resetSeconds: null },
  durationMs: 5,
});

/** A PagerDuty client with only the calls a test expects; any other call fails the test loudly. */
function fakePagerDuty(calls: Partial<PagerDutyApi>): PagerDutyApi {
  return new Proxy(calls, {
    get(target, property: string) {
      const call = target[property as keyof PagerDutyApi];
      if (call === undefined) throw new Error(`rotation called PagerDuty ${property}, which it must not`);
      return call;
    },
  }) as PagerDutyApi;
}

const botUser: User = { id: 'PBOT123', type: 'user', name: 'SRE agent', email: 'SRE-Agent@acme.example' };

const secretsManager = mockClient(SecretsManagerClient);

interface Harness {
  run: (step: string) => Promise<void>;
  sentEvents: EventsApiEvent[];
  metricNames: () => string[];
  clientsBuiltFor: AgentSecret[];
  findUsersByEmail: jest.Mock;
}

function harness(options: { findUsers?: () => Promise<PagerDutyResponse<User[]>>; eventsFail?: boolean; now?: Date } = {}): Harness {
  const telemetry = createTelemetry('rotate-secret', { AGENT_ENV: 'dev' });
  const addMetric = jest.spyOn(telemetry.metrics, 'addMetric');
  jest.spyOn(telemetry.metrics, 'publishStoredMetrics').mockImplementation(() => telemetry.metrics);
  const sentEvents: EventsApiEvent[] = [];
  const eventsApi: EventsApi = {
    send: async (event) => {
      sentEvents.push(event);
      if (options.eventsFail === true) throw new Error('events.pagerduty.com unreachable');
      return response({ dedup_key: event.dedupKey }, 202);
    },
  };
  const findUsersByEmail = jest.fn(options.findUsers ?? (async () => response([botUser])));
  const clientsBuiltFor: AgentSecret[] = [];
  const handler = createRotationHandler({
    secretsManager: new SecretsManagerClient({}),
    pagerDutyFor: (secret) => {
      clientsBuiltFor.push(secret);
      return fakePagerDuty({ findUsersByEmail });
    },
    eventsApi,
    environment: 'dev',
    telemetry,
    now: () => options.now ?? new Date('2026-08-15T03:00:00Z'),
  });
  return {
    run: (step) => handler({ SecretId: SECRET_ID, ClientRequestToken: TOKEN, Step: step }),
    sentEvents,
    metricNames: () => addMetric.mock.calls.map(([name]) => name),
    clientsBuiltFor,
    findUsersByEmail,
  };
}

function describeWith(versions: Record<string, string[]>, rotationEnabled = true): void {
  secretsManager.on(DescribeSecretCommand).resolves({ ARN: SECRET_ID, RotationEnabled: rotationEnabled, VersionIdsToStages: versions });
}

const stagedVersions = { [CURRENT_VERSION]: ['AWSCURRENT'], [TOKEN]: ['AWSPENDING'] };

function storeValues(current: unknown, pending: unknown): void {
  secretsManager
    .on(GetSecretValueCommand, { SecretId: SECRET_ID, VersionStage: 'AWSCURRENT' })
    .resolves({ SecretString: JSON.stringify(current) });
  const pendingCall = secretsManager.on(GetSecretValueCommand, { SecretId: SECRET_ID, VersionStage: 'AWSPENDING', VersionId: TOKEN });
  if (pending === 'not-staged') {
    pendingCall.rejects(
      new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret value for VersionId", $metadata: {} }),
    );
  } else {
    pendingCall.resolves({ SecretString: JSON.stringify(pending) });
  }
}

async function failure(promise: Promise<void>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the rotation step to fail');
}

beforeEach(() => {
  secretsManager.reset();
});

describe('createSecret', () => {
  it('accepts a key the operator staged as AWSPENDING and writes nothing', async () => {
    describeWith(stagedVersions);
    storeValues(currentSecret, pendingSecret);
    const h = harness();
    await h.run('createSecret');
    expect(secretsManager.commandCalls(PutSecretValueCommand)).toHaveLength(0);
    expect(h.sentEvents).toEqual([]);
    expect(h.metricNames()).toEqual([]);
  });

  it('fails when nothing is staged, emits RotationFailed and raises one quarterly Events API alert', async () => {
    describeWith(stagedVersions);
    storeValues(currentSecret, 'not-staged');
    const h = harness({ now: new Date('2026-08-15T03:00:00Z') });
    const error = await failure(h.run('createSecret'));
    expect(error).toBeInstanceOf(NothingStagedError);
    expect(error.message).toContain('pd-agent secret stage --env dev');
    expect(error.message).toContain('The current key stays in use');
    expect(h.metricNames()).toEqual([MetricName.rotationFailed]);
    expect(h.sentEvents).toHaveLength(1);
    expect(h.sentEvents[0]).toMatchObject({
      routingKey: currentSecret.eventsRoutingKey,
      action: 'trigger',
      dedupKey: 'pd-agent/dev/rotation/2026-Q3',
    });
    expect(JSON.stringify(h.sentEvents[0])).not.toContain(OLD_TOKEN_VALUE);
    expect(secretsManager.commandCalls(PutSecretValueCommand)).toHaveLength(0);
    expect(secretsManager.commandCalls(UpdateSecretVersionStageCommand)).toHaveLength(0);
  });

  it('raises no Events API alert when the secret has no eventsRoutingKey', async () => {
    describeWith(stagedVersions);
    const { eventsRoutingKey: _omitted, ...withoutRoutingKey } = currentSecret;
    storeValues(withoutRoutingKey, 'not-staged');
    const h = harness();
    expect(await failure(h.run('createSecret'))).toBeInstanceOf(NothingStagedError);
    expect(h.sentEvents).toEqual([]);
    expect(h.metricNames()).toEqual([MetricName.rotationFailed]);
  });

  it('still reports nothing staged when the Events API cannot be reached', async () => {
    describeWith(stagedVersions);
    storeValues(currentSecret, 'not-staged');
    const h = harness({ eventsFail: true });
    expect(await failure(h.run('createSecret'))).toBeInstanceOf(NothingStagedError);
    expect(h.metricNames()).toEqual([MetricName.rotationFailed]);
  });

  it('refuses a staged document whose key is the key already in use', async () => {
    describeWith(stagedVersions);
    storeValues(currentSecret, { ...currentSecret, webhookSecrets: [] });
    const error = await failure(harness().run('createSecret'));
    expect(error).toBeInstanceOf(RotationError);
    expect(error.message).toContain('the staged key is the key already in use');
    expect(error.message).not.toContain(OLD_TOKEN_VALUE);
  });

  it.each([
    ['drops every webhook signing secret', []],
    ['lacks one added since it was staged', [{ subscriptionId: 'PSUB0', secret: 'whsec-older-value' }]],
    [
      'brings back one revoked since it was staged',
      [...(currentSecret.webhookSecrets ?? []), { subscriptionId: 'PSUB9', secret: 'whsec-revoked' }],
    ],
  ])('refuses a staged document that %s', async (_case, webhookSecrets) => {
    describeWith(stagedVersions);
    storeValues(currentSecret, { ...pendingSecret, webhookSecrets });
    const error = await failure(harness().run('createSecret'));
    expect(error).toBeInstanceOf(RotationError);
    expect(error.message).toContain('webhook signing secrets of the staged document differ from the current ones');
    expect(error.message).toContain('pd-agent secret stage --env dev');
    expect(error.message).not.toContain('whsec-');
  });

  it('accepts a first key when the current value is still the deploy-time placeholder', async () => {
    describeWith(stagedVersions);
    storeValues({ placeholder: 'x' }, pendingSecret);
    await harness().run('createSecret');
  });

  it('names the fields, never the values, of a staged document with the wrong shape', async () => {
    describeWith(stagedVersions);
    storeValues(currentSecret, { apiToken: NEW_TOKEN_VALUE, fromEmail: 'not-an-email', webhookSecrets: [] });
    const error = await failure(harness().run('createSecret'));
    expect(error.message).toContain('fromEmail');
    expect(error.message).toContain('botUserId');
    expect(error.message).not.toContain(NEW_TOKEN_VALUE);
  });
});

describe('setSecret', () => {
  it('has nothing to install: it reads and writes no secret value', async () => {
    describeWith(stagedVersions);
    const h = harness();
    await h.run('setSecret');
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(0);
    expect(secretsManager.commandCalls(PutSecretValueCommand)).toHaveLength(0);
    expect(h.clientsBuiltFor).toEqual([]);
  });
});

describe('testSecret', () => {
  it('proves the pending key against PagerDuty: it authenticates and fromEmail resolves to botUserId', async () => {
    describeWith(stagedVersions);
    storeValues(currentSecret, pendingSecret);
    const h = harness();
    await h.run('testSecret');
    expect(h.clientsBuiltFor).toEqual([pendingSecret]);
    expect(h.findUsersByEmail).toHaveBeenCalledWith('sre-agent@acme.example');
    expect(h.metricNames()).toEqual([]);
  });

  it('fails with what to do when PagerDuty rejects the pending key', async () => {
    describeWith(stagedVersions);
    storeValues(currentSecret, pendingSecret);
    const rejected = new PagerDutyApiError('findUsersByEmail', 401, 2006, 'Authentication failed', [], 'req-401', {
      limit: null,
      remaining: null,
      resetSeconds: null,
    });
    const h = harness({ findUsers: async () => Promise.reject(rejected) });
    const error = await failure(h.run('testSecret'));
    expect(error).toBeInstanceOf(RotationError);
    expect(error.message).toContain('PagerDuty rejected the staged key (HTTP 401)');
    expect(error.message).toContain('stage it again');
    expect(error.message).not.toContain(NEW_TOKEN_VALUE);
    expect(h.metricNames()).toEqual([MetricName.rotationFailed]);
    expect(secretsManager.commandCalls(UpdateSecretVersionStageCommand)).toHaveLength(0);
  });

  it('fails when fromEmail matches no PagerDuty user', async () => {
    describeWith(stagedVersions);
    storeValues(currentSecret, pendingSecret);
    const h = harness({ findUsers: async () => response([]) });
    expect((await failure(h.run('testSecret'))).message).toContain('no PagerDuty user has the email in fromEmail');
  });

  it('fails when fromEmail belongs to another user than botUserId, naming the right id', async () => {
    describeWith(stagedVersions);
    storeValues(currentSecret, pendingSecret);
    const h = harness({ findUsers: async () => response([{ ...botUser, id: 'POTHER9' }]) });
    const error = await failure(h.run('testSecret'));
    expect(error.message).toContain('Set botUserId to POTHER9');
  });
});

describe('finishSecret', () => {
  it('moves AWSCURRENT to the pending version and emits RotationSucceeded', async () => {
    describeWith(stagedVersions);
    storeValues(currentSecret, pendingSecret);
    secretsManager.on(UpdateSecretVersionStageCommand).resolves({});
    const h = harness();
    await h.run('finishSecret');
    const updates = secretsManager.commandCalls(UpdateSecretVersionStageCommand).map((call) => call.args[0].input);
    expect(updates).toEqual([
      { SecretId: SECRET_ID, VersionStage: 'AWSCURRENT', MoveToVersionId: TOKEN, RemoveFromVersionId: CURRENT_VERSION },
    ]);
    expect(h.metricNames()).toEqual([MetricName.rotationSucceeded]);
  });

  it('refuses to promote over signing secrets a `pd-agent webhook` command changed since the key was staged', async () => {
    describeWith(stagedVersions);
    const added = { subscriptionId: 'PSUB2', secret: 'whsec-added-after-staging' };
    secretsManager
      .on(GetSecretValueCommand, { SecretId: SECRET_ID, VersionStage: 'AWSCURRENT', VersionId: CURRENT_VERSION })
      .resolves({ SecretString: JSON.stringify({ ...currentSecret, webhookSecrets: [...(currentSecret.webhookSecrets ?? []), added] }) });
    secretsManager
      .on(GetSecretValueCommand, { SecretId: SECRET_ID, VersionStage: 'AWSPENDING', VersionId: TOKEN })
      .resolves({ SecretString: JSON.stringify(pendingSecret) });
    const h = harness();
    const error = await failure(h.run('finishSecret'));
    expect(error).toBeInstanceOf(RotationError);
    expect(error.message).toContain('failed at finishSecret');
    expect(error.message).not.toContain(added.secret);
    expect(secretsManager.commandCalls(UpdateSecretVersionStageCommand)).toHaveLength(0);
    expect(h.metricNames()).toEqual([MetricName.rotationFailed]);
  });

  it('reports a CLI write that moved AWSCURRENT between the comparison and the promotion, promoting nothing', async () => {
    describeWith(stagedVersions);
    storeValues(currentSecret, pendingSecret);
    secretsManager.on(UpdateSecretVersionStageCommand).rejects(
      new InvalidParameterException({
        message: `The staging label AWSCURRENT is currently attached to version version-newer, so you must explicitly reference that version in RemoveFromVersionId.`,
        $metadata: {},
      }),
    );
    const error = await failure(harness().run('finishSecret'));
    expect(error).toBeInstanceOf(RotationError);
    expect(error.message).toContain(`AWSCURRENT moved off version ${CURRENT_VERSION} while promoting`);
    expect(error.message).toContain('pd-agent secret stage --env dev');
  });

  it('does nothing when the version is already AWSCURRENT (a retried step)', async () => {
    describeWith({ [CURRENT_VERSION]: ['AWSPREVIOUS'], [TOKEN]: ['AWSCURRENT', 'AWSPENDING'] });
    const h = harness();
    await h.run('finishSecret');
    expect(secretsManager.commandCalls(UpdateSecretVersionStageCommand)).toHaveLength(0);
  });
});

describe('validation before every step', () => {
  it('fails when rotation is not enabled on the secret', async () => {
    describeWith(stagedVersions, false);
    const error = await failure(harness().run('createSecret'));
    expect(error.message).toContain('rotation is not enabled');
  });

  it('fails when the token is not a version of the secret', async () => {
    describeWith({ [CURRENT_VERSION]: ['AWSCURRENT'] });
    const error = await failure(harness().run('testSecret'));
    expect(error.message).toContain(`version ${TOKEN} does not exist`);
  });

  it('fails when the token version is not staged as AWSPENDING', async () => {
    describeWith({ [CURRENT_VERSION]: ['AWSCURRENT'], [TOKEN]: ['AWSPREVIOUS'] });
    const error = await failure(harness().run('finishSecret'));
    expect(error.message).toContain('is not staged as AWSPENDING');
    expect(secretsManager.commandCalls(UpdateSecretVersionStageCommand)).toHaveLength(0);
  });

  it('rejects an unknown step and counts it as a failed rotation', async () => {
    const h = harness();
    const error = await failure(h.run('deleteSecret'));
    expect(error.message).toContain('unknown step "deleteSecret"');
    expect(h.metricNames()).toEqual([MetricName.rotationFailed]);
  });
});

describe('rotationDedupKey', () => {
  it.each([
    ['2026-01-01T00:00:00Z', 'pd-agent/prod/rotation/2026-Q1'],
    ['2026-03-31T23:59:59Z', 'pd-agent/prod/rotation/2026-Q1'],
    ['2026-04-01T00:00:00Z', 'pd-agent/prod/rotation/2026-Q2'],
    ['2026-09-30T12:00:00Z', 'pd-agent/prod/rotation/2026-Q3'],
    ['2026-12-31T23:59:59Z', 'pd-agent/prod/rotation/2026-Q4'],
  ])('keys %s to %s, so repeated failures in a quarter are one alert', (at, key) => {
    expect(rotationDedupKey('prod', new Date(at))).toBe(key);
  });
});
