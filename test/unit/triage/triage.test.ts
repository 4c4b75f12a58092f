import fc from 'fast-check';
import type { TriagePolicy, TriageRule } from '../../../lib/config/agent-config';
import type { Alert } from '../../../lib/pagerduty/types';
import { alertsClearance, triageIncident } from '../../../lib/triage/triage';
import type { IncidentContext } from '../../../lib/triage/types';
import {
  daysBefore,
  hoursBefore,
  makeAlert,
  makeChangeEvent,
  makeIncident,
  makeIncidentContext,
  makePastIncident,
  makeRule,
  makeTriagePolicy,
  minutesBefore,
} from '../../support/incident-context';

const cleared = (): Alert[] => [makeAlert({ status: 'resolved' }), makeAlert({ status: 'resolved' })];

/** A context where every analyser finds something strong: deploy 1 min before, recurring and flapping. */
function strongContext(): IncidentContext {
  const title = 'Checkout 5xx rate above 5%';
  return makeIncidentContext({
    incident: makeIncident({ title }),
    changeEvents: [makeChangeEvent({ summary: 'Deploy api v2.3.1', timestamp: minutesBefore(1) })],
    recentIncidents: [1, 2, 3, 4].map((hours) => makePastIncident(hoursBefore(hours), { title, resolvedAfterMinutes: 3 })),
  });
}

describe('triageIncident without a matching rule', () => {
  it('says honestly that nothing was found and escalates', () => {
    const quietAlert = makeAlert({ body: { details: { note: 'see the dashboard' } } });
    const hypothesis = triageIncident(makeIncidentContext({ alerts: [quietAlert] }), makeTriagePolicy());
    expect(hypothesis).toMatchObject({
      summary: 'No matching rule or prior pattern; handing to on-call',
      cause: 'none',
      confidence: 0,
      decision: 'escalate',
      producedBy: 'rules',
    });
    expect(hypothesis.ruleId).toBeUndefined();
    expect(hypothesis.decisionReason).toContain('No rule matches');
    expect(hypothesis.evidence.map((evidence) => evidence.source)).toEqual(['alert-details', 'alert-details']);
  });

  it('escalates with the best finding as the summary and a confidence below holdMinConfidence', () => {
    const hypothesis = triageIncident(strongContext(), makeTriagePolicy());
    expect(hypothesis.decision).toBe('escalate');
    expect(hypothesis.summary).toBe('Likely caused by deploy api v2.3.1 1 min before the trigger');
    expect(hypothesis.confidence).toBeGreaterThan(0.5);
    expect(hypothesis.confidence).toBeLessThan(0.7);
    // Recurrence and flapping both cite the four past incidents: the note lists each once, under the stronger finding.
    expect(new Set(hypothesis.evidence.map((evidence) => evidence.source))).toEqual(
      new Set(['recent-change', 'flapping', 'alert-details']),
    );
    const pastLinks = hypothesis.evidence.filter((evidence) => evidence.link?.includes('/incidents/')).map((evidence) => evidence.link);
    expect(pastLinks).toHaveLength(4);
    expect(new Set(pastLinks).size).toBe(4);
  });

  it('keeps the confidence below a low hold threshold too', () => {
    const hypothesis = triageIncident(strongContext(), makeTriagePolicy({ holdMinConfidence: 0.2 }));
    expect(hypothesis.decision).toBe('escalate');
    expect(hypothesis.confidence).toBeLessThan(0.2);
  });

  it('uses the analysers given in options', () => {
    const hypothesis = triageIncident(strongContext(), makeTriagePolicy(), {
      analysers: [() => ({ analyser: 'custom', summary: 'Custom explanation', weight: 0.3, evidence: [], nextSteps: ['Do X'] })],
    });
    expect(hypothesis).toMatchObject({ summary: 'Custom explanation', confidence: 0.3, nextSteps: ['Do X'], decision: 'escalate' });
  });
});

