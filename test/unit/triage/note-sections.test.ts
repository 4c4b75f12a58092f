import type { ChangeRecord, LogSurge, MetricBehaviour, NormalisedAlert } from '../../../lib/context/evidence';
import { fitted, section, type NoteSection } from '../../../lib/triage/note-fit';
import { alertSection } from '../../../lib/triage/note-alert';
import { alarmHistoryLines, changesSection, logsSection, metricSection, metricShapeInWords } from '../../../lib/triage/note-aws';
import {
  MAX_LINE_LENGTH,
  MAX_NOTE_LENGTH,
  noteContainsRef,
  noteDedupRef,
  renderHypothesisNote,
  type HypothesisNoteInput,
} from '../../../lib/triage/note';
import { VouchedLinks, type NoteText } from '../../../lib/triage/plain-text';
import { triageIncident } from '../../../lib/triage/triage';
import { timeOf } from '../../../lib/triage/text';
import type { IncidentContext } from '../../../lib/triage/types';
import { SCENARIO_AWS, SCENARIO_CLOUDTRAIL_URL, SCENARIO_LOGS_URL, SCENARIO_METRIC_URL, scenarioContext } from '../../support/aws-scenario';
import { INCIDENT_CREATED_AT, makeIncidentContext, makeTriagePolicy, minutesBefore } from '../../support/incident-context';

const trigger = timeOf(INCIDENT_CREATED_AT);
const links = VouchedLinks.forIncident(makeIncidentContext({ aws: SCENARIO_AWS }), []);
const ref = noteDedupRef('prod', 'PINC1', 'event-1');

function noteFor(context: IncidentContext, overrides: Partial<HypothesisNoteInput> = {}): string {
  return renderHypothesisNote({
    hypothesis: triageIncident(context, makeTriagePolicy()),
    context,
    agentName: 'pd-agent',
    env: 'prod',
    dedupRef: ref,
    pagedIfEscalated: { level: 1 },
    runbooks: [],
    ...overrides,
  });
}

describe('What the alert says', () => {
  it('gives monitor, metric, threshold, observed value, resource and where, then the telling details not already shown', () => {
    expect(alertSection(scenarioContext().alert, links)).toEqual([
      '- CloudWatch alarm “checkout-api-errors” is ALARM',
      '- Metric: AWS/Lambda Errors, SUM over 60 s; threshold > 5; observed 14 at 03:11 UTC',
      '- On arn:aws:lambda:eu-west-1:123456789012:function:checkout-api · region eu-west-1 · account 123456789012',
      '- AlarmDescription: “checkout-api is throwing errors”',
      '- NewStateReason: “Threshold Crossed: 1 datapoint [14.0 (10/03/26 03:11:00)] was greater than the threshold (5.0) (minimum 1 datapoint for OK -> ALARM transition).”',
      '- OldStateValue: “OK”',
    ]);
  });

  it('names the resource by its dimensions when the alert has no ARN, and skips noise', () => {
    const alert: NormalisedAlert = {
      monitor: 'prometheus',
      name: 'DiskAlmostFull',
      state: 'firing',
      metric: { name: 'node_filesystem_avail_bytes', unit: 'Percent' },
      threshold: { comparison: '<', value: 10 },
      observed: { value: 4.567 },
      resource: { dimensions: { instance: 'db-7:9100', mountpoint: '/var/lib/postgresql' } },
      details: [
        { key: 'labels.instance', value: 'db-7:9100', score: 0.9 },
        { key: 'annotations.summary', value: 'Disk on db-7 will be full soon', score: 0.85 },
        { key: 'fingerprint', value: '3f2a9c1b7d6e5f40', score: 0.15 },
        { key: 'startsAt', value: '2026-03-10T03:11:00Z', score: 0.1 },
      ],
    };
    expect(alertSection(alert, links)).toEqual([
      '- Prometheus alert “DiskAlmostFull” is firing',
      '- Metric: node_filesystem_avail_bytes; threshold < 10%; observed 4.57%',
      '- On instance=db-7:9100, mountpoint=/var/lib/postgresql',
      '- annotations[.]summary: “Disk on db-7 will be full soon”',
    ]);
  });

  it('is left out when the monitor said nothing the note can show', () => {
    expect(alertSection(undefined, links)).toEqual([]);
    expect(alertSection({ monitor: 'generic', details: [{ key: 'x', value: '', score: 0 }] }, links)).toEqual([]);
  });
});

