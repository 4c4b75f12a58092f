import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import {
  AUDIT_APPEND_CONDITIONS,
  AUDIT_COMPLETION_ATTRIBUTES,
  AUDIT_COMPLETION_CONDITIONS,
  INGRESS_STATE_CONDITIONS,
  INGRESS_STATE_KEY_PATTERNS,
} from '../../cdk/constructs/table-conditions';
import { AuditLog, type AuditCompletion } from '../../lib/audit/audit-log';
import { AUDIT_TABLE } from '../../lib/infra/resource-definitions';
import { EventLedger } from '../../lib/state/event-ledger';
import { stateKeys } from '../../lib/state/state-keys';
import { synthEnvironment } from '../support/cdk-app';

/**
 * Least privilege where the code was the only guard: the ingress reaches only its own keys of the state table
 * (`dynamodb:LeadingKeys`), and an audit UpdateItem may name only the completion fields (`dynamodb:Attributes`), so TTL
 * and history cannot be rewritten. Each condition is checked two ways: the stack's grants carry it (with injected bad
 * grants showing the check fails), and the code's own requests, recorded from the real classes, would pass it.
 */
type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
interface Statement {
  Effect?: string;
  Action?: Json;
  Resource?: Json;
  Condition?: JsonObject;
}
interface TemplateJson {
  Resources: Record<string, { Type: string; Properties?: JsonObject }>;
}

const glob = (pattern: string, value: string): boolean =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  ).test(value);

let template: TemplateJson;
beforeAll(() => {
  template = synthEnvironment('prod').template.toJSON() as TemplateJson;
});

const tableId = (json: TemplateJson, partitionKey: string): string => {
  const ids = Object.entries(json.Resources)
    .filter(
      ([, resource]) =>
        resource.Type === 'AWS::DynamoDB::Table' && JSON.stringify(resource.Properties?.KeySchema).includes(`"${partitionKey}"`),
    )
    .map(([id]) => id);
  expect(ids).toHaveLength(1);
  return ids[0];
};

function roleOf(json: TemplateJson, description: string): string {
  const found = Object.values(json.Resources).filter(
    (resource) => resource.Type === 'AWS::Lambda::Function' && String(resource.Properties?.Description).includes(description),
  );
  expect(found).toHaveLength(1);
  return String(((found[0].Properties?.Role as JsonObject)['Fn::GetAtt'] as Json[])[0]);
}

/** Every Allow statement of an identity policy in the template that names the table, with the roles it is attached to. */
function grantsOn(json: TemplateJson, table: string): { roles: string[]; statement: Statement }[] {
  return Object.values(json.Resources)
    .filter((resource) => resource.Type === 'AWS::IAM::Policy')
    .flatMap((policy) => {
      const roles = ([policy.Properties?.Roles ?? []].flat() as JsonObject[]).map((role) => String(role.Ref));
      const statements = [(policy.Properties?.PolicyDocument as JsonObject).Statement ?? []].flat() as Statement[];
      return statements
        .filter((statement) => statement.Effect !== 'Deny' && JSON.stringify(statement.Resource).includes(`"${table}"`))
        .map((statement) => ({ roles, statement }));
    });
}

const actionsOf = (statement: Statement): string[] => [statement.Action ?? []].flat().map(String);
const allows = (statement: Statement, action: string): boolean => actionsOf(statement).some((pattern) => glob(pattern, action));

/** The ingress's grants on the state table that are not bounded to its key prefixes. */
function ingressFindings(json: TemplateJson): string[] {
  const ingress = roleOf(json, 'verifies PagerDuty webhooks');
  const grants = grantsOn(json, tableId(json, 'pk')).filter(({ roles }) => roles.includes(ingress));
  expect(grants.length).toBeGreaterThan(0);
  return grants
    .filter(({ statement }) => JSON.stringify(statement.Condition) !== JSON.stringify(INGRESS_STATE_CONDITIONS))
    .map(
      ({ statement }) =>
        `ingress ${actionsOf(statement).join(', ')} on the state table with ${JSON.stringify(statement.Condition ?? null)}`,
    );
}

const FORBIDDEN_AUDIT_ATTRIBUTES = [AUDIT_TABLE.timeToLiveAttribute, 'at', 'day', 'action', 'eventId', 'env', 'eventType'];

