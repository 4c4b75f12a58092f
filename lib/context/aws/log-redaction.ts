import { RE2JS } from 're2js';

/**
 * Log lines go into a note every PagerDuty user can read, so credentials in them are masked first: AWS access key
 * ids and secret keys, bearer and basic authorisations, JWTs, `password=`-style pairs (also as JSON keys), the
 * password of a connection string (`postgres://user:secret@host`) and PEM private keys. The patterns run on RE2
 * (re2js): a log line is outside text of any length and shape, and RE2 matches in time linear in it whatever it holds.
 * Masking is deliberately broad (a `token_count=3` loses its 3): a note that says less is better than a leaked key.
 */

export const REDACTED = '[redacted]';

type Replacement = string | ((...groups: string[]) => string);

const rule = (pattern: string, replacement: Replacement): { pattern: RE2JS; replacement: Replacement } => ({
  pattern: RE2JS.compile(pattern, RE2JS.CASE_INSENSITIVE),
  replacement,
});

/** Key names whose value is a credential; a key merely containing one (`db_password`, `x-api-key`) counts too. */
const SECRET_KEYS =
  '(?:password|passwd|pwd|passphrase|secret|token|api[_-]?key|apikey|access[_-]?key|client[_-]?secret|private[_-]?key|credentials?|signature)';

/** Hex digests (commit ids, SHA-1 sums) are 40 characters too, and no AWS secret key is only hex. */
const isHexOnly = (text: string): boolean => /^[0-9a-f]+$/i.test(text);

const RULES = [
  rule('-----BEGIN [A-Z ]*PRIVATE KEY-----[^-]*(?:-----END [A-Z ]*PRIVATE KEY-----)?', '[private-key]'),
  rule('\\beyJ[A-Za-z0-9_-]{4,}\\.[A-Za-z0-9_-]{4,}\\.[A-Za-z0-9_-]*', '[jwt]'),
  rule('\\b(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}\\b', '[aws-access-key-id]'),
  rule('\\b(bearer|basic|token)(\\s+)[A-Za-z0-9._~+/=-]{8,}', `$1$2${REDACTED}`),
  rule('([a-z][a-z0-9+.-]*://)([^\\s:/@]*):([^\\s@/]+)@', `$1$2:${REDACTED}@`),
  rule(`(${SECRET_KEYS}[A-Za-z0-9_-]*)(["']?\\s*[=:]\\s*)("[^"]*"?|'[^']*'?|[^\\s"'&;,}]+)`, `$1$2${REDACTED}`),
  rule('(^|[^A-Za-z0-9/+=])([A-Za-z0-9/+]{40})($|[^A-Za-z0-9/+=])', (match: string, before: string, token: string, after: string) =>
    isHexOnly(token) ? match : `${before}${REDACTED}${after}`,
  ),
];

/** The line with every credential it shows masked. */
export function redactLogLine(line: string): string {
  let redacted = line;
  for (const { pattern, replacement } of RULES) redacted = pattern.matcher(redacted).replaceAll(replacement);
  return redacted;
}
