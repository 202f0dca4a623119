// What a stored message's links become when sent: the destinations that get tracked, and an inert preview.
import { rewriteHtml } from './rewrite.js';
import { rewriteTextLinks } from './text-links.js';

/** The distinct destinations tracked in `html` (and in `text`, when given), in document order. */
export function trackedDestinations(html: string, text?: string): string[] {
  const found = new Set<string>();
  const collect = (destination: string) => {
    found.add(destination);
    return destination;
  };
  rewriteHtml(html, { trackClicks: true, openPixelUrl: undefined, clickUrl: collect });
  if (text !== undefined) rewriteTextLinks(text, collect);
  return [...found];
}

/**
 * The HTML as a recipient would see it, but inert (mautic #5432: previews must record nothing): every link the
 * sender would track goes straight to its destination, and there is no open pixel.
 */
export function previewHtml(html: string, trackClicks: boolean): string {
  return rewriteHtml(html, { trackClicks, openPixelUrl: undefined, clickUrl: (destination) => destination }).html;
}
