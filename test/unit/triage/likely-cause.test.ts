import type { AwsContext, ChangeRecord, LogSurge, MetricBehaviour } from '../../../lib/context/evidence';
import { isAgentNote } from '../../../lib/triage/agent-notes';
import { likelyCause } from '../../../lib/triage/analysers/likely-cause';
import { triageIncident } from '../../../lib/triage/triage';
import { makeIncidentContext, makeRule, makeTriagePolicy, minutesBefore } from '../../support/incident-context';

const policy = makeTriagePolicy();

function change(overrides: Partial<ChangeRecord> = {}): ChangeRecord {
  return {
    at: minutesBefore(2),
    source: 'cloudtrail',
    action: 'lambda:UpdateFunctionCode',
    who: 'deploy-role/github-actions',
    target: 'checkout-fn',
    summary: 'New code for checkout-fn (sha256 3f2a…)',
    onAlarmedResource: true,
    ...overrides,
  };
}

function metric(overrides: Partial<MetricBehaviour> = {}): MetricBehaviour {
  return {
    metricLabel: 'AWS/Lambda Errors FunctionName=checkout-fn',
    shape: 'step',
    crossedAt: minutesBefore(1),
    baseline: 0,
    latest: 42,
    sparkline: '▁▁▁▁▁▇██',
    consoleUrl: 'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#metricsV2',
    ...overrides,
  };
}

function surge(overrides: Partial<LogSurge> = {}): LogSurge {
  return {
    logGroup: '/aws/lambda/checkout-fn',
    signature: 'TypeError: Cannot read properties of undefined (reading <*>)',
    example: "TypeError: Cannot read properties of undefined (reading 'total')",
    countRecent: 57,
    countBefore: 0,
    isNew: true,
    firstSeenAt: minutesBefore(1),
    consoleUrl: 'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups',
    ...overrides,
  };
}

function aws(overrides: Partial<AwsContext> = {}): AwsContext {
  return { region: 'eu-west-1', changes: [], logSurges: [], unavailable: [], ...overrides };
}

describe('likely-cause: weighing independent sources', () => {
  it('names a fresh change on the alarmed resource with moderate weight when it is the only source', () => {
    const finding = likelyCause(makeIncidentContext({ aws: aws({ changes: [change()] }) }), policy);
    expect(finding).toMatchObject({ cause: 'change', weight: 0.5 });
    expect(finding?.summary).toBe(
      'Likely cause: lambda:UpdateFunctionCode on checkout-fn by deploy-role/github-actions 2 min before the trigger',
    );
  });

  it('raises the weight with each source that agrees in time: a metric step, then new errors', () => {
    const two = likelyCause(makeIncidentContext({ aws: aws({ changes: [change()], metric: metric() }) }), policy);
    expect(two?.weight).toBeCloseTo(0.7);
    expect(two?.summary).toContain('2 independent sources agree (a change, the metric)');
    const three = likelyCause(makeIncidentContext({ aws: aws({ changes: [change()], metric: metric(), logSurges: [surge()] }) }), policy);
    expect(three?.weight).toBeCloseTo(0.9);
    expect(three?.evidence).toHaveLength(3);
  });

  it('names the source that started first, with low weight, when a change came after the errors had begun', () => {
    const finding = likelyCause(
      makeIncidentContext({ aws: aws({ changes: [change()], logSurges: [surge({ firstSeenAt: minutesBefore(25) })] }) }),
      policy,
    );
    expect(finding?.cause).toBe('logs');
    expect(finding?.weight).toBe(0.35);
    expect(finding?.summary).toContain(
      '; the change lambda:UpdateFunctionCode on checkout-fn by deploy-role/github-actions 2 min before the trigger came after it began, so it is unlikely to be the cause',
    );
  });

  it('weighs a change that is only nearby (not on the alarmed resource) lower', () => {
    const nearby = change({ action: 'ec2:AuthorizeSecurityGroupIngress', target: 'sg-0abc123', onAlarmedResource: false });
    expect(likelyCause(makeIncidentContext({ aws: aws({ changes: [nearby] }) }), policy)?.weight).toBe(0.35);
    const old = change({ at: minutesBefore(90) });
    expect(likelyCause(makeIncidentContext({ aws: aws({ changes: [old] }) }), policy)).toBeNull();
  });

  it('names capacity exhaustion from a climbing metric, and new errors when nothing changed', () => {
    const climb = metric({
      shape: 'climb',
      ratePerMinute: 0.4,
      latest: 96.5,
      unit: 'Percent',
      minutesToExhaustion: 9,
      crossedAt: minutesBefore(30),
    });
    const capacity = likelyCause(makeIncidentContext({ aws: aws({ metric: climb }) }), policy);
    expect(capacity?.cause).toBe('metric');
    expect(capacity?.summary).toContain('capacity exhaustion');
    expect(capacity?.summary).toContain('exhausted in about 9 min');
    const logs = likelyCause(makeIncidentContext({ aws: aws({ logSurges: [surge()] }) }), policy);
    expect(logs?.cause).toBe('logs');
    expect(logs?.summary).toContain('new errors in /aws/lambda/checkout-fn');
  });

  it('finds nothing without AWS context, a steady metric or a log line that is not surging', () => {
    expect(likelyCause(makeIncidentContext(), policy)).toBeNull();
    const quiet = aws({ metric: metric({ shape: 'steady' }), logSurges: [surge({ isNew: false, countRecent: 12, countBefore: 10 })] });
    expect(likelyCause(makeIncidentContext({ aws: quiet }), policy)).toBeNull();
  });
});

describe('a hold rule against fresh evidence', () => {
  const holdPolicy = makeTriagePolicy({ rules: [makeRule({ action: 'hold', confidence: 0.9 })] });

  it('escalates when the alarmed resource changed minutes before the trigger', () => {
    const hypothesis = triageIncident(makeIncidentContext({ aws: aws({ changes: [change()] }) }), holdPolicy);
    expect(hypothesis.decision).toBe('escalate');
    expect(hypothesis.decisionReason).toBe(
      'Rule checkout-errors would hold it, but fresh evidence contradicts the known pattern: lambda:UpdateFunctionCode on checkout-fn 2 min before the trigger; handing to on-call.',
    );
  });

  it('escalates on an error the logs never showed before', () => {
    const hypothesis = triageIncident(makeIncidentContext({ aws: aws({ logSurges: [surge()] }) }), holdPolicy);
    expect(hypothesis.decision).toBe('escalate');
    expect(hypothesis.decisionReason).toContain('a new error in /aws/lambda/checkout-fn');
  });

  it('still holds when the change is old or elsewhere', () => {
    const context = makeIncidentContext({
      aws: aws({ changes: [change({ at: minutesBefore(40) }), change({ onAlarmedResource: false, target: 'other-fn' })] }),
    });
    expect(triageIncident(context, holdPolicy).decision).toBe('hold');
  });
});

describe('isAgentNote', () => {
  it("recognises the agent's notes by their reference or their author", () => {
    expect(isAgentNote('…\n_pd-agent · env `prod` · ref `pda-0a1b2c3d4e`_')).toBe(true);
    expect(isAgentNote('Restarted the pods', { authorId: 'PBOT1', botUserId: 'PBOT1' })).toBe(true);
    expect(isAgentNote('Restarted the pods', { authorId: 'PUSR1', botUserId: 'PBOT1' })).toBe(false);
    expect(isAgentNote('see pda-xyz')).toBe(false);
  });
});
