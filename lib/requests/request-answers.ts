import type { NoteFooter } from '../agent/agent-ports';
import { changeLine, footerLine } from '../followup/check-notes';
import type { MaterialChange } from '../followup/material-change';
import type { AwsContext, AwsContextSource } from '../context/evidence';
import { agentText, outsideText, quotedText, type NoteText } from '../triage/plain-text';
import { roundedForReading } from '../triage/text';
import type { Hypothesis } from '../triage/types';
import type { HypothesisCause } from '../outcomes/hypothesis-cause';
import { UNDERSTOOD, type AgentRequest } from './parse-request';

/**
 * The answers to `pd-agent:` requests, in plain text (lib/triage/plain-text.ts): the agent's words around outside text
 * that is quoted, one line, bounded and defanged; at most MAX_ITEMS list lines; every line within a note's 300
 * characters; the footer with the dedup reference last.
 */
const MAX_ITEMS = 8;
const MAX_QUOTED = 140;
const MAX_NAME = 60;

const q = (text: string, max = MAX_QUOTED): NoteText => quotedText(text, max);
const clock = (iso: string): NoteText => `${new Date(iso).toISOString().slice(11, 16)} UTC` as NoteText;
const windowText = (minutes: number): NoteText => (minutes % 60 === 0 ? `${minutes / 60} h` : `${minutes} min`) as NoteText;

/** The note: a first line naming what was asked, the lines of the answer, the footer. */
export function answerNote(agentName: string, asked: NoteText, lines: readonly NoteText[], footer: NoteFooter): string {
  return [agentText`${outsideText(agentName, MAX_NAME)} answers ${asked}:`, ...lines, '', footerLine(footer)].join('\n');
}

/** What the request asked, in the agent's words (names the note gave are quoted). */
export function askedText(request: AgentRequest): NoteText {
  switch (request.verb) {
    case 'changes':
      return agentText`pd-agent: changes (last ${windowText(request.windowMinutes)})`;
    case 'logs':
      // The surge scan's windows are its own (10 min against the hour before): the asked window is not echoed as read.
      return request.logGroup === undefined ? agentText`pd-agent: logs` : agentText`pd-agent: logs ${q(request.logGroup)}`;
    case 'metric':
      return request.metricName === undefined ? agentText`pd-agent: metric` : agentText`pd-agent: metric ${q(request.metricName)}`;
    default:
      return `pd-agent: ${request.verb}` as NoteText;
  }
}

export const HELP_LINES: readonly NoteText[] = [
  agentText`- pd-agent: recheck: read everything again now and say what changed since the agent's last note.`,
  agentText`- pd-agent: changes [window]: the changes on this service's resources, e.g. changes 6h (default 6h, at most 24h).`,
  agentText`- pd-agent: logs [log group] [window]: error surges in the alarmed resource's logs or a mapped log group.`,
  agentText`- pd-agent: metric [name]: the alarmed metric now, against its threshold.`,
  agentText`- pd-agent: why: the evidence and confidence behind the likely cause.`,
  agentText`- pd-agent: stop: no more follow-ups on this incident.`,
  agentText`- pd-agent: right | wrong [what it was]: tell the agent whether it was right (recorded, not answered).`,
  agentText`Requests only read: none acknowledges, escalates or resolves the incident.`,
];

/** The one line for a request the agent did not understand: what was wrong, and what it understands. */
export function malformedLine(reason: string): NoteText {
  return agentText`Not understood: ${reason as NoteText}. It understands ${UNDERSTOOD as NoteText}.`;
}

export function stopLines(): NoteText[] {
  return [agentText`Understood: no more follow-ups on this incident. Nothing else about it changes; the agent still answers requests.`];
}

export function overLimitDetail(maxAnswers: number, windowMinutes: number): string {
  return `request not answered: at most ${maxAnswers} answers per incident in ${windowMinutes} min (AGENT_CONFIG.requests)`;
}

/** Why a source gave nothing: its own unavailable reasons, or that the AWS context is not read for this incident. */
export function unavailableLines(aws: AwsContext | undefined, source: AwsContextSource): NoteText[] {
  if (aws === undefined)
    return [agentText`The AWS context is not read for this incident: its alert is no CloudWatch alarm and its service has no AWS mapping.`];
  return aws.unavailable
    .filter((entry) => entry.source === source)
    .slice(0, 2)
    .map((entry) => agentText`Not read (${entry.source as NoteText}): ${q(entry.reason)}`);
}

export function changesLines(aws: AwsContext | undefined, windowMinutes: number): NoteText[] {
  const unavailable = unavailableLines(aws, 'changes');
  const changes = aws?.changes ?? [];
  if (changes.length === 0)
    return [agentText`No changes found on this service's resources in the last ${windowText(windowMinutes)}.`, ...unavailable];
  const shown = [...changes].reverse().slice(0, MAX_ITEMS);
  return [
    agentText`${changes.length} change(s) in the last ${windowText(windowMinutes)}, newest first:`,
    ...shown.map(
      (change) =>
        agentText`- ${clock(change.at)}${change.onAlarmedResource ? (' on the alarmed resource' as NoteText) : ('' as NoteText)}: ${q(change.summary)}`,
    ),
    ...unavailable,
  ];
}

