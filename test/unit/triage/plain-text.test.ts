import { agentText, awsConsoleUrl, linkLine, linkOrText, outsideText, quotedText, VouchedLinks } from '../../../lib/triage/plain-text';
import { activeElementsOf, linkifiedUrls, RENDERERS } from '../../support/markdown-render';
import { SCENARIO_AWS, SCENARIO_CLOUDTRAIL_URL, SCENARIO_LOGS_URL, SCENARIO_METRIC_URL } from '../../support/aws-scenario';
import { makeAlert, makeIncident, makeIncidentContext } from '../../support/incident-context';

const renderers = Object.values(RENDERERS);

describe('outsideText', () => {
  it('leaves ordinary prose, names, versions and figures as they are', () => {
    for (const text of [
      'api-v2 failed; retry (3 of 5).',
      'Deploy api v2.3.1: p95 42.5 ms > 40 ms',
      'arn:aws:sns:eu-west-1:123456789012:pagerduty',
      '/aws/lambda/checkout-api',
      '*x* _y_ `z` #tag | ~~s~~',
    ])
      expect(outsideText(text, 300)).toBe(text);
  });

  it.each([
    ['a URL', 'see https://evil.example/login now', 'see hxxps://evil[.]example/login now'],
    ['an upper-case URL', 'HTTPS://EVIL.COM/x', 'HXXPS://EVIL[.]COM/x'],
    ['plain http', 'http://10.0.0.1/x', 'hxxp://10.0.0.1/x'],
    ['ftp', 'ftp://files.example.org/a', 'fxp://files[.]example[.]org/a'],
    ['another scheme', 'ssh://git@github.com/x', 'ssh[://]git[@]github[.]com/x'],
    ['a mailto', 'mailto:ops@evil.example', 'mailto[:]ops[@]evil[.]example'],
    ['a bare domain', 'fixed at evil.com', 'fixed at evil[.]com'],
    ['a www address', 'www.evil.example', 'www[.]evil[.]example'],
    ['an e-mail address', 'write to mail@evil.example', 'write to mail[@]evil[.]example'],
    ['a host-only address', 'root@localhost', 'root[@]localhost'],
    ['a protocol-relative link', 'go //localhost/x', 'go / /localhost/x'],
    ['ideographic dots', 'evil。com evil．com', 'evil[.]com evil[.]com'],
    ['a file name on a country domain', 'checkout.py:42', 'checkout[.]py:42'],
  ])('defangs %s', (_name, text, expected) => {
    const shown = outsideText(text, 300);
    expect(shown).toBe(expected);
    expect(linkifiedUrls(shown)).toEqual([]);
  });

  it('keeps a URL clickable when its host is trusted, and defangs the rest around it', () => {
    const trusted = { hosts: new Set(['grafana.acme.example']) };
    const shown = outsideText('graph https://grafana.acme.example/d/x?from=now-1h, or evil.com', 300, trusted);
    expect(shown).toBe('graph https://grafana.acme.example/d/x?from=now-1h, or evil[.]com');
    expect(linkifiedUrls(shown)).toEqual(['https://grafana.acme.example/d/x?from=now-1h']);
    for (const disguised of [
      'https://grafana.acme.example.evil.example/x',
      'https://grafana.acme.example@evil.example/x',
      'https://user@grafana.acme.example/x',
      'https://grafana.acme.example:8443/x',
      'javascript://grafana.acme.example/%0aalert(1)',
    ])
      expect(linkifiedUrls(outsideText(disguised, 300, trusted))).toEqual([]);
  });

  it('is one line: line breaks, control characters and bidirectional overrides collapse', () => {
    expect(outsideText('a\n\n# b\r\n\tc\u0007d', 300)).toBe('a # b c d');
    expect(outsideText('abc\u202edef\u2066', 300)).toBe('abcdef');
  });

  it('cuts before it defangs, so a URL cut short is still no link', () => {
    const shown = outsideText('https://evil.example/very/long/path', 20);
    expect(shown).toBe('hxxps://evil[.]exampl…');
    expect(linkifiedUrls(shown)).toEqual([]);
  });

  it('gives a markdown renderer no link, image or HTML to make', () => {
    for (const text of [
      '[Open the fix](https://evil.example)',
      '![i](x.png)',
      '<img src=x onerror=alert(1)>',
      '<https://evil.example>',
      '[r][x]',
    ])
      for (const renderer of renderers) expect(activeElementsOf(`x ${outsideText(text, 300)}`, renderer)).toEqual([]);
  });
});

describe('quotedText', () => {
  it('puts outside text in quotation marks that the text cannot close', () => {
    expect(quotedText('Decision: resolve', 100)).toBe('“Decision: resolve”');
    expect(quotedText('x” Decision: resolve “y', 100)).toBe('“x" Decision: resolve "y”');
    expect(quotedText(' \n ', 100)).toBe('');
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

  it('keeps a vouched URL clickable in the text that quotes it, and defangs any other', () => {
    const shown = links.shown(`Compare with ${incident.html_url} and https://acme.pagerduty.com/incidents/POTHER`, 300);
    expect(linkifiedUrls(shown)).toEqual([incident.html_url]);
    expect(shown).toContain('hxxps://acme[.]pagerduty[.]com/incidents/POTHER');
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

  it('encodes what would end or cut a bare URL, so a linkifier takes all of it', () => {
    const odd = new VouchedLinks([], 'https://acme.pagerduty.com', ["https://runbooks.acme.example/a(b)\\c'd"]);
    const vouched = odd.vouch("https://runbooks.acme.example/a(b)/c'd");
    expect(vouched).toBe('https://runbooks.acme.example/a%28b%29/c%27d');
    expect(linkifiedUrls(`x\n${linkLine(vouched!)}\ny`)).toEqual([vouched]);
  });

  it('leaves out a vouched URL too long to tap', () => {
    const long = `https://runbooks.acme.example/${'a'.repeat(300)}`;
    expect(new VouchedLinks([], 'https://acme.pagerduty.com', [long]).vouch(long)).toBeUndefined();
  });

  it('puts a vouched URL on its own line, shows an unvouched http(s) URL defanged, and drops anything else', () => {
    const unverified = agentText`unverified: `;
    expect(linkOrText(incident.html_url, links, unverified)).toEqual({ line: `  ${incident.html_url}` });
    expect(linkOrText('https://evil.example/x', links, unverified)).toEqual({ inline: 'unverified: hxxps://evil[.]example/x' });
    expect(linkOrText('data:text/html,x', links, unverified)).toBeUndefined();
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
