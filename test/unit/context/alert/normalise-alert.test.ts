import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { normaliseAlert, rankDetails, understandAlerts } from '../../../../lib/context/alert';
import { leafText } from '../../../../lib/context/alert/payload';
import { regionCode } from '../../../../lib/context/alert/regions';
import type { Alert } from '../../../../lib/pagerduty/types';
import { makeAlert } from '../../../support/incident-context';

const FIXTURES = join(__dirname, '../../../fixtures/alert-payloads');

function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as Record<string, unknown>;
}

/** An alert as PagerDuty's REST API returns it for a monitor's details (`body.details` and the CEF copy). */
function alertWith(details: unknown, client?: { client?: string; client_url?: string }): Alert {
  return makeAlert({ body: { details: details as Record<string, unknown>, cef_details: { ...client, details } } });
}

/** An Events API v2 event as PagerDuty stores it in an alert: custom details, client and client URL. */
function alertFromEvent(event: Record<string, unknown>): Alert {
  const payload = event['payload'] as Record<string, unknown> | undefined;
  return alertWith(payload?.['custom_details'] ?? event['custom_details'] ?? event, {
    client: event['client'] as string,
    client_url: event['client_url'] as string,
  });
}

describe('CloudWatch alarms through PagerDuty’s CloudWatch integration', () => {
  it('reads the SNS HTTPS envelope: region code from the display name, metric, threshold and observed value', () => {
    const alert = normaliseAlert(alertWith(fixture('cloudwatch-sns-alarm-https-notification.json')));
    expect(alert).toMatchObject({
      monitor: 'cloudwatch',
      name: 'bucketbytesAlarm',
      state: 'ALARM',
      region: 'eu-west-1',
      metric: { namespace: 'AWS/S3', name: 'BucketSizeBytes', statistic: 'AVERAGE', periodSeconds: 86400 },
      threshold: { comparison: '>=', value: 0 },
      observed: { value: 1062305, at: '14/02/19 23:53:00' },
      resource: { dimensions: { StorageType: 'StandardStorage', BucketName: 'try.alerta.io' } },
      triggeredAt: '2019-02-15T23:53:45.093+0000',
    });
    // "1234567890" is not a 12-digit account id: it is left out rather than passed on to the AWS providers.
    expect(alert.accountId).toBeUndefined();
  });

  it('reads the message as the integration stores it (current fields), keeping the unit and the comparison', () => {
    const alert = normaliseAlert(alertWith(fixture('cloudwatch-sns-alarm-message-current-fields.localstack-snapshot.json')));
    expect(alert).toMatchObject({
      monitor: 'cloudwatch',
      metric: { name: 'my-metric1', unit: 'Seconds', periodSeconds: 10 },
      threshold: { comparison: '>', value: 21 },
      observed: { value: 21.5 },
      accountId: '111111111111',
      resource: { dimensions: { InstanceId: 'abc' } },
    });
    // The ARN has placeholders instead of a region: no region is guessed.
    expect(alert.region).toBeUndefined();
  });

  it('reads a Lambda SNS record and a metric-math alarm', () => {
    expect(normaliseAlert(alertWith(fixture('cloudwatch-sns-alarm-lambda-event-single-metric.json')))).toMatchObject({
      monitor: 'cloudwatch',
      metric: { name: 'NetworkOut', namespace: 'AWS/EC2', unit: 'Bytes' },
      threshold: { comparison: '>', value: 0 },
      observed: { value: 1234 },
    });
    const math = normaliseAlert(alertWith(fixture('cloudwatch-sns-metric-math-alarm-lambda-event.json')));
    expect(math.monitor).toBe('cloudwatch');
    expect(math.metric?.expression).toBeDefined();
  });

  it('reads a composite alarm: the alarm ARN gives region and account, the triggering child is the resource', () => {
    const alert = normaliseAlert(alertWith(fixture('cloudwatch-sns-composite-alarm-lambda-event.json')));
    expect(alert).toMatchObject({
      monitor: 'cloudwatch',
      name: 'if-sim-app_427809481713_us-east-1-test_node_monitor',
      region: 'us-east-1',
      accountId: '427809481713',
      alarmArn: 'arn:aws:cloudwatch:us-east-1:427809481713:alarm:if-sim-app_427809481713_us-east-1-test_node_monitor',
      resource: {
        dimensions: {
          TriggeringChild: 'arn:aws:cloudwatch:us-east-1:427809481713:alarm:if-sim-app_427809481713_us-east-1-metric_emitting_node_failure',
        },
      },
    });
  });

  it('prefers the alarm ARN’s region over the display name', () => {
    const message = fixture('cloudwatch-sns-alarm-message-current-fields.localstack-snapshot.json');
    const alert = normaliseAlert(
      alertWith({ ...message, Region: 'EU (Ireland)', AlarmArn: 'arn:aws:cloudwatch:us-west-2:111111111111:alarm:cpu' }),
    );
    expect(alert.region).toBe('us-west-2');
  });
});

