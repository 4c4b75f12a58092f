import fc from 'fast-check';
import { MAX_REQUEST_CHARS, REQUEST_VERBS, parseRequest } from '../../../lib/requests/parse-request';

describe('parseRequest', () => {
  it.each([
    ['pd-agent: recheck', { verb: 'recheck' }],
    ['  PD-Agent:why', { verb: 'why' }],
    ['pd-agent: help', { verb: 'help' }],
    ['pd-agent: stop', { verb: 'stop' }],
    ['pd-agent: stop, we are on it\nthanks', { verb: 'stop' }],
    ['pd-agent: changes', { verb: 'changes', windowMinutes: 360 }],
    ['pd-agent: changes 90m', { verb: 'changes', windowMinutes: 90 }],
    ['pd-agent: changes 24h', { verb: 'changes', windowMinutes: 1440 }],
    ['pd-agent: logs', { verb: 'logs', windowMinutes: 30 }],
    ['pd-agent: logs 2h', { verb: 'logs', windowMinutes: 120 }],
    ['pd-agent: logs /aws/lambda/checkout', { verb: 'logs', windowMinutes: 30, logGroup: '/aws/lambda/checkout' }],
    ['pd-agent: logs /aws/lambda/checkout 45min', { verb: 'logs', windowMinutes: 45, logGroup: '/aws/lambda/checkout' }],
    ['pd-agent: metric', { verb: 'metric' }],
    ['pd-agent: metric Errors', { verb: 'metric', metricName: 'Errors' }],
  ])('%j is a request', (content, request) => {
    expect(parseRequest(content)).toEqual({ kind: 'request', request });
  });

  it.each(['pd-agent: right', 'pd-agent: wrong - it was the DB failover', '  PD-AGENT: Right.'])('%j stays feedback', (content) => {
    expect(parseRequest(content)).toEqual({ kind: 'feedback' });
  });

  it.each(['checking the database', 'the pd-agent: recheck is later', ''])('%j is not a request', (content) => {
    expect(parseRequest(content)).toEqual({ kind: 'not-a-request' });
  });

  it.each([
    ['pd-agent: changes 25h', 'a window is at most 24h'],
    ['pd-agent: changes 0m', 'a window is at least 1 minute'],
    ['pd-agent: changes soon', 'a window is a number of minutes or hours, like 30m or 6h'],
    ['pd-agent: deploy the fix', 'that request is not one the agent knows'],
    ['pd-agent:', 'the request is empty'],
    ['pd-agent: why not', 'why takes nothing after it'],
    ['pd-agent: recheck\nnow', 'a request is one line'],
    ['pd-agent: logs https://evil.example/x', 'a log group name has letters, digits and _ . / # - only, at most 512 of them'],
    ['pd-agent: logs a b', 'logs takes one log group, then an optional window like 30m'],
    ['pd-agent: logs a b 30m', 'logs takes at most a log group and a window, like logs /aws/lambda/checkout 30m'],
    ['pd-agent: metric Errors Throttles', 'metric takes at most one metric name'],
    [`pd-agent: logs ${'a'.repeat(MAX_REQUEST_CHARS)}`, `a request is at most ${MAX_REQUEST_CHARS} characters`],
  ])('%j is malformed: %s', (content, reason) => {
    expect(parseRequest(content)).toEqual({ kind: 'malformed', reason });
  });

  it('never throws and always answers one of the known kinds, with windows within 24 h', () => {
    const word = fc.oneof(
      fc.constantFrom(...REQUEST_VERBS, 'right', 'wrong', '30m', '6h', '25h', '0m', '/aws/lambda/x', 'Errors'),
      fc.string({ maxLength: 20 }),
    );
    const note = fc.oneof(
      fc.string({ maxLength: 700 }),
      fc
        .tuple(fc.constantFrom('pd-agent:', ' PD-AGENT :', 'pd-agent:\n'), fc.array(word, { maxLength: 4 }))
        .map(([prefix, words]) => `${prefix} ${words.join(' ')}`),
    );
    fc.assert(
      fc.property(note, (content) => {
        const parsed = parseRequest(content);
        expect(['not-a-request', 'feedback', 'request', 'malformed']).toContain(parsed.kind);
        if (parsed.kind === 'request') {
          expect(REQUEST_VERBS).toContain(parsed.request.verb);
          if ('windowMinutes' in parsed.request) {
            expect(parsed.request.windowMinutes).toBeGreaterThanOrEqual(1);
            expect(parsed.request.windowMinutes).toBeLessThanOrEqual(24 * 60);
          }
        }
        if (parsed.kind === 'malformed') expect(parsed.reason.length).toBeLessThanOrEqual(120);
      }),
      { numRuns: 2000 },
    );
  });
});
