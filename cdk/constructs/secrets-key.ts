import { ArnFormat, Duration, Stack, type RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** What the CLI calls on the environment's secrets (pd-agent secret …, webhook …): read, write, stage, rotate. */
export const OPERATOR_SECRET_ACTIONS = [
  'secretsmanager:DescribeSecret',
  'secretsmanager:GetSecretValue',
  'secretsmanager:PutSecretValue',
  'secretsmanager:UpdateSecretVersionStage',
  'secretsmanager:RotateSecret',
];

/**
 * Key administration for the account (and so its administrators through IAM): never a cryptographic use of the key,
 * nor kms:CreateGrant, which would hand one out. Changing the key policy (kms:PutKeyPolicy) stays with the account so
 * the key can never become unmanageable; that change is visible in CloudTrail.
 */
export const KEY_ADMINISTRATION_ACTIONS = [
  'kms:CreateAlias',
  'kms:Describe*',
  'kms:Enable*',
  'kms:List*',
  'kms:Put*',
  'kms:Update*',
  'kms:Revoke*',
  'kms:Disable*',
  'kms:Get*',
  'kms:Delete*',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
];

export interface SecretReader {
  role: iam.IRole;
  /** The names of the secrets this function reads: it may decrypt only those (Secrets Manager's `SecretARN` context). */
  secretNames: string[];
}

/**
 * A secret's ARN from its name (Secrets Manager appends six random characters). The key policy names the secrets this way, not by reference: the secrets reference the key, so a reference back would be a cycle.
 */
export function secretArnFromName(stack: Stack, name: string): string {
  return stack.formatArn({
    service: 'secretsmanager',
    resource: 'secret',
    resourceName: `${name}-??????`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

export interface SecretsKeyProps {
  environment: string;
  /** The functions that read secrets: with the operators, the only principals that may decrypt them. */
  readers: SecretReader[];
  removalPolicy: RemovalPolicy;
  /** The roles operators run the CLI with; unset, the stack creates one (OperatorRole) that the account may assume. */
  operatorRoleArns: string[];
  /** The secrets the key encrypts, by name. */
  secrets: { secret: secretsmanager.Secret; name: string }[];
}

/**
 * A customer-managed key for the environment's secrets whose key policy, not IAM, says who may decrypt them: the
 * functions that read them and the operator roles, and only through Secrets Manager. The account keeps administering
 * the key and may encrypt through Secrets Manager (CloudFormation writes the placeholders; writing a secret reveals
 * none), but an IAM policy alone no longer lets any principal read a key or a signing secret.
 *
 * The key is set on the secrets through their CloudFormation property: the L2 `encryptionKey` would add a key-policy
 * statement letting every principal of the account decrypt through Secrets Manager, which is what this key removes.
 */
export class SecretsKey extends Construct {
  readonly key: kms.Key;
  /** The role this construct created for operators, when none was configured. */
  readonly operatorRole?: iam.Role;
  readonly operatorRoleArns: string[];

  constructor(scope: Construct, id: string, props: SecretsKeyProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const viaSecretsManager = {
      StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.amazonaws.com`, 'kms:CallerAccount': stack.account },
    };
    if (props.operatorRoleArns.length === 0) {
      this.operatorRole = new iam.Role(this, 'OperatorRole', {
        description: `pd-agent ${props.environment}: runs the pd-agent CLI's secret and webhook commands (the only operator that may decrypt the secrets)`,
        assumedBy: new iam.AccountRootPrincipal(),
        maxSessionDuration: Duration.hours(1),
      });
    }
    if (this.operatorRole !== undefined) {
      // A policy of its own, not inline: the key names the role, the secrets name the key, and this names the secrets.
      this.operatorRole.attachInlinePolicy(
        new iam.Policy(this, 'OperatorPolicy', {
          statements: [
            new iam.PolicyStatement({ actions: OPERATOR_SECRET_ACTIONS, resources: props.secrets.map(({ secret }) => secret.secretArn) }),
            new iam.PolicyStatement({ actions: ['cloudformation:DescribeStacks'], resources: [stack.stackId] }),
          ],
        }),
      );
    }
    this.operatorRoleArns = this.operatorRole === undefined ? props.operatorRoleArns : [this.operatorRole.roleArn];

    this.key = new kms.Key(this, 'Key', {
      description: `pd-agent ${props.environment}: encrypts the PagerDuty credentials and the webhook signing secrets`,
      enableKeyRotation: true,
      pendingWindow: Duration.days(30),
      removalPolicy: props.removalPolicy,
      policy: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            sid: 'AccountAdministersTheKey',
            principals: [new iam.AccountRootPrincipal()],
            actions: KEY_ADMINISTRATION_ACTIONS,
            resources: ['*'],
          }),
          new iam.PolicyStatement({
            sid: 'AccountEncryptsThroughSecretsManager',
            principals: [new iam.AccountRootPrincipal()],
            actions: ['kms:GenerateDataKey', 'kms:Encrypt'],
            resources: ['*'],
            conditions: viaSecretsManager,
          }),
          new iam.PolicyStatement({
            sid: 'OperatorsDecryptThroughSecretsManager',
            principals: this.operatorRoleArns.map((arn) => new iam.ArnPrincipal(arn)),
            actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
            resources: ['*'],
            conditions: viaSecretsManager,
          }),
          ...props.readers.map(
            (reader, index) =>
              new iam.PolicyStatement({
                sid: `FunctionDecryptsItsSecrets${index}`,
                principals: [new iam.ArnPrincipal(reader.role.roleArn)],
                actions: ['kms:Decrypt'],
                resources: ['*'],
                conditions: {
                  ...viaSecretsManager,
                  StringLike: { 'kms:EncryptionContext:SecretARN': reader.secretNames.map((name) => secretArnFromName(stack, name)) },
                },
              }),
          ),
        ],
      }),
    });
    for (const { secret } of props.secrets) (secret.node.defaultChild as secretsmanager.CfnSecret).kmsKeyId = this.key.keyArn;
  }
}
