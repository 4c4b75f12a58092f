import {
  MAX_NOTE_LENGTH,
  noteContainsRef,
  noteDedupRef,
  renderHandbackNote,
  renderHypothesisNote,
  type HypothesisNoteInput,
} from '../../../lib/triage/note';
import { triageIncident } from '../../../lib/triage/triage';
import type { Hypothesis } from '../../../lib/triage/types';
import {
  ESCALATION_POLICY,
  makeChangeEvent,
  makeIncident,
  makeIncidentContext,
  makeOncall,
  makeRule,
  makeTriagePolicy,
  minutesBefore,
} from '../../support/incident-context';

const ref = noteDedupRef('prod', 'PINC123', '01BZYIL05THJDFF2Y08X9SVMTU');

function input(overrides: Partial<HypothesisNoteInput> = {}): HypothesisNoteInput {
  const context = makeIncidentContext({
    changeEvents: [makeChangeEvent({ summary: 'Deploy api v2.3.1', timestamp: minutesBefore(4) })],
    oncalls: [makeOncall('Alice Example'), makeOncall('Bob Second', { escalation_level: 2 })],
  });
  const policy = makeTriagePolicy({
    rules: [makeRule({ action: 'hold', runbook: 'https://runbooks.acme.example/checkout', nextSteps: ['Roll back the release'] })],
  });
  return {
    hypothesis: triageIncident(context, policy),
    context,
    agentName: 'pd-agent',
    env: 'prod',
    dedupRef: ref,
    pagedIfEscalated: { level: 1 },
    runbooks: ['https://runbooks.acme.example/checkout'],
    ...overrides,
  };
}

describe('noteDedupRef', () => {
  it('is short, stable and different per environment, incident and event', () => {
    expect(ref).toMatch(/^pda-[0-9a-f]{10}$/);
    expect(noteDedupRef('prod', 'PINC123', '01BZYIL05THJDFF2Y08X9SVMTU')).toBe(ref);
    expect(
      new Set([
        ref,
        noteDedupRef('dev', 'PINC123', '01BZYIL05THJDFF2Y08X9SVMTU'),
        noteDedupRef('prod', 'PINC124', '01BZYIL05THJDFF2Y08X9SVMTU'),
        noteDedupRef('prod', 'PINC123', 'other'),
      ]).size,
    ).toBe(4);
  });

  it('is found in a rendered note and not in another', () => {
    expect(noteContainsRef(renderHypothesisNote(input()), ref)).toBe(true);
    expect(noteContainsRef(renderHypothesisNote(input({ dedupRef: noteDedupRef('prod', 'PINC9', 'e') })), ref)).toBe(false);
    expect(noteContainsRef('anything', '')).toBe(false);
  });
});

