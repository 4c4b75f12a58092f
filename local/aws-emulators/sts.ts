import { randomBytes } from 'node:crypto';
import { ServiceError, type XmlTree } from './protocol';
import type { SeedAssumableRole } from './seed';

/**
 * STS (AWS Query protocol): AssumeRole into seeded roles, returning temporary credentials, and GetCallerIdentity.
 * Credentials it issues are remembered: calls signed with them act in the role's account, so a test can check that a
 * provider reading another account's alarm really assumed that account's role first.
 */

export const STS_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';

export interface CallerIdentity {
  accountId: string;
  arn: string;
  userId: string;
}

const ROLE_ARN = /^arn:(aws[\w-]*):iam::(\d{12}):role\/(?:.*\/)?([\w+=,.@-]+)$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;

const validation = (message: string) => new ServiceError('ValidationError', message, 400);
const randomUpper = (length: number): string =>
  [...randomBytes(length)].map((byte) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[byte % 32]).join('');

export class StsEmulator {
  private readonly issued = new Map<string, CallerIdentity & { expiresAt: number }>();
  private readonly roles = new Map<string, SeedAssumableRole>();

  constructor(private readonly defaultAccountId: string) {}

  addRole(role: SeedAssumableRole): void {
    this.roles.set(role.RoleArn, role);
  }

  /** The identity behind an access key: a role session this emulator issued, or the local default user. */
  identify(accessKeyId: string | undefined, now: Date): CallerIdentity {
    const session = accessKeyId === undefined ? undefined : this.issued.get(accessKeyId);
    if (session !== undefined) {
      if (session.expiresAt <= now.getTime()) {
        throw new ServiceError('ExpiredTokenException', 'The security token included in the request is expired', 400, 'ExpiredToken');
      }
      return session;
    }
    return {
      accountId: this.defaultAccountId,
      arn: `arn:aws:iam::${this.defaultAccountId}:user/local`,
      userId: 'AIDALOCALEMULATORUSER',
    };
  }

  accessDenied(action: string, callerArn: string, resource?: string): ServiceError {
    return new ServiceError(
      'AccessDenied',
      `User: ${callerArn} is not authorized to perform: ${action}${resource === undefined ? '' : ` on resource: ${resource}`}`,
      403,
    );
  }

  throttled(): ServiceError {
    return new ServiceError('Throttling', 'Rate exceeded', 400);
  }

  assumeRole(params: URLSearchParams, caller: CallerIdentity, now: Date): XmlTree {
    const roleArn = params.get('RoleArn') ?? '';
    const sessionName = params.get('RoleSessionName') ?? '';
    const role = ROLE_ARN.exec(roleArn);
    if (role === null) {
      throw validation(
        `1 validation error detected: Value '${roleArn}' at 'roleArn' failed to satisfy constraint: expected arn:aws:iam::<account>:role/<name>`,
      );
    }
    if (!SESSION_NAME.test(sessionName)) {
      throw validation(
        `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: 2 to 64 characters of [\\w+=,.@-]`,
      );
    }
    const duration = Number(params.get('DurationSeconds') ?? 3600);
    if (!Number.isInteger(duration) || duration < 900 || duration > 43_200) {
      throw validation(
        `1 validation error detected: Value '${duration}' at 'durationSeconds' failed to satisfy constraint: from 900 to 43200`,
      );
    }
    const seeded = this.roles.get(roleArn);
    const externalId = params.get('ExternalId') ?? undefined;
    if (seeded === undefined || (seeded.ExternalId !== undefined && seeded.ExternalId !== externalId)) {
      throw this.accessDenied('sts:AssumeRole', caller.arn, roleArn);
    }
    const [, partition, accountId, roleName] = role;
    const roleId = `AROA${randomUpper(17)}`;
    const accessKeyId = `ASIA${randomUpper(16)}`;
    const expiresAt = now.getTime() + duration * 1000;
    const arn = `arn:${partition}:sts::${accountId}:assumed-role/${roleName}/${sessionName}`;
    this.issued.set(accessKeyId, { accountId, arn, userId: `${roleId}:${sessionName}`, expiresAt });
    return {
      Credentials: {
        AccessKeyId: accessKeyId,
        SecretAccessKey: randomBytes(30).toString('base64'),
        SessionToken: randomBytes(96).toString('base64'),
        Expiration: new Date(expiresAt).toISOString(),
      },
      AssumedRoleUser: { AssumedRoleId: `${roleId}:${sessionName}`, Arn: arn },
      PackedPolicySize: '0',
    };
  }

  getCallerIdentity(caller: CallerIdentity): XmlTree {
    return { UserId: caller.userId, Account: caller.accountId, Arn: caller.arn };
  }
}
