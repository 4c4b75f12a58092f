import { explainAwsError } from '../../../../lib/context/aws/aws-failures';
import { AssumeRoleFailedError } from '../../../../lib/context/aws/clients';
import { understandAlerts } from '../../../../lib/context/alert';
import { changeCandidates, logGroupsFor, planAwsReads } from '../../../../lib/context/aws/mapping';
import { parseAgentConfig } from '../../../../lib/config/agent-config';
import type { Alert } from '../../../../lib/pagerduty/types';
import { awsFixture, awsScope, lambdaErrorsAlert } from '../../../support/aws-context';

function pagerDutyAlert(details: Alert['body']): Alert {
  return { id: 'A1', type: 'alert', summary: 's', status: 'triggered', created_at: '2026-03-10T03:12:30Z', body: details };
}

/** The SNS message of the fixture, with a real region and account in its ARN instead of the placeholders. */
function alarmMessage(): Record<string, unknown> {
  const fixture = awsFixture<{ Records: { Sns: { Message: string } }[] }>('cloudwatch-sns-alarm-lambda-event-single-metric.json');
  const message = JSON.parse(fixture.Records[0]?.Sns.Message ?? '{}') as Record<string, unknown>;
  return { ...message, AlarmArn: 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:EXAMPLE' };
}

describe('understandAlerts on CloudWatch alarms (what the AWS providers start from)', () => {
  it('reads the alarm PagerDuty received from SNS: metric, threshold, dimensions, region and account from the ARN', () => {
    const alert = understandAlerts([pagerDutyAlert({ details: alarmMessage() })]);
    expect(alert).toMatchObject({
      monitor: 'cloudwatch',
      name: 'EXAMPLE',
      state: 'ALARM',
      metric: { namespace: 'AWS/EC2', name: 'NetworkOut', statistic: 'AVERAGE', periodSeconds: 60, unit: 'Bytes' },
      threshold: { comparison: '>', value: 0 },
      resource: { dimensions: { InstanceId: 'TestInstance' } },
      region: 'eu-west-1',
      accountId: '123456789012',
      alarmArn: 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:EXAMPLE',
      triggeredAt: '2015-06-03T17:43:27.123+0000',
    });
  });

  it('finds the message as a JSON string, inside cef_details, or not at all', () => {
    const message = alarmMessage();
    expect(understandAlerts([pagerDutyAlert({ details: JSON.stringify(message) })])?.name).toBe('EXAMPLE');
    expect(
      understandAlerts([pagerDutyAlert({ cef_details: { details: { Type: 'Notification', Message: JSON.stringify(message) } } })])?.name,
    ).toBe('EXAMPLE');
    expect(understandAlerts([pagerDutyAlert({ details: { error: 'disk full' } }), pagerDutyAlert(null)])?.monitor).toBe('generic');
    expect(understandAlerts([pagerDutyAlert(null)])?.alarmArn).toBeUndefined();
  });

  it('ignores a region placeholder that is no region', () => {
    const message = { ...alarmMessage(), AlarmArn: 'arn:aws:cloudwatch:REGION:ACCOUNT_NUMBER:alarm:EXAMPLE' };
    const alert = understandAlerts([pagerDutyAlert({ details: message })]);
    expect(alert?.region).toBeUndefined();
    expect(alert?.accountId).toBe('123456789012');
  });
});

describe('AWS scope and mapping', () => {
  const config = parseAgentConfig(
    JSON.stringify({
      context: {
        aws: {
          services: {
            PSVC001: {
              region: 'us-east-1',
              roleArn: 'arn:aws:iam::210987654321:role/pd-agent-context-read',
              externalId: 'ext-1-checkout-0001',
              logGroups: ['/ecs/orders'],
              stacks: ['orders-stack'],
            },
          },
        },
      },
    }),
  ).context.aws;

  it('reads where the mapping says: an alert naming another region or account is said so, never followed', () => {
    const plan = planAwsReads(config, 'PSVC001', lambdaErrorsAlert(), 'eu-central-1');
    expect(plan?.scope).toMatchObject({
      region: 'us-east-1',
      accountId: '210987654321',
      roleArn: 'arn:aws:iam::210987654321:role/pd-agent-context-read',
      externalId: 'ext-1-checkout-0001',
    });
    expect(plan?.regionClaimed).toBe(false);
    expect(plan?.notFollowed).toEqual([
      "the alert names region eu-west-1; this service's mapping says us-east-1: read there only",
      "the alert names account 123456789012; this service's mapping says 210987654321: read there only",
    ]);
    expect(
      planAwsReads(config, 'PSVC001', lambdaErrorsAlert({ region: 'us-east-1', accountId: '210987654321' }), 'x')?.notFollowed,
    ).toEqual([]);
  });

  it("without a mapping: the worker's region and own account, the alarm ARN's region only as a claim to verify", () => {
    const plan = planAwsReads(config, 'POTHER', lambdaErrorsAlert(), 'eu-central-1');
    expect(plan).toMatchObject({ scope: { region: 'eu-west-1' }, regionClaimed: true, notFollowed: [] });
    // The alert's account is never the scope's: the agent reads its own account.
    expect(plan?.scope.accountId).toBeUndefined();
    expect(planAwsReads(config, 'POTHER', lambdaErrorsAlert({ region: 'eu-central-1' }), 'eu-central-1')?.regionClaimed).toBe(false);
    expect(planAwsReads(config, 'POTHER', lambdaErrorsAlert({ region: undefined }), 'eu-central-1')?.scope.region).toBe('eu-central-1');
    expect(planAwsReads(config, 'POTHER', undefined, undefined)).toBeUndefined();
    expect(planAwsReads({ ...config, enabled: false }, 'PSVC001', lambdaErrorsAlert(), 'eu-central-1')).toBeUndefined();
  });

  it('keeps an unmapped alarm within context.aws.regions', () => {
    const limited = { ...config, regions: ['eu-central-1', 'eu-north-1'] };
    expect(planAwsReads(limited, 'POTHER', lambdaErrorsAlert({ region: 'eu-north-1' }), 'eu-central-1')).toMatchObject({
      scope: { region: 'eu-north-1' },
      regionClaimed: true,
    });
    expect(planAwsReads(limited, 'POTHER', lambdaErrorsAlert({ region: 'ap-southeast-2' }), 'eu-central-1')).toMatchObject({
      scope: { region: 'eu-central-1' },
      regionClaimed: false,
      notFollowed: ['the alert names region ap-southeast-2, which context.aws.regions does not allow: nothing read there'],
    });
  });

  it('derives CloudTrail resource names from the dimensions, a load balancer by ARN, then stacks and resources', () => {
    const alert = lambdaErrorsAlert({
      resource: { dimensions: { FunctionName: 'orders-api:live', LoadBalancer: 'app/web/50dc6c495c0c9188' } },
    });
    expect(changeCandidates(alert, awsScope({ stacks: ['orders-stack'], resources: ['sg-1', 'orders-*'] }))).toEqual([
      { name: 'orders-api', onAlarmedResource: true },
      { name: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188', onAlarmedResource: true },
      { name: 'orders-stack', onAlarmedResource: true },
      { name: 'sg-1', onAlarmedResource: false },
    ]);
  });

  it("finds a Lambda function's own log group and adds the mapped ones", () => {
    const alert = lambdaErrorsAlert({ resource: { dimensions: { FunctionName: 'orders-api:live' } } });
    expect(logGroupsFor(alert, awsScope({ logGroups: ['/ecs/orders', '/aws/lambda/orders-api'] }))).toEqual({
      groups: ['/aws/lambda/orders-api', '/ecs/orders'],
      refused: [],
    });
  });

  it('reads only log groups under the logGroupPrefixes, when the mapping sets them', () => {
    const alert = lambdaErrorsAlert({ resource: { dimensions: { FunctionName: 'payroll-export' } } });
    expect(logGroupsFor(alert, awsScope({ logGroups: ['/ecs/orders'], logGroupPrefixes: ['/aws/lambda/orders-', '/ecs/'] }))).toEqual({
      groups: ['/ecs/orders'],
      refused: ['/aws/lambda/payroll-export'],
    });
  });

  it('refuses a role without the external id its trust policy needs', () => {
    expect(() =>
      parseAgentConfig(JSON.stringify({ context: { aws: { services: { P1: { roleArn: 'arn:aws:iam::210987654321:role/r' } } } } })),
    ).toThrow(/a roleArn needs the externalId/);
    expect(() =>
      parseAgentConfig(JSON.stringify({ context: { aws: { services: { P1: { roleArn: 'not-an-arn', externalId: 'x1' } } } } })),
    ).toThrow(/context\.aws\.services\.P1\.roleArn/);
    expect(parseAgentConfig(undefined).context).toEqual({ aws: { enabled: true, lookbackMinutes: 60, services: {} }, sharedSeconds: 180 });
    expect(() => parseAgentConfig(JSON.stringify({ context: { aws: { regions: ['Ireland'] } } }))).toThrow(/context\.aws\.regions/);
  });

  it('takes the shared-context window in whole seconds, 0 to turn sharing off, at most 15 minutes', () => {
    expect(parseAgentConfig(JSON.stringify({ context: { sharedSeconds: 0 } })).context.sharedSeconds).toBe(0);
    expect(() => parseAgentConfig(JSON.stringify({ context: { sharedSeconds: 3600 } }))).toThrow(/context\.sharedSeconds/);
  });
});

describe('explainAwsError', () => {
  it('says which role could not be assumed and what to check', () => {
    const error = new AssumeRoleFailedError('arn:aws:iam::210987654321:role/r', new Error('not authorized'));
    expect(explainAwsError(error, { action: 'logs:FilterLogEvents', resource: '*' })).toMatch(
      /^could not assume arn:aws:iam::210987654321:role\/r \(not authorized\); check the role's trust policy/,
    );
  });

  it('says the credentials were refused, and not found for a missing resource', () => {
    const site = { action: 'logs:FilterLogEvents', resource: 'arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/x' };
    expect(explainAwsError(Object.assign(new Error('bad token'), { name: 'UnrecognizedClientException' }), site)).toBe(
      "AWS refused the worker's credentials on logs:FilterLogEvents (UnrecognizedClientException); locally, point AWS_ENDPOINT_URL_* at the emulators",
    );
    expect(explainAwsError(Object.assign(new Error('gone'), { name: 'ResourceNotFoundException' }), site)).toBe(
      `not found: ${site.resource} (logs:FilterLogEvents answered ResourceNotFoundException)`,
    );
  });

  it('leaves errors that are not AWS service errors to the runner', () => {
    expect(explainAwsError(new Error('socket hang up'), { action: 'logs:FilterLogEvents', resource: '*' })).toBeUndefined();
  });
});
