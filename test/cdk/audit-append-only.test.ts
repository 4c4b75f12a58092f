import { PolicyStatement, Policy, User } from 'aws-cdk-lib/aws-iam';
import { synthEnvironment } from '../support/cdk-app';

/**
 * The audit table is append-only as far as IAM can say it: no policy anywhere in the stack lets a principal delete,
 * batch-write, change or PartiQL the table, and only the roles that append to it (worker, handback) may put or update.
 * The conditions on those puts and updates are tested on dynalite (`test/integration/state-ledgers.test.ts`).
 *
 * "Anywhere" means every place a CloudFormation template can hold a grant on the table: identity policies
 * (`AWS::IAM::Policy`, `AWS::IAM::ManagedPolicy`, `AWS::IAM::RolePolicy|UserPolicy|GroupPolicy`, the inline `Policies`
 * of roles, users and groups), managed policies attached by ARN (whose statements the template does not hold, so they
 * cannot be allowed), and the table's own resource policy. A statement reaches the table when its `Resource`, with
 * `Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub`, `Fn::If` and `Fn::Select` resolved, is a pattern that matches the table's
 * ARN (`*`, `table/*`, a name prefix, any account or region), when it uses `NotResource`, or when it cannot be
 * resolved. The negative cases at the end inject each kind of bad grant and show the check fails on it.
 */
type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
interface Statement {
  Effect?: string;
  Action?: Json;
  NotAction?: Json;
  Resource?: Json;
  NotResource?: Json;
  Principal?: Json;
}
interface TemplateResource {
  Type: string;
  Properties?: JsonObject;
}
interface TemplateJson {
  Resources: Record<string, TemplateResource>;
}

/** Every action that could remove or replace an audit item, or the table itself. */
const NEVER_ALLOWED = [
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:DeleteTable',
  'dynamodb:UpdateTable',
  'dynamodb:UpdateTimeToLive',
  'dynamodb:RestoreTableToPointInTime',
  'dynamodb:ImportTable',
  'dynamodb:PartiQLDelete',
  'dynamodb:PartiQLInsert',
  'dynamodb:PartiQLUpdate',
];
const APPEND_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem'];
/** Reads that change nothing: the worker queries an incident's own audit items for its outcome. */
const READ_ACTIONS = ['dynamodb:Query'];
const APPENDERS = ['worker', 'handback'];

const IDENTITY_CARRIERS = ['AWS::IAM::Role', 'AWS::IAM::User', 'AWS::IAM::Group'];
const STANDALONE_POLICIES: Record<string, string[]> = {
  'AWS::IAM::Policy': ['Roles', 'Users', 'Groups'],
  'AWS::IAM::ManagedPolicy': ['Roles', 'Users', 'Groups'],
  'AWS::IAM::RolePolicy': ['RoleName'],
  'AWS::IAM::UserPolicy': ['UserName'],
  'AWS::IAM::GroupPolicy': ['GroupName'],
};

/** IAM patterns are globs: `*` any run of characters, `?` one. Actions compare case-insensitively, ARNs exactly. */
const glob = (pattern: string, value: string, caseInsensitive: boolean): boolean =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    caseInsensitive ? 'i' : '',
  ).test(value);

const isObject = (value: Json | undefined): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);
const statementsOf = (document: Json | undefined): Statement[] =>
  isObject(document) ? ([document.Statement ?? []].flat() as unknown as Statement[]) : [];

/** A statement, where it is, and who it is granted to. */
interface Grant {
  where: string;
  /** An identity policy's roles, users and groups; a resource policy's `Principal`. */
  principals: string[];
  statement: Statement;
  /** The table's own resource policy governs the table whatever its `Resource` says. */
  onTheTable: boolean;
}

interface Analysis {
  /** Every Allow statement that can reach the audit table. */
  reaching: Grant[];
  /** Policies whose statements the template does not hold, or that sit where this check cannot attribute them. */
  unverifiable: string[];
}

class AuditTableAnalysis {
  private readonly resources: Record<string, TemplateResource>;
  private readonly auditTableId: string;
  /** The table's ARN and its indexes' as a deployment names them (region, account and generated name stand-ins). */
  private readonly targets: string[];

