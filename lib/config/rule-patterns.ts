import { RE2JS, RE2JSException } from 're2js';
import type { AgentConfig, TriageRule } from './agent-config';

/**
 * Rule patterns run on RE2 (re2js, pure JavaScript): matching takes time linear in the input whatever the pattern,
 * so no title or alert value can make triage hang, which a backtracking engine cannot promise (`(\d|\w)+$` takes
 * seconds on a 29-character title there). RE2 has no backreferences and no lookaround; a pattern that uses them is
 * refused at `cdk synth`. Kept apart from agent-config.ts so the ingress bundle, which reads only the filters, does
 * not carry re2js.
 */

export class RulePatternError extends Error {
  override readonly name = 'RulePatternError';
  constructor(
    readonly pattern: string,
    readonly unsupported: string,
  ) {
    super(`/${pattern}/ cannot run on RE2: ${unsupported}`);
  }
}

/** What RE2 lacks that JavaScript has, and how to do without it. */
const JAVASCRIPT_ONLY: { syntax: RegExp; explanation: string }[] = [
  {
    syntax: /\\[1-9]|\\k</,
    explanation: 'backreferences (\\1, \\k<name>) are not supported; match the repeated text explicitly or drop the repetition',
  },
  {
    syntax: /\(\?<?[=!]/,
    explanation: 'lookahead and lookbehind ((?=…), (?!…), (?<=…), (?<!…)) are not supported; match the surrounding text instead',
  },
];

function explain(pattern: string, error: unknown): string {
  const known = JAVASCRIPT_ONLY.find(({ syntax }) => syntax.test(pattern));
  if (known !== undefined) return known.explanation;
  // RE2's message quotes the pattern with its flags prepended; the pattern is already in ours.
  const detail = error instanceof Error ? error.message.replace(/^error parsing regexp: /, '').replace(/: `.*`$/s, '') : String(error);
  return `${detail}; write it in RE2 syntax (as in Go and Prometheus)`;
}

const compiled = new Map<string, RE2JS | RulePatternError>();

/** The pattern compiled case-insensitively for RE2, cached; throws RulePatternError when RE2 cannot express it. */
export function compileRulePattern(pattern: string): RE2JS {
  let entry = compiled.get(pattern);
  if (entry === undefined) {
    try {
      entry = RE2JS.compile(pattern, RE2JS.CASE_INSENSITIVE);
    } catch (error) {
      if (!(error instanceof RE2JSException)) throw error;
      entry = new RulePatternError(pattern, explain(pattern, error));
    }
    compiled.set(pattern, entry);
  }
  if (entry instanceof RulePatternError) throw entry;
  return entry;
}

/** Each pattern of a rule with where it sits in the rule, for messages. */
function patternsOf(rule: TriageRule): { field: string; pattern: string }[] {
  const patterns = rule.match.title === undefined ? [] : [{ field: 'match.title', pattern: rule.match.title }];
  for (const [name, pattern] of Object.entries(rule.match.alertFields ?? {}))
    patterns.push({ field: `match.alertFields.${name}`, pattern });
  return patterns;
}

/**
 * Every rule pattern RE2 cannot run, as messages that name the rule, the field, the pattern, what is unsupported and
 * what to do. Pass it to `validateAgentConfig` where the rules will run.
 */
export function rulePatternProblems(config: AgentConfig): string[] {
  return config.triage.rules.flatMap((rule) =>
    patternsOf(rule).flatMap(({ field, pattern }) => {
      try {
        compileRulePattern(pattern);
        return [];
      } catch (error) {
        if (!(error instanceof RulePatternError)) throw error;
        return [`rule "${rule.id}" ${field} ${error.message}`];
      }
    }),
  );
}
