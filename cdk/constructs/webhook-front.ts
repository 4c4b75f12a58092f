import { Duration, Validations, type RemovalPolicy, type Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { WEBHOOK_PATH } from '../../lib/infra/deployment-contract';

/** What the rest of the stack needs from the API in front of the ingress, whichever kind it is. */
export interface WebhookFront {
  /** The full webhook URL PagerDuty posts to. */
  webhookUrl: string;
  /** The API's 5xx answers (5-minute sums): the ingress's own, Lambda's and the gateway's. */
  serverErrors: cloudwatch.IMetric;
  /** Access log group: JSON lines with `status` and a constant `environment`. */
  accessLogs: logs.ILogGroup;
  /** The access-log lines that are requests the API throttled (429); unset: every line with status 429. */
  throttledRequests?: logs.IFilterPattern;
}

export interface WebhookFrontProps {
  environment: string;
  ingress: lambda.IFunction;
  rateLimit: number;
  burstLimit: number;
  logRetention: logs.RetentionDays;
  removalPolicy: RemovalPolicy;
}

export const PAGERDUTY_SIGNATURE_ACKNOWLEDGEMENT = {
  id: 'AwsSolutions-APIG4',
  reason:
    'PagerDuty cannot present AWS credentials or tokens; every delivery is authenticated by the ingress function (HMAC-SHA256 over the exact body, constant-time, 401 and an alarm otherwise).',
};

/**
 * The default front: an HTTP API (lowest latency and cost; no WAF). Its resources sit directly in the stack with the
 * ids they have always had, so a deployed environment keeps its API and its webhook URL.
 */
export function httpWebhookApi(stack: Stack, props: WebhookFrontProps): WebhookFront {
  const { environment, rateLimit, burstLimit } = props;
  const api = new apigwv2.HttpApi(stack, 'WebhookApi', {
    apiName: `pd-agent-${environment}`,
    description: `pd-agent ${environment}: PagerDuty V3 webhooks`,
    createDefaultStage: false,
  });
  api.addRoutes({
    path: WEBHOOK_PATH,
    methods: [apigwv2.HttpMethod.POST],
    integration: new HttpLambdaIntegration('Ingress', props.ingress),
  });
  const accessLogs = new logs.LogGroup(stack, 'WebhookApiAccessLogs', {
    retention: props.logRetention,
    removalPolicy: props.removalPolicy,
  });
  const stage = api.addStage('DefaultStage', {
    stageName: '$default',
    autoDeploy: true,
    throttle: { rateLimit, burstLimit },
    accessLogSettings: {
      destination: new apigwv2.LogGroupLogDestination(accessLogs),
      format: apigw.AccessLogFormat.custom(
        JSON.stringify({
          environment,
          requestId: '$context.requestId',
          requestTime: '$context.requestTime',
          ip: '$context.identity.sourceIp',
          userAgent: '$context.identity.userAgent',
          routeKey: '$context.routeKey',
          status: '$context.status',
          responseLength: '$context.responseLength',
          responseLatency: '$context.responseLatency',
          integrationStatus: '$context.integrationStatus',
          integrationLatency: '$context.integrationLatency',
          integrationError: '$context.integrationErrorMessage',
          error: '$context.error.message',
        }),
      ),
    },
  });
  // The same limits on the webhook route itself, so a route added later does not share (or widen) its budget.
  // RouteSettings is untyped in the L1 construct, hence CloudFormation's own casing.
  (stage.node.defaultChild as apigwv2.CfnStage).routeSettings = {
    [`POST ${WEBHOOK_PATH}`]: { ThrottlingRateLimit: rateLimit, ThrottlingBurstLimit: burstLimit },
  };
  Validations.of(api).acknowledge(PAGERDUTY_SIGNATURE_ACKNOWLEDGEMENT);
  return {
    webhookUrl: `${stage.url}${WEBHOOK_PATH.slice(1)}`,
    serverErrors: new cloudwatch.Metric({
      namespace: 'AWS/ApiGateway',
      metricName: '5xx',
      dimensionsMap: { ApiId: api.apiId, Stage: stage.stageName },
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
    }),
    accessLogs,
  };
}
