import { decisionOf, RECORDED_DECISIONS, recordedDecision } from '../../../lib/state/incident-ledger';

describe('decision names in the ledger', () => {
  it("reads today's names as they are", () => {
    for (const name of RECORDED_DECISIONS) expect(recordedDecision(name)).toBe(name);
  });

  it('reads the names older items hold as today’s', () => {
    expect(['escalate', 'hold', 'resolve', 'left-with-human'].map(recordedDecision)).toEqual([
      'escalated',
      'held',
      'resolved',
      'left-with-on-call',
    ]);
  });

  it('tells an older item left with on-call (recorded as escalate) from a real escalation', () => {
    expect(decisionOf({ decision: 'escalate', leftWithOnCallFor: 'E1' })).toBe('left-with-on-call');
    expect(decisionOf({ decision: 'escalate' })).toBe('escalated');
    expect(decisionOf({ decision: 'escalated', leftWithOnCallFor: 'E1' })).toBe('escalated');
  });

  it('has no decision for an unknown name or none', () => {
    expect(recordedDecision('paged')).toBeUndefined();
    expect(decisionOf({})).toBeUndefined();
  });
});
