import { AgentConfigError, parseAgentConfig, validateAgentConfig } from '../../../lib/config/agent-config';
import { compileRulePattern, RulePatternError, rulePatternProblems } from '../../../lib/config/rule-patterns';

const withRules = (...match: Record<string, unknown>[]) => ({
  triage: { rules: match.map((rule, index) => ({ id: `r${index + 1}`, hypothesis: 'h', confidence: 1, action: 'hold', match: rule })) },
});

function validationError(value: unknown): string {
  try {
    validateAgentConfig(value, 'cdk.json environments.dev.agentConfig', rulePatternProblems);
  } catch (error) {
    expect(error).toBeInstanceOf(AgentConfigError);
    return (error as Error).message;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('rule patterns on RE2', () => {
  it('accept what operators write for titles and alert fields', () => {
    const value = withRules({ title: 'disk (full|[0-9]+%)' }, { alertFields: { host: '^db-\\d+$', 'db.role': '(?i)PRIMARY' } });
    expect(validateAgentConfig(value, 'AGENT_CONFIG', rulePatternProblems).triage.rules).toHaveLength(2);
    expect(compileRulePattern('DISK').test('disk full')).toBe(true);
  });

  it.each([
    [
      'a backreference',
      { title: '(a)\\1' },
      'rule "r1" match.title /(a)\\1/ cannot run on RE2: backreferences (\\1, \\k<name>) are not supported',
    ],
    ['a named backreference', { title: '(?<x>a)\\k<x>' }, 'backreferences (\\1, \\k<name>) are not supported'],
    [
      'a lookahead',
      { alertFields: { error: 'timeout(?!s)' } },
      'rule "r1" match.alertFields.error /timeout(?!s)/ cannot run on RE2: lookahead and lookbehind ((?=…), (?!…), (?<=…), (?<!…)) are not supported; match the surrounding text instead',
    ],
    ['a lookbehind', { title: '(?<=db-)\\d+' }, 'lookahead and lookbehind'],
    [
      'a syntax error',
      { title: '(unclosed' },
      'rule "r1" match.title /(unclosed/ cannot run on RE2: missing closing ); write it in RE2 syntax (as in Go and Prometheus)',
    ],
  ])('reject %s, saying which rule, which pattern, what is unsupported and what to do', (_name, match, message) => {
    const error = validationError(withRules({ title: 'fine' }, match));
    expect(error).toContain(message.replace('"r1"', '"r2"'));
    expect(error).toContain('Fix it (see docs/configuration.md "Configuration") and redeploy.');
  });

  it('report every problem at once', () => {
    const error = validationError(withRules({ title: '(a)\\1' }, { alertFields: { host: '(?=x)', pod: '[' } }));
    expect(error.match(/cannot run on RE2/g)).toHaveLength(3);
  });

  it('run in linear time: an overlapping alternation that backtracks exponentially in JavaScript answers on a long title', () => {
    // The JavaScript engine takes seconds on 29 characters here, doubling per character; RE2 answers on 10,000.
    const pattern = compileRulePattern('(\\d|\\w)+$');
    expect(pattern.test(`${'1'.repeat(10_000)}!`)).toBe(false);
    expect(pattern.test('1'.repeat(10_000))).toBe(true);
  });

  it('throw a typed error from the compiler the worker uses', () => {
    expect(() => compileRulePattern('(a)\\1')).toThrow(RulePatternError);
  });

  it('are left to the rule engine by the functions that only read the filters (the ingress)', () => {
    expect(parseAgentConfig(JSON.stringify(withRules({ title: '(a)\\1' }))).triage.rules[0]?.match.title).toBe('(a)\\1');
  });
});
