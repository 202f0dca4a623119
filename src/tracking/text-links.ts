// Tracking links in the plain-text part (opt-in per message): bare http(s) URLs replaced by click redirects.
import { isTrackableUrl, normalizeDestination } from './urls.js';

// A URL in prose runs to the next whitespace or a character that cannot end one; trailing punctuation is prose.
const URL_IN_TEXT = /\bhttps?:\/\/[^\s<>"'`{}|\\^]+/gi;
const TRAILING_PUNCTUATION = /[.,;:!?]+$/;
const PLACEHOLDER = /\*\||\|\*|\{\{|\}\}|\{%|%\}/;

/** Drops a closing bracket the URL did not open: "(see https://x.example/a)" ends before ")". */
function trimUnbalanced(url: string): string {
  let out = url.replace(TRAILING_PUNCTUATION, '');
  for (const [open, close] of [['(', ')'], ['[', ']']] as const) {
    while (out.endsWith(close) && out.split(close).length > out.split(open).length) out = out.slice(0, -1).replace(TRAILING_PUNCTUATION, '');
  }
  return out;
}

export interface TextRewriteResult {
  text: string;
  trackedLinks: number;
}

/** Replaces each absolute http(s) URL in `text` with `clickUrl(destination)`; every other character is kept. */
export function rewriteTextLinks(text: string, clickUrl: (destination: string) => string): TextRewriteResult {
  let trackedLinks = 0;
  const out = text.replace(URL_IN_TEXT, (match) => {
    const url = trimUnbalanced(match);
    const destination = normalizeDestination(url);
    if (PLACEHOLDER.test(url) || !isTrackableUrl(destination)) return match;
    trackedLinks++;
    return clickUrl(destination) + match.slice(url.length);
  });
  return { text: out, trackedLinks };
}
