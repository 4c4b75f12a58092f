import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { METRICS_NAMESPACE, type FunctionService, type MetricNameValue } from '../../lib/observability/telemetry';

/**
 * The functions' own metrics (Powertools EMF), addressed exactly as lib/observability/telemetry.ts emits them:
 * namespace METRICS_NAMESPACE, dimensions `service` (the function) and `environment`.
 */
export class AgentMetrics {
  constructor(private readonly environment: string) {}

  metric(name: MetricNameValue, service: FunctionService, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: name,
      dimensionsMap: { service, environment: this.environment },
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
      ...options,
    });
  }

  /**
   * The sum of several series as one, missing points counted as zero, so one alarm covers a count that more than
   * one function (or AWS itself) reports.
   */
  static sum(label: string, metrics: cloudwatch.IMetric[], period = Duration.minutes(5)): cloudwatch.MathExpression {
    const usingMetrics: Record<string, cloudwatch.IMetric> = {};
    metrics.forEach((metric, index) => {
      usingMetrics[`m${index}`] = metric;
    });
    return new cloudwatch.MathExpression({
      expression: Object.keys(usingMetrics)
        .map((id) => `FILL(${id}, 0)`)
        .join(' + '),
      usingMetrics,
      label,
      period,
    });
  }
}
