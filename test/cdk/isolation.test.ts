import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CONTEXT_READ_ACTIONS } from '../../cdk/constructs/context-reads';
import { loadEnvironment } from '../../cdk/environments';
import { PdAgentStack } from '../../cdk/pd-agent-stack';
import { stackNameFor } from '../../lib/infra/deployment-contract';
import { cdkJsonContext, requireBundles } from '../support/cdk-app';

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/** Every statement of every identity policy in a template (AWS::IAM::Policy and inline role policies). */
function identityStatements(template: Template): Statement[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).map((policy) => policy.Properties.PolicyDocument);
  const inline = Object.values(template.findResources('AWS::IAM::Role')).flatMap((role) =>
    (role.Properties.Policies ?? []).map((policy: { PolicyDocument: unknown }) => policy.PolicyDocument),
  );
  return [...policies, ...inline].flatMap((document: { Statement: Statement[] }) => document.Statement);
}

const DATA_SERVICES = /^(dynamodb|secretsmanager|sqs|kms):/;

describe('environment isolation: two environments in one app', () => {
  const environments = ['dev', 'prod'] as const;
  const templates = {} as Record<(typeof environments)[number], Template>;

  beforeAll(() => {
    requireBundles();
    const context = cdkJsonContext();
    const app = new App({ context });
    for (const env of environments) {
      new PdAgentStack(app, stackNameFor(env), { config: loadEnvironment(context.environments, env) });
    }
    const assembly = app.synth();
    for (const env of environments) templates[env] = Template.fromJSON(assembly.getStackByName(stackNameFor(env)).template);
  });

  it.each(environments)('%s: every data permission names a resource of its own stack, never a wildcard or an import', (env) => {
    const template = templates[env];
    const own = new Set(Object.keys(template.toJSON().Resources));
    const dataStatements = identityStatements(template).filter((statement) =>
      [statement.Action].flat().some((action) => DATA_SERVICES.test(action)),
    );
    expect(dataStatements.length).toBeGreaterThan(5);
    for (const statement of dataStatements) {
      for (const resource of [statement.Resource].flat()) {
        const reference = resource as { Ref?: string; 'Fn::GetAtt'?: [string, string]; 'Fn::Join'?: [string, unknown[]] };
        // A table's index is named by joining the table's ARN (its own resource) and `/index/<name>`, nothing else.
        const [arn, suffix, ...rest] = reference['Fn::Join']?.[1] ?? [];
        const index =
          typeof suffix === 'string' && /^\/index\/[A-Za-z0-9_.-]+$/.test(suffix) && rest.length === 0
            ? (arn as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt']?.[0]
            : undefined;
        const logicalId = reference.Ref ?? reference['Fn::GetAtt']?.[0] ?? index;
        expect({ statement: statement.Action, logicalId }).toEqual({ statement: statement.Action, logicalId: expect.any(String) });
        expect(own.has(logicalId!)).toBe(true);
      }
    }
  });

  it.each([
    ['dev', 'prod'],
    ['prod', 'dev'],
  ] as const)("%s's roles cannot reach %s's secret or tables", (env, other) => {
    const json = JSON.stringify(templates[env].toJSON());
    expect(json).not.toContain('Fn::ImportValue');
    expect(json).not.toContain(`pd-agent/${other}`);
    expect(json).not.toContain(stackNameFor(other));
    const otherSecretNames = Object.values(templates[other].findResources('AWS::SecretsManager::Secret')).map(
      (secret) => secret.Properties.Name,
    );
    expect(otherSecretNames.sort()).toEqual([`pd-agent/${other}`, `pd-agent/${other}/webhook-signing`]);
    const policies = JSON.stringify(identityStatements(templates[env]));
    expect(policies).not.toContain(`pd-agent/${other}`);
    // `*` only for the reads IAM cannot scope (the context providers' metric data and CloudTrail lookups), never data.
    const statements = identityStatements(templates[env]);
    const unscoped = statements.filter((statement) => [statement.Resource].flat().includes('*'));
    expect(unscoped.flatMap((statement) => [statement.Action].flat()).sort()).toEqual([...CONTEXT_READ_ACTIONS.unscoped].sort());
  });

  it('gives each environment its own two secrets', () => {
    const names = environments.map((env) =>
      Object.values(templates[env].findResources('AWS::SecretsManager::Secret'))
        .map((secret) => secret.Properties.Name)
        .sort(),
    );
    expect(names).toEqual([
      ['pd-agent/dev', 'pd-agent/dev/webhook-signing'],
      ['pd-agent/prod', 'pd-agent/prod/webhook-signing'],
    ]);
  });
});
