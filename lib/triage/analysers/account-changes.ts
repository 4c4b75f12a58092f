import type { Evidence, Finding, IncidentContext } from '../types';
import { humanDuration, oneLine, timeOf, truncate } from '../text';
import { triggerTime } from '../trigger-time';
import type { Analyser } from './analyser';

/**
 * The last hour's write events elsewhere in the account and region (security groups, IAM, network, scaling,
 * parameters, configuration), as the change provider's account-wide lookup found them: listed for the responder,
 * apart from the likely cause, with weight 0. They are never promoted to the cause: nothing ties them to the alarm.
 */

const ANALYSER = 'account-changes';
const MAX_LISTED = 5;

export const accountChanges: Analyser = (context: IncidentContext): Finding | null => {
  const changes = context.aws?.accountChanges ?? [];
  if (changes.length === 0) return null;
  const trigger = triggerTime(context);
  const newestFirst = [...changes].sort((a, b) => timeOf(b.at) - timeOf(a.at));
  const evidence: Evidence[] = newestFirst.slice(0, MAX_LISTED).map((change) => {
    const target = change.target === undefined ? '' : ` on ${truncate(oneLine(change.target), 80)}`;
    const who = change.who === undefined ? '' : ` by ${truncate(oneLine(change.who), 60)}`;
    const gap = trigger - timeOf(change.at);
    const when = Number.isFinite(gap) ? ` ${humanDuration(gap)} ${gap >= 0 ? 'before' : 'after'} the trigger` : '';
    return {
      source: ANALYSER,
      text: `Elsewhere in the account (not weighed): ${truncate(oneLine(change.action), 60)}${target}${who}${when}`,
      ...(change.link === undefined ? {} : { link: change.link }),
    };
  });
  if (changes.length > MAX_LISTED)
    evidence.push({ source: ANALYSER, text: `and ${changes.length - MAX_LISTED} more write events in the account` });
  return {
    analyser: ANALYSER,
    summary: `${changes.length} write event${changes.length === 1 ? '' : 's'} elsewhere in the account in the hour before the trigger (not weighed)`,
    weight: 0,
    evidence,
    nextSteps: [],
  };
};
