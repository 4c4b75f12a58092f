import { FilterLogEventsCommand, type FilteredLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import type { LogSurge } from '../evidence';
import type { ContextProvider, ProviderRunOptions } from '../provider';
import type { AwsProviderInput } from './aws-input';
import { awsRead } from './aws-failures';
import { logGroupConsoleUrl } from './console-links';
import { logSignature } from './log-signature';
import { redactLogLine } from './log-redaction';
import { logGroupsFor } from './mapping';

/**
 * Error lines that are new or surging in the minutes before the trigger: `FilterLogEvents` with an error pattern over
 * the last RECENT_MINUTES and, separately, the BASELINE_MINUTES before (two bounded scans, so a busy baseline never
 * starves the recent window of pages), compared signature by signature at the same rate per minute.
 */

export const ERROR_FILTER_PATTERN = '?ERROR ?Error ?error ?Exception ?FATAL ?"Task timed out" ?Traceback';
const RECENT_MINUTES = 10;
const BASELINE_MINUTES = 60;
const MAX_LOG_GROUPS = 3;
const PAGES_PER_SCAN = 2;
const EVENTS_PER_PAGE = 500;
const TOP = 3;
/** A known line surges when it comes this many times more often per minute than in the baseline. */
const SURGE_FACTOR = 3;
const MIN_RECENT_COUNT = 3;
const MAX_EXAMPLE_LENGTH = 300;
/** Characters of a log line read at all: well past the example and the signature (200), so masks never run short. */
const MAX_REDACTED_LENGTH = 4096;

async function scan(
  input: AwsProviderInput,
  logGroup: string,
  window: { start: number; end: number },
  { signal, requests }: ProviderRunOptions,
): Promise<FilteredLogEvent[]> {
  const { region, accountId } = input.scope;
  const events: FilteredLogEvent[] = [];
  let nextToken: string | undefined;
  let pages = 0;
  do {
    if (requests.remaining === 0) break;
    requests.take('logs:FilterLogEvents');
    const page = await awsRead(
      { action: 'logs:FilterLogEvents', resource: `arn:aws:logs:${region}:${accountId ?? '<account>'}:log-group:${logGroup}` },
      () =>
        input.clients.logs.send(
          new FilterLogEventsCommand({
            logGroupName: logGroup,
            startTime: window.start,
            endTime: window.end,
            filterPattern: ERROR_FILTER_PATTERN,
            limit: EVENTS_PER_PAGE,
            nextToken,
          }),
          { abortSignal: signal },
        ),
    );
    pages += 1;
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken !== undefined && pages < PAGES_PER_SCAN);
  return events;
}

/** How unexpected the recent count is against the baseline's rate: the ranking of surges across log groups. */
const surpriseOf = (surge: Pick<LogSurge, 'countRecent' | 'countBefore'>): number =>
  surge.countRecent / ((surge.countBefore * RECENT_MINUTES) / BASELINE_MINUTES + 1);

const bySurprise = (a: LogSurge, b: LogSurge): number => surpriseOf(b) - surpriseOf(a) || b.countRecent - a.countRecent;

interface Tally {
  count: number;
  example: string;
  firstAt?: number;
}

function tally(events: readonly FilteredLogEvent[]): Map<string, Tally> {
  const bySignature = new Map<string, Tally>();
  for (const event of events) {
    // Redacted before anything is kept (the example line and the signature both reach the note), and only the head of
    // the line: a 256 KB event would cost RE2 a second, and nothing past the head reaches the note.
    const message = redactLogLine((event.message ?? '').slice(0, MAX_REDACTED_LENGTH));
    const signature = logSignature(message);
    if (signature === '') continue;
    const entry = bySignature.get(signature) ?? { count: 0, example: message.trim().slice(0, MAX_EXAMPLE_LENGTH) };
    entry.count += 1;
    if (event.timestamp !== undefined && (entry.firstAt === undefined || event.timestamp < entry.firstAt)) entry.firstAt = event.timestamp;
    bySignature.set(signature, entry);
  }
  return bySignature;
}

/** New or surging signatures of one log group, most surprising first. */
export function surgesOf(
  logGroup: string,
  recent: readonly FilteredLogEvent[],
  baseline: readonly FilteredLogEvent[],
  consoleUrl: string,
): LogSurge[] {
  const before = tally(baseline);
  const surges: LogSurge[] = [];
  for (const [signature, now] of tally(recent)) {
    const countBefore = before.get(signature)?.count ?? 0;
    const expected = (countBefore * RECENT_MINUTES) / BASELINE_MINUTES;
    const isNew = countBefore === 0;
    if (!isNew && (now.count < MIN_RECENT_COUNT || now.count < SURGE_FACTOR * expected)) continue;
    surges.push({
      logGroup,
      signature,
      example: now.example,
      countRecent: now.count,
      countBefore,
      isNew,
      firstSeenAt: isNew && now.firstAt !== undefined ? new Date(now.firstAt).toISOString() : undefined,
      consoleUrl,
    });
  }
  return surges.sort(bySurprise);
}

export const logSurgeProvider: ContextProvider<AwsProviderInput, LogSurge[] | undefined> = {
  name: 'logs',
  needs: [],
  budget: { timeMs: 4000, requests: MAX_LOG_GROUPS * 2 * PAGES_PER_SCAN },
  async run(input, options) {
    const groups = logGroupsFor(input.alert, input.scope).groups.slice(0, MAX_LOG_GROUPS);
    if (groups.length === 0) return undefined;
    const end = input.triggeredAt.getTime();
    const split = end - RECENT_MINUTES * 60_000;
    const start = split - BASELINE_MINUTES * 60_000;
    const perGroup = await Promise.all(
      groups.map(async (group) => {
        const [recent, baseline] = await Promise.all([
          scan(input, group, { start: split, end }, options),
          scan(input, group, { start, end: split - 1 }, options),
        ]);
        return surgesOf(group, recent, baseline, logGroupConsoleUrl(input.scope.region, group, ERROR_FILTER_PATTERN));
      }),
    );
    return perGroup.flat().sort(bySurprise).slice(0, TOP);
  },
};
