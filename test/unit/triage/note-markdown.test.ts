import fc from 'fast-check';
import { noteDedupRef, renderHandbackNote, renderHypothesisNote, type HypothesisNoteInput } from '../../../lib/triage/note';
import { oneLine, truncate } from '../../../lib/triage/text';
import { triageIncident } from '../../../lib/triage/triage';
import type { Hypothesis, IncidentContext } from '../../../lib/triage/types';
import { activeElementsOf, elementsOf, plainTextOf, RENDERERS } from '../../support/markdown-render';
import {
  SCENARIO_CLOUDTRAIL_URL,
  SCENARIO_FUNCTION_ARN,
  SCENARIO_LOG_GROUP,
  SCENARIO_LOGS_URL,
  SCENARIO_METRIC_URL,
  SCENARIO_TYPE_ERROR,
  scenarioContext,
} from '../../support/aws-scenario';
import {
  daysBefore,
  ESCALATION_POLICY,
  makeAlert,
  makeChangeEvent,
  makeIncident,
  makeIncidentContext,
  makeOncall,
  makePastIncident,
  makeRule,
  makeTriagePolicy,
  minutesBefore,
  SERVICE,
} from '../../support/incident-context';

/**
 * Notes rendered by a real CommonMark renderer: whatever titles, alerts, change events, past notes and model output
 * say, the note has only the elements the agent wrote, links only to URLs it vouches for, and the outside text shows
 * as the text it is.
 */

const RUNBOOK = 'https://runbooks.acme.example/disk';
const EVIL = 'https://evil.example/fix';
const ref = noteDedupRef('prod', 'PINC1', 'event-1');
const renderers = Object.entries(RENDERERS);

/** Where the property's AWS console links point: the regional console, with outside text in the fragment. */
const CONSOLE = 'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/';

/**
 * Links a note may carry: the account's own PagerDuty pages (as the fixtures serve them), the configured runbook, and
 * the AWS console pages of the incident's AWS context.
 */
function vouchedHref(href: string): boolean {
  return href === RUNBOOK || href.startsWith('https://acme.pagerduty.com/') || href.startsWith('https://eu-west-1.console.aws.amazon.com/');
}

function unvouchedElements(note: string): string[] {
  return renderers.flatMap(([name, renderer]) =>
    activeElementsOf(note, renderer)
      .filter((element) => !(element.startsWith('link ') && vouchedHref(element.slice('link '.length))))
      .map((element) => `${name}: ${element}`),
  );
}

function noteFor(context: IncidentContext, hypothesis?: Hypothesis): string {
  const policy = makeTriagePolicy({ rules: [makeRule({ id: 'disk', match: { title: 'disk' }, action: 'hold', runbook: RUNBOOK })] });
  const input: HypothesisNoteInput = {
    hypothesis: hypothesis ?? triageIncident(context, policy),
    context,
    agentName: 'pd-agent',
    env: 'prod',
    dedupRef: ref,
    pagedIfEscalated: { level: 1 },
    runbooks: [RUNBOOK],
  };
  return renderHypothesisNote(input);
}