  constructor(
    template: TemplateJson,
    private readonly stackName: string,
  ) {
    this.resources = template.Resources;
    const tables = Object.entries(this.resources).filter(
      ([, resource]) => resource.Type === 'AWS::DynamoDB::Table' && JSON.stringify(resource.Properties?.KeySchema).includes('"incidentId"'),
    );
    expect(tables.map(([id]) => id)).toHaveLength(1);
    this.auditTableId = tables[0][0];
    const indexes = ([tables[0][1].Properties?.GlobalSecondaryIndexes ?? []].flat() as JsonObject[]).map((index) =>
      String(index.IndexName),
    );
    const arn = this.tableArn(this.auditTableId);
    this.targets = [arn, ...indexes.map((index) => `${arn}/index/${index}`)];
  }

  run(): Analysis {
    const grants: Grant[] = [];
    const unverifiable: string[] = [];
    const attachedTo = new Map<string, string[]>();
    for (const [id, resource] of Object.entries(this.resources)) {
      if (!IDENTITY_CARRIERS.includes(resource.Type)) continue;
      for (const arn of [resource.Properties?.ManagedPolicyArns ?? []].flat()) {
        const policyId = isObject(arn) && typeof arn.Ref === 'string' ? arn.Ref : undefined;
        if (policyId !== undefined && this.resources[policyId]?.Type === 'AWS::IAM::ManagedPolicy')
          attachedTo.set(policyId, [...(attachedTo.get(policyId) ?? []), id]);
        else
          unverifiable.push(`${resource.Type} ${id} attaches ${JSON.stringify(arn)}, a policy whose statements the template does not hold`);
      }
    }
    for (const [id, resource] of Object.entries(this.resources)) {
      const where = `${resource.Type} ${id}`;
      const properties = resource.Properties ?? {};
      if (IDENTITY_CARRIERS.includes(resource.Type)) {
        for (const policy of [properties.Policies ?? []].flat())
          if (isObject(policy)) grants.push(...this.grantsOf(where, [id], policy.PolicyDocument, false));
      } else if (resource.Type in STANDALONE_POLICIES) {
        const principals = [
          ...STANDALONE_POLICIES[resource.Type].flatMap((key) =>
            [properties[key] ?? []].flat().map((principal) => this.principalName(principal)),
          ),
          ...(attachedTo.get(id) ?? []),
        ];
        grants.push(...this.grantsOf(where, principals, properties.PolicyDocument, false));
      } else if (id === this.auditTableId) {
        for (const document of documentsIn(properties))
          for (const statement of statementsOf(document))
            grants.push(
              ...this.grantsOf(
                where,
                [`principal ${JSON.stringify(statement.Principal ?? null)}`],
                { Statement: [statement as Json] },
                true,
              ),
            );
      } else if (resource.Type !== 'AWS::DynamoDB::Table') {
        // Other resource policies govern only their own resource; a DynamoDB grant anywhere else is one this check cannot
        // place (an SSO permission set, a new policy type), so it fails rather than guess.
        const dynamo = documentsIn(properties)
          .flatMap(statementsOf)
          .filter((statement) => statement.Effect !== 'Deny' && granted(statement, [...NEVER_ALLOWED, ...APPEND_ACTIONS]).length > 0);
        if (dynamo.length > 0) unverifiable.push(`${where} holds a policy granting DynamoDB actions that this check cannot attribute`);
      }
    }
    return { reaching: grants.filter((grant) => grant.onTheTable || this.reaches(grant.statement)), unverifiable };
  }

  private grantsOf(where: string, principals: string[], document: Json | undefined, onTheTable: boolean): Grant[] {
    return statementsOf(document)
      .filter((statement) => statement.Effect !== 'Deny')
      .map((statement) => ({ where, principals, statement, onTheTable }));
  }

  private principalName(principal: Json): string {
    return isObject(principal) && typeof principal.Ref === 'string' ? principal.Ref : `named ${JSON.stringify(principal)}`;
  }

  /** `Resource` matches the table or an index; `NotResource` leaves one of them in; an unresolvable value might. */
  private reaches(statement: Statement): boolean {
    if (statement.NotResource !== undefined) {
      const excluded = [statement.NotResource].flat().map((value) => this.patterns(value));
      return this.targets.some(
        (target) => !excluded.some((patterns) => patterns !== null && patterns.some((pattern) => glob(pattern, target, false))),
      );
    }
    return [statement.Resource ?? []].flat().some((value) => {
      const patterns = this.patterns(value);
      return patterns === null || patterns.some((pattern) => this.targets.some((target) => glob(pattern, target, false)));
    });
  }

