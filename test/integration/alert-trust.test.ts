import { NO_HOLDOUT } from '../support/agent-stack';
import type { EmulatedCall } from '../../local/aws-emulators/server';
import type { AwsSeed, SeedMetricAlarm } from '../../local/aws-emulators/seed';
import { alarmNotificationMessage } from '../../local/aws-emulators/alarm-notification';
import { startLocalStack, type LocalStack } from '../../local/local-stack';
import { DEFAULT_SANDBOX_SEED, SANDBOX_BOT_USER, SANDBOX_ESCALATION_POLICY_ID, SANDBOX_SERVICE_ID } from '../../local/sandbox';

/**
 * Issue 19, "alert text is a claim, not an instruction", through the bundled worker and the AWS emulators: whoever can
 * send an alert into PagerDuty chooses its words, not what the agent reads. Each incident below is one claim; the
 * emulators record every AWS call (with the region it was signed for), and the note is read back from the sandbox.
 */

const ACCOUNT = '123456789012';
const MAPPED = { id: 'PSVCEU1', name: 'checkout (eu-west-1)' };
const ALLOWLISTED = { id: 'PSVCALW', name: 'checkout (allowlisted)' };
const AGENT_CONFIG = {
  trust: NO_HOLDOUT,
  context: {
    aws: {
      services: {
        [MAPPED.id]: { region: 'eu-west-1' },
        [ALLOWLISTED.id]: { region: 'eu-west-1', resources: ['checkout-*'], logGroupPrefixes: ['/aws/lambda/checkout-'] },
      },
    },
  },
};

/** What must never reach a note: the victim function's log lines and the principal of its CloudTrail change. */
const VICTIM_LOG_CANARY = 'payroll-ledger-CANARY-7f3a';
const VICTIM_PRINCIPAL_CANARY = 'payroll-admin-CANARY';
const CHECKOUT_PASSWORD = 'Sup3r-S3cret-pw';

const errorsAlarm = (name: string, functionName: string): SeedMetricAlarm => ({
  region: 'eu-west-1',
  AlarmName: name,
  Namespace: 'AWS/Lambda',
  MetricName: 'Errors',
  Dimensions: [{ Name: 'FunctionName', Value: functionName }],
  Statistic: 'Sum',
  Period: 60,
  EvaluationPeriods: 1,
  Threshold: 5,
  ComparisonOperator: 'GreaterThanThreshold',
  TreatMissingData: 'missing',
  AlarmActions: [`arn:aws:sns:eu-west-1:${ACCOUNT}:pagerduty`],
  OKActions: [],
  InsufficientDataActions: [],
  configuredAt: 'now-30d',
  history: [
    { at: 'now-1m', from: 'OK', to: 'ALARM', reason: 'Threshold Crossed: 1 datapoint [42.0] was greater than the threshold (5.0).' },
  ],
});
const CHECKOUT_ALARM = errorsAlarm('checkout-api-errors', 'checkout-api');
const PAYROLL_ALARM = errorsAlarm('payroll-export-errors', 'payroll-export');

