import fc from 'fast-check';
import {
  CloudTrailClient,
  LookupEventsCommand,
  type Event as TrailEvent,
  type LookupEventsCommandOutput,
} from '@aws-sdk/client-cloudtrail';
import { mockClient } from 'aws-sdk-client-mock';
import { changeProvider, labelExactResource, mergeChangeTimeline, RequestSpacer } from '../../../../lib/context/aws/change-provider';
import { RequestBudget } from '../../../../lib/context/provider';
import { awsFixture, awsInput, awsScope, lambdaErrorsAlert, lookupEventFrom, TRIGGERED_AT } from '../../../support/aws-context';

const cloudTrail = mockClient(CloudTrailClient);
const options = (requests = 8) => ({ signal: new AbortController().signal, requests: new RequestBudget(requests) });
type RawRecord = Parameters<typeof lookupEventFrom>[0];
const record = (name: string) => awsFixture<RawRecord | RawRecord[]>(name);
const first = (value: RawRecord | RawRecord[]): RawRecord => (Array.isArray(value) ? value[0] : value);

beforeEach(() => cloudTrail.reset());

describe('change provider', () => {
  it('turns write events on the alarmed function into who/what/when, oldest first, and drops read-only ones', async () => {
    const code = first(record('cloudtrail-lambda-updatefunctioncode.json'));
    const configuration = first(record('cloudtrail-lambda-updatefunctionconfiguration.json'));
    const readOnly = awsFixture<LookupEventsCommandOutput>('cloudtrail-lookupevents-eks-assumeroleforpodidentity.json').Events ?? [];
    cloudTrail.on(LookupEventsCommand).resolves({ Events: [lookupEventFrom(configuration), lookupEventFrom(code), ...readOnly] });

    const changes = await changeProvider.run(awsInput(), options());
    expect(changes.map((change) => change.action)).toEqual(
      [code, configuration]
        .sort((a, b) => Date.parse(a.eventTime) - Date.parse(b.eventTime))
        .map((r) => `lambda:${r.eventName.replace(/\d{8}v\d$/, '')}`),
    );
    const deployed = changes.find((change) => change.action === 'lambda:UpdateFunctionCode');
    expect(deployed).toMatchObject({
      source: 'cloudtrail',
      at: new Date(code.eventTime).toISOString(),
      who: 'christophe',
      target: 'orders-api',
      summary: 'function code deployed on orders-api',
      onAlarmedResource: true,
    });
    expect(deployed?.link).toBe(`https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events/${code.eventID}`);

    const input = cloudTrail.commandCalls(LookupEventsCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: 'orders-api' }],
      EndTime: TRIGGERED_AT,
    });
    expect(input?.StartTime).toEqual(new Date(TRIGGERED_AT.getTime() - 60 * 60_000));
  });

  it('looks up the mapped stack too and names assumed-role sessions and security group changes', async () => {
    const stack = first(record('cloudtrail-cloudformation-updatestack.json'));
    const ingress = first(record('cloudtrail-ec2-authorizesecuritygroupingress.json'));
    cloudTrail
      .on(LookupEventsCommand, { LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: 'orders-api' }] })
      .resolves({ Events: [] })
      .on(LookupEventsCommand, { LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: 'orders-stack' }] })
      .resolves({ Events: [lookupEventFrom(stack)] })
      .on(LookupEventsCommand, { LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: 'sg-0123' }] })
      .resolves({
        Events: [lookupEventFrom({ ...ingress, userIdentity: { arn: 'arn:aws:sts::123456789012:assumed-role/deployer/ci-run-42' } })],
      });
    const input = awsInput({ scope: awsScope({ stacks: ['orders-stack'], resources: ['sg-0123'] }) });
    const changes = await changeProvider.run(input, options());
    expect(changes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'cloudformation:UpdateStack', who: 'Alice', target: 'orders-stack', onAlarmedResource: true }),
        expect.objectContaining({
          action: 'ec2:AuthorizeSecurityGroupIngress',
          who: 'deployer/ci-run-42',
          target: 'sg-0123',
          onAlarmedResource: false,
        }),
      ]),
    );
  });

  it("takes a burst's shared lookup instead of asking CloudTrail, keeping only the changes in its own window", async () => {
    const minutesBefore = (minutes: number) => new Date(TRIGGERED_AT.getTime() - minutes * 60_000).toISOString();
    const change = (at: string, action: string) => ({
      at,
      source: 'cloudtrail' as const,
      action,
      summary: action,
      onAlarmedResource: false,
    });
    const asked: { key: string; start: Date; end: Date }[] = [];
    const input = awsInput({
      shareLookup: async (key, window) => {
        asked.push({ key, ...window });
        return {
          start: minutesBefore(90),
          end: new Date(TRIGGERED_AT.getTime() + 60_000).toISOString(),
          changes: [
            { id: 'E-old', change: change(minutesBefore(80), 'lambda:UpdateAlias') },
            { id: 'E-in', change: change(minutesBefore(6), 'lambda:UpdateFunctionCode') },
            { id: 'E-after', change: change(new Date(TRIGGERED_AT.getTime() + 30_000).toISOString(), 'lambda:PublishVersion') },
          ],
        };
      },
    });
    const changes = await changeProvider.run(input, options());
    expect(cloudTrail.calls()).toHaveLength(0);
    expect(asked[0]).toEqual({
      // The worker's own credentials in eu-west-1: no account the alert could name is in the key.
      key: 'own|eu-west-1|orders-api',
      start: new Date(TRIGGERED_AT.getTime() - 60 * 60_000),
      end: TRIGGERED_AT,
    });
    // The shared lookup's flag was the reader's; this incident's candidate decides (the function is the alarmed resource).
    expect([...new Set(changes.map((entry) => `${entry.action} ${entry.onAlarmedResource}`))]).toEqual(['lambda:UpdateFunctionCode true']);
  });

  it('finds nothing when nothing changed', async () => {
    cloudTrail.on(LookupEventsCommand).resolves({ Events: [] });
    await expect(changeProvider.run(awsInput(), options())).resolves.toEqual([]);
  });

  it('says what to configure when the alert names no resource', async () => {
    const alert = lambdaErrorsAlert({ resource: { dimensions: {} } });
    await expect(changeProvider.run(awsInput({ alert }), options())).rejects.toThrow(
      /no resource to look up in CloudTrail.*context\.aws\.services/,
    );
    expect(cloudTrail.calls()).toHaveLength(0);
  });

  it('stops following pages at its page cap', async () => {
    cloudTrail.on(LookupEventsCommand).resolves({ Events: [], NextToken: 'more' });
    await changeProvider.run(awsInput(), options(9));
    const byName = cloudTrail
      .commandCalls(LookupEventsCommand)
      .filter((call) => call.args[0].input.LookupAttributes?.[0]?.AttributeKey === 'ResourceName');
    expect(byName).toHaveLength(2);
  });
});

