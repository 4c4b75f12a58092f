import type { Template } from 'aws-cdk-lib/assertions';
import { METRICS_NAMESPACE, MetricName } from '../../lib/observability/telemetry';
import { synthEnvironment } from '../support/cdk-app';

/** The two alarms docs/how-it-works.md "Ingress" and "Retries and budget" imply: quarantined webhooks and events the agent gave up on. */
type Resource = { Type: string; Properties: Record<string, any> };
type MetricQuery = { MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions: { Name: string; Value: unknown }[] } } };

let template: Template;

beforeAll(() => {
  template = synthEnvironment('prod', { alarmEmail: 'sre-oncall@acme.example' }).template;
});

function alarmNamed(name: string): Resource {
  const found = Object.values(template.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>).filter(
    (alarm) => alarm.Properties.AlarmName === name,
  );
  expect(found).toHaveLength(1);
  return found[0];
}

const metricsOf = (alarm: Resource) =>
  (alarm.Properties.Metrics as MetricQuery[])
    .flatMap((query) => (query.MetricStat === undefined ? [] : [query.MetricStat.Metric]))
    .map((metric) => ({
      namespace: metric.Namespace,
      name: metric.MetricName,
      dimensions: Object.fromEntries(metric.Dimensions.map((dimension) => [dimension.Name, dimension.Value])),
    }));

describe.each([
  ['QuarantinedWebhooks', MetricName.webhookQuarantined, 'ingress', /quarantine#<sha256> item in the state table/],
  ['EventsGivenUp', MetricName.gaveUp, 'worker', /pd-agent audit --action record --outcome failed/],
])('alarm %s', (name, metricName, service, whatToDo) => {
  it(`fires on the first ${metricName} of the ${service} function in 5 minutes and notifies the alarm topic`, () => {
    const alarm = alarmNamed(`pd-agent-prod-${name}`);

    expect(metricsOf(alarm)).toEqual([{ namespace: METRICS_NAMESPACE, name: metricName, dimensions: { service, environment: 'prod' } }]);
    expect(alarm.Properties).toMatchObject({
      Threshold: 1,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(alarm.Properties.AlarmActions).toHaveLength(1);
    expect(alarm.Properties.OKActions).toEqual(alarm.Properties.AlarmActions);
    expect(alarm.Properties.Metrics.find((query: { Expression?: string }) => query.Expression !== undefined)?.Period ?? 300).toBe(300);
  });

  it('says in its description what to do', () => {
    expect(alarmNamed(`pd-agent-prod-${name}`).Properties.AlarmDescription).toMatch(whatToDo);
  });
});

describe('alarm RulesDemoted', () => {
  it('fires on the first RuleDemoted of the worker or the handback function (both record outcomes) and says what to do', () => {
    const alarm = alarmNamed('pd-agent-prod-RulesDemoted');

    expect(metricsOf(alarm)).toEqual(
      ['worker', 'handback'].map((service) => ({
        namespace: METRICS_NAMESPACE,
        name: MetricName.ruleDemoted,
        dimensions: { service, environment: 'prod' },
      })),
    );
    expect(alarm.Properties).toMatchObject({ Threshold: 1, EvaluationPeriods: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    expect(alarm.Properties.AlarmActions).toHaveLength(1);
    expect(alarm.Properties.AlarmDescription).toMatch(/pd-agent rule promote <id>/);
  });
});

describe('alarm NobodyPaged', () => {
  it('fires on the first NobodyPaged of the worker or the handback function in 5 minutes and says what to do', () => {
    const alarm = alarmNamed('pd-agent-prod-NobodyPaged');

    expect(metricsOf(alarm)).toEqual(
      ['worker', 'handback'].map((service) => ({
        namespace: METRICS_NAMESPACE,
        name: MetricName.nobodyPaged,
        dimensions: { service, environment: 'prod' },
      })),
    );
    expect(alarm.Properties).toMatchObject({ Threshold: 1, EvaluationPeriods: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    expect(alarm.Properties.AlarmActions).toHaveLength(1);
    expect(alarm.Properties.AlarmDescription).toMatch(/pd-agent audit --action escalate --outcome failed/);
  });
});
