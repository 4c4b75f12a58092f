import { Duration, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { WEBHOOK_PATH } from '../../lib/infra/deployment-contract';
import { PAGERDUTY_SIGNATURE_ACKNOWLEDGEMENT, type WebhookFront, type WebhookFrontProps } from './webhook-front';

export interface WafWebhookApiProps extends WebhookFrontProps {
  /** Requests one source IP may send in any 5 minutes before AWS WAF answers it 429 (PagerDuty retries a 429). */
  requestsPerIpPer5Minutes: number;
}

/** The stage name of the REST API: the webhook URL is `https://<id>.execute-api.<region>.amazonaws.com/webhook/...`. */
export const WAF_STAGE_NAME = 'webhook';

/**
 * The webhook behind AWS WAF (`webhookIngress.waf: true`). An HTTP API cannot be associated with a web ACL, so this
 * front is a regional REST API with a Lambda proxy integration: the ingress receives payload 1.0 with the body as
 * sent, and the web ACL sits on the only stage, so there is no way round it (unlike CloudFront in front of an HTTP
 * API, whose execute-api URL stays open beside the distribution). A per-IP rate rule answers a source that floods
 * 429 before API Gateway's throttle counts the request, so a forged flood from a few addresses cannot spend the
 * budget genuine deliveries need. docs/operations.md "Forged floods and AWS WAF" weighs the options.
 */
export class WafWebhookApi extends Construct implements WebhookFront {
  readonly webhookUrl: string;
  readonly serverErrors: cloudwatch.IMetric;
  readonly accessLogs: logs.LogGroup;
  readonly throttledRequests: logs.IFilterPattern;
  readonly webAcl: wafv2.CfnWebACL;

  constructor(scope: Construct, id: string, props: WafWebhookApiProps) {
    super(scope, id);
    const { environment, rateLimit, burstLimit } = props;
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: props.logRetention, removalPolicy: props.removalPolicy });
    const api = new apigw.RestApi(this, 'Api', {
      restApiName: `pd-agent-${environment}`,
      description: `pd-agent ${environment}: PagerDuty V3 webhooks behind AWS WAF`,
      endpointTypes: [apigw.EndpointType.REGIONAL],
      // API Gateway writes REST access and execution logs through the account's logging role (one per account and region).
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: props.removalPolicy,
      deployOptions: {
        stageName: WAF_STAGE_NAME,
        throttlingRateLimit: rateLimit,
        throttlingBurstLimit: burstLimit,
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogs),
        accessLogFormat: apigw.AccessLogFormat.custom(
          JSON.stringify({
            environment,
            requestId: '$context.requestId',
            requestTime: '$context.requestTime',
            ip: '$context.identity.sourceIp',
            userAgent: '$context.identity.userAgent',
            httpMethod: '$context.httpMethod',
            resourcePath: '$context.resourcePath',
            status: '$context.status',
            responseLength: '$context.responseLength',
            responseLatency: '$context.responseLatency',
            integrationStatus: '$context.integrationStatus',
            integrationLatency: '$context.integrationLatency',
            waf: '$context.wafResponseCode',
            error: '$context.error.message',
          }),
        ),
        // The same limits on the webhook method itself, so a method added later does not share (or widen) its budget.
        methodOptions: { [`${WEBHOOK_PATH}/POST`]: { throttlingRateLimit: rateLimit, throttlingBurstLimit: burstLimit } },
      },
    });
    api.root.resourceForPath(WEBHOOK_PATH).addMethod('POST', new apigw.LambdaIntegration(props.ingress, { proxy: true }));

    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      name: `pd-agent-${environment}-webhook`,
      description: `pd-agent ${environment}: per-IP rate limit in front of the PagerDuty webhook`,
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: `pd-agent-${environment}-webhook`, sampledRequestsEnabled: true },
      rules: [
        {
          name: 'PerIpRate',
          priority: 0,
          statement: {
            rateBasedStatement: { limit: props.requestsPerIpPer5Minutes, aggregateKeyType: 'IP', evaluationWindowSec: 300 },
          },
          // 429, not WAF's default 403: PagerDuty retries a 429 and drops a 403, so a genuine delivery caught here is late, never lost.
          action: { block: { customResponse: { responseCode: 429, responseHeaders: [{ name: 'retry-after', value: '60' }] } } },
          visibilityConfig: {
            cloudWatchMetricsEnabled: true,
            metricName: `pd-agent-${environment}-per-ip-rate`,
            sampledRequestsEnabled: true,
          },
        },
      ],
    });
    const association = new wafv2.CfnWebACLAssociation(this, 'WebAclAssociation', {
      resourceArn: api.deploymentStage.stageArn,
      webAclArn: this.webAcl.attrArn,
    });
    association.node.addDependency(api.deploymentStage);

    this.webhookUrl = api.urlForPath(WEBHOOK_PATH);
    this.serverErrors = api.metricServerError({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM });
    // A request the web ACL blocked is the rule doing its work, not API Gateway's throttle running out.
    this.throttledRequests = logs.FilterPattern.all(
      logs.FilterPattern.stringValue('$.status', '=', '429'),
      logs.FilterPattern.stringValue('$.waf', '=', 'WAF_ALLOW'),
    );

    Validations.of(api).acknowledge(PAGERDUTY_SIGNATURE_ACKNOWLEDGEMENT);
    Validations.of(api).acknowledge({
      id: 'AwsSolutions-APIG2',
      reason:
        'A PagerDuty delivery is validated by the ingress function on its exact bytes (size cap, signature, then the V3 schema); ' +
        'a request validator would answer 400, which PagerDuty drops instead of retrying, and would see the body before its signature is checked.',
    });
    Validations.of(api).acknowledge({
      id: 'AwsSolutions-COG4',
      reason: 'PagerDuty cannot sign in to a Cognito user pool; every delivery is authenticated by its HMAC signature in the ingress.',
    });
    const loggingRole = api.node.tryFindChild('CloudWatchRole');
    if (loggingRole !== undefined)
      Validations.of(loggingRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          "API Gateway's account-level logging role, which REST API access logs require; the AWS managed policy is the one API Gateway documents for it.",
      });
  }
}
