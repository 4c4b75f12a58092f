import { randomUUID } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { text } from 'node:stream/consumers';

/**
 * A small in-process AWS Secrets Manager for the local stack and the integration tests. It speaks the service's own
 * wire protocol (AWS JSON 1.1, `X-Amz-Target: secretsmanager.<Operation>`), so the handlers, the rotation function and
 * the CLI use the real `@aws-sdk/client-secrets-manager` against it through `AWS_ENDPOINT_URL_SECRETS_MANAGER`: only
 * the endpoint differs from AWS. Staging labels follow the service's rules: a label is on at most one version, and
 * moving AWSCURRENT moves AWSPREVIOUS to the version that held AWSCURRENT.
 */

const CURRENT = 'AWSCURRENT';
const PREVIOUS = 'AWSPREVIOUS';
const PENDING = 'AWSPENDING';
const REGION = 'us-east-1';
const ACCOUNT = '000000000000';

interface SecretVersion {
  versionId: string;
  secretString?: string;
  secretBinary?: string;
  createdDate: Date;
  stages: Set<string>;
}

interface StoredSecret {
  name: string;
  arn: string;
  description?: string;
  createdDate: Date;
  lastChangedDate: Date;
  versions: Map<string, SecretVersion>;
  rotationEnabled: boolean;
  rotationLambdaArn?: string;
  rotationRules?: Record<string, unknown>;
  lastRotatedDate?: Date;
}

/** One RotateSecret call as the emulator received it. */
export interface RotationRequest {
  secretId: string;
  arn: string;
  clientRequestToken: string;
  rotateImmediately: boolean;
  rotationLambdaArn?: string;
  at: Date;
}

/** Called for each RotateSecret; a local stack may run the rotation function's four steps from here. */
export type RotationCallback = (request: RotationRequest) => Promise<void>;

/** Awaited before the emulator handles a request (tests hold one writer's call while another runs). */
export type BeforeOperation = (operation: string, input: Record<string, unknown>) => Promise<void>;

export interface SecretsManagerEmulatorOptions {
  port?: number;
  onRotate?: RotationCallback;
  beforeOperation?: BeforeOperation;
}

export interface SecretsManagerEmulator {
  endpoint: string;
  /** Every RotateSecret received, oldest first. */
  rotations: RotationRequest[];
  stop(): Promise<void>;
}

class ServiceError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

type Input = Record<string, unknown>;
type Output = Record<string, unknown>;

const epochSeconds = (date: Date): number => date.getTime() / 1000;

function stringField(input: Input, field: string, required: true): string;
function stringField(input: Input, field: string, required?: false): string | undefined;
function stringField(input: Input, field: string, required = false): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) {
    if (required) throw new ServiceError('InvalidParameterException', `${field} is required.`);
    return undefined;
  }
  if (typeof value !== 'string') throw new ServiceError('InvalidParameterException', `${field} must be a string.`);
  return value;
}

function stagesField(input: Input): string[] | undefined {
  const value = input.VersionStages;
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((stage) => typeof stage !== 'string')) {
    throw new ServiceError('InvalidParameterException', 'VersionStages must be a list of strings.');
  }
  return value as string[];
}

class SecretStore {
  private readonly secrets = new Map<string, StoredSecret>();
  readonly rotations: RotationRequest[] = [];

  constructor(private readonly onRotate?: RotationCallback) {}

  private find(secretId: string): StoredSecret {
    const secret = this.secrets.get(secretId) ?? [...this.secrets.values()].find((candidate) => candidate.arn === secretId);
    if (secret === undefined) {
      throw new ServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    }
    return secret;
  }

  private versionWithStage(secret: StoredSecret, stage: string): SecretVersion | undefined {
    return [...secret.versions.values()].find((version) => version.stages.has(stage));
  }

  /** Puts `stage` on `target`, taking it off any other version; AWSCURRENT drags AWSPREVIOUS along. */
  private attachStage(secret: StoredSecret, stage: string, target: SecretVersion): void {
    const holder = this.versionWithStage(secret, stage);
    if (holder === target) return;
    if (holder !== undefined) holder.stages.delete(stage);
    if (stage === CURRENT && holder !== undefined) {
      this.versionWithStage(secret, PREVIOUS)?.stages.delete(PREVIOUS);
      holder.stages.add(PREVIOUS);
    }
    target.stages.add(stage);
    this.dropUnlabelled(secret);
  }

  /** Like the service, versions without any label are eventually deprecated; here at once, keeping the store small. */
  private dropUnlabelled(secret: StoredSecret): void {
    for (const [id, version] of secret.versions) if (version.stages.size === 0) secret.versions.delete(id);
  }

