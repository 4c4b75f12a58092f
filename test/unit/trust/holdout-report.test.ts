import type { OutcomeItem } from '../../../lib/outcomes/outcome-record';
import { compareHoldout } from '../../../lib/trust/holdout-report';

const NOTE_AT = '2026-03-01T10:00:00.000Z';
const minutesAfterNote = (minutes: number): string => new Date(Date.parse(NOTE_AT) + minutes * 60_000).toISOString();

function outcome(incidentId: string, overrides: Partial<OutcomeItem> = {}): OutcomeItem {
  return {
    kind: 'outcome',
    incidentId,
    sk: `outcome#E-${incidentId}`,
    day: '2026-03-01',
    at: minutesAfterNote(60),
    env: 'test',
    action: 'record',
    outcome: 'recorded',
    eventId: `E-${incidentId}`,
    eventType: 'incident.resolved',
    detail: 'test',
    expiresAt: 0,
    mode: 'act',
    decision: 'held',
    serviceId: 'PSVC1',
    cause: { kind: 'none', summary: 'known', ruleId: 'disk' },
    ending: 'resolved',
    endedAt: minutesAfterNote(10),
    resolver: { kind: 'integration', id: 'PMON' },
    noteAt: NOTE_AT,
    humanTookOver: false,
    humanNotes: [],
    verdict: 'unknown',
    verdictReason: 'test',
    ...overrides,
  };
}

describe('compareHoldout: held against held-out', () => {
  it('counts who had to act and the median note-to-resolve per group', () => {
    const entries = [
      outcome('H1', { endedAt: minutesAfterNote(4) }),
      outcome('H2', { endedAt: minutesAfterNote(8), firstHumanActionAt: minutesAfterNote(2), humanTookOver: true }),
      outcome('O1', {
        decision: 'left-with-on-call',
        cause: { kind: 'none', summary: 'known', ruleId: 'disk', withheld: 'held-out' },
        firstHumanActionAt: minutesAfterNote(1),
        endedAt: minutesAfterNote(30),
      }),
    ].map((item) => ({ incidentId: item.incidentId, outcome: item }));

    expect(compareHoldout(entries)).toEqual({
      held: { incidents: 2, peopleActed: 1, actedShare: 0.5, medianResolveMs: 6 * 60_000 },
      heldOut: { incidents: 1, peopleActed: 1, actedShare: 1, medianResolveMs: 30 * 60_000 },
    });
  });

  it('leaves out what is neither: no rule, a demoted rule, observe mode, a reopen, another service', () => {
    const entries = [
      outcome('N1', { cause: { kind: 'none', summary: 'x' } }),
      outcome('D1', { decision: 'escalated', cause: { kind: 'none', summary: 'x', ruleId: 'disk', withheld: 'demoted' } }),
      outcome('M1', { mode: 'observe' }),
      outcome('R1', { ending: 'reopened' }),
      outcome('S1', { serviceId: 'POTHER' }),
    ].map((item) => ({ incidentId: item.incidentId, outcome: item }));
    const empty = { incidents: 0, peopleActed: 0, actedShare: null, medianResolveMs: null };
    expect(compareHoldout(entries.filter((entry) => entry.incidentId !== 'S1'))).toEqual({ held: empty, heldOut: empty });
    expect(compareHoldout(entries, 'PSVC1').held.incidents).toBe(0);
    expect(compareHoldout(entries, 'POTHER').held.incidents).toBe(1);
  });
});
