import { EVAL_THRESHOLD, loadCases, runEval } from '../../eval/run-eval';

const KINDS = ['change', 'metric', 'logs', 'recurrence', 'flapping', 'alert-detail', 'none'];
const MONITORS = ['cloudwatch', 'cloudwatch-eventbridge', 'datadog', 'prometheus', 'grafana', 'newrelic', 'generic'];

describe('triage evaluation set', () => {
  const cases = loadCases();

  it('covers every cause kind and every monitor with at least 30 labelled incidents', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
    expect(new Set(cases.map((testCase) => testCase.expected.kind))).toEqual(new Set(KINDS));
    expect(new Set(cases.map((testCase) => testCase.monitor))).toEqual(new Set(MONITORS));
    expect(new Set(cases.map((testCase) => testCase.id)).size).toBe(cases.length);
  });

  it(`names the right cause in at least ${Math.round(EVAL_THRESHOLD * 100)}% of the cases`, () => {
    // On failure, `npm run eval` lists every case the triage got wrong and what it said instead.
    expect(runEval(cases).overall.share).toBeGreaterThanOrEqual(EVAL_THRESHOLD);
  });
});