describe('CloudWatch alarms through EventBridge', () => {
  it('reads the state change event: metric, observed value, threshold, dimensions and the resource ARN', () => {
    const alert = normaliseAlert(alertWith(fixture('cloudwatch-eventbridge-single-metric-alarm.json')));
    expect(alert).toMatchObject({
      monitor: 'cloudwatch',
      name: 'ServerCpuTooHigh',
      state: 'ALARM',
      region: 'us-east-1',
      accountId: '123456789012',
      alarmArn: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServerCpuTooHigh',
      metric: { namespace: 'AWS/EC2', name: 'CPUUtilization', statistic: 'Average', periodSeconds: 300 },
      threshold: { comparison: '>', value: 50 },
      observed: { value: 99.50160229693434 },
      resource: {
        arn: 'arn:aws:ec2:us-east-1:123456789012:instance/i-12345678901234567',
        dimensions: { InstanceId: 'i-12345678901234567' },
      },
    });
  });

  it('reads a metric-math alarm’s expression', () => {
    const alert = normaliseAlert(alertWith(fixture('cloudwatch-eventbridge-metric-math-alarm.json')));
    expect(alert.metric).toMatchObject({ expression: 'SUM(METRICS())' });
    expect(alert.threshold).toEqual({ comparison: '>', value: 10000 });
  });
});

