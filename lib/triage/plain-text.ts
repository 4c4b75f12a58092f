import { oneLine, truncate } from './text';
import type { IncidentContext } from './types';

/**
 * The only way text reaches a PagerDuty note. PagerDuty's timeline, mobile app, e-mails and chat notifications show a
 * note's text as written, and turn bare URLs into links; titles, alert fields, change events, past notes and model
 * output are written by whoever holds an integration key. So a note is plain text built from `NoteText` values only,
 * and the type system keeps outside text out of it unless it went through `outsideText`:
 * - `agentText` marks the agent's own words (the template's literal parts) and accepts only `NoteText` inside it;
 * - `outsideText` makes any string one line that no linkifier turns into a link (URLs, bare domains and e-mail
 *   addresses defanged: `hxxps://evil[.]example/login`), unless a URL's host is one the configuration trusts, and that
 *   a markdown renderer cannot turn into a link or HTML either;
 * - `VouchedLinks` gives the only clickable URLs: the account's PagerDuty pages the agent read from PagerDuty itself,
 *   the runbooks configured in AGENT_CONFIG, and the AWS console pages the agent's own providers built. They stand
 *   alone on their own lines.
 * The note's layout (lib/triage/note.ts) never starts a line with outside text, so it cannot fake a section or a
 * "Likely cause".
 */

declare const noteTextBrand: unique symbol;
/** Text the agent wrote, or outside text made safe for a note. */
export type NoteText = string & { readonly [noteTextBrand]: true };

declare const vouchedBrand: unique symbol;
/** An http(s) URL the agent vouches for, encoded so that a linkifier takes all of it and nothing after it. */
export type VouchedUrl = string & { readonly [vouchedBrand]: true };

/**
 * The agent's own words: literal parts are trusted as written; every interpolated part must already be `NoteText`,
 * or a number the agent computed.
 */
export function agentText(literals: TemplateStringsArray, ...parts: readonly (NoteText | number)[]): NoteText {
  return literals.reduce((built, literal, index) => built + literal + (index < parts.length ? String(parts[index]) : ''), '') as NoteText;
}

export function joinText(parts: readonly NoteText[], separator: NoteText): NoteText {
  return parts.join(separator) as NoteText;
}

/**
 * The URLs outside text may show as they are: any on a configured trusted host (lower-case, `grafana.acme.example`),
 * and the exact URLs the agent vouches for (a past incident's page that an analyser quotes).
 */
export interface KeptUrls {
  hosts: ReadonlySet<string>;
  exact?: ReadonlySet<string>;
}
const NO_KEPT_URLS: KeptUrls = { hosts: new Set() };

/**
 * A URL-like run in outside text: a scheme and what follows it up to a character no URL needs, standing apart from
 * the words around it (a markdown renderer would cut a URL glued to `_` or `*` and link what is left), and without
 * the `*` and `~` of markdown emphasis inside it.
 */
