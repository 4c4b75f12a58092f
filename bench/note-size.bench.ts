import { loadCases, contextOf } from '../test/eval/run-eval';
import { renderHypothesisNote, noteDedupRef } from '../lib/triage/note';
import { triageIncident } from '../lib/triage/triage';
import { agentConfigSchema } from '../lib/config/agent-config';

/**
 * `npm run bench note-size`: the note each labelled evaluation case gets (test/eval/cases), measured as the on-call
 * reads it: its length (max, p50), its longest line, and its longest URL.
 */

function percentile(sorted: readonly number[], share: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))] ?? 0;
}

export async function run(): Promise<void> {
  const lengths: number[] = [];
  let longestLine = 0;
  let longestUrl = 0;
  const defaults = agentConfigSchema.parse({}).triage;
  for (const testCase of loadCases()) {
    const context = contextOf(testCase);
    const rules = testCase.rules ?? [];
    const note = renderHypothesisNote({
      hypothesis: triageIncident(context, { ...defaults, rules }),
      context,
      agentName: 'pd-agent',
      env: 'prod',
      dedupRef: noteDedupRef('prod', context.incident.id, testCase.id),
      pagedIfEscalated: { level: 1 },
      runbooks: rules.flatMap((rule) => (rule.runbook === undefined ? [] : [rule.runbook])),
    });
    lengths.push(note.length);
    longestLine = Math.max(longestLine, ...note.split('\n').map((line) => line.length));
    longestUrl = Math.max(longestUrl, ...[...note.matchAll(/https?:\/\/[^\s)]+/g)].map((match) => match[0].length));
  }
  lengths.sort((a, b) => a - b);
  console.log(
    `${lengths.length} eval cases: note length max ${lengths.at(-1) ?? 0}, p50 ${percentile(lengths, 0.5)}; longest line ${longestLine}; longest URL ${longestUrl}`,
  );
  await Promise.resolve();
}
