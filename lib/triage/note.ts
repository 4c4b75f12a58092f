import { createHash } from 'node:crypto';
import { ANALYSER as LIKELY_CAUSE } from './analysers/likely-cause';
import { agentMd, code, inert, joinMarkdown, linkOrText, VouchedLinks, type Markdown } from './markdown';
import { alertSection } from './note-alert';
import { alarmHistoryLine, awsUnavailable, changesSection, logsSection, metricSection } from './note-aws';
import { fitted, section, type NoteSection } from './note-fit';
import { shown, unavailableEntry } from './note-text';
import { oneLine, truncate } from './text';
import { triggerTime } from './trigger-time';
import type { ContextSource, Decision, Hypothesis, IncidentContext } from './types';

/**
 * The one note the agent adds to an incident, and the handback note. They are built with `./markdown` only: all
 * outside text (titles, alert fields, change events, past notes, model output, names) is one line, bounded and
 * inert, and links point only at URLs the agent vouches for.
 */

/** Well under what PagerDuty accepts for a note; the footer with the dedup reference always survives the cap. */
export const MAX_NOTE_LENGTH = 25_000;
const MAX_SUMMARY = 300;
const MAX_REASON = 600;
const MAX_EVIDENCE_ITEMS = 15;
const MAX_EVIDENCE_TEXT = 500;
const MAX_STEPS = 10;
const MAX_STEP = 300;
const MAX_NAMES = 10;

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

const SOURCE_LABELS: Record<ContextSource, Markdown> = {
  alerts: agentMd`alerts`,
  recentIncidents: agentMd`recent incidents`,
  resolutionNotes: agentMd`resolution notes`,
  changeEvents: agentMd`change events`,
  oncalls: agentMd`on-call lookup`,
};

const DECISION_LABELS: Record<Decision, Markdown> = {
  escalate: agentMd`escalate to on-call`,
  hold: agentMd`hold (the agent keeps it acknowledged)`,
  resolve: agentMd`resolve`,
};

function percent(value: number): Markdown {
  return agentMd`${Math.round(Math.min(1, Math.max(0, value)) * 100)}%`;
}

/** Who PagerDuty pages when the agent escalates, from the on-calls of the incident's escalation policy at that level. */
export function whoIsPagedOnEscalation(context: IncidentContext, level: number): Markdown {
  const policy = context.incident.escalation_policy;
  const policyName = shown(policy.summary ?? policy.id, 80);
  const failed = context.unavailable.find((entry) => entry.source === 'oncalls');
  if (failed) return agentMd`unknown: ${unavailableEntry(agentMd`the on-call lookup failed`, failed.reason)}`;
  const names = new Map<string, string>();
  for (const oncall of context.oncalls) {
    if (oncall.escalation_policy.id !== policy.id || oncall.escalation_level !== level) continue;
    names.set(oncall.user.id, oncall.user.summary ?? oncall.user.id);
  }
  if (names.size === 0)
    return agentMd`nobody found on call at level ${level} of ${policyName}; PagerDuty follows the escalation policy as configured`;
  const shownNames = [...names.values()].slice(0, MAX_NAMES).map((name) => shown(name, 60));
  const more = names.size > MAX_NAMES ? agentMd` and ${names.size - MAX_NAMES} more` : agentMd``;
  return agentMd`${joinMarkdown(shownNames, agentMd`, `)}${more} (level ${level} of ${policyName})`;
}

/** The configured agent name; a name that shows as nothing would leave the note's emphasis unbalanced. */
function nameOf(agentName: string): Markdown {
  const name = shown(agentName, 60);
  return name === '' ? agentMd`the agent` : name;
}

function footer(agentName: string, env: string, dedupRef: string, extra: Markdown = agentMd``): Markdown {
  return agentMd`---\n_${nameOf(agentName)} · env ${code(env)} · ref ${code(dedupRef)}${extra}_`;
}

/** What the body may take so that the note, footer included, stays under MAX_NOTE_LENGTH. */
function roomFor(foot: Markdown): number {
  return MAX_NOTE_LENGTH - foot.length - 2;
}

/** Sections drop to fit first (see `fitted`); this final cut only guards against surprises, and always keeps the footer. */
function capped(body: Markdown, foot: Markdown): string {
  return `${truncate(body.trimEnd(), roomFor(foot))}\n\n${foot}`;
}

/**
 * Least telling first: the alarm's history and the analysers' evidence repeat or add least to the sections above
 * them; what changed, the next steps and the runbook are what the on-call acts on.
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
} as const;

/**
 * The evidence the sections above do not already show: the likely-cause analyser's lines repeat the AWS sections.
 * The alert-details analyser's stay: they carry the PagerDuty alert's own summary and link, and every alert's.
 */
function evidenceLines(hypothesis: Hypothesis, links: VouchedLinks, shownAbove: ReadonlySet<string>): Markdown[] {
  const evidence = hypothesis.evidence.filter((item) => !shownAbove.has(item.source));
  const lines = evidence.slice(0, MAX_EVIDENCE_ITEMS).map((evidence) => {
    const target = linkOrText(evidence.link, links, agentMd`link`, agentMd`unverified link: `);
    return agentMd`- ${shown(evidence.text, MAX_EVIDENCE_TEXT)}${target === undefined ? agentMd`` : agentMd` (${target})`}`;
  });
  if (evidence.length > MAX_EVIDENCE_ITEMS) lines.push(agentMd`- …and ${evidence.length - MAX_EVIDENCE_ITEMS} more`);
  return lines;
}

