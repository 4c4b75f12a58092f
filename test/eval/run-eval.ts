import { randomInt } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentConfigSchema, type TriageRule } from '../../lib/config/agent-config';
import { understandAlerts } from '../../lib/context/alert';
import type { AwsContext } from '../../lib/context/evidence';
import type { Alert, ChangeEvent, Incident } from '../../lib/pagerduty/types';
import { triageIncident } from '../../lib/triage/triage';
import type { CauseKind, Hypothesis, IncidentContext } from '../../lib/triage/types';
import { describeCase, failures, formatGenerated, GENERATED_CASES, meetsTargets, runGenerated } from './generated/score';

/**
 * The labelled evaluation set: each case is one incident with its alerts (built from public payload examples, values
 * changed), optional AWS context, recent incidents and change events, and the cause a good on-call would name. The
 * real triage runs on each; a case passes when the hypothesis names the expected kind of cause and the key phrase
 * appears in its summary or evidence.
 */

export const CASES_DIR = join(__dirname, 'cases');
/** The share of cases the triage must get right; README (docs/triage-evidence.md) states it and what was measured. */
export const EVAL_THRESHOLD = 0.85;

const CREATED_AT = '2026-03-10T03:12:00Z';
const SERVICE = { id: 'PSVC001', type: 'service_reference', summary: 'Checkout API' };

interface CaseAlert {
  summary: string;
  status?: 'triggered' | 'resolved';
  severity?: string;
  minutesBefore?: number;
  details: unknown;
  client?: string;
  client_url?: string;
}

interface CasePastIncident {
  id: string;
  title: string;
  minutesBefore: number;
  resolvedAfterMinutes: number;
  notes?: string[];
}

interface CaseChangeEvent {
  summary: string;
  minutesBefore: number;
  source?: string;
  custom_details?: Record<string, unknown>;
}

export interface EvalCase {
  id: string;
  description: string;
  monitor: string;
  title: string;
  alerts: CaseAlert[];
  aws?: AwsContext;
  recentIncidents?: CasePastIncident[];
  changeEvents?: CaseChangeEvent[];
  rules?: TriageRule[];
  expected: { kind: CauseKind; phrase: string };
}

export interface CaseResult {
  id: string;
  kind: CauseKind;
  passed: boolean;
  got: { kind: CauseKind | undefined; summary: string };
}

export interface EvalReport {
  results: CaseResult[];
  byKind: Record<string, { passed: number; total: number }>;
  overall: { passed: number; total: number; share: number };
}

function at(minutesBefore: number): string {
  return new Date(Date.parse(CREATED_AT) - minutesBefore * 60_000).toISOString();
}

function incident(id: string, title: string, createdAt: string, resolvedAfterMinutes?: number): Incident {
  const resolvedAt =
    resolvedAfterMinutes === undefined ? null : new Date(Date.parse(createdAt) + resolvedAfterMinutes * 60_000).toISOString();
  return {
    id,
    type: 'incident',
    number: Number.parseInt(id.replace(/\D/g, '') || '1', 10),
    title,
    status: resolvedAt === null ? 'triggered' : 'resolved',
    urgency: 'high',
    html_url: `https://acme.pagerduty.com/incidents/${id}`,
    created_at: createdAt,
    incident_key: null,
    service: SERVICE,
    escalation_policy: { id: 'PEP0001', type: 'escalation_policy_reference' },
    priority: null,
    teams: [],
    assignments: [],
    acknowledgements: [],
    last_status_change_at: resolvedAt ?? createdAt,
    resolved_at: resolvedAt,
  };
}

/** The context the worker would have gathered for the case. */
export function contextOf(testCase: EvalCase): IncidentContext {
  const alerts: Alert[] = testCase.alerts.map((alert, index) => ({
    id: `PALR${index}`,
    type: 'alert',
    summary: alert.summary,
    status: alert.status ?? 'triggered',
    created_at: at(alert.minutesBefore ?? 0),
    severity: alert.severity ?? 'critical',
    html_url: `https://acme.pagerduty.com/alerts/PALR${index}`,
    body: {
      details: alert.details as Record<string, unknown>,
      cef_details: { client: alert.client, client_url: alert.client_url, details: alert.details },
    },
  }));
  const past = testCase.recentIncidents ?? [];
  const changeEvents: ChangeEvent[] = (testCase.changeEvents ?? []).map((change, index) => ({
    id: `PCHG${index}`,
    summary: change.summary,
    timestamp: at(change.minutesBefore),
    source: change.source ?? null,
    custom_details: change.custom_details ?? null,
    links: [],
  }));
  const context: IncidentContext = {
    incident: incident('PINC0', testCase.title, CREATED_AT),
    alerts,
    recentIncidents: past.map((entry) => incident(entry.id, entry.title, at(entry.minutesBefore), entry.resolvedAfterMinutes)),
    resolutionNotes: Object.fromEntries(past.filter((entry) => entry.notes !== undefined).map((entry) => [entry.id, entry.notes ?? []])),
    changeEvents,
    oncalls: [],
    unavailable: [],
    gatheredAt: at(-1),
  };
  const alert = understandAlerts(alerts);
  if (alert !== undefined) context.alert = alert;
  if (testCase.aws !== undefined) context.aws = testCase.aws;
  return context;
}