  /**
   * What a resource value can be at deploy time, as ARN patterns: null when it cannot be resolved. The partition,
   * region and account segments become `*`: the stack deploys to an account and region it does not name.
   */
  private patterns(value: Json): string[] | null {
    const rendered = this.render(value);
    return (
      rendered?.map((pattern) => {
        const parts = pattern.split(':');
        if (parts[0] !== 'arn' || parts.length < 6) return pattern;
        return [parts[0], '*', parts[2], '*', '*', ...parts.slice(5)].join(':');
      }) ?? null
    );
  }

  private render(value: Json): string[] | null {
    if (typeof value === 'string') return [value];
    if (!isObject(value)) return null;
    const entries = Object.entries(value);
    if (entries.length !== 1) return null;
    const [[fn, args]] = entries;
    if (fn === 'Ref' && typeof args === 'string') return this.ref(args);
    if (fn === 'Fn::GetAtt') {
      const [id, attribute] = typeof args === 'string' ? args.split('.') : Array.isArray(args) ? args.map(String) : [];
      return id === undefined || attribute === undefined ? null : this.getAtt(id, attribute);
    }
    if (fn === 'Fn::Join' && Array.isArray(args) && typeof args[0] === 'string' && Array.isArray(args[1])) {
      const separator = args[0];
      return args[1].reduce<string[] | null>(
        (joined, part, index) => {
          const rendered = this.render(part);
          if (joined === null || rendered === null) return null;
          return joined.flatMap((head) => rendered.map((tail) => (index === 0 ? tail : `${head}${separator}${tail}`)));
        },
        [''],
      );
    }
    if (fn === 'Fn::Sub') {
      const [text, variables] = typeof args === 'string' ? [args, {}] : Array.isArray(args) ? [String(args[0]), args[1]] : [null, {}];
      if (text === null) return null;
      return this.substitute(text, isObject(variables) ? variables : {});
    }
    if (fn === 'Fn::If' && Array.isArray(args)) {
      const branches = args.slice(1).map((branch) => this.render(branch));
      return branches.some((branch) => branch === null) ? null : branches.flatMap((branch) => branch ?? []);
    }
    if (fn === 'Fn::Select' && Array.isArray(args) && typeof args[0] !== 'object' && Array.isArray(args[1])) {
      const chosen = args[1][Number(args[0])];
      return chosen === undefined ? null : this.render(chosen);
    }
    return null;
  }

  private substitute(text: string, variables: JsonObject): string[] | null {
    let results: string[] | null = [''];
    let rest = text;
    for (let match = /\$\{([^}]+)\}/.exec(rest); match !== null; match = /\$\{([^}]+)\}/.exec(rest)) {
      const literal = rest.slice(0, match.index);
      const name = match[1];
      const value = name.startsWith('!')
        ? [`\${${name.slice(1)}}`]
        : name in variables
          ? this.render(variables[name])
          : name.includes('.') && !name.startsWith('AWS::')
            ? this.getAtt(name.slice(0, name.indexOf('.')), name.slice(name.indexOf('.') + 1))
            : this.ref(name);
      if (value === null || results === null) return null;
      const current: string[] = results;
      results = current.flatMap((head) => value.map((tail) => `${head}${literal}${tail}`));
      rest = rest.slice(match.index + match[0].length);
    }
    return results === null ? null : results.map((head) => `${head}${rest}`);
  }

  private ref(name: string): string[] | null {
    if (name.startsWith('AWS::')) return [name === 'AWS::StackName' ? this.stackName : '*'];
    const resource = this.resources[name];
    if (resource === undefined) return null;
    return [resource.Type === 'AWS::DynamoDB::Table' ? this.tableName(name) : `{${name}}`];
  }

  private getAtt(id: string, attribute: string): string[] | null {
    const resource = this.resources[id];
    if (resource === undefined) return null;
    if (resource.Type !== 'AWS::DynamoDB::Table') return [`{${id}.${attribute}}`];
    if (attribute === 'Arn') return [this.tableArn(id)];
    if (attribute === 'StreamArn') return [`${this.tableArn(id)}/stream/{latest}`];
    return [`{${id}.${attribute}}`];
  }

  /** Its `TableName`, or the name CloudFormation generates: `<stack>-<logical id>-<random>`. */
  private tableName(id: string): string {
    const name = this.resources[id].Properties?.TableName;
    return typeof name === 'string' ? name : `${this.stackName}-${id}-1A2B3C4D5E6F`;
  }

  private tableArn(id: string): string {
    return `arn:aws:dynamodb:us-east-1:123456789012:table/${this.tableName(id)}`;
  }
}