/** An ECS UpdateService as CloudTrail records it, on `service` in the `prod` cluster. */
function updateService(service: string, id: string): TrailEvent {
  const raw = {
    eventID: id,
    eventName: 'UpdateService',
    eventSource: 'ecs.amazonaws.com',
    eventTime: new Date(TRIGGERED_AT.getTime() - 5 * 60_000).toISOString(),
    readOnly: false,
    userIdentity: { type: 'IAMUser', userName: 'deployer' },
    requestParameters: { cluster: 'prod', service, desiredCount: 4 },
  };
  return {
    EventId: id,
    EventName: 'UpdateService',
    EventSource: 'ecs.amazonaws.com',
    EventTime: new Date(raw.eventTime),
    ReadOnly: 'false',
    Resources: [{ ResourceType: 'AWS::ECS::Service', ResourceName: `arn:aws:ecs:eu-west-1:123456789012:service/prod/${service}` }],
    CloudTrailEvent: JSON.stringify(raw),
  };
}

describe('on the alarmed resource means that resource exactly', () => {
  const ecsAlert = lambdaErrorsAlert({
    metric: { namespace: 'AWS/ECS', name: 'CPUUtilization' },
    resource: { dimensions: { ClusterName: 'prod', ServiceName: 'orders' } },
  });

  it('labels an UpdateService on another service of the same cluster a change nearby, on that service', async () => {
    cloudTrail
      .on(LookupEventsCommand, { LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: 'prod' }] })
      .resolves({ Events: [updateService('orders-admin', 'e-other'), updateService('orders', 'e-own')] })
      .on(LookupEventsCommand, { LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: 'orders' }] })
      .resolves({ Events: [updateService('orders', 'e-own')] })
      .on(LookupEventsCommand, { LookupAttributes: [{ AttributeKey: 'ReadOnly', AttributeValue: 'false' }] })
      .resolves({ Events: [] });
    const changes = await changeProvider.run(awsInput({ alert: ecsAlert }), options(9));
    expect(
      changes
        .map(({ action, target, onAlarmedResource }) => ({ action, target, onAlarmedResource }))
        .sort((a, b) => (a.target ?? '').localeCompare(b.target ?? '')),
    ).toEqual([
      { action: 'ecs:UpdateService', target: 'arn:aws:ecs:eu-west-1:123456789012:service/prod/orders-admin', onAlarmedResource: false },
      { action: 'ecs:UpdateService', target: 'orders', onAlarmedResource: true },
    ]);
  });

  it('keeps a change to the cluster itself, or one that names the alarmed service, on the alarmed resource', () => {
    const base = {
      at: TRIGGERED_AT.toISOString(),
      source: 'cloudtrail' as const,
      action: 'ecs:UpdateService',
      summary: 'x on prod',
      onAlarmedResource: true,
    };
    expect(labelExactResource({ ...base, resources: ['prod'] }, ecsAlert, 'prod').onAlarmedResource).toBe(true);
    expect(labelExactResource({ ...base, resources: ['prod', 'service/prod/orders'] }, ecsAlert, 'prod').onAlarmedResource).toBe(true);
    expect(labelExactResource({ ...base, resources: ['prod', 'orders-admin'] }, ecsAlert, 'prod')).toMatchObject({
      onAlarmedResource: false,
      target: 'orders-admin',
      summary: 'x on orders-admin',
    });
    // Found by the service's own name: already exact.
    expect(labelExactResource({ ...base, resources: ['orders-admin'] }, ecsAlert, 'orders').onAlarmedResource).toBe(true);
  });
});