describe('notes against the attacks named in the issue', () => {
  const backtickFlip = `\`\`\`[Open the fix runbook](${EVIL})\``;

  it.each([
    ['three backticks before a deceptive link', backtickFlip],
    ['three backticks before an image', '```![status](https://evil.example/pixel.png)`'],
    ['three backticks before raw HTML', '```<img src=x onerror=alert(1)><a href="https://evil.example">runbook</a>`'],
    ['a bare URL', `Fixed by following ${EVIL}`],
    ['a www address', 'see www.evil.example for the fix'],
    ['an autolink', `<${EVIL}>`],
    ['a reference-style link', `[Open the fix runbook][r] [r]: ${EVIL}`],
  ])('an alert summary with %s renders no element the agent did not write', (_name, summary) => {
    const context = makeIncidentContext({ incident: makeIncident({ title: 'Disk full on db-7' }), alerts: [makeAlert({ summary })] });
    const note = noteFor(context);
    expect(unvouchedElements(note)).toEqual([]);
    for (const [, renderer] of renderers) expect(plainTextOf(note, renderer)).toContain(oneLine(summary));
  });

  it('model output with the same tricks stays text', () => {
    const context = makeIncidentContext();
    const base = noteFor(context);
    const hypothesis: Hypothesis = {
      ...triageIncident(context, makeTriagePolicy()),
      summary: backtickFlip,
      nextSteps: ['```![i](https://evil.example/i.png)`', `Run the fix at ${EVIL}`],
      decisionReason: '```<script>alert(1)</script>`',
      evidence: [{ source: 'bedrock', text: 'see `` [runbook](https://evil.example) ``` x', link: EVIL }],
    };
    const note = noteFor(context, hypothesis);
    expect(base).not.toBe(note);
    expect(unvouchedElements(note)).toEqual([]);
  });

  it('a change event link the agent cannot vouch for is shown as text, not as a link', () => {
    const context = makeIncidentContext({
      changeEvents: [
        makeChangeEvent({ summary: 'Deployed api v2', timestamp: minutesBefore(3), links: [{ href: EVIL, text: 'release' }] }),
      ],
    });
    const note = noteFor(context);
    expect(unvouchedElements(note)).toEqual([]);
    for (const [, renderer] of renderers) expect(plainTextOf(note, renderer)).toContain(`unverified link: ${EVIL}`);
  });

  it('links the incident’s own PagerDuty pages and the configured runbook', () => {
    const incident = makeIncident({ title: 'Disk full on db-7' });
    const alert = makeAlert();
    const note = noteFor(makeIncidentContext({ incident, alerts: [alert] }));
    for (const [, renderer] of renderers) {
      const links = activeElementsOf(note, renderer);
      expect(links).toContain(`link ${RUNBOOK}`);
      expect(links).toContain(`link ${alert.html_url}`);
    }
  });

  it('a PagerDuty-looking URL that PagerDuty did not give the agent is not linked', () => {
    const lookalike = 'https://acme.pagerduty.com.evil.example/incidents/P1';
    const sameHost = 'https://acme.pagerduty.com/sign_in?next=https://evil.example';
    const context = makeIncidentContext({
      changeEvents: [
        makeChangeEvent({ timestamp: minutesBefore(3), links: [{ href: lookalike }] }),
        makeChangeEvent({ timestamp: minutesBefore(5), links: [{ href: sameHost }] }),
      ],
    });
    const note = noteFor(context);
    for (const [, renderer] of renderers) {
      const links = activeElementsOf(note, renderer);
      expect(links).not.toContain(`link ${lookalike}`);
      expect(links.filter((element) => element.includes('sign_in'))).toEqual([]);
    }
  });

  it('the checkout-api scenario shows the alarm, the code update 6 min before and the new TypeError as text, with console links', () => {
    const note = noteFor(scenarioContext());
    expect(unvouchedElements(note)).toEqual([]);
    for (const [, renderer] of renderers) {
      const shown = plainTextOf(note, renderer);
      expect(shown).toContain('CloudWatch alarm checkout-api-errors is ALARM');
      expect(shown).toContain(`On ${SCENARIO_FUNCTION_ARN} · region eu-west-1`);
      expect(shown).toContain('Errors stepped up from 0.2 to 14 at 03:11 UTC');
      expect(shown).toContain(
        '03:06 UTC, 6 min before the trigger: lambda:UpdateFunctionCode on checkout-api by deploy-role/github-actions (CloudTrail)',
      );
      expect(shown).toContain(
        `new 2026-03-10T03:10:12.345Z 9f0c1e2a ERROR Uncaught Exception ${SCENARIO_TYPE_ERROR} in ${SCENARIO_LOG_GROUP}`,
      );
      const links = activeElementsOf(note, renderer);
      for (const url of [SCENARIO_METRIC_URL, SCENARIO_CLOUDTRAIL_URL, SCENARIO_LOGS_URL])
        expect(links).toContain(`link ${renderer.normalizeLink(url)}`);
    }
  });

  it('the handback note keeps the reason inert', () => {
    const note = renderHandbackNote({ agentName: 'pd-agent', env: 'prod', reason: backtickFlip, dedupRef: ref });
    expect(unvouchedElements(note)).toEqual([]);
    for (const [, renderer] of renderers) expect(plainTextOf(note, renderer)).toContain(oneLine(backtickFlip));
  });
});

