import { agentMd, code, inert, link, linkOrText, VouchedLinks } from '../../../lib/triage/markdown';
import { plainTextOf, RENDERERS } from '../../support/markdown-render';
import { makeAlert, makeIncident, makeIncidentContext } from '../../support/incident-context';

const permissive = RENDERERS['markdown-it (html, linkify)']!;

describe('inert', () => {
  it('escapes what makes markdown and leaves ordinary prose readable', () => {
    expect(inert('api-v2 failed; retry (3 of 5).')).toBe('api-v2 failed; retry (3 of 5).');
    expect(inert('*x* _y_ `z` [a](b) <i> &amp; |t| ~~s~~ @team')).toBe(
      '\\*x\\* \\_y\\_ \\`z\\` \\[a\\](b) \\<i\\> \\&amp; \\|t\\| \\~\\~s\\~\\~ \\@team',
    );
    expect(inert('see https://evil.example and www.evil.example //host')).toBe(
      'see https\\:\\//evil\\.example and www\\.evil\\.example \\//host',
    );
  });

  it('neutralises what would start a block, and flattens lines', () => {
    expect(['# h', '- i', '+ i', '= x', '1. i', '12) i', '(x)'].map((text) => inert(text))).toEqual([
      '\\# h',
      '\\- i',
      '\\+ i',
      '\\= x',
      '1\\. i',
      '12\\) i',
      '\\(x)',
    ]);
    expect(inert('a\n\n# b\r\n\tc')).toBe('a # b c');
    expect(inert('wow!')).toBe('wow\\!');
  });

  it('drops bidirectional overrides', () => {
    expect(inert('abc\u202edef\u2066')).toBe('abcdef');
  });
});

describe('code', () => {
  it('fences longer than any backtick run inside, so the content cannot close it early', () => {
    expect(code('prod')).toBe('`prod`');
    expect(code('a ``` b')).toBe('````a ``` b````');
    expect(code('`x`')).toBe('`` `x` ``');
    expect(code('')).toBe('');
    for (const text of ['a ``` b', '`x`', '``', 'x`']) expect(plainTextOf(`${code(text)} y`, permissive)).toBe(`${text} y`);
  });
});

describe('VouchedLinks', () => {
  const incident = makeIncident({ id: 'PINC9' });
  const alert = makeAlert({ id: 'PALR9' });
  const links = VouchedLinks.forIncident(makeIncidentContext({ incident, alerts: [alert] }), ['https://runbooks.acme.example/disk']);

  it('vouches for the PagerDuty pages the agent read and the configured runbooks, exactly', () => {
    expect(links.vouch(incident.html_url)).toBe(incident.html_url);
    expect(links.vouch(alert.html_url)).toBe(alert.html_url);
    expect(links.vouch('https://runbooks.acme.example/disk')).toBe('https://runbooks.acme.example/disk');
    expect(links.vouch('https://runbooks.acme.example/disk?next=https://evil.example')).toBeUndefined();
    expect(links.vouch('https://acme.pagerduty.com/sign_in?next=https://evil.example')).toBeUndefined();
    expect(links.vouch('https://evil.example')).toBeUndefined();
    expect(links.vouch(undefined)).toBeUndefined();
  });

  it('ignores PagerDuty URLs of another account or scheme', () => {
    const other = new VouchedLinks(
      ['https://other.pagerduty.com/incidents/P1', 'javascript:alert(1)'],
      'https://acme.pagerduty.com/incidents/P2',
      [],
    );
    expect(other.vouch('https://other.pagerduty.com/incidents/P1')).toBeUndefined();
    expect(other.vouch('javascript:alert(1)')).toBeUndefined();
  });

  it('encodes what would end a link destination', () => {
    const odd = new VouchedLinks([], 'https://acme.pagerduty.com', ['https://runbooks.acme.example/a(b)\\c']);
    expect(odd.vouch('https://runbooks.acme.example/a(b)/c')).toBe('https://runbooks.acme.example/a%28b%29/c');
  });

  it('shows an unvouched http(s) URL as text and drops anything else', () => {
    const label = agentMd`link`;
    const unverified = agentMd`unverified: `;
    expect(linkOrText(incident.html_url, links, label, unverified)).toBe(link(label, links.vouch(incident.html_url)!));
    expect(linkOrText('https://evil.example/x', links, label, unverified)).toBe('unverified: https\\:\\//evil\\.example/x');
    expect(linkOrText('data:text/html,x', links, label, unverified)).toBeUndefined();
  });
});
