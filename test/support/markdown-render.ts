import MarkdownIt from 'markdown-it';
import { LinkifyIt } from 'linkify-it';

type Renderer = ReturnType<typeof MarkdownIt>;

/**
 * Notes as a real CommonMark renderer sees them. PagerDuty's renderer is not public, so notes are checked against
 * markdown-it in its most permissive setting (raw HTML on, bare URLs linkified) and with strict CommonMark.
 */
export const RENDERERS: Record<string, Renderer> = {
  'markdown-it (html, linkify)': new MarkdownIt({ html: true, linkify: true }),
  'markdown-it commonmark': new MarkdownIt('commonmark'),
};

type Token = ReturnType<Renderer['parse']>[number];

/** Every token, inline children included, in document order. */
function flatten(tokens: Token[]): Token[] {
  return tokens.flatMap((token) => [token, ...flatten(token.children ?? [])]);
}

/**
 * The document's elements without their text: `strong`, `bullet_list`, `code_inline`, `link https://…`, `image …`,
 * `html_inline <img>`. Text and line breaks are left out, so two notes with different wording but the same
 * elements give the same list.
 */
export function elementsOf(markdown: string, renderer: Renderer): string[] {
  return flatten(renderer.parse(markdown, {}))
    .filter((token) => !['text', 'softbreak', 'inline'].includes(token.type) && token.nesting !== -1)
    .map((token) => {
      const name = token.type.replace(/_open$/, '');
      if (token.type === 'link_open' || token.type === 'image') return `${name} ${token.attrGet(token.type === 'image' ? 'src' : 'href')}`;
      if (token.type.startsWith('html')) return `${name} ${token.content}`;
      return name;
    });
}

/** What a reader sees as text: text, code spans and line breaks, in order. */
export function plainTextOf(markdown: string, renderer: Renderer): string {
  return flatten(renderer.parse(markdown, {}))
    .map((token) => {
      if (token.type === 'text' || token.type === 'code_inline') return token.content;
      if (token.type === 'softbreak' || token.type === 'hardbreak') return '\n';
      return '';
    })
    .join('');
}

/** Elements that point somewhere or run something: links, images, raw HTML. */
export function activeElementsOf(markdown: string, renderer: Renderer): string[] {
  return elementsOf(markdown, renderer).filter((element) => /^(link|image|html_inline|html_block) /.test(element));
}

/**
 * The URLs a linkifier finds in plain text, as chat and web UIs and PagerDuty's own surfaces turn them into links:
 * linkify-it with its default options (fuzzy links, e-mail addresses and `//` links on).
 */
const plainTextLinkifier = new LinkifyIt();

export function linkifiedUrls(text: string): string[] {
  return (plainTextLinkifier.match(text) ?? []).map((match) => match.url);
}