/** Pieces of hostile markdown, combined at random with random text. */
const HOSTILE_PIECES = [
  '`',
  '``',
  '```',
  '~~~',
  `[Open the fix runbook](${EVIL})`,
  `[x](<${EVIL}> "title")`,
  `![i](${EVIL}.png)`,
  '<img src=x onerror=alert(1)>',
  `<a href="${EVIL}">runbook</a>`,
  '<script>alert(1)</script>',
  '<!-- x -->',
  `<${EVIL}>`,
  '<mail@evil.example>',
  EVIL,
  'www.evil.example',
  'evil.example',
  'mail@evil.example',
  '//evil.example',
  'javascript:alert(1)',
  'https://acme.pagerduty.com.evil.example/x',
  `[r]: ${EVIL}`,
  '[r]',
  '[^1]',
  '# heading',
  '- item',
  '+ item',
  '1. item',
  '1) item',
  '> quote',
  '| a | b |',
  '|---|---|',
  '---',
  '===',
  '*',
  '**',
  '_',
  '__',
  '~~',
  '&lt;',
  '&#x5B;',
  '&amp;',
  '\\',
  '\n',
  '\r\n',
  '\n\n',
  '\t',
  '    ',
  '  \n',
  '\u202e',
  ':fire:',
  '$x$',
  ' ',
];

const hostileText = fc
  .array(fc.oneof(fc.constantFrom(...HOSTILE_PIECES), fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 6 })), {
    maxLength: 6,
  })
  .map((pieces) => pieces.join(''));

const hostileHref = fc.oneof(
  fc.constantFrom(
    EVIL,
    'javascript:alert(1)',
    'https://acme.pagerduty.com/sign_in?next=https://evil.example',
    'https://evil.example/a)b(c',
    'https://console.aws.amazon.com.evil.example/cloudwatch',
    'https://evil.example/console.aws.amazon.com/cloudwatch',
    'https://console.aws.amazon.com@evil.example/cloudwatch',
    'https://user:pass@console.aws.amazon.com/cloudwatch',
    'http://eu-west-1.console.aws.amazon.com/cloudwatch',
  ),
  hostileText,
);

/** A console URL the providers built, with outside text (an alarm or log group name) in it, or a hostile URL. */
const consoleHref = fc.oneof(
  hostileText.map((name) => `${CONSOLE}${name}`),
  hostileHref,
);

/** Every slot of a note that outside text reaches. */
const hostileSlots = fc.record({
  title: hostileText,
  serviceName: hostileText,
  policyName: hostileText,
  alertSummary: hostileText,
  detailKey: hostileText,
  detailValue: hostileText,
  changeSummary: hostileText,
  changeSource: hostileText,
  changeHref: hostileHref,
  resolutionNote: hostileText,
  oncallName: hostileText,
  unavailableReason: hostileText,
  modelSummary: hostileText,
  modelStep: hostileText,
  modelEvidence: hostileText,
  modelLink: hostileHref,
  modelReason: hostileText,
  alarmName: hostileText,
  alarmState: hostileText,
  metricNamespace: hostileText,
  metricName: hostileText,
  metricStatistic: hostileText,
  metricUnit: hostileText,
  dimensionName: hostileText,
  dimensionValue: hostileText,
  normalisedDetailKey: hostileText,
  normalisedDetailValue: hostileText,
  metricLabel: hostileText,
  sparkline: hostileText,
  metricUrl: consoleHref,
  changeWho: hostileText,
  changeTarget: hostileText,
  changeAction: hostileText,
  awsChangeSummary: hostileText,
  changeLink: consoleHref,
  logGroup: hostileText,
  logExample: hostileText,
  logSignature: hostileText,
  logUrl: consoleHref,
  alarmUrl: consoleHref,
  awsUnavailableReason: hostileText,
});
type Slots = typeof hostileSlots extends fc.Arbitrary<infer T> ? T : never;

