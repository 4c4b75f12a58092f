import {
  buildOutcomeReport,
  HOLD_READINESS,
  justifiesHold,
  NO_RULE,
  type OutcomeReport,
  type ReportRow,
} from '../../outcomes/outcome-report';
import type { IncidentOutcomes } from '../../outcomes/outcome-store';
import { clientsFor } from '../aws-clients';
import { CliError } from '../cli-error';
import { parseTimePoint } from '../duration';
import { coloursFor, renderTable, startProgress, writeJson, writeLine, type CliIo, type Colours } from '../output';
import { resolveTarget, type TargetOptions } from '../stack-target';
import { compareHoldout, type HoldoutComparison } from '../../trust/holdout-report';
import type { RuleStanding } from '../../trust/demotion-store';
import { renderHoldout, renderStandings } from './report-trust';

export interface ReportOptions extends TargetOptions {
  since?: string;
  service?: string;
  json?: boolean;
}

const DEFAULT_SINCE = '30d';
const BAR_WIDTH = 20;

const percent = (value: number | null): string => (value === null ? '–' : `${Math.round(value * 100)}%`);

/** "4 min", "1 h 5 min": head starts are minutes, not milliseconds, for people. */
export function formatHeadStart(ms: number | null): string {
  if (ms === null) return '–';
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

const modes = (row: ReportRow): string =>
  Object.entries(row.modes)
    .map(([mode, count]) => `${mode} ${count}`)
    .join(', ');

/**
 * One bar per row, `BAR_WIDTH` cells for its incidents: confirmed █, contradicted ▓, unknown ░. Proportions are
 * rounded so that every non-empty group keeps at least one cell.
 */
export function verdictBar(row: ReportRow, colours: Colours, width = BAR_WIDTH): string {
  if (row.incidents === 0) return '';
  const parts = [row.confirmed, row.contradicted, row.unknown];
  const cells = parts.map((count) => (count === 0 ? 0 : Math.max(1, Math.round((count / row.incidents) * width))));
  const excess = cells.reduce((sum, cell) => sum + cell, 0) - width;
  if (excess > 0) {
    const largest = cells.indexOf(Math.max(...cells));
    cells[largest] = cells[largest] - excess;
  }
  const [confirmed, contradicted, unknown] = cells as [number, number, number];
  return `${colours.green('█'.repeat(confirmed))}${colours.red('▓'.repeat(contradicted))}${colours.dim('░'.repeat(unknown))}`;
}

function rowsTable(title: string, rows: ReportRow[], colour: boolean): string {
  return renderTable(
    [
      title,
      'incidents',
      'mode',
      'held',
      'escalated',
      'left with on-call',
      'resolved',
      'noted',
      'observed',
      'confirmed',
      'contradicted',
      'unknown',
      'precision',
      'median head start',
      'taken back',
    ],
    rows.map((row) => [
      row.key,
      row.incidents,
      modes(row),
      row.held,
      row.escalated,
      row.leftWithOnCall,
      row.resolved,
      row.noted,
      row.observed,
      row.confirmed,
      row.contradicted,
      row.unknown,
      percent(row.precision),
      formatHeadStart(row.medianHeadStartMs),
      row.takenBack,
    ]),
    { colour },
  );
}

/** The report for people: totals, a verdict chart per rule, then the per-rule and per-finding tables. */
export function renderOutcomeReport(report: OutcomeReport, colours: Colours, colour: boolean): string {
  const lines: string[] = [];
  const scope = report.serviceId === undefined ? 'every service' : `service ${report.serviceId}`;
  lines.push(colours.bold(`Outcomes from ${report.since.slice(0, 10)} to ${report.until.slice(0, 10)}, ${scope}`));
  const { total } = report;
  if (total.incidents === 0) {
    lines.push(colours.yellow('No outcomes recorded in this range.'));
    lines.push(
      colours.dim(
        'Outcomes are recorded when a triaged incident resolves; subscribe to incident.resolved and incident.annotated (docs/rollout-and-outcomes.md).',
      ),
    );
    return lines.join('\n');
  }
  lines.push(
    `${total.incidents} incident(s): ${total.confirmed} confirmed, ${total.contradicted} contradicted, ${total.unknown} unknown; ` +
      `precision ${percent(total.precision)}; median head start ${formatHeadStart(total.medianHeadStartMs)}; ${total.takenBack} taken back`,
  );
  lines.push('');
  const width = Math.max(...report.byRule.map((row) => row.key.length));
  for (const row of report.byRule) {
    lines.push(
      `${row.key.padEnd(width)}  ${verdictBar(row, colours)}  ${percent(row.precision).padStart(4)} of ${row.confirmed + row.contradicted} judged`,
    );
  }
  lines.push(colours.dim(`${'█'} confirmed  ${'▓'} contradicted  ${'░'} unknown`));
  lines.push('');
  lines.push(rowsTable('rule', report.byRule, colour));
  lines.push(rowsTable('finding', report.byKind, colour));
  const ready = report.byRule.filter(justifiesHold).map((row) => row.key);
  if (ready.length > 0) {
    lines.push(
      colours.green(
        `Record justifies hold (≥ ${HOLD_READINESS.minConfirmed} confirmed, precision ≥ ${HOLD_READINESS.minPrecision * 100}%, no contradicted hold): ${ready.join(', ')}`,
      ),
    );
  }
  return lines.join('\n');
}

/** One `pd-agent: right|wrong` note: who wrote it, about which incident and rule. */
export interface FeedbackRow {
  incidentId: string;
  at: string;
  said: 'right' | 'wrong';
  /** PagerDuty user id of the note's author. */
  by: string;
  byName?: string;
  ruleId?: string;
  comment: string;
}

/** Each incident's latest feedback in the range (the one the report counts), oldest first. */
export function feedbackRows(entries: IncidentOutcomes[], serviceId?: string): FeedbackRow[] {
  return entries
    .flatMap(({ feedback }) => (feedback === undefined || (serviceId !== undefined && feedback.serviceId !== serviceId) ? [] : [feedback]))
    .sort((a, b) => a.at.localeCompare(b.at))
    .map((feedback) => ({
      incidentId: feedback.incidentId,
      at: feedback.at,
      said: feedback.verdict === 'confirmed' ? 'right' : 'wrong',
      by: feedback.by,
      ...(feedback.byName === undefined ? {} : { byName: feedback.byName }),
      ...(feedback.cause?.ruleId === undefined ? {} : { ruleId: feedback.cause.ruleId }),
      comment: feedback.comment,
    }));
}

/**
 * Who said what. Any PagerDuty user who can write a note on the incident can give feedback, so the author is shown
 * beside each verdict; feedback only changes these figures, never what the agent decides at runtime.
 */
export function renderFeedback(rows: FeedbackRow[], colours: Colours, colour: boolean): string {
  const heading = colours.bold(`Feedback (\`pd-agent: right|wrong\` notes): ${rows.length}`);
  if (rows.length === 0) return heading;
  return [
    heading,
    renderTable(
      ['incident', 'said', 'by', 'rule', 'comment', 'at'],
      rows.map((row) => [
        row.incidentId,
        row.said,
        row.byName === undefined ? row.by : `${row.byName} (${row.by})`,
        row.ruleId ?? NO_RULE,
        row.comment,
        row.at.slice(0, 16).replace('T', ' '),
      ]),
      { colour },
    ),
    colours.dim('Any PagerDuty user who can write a note can give feedback; it changes these figures, never a runtime decision.'),
  ].join('\n');
}

export async function reportCommand(options: ReportOptions, io: CliIo): Promise<OutcomeReport> {
  const now = new Date();
  const since = parseTimePoint(options.since ?? DEFAULT_SINCE, '--since', now);
  if (since > now) throw new CliError('--since is in the future.', 'Use a duration ago such as --since 30d, or an ISO time in the past.');
  const target = await resolveTarget(options, io.env);
  const clients = clientsFor(target);
  const progress = startProgress(io, `Reading the outcomes of ${target.name}`);
  let report: OutcomeReport;
  let feedback: FeedbackRow[];
  let holdout: HoldoutComparison;
  let rules: RuleStanding[];
  try {
    const entries = await clients.outcomes.byTimeRange(since, now);
    report = buildOutcomeReport(entries, { since, until: now, ...(options.service === undefined ? {} : { serviceId: options.service }) });
    feedback = feedbackRows(entries, options.service);
    holdout = compareHoldout(entries, options.service);
    rules = await clients.demotions.all();
  } finally {
    progress.stop();
    clients.destroy();
  }
  if (options.json === true) writeJson(io, { ...report, feedback, holdout, rules });
  else {
    const colours = coloursFor(io.stdout, io.env);
    const colour = io.stdout.isTTY === true;
    writeLine(io.stdout, renderOutcomeReport(report, colours, colour));
    if (report.total.incidents > 0) {
      writeLine(io.stdout, renderFeedback(feedback, colours, colour));
      writeLine(io.stdout, renderHoldout(holdout, colours, colour));
    }
    writeLine(io.stdout, renderStandings(rules, colours, colour));
  }
  return report;
}
