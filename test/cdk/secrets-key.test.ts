import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { KEY_ADMINISTRATION_ACTIONS } from '../../cdk/constructs/secrets-key';
import { EnvironmentConfigError, loadEnvironment } from '../../cdk/environments';
import { synthEnvironment } from '../support/cdk-app';

/**
 * The secrets' customer-managed key: its policy, not IAM, says who may decrypt the PagerDuty credentials and the
 * signing secrets (the functions that read each, and the operator role), and only through Secrets Manager. The alarm
 * topic's key lets CloudWatch use it only for this account (aws:SourceAccount).
 */
type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
interface Statement {
  Sid?: string;
  Effect: string;
  Principal?: JsonObject;
  Action: string | string[];
  Condition?: JsonObject;
}
interface TemplateJson {
  Resources: Record<string, { Type: string; Properties: JsonObject }>;
}

const synth = (overrides: Record<string, unknown> = {}, amend?: Parameters<typeof synthEnvironment>[2]): TemplateJson =>
  synthEnvironment('prod', overrides, amend).template.toJSON() as TemplateJson;

const keys = (json: TemplateJson) => Object.entries(json.Resources).filter(([, resource]) => resource.Type === 'AWS::KMS::Key');
function secretsKey(json: TemplateJson): [string, Statement[]] {
  const found = keys(json).filter(([, key]) => String(key.Properties.Description).includes('encrypts the PagerDuty credentials'));
  expect(found).toHaveLength(1);
  return [found[0][0], ((found[0][1].Properties.KeyPolicy as JsonObject).Statement as unknown as Statement[]) ?? []];
}
const actionsOf = (statement: Statement): string[] => [statement.Action].flat();
const grantsDecrypt = (statement: Statement): boolean =>
  statement.Effect === 'Allow' && actionsOf(statement).some((action) => /^kms:(\*|Decrypt|\*crypt\*?)$/i.test(action));

/** Who the key policy lets decrypt, as principal JSON; a principal of the whole account is what the key must never allow. */
function decryptors(json: TemplateJson): { principal: string; condition: Json }[] {
  return secretsKey(json)[1]
    .filter(grantsDecrypt)
    .flatMap((statement) =>
      [statement.Principal?.AWS ?? '*']
        .flat()
        .map((principal) => ({ principal: JSON.stringify(principal), condition: statement.Condition ?? null })),
    );
}
const accountWide = (principal: string): boolean => principal.includes(':root') || principal === '"*"';

function roleOf(json: TemplateJson, description: string): string {
  const found = Object.values(json.Resources).filter(
    (resource) => resource.Type === 'AWS::Lambda::Function' && String(resource.Properties.Description).includes(description),
  );
  expect(found).toHaveLength(1);
  return String(((found[0].Properties.Role as JsonObject)['Fn::GetAtt'] as Json[])[0]);
}

let template: TemplateJson;
beforeAll(() => {
  template = synth();
});