describe('triageIncident with a matching rule', () => {
  const policy = (rule: Partial<TriageRule>, extra: Partial<TriagePolicy> = {}): TriagePolicy =>
    makeTriagePolicy({ rules: [makeRule(rule)], ...extra });

  it('escalates when the rule says escalate, whatever its confidence', () => {
    const hypothesis = triageIncident(makeIncidentContext(), policy({ action: 'escalate', confidence: 1 }));
    expect(hypothesis).toMatchObject({ decision: 'escalate', ruleId: 'checkout-errors', confidence: 1 });
    expect(hypothesis.decisionReason).toBe('Rule checkout-errors hands this kind of incident to on-call.');
  });

  it('holds when the rule says hold and its confidence reaches holdMinConfidence (inclusive)', () => {
    const hypothesis = triageIncident(makeIncidentContext(), policy({ action: 'hold', confidence: 0.7 }));
    expect(hypothesis.decision).toBe('hold');
    expect(hypothesis.decisionReason).toBe('Rule checkout-errors allows the agent to hold it (confidence 70%, 70% required).');
  });

  it('escalates a hold rule whose confidence is below holdMinConfidence', () => {
    const hypothesis = triageIncident(makeIncidentContext(), policy({ action: 'hold', confidence: 0.69 }));
    expect(hypothesis.decision).toBe('escalate');
    expect(hypothesis.decisionReason).toContain('below the 70% required');
  });

  it('resolves only when resolve-if-cleared, every alert resolved and confident', () => {
    const hypothesis = triageIncident(
      makeIncidentContext({ alerts: cleared() }),
      policy({ action: 'resolve-if-cleared', confidence: 0.8 }),
    );
    expect(hypothesis.decision).toBe('resolve');
    expect(hypothesis.decisionReason).toContain('all 2 alert(s) resolved');
  });

  it('holds a resolve-if-cleared incident while an alert is still triggered', () => {
    const alerts = [makeAlert({ status: 'resolved' }), makeAlert({ status: 'triggered' })];
    const hypothesis = triageIncident(makeIncidentContext({ alerts }), policy({ action: 'resolve-if-cleared', confidence: 0.8 }));
    expect(hypothesis.decision).toBe('hold');
    expect(hypothesis.decisionReason).toContain('1 of 2 alerts are still triggered; holding');
  });

  it('escalates a resolve-if-cleared rule below the confidence threshold, cleared or not', () => {
    for (const alerts of [cleared(), [makeAlert()]]) {
      const hypothesis = triageIncident(makeIncidentContext({ alerts }), policy({ action: 'resolve-if-cleared', confidence: 0.5 }));
      expect(hypothesis.decision).toBe('escalate');
    }
  });

  it.each([
    ['no alerts were read', makeIncidentContext({ alerts: [] }), 'no alerts were found'],
    [
      'the alert read failed',
      makeIncidentContext({ alerts: cleared(), unavailable: [{ source: 'alerts', reason: 'HTTP 500' }] }),
      'could not be read (HTTP 500)',
    ],
    [
      'PagerDuty still counts a triggered alert',
      makeIncidentContext({
        alerts: cleared(),
        incident: Object.assign(makeIncident(), { alert_counts: { all: 2, triggered: 1, resolved: 1 } }),
      }),
      'still counts 1 triggered',
    ],
    [
      'not every alert was read',
      makeIncidentContext({
        alerts: cleared(),
        incident: Object.assign(makeIncident(), { alert_counts: { all: 40, triggered: 0, resolved: 40 } }),
      }),
      'only 2 of 40 alerts were read',
    ],
    [
      'the alert read stopped at its page cap',
      makeIncidentContext({ alerts: cleared(), alertsNotRead: 4_900 }),
      'only the first 2 alerts were read (4900 more alerts not read)',
    ],
    [
      'the alert read stopped at its page cap and PagerDuty gave no total',
      makeIncidentContext({ alerts: cleared(), alertsNotRead: null }),
      'PagerDuty holds more alerts than were read',
    ],
  ])('never resolves when %s (holds instead)', (_name, context, detail) => {
    const hypothesis = triageIncident(context, policy({ action: 'resolve-if-cleared', confidence: 0.9 }));
    expect(hypothesis.decision).toBe('hold');
    expect(hypothesis.decisionReason).toContain(detail);
    expect(alertsClearance(context).cleared).toBe(false);
  });

  it("leads with the rule's hypothesis, runbook and next steps, then the analysers' evidence", () => {
    const rule: Partial<TriageRule> = {
      runbook: 'https://runbooks.acme.example/checkout',
      nextSteps: ['Roll back the last release'],
      match: { services: ['PSVC001'] },
    };
    const hypothesis = triageIncident(strongContext(), policy(rule));
    expect(hypothesis.summary).toBe(makeRule().hypothesis);
    expect(hypothesis.confidence).toBe(0.9);
    expect(hypothesis.runbook).toBe('https://runbooks.acme.example/checkout');
    expect(hypothesis.nextSteps[0]).toBe('Roll back the last release');
    expect(hypothesis.nextSteps.length).toBeGreaterThan(1);
    expect(hypothesis.evidence[0]).toEqual({
      source: 'rule:checkout-errors',
      text: 'Matched rule checkout-errors on service Checkout API',
      link: 'https://runbooks.acme.example/checkout',
    });
    expect(hypothesis.evidence[1]?.source).toBe('recent-change');
  });

  it('escalates when the only rules do not match', () => {
    const hypothesis = triageIncident(makeIncidentContext(), policy({ match: { services: ['POTHER'] } }));
    expect(hypothesis.decision).toBe('escalate');
    expect(hypothesis.ruleId).toBeUndefined();
  });
});