/**
 * The note for an incident whose every outside field holds the slot's text: triaged by the rules and analysers, then
 * refined by a "model" whose output is hostile too. `plain` replaces every text (not URLs) by `x`, or by nothing
 * when the text shows as nothing: the elements of that note are the ones the agent writes.
 */
function hostileNote(slots: Slots, plain: boolean): string {
  // The plain twin keeps figures, comparison signs and spaces, since triage reads thresholds out of alert text and a
  // different reading would change which evidence lines the agent writes; everything else becomes one letter.
  const text = (value: string): string => (!plain ? value : oneLine(value) === '' ? '' : value.replace(/[^\d.%<>= ]+/g, 'x'));
  // The alert's details are what triage reads most closely (thresholds, units, resources): the twin keeps them as they
  // are, so both notes carry the same analysis; their inertness is still checked by the unvouched-element and
  // shown-as-text assertions below.
  const service = { ...SERVICE, summary: text(slots.serviceName) };
  const policy = { ...ESCALATION_POLICY, summary: text(slots.policyName) };
  const title = `Disk full ${text(slots.title)}`;
  const incident = makeIncident({ id: 'PINC1', title, service, escalation_policy: policy });
  const past = makePastIncident(daysBefore(2), { id: 'PPAST1', title, service, escalation_policy: policy });
  const context = makeIncidentContext({
    incident,
    alerts: [
      makeAlert({
        id: 'PALR1',
        summary: text(slots.alertSummary),
        body: { details: { error: slots.detailValue, [`${slots.detailKey}.host`]: 'db-7' } },
      }),
    ],
    recentIncidents: [past],
    resolutionNotes: { [past.id]: [text(slots.resolutionNote)] },
    changeEvents: [
      makeChangeEvent({
        id: 'PCHG1',
        summary: text(slots.changeSummary),
        source: text(slots.changeSource),
        timestamp: minutesBefore(10),
        links: [{ href: slots.changeHref }],
      }),
    ],
    oncalls: [makeOncall(text(slots.oncallName), { escalation_policy: policy })],
    unavailable: [{ source: 'changeEvents', reason: text(slots.unavailableReason) }],
    alert: {
      monitor: 'cloudwatch',
      name: text(slots.alarmName),
      state: text(slots.alarmState),
      metric: {
        namespace: text(slots.metricNamespace),
        name: text(slots.metricName),
        statistic: text(slots.metricStatistic),
        unit: text(slots.metricUnit),
      },
      threshold: { comparison: '>', value: 5 },
      observed: { value: 14, at: minutesBefore(1) },
      resource: { dimensions: { [text(slots.dimensionName)]: text(slots.dimensionValue) } },
      region: 'eu-west-1',
      // Prefixed so that no detail repeats another slot's value in one note and not in its plain twin.
      details: [{ key: `k.${text(slots.normalisedDetailKey)}`, value: `detail ${text(slots.normalisedDetailValue)}`, score: 0.9 }],
    },
    aws: {
      region: 'eu-west-1',
      alarm: { alarmName: text(slots.alarmName), alarmsLast24h: 3, flipsLast24h: 6, consoleUrl: slots.alarmUrl },
      metric: {
        metricLabel: text(slots.metricLabel),
        shape: 'climb',
        ratePerMinute: 1.3,
        minutesToExhaustion: 38,
        latest: 50,
        unit: text(slots.metricUnit),
        sparkline: text(slots.sparkline),
        consoleUrl: slots.metricUrl,
      },
      changes: [
        {
          at: minutesBefore(6),
          source: 'cloudtrail',
          action: text(slots.changeAction),
          who: text(slots.changeWho),
          target: text(slots.changeTarget),
          summary: text(slots.awsChangeSummary),
          onAlarmedResource: true,
          link: slots.changeLink,
        },
      ],
      logSurges: [
        {
          logGroup: text(slots.logGroup),
          signature: text(slots.logSignature),
          example: text(slots.logExample),
          countRecent: 57,
          countBefore: 0,
          isNew: true,
          consoleUrl: slots.logUrl,
        },
      ],
      unavailable: [{ source: 'logs', reason: text(slots.awsUnavailableReason) }],
    },
  });
  const policyWithRule = makeTriagePolicy({
    rules: [makeRule({ id: 'disk', match: { title: 'disk' }, action: 'hold', runbook: RUNBOOK })],
  });
  const rules = triageIncident(context, policyWithRule);
  const refined: Hypothesis = {
    ...rules,
    summary: text(slots.modelSummary),
    nextSteps: [...rules.nextSteps, text(slots.modelStep)],
    evidence: [...rules.evidence, { source: 'bedrock', text: text(slots.modelEvidence), link: slots.modelLink }],
    decisionReason: text(slots.modelReason),
    producedBy: 'bedrock',
  };
  return noteFor(context, refined);
}

