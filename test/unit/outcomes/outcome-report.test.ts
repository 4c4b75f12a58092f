import fc from 'fast-check';
import pc from 'picocolors';
import { formatHeadStart, renderOutcomeReport, verdictBar } from '../../../lib/cli/commands/report';
import type { RolloutMode } from '../../../lib/config/agent-config';
import { buildOutcomeReport, effectiveVerdict, justifiesHold, median, NO_RULE } from '../../../lib/outcomes/outcome-report';
import type { FeedbackItem, OutcomeItem } from '../../../lib/outcomes/outcome-record';
import type { IncidentOutcomes } from '../../../lib/outcomes/outcome-store';
import type { Verdict } from '../../../lib/outcomes/verdict';

const range = { since: new Date('2026-03-01T00:00:00Z'), until: new Date('2026-03-31T00:00:00Z') };
const plain = pc.createColors(false);

function outcome(
  incidentId: string,
  fields: {
    rule?: string;
    kind?: string;
    decision?: string;
    mode?: RolloutMode;
    verdict?: Verdict;
    headStartMs?: number;
    tookOver?: boolean;
    serviceId?: string;
  } = {},
): IncidentOutcomes {
  const item = {
    kind: 'outcome',
    incidentId,
    mode: fields.mode ?? 'act',
    decision: fields.decision ?? 'hold',
    serviceId: fields.serviceId ?? 'PSVC',
    cause: { kind: fields.kind ?? 'recent-change', summary: 's', ...(fields.rule === undefined ? {} : { ruleId: fields.rule }) },
    verdict: fields.verdict ?? 'confirmed',
    verdictReason: 'because',
    humanTookOver: fields.tookOver ?? false,
    ...(fields.headStartMs === undefined ? {} : { headStartMs: fields.headStartMs }),
    at: '2026-03-02T00:00:00Z',
  } as OutcomeItem;
  return { incidentId, outcome: item };
}

const withFeedback = (entry: IncidentOutcomes, verdict: 'confirmed' | 'contradicted', comment = ''): IncidentOutcomes => ({
  ...entry,
  feedback: { kind: 'feedback', incidentId: entry.incidentId, verdict, comment, mode: 'act', at: '2026-03-03T00:00:00Z' } as FeedbackItem,
});

describe('effectiveVerdict', () => {
  it('a feedback note overrides the inferred verdict, saying so', () => {
    expect(effectiveVerdict(outcome('Q1', { verdict: 'confirmed' }))).toEqual({
      verdict: 'confirmed',
      source: 'inferred',
      reason: 'because',
    });
    expect(effectiveVerdict(withFeedback(outcome('Q1'), 'contradicted', 'the cache'))).toEqual({
      verdict: 'contradicted',
      source: 'feedback',
      reason: 'a responder said the agent was wrong: the cache',
    });
  });
});

