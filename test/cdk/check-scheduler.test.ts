import type { Template } from 'aws-cdk-lib/assertions';
import { CHECK_QUEUE } from '../../lib/infra/resource-definitions';
import { METRICS_NAMESPACE, MetricName } from '../../lib/observability/telemetry';
import { synthEnvironment } from '../support/cdk-app';

type Resource = { Type: string; Properties: Record<string, any> };
type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

let template: Template;

beforeAll(() => {
  template = synthEnvironment('dev').template;
});

const resources = (type: string): Record<string, Resource> => template.findResources(type) as Record<string, Resource>;

function functionId(description: string): string {
  const [id] =
    Object.entries(resources('AWS::Lambda::Function')).find(([, fn]) => String(fn.Properties.Description).includes(description)) ?? [];
  if (id === undefined) throw new Error(`no function described "${description}"`);
  return id;
}

/** Every statement of the policies attached to a function's role. */
function statementsOf(description: string): Statement[] {
  const role = resources('AWS::Lambda::Function')[functionId(description)].Properties.Role['Fn::GetAtt'][0];
  return Object.values(resources('AWS::IAM::Policy'))
    .filter((policy) => (policy.Properties.Roles as { Ref: string }[]).some((ref) => ref.Ref === role))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
}

const actionsOf = (statements: Statement[]): string[] => statements.flatMap((statement) => [statement.Action].flat()).sort();
const queueId = (prefix: string): string => {
  const id = Object.keys(resources('AWS::SQS::Queue')).find((key) => key.startsWith(prefix));
  if (id === undefined) throw new Error(`no queue ${prefix}`);
  return id;
};

describe('the check scheduler', () => {
  it('is a standard queue (FIFO queues take no per-message delay) with its own dead-letter queue, encrypted', () => {
    const delay = resources('AWS::SQS::Queue')[queueId('CheckSchedulerDelayQueue')];
    expect(delay.Properties.FifoQueue).toBeUndefined();
    expect(delay.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      VisibilityTimeout: CHECK_QUEUE.visibilityTimeoutSeconds,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [queueId('CheckSchedulerDeadLetterQueue'), 'Arn'] }, maxReceiveCount: 5 },
    });
  });

  it('lets the relay only move messages: receive from the delay queue, send to it and to the event queue; no table, no secret', () => {
    const statements = statementsOf('puts scheduled checks');
    const actions = actionsOf(statements);
    expect(actions.every((action) => action.startsWith('sqs:') || action.startsWith('logs:'))).toBe(true);
    expect(actions).toEqual(expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:SendMessage']));
    const sendTargets = statements
      .filter((statement) => [statement.Action].flat().includes('sqs:SendMessage'))
      .flatMap((statement) => [statement.Resource].flat().map((resource) => JSON.stringify(resource)));
    expect(sendTargets.sort()).toEqual(
      [queueId('CheckSchedulerDelayQueue'), queueId('EventQueue')].map((id) => JSON.stringify({ 'Fn::GetAtt': [id, 'Arn'] })).sort(),
    );
  });

  it('lets the worker send to the delay queue, and feeds the check dead-letter queue to the handback', () => {
    const workerSends = statementsOf('acknowledges, triages')
      .filter((statement) => [statement.Action].flat().includes('sqs:SendMessage'))
      .flatMap((statement) => [statement.Resource].flat().map((resource) => JSON.stringify(resource)));
    expect(workerSends).toContain(JSON.stringify({ 'Fn::GetAtt': [queueId('CheckSchedulerDelayQueue'), 'Arn'] }));
    const mappings = Object.values(resources('AWS::Lambda::EventSourceMapping'));
    expect(mappings).toContainEqual(
      expect.objectContaining({
        Properties: expect.objectContaining({
          FunctionName: { Ref: functionId('hands dead-lettered incidents') },
          EventSourceArn: { 'Fn::GetAtt': [queueId('CheckSchedulerDeadLetterQueue'), 'Arn'] },
        }),
      }),
    );
    expect(mappings).toContainEqual(
      expect.objectContaining({
        Properties: expect.objectContaining({
          FunctionName: { Ref: functionId('puts scheduled checks') },
          EventSourceArn: { 'Fn::GetAtt': [queueId('CheckSchedulerDelayQueue'), 'Arn'] },
          FunctionResponseTypes: ['ReportBatchItemFailures'],
        }),
      }),
    );
  });

  it('alarms on failed checks from the relay and the worker and on dead-lettered checks, on alarm and on recovery', () => {
    const [alarm] = Object.values(resources('AWS::CloudWatch::Alarm')).filter((candidate) =>
      String(candidate.Properties.AlarmName).endsWith('-ScheduleFailures'),
    );
    expect(alarm.Properties.AlarmActions).toHaveLength(1);
    expect(alarm.Properties.OKActions).toEqual(alarm.Properties.AlarmActions);
    const metrics = (alarm.Properties.Metrics as { MetricStat?: { Metric: Record<string, any> } }[]).flatMap((query) =>
      query.MetricStat === undefined ? [] : [query.MetricStat.Metric],
    );
    const failed = metrics.filter((metric) => metric.Namespace === METRICS_NAMESPACE && metric.MetricName === MetricName.scheduleFailed);
    expect(
      failed.map((metric) => metric.Dimensions.find((dimension: { Name: string }) => dimension.Name === 'service').Value).sort(),
    ).toEqual(['scheduler', 'worker']);
    expect(metrics.some((metric) => metric.Namespace === 'AWS/SQS')).toBe(true);
  });
});
