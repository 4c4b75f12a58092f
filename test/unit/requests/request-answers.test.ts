import fc from 'fast-check';
import type { AwsContext } from '../../../lib/context/evidence';
import { answerNote, changesLines, logsLines, metricLines, whyLines } from '../../../lib/requests/request-answers';
import type { NoteText } from '../../../lib/triage/plain-text';
import { hostileText } from '../../support/hostile-text';
import { activeElementsOf, linkifiedUrls, RENDERERS } from '../../support/markdown-render';

const footer = { agentName: 'pd-agent', env: 'prod', ref: 'pda-0123456789' };
const AGENT_LINE_STARTS =
  /^(pd-agent answers |- |\d+ change|No |Not read|The |Error surges|Recent periods|At the current|Run again|Likely cause|Evidence now|Metric |-- |$)/;

function awsWith(text: string): AwsContext {
  return {
    region: 'eu-west-1',
    changes: [{ at: '2026-03-01T10:40:00Z', source: 'pagerduty', action: text, summary: text, onAlarmedResource: false }],
    logSurges: [
      {
        logGroup: text,
        signature: text,
        example: text,
        countRecent: 9,
        countBefore: 0,
        isNew: true,
        consoleUrl: 'https://console.aws.amazon.com/x',
      },
    ],
    metric: { metricLabel: text, shape: 'step', latest: 12, unit: text, sparkline: text, consoleUrl: 'https://console.aws.amazon.com/x' },
    unavailable: [{ source: 'changes', reason: text }],
  };
}

describe('request answers with hostile outside text', () => {
  it('keep every line within 300 characters, never start a line with outside text, and make no link anywhere', () => {
    fc.assert(
      fc.property(hostileText, fc.string({ maxLength: 400 }), (hostile, long) => {
        const text = `${hostile}${long}`;
        const aws = awsWith(text);
        const lines: NoteText[] = [
          ...changesLines(aws, 360),
          ...logsLines(aws, 30),
          ...metricLines(aws, { comparison: '>', value: 5 }),
          ...whyLines(
            {
              summary: text,
              confidence: 0.5,
              evidence: [{ source: text, text }],
              nextSteps: [],
              decision: 'escalate',
              decisionReason: text,
              producedBy: 'rules',
            },
            { kind: 'recent-change', summary: text, change: { id: 'c', summary: text, isDeploy: true } },
          ),
        ];
        const note = answerNote('pd-agent', 'pd-agent: why' as NoteText, lines, footer);
        for (const line of note.split('\n')) {
          expect(line.length).toBeLessThanOrEqual(300);
          expect(line).toMatch(AGENT_LINE_STARTS);
        }
        expect(linkifiedUrls(note)).toEqual([]);
        expect(activeElementsOf(note, RENDERERS['markdown-it (html, linkify)'])).toEqual([]);
      }),
      { numRuns: 300, seed: 18 },
    );
  });
});