describe('buildOutcomeReport', () => {
  const entries = [
    outcome('Q1', { rule: 'deploys', verdict: 'confirmed', headStartMs: 60_000, tookOver: true }),
    outcome('Q2', { rule: 'deploys', verdict: 'confirmed', headStartMs: 180_000 }),
    withFeedback(outcome('Q3', { rule: 'deploys', verdict: 'confirmed', headStartMs: 120_000 }), 'contradicted'),
    outcome('Q4', { decision: 'escalate', kind: 'recurrence', verdict: 'unknown' }),
    outcome('Q5', { rule: 'disk', mode: 'note', decision: 'hold', kind: 'alert-details', verdict: 'confirmed', serviceId: 'PDB' }),
    outcome('Q6', { rule: 'disk', mode: 'observe', decision: 'escalate', kind: 'alert-details', verdict: 'unknown', serviceId: 'PDB' }),
  ];

  it('counts per rule: decisions in act mode, noted and observed incidents, verdicts, precision, median head start, takeovers', () => {
    const report = buildOutcomeReport(entries, range);
    expect(report.byRule.map((row) => row.key)).toEqual(['deploys', 'disk', NO_RULE]);
    expect(report.byRule[0]).toEqual({
      key: 'deploys',
      incidents: 3,
      modes: { act: 3 },
      held: 3,
      escalated: 0,
      leftWithOnCall: 0,
      resolved: 0,
      noted: 0,
      observed: 0,
      confirmed: 2,
      contradicted: 1,
      unknown: 0,
      precision: 2 / 3,
      medianHeadStartMs: 120_000,
      takenBack: 1,
      contradictedHolds: 1,
    });
    expect(report.byRule[1]).toMatchObject({
      key: 'disk',
      modes: { note: 1, observe: 1 },
      held: 0,
      escalated: 0,
      noted: 1,
      observed: 1,
      precision: 1,
    });
    expect(report.byRule[2]).toMatchObject({ key: NO_RULE, escalated: 1, unknown: 1, precision: null, medianHeadStartMs: null });
    expect(report.byKind.map((row) => [row.key, row.incidents])).toEqual([
      ['recent-change', 3],
      ['alert-details', 2],
      ['recurrence', 1],
    ]);
  });

  it('counts each decision, under the names items written by older versions used too', () => {
    const decided = (decisions: string[]) => decisions.map((decision, index) => outcome(`D${index}`, { decision }));
    const today = buildOutcomeReport(decided(['escalated', 'held', 'held', 'left-with-on-call', 'resolved']), range).total;
    const older = buildOutcomeReport(decided(['escalate', 'hold', 'hold', 'left-with-human', 'resolve']), range).total;
    for (const total of [today, older]) {
      expect(total).toMatchObject({ incidents: 5, escalated: 1, held: 2, leftWithOnCall: 1, resolved: 1 });
    }
  });

  it('keeps only the asked service', () => {
    const report = buildOutcomeReport(entries, { ...range, serviceId: 'PDB' });
    expect(report.total.incidents).toBe(2);
    expect(report.serviceId).toBe('PDB');
  });

  it('counts every incident exactly once in the total, the rules and the findings', () => {
    const verdicts = fc.constantFrom<Verdict>('confirmed', 'contradicted', 'unknown');
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('a', 'b', undefined), verdicts), { maxLength: 30 }), (specs) => {
        const report = buildOutcomeReport(
          specs.map(([rule, verdict], index) => outcome(`Q${index}`, { ...(rule === undefined ? {} : { rule }), verdict })),
          range,
        );
        const sum = (rows: { incidents: number }[]) => rows.reduce((total, row) => total + row.incidents, 0);
        expect(sum(report.byRule)).toBe(specs.length);
        expect(sum(report.byKind)).toBe(specs.length);
        expect(report.total.confirmed + report.total.contradicted + report.total.unknown).toBe(specs.length);
      }),
    );
  });

  it('a rule justifies hold with ≥ 10 confirmed, precision ≥ 95% and no contradicted hold', () => {
    const confirmed = Array.from({ length: 10 }, (_, index) => outcome(`Q${index}`, { rule: 'good', verdict: 'confirmed' }));
    expect(justifiesHold(buildOutcomeReport(confirmed, range).byRule[0])).toBe(true);
    expect(justifiesHold(buildOutcomeReport(confirmed.slice(1), range).byRule[0])).toBe(false);
    const oneWrongHold = [
      ...confirmed,
      ...confirmed.map((entry) => ({ ...entry, incidentId: `${entry.incidentId}b` })),
      outcome('QX', { rule: 'good', verdict: 'contradicted' }),
    ];
    expect(justifiesHold(buildOutcomeReport(oneWrongHold, range).byRule[0])).toBe(false);
    const noRule = Array.from({ length: 12 }, (_, index) => outcome(`Q${index}`, { verdict: 'confirmed' }));
    expect(justifiesHold(buildOutcomeReport(noRule, range).byRule[0])).toBe(false);
  });

  it('median of an even count is the mean of the middle two', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNull();
  });
});

describe('report rendering', () => {
  it('draws a bar of fixed width whose parts follow the verdicts, keeping a cell for every non-empty part', () => {
    const report = buildOutcomeReport(
      [outcome('Q1', { rule: 'r' }), ...Array.from({ length: 30 }, (_, index) => outcome(`U${index}`, { rule: 'r', verdict: 'unknown' }))],
      range,
    );
    const bar = verdictBar(report.byRule[0], plain);
    expect(bar).toHaveLength(20);
    expect(bar).toMatch(/^█░+$/);
  });

  it('prints totals, bars, tables and the rules ready for hold; says what to do when there is nothing', () => {
    const ready = Array.from({ length: 10 }, (_, index) => outcome(`Q${index}`, { rule: 'deploys', headStartMs: 240_000 }));
    const text = renderOutcomeReport(buildOutcomeReport(ready, range), plain, false);
    expect(text).toContain(
      '10 incident(s): 10 confirmed, 0 contradicted, 0 unknown; precision 100%; median head start 4 min; 0 taken back',
    );
    expect(text).toMatch(/deploys\s+█{20}\s+100% of 10 judged/);
    expect(text).toContain('Record justifies hold (≥ 10 confirmed, precision ≥ 95%, no contradicted hold): deploys');
    expect(renderOutcomeReport(buildOutcomeReport([], range), plain, false)).toContain(
      'subscribe to incident.resolved and incident.annotated',
    );
  });

  it.each([
    [null, '–'],
    [42_000, '42 s'],
    [240_000, '4 min'],
    [3_900_000, '1 h 5 min'],
  ])('formats a head start of %p ms as %p', (ms, text) => {
    expect(formatHeadStart(ms)).toBe(text);
  });
});
