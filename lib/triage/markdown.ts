import { oneLine } from './text';
import type { IncidentContext } from './types';

/**
 * The only way text reaches a PagerDuty note. PagerDuty renders notes as markdown, and titles, alert fields, change
 * events, past notes and model output are written by whoever holds an integration key: as markdown they could show a
 * deceptive link, an image or HTML under the agent's name. So a note is built from `Markdown` values only, and the
 * type system keeps outside text out of it unless it went through `inert` (plain text, whatever it contains):
 * - `agentMd` marks the agent's own literal markdown (the template's literal parts) and accepts only `Markdown` inside it;
 * - `inert` renders any string as plain text on one line;
 * - `code` renders a value as a code span that no backtick inside it can close;
 * - `link` renders a link, and only to a URL that `VouchedLinks` vouches for (the account's PagerDuty pages the agent
 *   read from PagerDuty itself, the runbooks configured in AGENT_CONFIG, and the AWS console pages the agent's own
 *   providers built). Any other URL is shown as inert text.
 */

declare const markdownBrand: unique symbol;
/** Markdown the agent wrote, or outside text made inert. */
export type Markdown = string & { readonly [markdownBrand]: true };

declare const vouchedBrand: unique symbol;
/** An http(s) URL the agent vouches for, encoded so it cannot end a markdown link destination. */
export type VouchedUrl = string & { readonly [vouchedBrand]: true };

/**
 * The agent's own markdown: literal parts are trusted as written; every interpolated part must already be `Markdown`,
 * or a number the agent computed.
 */
export function agentMd(literals: TemplateStringsArray, ...parts: readonly (Markdown | number)[]): Markdown {
  return literals.reduce((built, literal, index) => built + literal + (index < parts.length ? String(parts[index]) : ''), '') as Markdown;
}

export function joinMarkdown(parts: readonly Markdown[], separator: Markdown): Markdown {
  return parts.join(separator) as Markdown;
}

/**
 * What makes one line of text markdown, backslash-escaped (CommonMark allows escaping any ASCII punctuation):
 * - everywhere: `\\` (escapes, hard breaks), `` ` `` (code), `*` `_` (emphasis), `[` `]` (links, images,
 *   references, footnotes), `<` `>` (HTML, autolinks), `&` (entities), `|` (tables), `~` (strikethrough), `@`
 *   (e-mail links and mentions);
 * - `.` and `:` followed by anything but a space (`evil.example`, `https://`, `www.`, `mailto:`, `:emoji:`), and `/`
 *   before another `/` (`//host`): what linkify and GFM autolinks need to find a bare URL;
 * - at the start of the text, where it can begin a block inside the agent's list item: `-` `+` `=` `#` (lists,
 *   thematic breaks, headings) and the `.` or `)` of `1.` / `1)`; and `(`, which after a `]` would be a link;
 * - at the end, `!`, which before a `[` would make an image.
 * Everything else (`-` inside words, a sentence's final `.`) has no meaning there and stays as it is, so the note
 * still reads well where it is shown raw.
 */
const MARKDOWN_SYNTAX = /[\\`*_[\]<>&|~@]|[.:](?=\S)|\/(?=\/)|^[-+=#(]|(?<=^\d{1,9})[.)]|!$/g;

/** Any text as plain text on one line: no element, entity, link or line-start construct survives. */
export function inert(text: string): Markdown {
  return oneLine(text).replace(MARKDOWN_SYNTAX, '\\$&') as Markdown;
}

/**
 * A code span around `text` (made one line). Its fence is one backtick longer than the longest run inside; content
 * that starts or ends with a backtick is padded with a space (CommonMark strips one on each side) so it cannot merge
 * with the fence. Empty text gives empty markdown.
 */
export function code(text: string): Markdown {
  const content = oneLine(text);
  if (content === '') return '' as Markdown;
  const fence = '`'.repeat(Math.max(0, ...(content.match(/`+/g) ?? []).map((run) => run.length)) + 1);
  const padding = content.startsWith('`') || content.endsWith('`') ? ' ' : '';
  return `${fence}${padding}${content}${padding}${fence}` as Markdown;
}

/** A link whose label the agent chose (already `Markdown`) to a URL the agent vouches for. */
export function link(label: Markdown, url: VouchedUrl): Markdown {
  return `[${label}](${url})` as Markdown;
}

const MAX_URL_LENGTH = 500;
/** CloudWatch console URLs carry the metric or query in their fragment; longer ones are left out rather than linked. */
const MAX_AWS_CONSOLE_URL_LENGTH = 1000;

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

/** Characters that would end, escape or break a markdown link destination, percent-encoded. */
function asDestination(url: URL): VouchedUrl {
  return url.href.replace(
    /[()<>\\`\s]/g,
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
  const parsed = parseHttpUrl(url, MAX_AWS_CONSOLE_URL_LENGTH);
  if (parsed === undefined || parsed.protocol !== 'https:' || parsed.username !== '' || parsed.password !== '' || parsed.port !== '')
    return undefined;
  return AWS_CONSOLE_HOST.test(parsed.hostname) ? parsed : undefined;
}

/**
 * The URLs a note may link to: PagerDuty pages of the incident's own account that the agent read from PagerDuty's
 * REST API (the incident, its service and escalation policy, its alerts, recent incidents), the runbooks of
 * AGENT_CONFIG's rules, and the AWS console pages the agent's AWS providers built for this incident. Exact URLs, not
 * whole domains, so an attacker-chosen path on a trusted host is not vouched for (a console URL a model writes is not).
 */
export class VouchedLinks {
  private readonly vouched: Set<string>;

  constructor(
    pagerDutyUrls: Iterable<string | null | undefined>,
    accountUrl: string,
    runbooks: Iterable<string>,
    awsConsoleUrls: Iterable<string | undefined> = [],
  ) {
    this.vouched = new Set();
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
  static forIncident(context: IncidentContext, runbooks: Iterable<string>): VouchedLinks {
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
    return new VouchedLinks(pagerDutyUrls, incident.html_url, runbooks, awsConsoleUrls);
  }

  /** The URL as a link destination when the agent vouches for it, otherwise undefined. */
  vouch(url: string | undefined): VouchedUrl | undefined {
    const parsed = parseHttpUrl(url, MAX_AWS_CONSOLE_URL_LENGTH);
    return parsed !== undefined && this.vouched.has(parsed.href) ? asDestination(parsed) : undefined;
  }
}

/**
 * A URL as a link when vouched for; an http(s) URL the agent does not vouch for as inert text with `unverifiedLabel`
 * before it (it cannot become a link in any renderer); anything else (javascript:, data:, junk) as nothing.
 */
export function linkOrText(url: string | undefined, links: VouchedLinks, label: Markdown, unverifiedLabel: Markdown): Markdown | undefined {
  const vouched = links.vouch(url);
  if (vouched !== undefined) return link(label, vouched);
  const parsed = parseHttpUrl(url);
  return parsed === undefined ? undefined : agentMd`${unverifiedLabel}${inert(parsed.href)}`;
}
