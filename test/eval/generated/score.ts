import { agentConfigSchema } from '../../../lib/config/agent-config';
import { triageIncident } from '../../../lib/triage/triage';
import type { Hypothesis } from '../../../lib/triage/types';
import { generateCase, SCORED_STEP_SIGMAS, type GeneratedCase, type Scenario } from './generate-case';
import { caseSeed } from './random';

/**
 * Scores the real triage on generated cases by properties, not by wording:
 * - a step of more than SCORED_STEP_SIGMAS noise deviations is reported as a step (or drop) within one period of its
 *   true time; a spike that came back is reported as a spike within one period of its peak; a climb as a climb;
 * - a decoy change is never the likely cause; a case with no signal claims no cause;
 * - partial credit, as incident.io grades its investigations: the right cause named first, named but not first, a
 *   wrong cause named first, or no cause claimed.
 */

export type Move = 'step' | 'spike' | 'climb';

export type Grade = 'right-first' | 'right-not-first' | 'wrong-first' | 'no-cause';

export interface CaseScore {
  seed: number;
  scenario: Scenario;
  profile: string;
  grade: Grade;
  /** The metric move the case holds and whether it was found; undefined when the case has no scored move. */
  move?: Move;
  shapeFound?: boolean;
  decoyNamed: boolean;
  /** A case with no signal that claimed a cause. */
  falseClaim: boolean;
  summary: string;
}

export interface GeneratedReport {
  runSeed: number;
  scores: CaseScore[];
  grades: Record<Grade, number>;
  byScenario: Record<string, Record<Grade, number>>;
  moves: Record<Move, { found: number; total: number }>;
  decoysNamed: number;
  falseClaims: number;
  namespaces: number;
}

/** Cases per `npm run eval` (the jest test runs as many on a fixed seed). */
export const GENERATED_CASES = 500;
/** What the generated set must reach: steps found and timed, no decoy named, no cause claimed without a signal. */
export const TARGETS = { steps: 0.95, decoysNamed: 0, falseClaims: 0 } as const;

const POLICY = { ...agentConfigSchema.parse({}).triage, rules: [] };
const GRADES: readonly Grade[] = ['right-first', 'right-not-first', 'wrong-first', 'no-cause'];

function text(hypothesis: Hypothesis): string {
  return [hypothesis.summary, ...hypothesis.evidence.map((evidence) => evidence.text)].join('\n');
}

/** The likely cause names this change when its story begins with the change's target and who made it. */
function namesChange(summary: string, change: { target: string; who: string }): boolean {
  const story = summary.split(';')[0] ?? '';
  return story.includes(nameOf(change.target)) && story.includes(`by ${change.who}`);
}

/** The part of a target any rendering keeps: an ARN's last segment, else the name. */
function nameOf(target: string): string {
  return (target.split(/[:/]/).at(-1) ?? target).slice(0, 40);
}

function moveFound(generated: GeneratedCase): { move: Move; found: boolean } | undefined {
  const { truth } = generated;
  const metric = generated.context.aws?.metric;
  if (truth.step !== undefined) {
    if (truth.step.sigmas <= SCORED_STEP_SIGMAS) return undefined;
    const at = Date.parse(metric?.levelChange?.at ?? '');
    return { move: 'step', found: metric?.shape === (truth.step.up ? 'step' : 'drop') && Math.abs(at - truth.step.at) <= truth.periodMs };
  }
  if (truth.spike !== undefined) {
    const at = Date.parse(metric?.excursion?.peakAt ?? '');
    return { move: 'spike', found: metric?.shape === 'spike' && Math.abs(at - truth.spike.peakAt) <= truth.periodMs };
  }
  if (truth.climb === true) {
    return { move: 'climb', found: (metric?.shape === 'climb' || metric?.shape === 'drop') && metric.minutesToExhaustion !== undefined };
  }
  return undefined;
}

function grade(generated: GeneratedCase, hypothesis: Hypothesis): Grade {
  const { truth } = generated;
  const claimed = hypothesis.cause !== undefined && hypothesis.cause !== 'none' && hypothesis.cause !== 'alert-detail';
  const rightFirst =
    claimed &&
    hypothesis.cause !== undefined &&
    truth.right.includes(hypothesis.cause) &&
    (truth.change === undefined || namesChange(hypothesis.summary, truth.change));
  if (truth.right.includes('none')) return claimed ? 'wrong-first' : 'no-cause';
  if (rightFirst) return 'right-first';
  const all = text(hypothesis);
  const named =
    truth.change !== undefined
      ? all.includes(nameOf(truth.change.target)) && all.includes(`by ${truth.change.who}`)
      : (truth.newError !== undefined && all.includes(truth.newError.slice(0, 40))) || /^A (step|drop|spike|climb) in /m.test(all);
  if (!claimed) return named ? 'right-not-first' : 'no-cause';
  return named ? 'right-not-first' : 'wrong-first';
}

