import fc from 'fast-check';
import { SIGNATURE_FAILURE_EVALUATION_PERIODS, SIGNATURE_FAILURE_PERIODS_TO_ALARM } from '../../cdk/constructs/agent-alarms';
import { MetricName } from '../../lib/observability/telemetry';
import { alarmFires, alarmRuleOf, evaluateExpression, type AlarmRule, type PeriodValues } from '../support/alarm-rule';
import { synthEnvironment } from '../support/cdk-app';

/**
 * The alarms that page reflect the agent's own failures; what someone outside can cause alarms low on its own topic.
 * Each rule is taken from the synthesized template and evaluated over generated datapoints (test/support/alarm-rule.ts).
 */
type Json = Record<string, unknown>;
interface Query {
  Id: string;
  MetricStat?: { Metric: { Namespace: string; MetricName: string } };
}

let resources: Record<string, { Type: string; Properties: Json }>;

beforeAll(() => {
  resources = synthEnvironment('prod', {
    alarmEmail: 'sre-oncall@acme.example',
    securityAlarmEmail: 'security@acme.example',
  }).template.toJSON().Resources as typeof resources;
});

function alarm(name: string): Json {
  const found = Object.values(resources).filter(
    (resource) => resource.Type === 'AWS::CloudWatch::Alarm' && resource.Properties.AlarmName === `pd-agent-prod-${name}`,
  );
  expect(found).toHaveLength(1);
  return found[0].Properties;
}

/** The alarm's metric query id for a metric name (namespace-qualified for AWS's own). */
function idOf(properties: Json, metricName: string): string {
  const found = (properties.Metrics as Query[]).filter((query) => query.MetricStat?.Metric.MetricName === metricName);
  expect(found).toHaveLength(1);
  return found[0].Id;
}

const topicNamed = (fragment: string): string => {
  const ids = Object.entries(resources)
    .filter(([, resource]) => resource.Type === 'AWS::SNS::Topic' && String(resource.Properties.DisplayName).includes(fragment))
    .map(([id]) => id);
  expect(ids).toHaveLength(1);
  return ids[0];
};

const count = fc.option(fc.nat({ max: 10_000 }), { nil: undefined });

describe('IngressFailures pages only for the ingress failing, never for forgeries it could not check yet', () => {
  let rule: AlarmRule;
  let ids: { failures: string; lambdaErrors: string; server5xx: string; unconfirmed: string };
  beforeAll(() => {
    const properties = alarm('IngressFailures');
    rule = alarmRuleOf(properties);
    ids = {
      failures: idOf(properties, MetricName.ingressFailure),
      lambdaErrors: idOf(properties, 'Errors'),
      server5xx: idOf(properties, '5xx'),
      unconfirmed: idOf(properties, MetricName.signatureUnconfirmed),
    };
  });

  const period = (values: { failures?: number; lambdaErrors?: number; server5xx?: number; unconfirmed?: number }): PeriodValues => ({
    [ids.failures]: values.failures,
    [ids.lambdaErrors]: values.lambdaErrors,
    [ids.server5xx]: values.server5xx,
    [ids.unconfirmed]: values.unconfirmed,
  });

  it('pages the main topic on the first failure of a period', () => {
    expect(alarm('IngressFailures')).toMatchObject({ AlarmActions: [{ Ref: topicNamed(' alarms') }], Threshold: 1, EvaluationPeriods: 1 });
  });

  it('stays quiet through a forged flood: every 5xx of the period is a SignatureUnconfirmed 503', () => {
    fc.assert(
      fc.property(fc.nat({ max: 100_000 }), fc.nat({ max: 100_000 }), (forgeries, extraUnconfirmed) => {
        expect(alarmFires(rule, [period({ server5xx: forgeries, unconfirmed: forgeries + extraUnconfirmed })])).toBe(false);
      }),
    );
  });

  it('fires exactly when the ingress failed, Lambda erred, or the API answered 5xx beyond the unconfirmed signatures', () => {
    fc.assert(
      fc.property(count, count, count, count, (failures, lambdaErrors, server5xx, unconfirmed) => {
        const own = (failures ?? 0) + (lambdaErrors ?? 0) + Math.max(0, (server5xx ?? 0) - (unconfirmed ?? 0));
        expect(alarmFires(rule, [period({ failures, lambdaErrors, server5xx, unconfirmed })])).toBe(own >= 1);
      }),
    );
  });

  it('a single Lambda error in the middle of a forged flood still pages (the clamp cannot cancel it)', () => {
    expect(alarmFires(rule, [period({ lambdaErrors: 1, server5xx: 400, unconfirmed: 900 })])).toBe(true);
    expect(alarmFires(rule, [period({ server5xx: 901, unconfirmed: 900 })])).toBe(true);
  });
});