export function logsLines(aws: AwsContext | undefined, windowMinutes: number): NoteText[] {
  const unavailable = unavailableLines(aws, 'logs');
  const surges = aws?.logSurges ?? [];
  const scan = agentText`The log scan compares the last 10 min with the hour before; the ${windowText(windowMinutes)} asked do not change it.`;
  if (surges.length === 0) return [agentText`No error surge in the logs read.`, scan, ...unavailable];
  return [
    agentText`Error surges in the last 10 min against the hour before:`,
    ...surges
      .slice(0, MAX_ITEMS)
      .map(
        (surge) =>
          agentText`- ${surge.countRecent} in 10 min (${surge.countBefore} in the hour before${surge.isNew ? (', new' as NoteText) : ('' as NoteText)}) in ${q(surge.logGroup, MAX_NAME)}: ${q(surge.signature)}`,
      ),
    scan,
    ...unavailable,
  ];
}

export function metricLines(aws: AwsContext | undefined, threshold: { comparison: string; value: number } | undefined): NoteText[] {
  const metric = aws?.metric;
  if (metric === undefined) return [agentText`The alarmed metric could not be read.`, ...unavailableLines(aws, 'metric')];
  const unitShown = outsideText(metric.unit ?? '', 20);
  const unit = unitShown === '' ? ('' as NoteText) : agentText` ${unitShown}`;
  const label = outsideText(metric.metricLabel, MAX_QUOTED) === '' ? agentText`the alarmed metric` : q(metric.metricLabel);
  const latest = metric.latest === undefined ? agentText`no recent value` : agentText`latest ${roundedForReading(metric.latest)}${unit}`;
  const against =
    threshold === undefined
      ? ('' as NoteText)
      : agentText` (alarm when ${threshold.comparison as NoteText} ${roundedForReading(threshold.value)})`;
  const lines = [agentText`Metric ${label}: ${latest}${against}; shape: ${metric.shape as NoteText}.`];
  if (metric.sparkline !== '') lines.push(agentText`Recent periods: ${q(metric.sparkline, 80)}`);
  if (metric.minutesToExhaustion !== undefined)
    lines.push(agentText`At the current rate it is exhausted in about ${Math.round(metric.minutesToExhaustion)} min.`);
  return lines;
}

/** What changed since the agent's last note, as a follow-up would say it; `since` is that note's time. */
export function recheckLines(sinceIso: string, changes: readonly MaterialChange[]): NoteText[] {
  if (changes.length === 0) return [agentText`Nothing material changed since the agent's last note at ${clock(sinceIso)}.`];
  // changeLine quotes every outside part itself (lib/followup/check-notes.ts).
  return [
    agentText`Since the agent's last note at ${clock(sinceIso)}:`,
    ...changes.slice(0, MAX_ITEMS).map((change) => changeLine(change) as NoteText),
  ];
}

/**
 * The likely cause with its evidence and confidence: what the first note named (kept in the incident's record) when
 * it is there, and the same triage run again now for the evidence and its confidence (the findings' weights are not
 * kept). Without a record the answer says so and gives the run again alone.
 */
export function whyLines(hypothesis: Hypothesis, recorded: HypothesisCause | undefined): NoteText[] {
  const lines: NoteText[] = [];
  if (recorded === undefined)
    lines.push(agentText`The first note's hypothesis is not stored for this incident, so this is the triage run again now.`);
  else {
    lines.push(agentText`The first note's likely cause (${recorded.kind as NoteText}): ${q(recorded.summary)}.`);
    if (recorded.change !== undefined) lines.push(agentText`- The change it named: ${q(recorded.change.summary)}.`);
    if (recorded.pastIncident !== undefined) lines.push(agentText`- The similar past incident it cited: #${recorded.pastIncident.number}.`);
    if (recorded.prediction !== undefined) lines.push(agentText`- Its prediction: ${q(recorded.prediction.text)}`);
  }
  lines.push(
    agentText`Run again now on the incident, its alerts and the AWS providers (recent incidents and change events are not read again):`,
    agentText`Likely cause now: ${q(hypothesis.summary)}; confidence ${Math.round(hypothesis.confidence * 100)}%${hypothesis.ruleId === undefined ? ('' as NoteText) : agentText`, rule ${q(hypothesis.ruleId, MAX_NAME)}`}.`,
  );
  if (hypothesis.evidence.length === 0) lines.push(agentText`No evidence was found now.`);
  else
    lines.push(
      agentText`Evidence now:`,
      ...hypothesis.evidence.slice(0, MAX_ITEMS).map((evidence) => agentText`- ${q(evidence.source, 40)}: ${q(evidence.text)}`),
    );
  return lines;
}