describe('hostile notes, rendered', () => {
  it('have exactly the elements the agent writes, link only to vouched URLs, and show the outside text as text', () => {
    fc.assert(
      fc.property(hostileSlots, (slots: Slots) => {
        const note = hostileNote(slots, false);
        const agentsOwn = hostileNote(slots, true);
        expect(unvouchedElements(note)).toEqual([]);
        for (const [, renderer] of renderers) {
          expect(elementsOf(note, renderer).sort()).toEqual(elementsOf(agentsOwn, renderer).sort());
          const shown = plainTextOf(note, renderer);
          const shownSlots: [string, number][] = [
            [slots.modelSummary, 300],
            [slots.modelStep, 300],
            [slots.modelEvidence, 500],
            [slots.modelReason, 600],
            [slots.alertSummary, 120],
            [slots.policyName, 80],
            [slots.oncallName, 60],
            [slots.unavailableReason, 150],
            [slots.alarmName, 120],
            [slots.metricName, 100],
            [slots.dimensionValue, 80],
            [`detail ${slots.normalisedDetailValue}`, 200],
            [slots.metricLabel, 100],
            [slots.sparkline, 60],
            [slots.changeAction, 60],
            [slots.changeWho, 80],
            [slots.changeTarget, 80],
            [slots.awsChangeSummary, 160],
            [slots.logGroup, 100],
            [oneLine(slots.logExample) === '' ? slots.logSignature : slots.logExample, 240],
            [slots.awsUnavailableReason, 150],
          ];
          for (const [value, max] of shownSlots) expect(shown).toContain(truncate(oneLine(value), max));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('the handback note has only its own elements whatever the reason says', () => {
    fc.assert(
      fc.property(hostileText, hostileText, (reason, agentName) => {
        const note = renderHandbackNote({ agentName, env: 'prod', reason, dedupRef: ref });
        const agentsOwn = renderHandbackNote({ agentName: 'x', env: 'prod', reason: 'x', dedupRef: ref });
        for (const [, renderer] of renderers) {
          expect(activeElementsOf(note, renderer)).toEqual([]);
          expect(elementsOf(note, renderer)).toEqual(elementsOf(agentsOwn, renderer));
          expect(plainTextOf(note, renderer)).toContain(truncate(oneLine(reason), 600).replace(/\.$/, ''));
        }
      }),
      { numRuns: 200 },
    );
  });
});