function unavailableLines(context: IncidentContext): Markdown[] {
  const sources = [
    ...context.unavailable.map((entry) => unavailableEntry(SOURCE_LABELS[entry.source] ?? inert(entry.source), entry.reason)),
    ...awsUnavailable(context.aws),
  ];
  return sources.length === 0 ? [] : [agentMd`**Unavailable sources:** ${joinMarkdown(sources, agentMd`; `)}`];
}

/** Storms: the incident is one of many on its service within minutes (lib/context/shared-service-context.ts). */
function burstLine(burst: NonNullable<IncidentContext['burst']>): Markdown {
  const since = new Date(burst.since);
  const at = Number.isNaN(since.getTime()) ? agentMd`` : agentMd` since ${inert(since.toISOString().slice(11, 16))} UTC`;
  return agentMd`**Storm:** part of a burst of ${burst.count} incidents on this service${at}.`;
}

export function renderHypothesisNote(input: HypothesisNoteInput): string {
  const { hypothesis, context, agentName, env, dedupRef, pagedIfEscalated } = input;
  const links = VouchedLinks.forIncident(context, input.runbooks);
  const summary = shown(hypothesis.summary, MAX_SUMMARY);
  const header: NoteSection = {
    title: agentMd`Summary`,
    lines: [
      agentMd`**${summary === '' ? agentMd`No hypothesis` : summary}**`,
      agentMd``,
      agentMd`**Confidence:** ${percent(hypothesis.confidence)} · **Decision:** ${DECISION_LABELS[hypothesis.decision]}. ${shown(hypothesis.decisionReason, MAX_REASON)}`,
      agentMd``,
      ...(hypothesis.prediction === undefined
        ? []
        : [agentMd`**Prediction:** ${shown(hypothesis.prediction.text, MAX_REASON)}`, agentMd``]),
      ...(context.burst === undefined ? [] : [burstLine(context.burst), agentMd``]),
    ],
  };
  const aws = context.aws;
  const alarmHistory = alarmHistoryLine(aws?.alarm, links);
  const runbook =
    hypothesis.runbook === undefined ? undefined : linkOrText(hypothesis.runbook, links, inert(hypothesis.runbook), agentMd`unverified: `);
  const alert = alertSection(context.alert);
  const metric = metricSection(aws?.metric, links);
  const changes = changesSection(aws?.changes ?? [], triggerTime(context), links);
  const logs = logsSection(aws?.logSurges ?? [], links);
  const shownAbove = new Set<string>();
  if (metric.length + changes.length + logs.length > 0) shownAbove.add(LIKELY_CAUSE);
  const sections: NoteSection[] = [
    header,
    section(agentMd`What the alert says`, alert, DROP_ORDER.alert),
    section(agentMd`What the metric did`, metric, DROP_ORDER.metric),
    section(agentMd`What changed`, changes, DROP_ORDER.changes),
    section(agentMd`New errors in logs`, logs, DROP_ORDER.logs),
    section(
      agentMd`Alarm history`,
      alarmHistory === undefined ? [] : [agentMd`**Alarm history:** ${alarmHistory}`],
      DROP_ORDER.alarmHistory,
      false,
    ),
    section(agentMd`Evidence`, evidenceLines(hypothesis, links, shownAbove), DROP_ORDER.evidence),
    section(
      agentMd`Next steps`,
      hypothesis.nextSteps.slice(0, MAX_STEPS).map((step, index) => agentMd`${index + 1}. ${shown(step, MAX_STEP)}`),
      DROP_ORDER.nextSteps,
    ),
    section(agentMd`Runbook`, runbook === undefined ? [] : [agentMd`**Runbook:** ${runbook}`], DROP_ORDER.runbook, false),
    section(
      agentMd`Paged if it escalates`,
      [agentMd`**Paged if it escalates:** ${whoIsPagedOnEscalation(context, pagedIfEscalated.level)}`],
      undefined,
      false,
    ),
    section(agentMd`Unavailable sources`, unavailableLines(context), DROP_ORDER.unavailable, false),
  ];

  const refinedBy = hypothesis.producedBy === 'bedrock' ? agentMd` · refined by Amazon Bedrock` : agentMd``;
  const foot = footer(agentName, env, dedupRef, refinedBy);
  return capped(fitted(sections, roomFor(foot)), foot);
}

/** The note the handback function adds when the agent could not finish: short, and clear about who has it now. */
export function renderHandbackNote(input: HandbackNoteInput): string {
  const { agentName, env, reason, dedupRef } = input;
  const why = inert(truncate(oneLine(reason), MAX_REASON).replace(/\.$/, ''));
  return capped(
    agentMd`**${nameOf(agentName)} could not finish triage: ${why}.** Handing this incident to the on-call humans.`,
    footer(agentName, env, dedupRef),
  );
}
