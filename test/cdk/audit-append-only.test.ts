import type { Template } from 'aws-cdk-lib/assertions';
import { synthEnvironment } from '../support/cdk-app';

/**
 * The audit table is append-only as far as IAM can say it: no policy anywhere in the stack lets a principal delete,
 * batch-write, change or PartiQL the table, and only the roles that append to it (worker, handback) may put or update.
 * The conditions on those puts and updates are tested on dynalite (`test/integration/state-ledgers.test.ts`).
 */
type Statement = { Effect?: string; Action?: string | string[]; NotAction?: unknown; Resource?: unknown; NotResource?: unknown };
type Resource = { Type: string; Properties: Record<string, any> };

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

/** IAM action patterns are case-insensitive globs (`dynamodb:*`, `dynamodb:Delete*`). */
const grants = (pattern: string, action: string): boolean =>
  new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i').test(action);

let template: Template;
let resources: Record<string, Resource>;
let auditTableId: string;

beforeAll(() => {
  template = synthEnvironment('prod').template;
  resources = template.toJSON().Resources as Record<string, Resource>;
  const tables = Object.entries(resources).filter(
    ([, resource]) => resource.Type === 'AWS::DynamoDB::Table' && resource.Properties.KeySchema[0].AttributeName === 'incidentId',
  );
  expect(tables).toHaveLength(1);
  auditTableId = tables[0][0];
});

/** Every statement of every identity policy in the stack (policies, managed policies, inline role policies), by role. */
function allStatements(): { roles: string[]; statement: Statement }[] {
  const found: { roles: string[]; statement: Statement }[] = [];
  for (const [id, resource] of Object.entries(resources)) {
    const documents: { roles: string[]; document: { Statement: Statement[] } }[] = [];
    if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy') {
      const roles = ((resource.Properties.Roles ?? []) as { Ref: string }[]).map((role) => role.Ref);
      documents.push({ roles, document: resource.Properties.PolicyDocument });
    }
    if (resource.Type === 'AWS::IAM::Role') {
      for (const policy of (resource.Properties.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[]) {
        documents.push({ roles: [id], document: policy.PolicyDocument });
      }
    }
    for (const { roles, document } of documents) for (const statement of document.Statement) found.push({ roles, statement });
  }
  return found;
}

/** A statement can reach the audit table when it names it (or its indexes), or any resource. */
const reachesAuditTable = (statement: Statement): boolean =>
  statement.NotResource !== undefined ||
  [statement.Resource].flat().some((resource) => resource === '*' || JSON.stringify(resource).includes(auditTableId));

function roleOf(service: string): string {
  const functions = Object.values(resources).filter(
    (resource) =>
      resource.Type === 'AWS::Lambda::Function' &&
      String(resource.Properties.Description).includes(service === 'worker' ? 'acknowledges, triages' : 'hands dead-lettered incidents'),
  );
  expect(functions).toHaveLength(1);
  return functions[0].Properties.Role['Fn::GetAtt'][0];
}

describe('audit table: append-only in IAM', () => {
  it('no policy in the stack can delete, batch-write, alter or PartiQL the audit table', () => {
    const onAudit = allStatements().filter(({ statement }) => statement.Effect !== 'Deny' && reachesAuditTable(statement));
    expect(onAudit.length).toBeGreaterThan(0);
    for (const { statement } of onAudit) {
      expect(statement.NotAction).toBeUndefined();
      const actions = [statement.Action ?? []].flat();
      const allowed = NEVER_ALLOWED.filter((action) => actions.some((pattern) => grants(pattern, action)));
      expect({ actions, allowed }).toEqual({ actions, allowed: [] });
    }
  });

  it('only the worker and the handback function may put or update audit items, and they can do nothing else there', () => {
    const appenders = APPENDERS.map(roleOf);
    const writers = new Set<string>();
    for (const { roles, statement } of allStatements()) {
      if (statement.Effect === 'Deny' || !reachesAuditTable(statement)) continue;
      const actions = [statement.Action ?? []].flat();
      if (!APPEND_ACTIONS.some((action) => actions.some((pattern) => grants(pattern, action)))) continue;
      for (const role of roles) writers.add(role);
      if (roles.every((role) => appenders.includes(role)))
        expect(actions.filter((action) => !READ_ACTIONS.includes(action)).sort()).toEqual([...APPEND_ACTIONS].sort());
    }
    expect([...writers].sort()).toEqual([...appenders].sort());
  });
});
