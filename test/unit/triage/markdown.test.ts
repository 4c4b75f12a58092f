import { agentMd, awsConsoleUrl, code, inert, link, linkOrText, VouchedLinks } from '../../../lib/triage/markdown';
import { plainTextOf, RENDERERS } from '../../support/markdown-render';
import { SCENARIO_AWS, SCENARIO_CLOUDTRAIL_URL, SCENARIO_LOGS_URL, SCENARIO_METRIC_URL } from '../../support/aws-scenario';
import { makeAlert, makeIncident, makeIncidentContext } from '../../support/incident-context';

const permissive = RENDERERS['markdown-it (html, linkify)'];

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

describe('AWS console links', () => {
  it('accepts the AWS console on its global and regional hosts, over https only', () => {
    for (const url of [
      'https://console.aws.amazon.com/cloudwatch/home',
      'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/x',
      'https://us-gov-west-1.console.aws.amazon.com/cloudtrailv2/home',
      'https://ap-southeast-2.console.aws.amazon.com/lambda/home',
      'https://EU-WEST-1.Console.AWS.Amazon.com/cloudwatch/home',
    ])
      expect(awsConsoleUrl(url)?.href).toBe(new URL(url).href);
  });

  it.each([
    ['a lookalike host', 'https://console.aws.amazon.com.evil.example/cloudwatch'],
    ['a lookalike regional host', 'https://eu-west-1.console.aws.amazon.com.evil.example/x'],
    ['the console in the path of another host', 'https://evil.example/console.aws.amazon.com/cloudwatch'],
    ['the console as userinfo before another host', 'https://console.aws.amazon.com@evil.example/cloudwatch'],
    ['userinfo on the console host', 'https://user:pass@console.aws.amazon.com/cloudwatch'],
    ['a username only', 'https://evil@eu-west-1.console.aws.amazon.com/cloudwatch'],
    ['a backslash trick', 'https://evil.example\\@console.aws.amazon.com/'],
    ['plain http', 'http://console.aws.amazon.com/cloudwatch'],
    ['a port', 'https://console.aws.amazon.com:8443/cloudwatch'],
    ['a subdomain that is not a region', 'https://evil.console.aws.amazon.com/cloudwatch'],
    ['a nested region', 'https://a.eu-west-1.console.aws.amazon.com/cloudwatch'],
    ['another AWS host', 'https://signin.aws.amazon.com/oauth?redirect_uri=https://evil.example'],
    ['a trailing-dot host', 'https://console.aws.amazon.com./cloudwatch'],
    ['javascript', 'javascript:alert(1)//console.aws.amazon.com'],
    ['an over-long URL', `https://console.aws.amazon.com/${'a'.repeat(1200)}`],
  ])('refuses %s', (_name, url) => {
    expect(awsConsoleUrl(url)).toBeUndefined();
  });

  it('links the console pages of the incident’s AWS context, and no console URL it did not build', () => {
    const links = VouchedLinks.forIncident(makeIncidentContext({ aws: SCENARIO_AWS }), []);
    for (const url of [SCENARIO_METRIC_URL, SCENARIO_LOGS_URL, SCENARIO_CLOUDTRAIL_URL]) expect(links.vouch(url)).toBe(new URL(url).href);
    expect(links.vouch('https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#other')).toBeUndefined();
    expect(VouchedLinks.forIncident(makeIncidentContext(), []).vouch(SCENARIO_METRIC_URL)).toBeUndefined();
  });

  it('does not vouch for a console link a PagerDuty change event carried (its sender wrote it)', () => {
    const planted =
      'https://us-east-1.console.aws.amazon.com/cloudformation/home?region=us-east-1#/stacks/quickcreate?templateURL=https://evil.example/t.yaml';
    const change = {
      at: '2026-03-10T03:06:00Z',
      source: 'pagerduty' as const,
      action: 'deploy',
      summary: 'fix',
      onAlarmedResource: false,
      link: planted,
    };
    const links = VouchedLinks.forIncident(makeIncidentContext({ aws: { ...SCENARIO_AWS, changes: [change] } }), []);
    expect(links.vouch(planted)).toBeUndefined();
  });

  it('does not vouch for a lookalike the providers were handed', () => {
    const lookalike = 'https://console.aws.amazon.com.evil.example/cloudwatch';
    const aws = { ...SCENARIO_AWS, metric: { ...SCENARIO_AWS.metric!, consoleUrl: lookalike } };
    expect(VouchedLinks.forIncident(makeIncidentContext({ aws }), []).vouch(lookalike)).toBeUndefined();
  });
});
