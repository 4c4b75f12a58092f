import fc from 'fast-check';
import { rulesMayKeep } from '../../../lib/triage/rules-engine';
import { triageIncident } from '../../../lib/triage/triage';
import {
  CONTRADICTED_HOLD_DAYS,
  holdoutPosition,
  isHeldOut,
  judgeRecord,
  ruleTrustFor,
  TRUST_PRECISION_WINDOW,
  type Demotion,
  type JudgedOutcome,
} from '../../../lib/trust/rule-trust';
import { makeIncident, makeIncidentContext, makeRule, makeTriagePolicy } from '../../support/incident-context';

const NOW = new Date('2026-06-01T12:00:00Z');
const daysAgo = (days: number): string => new Date(NOW.getTime() - days * 86_400_000).toISOString();

function outcome(overrides: Partial<JudgedOutcome> & { daysAgo: number }): JudgedOutcome {
  return { incidentId: `P${overrides.daysAgo}`, verdict: 'confirmed', kept: false, ...overrides, at: daysAgo(overrides.daysAgo) };
}

describe('judgeRecord: when a rule loses trust', () => {
  it('is bad after a contradicted hold within the last 7 days, whatever the precision', () => {
    const confirmed = Array.from({ length: 30 }, (_, index) => outcome({ daysAgo: 0.5 + index / 100 }));
    const judgement = judgeRecord(
      [...confirmed, outcome({ daysAgo: 6.9, verdict: 'contradicted', kept: true, incidentId: 'PBAD' })],
      NOW,
      0.9,
    );
    expect(judgement).toEqual({ bad: true, reason: expect.stringContaining('incident PBAD') });
  });

  it('does not count a contradicted hold older than 7 days, nor a contradiction of an incident the rule did not keep, as a contradicted hold', () => {
    const confirmed = Array.from({ length: 19 }, (_, index) => outcome({ daysAgo: 1 + index / 100 }));
    expect(
      judgeRecord([...confirmed, outcome({ daysAgo: CONTRADICTED_HOLD_DAYS + 0.1, verdict: 'contradicted', kept: true })], NOW, 0.9),
    ).toEqual({
      bad: false,
      judged: 20,
      precision: 0.95,
    });
    expect(judgeRecord([...confirmed, outcome({ daysAgo: 2, verdict: 'contradicted', kept: false })], NOW, 0.9).bad).toBe(false);
  });

  it('judges precision over the latest 20 judged outcomes only', () => {
    // Three contradictions among the 20 newest: 85%, below 90%.
    const newest = Array.from({ length: 20 }, (_, index) =>
      outcome({ daysAgo: 1 + index / 100, verdict: index < 3 ? 'contradicted' : 'confirmed' }),
    );
    expect(judgeRecord(newest, NOW, 0.9)).toEqual({
      bad: true,
      reason: expect.stringContaining('precision 85% over its last 20 judged outcomes'),
    });
    // The same three pushed out of the window by 20 newer confirmations: 100%.
    const pushedOut = [...Array.from({ length: 20 }, (_, index) => outcome({ daysAgo: 0.1 + index / 1000 })), ...newest];
    expect(judgeRecord(pushedOut, NOW, 0.9)).toEqual({ bad: false, judged: TRUST_PRECISION_WINDOW, precision: 1 });
  });

  it('holds the threshold exactly: 18 of 20 is 90%, not below it', () => {
    const record = Array.from({ length: 20 }, (_, index) =>
      outcome({ daysAgo: 10 + index, verdict: index < 2 ? 'contradicted' : 'confirmed' }),
    );
    expect(judgeRecord(record, NOW, 0.9).bad).toBe(false);
    expect(judgeRecord(record, NOW, 0.95).bad).toBe(true);
  });

  it('ignores what came before the last promotion: a promoted rule starts its record again', () => {
    const record = [outcome({ daysAgo: 3, verdict: 'contradicted', kept: true }), outcome({ daysAgo: 1 })];
    expect(judgeRecord(record, NOW, 0.9).bad).toBe(true);
    expect(judgeRecord(record, NOW, 0.9, daysAgo(2))).toEqual({ bad: false, judged: 1, precision: 1 });
  });
});

