import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildContextReadRoleApp } from '../../cdk/context-read-role-app';
import { ContextReadRole, type ContextReadRoleProps } from '../../cdk/constructs/context-read-role';
import { CONTEXT_READ_ACTIONS, WorkerContextReads } from '../../cdk/constructs/context-reads';
import { parseAgentConfig } from '../../lib/config/agent-config';
import { contextSessionName, MIN_EXTERNAL_ID_CHARS } from '../../lib/context/aws/read-role-contract';

const WORKER_ROLE_ARN = 'arn:aws:iam::111111111111:role/PdAgent-prod-WorkerRole';
const EXTERNAL_ID = 'checkout-7f3a9c2e41d8';
const ALL_READS = [...CONTEXT_READ_ACTIONS.alarms, ...CONTEXT_READ_ACTIONS.unscoped, ...CONTEXT_READ_ACTIONS.logs];

interface Statement {
  Action: string | string[];
  Resource: unknown;
  Effect: string;
}

function workerReads(agentConfig: unknown): { app: App; statements: Statement[] } {
  const app = new App();
  const stack = new Stack(app, 'Agent', { env: { account: '111111111111', region: 'eu-west-1' } });
  const role = new iam.Role(stack, 'WorkerRole', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  new WorkerContextReads(stack, 'WorkerContextReads', { role, config: parseAgentConfig(JSON.stringify(agentConfig)).context.aws });
  const policies = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy'));
  return { app, statements: policies.flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]) };
}

const actions = (statements: Statement[]): string[] => statements.flatMap((statement) => [statement.Action].flat()).sort();
const nagFindings = (app: App): string[] => new AwsSolutionsChecks().validateScope(app).violations.map((violation) => violation.ruleName);

describe('WorkerContextReads', () => {
  it('grants exactly the providers’ read actions, alarms and logs scoped to the account, * only where IAM requires it', () => {
    const { app, statements } = workerReads({});
    expect(actions(statements)).toEqual([...ALL_READS].sort());
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: [...CONTEXT_READ_ACTIONS.alarms],
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:*:111111111111:alarm:*']] },
      },
      { Effect: 'Allow', Action: expect.arrayContaining([...CONTEXT_READ_ACTIONS.unscoped]), Resource: '*' },
      {
        Effect: 'Allow',
        Action: 'logs:FilterLogEvents',
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':logs:*:111111111111:log-group:*']] },
      },
    ]);
    expect(nagFindings(app)).toEqual([]);
  });

  it('lets the worker assume only the roles named in the mapping', () => {
    const roleArn = 'arn:aws:iam::222222222222:role/pd-agent-context-read';
    const { statements } = workerReads({
      context: {
        aws: {
          services: {
            PSVC1: { roleArn, externalId: EXTERNAL_ID },
            PSVC2: { roleArn, externalId: EXTERNAL_ID },
            PSVC3: { logGroups: ['/ecs/x'] },
          },
        },
      },
    });
    expect(statements.filter((statement) => [statement.Action].flat().includes('sts:AssumeRole'))).toEqual([
      { Effect: 'Allow', Action: 'sts:AssumeRole', Resource: roleArn },
    ]);
  });

  it('grants nothing when AWS context is turned off', () => {
    expect(workerReads({ context: { aws: { enabled: false } } }).statements).toEqual([]);
  });
});