describe('What the metric did', () => {
  const base: MetricBehaviour = { metricLabel: 'Errors', shape: 'step', sparkline: '▁▁▇█', consoleUrl: SCENARIO_METRIC_URL };

  it('puts the shape in words with the sparkline, and the console page on its own line', () => {
    expect(metricSection(SCENARIO_AWS.metric, links)).toEqual([
      '- Errors stepped up from 0.2 to 14 at 03:11 UTC ▁▁▁▁▁▁▁▁▁▁▇███',
      `  ${SCENARIO_METRIC_URL}`,
    ]);
  });

  it('links the alarm’s page rather than a long metrics query', () => {
    const query = `https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#metricsV2:graph=${'%7B'.repeat(150)}`;
    const context = makeIncidentContext({ aws: { ...SCENARIO_AWS, metric: { ...SCENARIO_AWS.metric!, consoleUrl: query } } });
    const withQuery = VouchedLinks.forIncident(context, []);
    const metric = context.aws!.metric;
    expect(metricSection(metric, withQuery, SCENARIO_AWS.alarm!.consoleUrl)[1]).toBe(`  ${SCENARIO_AWS.alarm!.consoleUrl}`);
    expect(metricSection(metric, withQuery)).toHaveLength(1);
  });

  it.each<[string, Partial<MetricBehaviour>, string]>([
    [
      'a capacity climb',
      { shape: 'climb', ratePerMinute: 1.3, latest: 50.6, minutesToExhaustion: 37.9, unit: 'Percent' },
      'climbing 1.3%/min, now 50.6%; full in about 38 min at this rate',
    ],
    [
      'a drop towards empty',
      { shape: 'drop', ratePerMinute: -120, latest: 4000, minutesToExhaustion: 33, unit: 'Megabytes' },
      'dropping 120 MB/min, now 4000 MB; exhausted in about 33 min at this rate',
    ],
    [
      'a step down',
      { shape: 'step', baseline: 900, latest: 3, crossedAt: '2026-03-10T03:09:30Z' },
      'stepped down from 900 to 3 at 03:09 UTC',
    ],
    ['a spike', { shape: 'spike', baseline: 120, latest: 2400, unit: 'Milliseconds' }, 'spiked from 120 ms to 2400 ms'],
    [
      'a spike that came back, as the change-point analysis placed it',
      {
        shape: 'spike',
        baseline: 5,
        latest: 4,
        unit: 'Seconds',
        excursion: { peakAt: '2026-12-07T22:41:00Z', peak: 950, backAt: '2026-12-07T22:43:00Z', backTo: 5 },
      },
      'spiked to 950 s at 22:41 UTC, back to 5 s by 22:43 UTC',
    ],
    [
      'a step placed in time',
      { shape: 'step', baseline: 0, latest: 42, levelChange: { at: '2026-12-07T23:02:00Z', before: 0.2, after: 42 } },
      'stepped from ~0 to 42 at 23:02 UTC',
    ],
    ['a steady series', { shape: 'steady', latest: 3 }, 'steady at 3'],
    ['a noisy series', { shape: 'noisy', latest: 0.1234, unit: 'Seconds' }, 'noisy, latest at 0.12 s'],
    ['no data', { shape: 'no-data' }, 'sent no data in the window'],
    ['an outside unit', { shape: 'steady', latest: 7, unit: 'Widgets*' }, 'steady at 7 Widgets*'],
  ])('describes %s', (_name, metric, words) => {
    expect(metricShapeInWords({ ...base, ...metric })).toBe(words);
  });

  it('leaves out a console link the agent does not vouch for', () => {
    const lines = metricSection({ ...base, consoleUrl: 'https://console.aws.amazon.com.evil.example/x' }, links);
    expect(lines).toEqual(['- Errors stepped up ▁▁▇█']);
  });
});

describe('What changed', () => {
  function change(minutes: number, overrides: Partial<ChangeRecord> = {}): ChangeRecord {
    return {
      at: minutesBefore(minutes),
      source: 'cloudtrail',
      action: 'ec2:AuthorizeSecurityGroupIngress',
      who: 'alice',
      target: `sg-${minutes}`,
      summary: '',
      onAlarmedResource: false,
      ...overrides,
    };
  }

  it('is a timeline, newest last, with the trigger as the reference and the alarmed resource marked', () => {
    const lines = changesSection(
      [
        SCENARIO_AWS.changes[0],
        change(25, { source: 'pagerduty', action: 'github-actions', who: undefined, target: undefined, summary: 'Deployed web v9' }),
        change(-2),
      ],
      trigger,
      links,
    );
    expect(lines).toEqual([
      '- 02:47 UTC, 25 min before the trigger: github-actions (PagerDuty change event): “Deployed web v9”',
      '- 03:06 UTC, 6 min before the trigger: lambda:UpdateFunctionCode on checkout-api by deploy-role/github-actions (CloudTrail, on the alarmed resource): “Published version 42”',
      `  ${SCENARIO_CLOUDTRAIL_URL}`,
      '- 03:14 UTC, 2 min after the trigger: ec2:AuthorizeSecurityGroupIngress on sg--2 by alice (CloudTrail)',
    ]);
  });

  it('keeps at most five, the alarmed resource and the closest first, and says how many more', () => {
    const changes = [change(50, { onAlarmedResource: true }), ...[1, 2, 3, 4, 5, 6, 7].map((minutes) => change(minutes))];
    const lines = changesSection(changes, trigger, links);
    expect(lines).toHaveLength(6);
    expect(lines.slice(0, 5).map((line) => /sg-(\d+)/.exec(line)?.[1])).toEqual(['50', '4', '3', '2', '1']);
    expect(lines[5]).toBe('- …and 3 more');
  });
});