/** Any grant that lets a principal UpdateItem or PutItem the audit table beyond the completion conditions. */
function auditFindings(json: TemplateJson): string[] {
  return grantsOn(json, tableId(json, 'incidentId')).flatMap(({ roles, statement }) => {
    const who = roles.join(', ');
    const findings: string[] = [];
    if (allows(statement, 'dynamodb:UpdateItem')) {
      const attributes = ((statement.Condition?.['ForAllValues:StringEquals'] as JsonObject | undefined)?.['dynamodb:Attributes'] ??
        []) as string[];
      if (JSON.stringify(statement.Condition) !== JSON.stringify(AUDIT_COMPLETION_CONDITIONS))
        findings.push(`${who} may UpdateItem the audit table under ${JSON.stringify(statement.Condition ?? null)}`);
      const rewritable = attributes.filter((attribute) => FORBIDDEN_AUDIT_ATTRIBUTES.includes(attribute));
      if (rewritable.length > 0) findings.push(`${who} may rewrite ${rewritable.join(', ')}`);
    }
    if (
      allows(statement, 'dynamodb:PutItem') &&
      !allows(statement, 'dynamodb:UpdateItem') &&
      JSON.stringify(statement.Condition) !== JSON.stringify(AUDIT_APPEND_CONDITIONS)
    )
      findings.push(`${who} may PutItem the audit table under ${JSON.stringify(statement.Condition ?? null)}`);
    return findings;
  });
}

/** A copy of the template with `statement` added to the named role's policies. */
function withGrant(role: string, statement: Statement): TemplateJson {
  const json = structuredClone(template);
  json.Resources.InjectedPolicy = {
    Type: 'AWS::IAM::Policy',
    Properties: {
      PolicyName: 'injected',
      Roles: [{ Ref: role }],
      PolicyDocument: { Version: '2012-10-17', Statement: [statement as JsonObject] },
    },
  };
  return json;
}

describe('ingress: only the event and quarantine keys of the state table (dynamodb:LeadingKeys)', () => {
  it('every grant the ingress has on the state table carries the key-prefix condition', () => {
    expect(INGRESS_STATE_KEY_PATTERNS).toEqual(['event#*', 'quarantine#*']);
    expect(ingressFindings(template)).toEqual([]);
  });

  it.each<[string, JsonObject | undefined]>([
    ['no condition', undefined],
    ['a prefix that also covers incident ledgers', { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['*'] } }],
    ['ForAnyValue, which one matching key satisfies', { 'ForAnyValue:StringLike': { 'dynamodb:LeadingKeys': INGRESS_STATE_KEY_PATTERNS } }],
  ])('fails on an ingress grant with %s', (_name, condition) => {
    const json = withGrant(roleOf(template, 'verifies PagerDuty webhooks'), {
      Effect: 'Allow',
      Action: 'dynamodb:UpdateItem',
      Resource: { 'Fn::GetAtt': [tableId(template, 'pk'), 'Arn'] },
      ...(condition === undefined ? {} : { Condition: condition }),
    });
    expect(ingressFindings(json)).toEqual([expect.stringMatching(/^ingress dynamodb:UpdateItem on the state table/)]);
  });

  it("the ingress code's every state-table key matches a granted prefix; the worker's keys do not", async () => {
    const dynamo = mockClient(DynamoDBDocumentClient);
    dynamo.on(PutCommand).resolves({});
    dynamo.on(UpdateCommand).resolves({});
    dynamo.on(GetCommand).resolves({ Item: { ingressStatus: 'enqueued' } });
    const ledger = new EventLedger(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })), 'state');
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 40 }), fc.uint8Array({ maxLength: 64 }), async (eventId, body) => {
        dynamo.resetHistory();
        const at = new Date('2026-12-07T00:00:00Z');
        await ledger.recordReceived({
          eventId,
          eventType: 'incident.triggered',
          incidentId: 'P1',
          webhookId: null,
          subscriptionId: null,
          receivedAt: at,
        });
        await ledger.ingressStatus(eventId);
        await ledger.markEnqueued(eventId, at);
        await ledger.quarantine({ body: Buffer.from(body), headers: {}, reason: 'r', receivedAt: at });
        const keys = dynamo.calls().map((call) => {
          const input = call.args[0].input as { Key?: { pk: string }; Item?: { pk: string } };
          return (input.Key ?? input.Item)?.pk as string;
        });
        expect(keys).toHaveLength(4);
        for (const key of keys) expect(INGRESS_STATE_KEY_PATTERNS.some((pattern) => glob(pattern, key))).toBe(true);
      }),
    );
    dynamo.restore();
    for (const key of [stateKeys.incident('P1'), stateKeys.note('P1', 'E1'), stateKeys.serviceContext('S1'), stateKeys.pastNotes('P2')])
      expect(INGRESS_STATE_KEY_PATTERNS.some((pattern) => glob(pattern, key))).toBe(false);
  });
});