describe('ContextReadRole', () => {
  function readRoleTemplate(extra: Partial<ContextReadRoleProps> = {}): { app: App; template: Template } {
    const app = new App();
    const stack = new Stack(app, 'Workload', { env: { account: '222222222222', region: 'eu-west-1' } });
    new ContextReadRole(stack, 'ContextReadRole', {
      workerRoleArn: WORKER_ROLE_ARN,
      externalId: EXTERNAL_ID,
      roleName: 'pd-agent-context-read',
      ...extra,
    });
    return { app, template: Template.fromStack(stack) };
  }
  const readStatements = (template: Template): (Statement & { Condition?: unknown })[] =>
    Object.values(template.findResources('AWS::IAM::Role'))[0]?.Properties.Policies.flatMap(
      (policy: { PolicyDocument: { Statement: Statement[] } }) => policy.PolicyDocument.Statement,
    );

  it('trusts only the agent worker role presenting the external id, in a session named pd-agent-<service>', () => {
    readRoleTemplate().template.hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'pd-agent-context-read',
      MaxSessionDuration: 3600,
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: 'sts:AssumeRole',
            Principal: { AWS: WORKER_ROLE_ARN },
            Condition: { StringEquals: { 'sts:ExternalId': EXTERNAL_ID }, StringLike: { 'sts:RoleSessionName': 'pd-agent-*' } },
          },
        ],
      },
    });
  });

  it('admits only the sessions of the services it serves when given their ids, the names the worker uses', () => {
    const { template } = readRoleTemplate({ serviceIds: ['PCHECKOUT', 'PORDERS'] });
    const [role] = Object.values(template.findResources('AWS::IAM::Role'));
    expect(role?.Properties.AssumeRolePolicyDocument.Statement[0].Condition).toEqual({
      StringEquals: { 'sts:ExternalId': EXTERNAL_ID, 'sts:RoleSessionName': ['PCHECKOUT', 'PORDERS'].map(contextSessionName) },
    });
    expect(contextSessionName('PCHECKOUT')).toBe('pd-agent-PCHECKOUT');
  });

  it.each(['', 'ext-1', 'x'.repeat(MIN_EXTERNAL_ID_CHARS - 1)])('refuses the external id %p: under 16 characters', (externalId) => {
    expect(() => readRoleTemplate({ externalId })).toThrow(new RegExp(`use at least ${MIN_EXTERNAL_ID_CHARS}`));
  });

  it('bounds reads to alarm and log-group prefixes and the requested regions when given, and still passes cdk-nag', () => {
    const { app, template } = readRoleTemplate({
      alarmNamePrefixes: ['checkout-'],
      logGroupPrefixes: ['/aws/lambda/checkout-', '/ecs/checkout'],
      regions: ['eu-west-1', 'eu-central-1'],
    });
    const statements = readStatements(template);
    expect(statements).toHaveLength(3);
    for (const statement of statements)
      expect(statement.Condition).toEqual({ StringEquals: { 'aws:RequestedRegion': ['eu-west-1', 'eu-central-1'] } });
    const resources = JSON.stringify(statements.map((statement) => statement.Resource));
    expect(resources).toContain(':cloudwatch:*:222222222222:alarm:checkout-*');
    expect(resources).toContain(':logs:*:222222222222:log-group:/aws/lambda/checkout-*');
    expect(resources).toContain(':logs:*:222222222222:log-group:/ecs/checkout*');
    expect(resources).not.toContain('log-group:*');
    expect(resources).not.toContain('alarm:*');
    expect(nagFindings(app)).toEqual([]);
  });

  it('without bounds, sets no region condition (the negative case of the bounds above)', () => {
    for (const statement of readStatements(readRoleTemplate().template)) expect(statement.Condition).toBeUndefined();
  });

  it('allows exactly the read actions the providers use, on its own account, and passes cdk-nag', () => {
    const { app, template } = readRoleTemplate();
    const role = Object.values(template.findResources('AWS::IAM::Role'))[0];
    const statements = role?.Properties.Policies.flatMap(
      (policy: { PolicyDocument: { Statement: Statement[] } }) => policy.PolicyDocument.Statement,
    );
    expect(actions(statements)).toEqual([...ALL_READS].sort());
    expect(JSON.stringify(statements)).toContain(':logs:*:222222222222:log-group:*');
    expect(JSON.stringify(statements)).not.toMatch(/Put|Delete|Update|Create/);
    expect(template.findResources('AWS::IAM::ManagedPolicy')).toEqual({});
    expect(nagFindings(app)).toEqual([]);
  });
});

describe('context-read-role app', () => {
  it('builds the role stack from -c workerRoleArn and -c externalId and outputs the role ARN', () => {
    const app = new App({ context: { workerRoleArn: WORKER_ROLE_ARN, externalId: EXTERNAL_ID } });
    const template = Template.fromStack(buildContextReadRoleApp(app));
    template.hasOutput('ContextReadRoleArn', { Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ContextReadRole'), 'Arn'] } });
    template.hasResourceProperties('AWS::IAM::Role', { RoleName: 'pd-agent-context-read' });
  });

  it('says what to pass when the worker role or the external id is missing', () => {
    expect(() => buildContextReadRoleApp(new App({ context: { externalId: EXTERNAL_ID } }))).toThrow(
      /-c workerRoleArn=arn:aws:iam::<account>:role/,
    );
    expect(() => buildContextReadRoleApp(new App({ context: { workerRoleArn: WORKER_ROLE_ARN } }))).toThrow(/-c externalId=/);
    expect(() => buildContextReadRoleApp(new App({ context: { workerRoleArn: WORKER_ROLE_ARN, externalId: 'short' } }))).toThrow(
      /at least 16 characters/,
    );
  });

  it('passes -c serviceIds, regions and prefixes through to the role', () => {
    const app = new App({
      context: {
        workerRoleArn: WORKER_ROLE_ARN,
        externalId: EXTERNAL_ID,
        serviceIds: 'PA, PB',
        regions: 'eu-west-1',
        logGroupPrefixes: '/ecs/a',
      },
    });
    const json = JSON.stringify(Template.fromStack(buildContextReadRoleApp(app)).toJSON());
    expect(json).toContain('"sts:RoleSessionName":["pd-agent-PA","pd-agent-PB"]');
    expect(json).toContain('"aws:RequestedRegion":["eu-west-1"]');
    expect(json).toContain('log-group:/ecs/a*');
  });
});