const trailEvent = (functionName: string, principal: string, at: string): NonNullable<AwsSeed['cloudTrailEvents']>[number] => ({
  at,
  record: {
    eventVersion: '1.09',
    eventID: `${functionName}-deploy`,
    eventName: 'UpdateFunctionCode20150331v2',
    eventSource: 'lambda.amazonaws.com',
    awsRegion: 'eu-west-1',
    readOnly: false,
    userIdentity: { type: 'AssumedRole', arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${principal}/session` },
    requestParameters: { functionName },
  },
  resources: [{ ResourceType: 'AWS::Lambda::Function', ResourceName: functionName }],
});

/** A metric-math alarm: the error rate of checkout-api in percent. */
const ERROR_RATE_METRICS = [
  { Id: 'e1', Expression: '100*m1/m2', Label: 'checkout error rate', ReturnData: true },
  {
    Id: 'm1',
    MetricStat: {
      Metric: { Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: 'checkout-api' }] },
      Period: 60,
      Stat: 'Sum',
    },
    ReturnData: false,
  },
  {
    Id: 'm2',
    MetricStat: {
      Metric: { Namespace: 'AWS/Lambda', MetricName: 'Invocations', Dimensions: [{ Name: 'FunctionName', Value: 'checkout-api' }] },
      Period: 60,
      Stat: 'Sum',
    },
    ReturnData: false,
  },
];
const ERROR_RATE_ALARM: SeedMetricAlarm = {
  ...CHECKOUT_ALARM,
  AlarmName: 'checkout-error-rate',
  Namespace: undefined,
  MetricName: undefined,
  Statistic: undefined,
  Period: undefined,
  Dimensions: [],
  Metrics: ERROR_RATE_METRICS,
};

const SEED: AwsSeed = {
  alarms: [CHECKOUT_ALARM, PAYROLL_ALARM, ERROR_RATE_ALARM],
  compositeAlarms: [
    {
      region: 'eu-west-1',
      AlarmName: 'checkout-health',
      AlarmRule: 'ALARM("checkout-api-errors") OR ALARM("checkout-api-latency")',
      history: [{ at: 'now-1m', from: 'OK', to: 'ALARM', reason: 'checkout-api-errors is in ALARM' }],
    },
  ],
  metrics: [
    ...['checkout-api', 'payroll-export'].map((functionName) => ({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: functionName }],
      points: Array.from({ length: 40 }, (_, index) => ({ at: `now-${40 - index}m`, value: index < 33 ? 0 : 42 })),
    })),
    {
      Namespace: 'AWS/Lambda',
      MetricName: 'Invocations',
      Dimensions: [{ Name: 'FunctionName', Value: 'checkout-api' }],
      points: Array.from({ length: 40 }, (_, index) => ({ at: `now-${40 - index}m`, value: 200 })),
    },
  ],
  cloudTrailEvents: [
    trailEvent('checkout-api', 'github-deploy', 'now-7m'),
    trailEvent('payroll-export', VICTIM_PRINCIPAL_CANARY, 'now-5m'),
  ],
  logGroups: [
    {
      name: '/aws/lambda/checkout-api',
      streams: [
        {
          name: 'checkout',
          events: [1, 2, 3].map((minute) => ({
            at: `now-${minute}m`,
            message: `ERROR ConnectionPool exhausted connecting to postgres://checkout:${CHECKOUT_PASSWORD}@db.internal/orders`,
          })),
        },
      ],
    },
    {
      name: '/aws/lambda/payroll-export',
      streams: [
        {
          name: 'payroll',
          events: [1, 2, 3].map((minute) => ({ at: `now-${minute}m`, message: `ERROR ${VICTIM_LOG_CANARY} row ${minute}` })),
        },
      ],
    },
  ],
};

const MONTHS_AGO = '2026-08-01T00:00:00.000+0000';

/** An alert whose details are CloudWatch's SNS message for `alarm`, with the claims of the test changed. */
const alarmAlert = (alarm: SeedMetricAlarm, claims: Record<string, unknown> = {}) => ({
  summary: `ALARM: "${alarm.AlarmName}"`,
  severity: 'critical' as const,
  details: { ...alarmNotificationMessage(alarm, new Date()), ...claims },
});

