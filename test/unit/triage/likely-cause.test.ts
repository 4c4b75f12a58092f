import type { AwsContext, ChangeRecord, LogSurge, MetricBehaviour } from '../../../lib/context/evidence';
import { isAgentNote } from '../../../lib/triage/agent-notes';
import { likelyCause } from '../../../lib/triage/analysers/likely-cause';
import { triageIncident } from '../../../lib/triage/triage';
import { makeIncidentContext, makeRule, makeTriagePolicy, minutesBefore } from '../../support/incident-context';

const policy = makeTriagePolicy();
/** The note's clock for a time so many minutes before the incident was created. */
const clockAt = (minutes: number): string => minutesBefore(minutes).slice(11, 16);

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

describe('likely-cause: the story the sources tell together', () => {
  it('names a fresh change on the alarmed resource with moderate weight when it is the only source', () => {
    const finding = likelyCause(makeIncidentContext({ aws: aws({ changes: [change()] }) }), policy);
    expect(finding).toMatchObject({ cause: 'change', weight: 0.5 });
    expect(finding?.summary).toBe(`Likely cause: UpdateFunctionCode on checkout-fn by deploy-role/github-actions at ${clockAt(2)}`);
    expect(finding?.evidence[0]?.text).toBe('Weight 0.5: one source (a change); nothing else moved in step with it');
  });

  it('tells change, metric step and new errors in one sentence when they line up, and the weight says why', () => {
    const step = metric({ levelChange: { at: minutesBefore(1), before: 0.2, after: 42 } });
    const two = likelyCause(makeIncidentContext({ aws: aws({ changes: [change()], metric: step }) }), policy);
    expect(two?.weight).toBeCloseTo(0.7);
    const three = likelyCause(makeIncidentContext({ aws: aws({ changes: [change()], metric: step, logSurges: [surge()] }) }), policy);
    expect(three?.weight).toBeCloseTo(0.9);
    expect(three?.summary).toBe(
      `Likely cause: UpdateFunctionCode on checkout-fn by deploy-role/github-actions at ${clockAt(2)}; Errors stepped from ~0 to 42 at ${clockAt(1)}; new "TypeError: Cannot read properties of undefined…" errors since ${clockAt(1)}`,
    );
    expect(three?.evidence.map((evidence) => evidence.text)).toEqual([
      'Weight 0.9: 3 independent sources agree in time (a change, the metric, the logs: each began within 15 min after the change)',
      expect.stringContaining('Change on the alarmed resource: lambda:UpdateFunctionCode on checkout-fn'),
      expect.stringContaining('stepped from ~0 to 42 at'),
      expect.stringContaining('Log surge: new errors in /aws/lambda/checkout-fn'),
    ]);
  });

  it('names the source that started first, with low weight, when a change came after the errors had begun', () => {
    const finding = likelyCause(
      makeIncidentContext({ aws: aws({ changes: [change()], logSurges: [surge({ firstSeenAt: minutesBefore(25) })] }) }),
      policy,
    );
    expect(finding?.cause).toBe('logs');
    expect(finding?.weight).toBe(0.35);
    expect(finding?.summary).toContain(
      `; UpdateFunctionCode on checkout-fn by deploy-role/github-actions at ${clockAt(2)} came after it began`,
    );
  });

  it('names the symptom, not a change on the resource that nothing moved in step with', () => {
    const stale = change({ at: minutesBefore(50) });
    const step = metric({ levelChange: { at: minutesBefore(3), before: 0, after: 42 } });
    const finding = likelyCause(makeIncidentContext({ aws: aws({ changes: [stale], metric: step }) }), policy);
    expect(finding).toMatchObject({ cause: 'metric', weight: 0.5 });
    expect(finding?.evidence.map((evidence) => evidence.text)).toContainEqual(expect.stringContaining('50 min before the trigger'));
  });

  it('never promotes a change elsewhere without a symptom in step with it; with one, it is a weaker cause', () => {
    const nearby = change({ action: 'ec2:AuthorizeSecurityGroupIngress', target: 'sg-0abc123', onAlarmedResource: false });
    const alone = likelyCause(makeIncidentContext({ aws: aws({ changes: [nearby] }) }), policy);
    expect(alone).toMatchObject({ cause: 'none', weight: 0 });
    expect(alone?.evidence[0]?.text).toContain('Nearby change (not on the alarmed resource): ec2:AuthorizeSecurityGroupIngress');
    const lateErrors = likelyCause(
      makeIncidentContext({ aws: aws({ changes: [nearby], logSurges: [surge({ firstSeenAt: minutesBefore(-30) })] }) }),
      policy,
    );
    expect(lateErrors?.cause).toBe('logs');
    const inStep = likelyCause(makeIncidentContext({ aws: aws({ changes: [nearby], logSurges: [surge()] }) }), policy);
    expect(inStep).toMatchObject({ cause: 'change' });
    expect(inStep?.weight).toBeCloseTo(0.55);
    const old = change({ at: minutesBefore(90) });
    expect(likelyCause(makeIncidentContext({ aws: aws({ changes: [old] }) }), policy)?.cause).toBe('none');
    // Of two changes elsewhere, the one the errors began in step with, not the newest.
    const inStepEarlier = change({ ...nearby, at: minutesBefore(20), target: 'sg-0early' });
    const newestUnrelated = change({ ...nearby, at: minutesBefore(1), target: 'sg-0late' });
    const picked = likelyCause(
      makeIncidentContext({
        aws: aws({ changes: [inStepEarlier, newestUnrelated], logSurges: [surge({ firstSeenAt: minutesBefore(15) })] }),
      }),
      policy,
    );
    expect(picked?.summary).toContain('on sg-0early');
    expect(picked?.evidence.map((evidence) => evidence.text)).toContainEqual(expect.stringContaining('on sg-0late'));
  });

  it('headlines a spike that came back by its peak and when it was back', () => {
    const spike = metric({
      metricLabel: 'AWS/ApplicationELB TargetResponseTime LoadBalancer=app/web/1',
      shape: 'spike',
      unit: 'Seconds',
      baseline: 5,
      latest: 4,
      excursion: { peakAt: minutesBefore(9), peak: 950, backAt: minutesBefore(7), backTo: 5 },
    });
    const finding = likelyCause(makeIncidentContext({ aws: aws({ metric: spike }) }), policy);
    expect(finding?.summary).toBe(`Likely cause: TargetResponseTime spiked to 950 s at ${clockAt(9)}, back to 5 s by ${clockAt(7)}`);
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
    expect(capacity?.summary).toBe('Likely cause: capacity exhaustion: Errors climbing 0.4%/min, at 96.5%, exhausted in about 9 min');
    const logs = likelyCause(makeIncidentContext({ aws: aws({ logSurges: [surge()] }) }), policy);
    expect(logs?.cause).toBe('logs');
    expect(logs?.evidence[1]?.text).toContain('new errors in /aws/lambda/checkout-fn');
  });

  it('says plainly when nothing explains the alarm: what was checked and what could not be read', () => {
    expect(likelyCause(makeIncidentContext(), policy)).toBeNull();
    const quiet = aws({ metric: metric({ shape: 'steady' }), logSurges: [surge({ isNew: false, countRecent: 12, countBefore: 10 })] });
    expect(likelyCause(makeIncidentContext({ aws: quiet }), policy)).toMatchObject({
      cause: 'none',
      weight: 0,
      summary:
        'Nothing found explains the alarm: the metric was steady, no change on the alarmed resource in the 60 min before, no new or surging errors in its logs',
    });
    const denied = aws({
      metric: metric({ shape: 'noisy' }),
      unavailable: [{ source: 'changes', reason: 'AccessDenied: cloudtrail:LookupEvents; grant it to the read role' }],
    });
    const hypothesis = triageIncident(makeIncidentContext({ alerts: [], aws: denied }), policy);
    expect(hypothesis.cause).toBe('none');
    expect(hypothesis.summary).toBe(
      'Nothing found explains the alarm: the metric was noisy, no new or surging errors in its logs; could not read changes (AccessDenied: cloudtrail:LookupEvents; grant it to the read role)',
    );
  });
});

describe('changes elsewhere in the account', () => {
  it('are listed apart, not weighed, and never the likely cause', () => {
    const iam = change({
      action: 'iam:PutRolePolicy',
      target: 'reporting-role',
      who: 'alice',
      onAlarmedResource: false,
      accountWide: true,
    });
    const hypothesis = triageIncident(makeIncidentContext({ alerts: [], aws: aws({ accountChanges: [iam] }) }), policy);
    expect(hypothesis.cause).toBe('none');
    expect(hypothesis.evidence.map((evidence) => evidence.text)).toContain(
      'Elsewhere in the account (not weighed): iam:PutRolePolicy on reporting-role by alice 2 min before the trigger',
    );
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