/** Every policy document under a resource's properties (an object with a `Statement`). */
function documentsIn(value: Json | undefined): Json[] {
  if (Array.isArray(value)) return value.flatMap(documentsIn);
  if (!isObject(value)) return [];
  if ('Statement' in value) return [value];
  return Object.values(value).flatMap(documentsIn);
}

/** The candidate actions a statement allows: its `Action` patterns, or everything its `NotAction` leaves out. */
function granted(statement: Statement, candidates: string[]): string[] {
  const patterns = (value: Json | undefined): string[] | null => {
    const list = [value ?? []].flat();
    return list.every((item) => typeof item === 'string') ? list : null;
  };
  if (statement.NotAction !== undefined) {
    const excluded = patterns(statement.NotAction) ?? [];
    return candidates.filter((action) => !excluded.some((pattern) => glob(pattern, action, true)));
  }
  const allowed = patterns(statement.Action);
  return allowed === null ? candidates : candidates.filter((action) => allowed.some((pattern) => glob(pattern, action, true)));
}

/** What could delete, batch-write, alter or PartiQL the table, and what the check cannot verify. */
function forbidden(analysis: Analysis): string[] {
  return [
    ...analysis.reaching.flatMap(({ where, principals, statement }) => {
      const actions = granted(statement, NEVER_ALLOWED);
      return actions.length === 0
        ? []
        : [`${where} allows ${actions.join(', ')} on the audit table to ${principals.join(', ') || 'nobody yet'}`];
    }),
    ...analysis.unverifiable,
  ];
}

/** Each principal that may put or update audit items, with every action its statements name there. */
function writers(analysis: Analysis): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const { principals, statement } of analysis.reaching) {
    if (granted(statement, APPEND_ACTIONS).length === 0) continue;
    const actions = statement.NotAction === undefined ? ([statement.Action ?? []].flat() as string[]) : ['NotAction'];
    for (const principal of principals) found.set(principal, [...(found.get(principal) ?? []), ...actions]);
  }
  return found;
}

let template: TemplateJson;
let stackName: string;

beforeAll(() => {
  const synthesized = synthEnvironment('prod');
  template = synthesized.template.toJSON() as TemplateJson;
  stackName = synthesized.stack.stackName;
});

const analyse = (json: TemplateJson = template): Analysis => new AuditTableAnalysis(json, stackName).run();

function roleOf(service: string): string {
  const functions = Object.values(template.Resources).filter(
    (resource) =>
      resource.Type === 'AWS::Lambda::Function' &&
      String(resource.Properties?.Description).includes(service === 'worker' ? 'acknowledges, triages' : 'hands dead-lettered incidents'),
  );
  expect(functions).toHaveLength(1);
  return String(((functions[0].Properties?.Role as JsonObject)['Fn::GetAtt'] as Json[])[0]);
}

/** The synthesized template with resources added, or changed by `change`. */
function injected(added: Record<string, TemplateResource>, change: (json: TemplateJson) => void = () => undefined): TemplateJson {
  const json = structuredClone(template);
  Object.assign(json.Resources, added);
  change(json);
  return json;
}

const auditTableId = (): string =>
  Object.entries(template.Resources).find(
    ([, resource]) => resource.Type === 'AWS::DynamoDB::Table' && JSON.stringify(resource.Properties?.KeySchema).includes('"incidentId"'),
  )?.[0] as string;
const stateTableId = (): string =>
  Object.entries(template.Resources).find(
    ([id, resource]) => resource.Type === 'AWS::DynamoDB::Table' && id !== auditTableId(),
  )?.[0] as string;

