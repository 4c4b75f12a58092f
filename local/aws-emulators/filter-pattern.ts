import { RE2JS } from 're2js';

/**
 * CloudWatch Logs filter patterns for unstructured events, as FilterLogEvents applies them: terms are case-sensitive
 * and must all appear (`ERROR Exception`); `?` starts an alternative group (`?ERROR ?Exception`, or
 * `?"ERROR" "MainThread" ?"WARN" "Deadlock"` as CDK's anyTermGroup writes it); a quoted term is one exact phrase;
 * `-term` excludes; `%regex%` matches a regular expression. JSON (`{ $.level = … }`) and space-delimited (`[ip, …]`)
 * patterns are refused with the service's error so a caller learns it at once instead of getting no events.
 */

export class FilterPatternError extends Error {}

interface Term {
  text: string;
  excluded: boolean;
}

export type LogMatcher = (message: string) => boolean;

const REGEX_ALLOWED = /^[A-Za-z0-9:_#=@/;,\-^$?[\]{}|\\*+. ]*$/;

function regexMatcher(pattern: string): LogMatcher {
  const body = pattern.slice(1, -1);
  if (!REGEX_ALLOWED.test(body) || body.includes('(') || body.includes(')')) {
    throw new FilterPatternError(
      `Invalid regular expression in filter pattern: ${pattern}. Parentheses and characters outside the supported set are refused.`,
    );
  }
  let regex: RE2JS;
  try {
    regex = RE2JS.compile(body);
  } catch (error) {
    throw new FilterPatternError(`Invalid regular expression in filter pattern: ${pattern} (${(error as Error).message}).`);
  }
  return (message) => regex.matcher(message).find();
}

/** Splits a pattern into groups of terms; a new group starts at each `?`. */
function parseTermGroups(pattern: string): Term[][] {
  const groups: Term[][] = [[]];
  let position = 0;
  while (position < pattern.length) {
    if (/\s/.test(pattern[position])) {
      position += 1;
      continue;
    }
    let alternative = false;
    let excluded = false;
    if (pattern[position] === '?') {
      alternative = true;
      position += 1;
    }
    if (pattern[position] === '-') {
      excluded = true;
      position += 1;
    }
    let text: string;
    if (pattern[position] === '"') {
      let end = position + 1;
      let phrase = '';
      while (end < pattern.length && pattern[end] !== '"') {
        if (pattern[end] === '\\' && end + 1 < pattern.length) end += 1;
        phrase += pattern[end];
        end += 1;
      }
      if (end >= pattern.length) throw new FilterPatternError(`Invalid filter pattern: unclosed quotation mark in ${pattern}.`);
      text = phrase;
      position = end + 1;
    } else {
      const match = /^[^\s"]+/.exec(pattern.slice(position));
      if (match === null) throw new FilterPatternError(`Invalid filter pattern: a term is missing after "${pattern.slice(0, position)}".`);
      text = match[0];
      if (/[{}[\]%]/.test(text)) {
        throw new FilterPatternError(`Invalid character(s) in term '${text}': put terms with symbols in double quotes.`);
      }
      position += text.length;
    }
    if (alternative && groups.at(-1)?.length !== 0) groups.push([]);
    groups.at(-1)?.push({ text, excluded });
  }
  return groups.filter((group) => group.length > 0);
}

export function compileFilterPattern(pattern: string | undefined): LogMatcher {
  const trimmed = (pattern ?? '').trim();
  if (trimmed === '' || trimmed === '""') return () => true;
  if (trimmed.startsWith('{')) {
    throw new FilterPatternError(
      'Invalid filter pattern: JSON filter patterns ({ $.field = value }) are not supported by the local emulator.',
    );
  }
  if (trimmed.startsWith('[')) {
    throw new FilterPatternError(
      'Invalid filter pattern: space-delimited filter patterns ([a, b, …]) are not supported by the local emulator.',
    );
  }
  if (trimmed.length > 1 && trimmed.startsWith('%') && trimmed.endsWith('%')) return regexMatcher(trimmed);
  const groups = parseTermGroups(trimmed);
  return (message) => groups.some((group) => group.every((term) => message.includes(term.text) !== term.excluded));
}