describe('the secrets key', () => {
  it('encrypts both secrets', () => {
    const [keyId] = secretsKey(template);
    const secrets = Object.values(template.Resources).filter((resource) => resource.Type === 'AWS::SecretsManager::Secret');
    expect(secrets).toHaveLength(2);
    for (const secret of secrets) expect(secret.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
  });

  it('lets only the four functions and the operator role decrypt, each through Secrets Manager of this account', () => {
    const found = decryptors(template);
    expect(found.filter(({ principal }) => accountWide(principal))).toEqual([]);
    const operatorRole = Object.entries(template.Resources).find(
      ([, resource]) =>
        resource.Type === 'AWS::IAM::Role' && String(resource.Properties.Description).includes("runs the pd-agent CLI's secret"),
    )?.[0];
    const expected = [
      ...['verifies PagerDuty webhooks', 'acknowledges, triages', 'hands dead-lettered incidents', 'tests and promotes'].map((d) =>
        roleOf(template, d),
      ),
      operatorRole,
    ];
    expect(found.map(({ principal }) => JSON.parse(principal)['Fn::GetAtt'][0]).sort()).toEqual(expected.sort());
    for (const { condition } of found)
      expect(condition).toMatchObject({
        StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
      });
  });

  it('lets the ingress decrypt only the signing secrets, and the credentials secret too only while migrating', () => {
    const ingressContext = (json: TemplateJson): string => {
      const ingress = roleOf(json, 'verifies PagerDuty webhooks');
      const statement = secretsKey(json)[1].find((candidate) => JSON.stringify(candidate.Principal).includes(`"${ingress}"`));
      return JSON.stringify((statement?.Condition?.StringLike as JsonObject)['kms:EncryptionContext:SecretARN']);
    };
    expect(ingressContext(template)).toContain(':secret:pd-agent/prod/webhook-signing-??????');
    expect(ingressContext(template)).not.toContain(':secret:pd-agent/prod-??????');
    expect(ingressContext(synth({ webhookSecretLayout: 'migrating' }))).toContain(':secret:pd-agent/prod-??????');
  });

  it('leaves the account to administer the key, never to use it; the account may encrypt only through Secrets Manager', () => {
    const [, statements] = secretsKey(template);
    const admin = statements.find((statement) => statement.Sid === 'AccountAdministersTheKey');
    expect(actionsOf(admin as Statement).sort()).toEqual([...KEY_ADMINISTRATION_ACTIONS].sort());
    for (const action of ['kms:Decrypt', 'kms:ReEncryptFrom', 'kms:GenerateDataKey', 'kms:Encrypt', 'kms:CreateGrant'])
      expect(KEY_ADMINISTRATION_ACTIONS.some((pattern) => new RegExp(`^${pattern.replace('*', '.*')}$`).test(action))).toBe(false);
    const encrypt = statements.find((statement) => statement.Sid === 'AccountEncryptsThroughSecretsManager') as Statement;
    expect(actionsOf(encrypt).sort()).toEqual(['kms:Encrypt', 'kms:GenerateDataKey']);
    expect(encrypt.Condition).toHaveProperty(['StringEquals', 'kms:ViaService']);
  });

  it('names the configured operator roles instead of creating one', () => {
    const operator = 'arn:aws:iam::123456789012:role/sre-admin';
    const json = synth({ operatorRoleArns: [operator] });
    expect(decryptors(json).map(({ principal }) => principal)).toContain(JSON.stringify(operator));
    expect(
      Object.values(json.Resources).some((resource) => String(resource.Properties.Description).includes("runs the pd-agent CLI's secret")),
    ).toBe(false);
  });

  it("fails on a secret given the key through CDK's encryptionKey, which would let the whole account decrypt (negative case)", () => {
    const json = synth({}, (stack) => {
      const key = stack.node.findAll().find((construct) => construct.node.path.endsWith('SecretsKey/Key'));
      new secretsmanager.Secret(stack, 'InjectedSecret', { encryptionKey: key as never });
    });
    expect(decryptors(json).filter(({ principal }) => accountWide(principal))).not.toEqual([]);
  });

  it('refuses an operator role that is not a role ARN, naming the field', () => {
    expect(() => loadEnvironment({ dev: { operatorRoleArns: ['arn:aws:iam::123456789012:user/alice'] } }, 'dev')).toThrow(
      expect.objectContaining({ constructor: EnvironmentConfigError, message: expect.stringContaining('operatorRoleArns') }),
    );
  });
});

describe('the alarm topic key', () => {
  const cloudWatchStatements = (json: TemplateJson): Statement[] =>
    keys(json)
      .flatMap(([, key]) => (key.Properties.KeyPolicy as JsonObject).Statement as unknown as Statement[])
      .filter((statement) => JSON.stringify(statement.Principal ?? {}).includes('cloudwatch.amazonaws.com'));

  it('lets CloudWatch use it only for alarms of this account (aws:SourceAccount)', () => {
    const statements = cloudWatchStatements(template);
    expect(statements).toHaveLength(1);
    expect(statements[0].Condition).toEqual({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } });
  });
});