const allow = (action: Json, resource: Json): Json => ({ Effect: 'Allow', Action: action, Resource: resource });
const document = (...statements: Json[]): Json => ({ Version: '2012-10-17', Statement: statements });
const anyTableJoin: Json = {
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':dynamodb:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':table/*']],
};

describe('audit table: append-only in IAM', () => {
  it('no policy in the stack can delete, batch-write, alter or PartiQL the audit table, and every policy can be checked', () => {
    const analysis = analyse();
    // The worker's and the handback's grants reach it: the check looked at the statements that matter.
    expect(analysis.reaching.length).toBeGreaterThan(0);
    expect(forbidden(analysis)).toEqual([]);
  });

  it('only the worker and the handback function may put or update audit items, and they can do nothing else there', () => {
    const found = writers(analyse());
    expect([...found.keys()].sort()).toEqual(APPENDERS.map(roleOf).sort());
    for (const actions of found.values()) expect(actions.filter((action) => !READ_ACTIONS.includes(action)).sort()).toEqual(APPEND_ACTIONS);
  });

  describe('fails on every kind of grant that could delete or overwrite audit items', () => {
    it('a synthesized IAM policy on a user granting dynamodb:DeleteItem on table/* (formatArn: Fn::Join of the pseudo parameters)', () => {
      const { stack, template: bad } = synthEnvironment('prod', {}, (target) => {
        new Policy(target, 'InjectedDeleteAnyTable', {
          users: [new User(target, 'InjectedUser')],
          statements: [
            new PolicyStatement({
              actions: ['dynamodb:DeleteItem'],
              resources: [target.formatArn({ service: 'dynamodb', resource: 'table', resourceName: '*' })],
            }),
          ],
        });
      });
      const findings = forbidden(new AuditTableAnalysis(bad.toJSON() as TemplateJson, stack.stackName).run());
      expect(findings).toEqual([
        expect.stringMatching(/^AWS::IAM::Policy InjectedDeleteAnyTable\w* allows dynamodb:DeleteItem on the audit table to InjectedUser/),
      ]);
    });

    it.each<[string, () => TemplateJson, RegExp]>([
      [
        'an AWS::IAM::Policy on a group, DeleteItem on table/* via Fn::Join',
        () =>
          injected({
            BadGroup: { Type: 'AWS::IAM::Group', Properties: {} },
            BadPolicy: {
              Type: 'AWS::IAM::Policy',
              Properties: {
                PolicyName: 'bad',
                Groups: [{ Ref: 'BadGroup' }],
                PolicyDocument: document(allow('dynamodb:DeleteItem', anyTableJoin)),
              },
            },
          }),
        /AWS::IAM::Policy BadPolicy allows dynamodb:DeleteItem on the audit table to BadGroup/,
      ],
      [
        "a managed policy attached only through a user's ManagedPolicyArns, Delete* on an Fn::Sub table/* ARN",
        () =>
          injected({
            BadManaged: {
              Type: 'AWS::IAM::ManagedPolicy',
              Properties: {
                PolicyDocument: document(
                  allow('dynamodb:Delete*', { 'Fn::Sub': 'arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/*' }),
                ),
              },
            },
            BadUser: { Type: 'AWS::IAM::User', Properties: { ManagedPolicyArns: [{ Ref: 'BadManaged' }] } },
          }),
        /AWS::IAM::ManagedPolicy BadManaged allows dynamodb:DeleteItem, dynamodb:DeleteTable on the audit table to BadUser/,
      ],
      [
        "a user's inline policy, BatchWriteItem on the table's own Fn::GetAtt Arn",
        () =>
          injected({
            BadUser: {
              Type: 'AWS::IAM::User',
              Properties: {
                Policies: [
                  {
                    PolicyName: 'bad',
                    PolicyDocument: document(allow(['dynamodb:BatchWriteItem'], { 'Fn::GetAtt': [auditTableId(), 'Arn'] })),
                  },
                ],
              },
            },
          }),
        /AWS::IAM::User BadUser allows dynamodb:BatchWriteItem on the audit table to BadUser/,
      ],
      [
        "a group's inline policy, dynamodb:* on *",
        () =>
          injected({
            BadGroup: {
              Type: 'AWS::IAM::Group',
              Properties: { Policies: [{ PolicyName: 'bad', PolicyDocument: document(allow('dynamodb:*', '*')) }] },
            },
          }),
        /AWS::IAM::Group BadGroup allows dynamodb:DeleteItem, dynamodb:BatchWriteItem, .* on the audit table to BadGroup/,
      ],
      [
        'an AWS::IAM::RolePolicy on an existing role, DeleteItem on a literal ARN with another account and a name prefix',
        () =>
          injected({
            BadRolePolicy: {
              Type: 'AWS::IAM::RolePolicy',
              Properties: {
                RoleName: { Ref: roleOf('worker') },
                PolicyName: 'bad',
                PolicyDocument: document(allow('dynamodb:DeleteItem', `arn:aws:dynamodb:eu-west-1:111122223333:table/${stackName}-*`)),
              },
            },
          }),
        /AWS::IAM::RolePolicy BadRolePolicy allows dynamodb:DeleteItem on the audit table/,
      ],
      [
        "the worker role's inline NotAction policy on the table",
        () =>
          injected({}, (json) => {
            json.Resources[roleOf('worker')].Properties!.Policies = [
              {
                PolicyName: 'bad',
                PolicyDocument: document({
                  Effect: 'Allow',
                  NotAction: 'dynamodb:Query',
                  Resource: { 'Fn::GetAtt': [auditTableId(), 'Arn'] },
                }),
              },
            ];
          }),
        /allows dynamodb:DeleteItem, .*dynamodb:PartiQLUpdate on the audit table/,
      ],
      [
        'a NotResource that leaves the audit table in',
        () =>
          injected({
            BadPolicy: {
              Type: 'AWS::IAM::Policy',
              Properties: {
                PolicyName: 'bad',
                Roles: [{ Ref: roleOf('handback') }],
                PolicyDocument: document({
                  Effect: 'Allow',
                  Action: 'dynamodb:DeleteItem',
                  NotResource: { 'Fn::GetAtt': [stateTableId(), 'Arn'] },
                }),
              },
            },
          }),
        /AWS::IAM::Policy BadPolicy allows dynamodb:DeleteItem on the audit table/,
      ],
      [
        'a resource that cannot be resolved (Fn::ImportValue)',
        () =>
          injected({
            BadPolicy: {
              Type: 'AWS::IAM::Policy',
              Properties: {
                PolicyName: 'bad',
                Roles: [{ Ref: roleOf('worker') }],
                PolicyDocument: document(allow('dynamodb:DeleteItem', { 'Fn::ImportValue': 'SomeTableArn' })),
              },
            },
          }),
        /AWS::IAM::Policy BadPolicy allows dynamodb:DeleteItem on the audit table/,
      ],
      [
        "the audit table's own resource policy",
        () =>
          injected({}, (json) => {
            json.Resources[auditTableId()].Properties!.ResourcePolicy = {
              PolicyDocument: document({ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'dynamodb:DeleteItem', Resource: '*' }),
            };
          }),
        /AWS::DynamoDB::Table \w+ allows dynamodb:DeleteItem on the audit table to principal \{"AWS":"\*"\}/,
      ],
      [
        'a DynamoDB grant in a resource type the check does not know (an SSO permission set)',
        () =>
          injected({
            BadPermissionSet: {
              Type: 'AWS::SSO::PermissionSet',
              Properties: {
                Name: 'bad',
                InstanceArn: 'arn:aws:sso:::instance/ssoins-1',
                InlinePolicy: document(allow('dynamodb:DeleteItem', '*')),
              },
            },
          }),
        /AWS::SSO::PermissionSet BadPermissionSet holds a policy granting DynamoDB actions that this check cannot attribute/,
      ],
      [
        'an AWS managed policy attached by ARN (its statements are not in the template)',
        () =>
          injected({}, (json) => {
            json.Resources[roleOf('handback')].Properties!.ManagedPolicyArns = ['arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess'];
          }),
        /AWS::IAM::Role \w+ attaches "arn:aws:iam::aws:policy\/AmazonDynamoDBFullAccess"/,
      ],
    ])('%s', (_name, build, expected) => {
      expect(forbidden(analyse(build()))).toEqual([expect.stringMatching(expected)]);
    });

    it('a user given PutItem on table/* is a writer the check refuses', () => {
      const bad = injected({
        BadUser: {
          Type: 'AWS::IAM::User',
          Properties: { Policies: [{ PolicyName: 'bad', PolicyDocument: document(allow('dynamodb:PutItem', anyTableJoin)) }] },
        },
      });
      expect([...writers(analyse(bad)).keys()].sort()).toEqual([...APPENDERS.map(roleOf), 'BadUser'].sort());
    });

    it('is not blind: a delete on the state table is not taken for one on the audit table', () => {
      const elsewhere = injected({
        StateCleaner: {
          Type: 'AWS::IAM::Policy',
          Properties: {
            PolicyName: 'ok',
            Roles: [{ Ref: roleOf('worker') }],
            PolicyDocument: document(allow('dynamodb:DeleteItem', { 'Fn::GetAtt': [stateTableId(), 'Arn'] })),
          },
        },
      });
      expect(forbidden(analyse(elsewhere))).toEqual([]);
    });
  });
});