  private addVersion(secret: StoredSecret, input: Input, defaultStages: string[]): SecretVersion {
    const secretString = stringField(input, 'SecretString');
    const secretBinary = stringField(input, 'SecretBinary');
    if ((secretString === undefined) === (secretBinary === undefined)) {
      throw new ServiceError('InvalidParameterException', 'You must provide either SecretString or SecretBinary.');
    }
    const versionId = stringField(input, 'ClientRequestToken') ?? randomUUID();
    const existing = secret.versions.get(versionId);
    if (existing !== undefined) {
      if (existing.secretString !== secretString || existing.secretBinary !== secretBinary) {
        throw new ServiceError(
          'ResourceExistsException',
          `A version with ClientRequestToken ${versionId} already exists with different content. Use a new token.`,
        );
      }
      return existing;
    }
    const version: SecretVersion = {
      versionId,
      secretString,
      secretBinary,
      createdDate: new Date(),
      stages: new Set(),
    };
    secret.versions.set(versionId, version);
    for (const stage of stagesField(input) ?? defaultStages) this.attachStage(secret, stage, version);
    secret.lastChangedDate = version.createdDate;
    return version;
  }

  createSecret(input: Input): Output {
    const name = stringField(input, 'Name', true);
    if (this.secrets.has(name)) {
      throw new ServiceError('ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
    }
    const now = new Date();
    const secret: StoredSecret = {
      name,
      arn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-${randomUUID().slice(0, 6)}`,
      description: stringField(input, 'Description'),
      createdDate: now,
      lastChangedDate: now,
      versions: new Map(),
      rotationEnabled: false,
    };
    const hasValue = input.SecretString !== undefined || input.SecretBinary !== undefined;
    const version = hasValue ? this.addVersion(secret, input, [CURRENT]) : undefined;
    this.secrets.set(name, secret);
    return { ARN: secret.arn, Name: name, ...(version === undefined ? {} : { VersionId: version.versionId }) };
  }

  getSecretValue(input: Input): Output {
    const secret = this.find(stringField(input, 'SecretId', true));
    const versionId = stringField(input, 'VersionId');
    const stage = stringField(input, 'VersionStage');
    let version: SecretVersion | undefined;
    if (versionId !== undefined) {
      version = secret.versions.get(versionId);
      if (version !== undefined && stage !== undefined && !version.stages.has(stage)) {
        throw new ServiceError('InvalidRequestException', `Version ${versionId} does not have the staging label ${stage}.`);
      }
    } else {
      version = this.versionWithStage(secret, stage ?? CURRENT);
    }
    if (version === undefined) {
      throw new ServiceError(
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret value for " +
          (versionId !== undefined ? `VersionId: ${versionId}` : `staging label: ${stage ?? CURRENT}`),
      );
    }
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.versionId,
      ...(version.secretString === undefined ? {} : { SecretString: version.secretString }),
      ...(version.secretBinary === undefined ? {} : { SecretBinary: version.secretBinary }),
      VersionStages: [...version.stages],
      CreatedDate: epochSeconds(version.createdDate),
    };
  }

  putSecretValue(input: Input): Output {
    const secret = this.find(stringField(input, 'SecretId', true));
    const version = this.addVersion(secret, input, [CURRENT]);
    return { ARN: secret.arn, Name: secret.name, VersionId: version.versionId, VersionStages: [...version.stages] };
  }

  describeSecret(input: Input): Output {
    const secret = this.find(stringField(input, 'SecretId', true));
    const versionIdsToStages: Record<string, string[]> = {};
    for (const version of secret.versions.values()) versionIdsToStages[version.versionId] = [...version.stages];
    return {
      ARN: secret.arn,
      Name: secret.name,
      ...(secret.description === undefined ? {} : { Description: secret.description }),
      CreatedDate: epochSeconds(secret.createdDate),
      LastChangedDate: epochSeconds(secret.lastChangedDate),
      ...(secret.lastRotatedDate === undefined ? {} : { LastRotatedDate: epochSeconds(secret.lastRotatedDate) }),
      RotationEnabled: secret.rotationEnabled,
      ...(secret.rotationLambdaArn === undefined ? {} : { RotationLambdaARN: secret.rotationLambdaArn }),
      ...(secret.rotationRules === undefined ? {} : { RotationRules: secret.rotationRules }),
      VersionIdsToStages: versionIdsToStages,
    };
  }

  updateSecretVersionStage(input: Input): Output {
    const secret = this.find(stringField(input, 'SecretId', true));
    const stage = stringField(input, 'VersionStage', true);
    const moveTo = stringField(input, 'MoveToVersionId');
    const removeFrom = stringField(input, 'RemoveFromVersionId');
    const holder = this.versionWithStage(secret, stage);
    if (holder !== undefined && holder.versionId !== moveTo && holder.versionId !== removeFrom) {
      throw new ServiceError(
        'InvalidParameterException',
        `The staging label ${stage} is currently attached to version ${holder.versionId}, so you must explicitly ` +
          'reference that version in RemoveFromVersionId.',
      );
    }
    if (moveTo !== undefined) {
      const target = secret.versions.get(moveTo);
      if (target === undefined) {
        throw new ServiceError('ResourceNotFoundException', `Secrets Manager can't find version ${moveTo}.`);
      }
      this.attachStage(secret, stage, target);
    } else if (removeFrom !== undefined) {
      if (stage === CURRENT) {
        throw new ServiceError('InvalidParameterException', 'You can only move AWSCURRENT to another version, not remove it.');
      }
      secret.versions.get(removeFrom)?.stages.delete(stage);
      this.dropUnlabelled(secret);
    }
    secret.lastChangedDate = new Date();
    return { ARN: secret.arn, Name: secret.name };
  }