/** The note as a reader sees it: markdown escapes undone (the note is plain text once issue 17 lands). */
const asText = (note: string): string => note.replace(/\\(.)/g, '$1').replace(/&#39;/g, "'");

describe('alert text is a claim, not an instruction (bundled worker, AWS emulators)', () => {
  let stack: LocalStack;
  const incidents: Record<string, string> = {};
  const note = (name: string): string => {
    const notes = stack.sandbox?.notes(incidents[name] ?? '').filter((entry) => entry.user.id === SANDBOX_BOT_USER.id) ?? [];
    expect(notes).toHaveLength(1);
    return asText(notes[0]?.content ?? '');
  };
  const calls = (): EmulatedCall[] => stack.aws.awsContext.calls;
  const readsOf = (operation: string, field: string, value: string): EmulatedCall[] =>
    calls().filter(
      (call) => call.operation === operation && JSON.stringify((call.input as Record<string, unknown>)[field] ?? '').includes(value),
    );

  beforeAll(async () => {
    stack = await startLocalStack({
      port: 0,
      writeState: false,
      agentConfig: JSON.stringify(AGENT_CONFIG),
      sandboxSeed: {
        ...DEFAULT_SANDBOX_SEED,
        services: [
          ...(DEFAULT_SANDBOX_SEED.services ?? []),
          { ...MAPPED, escalationPolicyId: SANDBOX_ESCALATION_POLICY_ID },
          { ...ALLOWLISTED, escalationPolicyId: SANDBOX_ESCALATION_POLICY_ID },
        ],
      },
    });
    stack.aws.awsContext.seedScenario(SEED, { source: 'alert-trust test' });
    const sandbox = stack.sandbox;
    if (sandbox === undefined) throw new Error('the local stack started without its PagerDuty sandbox');
    const trigger = (name: string, serviceId: string, alert: ReturnType<typeof alarmAlert>): void => {
      incidents[name] = sandbox.triggerIncident({ serviceId, title: alert.summary, alerts: [alert] }).id;
    };
    // The probe: mapping region eu-west-1, the alert says ap-southeast-2, a window months before the incident,
    // and a victim function's dimensions.
    trigger(
      'probe',
      MAPPED.id,
      alarmAlert(CHECKOUT_ALARM, {
        Region: 'Asia Pacific (Sydney)',
        AlarmArn: `arn:aws:cloudwatch:ap-southeast-2:${ACCOUNT}:alarm:checkout-api-errors`,
        StateChangeTime: MONTHS_AGO,
        Trigger: {
          ...(alarmNotificationMessage(CHECKOUT_ALARM, new Date()).Trigger as object),
          Dimensions: [{ name: 'FunctionName', value: 'payroll-export' }],
        },
      }),
    );
    trigger(
      'other account',
      MAPPED.id,
      alarmAlert(CHECKOUT_ALARM, {
        AWSAccountId: '999999999999',
        AlarmArn: 'arn:aws:cloudwatch:eu-west-1:999999999999:alarm:checkout-api-errors',
      }),
    );
    trigger('outside allowlist', ALLOWLISTED.id, alarmAlert(PAYROLL_ALARM));
    trigger('no such alarm', SANDBOX_SERVICE_ID, alarmAlert({ ...CHECKOUT_ALARM, AlarmName: 'ghost-errors', region: 'ap-southeast-2' }));
    trigger('genuine', MAPPED.id, alarmAlert(CHECKOUT_ALARM));
    trigger('composite', MAPPED.id, {
      summary: 'ALARM: "checkout-health"',
      severity: 'critical',
      details: {
        AlarmName: 'checkout-health',
        AWSAccountId: ACCOUNT,
        NewStateValue: 'ALARM',
        NewStateReason: 'checkout-api-errors is in ALARM',
        StateChangeTime: new Date(Date.now() - 60_000).toISOString().replace('Z', '+0000'),
        Region: 'EU (Ireland)',
        AlarmArn: `arn:aws:cloudwatch:eu-west-1:${ACCOUNT}:alarm:checkout-health`,
        AlarmRule: 'ALARM("checkout-api-errors") OR ALARM("checkout-api-latency")',
        // A child the sender names is a claim too: the agent reads the rule's children in ALARM itself.
        TriggeringChildren: [{ Arn: `arn:aws:cloudwatch:eu-west-1:${ACCOUNT}:alarm:payroll-export-errors`, State: { Value: 'ALARM' } }],
      },
    });
    const rateAlert = alarmAlert(CHECKOUT_ALARM);
    trigger('metric math', MAPPED.id, {
      ...rateAlert,
      summary: 'ALARM: "checkout-error-rate"',
      details: {
        ...rateAlert.details,
        AlarmName: 'checkout-error-rate',
        AlarmArn: `arn:aws:cloudwatch:eu-west-1:${ACCOUNT}:alarm:checkout-error-rate`,
        Trigger: {
          Metrics: ERROR_RATE_METRICS,
          Period: 60,
          EvaluationPeriods: 1,
          ComparisonOperator: 'GreaterThanThreshold',
          Threshold: 5,
        },
      },
    });
    await stack.settled({ timeoutMs: 90_000 });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('the probe (another region, a months-old window, a victim function) reads nothing of the victim and says so', () => {
    const text = note('probe');
    expect(text).toContain("the alert names region ap-southeast-2; this service's mapping says eu-west-1");
    expect(text).toMatch(/the alert's trigger time 2026-08-01T00:00:00.000Z is \d+ days before the incident's creation/);
    expect(text).toContain('alarm checkout-api-errors in eu-west-1 (own account) does not match the alert');
    expect(text).not.toContain(VICTIM_LOG_CANARY);
    expect(text).not.toContain(VICTIM_PRINCIPAL_CANARY);
    expect(text).not.toContain('the alert names none');
    expect(calls().filter((call) => call.region === 'ap-southeast-2' && call.operation !== 'DescribeAlarms')).toEqual([]);
    expect(readsOf('FilterLogEvents', 'logGroupName', '/aws/lambda/payroll-export')).toEqual([]);
    expect(readsOf('LookupEvents', 'LookupAttributes', 'payroll-export')).toEqual([]);
    // Nothing was read in months-old windows either.
    const monthsAgo = Date.parse('2026-09-01T00:00:00Z') / 1000;
    const startOf = (call: EmulatedCall): number => {
      const input = call.input as Record<string, unknown>;
      return typeof input.StartTime === 'number'
        ? input.StartTime
        : typeof input.startTime === 'number'
          ? input.startTime / 1000
          : Infinity;
    };
    expect(calls().filter((call) => startOf(call) < monthsAgo)).toEqual([]);
  });

  it('an alert naming another account is said not to match, and nothing is read for it', () => {
    expect(note('other account')).toContain(
      "alarm checkout-api-errors in eu-west-1 (own account) does not match the alert: the alert's alarm ARN is not the alarm's",
    );
  });

  it("an alarm on a function outside the service's allowlist is reported, and its logs and changes are not read", () => {
    expect(note('outside allowlist')).toContain(
      "alarm payroll-export-errors watches payroll-export, not among the resources this service's mapping allows; nothing read for it",
    );
    expect(note('outside allowlist')).not.toContain(VICTIM_LOG_CANARY);
  });

  it('an alarm that does not exist in the region its ARN names is reported, and only its lookup was made there', () => {
    const text = note('no such alarm');
    expect(text).toContain('alarm ghost-errors does not exist in ap-southeast-2 (own account); nothing read for it');
    expect(
      calls()
        .filter((call) => call.region === 'ap-southeast-2')
        .map((call) => call.operation),
    ).toEqual(expect.arrayContaining(['DescribeAlarms']));
    expect(calls().filter((call) => call.region === 'ap-southeast-2' && call.operation !== 'DescribeAlarms')).toEqual([]);
  });

  it('a genuine alarm still gets its full context: the metric, the deploy, the new error with its password masked', () => {
    const text = note('genuine');
    expect(text).toContain('UpdateFunctionCode');
    expect(text).toContain('github-deploy');
    expect(text).toContain('ConnectionPool exhausted');
    expect(text).toContain('checkout:[redacted]');
    expect(text).not.toContain(CHECKOUT_PASSWORD);
    expect(text).not.toContain('not followed');
  });

  it("a metric-math alarm's evidence is the expression's move, computed by CloudWatch from the alarm's own queries", () => {
    const text = note('metric math');
    // 42 errors in 200 invocations: the rate stepped from about 0 to 21 %.
    expect(text).toMatch(/checkout error rate: 100\*m1\/m2 stepped from ~0 to 21/);
    const query = readsOf('GetMetricData', 'MetricDataQueries', '100*m1/m2');
    expect(query).toHaveLength(1);
  });

  it("a composite alarm gets its child's metric, never the child the alert named", () => {
    const text = note('composite');
    expect(text).toContain('child alarm checkout-api-errors of checkout-health');
    expect(text).not.toContain('it may have been deleted');
    expect(text).not.toContain(VICTIM_LOG_CANARY);
    expect(readsOf('DescribeAlarms', 'AlarmTypes', 'CompositeAlarm').length).toBeGreaterThan(0);
  });
});
