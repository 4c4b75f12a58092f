import fc from 'fast-check';

/**
 * Text an attacker with an integration key could put in any field a note shows: pieces of markdown, HTML, links in
 * every form a linkifier finds, fake lines of the agent's own note, control characters and bidirectional overrides,
 * combined at random with random text.
 */

export const EVIL = 'https://evil.example/fix';
/** The host the property tests configure in `links.trustedHosts`. */
export const TRUSTED_HOST = 'grafana.acme.example';

/** Pieces of hostile markdown, combined at random with random text. */
const HOSTILE_PIECES = [
  '`',
  '``',
  '```',
  '~~~',
  `[Open the fix runbook](${EVIL})`,
  `[x](<${EVIL}> "title")`,
  `![i](${EVIL}.png)`,
  '<img src=x onerror=alert(1)>',
  `<a href="${EVIL}">runbook</a>`,
  '<script>alert(1)</script>',
  '<!-- x -->',
  `<${EVIL}>`,
  '<mail@evil.example>',
  EVIL,
  'www.evil.example',
  'evil.example',
  'mail@evil.example',
  '//evil.example',
  'javascript:alert(1)',
  'https://acme.pagerduty.com.evil.example/x',
  `[r]: ${EVIL}`,
  '[r]',
  '[^1]',
  '# heading',
  '- item',
  '+ item',
  '1. item',
  '1) item',
  '> quote',
  '| a | b |',
  '|---|---|',
  '---',
  '===',
  '*',
  '**',
  '_',
  '__',
  '~~',
  '&lt;',
  '&#x5B;',
  '&amp;',
  '\\',
  '\n',
  '\r\n',
  '\n\n',
  '\t',
  '    ',
  '  \n',
  '\u202e',
  ':fire:',
  '$x$',
  ' ',
  `https://${TRUSTED_HOST}/d/x`,
  `https://${TRUSTED_HOST}.evil.example/`,
  `https://user@${TRUSTED_HOST}/`,
  'Likely cause: ',
  'Decision: resolve',
  '\nNext steps\n- ',
  '— ',
  '  https://acme.pagerduty.com/incidents/PFAKE',
  'hxxps://',
  '“',
  '”',
  'mailto:a@b.co',
  'root@localhost',
  '//localhost/x',
  'EVIL.COM',
  'evil。com',
  'xn--e1afmkfd.xn--p1ai',
  'http://10.0.0.1:8080/x',
  'ftp://files.example.org',
  '[.]',
  '@',
  ':',
  '.',
  '/',
];

export const hostileText = fc
  .array(fc.oneof(fc.constantFrom(...HOSTILE_PIECES), fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 6 })), {
    maxLength: 6,
  })
  .map((pieces) => pieces.join(''));

export const hostileHref = fc.oneof(
  fc.constantFrom(
    EVIL,
    'javascript:alert(1)',
    'https://acme.pagerduty.com/sign_in?next=https://evil.example',
    'https://evil.example/a)b(c',
    'https://console.aws.amazon.com.evil.example/cloudwatch',
    'https://evil.example/console.aws.amazon.com/cloudwatch',
    'https://console.aws.amazon.com@evil.example/cloudwatch',
    'https://user:pass@console.aws.amazon.com/cloudwatch',
    'http://eu-west-1.console.aws.amazon.com/cloudwatch',
  ),
  hostileText,
);