export function scoreCase(seed: number): CaseScore {
  const generated = generateCase(seed);
  const hypothesis = triageIncident(generated.context, POLICY);
  const { truth } = generated;
  const decoyNamed = hypothesis.cause === 'change' && truth.decoys.some((decoy) => namesChange(hypothesis.summary, decoy));
  const claimed = hypothesis.cause !== undefined && hypothesis.cause !== 'none' && hypothesis.cause !== 'alert-detail';
  const found = moveFound(generated);
  return {
    seed,
    scenario: truth.scenario,
    profile: truth.profile,
    grade: grade(generated, hypothesis),
    ...(found === undefined ? {} : { move: found.move, shapeFound: found.found }),
    decoyNamed,
    falseClaim: truth.right.includes('none') && claimed,
    summary: hypothesis.summary,
  };
}

const emptyGrades = (): Record<Grade, number> => Object.fromEntries(GRADES.map((entry) => [entry, 0])) as Record<Grade, number>;

export function runGenerated(runSeed: number, count: number): GeneratedReport {
  const scores = Array.from({ length: count }, (_, index) => scoreCase(caseSeed(runSeed, index)));
  const grades = emptyGrades();
  const byScenario: GeneratedReport['byScenario'] = {};
  for (const score of scores) {
    grades[score.grade] += 1;
    (byScenario[score.scenario] ??= emptyGrades())[score.grade] += 1;
  }
  const moves: GeneratedReport['moves'] = { step: { found: 0, total: 0 }, spike: { found: 0, total: 0 }, climb: { found: 0, total: 0 } };
  for (const score of scores) {
    if (score.move === undefined) continue;
    moves[score.move].total += 1;
    if (score.shapeFound === true) moves[score.move].found += 1;
  }
  return {
    runSeed,
    scores,
    grades,
    byScenario,
    moves,
    decoysNamed: scores.filter((score) => score.decoyNamed).length,
    falseClaims: scores.filter((score) => score.falseClaim).length,
    namespaces: new Set(scores.map((score) => score.profile.split(' ')[0])).size,
  };
}

/** Failures worth a look, each with the seed that replays it (`npm run eval -- --case <seed>`). */
export function failures(report: GeneratedReport): CaseScore[] {
  return report.scores.filter(
    (score) => score.shapeFound === false || score.decoyNamed || score.falseClaim || score.grade === 'wrong-first',
  );
}

const MOVE_LABELS: Record<Move, string> = {
  step: `Steps of more than ${SCORED_STEP_SIGMAS} sd reported as a step within one period of their time`,
  spike: 'Spikes that came back reported as a spike within one period of their peak',
  climb: 'Climbs towards exhaustion reported with the time left',
};

function row(label: string, grades: Record<Grade, number>): string {
  const total = GRADES.reduce((sum, entry) => sum + grades[entry], 0);
  return `| ${label} | ${total} | ${GRADES.map((entry) => grades[entry]).join(' | ')} |`;
}

/** The table `npm run eval` prints and docs/triage.md quotes. */
export function formatGenerated(report: GeneratedReport): string {
  const percent = (found: number, total: number): string => (total === 0 ? '-' : `${((found / total) * 100).toFixed(1)}%`);
  return [
    `Generated set: seed ${report.runSeed}, ${report.scores.length} cases, ${report.namespaces} namespaces`,
    '',
    '| scenario | cases | right cause first | right cause, not first | wrong cause first | no cause claimed |',
    '| --- | --- | --- | --- | --- | --- |',
    ...Object.entries(report.byScenario)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([scenario, grades]) => row(scenario, grades)),
    row('**all**', report.grades),
    '',
    ...(['step', 'spike', 'climb'] as const).map((move) => {
      const { found, total } = report.moves[move];
      return `${MOVE_LABELS[move]}: ${found}/${total} (${percent(found, total)})`;
    }),
    `Decoy changes named as the likely cause: ${report.decoysNamed}`,
    `No-signal cases that claimed a cause: ${report.falseClaims}`,
  ].join('\n');
}

export function meetsTargets(report: GeneratedReport): boolean {
  const { found, total } = report.moves.step;
  return (
    total > 0 && found / total >= TARGETS.steps && report.decoysNamed <= TARGETS.decoysNamed && report.falseClaims <= TARGETS.falseClaims
  );
}

/** One case in full, for replaying a failure: its truth, the series, what the metric analysis and the triage said. */
export function describeCase(seed: number): string {
  const generated = generateCase(seed);
  const hypothesis = triageIncident(generated.context, POLICY);
  const score = scoreCase(seed);
  return [
    `case ${seed}: ${score.scenario} ${score.profile}: ${score.grade}${score.decoyNamed ? ', decoy named' : ''}${score.falseClaim ? ', claimed a cause without a signal' : ''}`,
    `truth: ${JSON.stringify(generated.truth)}`,
    `series: ${generated.points.map((point) => `${new Date(point.at).toISOString().slice(11, 16)} ${Number(point.value.toPrecision(4))}`).join(', ')}`,
    `metric: ${JSON.stringify(generated.context.aws?.metric)}`,
    `changes: ${JSON.stringify(generated.context.aws?.changes)}`,
    `summary: ${hypothesis.summary}`,
    ...hypothesis.evidence.map((evidence) => `  - ${evidence.text}`),
  ].join('\n');
}
