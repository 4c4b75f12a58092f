import { createHash } from 'node:crypto';
import { ANALYSER as LIKELY_CAUSE } from './analysers/likely-cause';
import { alertSection } from './note-alert';
import { alarmHistoryLines, awsUnavailable, changesSection, claimsNotFollowedLines, logsSection, metricSection } from './note-aws';
import { fitted, section, type NoteSection } from './note-fit';
import { shown, unavailableEntry } from './note-text';
import { agentText, joinText, linkOrText, VouchedLinks, type NoteText } from './plain-text';
import { oneLine, truncate } from './text';
import { triggerTime } from './trigger-time';
import type { ContextSource, Decision, Hypothesis, IncidentContext } from './types';

/**
 * The one note the agent adds to an incident, and the handback note, written for a plain-text reader: PagerDuty's
 * timeline, mobile app, e-mails and chat notifications show a note as written. Line 1 is the likely cause, then the
 * decision and the first thing to do, then short labelled sections; list lines start with `- ` and sections are
 * separated by a blank line, so the same text reads right where markdown is rendered. They are built with
 * `./plain-text` only: all outside text (titles, alert fields, change events, past notes, model output, names) is one
 * line, bounded, never at the start of a line and never clickable, and the only URLs are the ones the agent vouches
 * for, each on a line of its own.
 */

export { MAX_LINE_LENGTH } from './note-fit';

/** What an on-call reads at a glance; sections drop to fit it, and the footer with the dedup reference always survives. */
export const MAX_NOTE_LENGTH = 3_500;
/** Line 1, the likely cause, label included. */
export const MAX_FIRST_LINE_LENGTH = 160;
const MAX_REASON = 200;
const MAX_EVIDENCE_ITEMS = 8;
const MAX_EVIDENCE_TEXT = 240;
const MAX_STEPS = 6;
const MAX_STEP = 240;
const MAX_NAMES = 5;

export interface HypothesisNoteInput {
  hypothesis: Hypothesis;
  context: IncidentContext;
  agentName: string;
  env: string;
  dedupRef: string;
  /**
   * The escalation level the agent's escalation pages: 1 when it reassigns the incident to its escalation policy,
   * the next level in `next_level` mode.
   */
  pagedIfEscalated: { level: number };
  /** The runbook URLs of AGENT_CONFIG's rules: with the incident's own PagerDuty pages, the only links a note carries. */
  runbooks: readonly string[];
  /** AGENT_CONFIG's `links.trustedHosts`: URLs on these hosts stay clickable in outside text. */
  trustedHosts?: readonly string[];
}

export interface HandbackNoteInput {
  agentName: string;
  env: string;
  reason: string;
  dedupRef: string;
}

/** `pda-<10 hex>`: stable for one triggering event of one incident in one environment, short enough to search for. */
export function noteDedupRef(env: string, incidentId: string, triggerEventId: string): string {
  const digest = createHash('sha256').update(`pd-agent-note\n${env}\n${incidentId}\n${triggerEventId}`).digest('hex');
  return `pda-${digest.slice(0, 10)}`;
}

/** Whether a note (as PagerDuty returns it) carries the reference, so a retry does not post it twice. */
export function noteContainsRef(content: string, ref: string): boolean {
  return ref !== '' && content.includes(ref);
}

const SOURCE_LABELS: Record<ContextSource, NoteText> = {
  alerts: agentText`alerts`,
  recentIncidents: agentText`recent incidents`,
  resolutionNotes: agentText`resolution notes`,
  changeEvents: agentText`change events`,
  oncalls: agentText`on-call lookup`,
};

const DECISION_LABELS: Record<Decision, NoteText> = {
  escalate: agentText`escalate to on-call`,
  hold: agentText`hold (the agent keeps it acknowledged)`,
  resolve: agentText`resolve`,
};

function percent(value: number): NoteText {
  return agentText`${Math.round(Math.min(1, Math.max(0, value)) * 100)}%`;
}

/** Who PagerDuty pages when the agent escalates, from the on-calls of the incident's escalation policy at that level. */
export function whoIsPagedOnEscalation(context: IncidentContext, level: number): NoteText {
  const policy = context.incident.escalation_policy;
  const policyName = shown(policy.summary ?? policy.id, 60);
  const failed = context.unavailable.find((entry) => entry.source === 'oncalls');
  if (failed) return agentText`unknown: ${unavailableEntry(agentText`the on-call lookup failed`, failed.reason)}`;
  const names = new Map<string, string>();
  for (const oncall of context.oncalls) {
    if (oncall.escalation_policy.id !== policy.id || oncall.escalation_level !== level) continue;
    names.set(oncall.user.id, oncall.user.summary ?? oncall.user.id);
  }
  if (names.size === 0)
    return agentText`nobody found on call at level ${level} of ${policyName}; PagerDuty follows the escalation policy as configured`;
  const shownNames = [...names.values()].slice(0, MAX_NAMES).map((name) => shown(name, 30));
  const more = names.size > MAX_NAMES ? agentText` and ${names.size - MAX_NAMES} more` : agentText``;
  return agentText`${joinText(shownNames, agentText`, `)}${more} (level ${level} of ${policyName})`;
}