describe('other monitors', () => {
  it('Alertmanager text details: alert name, state and the client link', () => {
    const alert = normaliseAlert(alertFromEvent(fixture('alertmanager-events-v2-trigger.json')));
    expect(alert).toMatchObject({
      monitor: 'prometheus',
      name: 'PagerDuty Test',
      state: 'firing',
      sourceUrl: 'http://alertmanager:9093/#/alerts?receiver=team-X-pager',
    });
    expect(normaliseAlert(alertFromEvent(fixture('alertmanager-events-v2-resolve.json'))).state).toBe('resolved');
  });

  it('Alertmanager ≥ 0.30 structured details: labels as dimensions, start time and generator link', () => {
    const alert = normaliseAlert(alertWith(fixture('alertmanager-v030-structured-details.constructed.json')));
    expect(alert).toMatchObject({
      monitor: 'prometheus',
      name: 'KubePodCrashLooping',
      triggeredAt: '2026-03-10T03:10:30Z',
      resource: { dimensions: { namespace: 'payments', pod: 'payments-api-7d9f8c6b5-x2k4q', cluster: 'prod-eu' } },
    });
    expect(alert.sourceUrl).toMatch(/^http:\/\/prometheus\.example:9090\/graph/);
  });

  it('Grafana: the Value line is the observed value, the summary gives the threshold', () => {
    const alert = normaliseAlert(alertFromEvent(fixture('grafana-events-v2-trigger.constructed.json')));
    expect(alert).toMatchObject({
      monitor: 'grafana',
      name: 'HighLatency',
      observed: { value: 2.84 },
      threshold: { comparison: '>', value: 1.5 },
      region: 'eu-west-1',
      sourceUrl: 'https://grafana.example.com/alerting/grafana/fe2kbcd7/view?orgId=1',
    });
  });

  it('Datadog: metric, query threshold, scope from the title and tags, monitor link', () => {
    const alert = normaliseAlert(alertWith(fixture('datadog-monitor-details.constructed.json')));
    expect(alert).toMatchObject({
      monitor: 'datadog',
      name: 'Disk almost full on db hosts',
      state: 'Triggered',
      metric: { name: 'system.disk.in_use' },
      threshold: { comparison: '>', value: 0.9 },
      region: 'eu-west-1',
      resource: { dimensions: { host: 'db-7', device: '/dev/nvme1n1', service: 'orders-db' } },
      triggeredAt: '2025-12-31T05:00:00.000Z',
    });
    expect(alert.sourceUrl).toMatch(/^https:\/\/app\.datadoghq\.com\/monitors\/4711/);
  });

  it('New Relic workflow details: condition, threshold from the description, entity and issue link', () => {
    const alert = normaliseAlert(alertWith(fixture('newrelic-workflow-custom-details.constructed.json')));
    expect(alert).toMatchObject({
      monitor: 'newrelic',
      name: 'Orders error rate',
      threshold: { comparison: '>', value: 5 },
      resource: { dimensions: { entity: 'orders-service', policy: 'Orders golden signals' } },
    });
    expect(alert.sourceUrl).toMatch(/^https:\/\/radar-api\.service\.newrelic\.com\//);
  });

  it('generic details: the usual keys and the free text', () => {
    const alert = normaliseAlert(
      alertWith({
        check: 'disk',
        mountpoint: '/var/lib/docker',
        used_percent: '97',
        threshold: '90',
        host: 'build-3',
        resource: 'arn:aws:ec2:eu-central-1:210987654321:instance/i-0abc1234',
      }),
    );
    expect(alert).toMatchObject({
      monitor: 'generic',
      metric: { name: 'disk' },
      observed: { value: 97 },
      threshold: { value: 90 },
      region: 'eu-central-1',
      accountId: '210987654321',
      resource: { arn: 'arn:aws:ec2:eu-central-1:210987654321:instance/i-0abc1234', dimensions: { mountpoint: '/var/lib/docker' } },
    });
    expect(normaliseAlert(alertWith('disk /data is 97% full on db-2')).observed).toEqual({ value: 97 });
  });
});

describe('ranked details', () => {
  it('ranks a mount point 97% full first, noise last', () => {
    const ranked = rankDetails({
      timestamp: '2026-03-10T03:11:58Z',
      event_id: '5b0d9f0e-3a6f-4d7b-9a43-1f0c2b8e4d21',
      signing_url: 'https://example.com/cert.pem',
      empty: '',
      host: 'build-3',
      mountpoint: '/var/lib/docker',
      used_percent: '97',
      blob: 'x'.repeat(1000),
    });
    expect(ranked[0]).toMatchObject({ key: 'used_percent', value: '97' });
    expect(ranked.slice(0, 3).map((detail) => detail.key)).toEqual(expect.arrayContaining(['mountpoint']));
    expect(ranked.slice(-4).map((detail) => detail.key)).toEqual(expect.arrayContaining(['timestamp', 'signing_url', 'empty']));
  });

  it('ranks a free-text "97% full" and a state reason above identifiers and times', () => {
    const ranked = rankDetails({ id: 'a1b2c3d4e5f60718', at: '1741576318000', message: 'disk /data is 97% full', node: 'db-2' });
    expect(ranked[0]?.key).toBe('message');
    const cloudWatch = normaliseAlert(alertWith(fixture('cloudwatch-sns-alarm-message-current-fields.localstack-snapshot.json')));
    expect(cloudWatch.details[0]?.key).toBe('NewStateReason');
    expect(cloudWatch.details.find((detail) => detail.key === 'StateChangeTime')?.score).toBeLessThan(0.2);
  });

  it('never throws on arbitrary JSON details, and every value the payload carried is among the details', () => {
    const leaves = (value: unknown): unknown[] =>
      value !== null && typeof value === 'object' ? Object.values(value as Record<string, unknown>).flatMap(leaves) : [value];
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (details) => {
        const expected = leaves(details);
        fc.pre(details !== null && expected.length <= 400); // null details are no details
        const alert = normaliseAlert(makeAlert({ body: { details: details as Record<string, unknown> } }));
        const values = new Set(alert.details.map((detail) => detail.value));
        for (const leaf of expected) {
          if (leaf !== null && typeof leaf === 'object') continue; // an empty object or array has no leaf
          expect(values.has(leafText(leaf))).toBe(true);
        }
        expect(alert.details.every((detail) => detail.score >= 0 && detail.score <= 1)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('understandAlerts and regions', () => {
  it('starts from a triggered alert a monitor reader understood', () => {
    const generic = makeAlert({ created_at: '2026-03-10T03:00:00Z' });
    const cloudWatch = alertWith(fixture('cloudwatch-eventbridge-single-metric-alarm.json'));
    const resolved = { ...alertWith(fixture('datadog-monitor-details.constructed.json')), status: 'resolved' as const };
    expect(understandAlerts([resolved, generic, cloudWatch])?.monitor).toBe('cloudwatch');
    expect(understandAlerts([])).toBeUndefined();
  });

  it('maps display names to region codes, old and new spellings', () => {
    expect(regionCode('EU (Ireland)')).toBe('eu-west-1');
    expect(regionCode('Europe (Frankfurt)')).toBe('eu-central-1');
    expect(regionCode('US East (N. Virginia)')).toBe('us-east-1');
    expect(regionCode('Atlantis (Central)')).toBeUndefined();
  });
});