function names(hypothesis: Hypothesis, testCase: EvalCase): boolean {
  if (hypothesis.cause !== testCase.expected.kind) return false;
  const text = [hypothesis.summary, ...hypothesis.evidence.map((evidence) => evidence.text)].join('\n').toLowerCase();
  return text.includes(testCase.expected.phrase.toLowerCase());
}

export function loadCases(dir = CASES_DIR): EvalCase[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as EvalCase);
}

export function runEval(cases: EvalCase[] = loadCases()): EvalReport {
  const defaults = agentConfigSchema.parse({}).triage;
  const results = cases.map((testCase): CaseResult => {
    const hypothesis = triageIncident(contextOf(testCase), { ...defaults, rules: testCase.rules ?? [] });
    return {
      id: testCase.id,
      kind: testCase.expected.kind,
      passed: names(hypothesis, testCase),
      got: { kind: hypothesis.cause, summary: hypothesis.summary },
    };
  });
  const byKind: EvalReport['byKind'] = {};
  for (const result of results) {
    const entry = (byKind[result.kind] ??= { passed: 0, total: 0 });
    entry.total += 1;
    if (result.passed) entry.passed += 1;
  }
  const passed = results.filter((result) => result.passed).length;
  return { results, byKind, overall: { passed, total: results.length, share: results.length === 0 ? 0 : passed / results.length } };
}

function percent(passed: number, total: number): string {
  return `${total === 0 ? 0 : Math.round((passed / total) * 100)}%`;
}

function printHandWritten(): boolean {
  const report = runEval();
  for (const result of report.results.filter((entry) => !entry.passed)) {
    console.log(`MISS ${result.id}: expected ${result.kind}, got ${result.got.kind ?? '-'}: ${result.got.summary}`);
  }
  for (const [kind, { passed, total }] of Object.entries(report.byKind).sort()) {
    console.log(`${kind.padEnd(13)} ${String(passed).padStart(2)}/${String(total).padEnd(2)} ${percent(passed, total)}`);
  }
  const { passed, total } = report.overall;
  console.log(
    `${'overall'.padEnd(13)} ${String(passed).padStart(2)}/${String(total).padEnd(2)} ${percent(passed, total)} (threshold ${percent(EVAL_THRESHOLD * 100, 100)})`,
  );
  return report.overall.share >= EVAL_THRESHOLD;
}

/** `--seed N` replays a whole run, `--case N` one case (with its series and what the triage said), `--cases N` sizes it. */
function option(name: string): number | undefined {
  const index = process.argv.indexOf(name);
  if (index === -1) return undefined;
  const value = Number(process.argv[index + 1]);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${name} takes a whole number (got ${process.argv[index + 1] ?? 'nothing'}): e.g. npm run eval -- ${name} 42`);
  }
  return value;
}

if (require.main === module) {
  const replay = option('--case');
  if (replay !== undefined) {
    console.log(describeCase(replay));
  } else {
    console.log('Hand-written cases (conformance, not field accuracy):');
    const handPassed = printHandWritten();
    const runSeed = option('--seed') ?? randomInt(2 ** 31);
    const report = runGenerated(runSeed, option('--cases') ?? GENERATED_CASES);
    console.log('');
    console.log(formatGenerated(report));
    const failed = failures(report);
    if (failed.length > 0) console.log(`\nCases to look at (replay one with npm run eval -- --case <seed>):`);
    for (const score of failed) {
      console.log(`  --case ${score.seed}: ${score.scenario} ${score.profile}, ${score.grade}: ${score.summary}`);
    }
    process.exitCode = handPassed && meetsTargets(report) ? 0 : 1;
  }
}