describe('New errors in logs', () => {
  function surge(overrides: Partial<LogSurge>): LogSurge {
    return { ...SCENARIO_AWS.logSurges[0], ...overrides };
  }

  it('shows the top three, new first, with counts, the example quoted, the log group and the console page', () => {
    const lines = logsSection(
      [
        surge({ isNew: false, countRecent: 400, countBefore: 12, example: 'Task timed out after 3.00 seconds', firstSeenAt: undefined }),
        surge({ isNew: false, countRecent: 20, countBefore: 2, example: 'ECONNRESET' }),
        SCENARIO_AWS.logSurges[0],
        surge({ isNew: false, countRecent: 10, countBefore: 2, example: 'least' }),
      ],
      links,
    );
    expect(lines).toEqual([
      "- new: “2026-03-10T03:10:12.345Z 9f0c1e2a ERROR Uncaught Exception TypeError: Cannot read properties of undefined (reading 'amount')” in /aws/lambda/checkout-api, 57 recently vs 0 before, first at 03:10 UTC",
      `  ${SCENARIO_LOGS_URL}`,
      '- surging: “Task timed out after 3.00 seconds” in /aws/lambda/checkout-api, 400 recently vs 12 before',
      `  ${SCENARIO_LOGS_URL}`,
      '- surging: “ECONNRESET” in /aws/lambda/checkout-api, 20 recently vs 2 before, first at 03:10 UTC',
      `  ${SCENARIO_LOGS_URL}`,
    ]);
  });

  it('shows the signature when there is no example line', () => {
    expect(logsSection([surge({ example: ' ', consoleUrl: 'https://evil.example/logs' })], links)[0]).toBe(
      "- new: “TypeError: Cannot read properties of undefined (reading '<*>')” in /aws/lambda/checkout-api, 57 recently vs 0 before, first at 03:10 UTC",
    );
  });
});

describe('Alarm history', () => {
  it('says how often the alarm fired in a day, only when it fired more than this once, with its page unless shown above', () => {
    const alarm = { alarmName: 'checkout-api-errors', alarmsLast24h: 4, flipsLast24h: 8, consoleUrl: SCENARIO_METRIC_URL };
    const line = '- This alarm went into ALARM 4 times in the last 24 h (8 state changes).';
    expect(alarmHistoryLines(alarm, links, false)).toEqual([line, `  ${SCENARIO_METRIC_URL}`]);
    expect(alarmHistoryLines(alarm, links, true)).toEqual([line]);
    expect(alarmHistoryLines({ ...alarm, alarmsLast24h: 1 }, links, false)).toEqual([]);
    expect(alarmHistoryLines(undefined, links, false)).toEqual([]);
  });
});

