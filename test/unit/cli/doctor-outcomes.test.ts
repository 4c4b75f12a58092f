import { contradictedHoldsCheck, holdReadinessCheck, outcomeChecks } from '../../../lib/cli/commands/doctor-outcomes';
import type { OutcomeItem } from '../../../lib/outcomes/outcome-record';
import { buildOutcomeReport } from '../../../lib/outcomes/outcome-report';
import type { IncidentOutcomes, OutcomeStore } from '../../../lib/outcomes/outcome-store';
import type { Verdict } from '../../../lib/outcomes/verdict';

const range = { since: new Date('2026-03-01T00:00:00Z'), until: new Date('2026-03-31T00:00:00Z') };

const entry = (incidentId: string, rule: string, decision: string, verdict: Verdict): IncidentOutcomes => ({
  incidentId,
  outcome: {
    kind: 'outcome',
    incidentId,
    mode: 'act',
    decision,
    cause: { kind: 'recent-change', summary: 's', ruleId: rule },
    verdict,
    humanTookOver: false,
  } as OutcomeItem,
});

describe('doctor outcome checks', () => {
  it('fails naming the rule whose holds were contradicted, and says what to do', () => {
    const report = buildOutcomeReport(
      [
        entry('Q1', 'disk', 'hold', 'contradicted'),
        entry('Q2', 'disk', 'hold', 'confirmed'),
        entry('Q3', 'cpu', 'escalate', 'contradicted'),
      ],
      range,
    );
    const check = contradictedHoldsCheck(report);
    expect(check).toMatchObject({ ok: false, detail: 'rule disk: 1 of 2 hold(s) contradicted' });
    expect(check.fix).toContain('"escalate"');
  });

  it('passes without contradicted holds, and names the rules whose record justifies hold with the threshold', () => {
    const ready = Array.from({ length: 10 }, (_, index) => entry(`Q${index}`, 'deploys', 'escalate', 'confirmed'));
    const report = buildOutcomeReport([...ready, entry('QX', 'young', 'escalate', 'confirmed')], range);
    expect(contradictedHoldsCheck(report).ok).toBe(true);
    expect(holdReadinessCheck(report)).toEqual({
      name: 'rules ready for hold',
      ok: true,
      detail: 'deploys (≥ 10 confirmed, precision ≥ 95%, no contradicted hold, over 30 days)',
    });
  });

  it('reports an unreadable audit table as a failed check instead of throwing', async () => {
    const outcomes = { byTimeRange: async () => Promise.reject(new Error('AccessDenied')) } as unknown as OutcomeStore;
    expect(await outcomeChecks({ outcomes })).toEqual([expect.objectContaining({ name: 'outcomes', ok: false, detail: 'AccessDenied' })]);
  });
});