describe('triage safety property', () => {
  const words = ['disk', 'latency', 'checkout', 'errors', 'timeout'];
  const word = fc.constantFrom(...words);
  const services = ['PSVC001', 'PSVC002'];

  const ruleArb = fc.record({
    id: fc.string({ minLength: 1, maxLength: 6 }),
    services: fc.option(fc.subarray(services), { nil: undefined }),
    title: fc.option(word, { nil: undefined }),
    urgency: fc.option(fc.constantFrom('high' as const, 'low' as const), { nil: undefined }),
    confidence: fc.double({ min: 0, max: 1, noNaN: true }),
    action: fc.constantFrom('escalate' as const, 'hold' as const, 'resolve-if-cleared' as const),
  });

  const scenario = fc.record({
    title: fc.array(word, { minLength: 1, maxLength: 3 }).map((parts) => parts.join(' ')),
    service: fc.constantFrom(...services),
    urgency: fc.constantFrom('high' as const, 'low' as const),
    alertStatuses: fc.array(fc.constantFrom('triggered' as const, 'resolved' as const), { maxLength: 4 }),
    alertsUnavailable: fc.boolean(),
    pastTitles: fc.array(fc.tuple(word, fc.integer({ min: 0, max: 20 * 24 })), { maxLength: 6 }),
    changeMinutesBefore: fc.array(fc.integer({ min: -30, max: 120 }), { maxLength: 3 }),
    rules: fc.array(ruleArb, { maxLength: 4 }),
    holdMinConfidence: fc.double({ min: 0, max: 1, noNaN: true }),
  });

  it('holds or resolves only when a matching rule allowed it with confidence ≥ holdMinConfidence', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const incident = makeIncident({ title: s.title, service: { id: s.service, type: 'service_reference' }, urgency: s.urgency });
        const context = makeIncidentContext({
          incident,
          alerts: s.alertStatuses.map((status) => makeAlert({ status })),
          unavailable: s.alertsUnavailable ? [{ source: 'alerts', reason: 'HTTP 403' }] : [],
          recentIncidents: s.pastTitles.map(([title, hours]) => makePastIncident(hoursBefore(hours), { title, service: incident.service })),
          changeEvents: s.changeMinutesBefore.map((minutes) => makeChangeEvent({ timestamp: minutesBefore(minutes) })),
        });
        const rules: TriageRule[] = s.rules.map((rule, index) => ({
          ...makeRule({ id: `${index}-${rule.id}`, confidence: rule.confidence, action: rule.action }),
          match: { services: rule.services, title: rule.title, urgency: rule.urgency },
        }));
        const policy = makeTriagePolicy({ rules, holdMinConfidence: s.holdMinConfidence });
        const hypothesis = triageIncident(context, policy);

        // Independent oracle: the first rule whose plain conditions hold.
        const expected = rules.find(
          (rule) =>
            (rule.match.services === undefined || rule.match.services.includes(s.service)) &&
            (rule.match.title === undefined || s.title.includes(rule.match.title)) &&
            (rule.match.urgency === undefined || rule.match.urgency === s.urgency),
        );
        expect(hypothesis.ruleId).toBe(expected?.id);
        expect(hypothesis.confidence).toBeGreaterThanOrEqual(0);
        expect(hypothesis.confidence).toBeLessThanOrEqual(1);
        expect(hypothesis.decisionReason.length).toBeGreaterThan(0);
        if (expected === undefined) {
          expect(hypothesis.decision).toBe('escalate');
          if (s.holdMinConfidence > 0) expect(hypothesis.confidence).toBeLessThan(s.holdMinConfidence);
          return;
        }
        const confident = expected.confidence >= s.holdMinConfidence;
        if (hypothesis.decision === 'hold') {
          expect(confident).toBe(true);
          expect(['hold', 'resolve-if-cleared']).toContain(expected.action);
        }
        if (hypothesis.decision === 'resolve') {
          expect(confident).toBe(true);
          expect(expected.action).toBe('resolve-if-cleared');
          expect(s.alertsUnavailable).toBe(false);
          expect(s.alertStatuses.length).toBeGreaterThan(0);
          expect(s.alertStatuses.every((status) => status === 'resolved')).toBe(true);
        }
        if (expected.action === 'escalate' || !confident) expect(hypothesis.decision).toBe('escalate');
      }),
      { numRuns: 500 },
    );
  });

  it('ignores incidents older than the recurrence window (sanity check of the generator range)', () => {
    const title = 'disk errors';
    const context = makeIncidentContext({
      incident: makeIncident({ title }),
      recentIncidents: [makePastIncident(daysBefore(20), { title })],
    });
    expect(triageIncident(context, makeTriagePolicy()).cause).not.toBe('recurrence');
  });
});
