import type { HypothesisCause } from '../../../lib/outcomes/hypothesis-cause';
import { inferVerdict, mentionsChange, parseFeedback, type OutcomeEvidence } from '../../../lib/outcomes/verdict';

const deploy: HypothesisCause = {
  kind: 'recent-change',
  ruleId: 'checkout-latency',
  summary: 'Likely caused by deploy `checkout v2.3.1` 4 min before the trigger',
  change: { id: 'CHG1', summary: 'Deployed checkout v2.3.1', isDeploy: true },
};
const recurrence: HypothesisCause = {
  kind: 'recurrence',
  summary: 'Recurring: 2 similar incidents',
  pastIncident: { id: 'PPAST', number: 41, fix: 'Restarted the payment worker pods and cleared the stuck queue' },
};
const flapping: HypothesisCause = { kind: 'flapping', summary: 'Flapping: 4 similar incidents' };
const human = { kind: 'human', id: 'PUSER', name: 'Ana' } as const;

const evidence = (overrides: Partial<OutcomeEvidence>): OutcomeEvidence => ({
  cause: deploy,
  ending: 'resolved',
  resolver: human,
  agentResolved: false,
  humanNotes: [],
  ...overrides,
});

describe('parseFeedback', () => {
  it.each([
    ['pd-agent: right', 'confirmed', ''],
    ['PD-Agent: Wrong - it was the database failover', 'contradicted', 'it was the database failover'],
    ['  pd-agent:right, the deploy did it', 'confirmed', 'the deploy did it'],
    ['pd-agent: wrong\nsecond line', 'contradicted', 'second line'],
  ])('reads %j', (content, verdict, comment) => {
    expect(parseFeedback(content)).toEqual({ verdict, comment });
  });

  it.each(['pd-agent: rightly so', 'I think pd-agent: right', 'pd-agent right', 'pd-agent: maybe'])('ignores %j', (content) => {
    expect(parseFeedback(content)).toBeNull();
  });
});

describe('mentionsChange', () => {
  const change = { id: 'CHG1', summary: 'Deployed checkout v2.3.1' };
  it.each([
    ['Rolled back v2.3.1, latency recovered', true],
    ['change CHG1 reverted', true],
    ['checkout rollback done', true],
    ['Restarted the database primary', false],
  ])('%j names the change: %s', (note, expected) => {
    expect(mentionsChange(note, change)).toBe(expected);
  });
});

describe('inferVerdict', () => {
  it('confirms a named deploy that the responders rolled back', () => {
    expect(inferVerdict(evidence({ humanNotes: ['Rolled back checkout v2.3.1; p99 back to normal'] }))).toEqual({
      verdict: 'confirmed',
      reason: 'responders rolled back the change `Deployed checkout v2.3.1` the agent named',
    });
  });

  it('confirms a named deploy followed by a rollback note that does not repeat its name', () => {
    expect(inferVerdict(evidence({ humanNotes: ['reverted the last release'] })).verdict).toBe('confirmed');
  });

  it('contradicts when a note names the change as not the cause', () => {
    const result = inferVerdict(evidence({ humanNotes: ['Not v2.3.1: the database failed over.'] }));
    expect(result).toEqual({
      verdict: 'contradicted',
      reason: "a responder's note names the change `Deployed checkout v2.3.1` as not the cause",
    });
  });

  it('confirms the same fix as the past incident', () => {
    const result = inferVerdict(evidence({ cause: recurrence, humanNotes: ['restarted the payment worker pods, cleared the queue'] }));
    expect(result).toEqual({ verdict: 'confirmed', reason: 'resolved with the same fix as incident #41' });
  });

  it('confirms flapping when the monitor resolved it, and stays unknown for other causes', () => {
    const integration = { kind: 'integration', id: 'PINT', name: 'Datadog' } as const;
    expect(inferVerdict(evidence({ cause: flapping, resolver: integration })).verdict).toBe('confirmed');
    expect(inferVerdict(evidence({ resolver: integration }))).toEqual({
      verdict: 'unknown',
      reason: 'the alert cleared by itself (resolved by Datadog); nothing says why',
    });
  });

  it('contradicts a resolve the agent made when the incident reopens', () => {
    expect(inferVerdict(evidence({ ending: 'reopened', agentResolved: true, cause: flapping })).verdict).toBe('contradicted');
  });

  it('never guesses: unrelated notes, no notes or no recorded cause give unknown with the reason', () => {
    expect(inferVerdict(evidence({ humanNotes: ['Restarted the database primary'] }))).toEqual({
      verdict: 'unknown',
      reason: "the responders' notes neither name nor rule out what the agent named",
    });
    expect(inferVerdict(evidence({ humanNotes: [] })).reason).toMatch(/without a note/);
    expect(inferVerdict(evidence({ cause: undefined })).reason).toMatch(/no hypothesis was recorded/);
  });
});
