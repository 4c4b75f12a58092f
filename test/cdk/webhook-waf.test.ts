import type { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { WAF_STAGE_NAME } from '../../cdk/constructs/waf-webhook-api';
import { EnvironmentConfigError, loadEnvironment } from '../../cdk/environments';
import { cdkJsonContext, synthEnvironment } from '../support/cdk-app';

/** `webhookIngress.waf`: off by default (the HTTP API, unchanged); on, a REST API behind a per-IP rate rule of AWS WAF. */
type Resource = { Type: string; Properties: Record<string, any> };
const typed = (template: Template, type: string): Resource[] => Object.values(template.findResources(type) as Record<string, Resource>);

const prodIngress = (): Record<string, unknown> => cdkJsonContext().environments.prod.webhookIngress as Record<string, unknown>;

describe.each(Object.keys(cdkJsonContext().environments))('the %s environment as cdk.json has it', (env) => {
  it('keeps the HTTP API and puts no WAF or REST API in front of it', () => {
    const { template } = synthEnvironment(env);
    expect(typed(template, 'AWS::ApiGatewayV2::Api')).toHaveLength(1);
    for (const type of ['AWS::ApiGateway::RestApi', 'AWS::WAFv2::WebACL', 'AWS::WAFv2::WebACLAssociation', 'AWS::ApiGateway::Account'])
      expect(typed(template, type)).toHaveLength(0);
  });
});

describe('webhookIngress.waf: true', () => {
  let template: Template;
  let report: ReturnType<AwsSolutionsChecks['validateScope']>;
  beforeAll(() => {
    const synthesized = synthEnvironment('prod', { webhookIngress: { ...prodIngress(), waf: true, wafRequestsPerIp: 300 } });
    template = synthesized.template;
    report = new AwsSolutionsChecks().validateScope(synthesized.app);
  });

  it('replaces the HTTP API with one regional REST API whose only method is POST on the webhook path, throttled as configured', () => {
    expect(typed(template, 'AWS::ApiGatewayV2::Api')).toHaveLength(0);
    expect(typed(template, 'AWS::ApiGateway::RestApi')).toEqual([
      expect.objectContaining({ Properties: expect.objectContaining({ EndpointConfiguration: { Types: ['REGIONAL'] } }) }),
    ]);
    expect(typed(template, 'AWS::ApiGateway::Method').map((method) => method.Properties.HttpMethod)).toEqual(['POST']);
    expect(typed(template, 'AWS::ApiGateway::Stage')).toEqual([
      expect.objectContaining({
        Properties: expect.objectContaining({
          StageName: WAF_STAGE_NAME,
          MethodSettings: expect.arrayContaining([
            expect.objectContaining({ ResourcePath: '/*', HttpMethod: '*', ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 }),
            expect.objectContaining({ ResourcePath: '/~1webhooks~1pagerduty', HttpMethod: 'POST', ThrottlingRateLimit: 50 }),
          ]),
        }),
      }),
    ]);
    const [stageId] = Object.keys(template.findResources('AWS::ApiGateway::Stage'));
    expect(JSON.stringify(template.toJSON().Outputs.WebhookUrl.Value)).toContain(`"/",{"Ref":"${stageId}"},"/webhooks/pagerduty"`);
  });

  it('blocks a source IP over its 5-minute allowance with 429 (which PagerDuty retries), and lets everything else through', () => {
    const [acl] = typed(template, 'AWS::WAFv2::WebACL');
    expect(acl.Properties).toMatchObject({ Scope: 'REGIONAL', DefaultAction: { Allow: {} } });
    expect(acl.Properties.Rules).toEqual([
      expect.objectContaining({
        Statement: { RateBasedStatement: { Limit: 300, AggregateKeyType: 'IP', EvaluationWindowSec: 300 } },
        Action: { Block: { CustomResponse: { ResponseCode: 429, ResponseHeaders: [{ Name: 'retry-after', Value: '60' }] } } },
      }),
    ]);
  });

  it("associates the web ACL with the REST API's only stage, so no request reaches the ingress around it", () => {
    const [association] = typed(template, 'AWS::WAFv2::WebACLAssociation');
    const [stageId] = Object.keys(template.findResources('AWS::ApiGateway::Stage'));
    const [aclId] = Object.keys(template.findResources('AWS::WAFv2::WebACL'));
    expect(association.Properties.WebACLArn).toEqual({ 'Fn::GetAtt': [aclId, 'Arn'] });
    expect(JSON.stringify(association.Properties.ResourceArn)).toContain(`"Ref":"${stageId}"`);
  });

  it("counts the REST API's 5XXError in IngressFailures and only API Gateway's own 429s (not the WAF's) as throttling", () => {
    const [ingressFailures] = typed(template, 'AWS::CloudWatch::Alarm').filter((alarm) =>
      alarm.Properties.AlarmName.endsWith('IngressFailures'),
    );
    const names = ingressFailures.Properties.Metrics.flatMap((query: any) =>
      query.MetricStat ? [query.MetricStat.Metric.MetricName] : [],
    );
    expect(names).toContain('5XXError');
    expect(names).not.toContain('5xx');
    const [filter] = typed(template, 'AWS::Logs::MetricFilter');
    expect(filter.Properties.FilterPattern).toBe('{ ($.status = "429") && ($.waf = "WAF_ALLOW") }');
  });

  it('stays clean under cdk-nag AwsSolutions', () => {
    expect(
      report.violations.map((violation) => `${violation.ruleName}: ${violation.violatingResources.map((r) => r.constructPath).join(', ')}`),
    ).toEqual([]);
  });
});

describe('webhookIngress.waf settings are checked at synth', () => {
  const base = { reservedConcurrency: 5, rateLimit: 10, burstLimit: 20 };
  it('defaults to off with 1,000 requests per IP in 5 minutes', () => {
    expect(loadEnvironment({ dev: { webhookIngress: base } }, 'dev').webhookIngress).toEqual({
      ...base,
      waf: false,
      wafRequestsPerIp: 1000,
    });
  });

  it.each([[9], [1.5], ['many']])('refuses wafRequestsPerIp %p, naming the field', (value) => {
    expect(() => loadEnvironment({ dev: { webhookIngress: { ...base, waf: true, wafRequestsPerIp: value } } }, 'dev')).toThrow(
      expect.objectContaining({ constructor: EnvironmentConfigError, message: expect.stringContaining('wafRequestsPerIp') }),
    );
  });
});