/** The configured agent name, or "the agent" when it shows as nothing. */
function nameOf(agentName: string): NoteText {
  const name = shown(agentName, 60);
  return name === '' ? agentText`the agent` : name;
}

/** The last line: who wrote the note, where, and the reference a retry looks for (`NoteRenderer.containsRef`). */
function footer(agentName: string, env: string, dedupRef: string, extra: NoteText = agentText``): NoteText {
  return agentText`— ${nameOf(agentName)} · env ${shown(env, 40)} · ref ${shown(dedupRef, 40)}${extra}`;
}

/** What the body may take so that the note, footer included, stays under MAX_NOTE_LENGTH. */
function roomFor(foot: NoteText): number {
  return MAX_NOTE_LENGTH - foot.length - 2;
}

/** Sections drop to fit first (see `fitted`); this final cut only guards against surprises, and always keeps the footer. */
function capped(body: NoteText, foot: NoteText): string {
  return `${truncate(body.trimEnd(), roomFor(foot))}\n\n${foot}`;
}

/**
 * Least telling first: the alarm's history and the analysers' evidence repeat or add least to the sections above
 * them; what changed, the next steps and the runbook are what the on-call acts on; the alert's claims the agent did
 * not follow go last, since they say why context is missing and that the alert may be forged.
 */
const DROP_ORDER = {
  alarmHistory: 1,
  evidence: 2,
  metric: 3,
  alert: 4,
  logs: 5,
  unavailable: 6,
  nextSteps: 7,
  changes: 8,
  runbook: 9,
  claims: 10,
} as const;

/**
 * How the hypothesis's own text is shown: the rules' words as they are, a model's in quotation marks; `item` for text
 * that starts a list item.
 */
interface Say {
  (text: string, max: number): NoteText;
  item(text: string, max: number): NoteText;
}

function sayFor(hypothesis: Hypothesis, links: VouchedLinks): Say {
  if (hypothesis.producedBy === 'bedrock') {
    const quoted = (text: string, max: number): NoteText => links.quoted(text, max);
    return Object.assign(quoted, { item: quoted });
  }
  return Object.assign((text: string, max: number): NoteText => links.shown(text, max), {
    item: (text: string, max: number): NoteText => links.item(text, max),
  });
}

/**
 * The evidence the sections above do not already show: the likely-cause analyser's lines repeat the AWS sections.
 * The alert-details analyser's stay: they carry the PagerDuty alert's own summary and link, and every alert's.
 */
function evidenceLines(hypothesis: Hypothesis, links: VouchedLinks, shownAbove: ReadonlySet<string>): NoteText[] {
  const say = sayFor(hypothesis, links);
  const evidence = hypothesis.evidence.filter((item) => !shownAbove.has(item.source));
  const lines = evidence.slice(0, MAX_EVIDENCE_ITEMS).flatMap((item) => {
    const line = agentText`- ${say.item(item.text, MAX_EVIDENCE_TEXT)}`;
    const target = linkOrText(item.link, links, agentText`unverified link: `);
    if (target === undefined) return [line];
    return 'line' in target ? [line, target.line] : [agentText`${line} (${target.inline})`];
  });
  if (evidence.length > MAX_EVIDENCE_ITEMS) lines.push(agentText`- …and ${evidence.length - MAX_EVIDENCE_ITEMS} more`);
  return lines;
}

function unavailableLines(context: IncidentContext): NoteText[] {
  const sources = [
    ...context.unavailable.map((entry) => unavailableEntry(SOURCE_LABELS[entry.source] ?? shown(entry.source, 30), entry.reason)),
    ...awsUnavailable(context.aws),
  ];
  return sources.length === 0 ? [] : [agentText`Could not read: ${joinText(sources, agentText`; `)}`];
}

/** Storms: the incident is one of many on its service within minutes (lib/context/shared-service-context.ts). */
function burstLine(burst: NonNullable<IncidentContext['burst']>): NoteText {
  const since = new Date(burst.since);
  const at = Number.isNaN(since.getTime()) ? agentText`` : agentText` since ${shown(since.toISOString().slice(11, 16), 5)} UTC`;
  return agentText`Storm: part of a burst of ${burst.count} incidents on this service${at}.`;
}

/** Line 1: the likely cause, labelled by the agent, within MAX_FIRST_LINE_LENGTH. */
function likelyCauseLine(hypothesis: Hypothesis, say: Say): NoteText {
  const summary = oneLine(hypothesis.summary).replace(/^likely cause:\s*/i, '');
  if (summary === '') return agentText`Likely cause: none named`;
  let label = hypothesis.producedBy === 'bedrock' ? agentText`Likely cause (Amazon Bedrock): ` : agentText`Likely cause: `;
  if (hypothesis.cause === 'none') label = agentText`No likely cause found: `;
  // Defanging can lengthen the text it cut: the line is cut again after it (a cut only shortens what is shown).
  return truncate(agentText`${label}${say(summary, MAX_FIRST_LINE_LENGTH - label.length)}`, MAX_FIRST_LINE_LENGTH) as NoteText;
}

