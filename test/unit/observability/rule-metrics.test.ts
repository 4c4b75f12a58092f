import { createTelemetry, MetricName, ruleMetrics } from '../../../lib/observability/telemetry';

describe('ruleMetrics', () => {
  it('publishes each per-rule value as its own EMF record with the rule dimension beside service and environment', () => {
    const written: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(chunk.toString());
      return true;
    });
    try {
      const { metrics } = createTelemetry('worker', { AGENT_ENV: 'prod' });
      ruleMetrics(metrics).addRuleMetric('checkout-deploys', MetricName.outcomeConfirmed, 'Count', 1);
      ruleMetrics(metrics).addRuleMetric(undefined, MetricName.headStart, 'Milliseconds', 240_000);
    } finally {
      spy.mockRestore();
    }
    const records = written
      .flatMap((text) => text.split('\n'))
      .filter((line) => line.includes('_aws'))
      .map((line) => JSON.parse(line));
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({ rule: 'checkout-deploys', service: 'worker', environment: 'prod', OutcomeConfirmed: 1 });
    expect(records[0]._aws.CloudWatchMetrics[0].Dimensions[0]).toEqual(expect.arrayContaining(['service', 'environment', 'rule']));
    expect(records[1]).toMatchObject({ rule: 'none', HeadStart: 240_000 });
  });
});