describe('renderHypothesisNote', () => {
  it('leads with the bold summary, then confidence, decision and why, evidence, steps, runbook, who is paged, footer', () => {
    const note = renderHypothesisNote(input());
    const lines = note.split('\n');
    expect(lines[0]).toBe('**A bad checkout-api release; it has happened after every unflagged deploy.**');
    expect(lines[2]).toBe(
      '**Confidence:** 90% · **Decision:** hold (the agent keeps it acknowledged). Rule checkout-errors allows the agent to hold it (confidence 90%, 70% required).',
    );
    expect(note).toContain(
      '**Evidence**\n- Matched rule checkout-errors on every incident (the rule has no conditions) ([link](https://runbooks.acme.example/checkout))',
    );
    expect(note).toContain('- Deploy api v2\\.3\\.1 from github-actions 4 min before the trigger');
    expect(note).toMatch(/\(unverified link: https\\:\\\/\/github\\\.example\/acme\/checkout\/releases\/PCHG\d+\)\n/);
    expect(note).toMatch(
      /\(triggered, critical\): threshold=5%; host=checkout-api-1;.* \(\[link\]\(https:\/\/acme\.pagerduty\.com\/alerts\/PALR\d+\)\)/,
    );
    expect(note).toContain('**Next steps**\n1. Roll back the release\n2. Check whether');
    expect(note).toContain('**Runbook:** [https\\:\\//runbooks\\.acme\\.example/checkout](https://runbooks.acme.example/checkout)');
    expect(note).toContain('**Paged if it escalates:** Alice Example (level 1 of Checkout on-call)');
    expect(note).not.toContain('Bob Second');
    expect(note).not.toContain('Unavailable sources');
    expect(lines.slice(-2)).toEqual(['---', `_pd-agent · env \`prod\` · ref \`${ref}\`_`]);
  });

  it('names the people at the level the escalation pages, once each', () => {
    const base = input();
    const bob = base.context.oncalls.find((oncall) => oncall.escalation_level === 2);
    if (bob === undefined) throw new Error('the fixture has a level-2 on-call');
    const onTwoSchedules = { ...bob, schedule: { id: 'PSCHED2', type: 'schedule_reference' } };
    const context = { ...base.context, oncalls: [...base.context.oncalls, onTwoSchedules] };
    const note = renderHypothesisNote({ ...base, context, pagedIfEscalated: { level: 2 } });
    expect(note).toContain('**Paged if it escalates:** Bob Second (level 2 of Checkout on-call)');
  });

  it('says so when nobody is known on call, or when the lookup failed', () => {
    const base = input();
    const nobody = renderHypothesisNote({
      ...base,
      context: { ...base.context, oncalls: [makeOncall('Other', { escalation_policy: { ...ESCALATION_POLICY, id: 'POTHER' } })] },
    });
    expect(nobody).toContain('**Paged if it escalates:** nobody found on call at level 1 of Checkout on-call');
    const failed = renderHypothesisNote({
      ...base,
      context: { ...base.context, oncalls: [], unavailable: [{ source: 'oncalls', reason: 'HTTP 403 Forbidden' }] },
    });
    expect(failed).toContain('**Paged if it escalates:** unknown: the on-call lookup failed (HTTP 403 Forbidden)');
  });

  it('lists unavailable sources with their reasons', () => {
    const base = input();
    const context = {
      ...base.context,
      unavailable: [
        { source: 'changeEvents' as const, reason: 'HTTP 402: the account plan lacks this feature' },
        { source: 'resolutionNotes' as const, reason: 'timed out after 1500 ms' },
      ],
    };
    expect(renderHypothesisNote({ ...base, context })).toContain(
      '**Unavailable sources:** change events (HTTP 402: the account plan lacks this feature); resolution notes (timed out after 1500 ms)',
    );
  });

  it('stays under the cap with huge inputs and always keeps the footer with the reference', () => {
    const huge = 'x'.repeat(50_000);
    const hypothesis: Hypothesis = {
      summary: huge,
      confidence: 0.4,
      evidence: Array.from({ length: 200 }, (_, index) => ({
        source: 's',
        text: `${index} ${huge}`,
        link: `https://acme.example/${'p'.repeat(400)}`,
      })),
      nextSteps: Array.from({ length: 50 }, () => huge),
      decision: 'escalate',
      decisionReason: huge,
      producedBy: 'rules',
    };
    const base = input();
    const oncalls = Array.from({ length: 30 }, (_, index) => makeOncall(`${'Name'.repeat(40)} ${index}`));
    const note = renderHypothesisNote({ ...base, hypothesis, context: { ...base.context, oncalls }, agentName: huge });
    expect(note.length).toBeLessThanOrEqual(MAX_NOTE_LENGTH);
    expect(noteContainsRef(note, ref)).toBe(true);
    expect(note.split('\n')[0]?.length).toBeLessThanOrEqual(310);
    expect(note).toContain('- …and 185 more');
    expect(note).toContain(' and 20 more (level 1');
    expect(note.match(/^\d+\. /gm)).toHaveLength(10);
  });

  it('keeps untrusted text from forming links, images, HTML or extra lines, and drops links that are not http(s)', () => {
    const base = input();
    const context = { ...base.context, incident: makeIncident() };
    const hypothesis: Hypothesis = {
      ...base.hypothesis,
      summary: 'Click [here](https://evil.example) ![x](https://evil.example/i.png) <script>alert(1)</script>\n# heading',
      evidence: [{ source: 'x', text: 'see <img src=x>', link: 'javascript:alert(1)' }],
      runbook: 'ftp://runbooks.example/x',
    };
    const note = renderHypothesisNote({ ...base, hypothesis, context });
    expect(note.split('\n')[0]).toBe(
      '**Click \\[here\\](https\\:\\//evil\\.example) !\\[x\\](https\\:\\//evil\\.example/i\\.png) \\<script\\>alert(1)\\</script\\> # heading**',
    );
    expect(note).toContain('- see \\<img src=x\\>\n');
    expect(note).not.toContain('javascript');
    expect(note).not.toContain('Runbook');
  });

  it('marks a hypothesis refined by Bedrock in the footer', () => {
    const base = input();
    const note = renderHypothesisNote({ ...base, hypothesis: { ...base.hypothesis, producedBy: 'bedrock' } });
    expect(note.endsWith(`ref \`${ref}\` · refined by Amazon Bedrock_`)).toBe(true);
  });
});

describe('renderHandbackNote', () => {
  it('says what failed, who takes over, and carries the footer', () => {
    const note = renderHandbackNote({
      agentName: 'pd-agent',
      env: 'staging',
      reason: 'retry budget spent after 5 retries (PagerDuty 503).',
      dedupRef: ref,
    });
    expect(note).toBe(
      `**pd-agent could not finish triage: retry budget spent after 5 retries (PagerDuty 503).** Handing this incident to the on-call humans.\n\n---\n_pd-agent · env \`staging\` · ref \`${ref}\`_`,
    );
  });

  it('bounds a huge reason to one line', () => {
    const note = renderHandbackNote({ agentName: 'pd-agent', env: 'prod', reason: `boom\n${'e'.repeat(10_000)}`, dedupRef: ref });
    expect(note.split('\n')[0]?.length).toBeLessThan(800);
    expect(noteContainsRef(note, ref)).toBe(true);
  });
});

describe('renderHypothesisNote in a burst', () => {
  it('says the incident is part of a burst of N on its service since when, and nothing when it is alone', () => {
    const base = input();
    const context = { ...base.context, burst: { count: 37, since: '2026-03-10T03:07:41.000Z' } };
    // The time goes through `inert` like any outside text: the colon is escaped in the Markdown and renders as 03:07.
    expect(renderHypothesisNote({ ...base, context })).toContain(
      '**Storm:** part of a burst of 37 incidents on this service since 03\\:07 UTC.',
    );
    expect(renderHypothesisNote(base)).not.toContain('Storm');
  });
});
