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
  it('reads as plain text: the likely cause, the decision and the first step, then labelled sections and the footer', () => {
    const note = renderHypothesisNote(input());
    expect(note.split('\n')).toEqual([
      'Likely cause: A bad checkout-api release; it has happened after every unflagged deploy.',
      'Decision: hold (the agent keeps it acknowledged), confidence 90%. Rule checkout-errors allows the agent to hold it (confidence 90%, 70% required).',
      'First: Roll back the release',
      '',
      'Evidence',
      '- Matched rule checkout-errors on every incident (the rule has no conditions)',
      '  https://runbooks.acme.example/checkout',
      expect.stringMatching(
        /^- Deploy api v2\.3\.1 from github-actions 4 min before the trigger \(.*\) \(unverified link: hxxps:\/\/github\[\.\]example\/acme\/checkout\/releases\/PCHG\d+\)$/,
      ),
      '- 1 alert (1 triggered, 0 resolved); severities: critical',
      '- Alert: http_5xx_rate 12.4 > 5 on host=checkout-api-1 in eu-west-1',
      '- Alert "checkout-api 5xx rate above 5%" (triggered, critical): threshold=5%; host=checkout-api-1; metric=http_5xx_rate; value=12.4%; region=eu-west-1',
      expect.stringMatching(/^ {2}https:\/\/acme\.pagerduty\.com\/alerts\/PALR\d+$/),
      '',
      'Next steps',
      '- Check whether deploy api v2.3.1 caused this; roll it back if the timing and symptoms match',
      '- Start from what the alert names and look for what changed on that resource',
      '',
      'Runbook',
      '  https://runbooks.acme.example/checkout',
      '',
      'Paged if it escalates: Alice Example (level 1 of Checkout on-call)',
      '',
      `— pd-agent · env prod · ref ${ref}`,
    ]);
  });

  it('names the people at the level the escalation pages, once each', () => {
    const base = input();
    const bob = base.context.oncalls.find((oncall) => oncall.escalation_level === 2);
    if (bob === undefined) throw new Error('the fixture has a level-2 on-call');
    const onTwoSchedules = { ...bob, schedule: { id: 'PSCHED2', type: 'schedule_reference' } };
    const context = { ...base.context, oncalls: [...base.context.oncalls, onTwoSchedules] };
    const note = renderHypothesisNote({ ...base, context, pagedIfEscalated: { level: 2 } });
    expect(note).toContain('\nPaged if it escalates: Bob Second (level 2 of Checkout on-call)\n');
  });

  it('says so when nobody is known on call, or when the lookup failed', () => {
    const base = input();
    const nobody = renderHypothesisNote({
      ...base,
      context: { ...base.context, oncalls: [makeOncall('Other', { escalation_policy: { ...ESCALATION_POLICY, id: 'POTHER' } })] },
    });
    expect(nobody).toContain('\nPaged if it escalates: nobody found on call at level 1 of Checkout on-call;');
    const failed = renderHypothesisNote({
      ...base,
      context: { ...base.context, oncalls: [], unavailable: [{ source: 'oncalls', reason: 'HTTP 403 Forbidden' }] },
    });
    expect(failed).toContain('\nPaged if it escalates: unknown: the on-call lookup failed (“HTTP 403 Forbidden”)\n');
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
      '\nCould not read: change events (“HTTP 402: the account plan lacks this feature”); resolution notes (“timed out after 1500 ms”)\n',
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
    const lines = note.split('\n');
    expect(lines[0]?.length).toBeLessThanOrEqual(160);
    expect(Math.max(...lines.map((line) => line.length))).toBeLessThanOrEqual(300);
    expect(note).toContain(' and 25 more (level 1');
    expect(note).toMatch(/^Left out to fit the note size: .*Evidence/m);
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
      'Likely cause: Click [here] (hxxps://evil[.]example) ![x] (hxxps://evil[.]example/i[.]png) < script>alert(1)< /script> # heading',
    );
    expect(note).toContain('\n- see < img src=x>\n');
    expect(note).not.toContain('javascript');
    expect(note).not.toContain('Runbook');
  });

  it('marks a hypothesis refined by Bedrock in the footer', () => {
    const base = input();
    const note = renderHypothesisNote({ ...base, hypothesis: { ...base.hypothesis, producedBy: 'bedrock' } });
    expect(note.endsWith(`ref ${ref} · refined by Amazon Bedrock`)).toBe(true);
    expect(note.split('\n')[0]).toBe(
      'Likely cause (Amazon Bedrock): “A bad checkout-api release; it has happened after every unflagged deploy.”',
    );
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
      `Handed to the on-call humans: pd-agent could not finish triage.\nWhy: retry budget spent after 5 retries (PagerDuty 503).\n\n— pd-agent · env staging · ref ${ref}`,
    );
  });

  it('bounds a huge reason to one line', () => {
    const note = renderHandbackNote({ agentName: 'pd-agent', env: 'prod', reason: `boom\n${'e'.repeat(10_000)}`, dedupRef: ref });
    expect(note.split('\n')).toHaveLength(4);
    expect(Math.max(...note.split('\n').map((line) => line.length))).toBeLessThanOrEqual(300);
    expect(noteContainsRef(note, ref)).toBe(true);
  });
});

describe('renderHypothesisNote in a burst', () => {
  it('says the incident is part of a burst of N on its service since when, and nothing when it is alone', () => {
    const base = input();
    const context = { ...base.context, burst: { count: 37, since: '2026-03-10T03:07:41.000Z' } };
    expect(renderHypothesisNote({ ...base, context }).split('\n')[3]).toBe(
      'Storm: part of a burst of 37 incidents on this service since 03:07 UTC.',
    );
    expect(renderHypothesisNote(base)).not.toContain('Storm');
  });
});
