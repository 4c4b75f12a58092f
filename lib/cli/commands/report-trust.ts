import type { HoldoutComparison, HoldoutGroup } from '../../trust/holdout-report';
import type { RuleStanding } from '../../trust/demotion-store';
import { renderTable, type Colours } from '../output';

const percent = (value: number | null): string => (value === null ? '–' : `${Math.round(value * 100)}%`);

/** "4 min", "1 h 5 min". */
function minutes(ms: number | null): string {
  if (ms === null) return '–';
  const total = Math.round(ms / 60_000);
  return total < 60 ? `${total} min` : `${Math.floor(total / 60)} h ${total % 60} min`;
}

const groupCells = (name: string, group: HoldoutGroup): (string | number)[] => [
  name,
  group.incidents,
  `${group.peopleActed} (${percent(group.actedShare)})`,
  minutes(group.medianResolveMs),
];

/** Held against held-out, the resolved incidents a rule would keep (AGENT_CONFIG.trust.holdout). */
export function renderHoldout(comparison: HoldoutComparison, colours: Colours, colour: boolean): string {
  const heading = colours.bold('Held and held out (incidents a rule would keep, resolved in the range)');
  if (comparison.heldOut.incidents === 0 && comparison.held.incidents === 0) {
    return `${heading}\n${colours.dim('None yet.')}`;
  }
  return [
    heading,
    renderTable(
      ['', 'incidents', 'people had to act', 'median note to resolve'],
      [groupCells('held by the agent', comparison.held), groupCells('held out (left with on-call)', comparison.heldOut)],
      { colour },
    ),
    colours.dim('Few held-out incidents make a rough estimate: read it with the counts beside it.'),
  ].join('\n');
}

/** Demoted rules first, then the promoted ones with who promoted them. */
export function renderStandings(standings: readonly RuleStanding[], colours: Colours, colour: boolean): string {
  const demoted = standings.filter((standing) => standing.state === 'demoted');
  const heading = colours.bold(`Demoted rules: ${demoted.length}`);
  if (standings.length === 0) return heading;
  return [
    heading,
    renderTable(
      ['rule', 'state', 'since', 'why', 'incident', 'promoted by'],
      standings.map((standing) => [
        standing.ruleId,
        standing.state === 'demoted' ? colours.red('demoted') : 'promoted',
        (standing.state === 'demoted' ? standing.demotedAt : (standing.promotedAt ?? '')).slice(0, 16).replace('T', ' '),
        standing.reason,
        standing.incidentId,
        standing.promotedBy ?? '',
      ]),
      { colour },
    ),
    ...(demoted.length === 0 ? [] : [colours.dim('A demoted rule holds nothing; a person puts it back with pd-agent rule promote <id>.')]),
  ].join('\n');
}