describe('account-wide write events', () => {
  const event = (id: string, source: string, name: string, resource: string): TrailEvent => ({
    EventId: id,
    EventName: name,
    EventSource: source,
    EventTime: new Date(TRIGGERED_AT.getTime() - 20 * 60_000),
    ReadOnly: 'false',
    Resources: [{ ResourceType: 'AWS::Unknown', ResourceName: resource }],
    CloudTrailEvent: JSON.stringify({ readOnly: false, userIdentity: { type: 'IAMUser', userName: 'alice' } }),
  });

  it('lists the last hour of security-group, IAM, network, scaling and parameter changes in one lookup, apart from the resource', async () => {
    cloudTrail
      .on(LookupEventsCommand, { LookupAttributes: [{ AttributeKey: 'ReadOnly', AttributeValue: 'false' }] })
      .resolves({
        Events: [
          event('a1', 'ec2.amazonaws.com', 'AuthorizeSecurityGroupIngress', 'sg-0abc'),
          event('a2', 'iam.amazonaws.com', 'PutRolePolicy', 'reporting-role'),
          event('a3', 'ssm.amazonaws.com', 'PutParameter', '/prod/flag'),
          event('a4', 'logs.amazonaws.com', 'CreateLogStream', '/aws/lambda/x'),
          event('a5', 's3.amazonaws.com', 'PutObject', 'bucket/key'),
        ],
      })
      .on(LookupEventsCommand, { LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: 'orders-api' }] })
      .resolves({ Events: [] });
    const changes = await changeProvider.run(awsInput(), options(9));
    expect(
      changes.map(({ action, target, accountWide, onAlarmedResource }) => ({ action, target, accountWide, onAlarmedResource })),
    ).toEqual([
      { action: 'ec2:AuthorizeSecurityGroupIngress', target: 'sg-0abc', accountWide: true, onAlarmedResource: false },
      { action: 'iam:PutRolePolicy', target: 'reporting-role', accountWide: true, onAlarmedResource: false },
      { action: 'ssm:PutParameter', target: '/prod/flag', accountWide: true, onAlarmedResource: false },
    ]);
    const accountCalls = cloudTrail
      .commandCalls(LookupEventsCommand)
      .filter((call) => call.args[0].input.LookupAttributes?.[0]?.AttributeKey === 'ReadOnly');
    expect(accountCalls).toHaveLength(1);
    expect(accountCalls[0]?.args[0].input).toMatchObject({
      MaxResults: 50,
      EndTime: TRIGGERED_AT,
      StartTime: new Date(TRIGGERED_AT.getTime() - 3600_000),
    });
  });

  it('keeps the resource changes when the account-wide lookup is refused', async () => {
    const code = first(record('cloudtrail-lambda-updatefunctioncode.json'));
    cloudTrail
      .on(LookupEventsCommand, { LookupAttributes: [{ AttributeKey: 'ReadOnly', AttributeValue: 'false' }] })
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))
      .on(LookupEventsCommand, { LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: 'orders-api' }] })
      .resolves({ Events: [lookupEventFrom(code)] });
    const changes = await changeProvider.run(awsInput(), options(9));
    expect(changes.map((change) => [change.action, change.accountWide ?? false])).toEqual([['lambda:UpdateFunctionCode', false]]);
  });
});