describe('audit table: UpdateItem names only the completion fields (dynamodb:Attributes), nothing is returned', () => {
  it('the worker and the handback have it, and no grant anywhere lets TTL or history be rewritten', () => {
    const updaters = grantsOn(template, tableId(template, 'incidentId'))
      .filter(({ statement }) => allows(statement, 'dynamodb:UpdateItem'))
      .flatMap(({ roles }) => roles)
      .sort();
    expect(updaters).toEqual([roleOf(template, 'acknowledges, triages'), roleOf(template, 'hands dead-lettered incidents')].sort());
    expect(auditFindings(template)).toEqual([]);
  });

  it.each<[string, JsonObject | undefined, RegExp]>([
    ['no condition', undefined, /may UpdateItem the audit table under null/],
    [
      'the TTL among the attributes',
      {
        'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...AUDIT_COMPLETION_ATTRIBUTES, 'expiresAt'] },
        StringEqualsIfExists: { 'dynamodb:ReturnValues': ['NONE'] },
      },
      /may rewrite expiresAt/,
    ],
    [
      'ALL_OLD allowed back (a read through a write)',
      {
        'ForAllValues:StringEquals': { 'dynamodb:Attributes': AUDIT_COMPLETION_ATTRIBUTES },
        StringEqualsIfExists: { 'dynamodb:ReturnValues': ['NONE', 'ALL_OLD'] },
      },
      /may UpdateItem the audit table under/,
    ],
  ])('fails on a grant with %s', (_name, condition, expected) => {
    const json = withGrant(roleOf(template, 'hands dead-lettered incidents'), {
      Effect: 'Allow',
      Action: 'dynamodb:UpdateItem',
      Resource: { 'Fn::GetAtt': [tableId(template, 'incidentId'), 'Arn'] },
      ...(condition === undefined ? {} : { Condition: condition }),
    });
    expect(auditFindings(json)).toContainEqual(expect.stringMatching(expected));
  });

  it("AuditLog.complete's every request names only granted attributes and asks nothing back, whatever the completion", async () => {
    const dynamo = mockClient(DynamoDBDocumentClient);
    dynamo.on(UpdateCommand).resolves({});
    const audit = new AuditLog(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })), 'audit', 'prod');
    const optional = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });
    const completion: fc.Arbitrary<AuditCompletion> = fc.record({
      outcome: fc.constantFrom('succeeded', 'already-done', 'failed', 'skipped'),
      detail: optional(fc.string()),
      httpStatus: optional(fc.integer({ min: 100, max: 599 })),
      requestId: optional(fc.option(fc.string({ minLength: 1 }), { nil: null })),
      attempts: optional(fc.nat()),
      durationMs: optional(fc.nat()),
      noteId: optional(fc.string({ minLength: 1 })),
      hypothesisSummary: optional(fc.string({ minLength: 1 })),
    });
    await fc.assert(
      fc.asyncProperty(completion, async (fields) => {
        dynamo.resetHistory();
        await audit.complete({ incidentId: 'P1', sk: '2026-12-07T00:00:00.000Z#note#E1' }, fields);
        const [call] = dynamo.commandCalls(UpdateCommand);
        const input = call.args[0].input;
        const named = new Set([...Object.keys(input.Key ?? {}), ...Object.values(input.ExpressionAttributeNames ?? {})]);
        // Plain (not #-substituted) names in the expressions count too.
        for (const expression of [input.UpdateExpression, input.ConditionExpression])
          for (const word of (expression ?? '').replace(/[#:][\w]+/g, ' ').match(/\b[A-Za-z_]\w*\b(?!\s*\()/g) ?? [])
            if (!['SET', 'REMOVE', 'ADD', 'DELETE', 'AND', 'OR', 'NOT'].includes(word)) named.add(word);
        expect([...named].filter((name) => !AUDIT_COMPLETION_ATTRIBUTES.includes(name))).toEqual([]);
        expect(input.ReturnValues ?? 'NONE').toBe('NONE');
      }),
    );
    dynamo.restore();
  });
});
