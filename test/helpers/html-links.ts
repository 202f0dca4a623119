// Reads every <a>/<area> href of an HTML document through parse5 (entities decoded), for assertions.
import { SAXParser } from 'parse5-sax-parser';

export function hrefsOf(html: string): string[] {
  const hrefs: string[] = [];
  const parser = new SAXParser();
  parser.on('startTag', (tag) => {
    if (tag.tagName !== 'a' && tag.tagName !== 'area') return;
    const href = tag.attrs.find((a) => a.name === 'href');
    if (href) hrefs.push(href.value);
  });
  parser.end(html);
  return hrefs;
}

/** The destination a Beacon click link carries, or undefined if `href` is not one. */
export function trackedDestination(href: string): string | undefined {
  try {
    const u = new URL(href);
    return u.pathname === '/api/track/click' ? (u.searchParams.get('url') ?? undefined) : undefined;
  } catch {
    return undefined;
  }
}