  listSecretVersionIds(input: Input): Output {
    const secret = this.find(stringField(input, 'SecretId', true));
    return {
      ARN: secret.arn,
      Name: secret.name,
      Versions: [...secret.versions.values()].map((version) => ({
        VersionId: version.versionId,
        VersionStages: [...version.stages],
        CreatedDate: epochSeconds(version.createdDate),
      })),
    };
  }

  async rotateSecret(input: Input): Promise<Output> {
    const secret = this.find(stringField(input, 'SecretId', true));
    const token = stringField(input, 'ClientRequestToken') ?? randomUUID();
    const pending = this.versionWithStage(secret, PENDING);
    const current = this.versionWithStage(secret, CURRENT);
    // The service's rule: a pending version that is not current means a rotation is in progress, unless this request
    // names it (an operator staged the new value and asks to finish rotating to it).
    if (pending !== undefined && pending !== current && pending.versionId !== token) {
      throw new ServiceError(
        'InvalidRequestException',
        `A previous rotation isn't complete: version ${pending.versionId} is AWSPENDING. ` +
          'Finish or cancel that rotation, or pass its VersionId as ClientRequestToken.',
      );
    }
    const lambdaArn = stringField(input, 'RotationLambdaARN') ?? secret.rotationLambdaArn;
    secret.rotationEnabled = true;
    secret.rotationLambdaArn = lambdaArn;
    if (typeof input.RotationRules === 'object' && input.RotationRules !== null) {
      secret.rotationRules = input.RotationRules as Record<string, unknown>;
    }
    const request: RotationRequest = {
      secretId: secret.name,
      arn: secret.arn,
      clientRequestToken: token,
      rotateImmediately: input.RotateImmediately !== false,
      rotationLambdaArn: lambdaArn,
      at: new Date(),
    };
    this.rotations.push(request);
    if (request.rotateImmediately && this.onRotate !== undefined) {
      await this.onRotate(request);
      secret.lastRotatedDate = new Date();
    }
    return { ARN: secret.arn, Name: secret.name, VersionId: token };
  }
}

function send(response: ServerResponse, status: number, body: Output): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    ...(typeof body.__type === 'string' ? { 'x-amzn-errortype': body.__type } : {}),
  });
  response.end(text);
}

/** Starts the emulator on 127.0.0.1 (port 0 = any free port). */
export async function startSecretsManagerEmulator(options: SecretsManagerEmulatorOptions = {}): Promise<SecretsManagerEmulator> {
  const store = new SecretStore(options.onRotate);
  const operations: Record<string, (input: Input) => Output | Promise<Output>> = {
    CreateSecret: (input) => store.createSecret(input),
    GetSecretValue: (input) => store.getSecretValue(input),
    PutSecretValue: (input) => store.putSecretValue(input),
    DescribeSecret: (input) => store.describeSecret(input),
    UpdateSecretVersionStage: (input) => store.updateSecretVersionStage(input),
    ListSecretVersionIds: (input) => store.listSecretVersionIds(input),
    RotateSecret: (input) => store.rotateSecret(input),
  };

  const server: Server = createServer((request, response) => {
    void (async () => {
      const target = String(request.headers['x-amz-target'] ?? '');
      const operation = target.startsWith('secretsmanager.') ? target.slice('secretsmanager.'.length) : '';
      const handler = operations[operation];
      if (request.method !== 'POST' || handler === undefined) {
        send(response, 400, {
          __type: 'UnknownOperationException',
          message: `The local Secrets Manager emulator does not implement "${target}".`,
        });
        return;
      }
      try {
        const raw = await text(request);
        const input = (raw === '' ? {} : JSON.parse(raw)) as Input;
        await options.beforeOperation?.(operation, input);
        send(response, 200, await handler(input));
      } catch (error) {
        if (error instanceof ServiceError) {
          send(response, error.status, { __type: error.type, message: error.message });
        } else {
          send(response, 500, { __type: 'InternalServiceError', message: (error as Error).message });
        }
      }
    })();
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });

  return {
    endpoint: `http://127.0.0.1:${port}`,
    rotations: store.rotations,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