/**
 * The lines under line 1: the decision and why, the first thing to do, and one line each for what the on-call should
 * know before reading on (a storm; other one-line notices belong here too, in the order they matter).
 */
function leadLines(hypothesis: Hypothesis, context: IncidentContext, say: Say): NoteText[] {
  const reason = say(hypothesis.decisionReason, MAX_REASON);
  const lines = [
    agentText`Decision: ${DECISION_LABELS[hypothesis.decision]}, confidence ${percent(hypothesis.confidence)}.${reason === '' ? agentText`` : agentText` ${reason}`}`,
  ];
  const first = hypothesis.nextSteps.find((step) => oneLine(step) !== '');
  if (first !== undefined) lines.push(agentText`First: ${say(first, MAX_STEP)}`);
  // The follow-up checks this against the data later (lib/followup/prediction.ts), and says whether it held.
  if (hypothesis.prediction !== undefined) lines.push(agentText`Prediction: ${say(hypothesis.prediction.text, MAX_REASON)}`);
  if (context.burst !== undefined) lines.push(burstLine(context.burst));
  return lines;
}

/** The steps after the first one (which the lead lines show). */
function nextStepLines(hypothesis: Hypothesis, say: Say): NoteText[] {
  const steps = hypothesis.nextSteps.filter((step) => oneLine(step) !== '');
  return steps.slice(1, MAX_STEPS).map((step) => agentText`- ${say.item(step, MAX_STEP)}`);
}

function runbookLines(runbook: string | undefined, links: VouchedLinks): NoteText[] {
  const target = linkOrText(runbook, links, agentText`unverified, not a configured runbook: `);
  if (target === undefined) return [];
  return 'line' in target ? [target.line] : [agentText`- ${target.inline}`];
}

export function renderHypothesisNote(input: HypothesisNoteInput): string {
  const { hypothesis, context, agentName, env, dedupRef, pagedIfEscalated } = input;
  const links = VouchedLinks.forIncident(context, input.runbooks, input.trustedHosts);
  const say = sayFor(hypothesis, links);
  const header = section(agentText`Summary`, [likelyCauseLine(hypothesis, say), ...leadLines(hypothesis, context, say)], undefined, false);
  const aws = context.aws;
  const alert = alertSection(context.alert, links);
  const metric = metricSection(aws?.metric, links, aws?.alarm?.consoleUrl);
  const alarmPageShown = metric.length > 1;
  const changes = changesSection(aws?.changes ?? [], triggerTime(context), links);
  const logs = logsSection(aws?.logSurges ?? [], links);
  const shownAbove = new Set<string>();
  if (metric.length + changes.length + logs.length > 0) shownAbove.add(LIKELY_CAUSE);
  const sections: NoteSection[] = [
    header,
    section(agentText`What the alert says`, alert, DROP_ORDER.alert),
    section(agentText`Alert claims not followed`, claimsNotFollowedLines(aws), DROP_ORDER.claims),
    section(agentText`What the metric did`, metric, DROP_ORDER.metric),
    section(agentText`What changed`, changes, DROP_ORDER.changes),
    section(agentText`New errors in logs`, logs, DROP_ORDER.logs),
    section(agentText`History`, alarmHistoryLines(aws?.alarm, links, alarmPageShown), DROP_ORDER.alarmHistory),
    section(agentText`Evidence`, evidenceLines(hypothesis, links, shownAbove), DROP_ORDER.evidence),
    section(agentText`Next steps`, nextStepLines(hypothesis, say), DROP_ORDER.nextSteps),
    section(agentText`Runbook`, runbookLines(hypothesis.runbook, links), DROP_ORDER.runbook),
    section(
      agentText`Who is paged`,
      [agentText`Paged if it escalates: ${whoIsPagedOnEscalation(context, pagedIfEscalated.level)}`],
      undefined,
      false,
    ),
    section(agentText`Unavailable sources`, unavailableLines(context), DROP_ORDER.unavailable, false),
  ];

  const refinedBy = hypothesis.producedBy === 'bedrock' ? agentText` · refined by Amazon Bedrock` : agentText``;
  const foot = footer(agentName, env, dedupRef, refinedBy);
  return capped(fitted(sections, roomFor(foot)), foot);
}

/** The note the handback function adds when the agent could not finish: short, and clear about who has it now. */
export function renderHandbackNote(input: HandbackNoteInput): string {
  const { agentName, env, reason, dedupRef } = input;
  const why = shown(reason.replace(/\.\s*$/, ''), MAX_REASON);
  return capped(
    agentText`Handed to the on-call humans: ${nameOf(agentName)} could not finish triage.\nWhy: ${why === '' ? agentText`no reason recorded` : why}.`,
    footer(agentName, env, dedupRef),
  );
}
