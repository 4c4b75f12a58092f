import { parseFeedback } from '../outcomes/verdict';

/**
 * A note beginning `pd-agent:` (any case, after leading whitespace) asks the agent something (docs/how-it-works.md
 * "Ask it in the timeline"). Pure: the note's text in, one of a few known kinds out, never a throw. `pd-agent: right`
 * and `pd-agent: wrong` stay feedback (lib/outcomes/verdict.ts). Names in a request are only shapes here: whether the
 * agent may read them is decided against the service's mapping when the request is answered, never from the note.
 */
export type RequestVerb = 'recheck' | 'changes' | 'logs' | 'metric' | 'why' | 'stop' | 'help';

export type AgentRequest =
  | { verb: 'recheck' | 'why' | 'stop' | 'help' }
  | { verb: 'changes'; windowMinutes: number }
  | { verb: 'logs'; windowMinutes: number; logGroup?: string }
  | { verb: 'metric'; metricName?: string };

export type ParsedNote =
  | { kind: 'not-a-request' }
  | { kind: 'feedback' }
  | { kind: 'request'; request: AgentRequest }
  /** `reason` is the agent's own sentence (it never repeats the note's text). */
  | { kind: 'malformed'; reason: string };

export const REQUEST_VERBS: readonly RequestVerb[] = ['recheck', 'changes', 'logs', 'metric', 'why', 'stop', 'help'];
/** Longer notes are not read as requests past this many characters. */
export const MAX_REQUEST_CHARS = 600;
export const MAX_WINDOW_MINUTES = 24 * 60;
export const DEFAULT_CHANGES_MINUTES = 6 * 60;
export const DEFAULT_LOGS_MINUTES = 30;
const MAX_NAME_CHARS = 512;

const PREFIX = /^\s*pd-agent\s*:/i;
const WINDOW = /^(\d{1,5})(m|min|h)$/i;
/** CloudWatch's own characters for log group names, and the metric names' printable ones without spaces. */
const LOG_GROUP = /^[A-Za-z0-9_./#-]+$/;
const METRIC_NAME = /^[A-Za-z0-9_./:#-]+$/;

export const UNDERSTOOD =
  'pd-agent: recheck | changes [window] | logs [log group] [window] | metric [name] | why | stop | help (windows like 30m or 6h, at most 24h)';

const malformed = (reason: string): ParsedNote => ({ kind: 'malformed', reason });

/** `30m`, `90min`, `6h` as minutes; a string saying what is wrong otherwise. */
function windowOf(word: string): number | string {
  const match = WINDOW.exec(word);
  if (match === null) return 'a window is a number of minutes or hours, like 30m or 6h';
  const minutes = Number(match[1]) * (match[2]?.toLowerCase() === 'h' ? 60 : 1);
  if (minutes < 1) return 'a window is at least 1 minute';
  if (minutes > MAX_WINDOW_MINUTES) return 'a window is at most 24h';
  return minutes;
}

function parseArguments(verb: RequestVerb, words: string[]): ParsedNote {
  switch (verb) {
    case 'stop':
      // Whatever follows is the person's reason: follow-ups stop on any note that begins so (lib/followup/stop-request.ts).
      return { kind: 'request', request: { verb } };
    case 'recheck':
    case 'why':
    case 'help':
      return words.length === 0 ? { kind: 'request', request: { verb } } : malformed(`${verb} takes nothing after it`);
    case 'changes': {
      if (words.length > 1) return malformed('changes takes at most a window, like 6h');
      const window = words[0] === undefined ? DEFAULT_CHANGES_MINUTES : windowOf(words[0]);
      return typeof window === 'string' ? malformed(window) : { kind: 'request', request: { verb, windowMinutes: window } };
    }
    case 'logs': {
      if (words.length > 2) return malformed('logs takes at most a log group and a window, like logs /aws/lambda/checkout 30m');
      const last = words[words.length - 1];
      const lastIsWindow = last !== undefined && WINDOW.test(last);
      const window = lastIsWindow ? windowOf(last) : DEFAULT_LOGS_MINUTES;
      if (typeof window === 'string') return malformed(window);
      const named = lastIsWindow ? words.slice(0, -1) : words;
      if (named.length > 1) return malformed('logs takes one log group, then an optional window like 30m');
      const logGroup = named[0];
      if (logGroup === undefined) return { kind: 'request', request: { verb, windowMinutes: window } };
      if (logGroup.length > MAX_NAME_CHARS || !LOG_GROUP.test(logGroup))
        return malformed('a log group name has letters, digits and _ . / # - only, at most 512 of them');
      return { kind: 'request', request: { verb, windowMinutes: window, logGroup } };
    }
    case 'metric': {
      if (words.length > 1) return malformed('metric takes at most one metric name');
      const metricName = words[0];
      if (metricName === undefined) return { kind: 'request', request: { verb } };
      if (metricName.length > MAX_NAME_CHARS || !METRIC_NAME.test(metricName))
        return malformed('a metric name has letters, digits and _ . / : # - only, at most 512 of them');
      return { kind: 'request', request: { verb, metricName } };
    }
  }
}

/** What a note asks of the agent, if anything. */
export function parseRequest(content: string): ParsedNote {
  if (!PREFIX.test(content)) return { kind: 'not-a-request' };
  if (parseFeedback(content) !== null) return { kind: 'feedback' };
  if (content.length > MAX_REQUEST_CHARS) return malformed(`a request is at most ${MAX_REQUEST_CHARS} characters`);
  const body = content.replace(PREFIX, '').trim();
  const words = body.split(/\s+/).filter((word) => word !== '');
  // `stop,` or `help.`: the punctuation a sentence puts after its first word is not part of it.
  const first = words[0]?.toLowerCase().replace(/[,.;:!?]+$/, '');
  if (first === undefined) return malformed('the request is empty');
  const verb = REQUEST_VERBS.find((known) => known === first);
  if (verb === undefined) return malformed('that request is not one the agent knows');
  if (verb !== 'stop' && /[\r\n]/.test(body)) return malformed('a request is one line');
  return parseArguments(verb, words.slice(1));
}
