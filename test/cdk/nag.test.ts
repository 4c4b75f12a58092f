import { App, Stack, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { contextReadAcknowledgements } from '../../cdk/constructs/context-reads';
import { cdkJsonContext, synthEnvironment } from '../support/cdk-app';

/** Every acknowledgement in the construct tree: rule id → the reason written next to it in the code. */
function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

describe.each(Object.keys(cdkJsonContext().environments))('cdk-nag AwsSolutions on %s', (env) => {
  let app: App;
  let contextReads: { id: string }[];
  beforeAll(() => {
    let stack: Stack;
    ({ app, stack } = synthEnvironment(env));
    contextReads = contextReadAcknowledgements(stack);
  });

  it('reports no unacknowledged finding', () => {
    const report = new AwsSolutionsChecks().validateScope(app);
    expect(
      report.violations.map((violation) => `${violation.ruleName}: ${violation.violatingResources.map((r) => r.constructPath).join(', ')}`),
    ).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('acknowledges only the known findings, each with a written justification', () => {
    const acknowledged = acknowledgements(app);
    expect([...new Set(acknowledged.map((ack) => ack.id))].sort()).toEqual(
      ['AwsSolutions-APIG4', 'AwsSolutions-L1', 'AwsSolutions-SMG4', ...contextReads.map((ack) => ack.id)].sort(),
    );
    // Only the signing secret goes without a rotation schedule: PagerDuty cannot rotate it in place.
    expect(acknowledged.filter((ack) => ack.id === 'AwsSolutions-SMG4').map((ack) => ack.path.split('/')[1])).toEqual([
      'WebhookSigningSecret',
    ]);
    // The wildcard reads are acknowledged on the worker's context-read policy only.
    expect(
      acknowledged.filter((ack) => ack.id.startsWith('AwsSolutions-IAM5')).map((ack) => ack.path.split('/').slice(1).join('/')),
    ).toEqual(contextReads.map(() => 'WorkerContextReads/Policy'));
    expect(
      acknowledged
        .filter((ack) => ack.id === 'AwsSolutions-L1')
        .map((ack) => ack.path.split('/')[1])
        .sort(),
    ).toEqual(['CheckScheduler', 'Handback', 'Ingress', 'RotateSecret', 'Worker']);
    for (const ack of acknowledged) expect(ack.reason.length).toBeGreaterThan(80);
  });
});

describe('cdk-nag as these tests run it', () => {
  it('does report a finding on a non-compliant resource, so an empty report above means something', () => {
    const app = new App();
    const stack = new Stack(app, 'NonCompliant');
    new sqs.Queue(stack, 'Plain', { encryption: sqs.QueueEncryption.UNENCRYPTED, enforceSSL: false });
    const rules = new AwsSolutionsChecks().validateScope(app).violations.map((violation) => violation.ruleName);
    expect(rules).toEqual(expect.arrayContaining(['AwsSolutions-SQS3', 'AwsSolutions-SQS4']));
  });
});