describe('RequestSpacer', () => {
  it('lets two requests start at once and holds the third until the window has passed, in order', async () => {
    let now = 1_000;
    const spacer = new RequestSpacer(2, 1_000, () => now);
    const signal = new AbortController().signal;
    await spacer.slot(signal);
    now += 100;
    await spacer.slot(signal);
    const controller = new AbortController();
    const third = spacer.slot(controller.signal);
    controller.abort(new Error('deadline'));
    await expect(third).rejects.toThrow('deadline');
    // The aborted third kept its reservation at 2,000: a fourth queues behind it, after 2,100.
    now = 2_100;
    await expect(spacer.slot(signal)).resolves.toBeUndefined();
    // The fourth started at 2,100 and the third's slot was 2,000: a fifth at 2,500 must wait until 3,000.
    now = 2_500;
    await expect(spacer.slot(controller.signal)).rejects.toThrow('deadline');
  });

  it('never lets more than two requests start within one second, whatever the callers', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 3_000 }), { minLength: 1, maxLength: 30 }), async (gaps) => {
        let now = 0;
        const starts: number[] = [];
        const spacer = new RequestSpacer(2, 1_000, () => now);
        // A caller whose slot is not due yet is refused at once (its deadline has passed), so no timer is left behind;
        // its slot stays reserved, as a caller that waits would take it.
        const expired = AbortSignal.abort(new Error('not due yet'));
        for (const gap of gaps) {
          now += gap;
          const reservedBefore = spacer.reservations();
          await spacer.slot(expired).catch(() => undefined);
          starts.push(spacer.reservations().at(-1) ?? Number.NaN);
          expect(spacer.reservations().length).toBeGreaterThanOrEqual(Math.min(2, reservedBefore.length + 1));
        }
        for (let index = 2; index < starts.length; index += 1) expect(starts[index] - starts[index - 2]).toBeGreaterThanOrEqual(1_000);
        for (let index = 1; index < starts.length; index += 1) expect(starts[index]).toBeGreaterThanOrEqual(starts[index - 1]);
      }),
    );
  });
});

describe('mergeChangeTimeline', () => {
  it('puts PagerDuty change events and CloudTrail changes into one timeline by time', () => {
    const timeline = mergeChangeTimeline(
      [
        {
          at: '2026-03-10T03:00:00.000Z',
          source: 'cloudtrail',
          action: 'lambda:UpdateFunctionCode',
          summary: 'deployed',
          onAlarmedResource: true,
        },
      ],
      [
        {
          id: 'C1',
          summary: 'Deploy #41 of checkout',
          timestamp: '2026-03-10T02:30:00Z',
          source: 'github',
          links: [{ href: 'https://example.com/41' }],
        },
        { id: 'C2', summary: 'Feature flag flipped', timestamp: '2026-03-10T03:05:00Z' },
      ],
    );
    expect(timeline.map((change) => [change.source, change.summary])).toEqual([
      ['pagerduty', 'Deploy #41 of checkout'],
      ['cloudtrail', 'deployed'],
      ['pagerduty', 'Feature flag flipped'],
    ]);
    expect(timeline[0]).toMatchObject({ action: 'github', link: 'https://example.com/41', onAlarmedResource: false });
  });
});
