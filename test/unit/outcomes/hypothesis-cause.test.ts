import { hypothesisCause } from '../../../lib/outcomes/hypothesis-cause';
import { triageIncident } from '../../../lib/triage/triage';
import {
  daysBefore,
  makeChangeEvent,
  makeIncidentContext,
  makePastIncident,
  makeRule,
  makeTriagePolicy,
} from '../../support/incident-context';

describe('hypothesisCause', () => {
  it('keeps the strongest finding, the rule, and every subject the note cited: the change and the past fix', () => {
    const past = makePastIncident(daysBefore(2), { id: 'PPAST01', number: 41 });
    const context = makeIncidentContext({
      changeEvents: [makeChangeEvent({ id: 'PCHG001' })],
      recentIncidents: [past],
      resolutionNotes: { PPAST01: ['Rolled back the release and purged the CDN'] },
    });
    const policy = makeTriagePolicy({ rules: [makeRule({ id: 'checkout-errors', action: 'hold' })] });
    const hypothesis = triageIncident(context, policy);
    const cause = hypothesisCause(hypothesis, context, policy);
    expect(cause).toEqual({
      kind: expect.stringMatching(/^(recent-change|recurrence)$/),
      ruleId: 'checkout-errors',
      summary: hypothesis.summary,
      change: { id: 'PCHG001', summary: 'Deployed checkout-api v2.3.1', isDeploy: true },
      pastIncident: { id: 'PPAST01', number: 41, fix: 'Rolled back the release and purged the CDN' },
    });
  });

  it('records the AWS story (change, metric step, new errors told together) as its own kind, not as none', () => {
    const context = makeIncidentContext({ alerts: [] });
    const policy = makeTriagePolicy();
    const hypothesis = {
      ...triageIncident(context, policy),
      evidence: [{ source: 'likely-cause', text: 'Weight 0.9: 3 independent sources agree in time' }],
    };
    expect(hypothesisCause(hypothesis, context, policy).kind).toBe('likely-cause');
  });

  it('names no subject and kind none when nothing explained the incident', () => {
    const context = makeIncidentContext({ alerts: [] });
    const policy = makeTriagePolicy();
    expect(hypothesisCause(triageIncident(context, policy), context, policy)).toEqual({ kind: 'none', summary: expect.any(String) });
  });
});