const SCHEMED_URL = /(?<=^|[\s“"'(])[a-z][a-z0-9+.-]*:\/\/[^\s<>"'`()[\]{}|\\^*~]*[^\s<>"'`()[\]{}|\\^*~.,;:!?](?=$|[\s”"').,;:!?])/gi;

/** The URL when it is an http(s) URL to keep, with no credentials or port to disguise it; else undefined. */
function trustedUrl(candidate: string, trusted: KeptUrls): string | undefined {
  if (trusted.hosts.size === 0 && (trusted.exact?.size ?? 0) === 0) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(candidate);
  } catch {
    return undefined;
  }
  const plain = (parsed.protocol === 'https:' || parsed.protocol === 'http:') && parsed.username === '' && parsed.password === '';
  const kept = trusted.hosts.has(parsed.hostname) || (trusted.exact?.has(parsed.href) ?? false);
  return plain && parsed.port === '' && kept ? candidate : undefined;
}

/**
 * What a linkifier needs to find a link, broken the way incident responders write indicators of compromise:
 * - a scheme: `https://` → `hxxps://`, `ftp://` → `fxp://`, any other `x://` → `x[://]`, `mailto:` → `mailto[:]`;
 * - a dot between a name and a label that starts with a letter (`evil.example`, `www.evil`, `file.py`):
 *   `evil[.]example`; version numbers and decimals (`v2.3.1`, `42.5`) stay as they are;
 * - an `@` before anything but a space (`ops@evil.example`, `root@localhost`, `#@0.0`): `ops[@]evil[.]example`;
 * - a `//` that is not after a scheme (`//evil.example`): `/ /`.
 */
function defangRun(text: string): string {
  // Wherever a scheme stands, even glued to the text before it: renderers differ on the boundary a link needs.
  return text
    .replace(/(h)(tt)(ps?):\/\//gi, (_match, h: string, tt: string, rest: string) => `${h}${tt === 'TT' ? 'XX' : 'xx'}${rest}://`)
    .replace(/(f)(t)(p):\/\//gi, (_match, f: string, t: string, p: string) => `${f}${t === 'T' ? 'X' : 'x'}${p}://`)
    .replace(/(?<!hxxps?|fxp):\/\//gi, '[://]')
    .replace(/mailto:/gi, (scheme) => `${scheme.slice(0, -1)}[:]`)
    .replace(/(?<=[\p{L}\p{N}_-])[.\u3002\uff0e\uff61](?=\p{L}[\p{L}\p{N}-])/gu, '[.]')
    .replace(/@(?=\S)/g, '[@]')
    .replace(/(?<![:/])\/\/(?=[^\s/])/g, '/ /');
}

/** A URL or domain in outside text, defanged unless it is a URL to keep. */
function defanged(text: string, trusted: KeptUrls): string {
  let built = '';
  let last = 0;
  for (const match of text.matchAll(SCHEMED_URL)) {
    const url = match[0];
    const kept = trustedUrl(url, trusted);
    if (kept === undefined) continue;
    built += defangRun(text.slice(last, match.index)) + kept;
    last = match.index + url.length;
  }
  return built + defangRun(text.slice(last));
}

/**
 * What a markdown renderer would turn into a link or raw HTML, for the surfaces that render notes as markdown: a
 * space after `<` before a tag or autolink (`< img …>`), and between `]` and `(` or `[` (`[label] (url)`).
 */
function inertForMarkdown(text: string): string {
  return text.replace(/<(?=[a-z/!?])/gi, '< ').replace(/\](?=[([])/g, '] ');
}

/**
 * Outside text as a note shows it: one line (line breaks and control characters collapsed), at most `max`
 * characters, with no clickable URL except those `trusted` keeps. The cut comes first, so a URL cut short is defanged
 * like any other.
 */
export function outsideText(text: string, max: number, trusted: KeptUrls = NO_KEPT_URLS): NoteText {
  // Markdown last: defanging writes brackets (`[@]`) that must not meet a `(` as a link would.
  return inertForMarkdown(defanged(truncate(oneLine(text), max), trusted)) as NoteText;
}

/** Quotation marks around outside text; quotation marks inside it are made straight, so it cannot close them early. */
export function quotedText(text: string, max: number, trusted: KeptUrls = NO_KEPT_URLS): NoteText {
  const shown = outsideText(text.replace(/[“”„‟«»]/g, '"'), max, trusted);
  return (shown === '' ? '' : `“${shown}”`) as NoteText;
}

/**
 * Outside text that a list item starts with (`- <text>`): as `outsideText`, in quotation marks unless it starts with a
 * letter or a number that is not a list's (`3 alerts`, not `3. x`), since a markdown renderer would read `- # x`, `- > x`, `- 1. x` or `- [r]: url` as a heading, a quote, a
 * list or a link definition inside the item.
 */
export function itemText(text: string, max: number, trusted: KeptUrls = NO_KEPT_URLS): NoteText {
  const shown = outsideText(text, max, trusted);
  return shown === '' || /^(?:\p{L}|\d+(?![\d.)]))/u.test(shown) ? shown : quotedText(text, max, trusted);
}

const MAX_URL_LENGTH = 500;
/**
 * A link longer than this is left out (a 470-character metrics query is nothing to tap at night); with its indent it
 * stays within a note's 300-character lines.
 */
export const MAX_LINK_LENGTH = 290;

/** An http(s) URL, normalised, or undefined. */
function parseHttpUrl(url: string | null | undefined, maxLength = MAX_URL_LENGTH): URL | undefined {
  if (url === undefined || url === null || url.length > maxLength) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed : undefined;
}

/** Characters at which a linkifier would end or cut a URL, percent-encoded. */
function asLinkText(url: URL): VouchedUrl {
  return url.href.replace(
    /[()<>\\`'"{}|^[\]\s]/g,
    (character) => `%${character.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  ) as VouchedUrl;
}

/** The AWS console's own hosts: `console.aws.amazon.com` and `<region>.console.aws.amazon.com`, nothing around them. */
const AWS_CONSOLE_HOST = /^(?:[a-z]{2}(?:-[a-z]+)+-\d\.)?console\.aws\.amazon\.com$/;

/**
 * An https URL on the AWS console itself, normalised, or undefined: no credentials, no port, no other host. The agent's
 * providers build these, but their paths and queries carry outside text (alarm and log group names), so the host is
 * checked on the parsed URL rather than trusted.
 */
export function awsConsoleUrl(url: string | null | undefined): URL | undefined {
  const parsed = parseHttpUrl(url, MAX_LINK_LENGTH);
  if (parsed === undefined || parsed.protocol !== 'https:' || parsed.username !== '' || parsed.password !== '' || parsed.port !== '')
    return undefined;
  return AWS_CONSOLE_HOST.test(parsed.hostname) ? parsed : undefined;
}

/**
 * The URLs a note may show as links: PagerDuty pages of the incident's own account that the agent read from
 * PagerDuty's REST API (the incident, its service and escalation policy, its alerts, recent incidents), the runbooks of
 * AGENT_CONFIG's rules, and the AWS console pages the agent's AWS providers built for this incident. Exact URLs, not
 * whole domains, so an attacker-chosen path on a trusted host is not vouched for (a console URL a model writes is not).
 * Outside text shown through it may keep those URLs, and any on the configured trusted hosts, clickable.
 */
export class VouchedLinks {
  private readonly vouched: Set<string>;
  /** What outside text may show clickable: URLs on the trusted hosts, and the vouched URLs themselves. */
  private readonly kept: KeptUrls;

  constructor(
    pagerDutyUrls: Iterable<string | null | undefined>,
    accountUrl: string,
    runbooks: Iterable<string>,
    awsConsoleUrls: Iterable<string | undefined> = [],
    trustedHosts: ReadonlySet<string> = new Set(),
  ) {
    this.vouched = new Set();
    this.kept = { hosts: trustedHosts, exact: this.vouched };
    const account = parseHttpUrl(accountUrl);
    for (const candidate of pagerDutyUrls) {
      const parsed = parseHttpUrl(candidate);
      if (parsed !== undefined && account !== undefined && parsed.origin === account.origin) this.vouched.add(parsed.href);
    }
    for (const runbook of runbooks) {
      const parsed = parseHttpUrl(runbook);
      if (parsed !== undefined) this.vouched.add(parsed.href);
    }
    for (const candidate of awsConsoleUrls) {
      const parsed = awsConsoleUrl(candidate);
      if (parsed !== undefined) this.vouched.add(parsed.href);
    }
  }

  /**
   * The PagerDuty URLs of one incident's context, on the incident's own account, the configured runbooks, and the AWS
   * console pages of its AWS context.
   */
  static forIncident(context: IncidentContext, runbooks: Iterable<string>, trustedHosts: Iterable<string> = []): VouchedLinks {
    const { incident, aws } = context;
    const pagerDutyUrls = [
      incident.html_url,
      incident.service.html_url,
      incident.escalation_policy.html_url,
      ...context.alerts.map((alert) => alert.html_url),
      ...context.recentIncidents.map((past) => past.html_url),
    ];
    const awsConsoleUrls = [
      aws?.alarm?.consoleUrl,
      aws?.metric?.consoleUrl,
      // A PagerDuty change event's link is written by whoever holds its integration key: only CloudTrail event links,
      // which the agent builds itself, are vouched for.
      ...(aws?.changes ?? []).filter((change) => change.source === 'cloudtrail').map((change) => change.link),
      ...(aws?.logSurges ?? []).map((surge) => surge.consoleUrl),
    ];
    const hosts = new Set([...trustedHosts].map((host) => host.toLowerCase()));
    return new VouchedLinks(pagerDutyUrls, incident.html_url, runbooks, awsConsoleUrls, hosts);
  }

  /** The URL as a link when the agent vouches for it and it is short enough to tap, otherwise undefined. */
  vouch(url: string | undefined): VouchedUrl | undefined {
    const parsed = parseHttpUrl(url, MAX_LINK_LENGTH);
    if (parsed === undefined || !this.vouched.has(parsed.href)) return undefined;
    const shown = asLinkText(parsed);
    return shown.length <= MAX_LINK_LENGTH ? shown : undefined;
  }

  /** Outside text, one line, with URLs on the trusted hosts and vouched URLs left clickable. */
  shown(text: string, max: number): NoteText {
    return outsideText(text, max, this.kept);
  }

  /** Outside text that starts a list item (see `itemText`), with URLs on the trusted hosts and vouched URLs left clickable. */
  item(text: string, max: number): NoteText {
    return itemText(text, max, this.kept);
  }

  /** Outside text in quotation marks, with URLs on the trusted hosts and vouched URLs left clickable. */
  quoted(text: string, max: number): NoteText {
    return quotedText(text, max, this.kept);
  }
}

/**
 * A URL as its own line when vouched for (indented under the line it belongs to); an http(s) URL the agent does not
 * vouch for as defanged text after `unverifiedLabel` (it cannot become a link anywhere); anything else as nothing.
 */
export function linkOrText(
  url: string | undefined,
  links: VouchedLinks,
  unverifiedLabel: NoteText,
): { line: NoteText } | { inline: NoteText } | undefined {
  const vouched = links.vouch(url);
  if (vouched !== undefined) return { line: linkLine(vouched) };
  const parsed = parseHttpUrl(url);
  return parsed === undefined ? undefined : { inline: agentText`${unverifiedLabel}${outsideText(parsed.href, MAX_URL_LENGTH)}` };
}

/** A vouched URL on a line of its own, indented under the line it belongs to. */
export function linkLine(url: VouchedUrl): NoteText {
  return `  ${url}` as NoteText;
}