describe('the scenario note', () => {
  it('orders the sections after the decision, and does not repeat the likely-cause evidence they show', () => {
    const aws = { ...SCENARIO_AWS, alarm: { ...SCENARIO_AWS.alarm!, alarmsLast24h: 3 } };
    const note = noteFor(scenarioContext({ aws }));
    const headings = [
      'Likely cause: ',
      'Decision: ',
      'First: ',
      'What the alert says',
      'What the metric did',
      'What changed',
      'New errors in logs',
      'History',
      'Next steps',
      'Paged if it escalates: ',
    ];
    const lines = note.split('\n');
    const positions = headings.map((heading) => lines.findIndex((line) => line.startsWith(heading)));
    expect(positions.every((position) => position >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(note).not.toContain('Log surge:');
    expect(note).not.toContain('Change on the alarmed resource:');
    expect(note).toMatch(/\n\nEvidence\n- 1 alert \(1 triggered, 0 resolved\)/);
  });

  it('lists the AWS sources the providers could not read with the PagerDuty ones', () => {
    const aws = {
      ...SCENARIO_AWS,
      unavailable: [
        { source: 'changes' as const, reason: 'AccessDeniedException: not authorized to perform cloudtrail:LookupEvents' },
        { source: 'logs' as const, reason: 'timed out after 2000 ms' },
      ],
    };
    const note = noteFor(scenarioContext({ aws, unavailable: [{ source: 'changeEvents', reason: 'HTTP 402' }] }));
    expect(note).toContain(
      '\nCould not read: change events (“HTTP 402”); CloudTrail changes (“AccessDeniedException: not authorized to perform cloudtrail:LookupEvents”); logs (“timed out after 2000 ms”)\n',
    );
  });

  it('fits a note with every section at its longest by leaving out the least telling first, and keeps the footer', () => {
    const longUrl = (path: string): string => `https://eu-west-1.console.aws.amazon.com/${path}#${'q'.repeat(280 - path.length - 43)}`;
    const long = 'y'.repeat(600);
    const aws = {
      ...SCENARIO_AWS,
      alarm: { ...SCENARIO_AWS.alarm!, alarmsLast24h: 3, consoleUrl: longUrl('cloudwatch/alarm') },
      metric: { ...SCENARIO_AWS.metric!, metricLabel: long, consoleUrl: longUrl('cloudwatch/metric') },
      changes: [1, 2, 3, 4, 5].map((minutes) => ({
        ...SCENARIO_AWS.changes[0],
        at: minutesBefore(minutes),
        who: long,
        target: long,
        summary: long,
        link: longUrl(`cloudtrail/${minutes}`),
      })),
      unavailable: (['alarm', 'metric', 'changes', 'logs'] as const).map((source) => ({ source, reason: long })),
      logSurges: [1, 2, 3].map((index) => ({
        ...SCENARIO_AWS.logSurges[0],
        example: `${index} ${long}`,
        logGroup: long,
        consoleUrl: longUrl(`logs/${index}`),
      })),
    };
    const unavailable = (['alerts', 'recentIncidents', 'resolutionNotes', 'changeEvents', 'oncalls'] as const).map((source) => ({
      source,
      reason: long,
    }));
    const context = scenarioContext({ aws, unavailable });
    const rules = triageIncident(context, makeTriagePolicy());
    const hypothesis = {
      ...rules,
      summary: long,
      decisionReason: long,
      evidence: Array.from({ length: 20 }, (_, index) => ({ source: 'recurrence', text: `${index} ${long}` })),
      nextSteps: Array.from({ length: 12 }, (_, index) => `${index} ${long}`),
    };
    const note = noteFor(context, { hypothesis });
    expect(note.length).toBeLessThanOrEqual(MAX_NOTE_LENGTH);
    expect(noteContainsRef(note, ref)).toBe(true);
    expect(Math.max(...note.split('\n').map((line) => line.length))).toBeLessThanOrEqual(MAX_LINE_LENGTH);
    expect(note.split('\n')[0].length).toBeLessThanOrEqual(160);
    const leftOut = /^Left out to fit the note size: (.*)\.$/m.exec(note)?.[1]?.split(', ');
    // Least telling first: what is left out is always the start of the drop order, whatever order the note shows.
    const dropOrder = [
      'History',
      'Evidence',
      'What the metric did',
      'What the alert says',
      'New errors in logs',
      'Unavailable sources',
      'Next steps',
      'What changed',
    ];
    expect(leftOut?.length).toBeGreaterThanOrEqual(2);
    expect([...(leftOut ?? [])].sort()).toEqual(dropOrder.slice(0, leftOut?.length).sort());
    for (const label of ['Likely cause: ', 'Decision: ', 'First: ', 'Paged if it escalates: '])
      expect(note.split('\n').some((line) => line.startsWith(label))).toBe(true);
    expect(note).not.toContain('…\n\n—');

    const fewer = { ...hypothesis, evidence: hypothesis.evidence.slice(0, 1), nextSteps: hypothesis.nextSteps.slice(0, 1) };
    const shorter = noteFor(scenarioContext({ aws: SCENARIO_AWS }), { hypothesis: fewer });
    expect(shorter.split('\n')).toContain('Evidence');
    expect(shorter).not.toContain('Left out');
  });
});

describe('fitted', () => {
  const part = (title: string, length: number, dropOrder?: number): NoteSection =>
    section(title as NoteText, ['x'.repeat(length) as NoteText], dropOrder);

  it('drops sections in their drop order until the rest fits, never those without one', () => {
    const sections = [part('Head', 100), part('C', 100, 3), part('A', 100, 1), part('B', 100, 2)];
    expect(fitted(sections, 10_000)).not.toContain('Left out');
    const fit = fitted(sections, 330).split('\n');
    expect(fit).toContain('C');
    expect(fit).not.toContain('A');
    expect(fit).not.toContain('B');
    expect(fit.at(-1)).toBe('Left out to fit the note size: A, B.');
    expect(fitted(sections, 10).split('\n')).toContain('Head');
  });
});