describe('SignatureFailures: a sustained rate, on the low-priority security topic', () => {
  let rule: AlarmRule;
  let invalid: string;
  let unconfirmed: string;
  beforeAll(() => {
    const properties = alarm('SignatureFailures');
    rule = alarmRuleOf(properties);
    invalid = idOf(properties, MetricName.signatureInvalid);
    unconfirmed = idOf(properties, MetricName.signatureUnconfirmed);
  });
  const failures = (values: (number | undefined)[]): PeriodValues[] =>
    values.map((value) => ({ [invalid]: value, [unconfirmed]: undefined }));

  it('notifies the security topic only, never the paging one, and mails securityAlarmEmail', () => {
    const security = topicNamed('security notices');
    expect(alarm('SignatureFailures')).toMatchObject({ AlarmActions: [{ Ref: security }], OKActions: [{ Ref: security }] });
    expect(Object.values(resources)).toContainEqual({
      Type: 'AWS::SNS::Subscription',
      Properties: expect.objectContaining({ Protocol: 'email', Endpoint: 'security@acme.example', TopicArn: { Ref: security } }),
    });
  });

  it('one unsigned POST, or any burst inside one 5-minute period, never fires it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.nat({ max: SIGNATURE_FAILURE_EVALUATION_PERIODS - 1 }), (burst, at) => {
        const periods = Array.from({ length: SIGNATURE_FAILURE_EVALUATION_PERIODS }, (_, index) => (index === at ? burst : undefined));
        expect(alarmFires(rule, failures(periods))).toBe(false);
      }),
    );
  });

  it(`fires exactly when failures (401s and unconfirmed 503s together) recur in ${SIGNATURE_FAILURE_PERIODS_TO_ALARM} of the last ${SIGNATURE_FAILURE_EVALUATION_PERIODS} periods`, () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(count, count), { minLength: SIGNATURE_FAILURE_EVALUATION_PERIODS, maxLength: 12 }), (series) => {
        const periods = series.map(([refused, unchecked]) => ({ [invalid]: refused, [unconfirmed]: unchecked }));
        const recurring = series
          .slice(-SIGNATURE_FAILURE_EVALUATION_PERIODS)
          .filter(([refused, unchecked]) => (refused ?? 0) + (unchecked ?? 0) >= 1).length;
        expect(alarmFires(rule, periods)).toBe(recurring >= SIGNATURE_FAILURE_PERIODS_TO_ALARM);
      }),
    );
  });

  it('a wrong signing secret (every genuine delivery refused, one every 10 minutes) fires it within 30 minutes', () => {
    expect(alarmFires(rule, failures([1, undefined, 1, undefined, 1, undefined]))).toBe(true);
  });
});

describe('the alarm-rule evaluator', () => {
  it('FILL replaces only a missing point; IF picks by a comparison; arithmetic on a missing point drops it', () => {
    fc.assert(
      fc.property(count, count, fc.nat({ max: 100 }), (a, b, filler) => {
        expect(evaluateExpression(`FILL(a, ${filler})`, { a })).toBe(a ?? filler);
        expect(evaluateExpression('a + b', { a, b })).toBe(a === undefined || b === undefined ? undefined : a + b);
        expect(evaluateExpression('IF(FILL(a, 0) > FILL(b, 0), 1, 2)', { a, b })).toBe((a ?? 0) > (b ?? 0) ? 1 : 2);
      }),
    );
  });

  it('refuses a query id the alarm does not have, and a function it does not know', () => {
    expect(() => evaluateExpression('FILL(m9, 0)', { m0: 1 })).toThrow(/names "m9"/);
    expect(() => evaluateExpression('RATE(m0)', { m0: 1 })).toThrow(/RATE with 1 arguments/);
  });
});