describe('the holdout', () => {
  it('holds out a share of 1,000 incidents within sampling error (3 standard errors), the same on every reading', () => {
    const share = 0.05;
    const ids = Array.from({ length: 1000 }, (_, index) => `Q${(index * 7919 + 104_729).toString(36).toUpperCase()}`);
    const heldOut = ids.filter((id) => isHeldOut(id, share));
    const standardError = Math.sqrt((share * (1 - share)) / ids.length);
    expect(Math.abs(heldOut.length / ids.length - share)).toBeLessThanOrEqual(3 * standardError);
    expect(ids.filter((id) => isHeldOut(id, share))).toEqual(heldOut);
  });

  it('is deterministic per incident, nested across shares, and empty at 0', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 20 }), fc.double({ min: 0, max: 0.5, noNaN: true }), (id, share) => {
        const position = holdoutPosition(id);
        expect(position).toBeGreaterThanOrEqual(0);
        expect(position).toBeLessThan(1);
        expect(isHeldOut(id, share)).toBe(isHeldOut(id, share));
        expect(isHeldOut(id, 0)).toBe(false);
        if (isHeldOut(id, share)) expect(isHeldOut(id, Math.min(1, share + 0.1))).toBe(true);
      }),
    );
  });
});

describe('triage and mayKeep honour the rules’ trust', () => {
  const hold = makeRule({ id: 'disk-hold', action: 'hold', confidence: 0.9, match: { title: 'disk' } });
  const incident = makeIncident({ title: 'Disk 91% full on db-7' });
  const context = makeIncidentContext({ incident });
  const policy = makeTriagePolicy({ rules: [hold], holdMinConfidence: 0.7 });
  const demotion: Demotion = {
    ruleId: 'disk-hold',
    demotedAt: '2026-05-30T10:00:00Z',
    reason: 'a hold was contradicted',
    incidentId: 'PBAD',
  };
  const demoted = new Map([['disk-hold', demotion]]);
  const heldOutId = Array.from({ length: 500 }, (_, index) => `PH${index}`).find((id) => isHeldOut(id, 0.05)) ?? '';

  it('a trusted rule holds, and may keep', () => {
    const trust = ruleTrustFor('PX', new Map(), { holdout: 0 });
    expect(triageIncident(context, policy, { trust }).decision).toBe('hold');
    expect(rulesMayKeep(policy.rules, incident, 0.7, trust)).toBe(true);
  });

  it('a demoted rule escalates with the note, saying how to promote it, and may not keep', () => {
    const trust = ruleTrustFor('PX', demoted, { holdout: 0 });
    const hypothesis = triageIncident(context, policy, { trust });
    expect(hypothesis).toMatchObject({ decision: 'escalate', ruleId: 'disk-hold', withheld: 'demoted', summary: hold.hypothesis });
    expect(hypothesis.decisionReason).toContain('pd-agent rule promote disk-hold');
    expect(rulesMayKeep(policy.rules, incident, 0.7, trust)).toBe(false);
  });

  it('a demoted rule still escalates what it escalated; another trusted rule still keeps', () => {
    const escalate = makeRule({ id: 'disk-hold', action: 'escalate', match: { title: 'disk' } });
    expect(
      triageIncident(context, makeTriagePolicy({ rules: [escalate] }), { trust: ruleTrustFor('PX', demoted, { holdout: 0 }) }).withheld,
    ).toBeUndefined();
    const other = makeRule({ id: 'other', action: 'hold', confidence: 0.9, match: { title: 'disk' } });
    expect(rulesMayKeep([other], incident, 0.7, ruleTrustFor('PX', demoted, { holdout: 0 }))).toBe(true);
  });

  it('an incident in the holdout is left with on-call, marked held-out, and no rule may keep it', () => {
    expect(heldOutId).not.toBe('');
    const trust = ruleTrustFor(heldOutId, new Map(), { holdout: 0.05 });
    expect(trust.heldOut).toBe(true);
    const hypothesis = triageIncident(context, policy, { trust });
    expect(hypothesis).toMatchObject({ decision: 'escalate', withheld: 'held-out' });
    expect(hypothesis.decisionReason).toContain('holdout (5%');
    expect(rulesMayKeep(policy.rules, incident, 0.7, trust)).toBe(false);
  });
});
